package connectortest

import (
	"os"
	"regexp"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
)

var readmeConfig = regexp.MustCompile("(?s)## Config\n\n```yaml\n(.*?)```")

// ReadmeSpec returns the one connector entry of the yaml block under
// "## Config" in the package's README.md, as cmd/earshot hands it to the
// connector factory, so a test can check the sample a user copies.
func ReadmeSpec(t testing.TB, typ, name string) *pipeline.ConnectorSpec {
	t.Helper()
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := readmeConfig.FindSubmatch(raw)
	if m == nil {
		t.Fatal("README.md has no yaml block under ## Config")
	}
	var doc struct {
		Connectors []yaml.Node `yaml:"connectors"`
	}
	if err := yaml.Unmarshal(m[1], &doc); err != nil {
		t.Fatalf("README sample: %v", err)
	}
	if len(doc.Connectors) != 1 {
		t.Fatalf("README sample has %d connectors; want 1", len(doc.Connectors))
	}
	return &pipeline.ConnectorSpec{Type: typ, Name: name, File: "README.md", Node: doc.Connectors[0]}
}

// Spec parses one connector entry (YAML with type, name and the type's
// keys) as cmd/earshot hands it to the connector factory; File is
// "test.yaml", for error messages.
func Spec(t testing.TB, doc string) *pipeline.ConnectorSpec {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil || len(n.Content) == 0 {
		t.Fatalf("connector yaml: %v\n%s", err, doc)
	}
	var head struct {
		Type string `yaml:"type"`
		Name string `yaml:"name"`
	}
	_ = n.Content[0].Decode(&head)
	return &pipeline.ConnectorSpec{Type: head.Type, Name: head.Name, File: "test.yaml", Node: *n.Content[0]}
}
