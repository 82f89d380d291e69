package detect

import (
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/enrich/detect/trendtag"
	"github.com/earshot-dev/earshot/pipeline"
)

// TestREADMEConfig: the README's sample config decodes strictly and
// validates, for the role and for the tagging stage.
func TestREADMEConfig(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	i := strings.Index(s, "```yaml\n")
	j := strings.Index(s[i+8:], "```")
	if i < 0 || j < 0 {
		t.Fatal("README.md has no yaml block")
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(s[i+8:i+8+j]), &doc); err != nil {
		t.Fatalf("README yaml: %v", err)
	}
	var top struct {
		Detect yaml.Node `yaml:"detect"`
		Enrich struct {
			Options map[string]yaml.Node `yaml:"options"`
		} `yaml:"enrich"`
	}
	if err := doc.Decode(&top); err != nil {
		t.Fatal(err)
	}
	var cfg Config
	if err := pipeline.DecodeStrict(&top.Detect, &cfg); err != nil {
		t.Fatalf("README detect config: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("README detect config: %v", err)
	}
	def := Config{}.WithDefaults()
	if cfg.Grace != def.Grace || cfg.LeaseTTL != def.LeaseTTL || cfg.Reorder != def.Reorder || cfg.Explain != def.Explain ||
		!reflect.DeepEqual(cfg.Detector.Trend(def.Resolutions[0]), def.Detector.Trend(def.Resolutions[0])) {
		t.Errorf("README config differs from the defaults it claims: %+v", cfg)
	}
	opt := top.Enrich.Options["trend"]
	if _, err := trendtag.New(pipeline.EnricherEnv{Options: &opt, File: "README.md"}); err != nil {
		t.Errorf("README trend stage options: %v", err)
	}
}

func TestDetectorConfigYAML(t *testing.T) {
	tests := []struct {
		yaml    string
		windows string
		seas    bool
	}{
		{"z_alert: 8", "[12h0m0s]", true},
		{"windows: [6h, 24h]\nseasonal: false", "[6h0m0s 24h0m0s]", false},
		{"windows: []", "[]", true},
	}
	for _, tt := range tests {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(tt.yaml), &n); err != nil {
			t.Fatal(err)
		}
		var d DetectorConfig
		if err := pipeline.DecodeStrict(n.Content[0], &d); err != nil {
			t.Fatalf("DecodeStrict(%q) = %v", tt.yaml, err)
		}
		c := d.Trend(5 * time.Minute)
		if got := fmt.Sprint(c.Windows); got != tt.windows || c.Seasonal != tt.seas || c.Bucket != 5*time.Minute {
			t.Errorf("Trend(%q) windows %s seasonal %v bucket %v; want %s %v 5m", tt.yaml, got, c.Seasonal, c.Bucket, tt.windows, tt.seas)
		}
	}
}
