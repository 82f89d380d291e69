package sample

import (
	"testing"
	"time"
)

func TestMentionsParse(t *testing.T) {
	ms := Mentions()
	if len(ms) < 50 {
		t.Fatalf("Mentions() returned %d posts; want at least 50", len(ms))
	}
	seen := map[string]bool{}
	for i, m := range ms {
		if err := m.Normalize(time.Now()); err != nil {
			t.Errorf("post %d: Normalize: %v", i, err)
		}
		if seen[m.ID] {
			t.Errorf("post %d: duplicate id %q", i, m.ID)
		}
		seen[m.ID] = true
		if m.Text == "" {
			t.Errorf("post %d (%s): empty text", i, m.ID)
		}
	}
	// Fresh copies: changing one result must not change the next.
	ms[0].Text = "changed"
	if Mentions()[0].Text == "changed" {
		t.Errorf("Mentions() shares state between calls")
	}
}
