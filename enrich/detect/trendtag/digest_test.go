package trendtag

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"
)

// recordedTags is the digest of the tags the stage gave in
// TestTagsMatchRecorded before session 6 made its term splitting and
// feature handling cheaper (commit 6d6c6ca); the same traffic must get the
// same tags.
const (
	recordedTags   = "331d01b3c6dc56c571d15d28cf1f57539a2c27c62d78f1029b8ca938abc7cd5b"
	recordedTagged = 5480
)

// TestTagsMatchRecorded runs 20,000 real mentions (see realMentions), with
// a surge of a hashtag (given twice on some mentions) and a word, through
// the stage in batches of 500 and compares every mention's tags with those
// recorded from the former code.
func TestTagsMatchRecorded(t *testing.T) {
	start := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	ms := realMentions(t, 20_000, start)
	for i := 12_000; i < 12_600; i += 2 {
		ms[i].Text += " Acme RECALL now, acme's recall #AcmeFire"
		ms[i].Enrichment.Hashtags = append(ms[i].Enrichment.Hashtags, "acmefire")
		if i%3 == 0 {
			ms[i].Enrichment.Hashtags = append(ms[i].Enrichment.Hashtags, "acmefire", "")
		}
	}
	s, err := NewWithOptions(Options{Bucket: time.Minute, Warmup: 6 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(ms); i += 500 {
		if err := s.Enrich(context.Background(), ms[i:min(i+500, len(ms))]); err != nil {
			t.Fatal(err)
		}
	}
	h := sha256.New()
	tagged := 0
	for _, m := range ms {
		if len(m.Enrichment.Trends) > 0 {
			tagged++
		}
		fmt.Fprintf(h, "%s\t%s\n", m.ID, strings.Join(m.Enrichment.Trends, ","))
	}
	got := hex.EncodeToString(h.Sum(nil))
	t.Logf("%d of %d mentions tagged, digest %s", tagged, len(ms), got)
	if got != recordedTags || tagged != recordedTagged {
		t.Errorf("tags: %d mentions tagged, digest %s; want %d, %s as recorded", tagged, got, recordedTagged, recordedTags)
	}
}
