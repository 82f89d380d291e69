package detect

import (
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// A deletion is not a mention: counting it (before or after the post, in an
// open bucket or a closed one) changes no count, so past counts and
// alerts stay as they were.
func TestCountDeletion(t *testing.T) {
	c := newTestCounter(t, testConfig())
	tr := newTraffic(1)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	at := now.Add(-time.Hour).Add(10 * time.Second)
	post := tr.mention(at, "acme is great", nil, false)
	early := pipeline.Tombstone(post.Platform, "other-id", "src", at, now)
	if got, err := c.Count(early, 1, now); got != Deletion || err != nil {
		t.Errorf("Count(tombstone before its post) = %v, %v; want deletion", got, err)
	}
	if got, err := c.Count(post, 2, now); got != Counted || err != nil {
		t.Errorf("Count(post) = %v, %v; want counted", got, err)
	}
	del := pipeline.Tombstone(post.Platform, post.ID, "src", at, now)
	if got, err := c.Count(del, 3, now); got != Deletion || err != nil {
		t.Errorf("Count(tombstone after its post) = %v, %v; want deletion", got, err)
	}
	if got, _ := c.Count(del, 3, now); got != Redelivered {
		t.Errorf("Count(tombstone redelivered) = %v; want redelivered", got)
	}
	later := tr.mention(now, "zenith later", nil, false) // moves event time past the post's bucket
	later.Enrichment.Topics = []string{"zenith"}
	if _, err := c.Count(later, 4, now); err != nil {
		t.Fatal(err)
	}
	obs, _, err := c.Close(c.Watermark(), now)
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, o := range obs {
		if o.Series.String() == "60s|acme|_all" && o.Bucket.Start.Equal(at.Truncate(time.Minute)) {
			total += o.Bucket.Count
		}
	}
	if total != 1 {
		t.Errorf("overall count of the post's bucket = %v; want 1 (the post, not its tombstones)", total)
	}
	if c.Replay(del, 3, 3, now) {
		t.Errorf("Replay(tombstone) = true; want false (never counted)")
	}
}
