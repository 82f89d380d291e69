package pipeline_test

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
)

func TestDecodeAllReportsEveryTypeErrorAndKeepsTheRest(t *testing.T) {
	type inner struct {
		Every time.Duration `yaml:"every"`
		N     int           `yaml:"n"`
	}
	type cfg struct {
		Resolutions []time.Duration  `yaml:"resolutions"`
		Size        int              `yaml:"size"`
		Name        string           `yaml:"name"`
		Inner       inner            `yaml:"inner"`
		Ptr         *time.Duration   `yaml:"ptr"`
		ByName      map[string]inner `yaml:"by_name"`
	}
	src := "resolutions: [1m, 7x, 5m]\nsize: abc\nname: ok\ninner: {every: 2s, n: [1]}\nptr: nope\nby_name:\n  a: {n: 3}\n  b: {n: x}\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	var c cfg
	err := pipeline.DecodeAll(&doc, &c, "detect")
	if err == nil {
		t.Fatal("DecodeAll() = nil; want errors")
	}
	for _, want := range []string{
		"line 1: detect.resolutions[1]: cannot unmarshal !!str `7x` into time.Duration",
		"line 2: detect.size: cannot unmarshal !!str `abc` into int",
		"line 4: detect.inner.n: cannot unmarshal !!seq into int",
		"line 5: detect.ptr: cannot unmarshal",
		"line 8: detect.by_name.b.n: cannot unmarshal",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeAll() = %v\nwant it to contain %q", err, want)
		}
	}
	if len(c.Resolutions) != 2 || c.Resolutions[1] != 5*time.Minute || c.Name != "ok" || c.Inner.Every != 2*time.Second ||
		c.Ptr != nil || c.ByName["a"].N != 3 {
		t.Errorf("DecodeAll() decoded %+v; want the values that decode (resolutions [1m 5m], name ok, inner.every 2s, by_name.a.n 3)", c)
	}
	if _, ok := c.ByName["b"]; ok {
		t.Errorf("DecodeAll() kept by_name.b, which did not decode")
	}
}
