package trendtag

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// orderTraffic is two hours of steady talk (warm with the default Reorder), a surge of #acmefire in one
// bucket, then twenty steady minutes, as an enrich role would pull it.
func orderTraffic(start time.Time) (history, surge, after []*pipeline.Mention) {
	n := 0
	steady := func(from time.Time, minutes int) []*pipeline.Mention {
		var out []*pipeline.Mention
		for m := range minutes {
			for k := range 6 {
				at := from.Add(time.Duration(m)*time.Minute + time.Duration(k)*10*time.Second)
				out = append(out, mention(n, at, "kettle review for the acme toaster", "acme"))
				n++
			}
		}
		return out
	}
	history = steady(start, 120)
	at := start.Add(120 * time.Minute)
	for i := range 60 {
		surge = append(surge, mention(n, at.Add(time.Duration(i)*time.Second), "my blender caught fire", "acmefire"))
		n++
	}
	after = steady(at.Add(time.Minute), 20)
	return history, surge, after
}

func tagged(ms []*pipeline.Mention, tag string) int {
	n := 0
	for _, m := range ms {
		if slices.Contains(m.Enrichment.Trends, tag) {
			n++
		}
	}
	return n
}

// TestTagsDoNotDependOnBatchOrder: the same mentions in the same batches
// get the same tags whichever batch reaches the stage first. Two enrich
// workers pull the surge's batch and the next one; the second finishes
// first. The surge's mentions must still carry #acmefire, as they do in
// pull order, and no steady mention carries a tag.
func TestTagsDoNotDependOnBatchOrder(t *testing.T) {
	ctx := context.Background()
	start := time.Now().Add(-4 * time.Hour).Truncate(time.Hour)
	opts := Options{Bucket: time.Minute, HalfLife: 30 * time.Minute, Warmup: 30 * time.Minute}
	run := func(swap bool) (surge, steady []*pipeline.Mention) {
		s, err := NewWithOptions(opts)
		if err != nil {
			t.Fatal(err)
		}
		history, surge, after := orderTraffic(start)
		for i := 0; i < len(history); i += 64 {
			if err := s.Enrich(ctx, history[i:min(i+64, len(history))]); err != nil {
				t.Fatal(err)
			}
		}
		first, second := append(slices.Clone(surge), after[:30]...), after[30:]
		if swap {
			first, second = second, first
		}
		for _, b := range [][]*pipeline.Mention{first, second} {
			if err := s.Enrich(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		return surge, append(history, after...)
	}
	tags := map[bool]map[string][]string{}
	for _, swap := range []bool{false, true} {
		surge, steady := run(swap)
		tags[swap] = map[string][]string{}
		for _, m := range append(slices.Clone(surge), steady...) {
			tags[swap][m.ID] = m.Enrichment.Trends
		}
		if n := tagged(surge, "#acmefire"); n != len(surge) {
			t.Errorf("second batch first=%v: %d of %d surge mentions tagged #acmefire; want all", swap, n, len(surge))
		}
		for _, m := range steady {
			if len(m.Enrichment.Trends) != 0 {
				t.Errorf("second batch first=%v: steady mention at %s tagged %v; want none", swap, m.CreatedAt.Format(time.TimeOnly), m.Enrichment.Trends)
				break
			}
		}
	}
	for id, want := range tags[false] {
		if got := tags[true][id]; !slices.Equal(got, want) {
			t.Errorf("mention %s tagged %v when the second batch came first, %v in pull order; want the same", id, got, want)
		}
	}
}

// TestTagsOfASplitSurge: a surge split into small batches is tagged from
// the batch that makes it visible on (its count reaches MinCount and Z
// over the term's rate) to its end; the mentions of the batches before
// carry no tag. That part depends on the batching and cannot be helped
// without holding mentions back: the stage tags a batch when it is
// enriched.
func TestTagsOfASplitSurge(t *testing.T) {
	ctx := context.Background()
	start := time.Now().Add(-4 * time.Hour).Truncate(time.Hour)
	s, err := NewWithOptions(Options{Bucket: time.Minute, HalfLife: 30 * time.Minute, Warmup: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	history, surge, _ := orderTraffic(start)
	if err := s.Enrich(ctx, history); err != nil {
		t.Fatal(err)
	}
	const size = 3
	firstTagged := -1
	for i := 0; i < len(surge); i += size {
		b := surge[i:min(i+size, len(surge))]
		if err := s.Enrich(ctx, b); err != nil {
			t.Fatal(err)
		}
		if n := tagged(b, "#acmefire"); n != 0 && n != len(b) {
			t.Fatalf("batch at %d: %d of %d tagged; want all or none", i, n, len(b))
		}
		if tagged(b, "#acmefire") > 0 && firstTagged < 0 {
			firstTagged = i
		}
		if firstTagged >= 0 && tagged(b, "#acmefire") == 0 {
			t.Fatalf("batch at %d untagged after the surge was tagged from %d on", i, firstTagged)
		}
	}
	// #acmefire is new: its rate is 0, so it is visible once its count c
	// has 2·sqrt(c+3/8) - 2·sqrt(3/8) >= Z = 5, c >= 10: the fourth batch.
	if firstTagged != 9 {
		t.Errorf("surge tagged from mention %d on; want 9 (the batch that brings the count to 10)", firstTagged)
	}
}
