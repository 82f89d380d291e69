package sentiment

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
)

// TestReadmeConfig builds the stage from the sample config in README.md.
func TestReadmeConfig(t *testing.T) {
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(data), "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("README.md has no yaml block")
	}
	var doc struct {
		Enrich struct {
			Options map[string]yaml.Node `yaml:"options"`
		} `yaml:"enrich"`
	}
	if err := yaml.Unmarshal([]byte(block), &doc); err != nil {
		t.Fatalf("README yaml: %v", err)
	}
	n, ok := doc.Enrich.Options[StageName]
	if !ok {
		t.Fatalf("README yaml has no enrich.options.%s", StageName)
	}
	f, _ := pipeline.EnricherFactoryFor(StageName)
	if _, err := f(pipeline.EnricherEnv{Options: &n, File: "README.md"}); err != nil {
		t.Errorf("stage from README config: %v", err)
	}
}
