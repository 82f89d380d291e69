package pipeline_test

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// A post, its edit and its deletion are three versions of one id: the
// stream keeps all three (an edit or a deletion is not a duplicate of the
// post), drops re-published copies of each, and the enrich runner passes
// the tombstone through without running a stage on it.
func TestEditsAndDeletionsAreNewVersionsOfOneID(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	ctx := context.Background()
	pub := pipeline.NewRawPublisher(js.JS, nil)
	created := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	post := func() *pipeline.Mention {
		return &pipeline.Mention{ID: "test:1", Platform: "test", Text: "first", CreatedAt: created}
	}
	edit := func() *pipeline.Mention {
		m := post()
		m.Text, m.EditedAt = "second", created.Add(time.Minute)
		return m
	}
	del := func() *pipeline.Mention {
		return pipeline.Tombstone("test", "test:1", "src", created, created.Add(2*time.Minute))
	}
	for _, ms := range [][]*pipeline.Mention{{post(), edit(), del()}, {post(), edit(), del()}} {
		if err := pub.Publish(ctx, ms); err != nil {
			t.Fatal(err)
		}
	}
	if got := js.Mentions(t, pipeline.StreamMentions); len(got) != 3 {
		t.Fatalf("raw stream holds %d messages; want 3 (post, edit, deletion; re-published copies dropped)", len(got))
	}
	r := &pipeline.EnrichRunner{JS: js.JS, Chain: []pipeline.Enricher{stage{"a"}}, Metrics: pipeline.NewMetrics(prometheus.NewRegistry()), Logger: pipelinetest.Logger(t)}
	runInBackground(t, r.Run)
	var got []*pipeline.Mention
	pipelinetest.WaitFor(t, 10*time.Second, "3 enriched", func() bool {
		got = js.Mentions(t, pipeline.StreamEnriched)
		return len(got) >= 3
	})
	if len(got) != 3 {
		t.Fatalf("enriched %d; want 3", len(got))
	}
	for _, m := range got {
		switch {
		case m.Deleted:
			if len(m.Enrichment.Versions) != 0 || !m.CreatedAt.Equal(created) || m.MsgID() != "test:1#deleted" {
				t.Errorf("tombstone = %+v; want unenriched, created_at %v, msg id test:1#deleted", m, created)
			}
		case m.Text == "second":
			if m.Enrichment.Versions["a"] != "t1" || m.MsgID() == m.ID {
				t.Errorf("edit = %+v; want enriched, with its own msg id", m)
			}
		case m.Text == "first":
			if m.Enrichment.Versions["a"] != "t1" || m.MsgID() != m.ID {
				t.Errorf("post = %+v; want enriched, msg id = id", m)
			}
		default:
			t.Errorf("unexpected mention %+v", m)
		}
	}
}
