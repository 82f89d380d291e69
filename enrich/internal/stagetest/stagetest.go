// Package stagetest holds the test and benchmark helpers that the enrich
// stages share: building a registered stage from options or from its
// README's sample config, measuring CPU time in benchmarks, and timing a
// new implementation against the one it replaces (BenchPair).
package stagetest

import (
	"context"
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
)

// factory returns the factory registered as stage, or fails the test.
func factory(t testing.TB, stage string) pipeline.EnricherFactory {
	t.Helper()
	f, ok := pipeline.EnricherFactoryFor(stage)
	if !ok {
		t.Fatalf("EnricherFactoryFor(%q) not registered", stage)
	}
	return f
}

// CheckFactory builds the stage registered as stage from the options
// document options (no options when it is empty) and checks that it fails
// with an error containing wantErr, or, when wantErr is empty, that it
// succeeds with the given Name and Version.
func CheckFactory(t *testing.T, stage, version, options, wantErr string) {
	t.Helper()
	f := factory(t, stage)
	env := pipeline.EnricherEnv{File: "earshot.yaml"}
	if options != "" {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(options), &n); err != nil {
			t.Fatalf("yaml %q: %v", options, err)
		}
		env.Options = &n
	}
	st, err := f(env)
	switch {
	case wantErr == "" && err != nil:
		t.Errorf("factory(%q) = %v; want no error", options, err)
	case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
		t.Errorf("factory(%q) = %v; want error containing %q", options, err, wantErr)
	case err == nil && (st.Name() != stage || st.Version() != version):
		t.Errorf("factory(%q) = %s/%s; want %s/%s", options, st.Name(), st.Version(), stage, version)
	}
}

// ReadmeConfig builds the stage registered as stage from its entry under
// enrich.options in the first yaml block of README.md in the working
// directory (the package's own).
func ReadmeConfig(t *testing.T, stage string) {
	t.Helper()
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
	n, ok := doc.Enrich.Options[stage]
	if !ok {
		t.Fatalf("README yaml has no enrich.options.%s", stage)
	}
	f := factory(t, stage)
	if _, err := f(pipeline.EnricherEnv{Options: &n, File: "README.md"}); err != nil {
		t.Errorf("stage from README config: %v", err)
	}
}

// BenchEnrich runs e over batch until b.N mentions are enriched, reporting
// allocations and CPU time per op (per mention) as well as ns/op.
func BenchEnrich(b *testing.B, e pipeline.Enricher, batch []*pipeline.Mention) {
	b.Helper()
	ctx := context.Background()
	b.ReportAllocs()
	c := StartCPU(b)
	for i := 0; i < b.N; i += len(batch) {
		if err := e.Enrich(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	c.Stop(b)
}
