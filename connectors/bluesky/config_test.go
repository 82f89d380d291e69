package bluesky

import (
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/connectors/connectortest"
	"github.com/earshot-dev/earshot/pipeline"
)

func TestReadmeSampleConfigParses(t *testing.T) {
	sp := connectortest.ReadmeSpec(t, "bluesky", "bluesky")
	f, ok := pipeline.Connector("bluesky")
	if !ok {
		t.Fatal(`connector type "bluesky" is not registered`)
	}
	src, err := f(sp,
		[]pipeline.Topic{{ID: "acme", Query: "acme", Handles: []string{"acme", "acme.bsky.social"}}})
	if err != nil {
		t.Fatalf("README sample: %v", err)
	}
	c := src.(*Source).cfg
	if c.base != DefaultBaseURL || c.appview != DefaultAppViewURL || strings.Join(c.handles, ",") != "acme.com,acme.bsky.social" ||
		!c.dids["did:plc:z72i7hdynmk6r22z27h6tvur"] || c.Rewind != 5*time.Second || c.ProfileRate != 50 || !c.profiles {
		t.Errorf("README sample parsed as %+v", c)
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		doc  string
		want []string
	}{
		{"base_url: https://x.example\nappview_url: ws://y\ndids: [plc:abc]\nrewind: 2h\nstall_timeout: 1s",
			[]string{`base_url: "https://x.example" is not a ws or wss URL`, "appview_url", `"plc:abc" is not a DID`, "rewind: 2h0m0s", "stall_timeout: 1s"}},
		{"handles: ['two words']", []string{`"two words" is not a handle`}},
	}
	for _, tt := range tests {
		_, err := New(spec(t, "type: bluesky\nname: b\n"+tt.doc), nil)
		if err == nil {
			t.Errorf("New(%q) = nil error; want %v", tt.doc, tt.want)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("New(%q) = %v; want it to mention %q", tt.doc, err, w)
			}
		}
	}
	if _, err := New(spec(t, "type: bluesky\nname: b\n"), nil); err == nil || !strings.Contains(err.Error(), "nothing to keep") {
		t.Errorf("New(no topics, handles or dids) = %v; want nothing to keep", err)
	}
}
