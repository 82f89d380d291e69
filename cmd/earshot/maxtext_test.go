package main

import (
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/pipeline"
)

func TestConfigMaxText(t *testing.T) {
	_, err := ParseConfig("test.yaml", []byte("enrich:\n  max_text: {nosuch: 10, lang: -1}\n"))
	for _, want := range []string{
		`test.yaml:2: enrich.max_text.lang: -1 must be 0 (no cap) or a number of bytes`,
		`test.yaml:2: enrich.max_text.nosuch: unknown stage "nosuch"`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseConfig() error = %v; want it to contain %q", err, want)
		}
	}

	c, err := ParseConfig("test.yaml", []byte("enrich:\n  max_text: {lang: 256}\n"))
	if err != nil {
		t.Fatal(err)
	}
	chain, err := c.Chain(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range chain {
		_, capped := st.(interface{ Unwrap() pipeline.Enricher })
		if capped != (st.Name() == "lang") {
			t.Errorf("stage %s capped = %v; want only lang capped", st.Name(), capped)
		}
	}
}
