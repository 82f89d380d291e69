package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestBenchConfigSection checks `earshot bench --config` hands the file's
// detect section to its earshot child as written, and none when absent.
func TestBenchConfigSection(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(p, []byte("detect:\n  explain: {max_items: 20000}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := configSection(p, "detect")
	want := map[string]any{"explain": map[string]any{"max_items": 20000}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("configSection(detect) = %#v, %v; want %#v", got, err, want)
	}
	if got, err := configSection(p, "sink"); err != nil || got != nil {
		t.Errorf("configSection(sink) = %#v, %v; want nil", got, err)
	}
	if _, err := configSection(filepath.Join(dir, "missing.yaml"), "detect"); err == nil {
		t.Error("configSection(missing file) = nil error; want one")
	}
}
