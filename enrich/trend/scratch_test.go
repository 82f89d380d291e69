package trend

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"testing"
	"time"
)

// seasonalRun feeds a detector eight weeks of 30-minute buckets with a
// weekly and daily cycle, noise, quiet weekends and a few surges (so the
// seasonal profile is rebuilt from one to six whole weeks of history), and
// returns a digest of every Result, bit for bit. other, when not nil, is
// observed between each of d's buckets, so the two share whatever scratch
// they borrow.
func seasonalRun(t *testing.T, d, other *Detector, seed uint64) string {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 7))
	ro := rand.New(rand.NewPCG(seed, 8)) // other's counts, apart from d's
	h := fnv.New64a()
	bucket := d.Config().Bucket
	n := int(8 * 7 * 24 * time.Hour / bucket)
	for i := range n {
		ts := start.Add(time.Duration(i) * bucket)
		mean := 40 * diurnal(ts)
		if wd := ts.Weekday(); wd == time.Saturday || wd == time.Sunday {
			mean *= 0.5
		}
		if i%997 < 6 {
			mean *= 8
		}
		c := poisson(r, mean)
		res, err := d.Observe(ts, c, poisson(r, 0.2*c))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(res)
		h.Write(b)
		if other != nil {
			if _, err := other.Observe(ts, poisson(ro, 3), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

func seasonalDetector(t *testing.T, weeks int) *Detector {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Bucket = 30 * time.Minute
	cfg.SeasonWeeks = weeks
	d, err := NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// The seasonal profile's scratch is borrowed from a pool shared by every
// detector: a detector's answers are the same whether or not others (with
// histories of other lengths) borrowed it in between, and the same as when
// each detector held its own scratch.
func TestSeasonScratchSharedChangesNoAnswer(t *testing.T) {
	alone := seasonalRun(t, seasonalDetector(t, 6), nil, 1)
	shared := seasonalRun(t, seasonalDetector(t, 6), seasonalDetector(t, 2), 1)
	if alone != shared {
		t.Errorf("results digest alone %s, interleaved with another detector %s", alone, shared)
	}
	// Recorded at 419e476, where every detector held its own scratch.
	const before = "7c1ed7c6c4e15801"
	if alone != before {
		t.Errorf("results digest %s, want %s (the answers when each detector held its own scratch)", alone, before)
	}
}
