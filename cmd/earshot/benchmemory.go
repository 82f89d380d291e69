package main

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/enrich/dedup"
	"github.com/earshot-dev/earshot/enrich/detect/trendtag"
	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
)

// How `earshot bench --duration` decides whether memory stayed flat.
//
// Memory that grows because a bounded state is still filling is not flat
// yet: it is flat once every bound is reached and RSS stops growing after
// that. So the bench
//   - works out when each bounded state reached its bound (stateBound): the
//     dedup index from the mentions published (each new id takes an entry),
//     the detect explanation samples from what ClickHouse holds of the run
//     (per scope and slot, min(count, samples), added slot by slot);
//   - lets the run warm up for a fifth of it, or until the last bound was
//     reached if that is later;
//   - compares the median RSS of the last quarter of what follows with the
//     median of its first quarter: flat when it grew by less than 10%.
//
// It is not flat (reason says why) when a bound was never reached, or only
// in the second half of the run (too little is left to compare: run
// longer or with smaller bounds).

// stateBound is one bounded piece of earshot's state in a steady run.
type stateBound struct {
	State   string `json:"state"`
	Key     string `json:"key"`   // the config key of the bound
	Bound   int64  `json:"bound"` // in Unit
	Entries int64  `json:"entries"`
	// Unit of Bound and Entries: "entries", or "seconds of mention time"
	// for a state that keeps a window of it (then Entries is how much of
	// the window the run covered).
	Unit string `json:"unit"`
	// ReachedSeconds is when the bound was reached, from the start of
	// publishing; -1 when it was not.
	ReachedSeconds float64 `json:"reached_after_seconds"`
}

func (b stateBound) unit() string {
	if b.Unit == "" {
		return unitEntries
	}
	return b.Unit
}

const (
	unitEntries     = "entries"
	unitMentionTime = "seconds of mention time"
)

// flatGrowth is the RSS growth (last quarter over first, after warm-up)
// below which memory counts as flat.
const flatGrowth = 0.10

// judgeFlat fills mem's verdict from its RSS samples and the state bounds.
// rate (mentions/s) tells whether the backlog grew: by more than 5 s of
// mentions between the two quarters compared.
func judgeFlat(mem *memoryReport, bounds []stateBound, rate float64) {
	mem.Bounds = bounds
	mem.Flat, mem.Growth, mem.Reason = false, 0, ""
	n := len(mem.RSSBytes)
	runSecs := float64(n) * mem.SampleEvery
	warm := float64(n/5) * mem.SampleEvery
	var filling []string
	for _, b := range bounds {
		if b.Bound <= 0 {
			filling = append(filling, fmt.Sprintf("%s (%s) has no bound: %d entries at the end", b.State, b.Key, b.Entries))
			continue
		}
		if b.ReachedSeconds < 0 {
			filling = append(filling, fmt.Sprintf("%s (%s) still filling: %d of %d %s at the end", b.State, b.Key, b.Entries, b.Bound, b.unit()))
			continue
		}
		warm = max(warm, b.ReachedSeconds)
	}
	// The first sample at or after the warm-up (sample i is taken at
	// (i+1) × SampleEvery).
	from := min(n, int(math.Ceil(warm/mem.SampleEvery-1e-9)))
	mem.WarmupSeconds = warm
	s := mem.RSSBytes[from:]
	if first, last, ok := quarterMedians(mem.RSSBytes, from); ok {
		mem.FirstRSS, mem.LastRSS = int64(first), int64(last)
		mem.Growth = last/first - 1
	}
	// The live heap over the same quarters: whether what grew is what
	// earshot holds.
	mem.FirstHeapLive, mem.LastHeapLive, mem.HeapLiveGrowth = 0, 0, 0
	heapKnown := len(mem.HeapLiveBytes) == n && !slices.ContainsFunc(mem.HeapLiveBytes[from:], func(v int64) bool { return v < 0 })
	if first, last, ok := quarterMedians(mem.HeapLiveBytes, from); ok && heapKnown {
		mem.FirstHeapLive, mem.LastHeapLive = int64(first), int64(last)
		mem.HeapLiveGrowth = last/first - 1
	}
	switch {
	case len(filling) > 0:
		mem.Reason = "not shown flat: " + strings.Join(filling, "; ") + "; run longer or with smaller bounds"
	case n == 0 || warm > runSecs/2:
		mem.Reason = fmt.Sprintf("not shown flat: the state bounds were reached after %.0f s of a %.0f s run, too late to compare; run longer or with smaller bounds", warm, runSecs)
	case len(s)/4 == 0:
		mem.Reason = "not shown flat: too few samples after the warm-up"
	case mem.Growth >= flatGrowth:
		mem.Reason = fmt.Sprintf("RSS grew %.1f%% after every bound was reached (from the first quarter after warm-up to the last)", 100*mem.Growth)
		if backlogGrew(mem, from, rate) {
			first, last, _ := quarterMedians(mem.Backlog, from)
			mem.Reason += fmt.Sprintf(", while the pipeline fell behind (backlog %.0f → %.0f mentions): the rate was above what the machine sustained then, and batches in flight hold the difference", first, last)
		}
		if mem.FirstHeapLive > 0 {
			mem.Reason += fmt.Sprintf("; the live heap went %d → %d MiB (%+.1f%%) meanwhile", mem.FirstHeapLive>>20, mem.LastHeapLive>>20, 100*mem.HeapLiveGrowth)
		}
	case backlogGrew(mem, from, rate):
		// earshot's memory can look level while what it cannot keep up
		// with waits in NATS: that is not a steady state to judge.
		first, last, _ := quarterMedians(mem.Backlog, from)
		mem.Reason = fmt.Sprintf("not shown flat: the pipeline fell behind (backlog %.0f → %.0f mentions, first to last quarter after warm-up), so the rate was above what it sustains and the difference waits in NATS; earshot's RSS went %+.1f%% meanwhile; run at a rate it keeps", first, last, 100*mem.Growth)
	default:
		mem.Flat = true
	}
}

// backlogGrew reports whether the mentions pending at the enrich and sink
// consumers grew by more than 5 s of the rate from the first quarter after
// the warm-up to the last.
func backlogGrew(mem *memoryReport, from int, rate float64) bool {
	first, last, ok := quarterMedians(mem.Backlog, from)
	return ok && last-first > 5*rate
}

// steadyBounds works out, for a steady run that published at rate under
// prefix, when each bounded state of earshot reached its bound.
func (b *bench) steadyBounds(ctx context.Context, prefix string, rate float64, sent int) ([]stateBound, error) {
	var out []stateBound
	if b.stageEnabled("dedup") {
		o := dedup.DefaultOptions()
		if node, ok := b.o.cfg.Enrich.Options["dedup"]; ok {
			if err := node.Decode(&o); err != nil {
				return nil, fmt.Errorf("bench: enrich.options.dedup: %w", err)
			}
		}
		// Every mention of the run has a new id, and the id index keeps
		// the last capacity ids (the signature and link indexes hold at
		// most as many).
		sb := stateBound{State: "dedup index", Key: "enrich.options.dedup.capacity", Bound: int64(o.Capacity),
			Entries: int64(min(sent, o.Capacity)), Unit: unitEntries, ReachedSeconds: -1}
		if sent >= o.Capacity {
			sb.ReachedSeconds = float64(o.Capacity) / rate
		}
		out = append(out, sb)
	}
	if b.stageEnabled("trend") {
		o := trendtag.Options{}
		if node, ok := b.o.cfg.Enrich.Options["trend"]; ok {
			if err := node.Decode(&o); err != nil {
				return nil, fmt.Errorf("bench: enrich.options.trend: %w", err)
			}
		}
		out = append(out, trendBound(o, b.steadyStart, b.o.duration))
	}
	sb, err := b.explainBound(ctx, prefix)
	if err != nil {
		return nil, err
	}
	out = append(out, sb)
	if sb, err = b.idsBound(ctx, prefix); err != nil {
		return nil, err
	}
	return append(out, sb), nil
}

// trendBound is the trend tagging stage's open buckets in a run that
// published for d from start. The stage keeps every distinct term of each
// bucket (of mention time) until the newest bucket starts more than
// reorder after it: the open buckets span bucket × (reorder/bucket + 1),
// rounded down, of mention time, and the first is closed (then one bucket
// goes as one comes) when the newest bucket starts that long after the
// first, counted from the first bucket's start (whole buckets: mention
// time is floored to them).
func trendBound(o trendtag.Options, start time.Time, d time.Duration) stateBound {
	bucket, reorder := o.Bucket, o.Reorder
	if bucket <= 0 {
		bucket = trend.DefaultBurstConfig().Bucket
	}
	if reorder <= 0 {
		reorder = trendtag.DefaultReorder
	}
	span := bucket * (reorder/bucket + 1)
	first := start.Truncate(bucket) // buckets are aligned to the Unix epoch
	sb := stateBound{State: "trend tagging open buckets", Key: "enrich.options.trend.reorder", Bound: int64(span / time.Second),
		Unit: unitMentionTime, ReachedSeconds: -1}
	full := first.Add(span).Sub(start)
	sb.Entries = int64(min(start.Add(d).Sub(first), span) / time.Second)
	if full <= d {
		sb.ReachedSeconds = full.Seconds()
	}
	return sb
}

// idsBound replays, from what ClickHouse holds of the run, how detect's
// ids of the open buckets (each mention's id, kept to count it once)
// filled: ids are kept by slot of mention time (the finest resolution),
// and a slot goes once every coarsest bucket holding it closed, grace
// after its end (the buckets close Reorder of wall time behind the newest
// mention time). The state is steady once it held its bound (ids past it
// are not kept) or first let a slot go.
func (b *bench) idsBound(ctx context.Context, prefix string) (stateBound, error) {
	cfg := b.o.cfg.Detect.WithDefaults()
	sb := stateBound{State: "detect ids of the open buckets", Key: "detect.max_ids", Bound: int64(cfg.MaxIDs),
		Unit: unitEntries, ReachedSeconds: -1}
	rows, err := b.store.Conn().Query(ctx, `SELECT toInt64(toUInt32(created_at)) AS t, toInt64(count()) FROM earshot.mentions FINAL WHERE id LIKE ? GROUP BY t ORDER BY t`, prefix+":%")
	if err != nil {
		return sb, fmt.Errorf("bench: detect ids: %w", err)
	}
	defer rows.Close()
	var secs [][2]int64
	for rows.Next() {
		var t, n int64
		if err := rows.Scan(&t, &n); err != nil {
			return sb, fmt.Errorf("bench: detect ids: %w", err)
		}
		secs = append(secs, [2]int64{t, n})
	}
	if err := rows.Err(); err != nil {
		return sb, err
	}
	sb.ReachedSeconds, sb.Entries = idsFill(secs, int64(cfg.Resolutions[0]/time.Second), int64((cfg.Reorder+cfg.Grace)/time.Second),
		int64(slices.Max(cfg.Resolutions)/time.Second), sb.Bound, b.steadyStart.Unix())
	return sb, nil
}

// idsFill replays an id set of at most bound ids over the mentions of each
// second ([unix second, mentions], in order): ids are kept by slot (width
// seconds), and a slot goes once it ends at or before the newest mention
// time minus lag, floored to coarse seconds (the end of the last coarsest
// bucket closed). It returns when the set first held bound ids or let a
// slot with ids go, in seconds after start (-1: neither), and the ids held
// at the end.
func idsFill(secs [][2]int64, width, lag, coarse, bound, start int64) (reached float64, held int64) {
	reached = -1
	slots := map[int64]int64{}
	for _, x := range secs {
		t := x[0]
		line := floorDiv(t-lag, coarse) * coarse
		for k, n := range slots {
			if k+width <= line {
				held -= n
				delete(slots, k)
				if reached < 0 && n > 0 {
					reached = float64(max(t-start, 0))
				}
			}
		}
		add := min(x[1], bound-held)
		slots[floorDiv(t, width)*width] += add
		held += add
		if held >= bound && reached < 0 {
			reached = float64(max(t-start, 0))
		}
	}
	return reached, held
}

// floorDiv is a / b rounded down.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b < 0 {
		q--
	}
	return q
}

// stageEnabled reports whether the enrich chain runs the named stage.
func (b *bench) stageEnabled(name string) bool {
	stages := b.o.cfg.Enrich.Stages
	if len(stages) == 0 {
		stages = pipeline.DefaultEnrichers()
	}
	return slices.Contains(stages, name)
}

// explainBound replays, from what ClickHouse holds of the run, how the
// detect explanation samples filled: per slot (5 minutes, or the finest
// resolution if coarser), each scope keeps min(mentions, samples) entries;
// slots add up until explain.max_items, past which the oldest slot goes.
func (b *bench) explainBound(ctx context.Context, prefix string) (stateBound, error) {
	cfg := b.o.cfg.Detect.WithDefaults()
	slot := max(cfg.Resolutions[0], 5*time.Minute)
	sb := stateBound{State: "detect explanation samples", Key: "detect.explain.max_items", Bound: int64(cfg.Explain.MaxItems), Unit: unitEntries, ReachedSeconds: -1}
	secs := int64(slot / time.Second)
	// Each mention in each of its scopes, with its slot.
	slotOf := `toUInt64(intDiv(toUInt32(created_at), ` + fmt.Sprint(secs) + `))`
	var scoped []string
	if *cfg.Series.Topics {
		scoped = append(scoped, `SELECT `+slotOf+` AS s, topic AS sc, toUInt32(created_at) AS t FROM earshot.mentions FINAL ARRAY JOIN topics AS topic WHERE id LIKE ?`)
	}
	if *cfg.Series.Platforms {
		scoped = append(scoped, `SELECT `+slotOf+` AS s, concat('platform:', platform) AS sc, toUInt32(created_at) AS t FROM earshot.mentions FINAL WHERE id LIKE ?`)
	}
	if *cfg.Series.Overall {
		scoped = append(scoped, `SELECT `+slotOf+` AS s, 'all' AS sc, toUInt32(created_at) AS t FROM earshot.mentions FINAL WHERE id LIKE ?`)
	}
	var parts []string
	for _, q := range scoped {
		parts = append(parts, `SELECT s, sc, count() AS c FROM (`+q+`) GROUP BY s, sc`)
	}
	if len(parts) == 0 {
		sb.ReachedSeconds = 0
		return sb, nil
	}
	args := make([]any, len(parts))
	for i := range args {
		args[i] = prefix + ":%"
	}
	q := `SELECT s, toUInt64(sum(least(c, ` + fmt.Sprint(cfg.Explain.Samples) + `))) FROM (` + strings.Join(parts, " UNION ALL ") + `) GROUP BY s ORDER BY s`
	rows, err := b.store.Conn().Query(ctx, q, args...)
	if err != nil {
		return sb, fmt.Errorf("bench: explanation samples: %w", err)
	}
	defer rows.Close()
	var slots [][2]int64
	for rows.Next() {
		var s, n uint64
		if err := rows.Scan(&s, &n); err != nil {
			return sb, fmt.Errorf("bench: explanation samples: %w", err)
		}
		slots = append(slots, [2]int64{int64(s) * secs, int64(n)})
	}
	if err := rows.Err(); err != nil {
		return sb, err
	}
	sb.ReachedSeconds, sb.Entries = explainFill(slots, secs, sb.Bound, b.steadyStart.Unix())
	if sb.ReachedSeconds >= 0 {
		// explainFill took the end of the slot in which the bound was
		// reached; find the second instead: in that slot a scope holds
		// min(samples, its mentions so far), so the bound was reached at
		// the n-th smallest of the scopes' first `samples` times.
		var before int64
		for _, x := range slots {
			if float64(x[0]+secs-b.steadyStart.Unix()) >= sb.ReachedSeconds {
				q := `SELECT t FROM (SELECT arrayJoin(arraySlice(arraySort(groupArray(t)), 1, ` + fmt.Sprint(cfg.Explain.Samples) + `)) AS t FROM (` +
					strings.Join(scoped, " UNION ALL ") + `) WHERE s = ` + fmt.Sprint(x[0]/secs) + ` GROUP BY sc) ORDER BY t LIMIT ` + fmt.Sprint(sb.Bound-before-1) + `, 1`
				var t uint32
				if err := b.store.Conn().QueryRow(ctx, q, args...).Scan(&t); err == nil {
					sb.ReachedSeconds = float64(max(int64(t)-b.steadyStart.Unix(), 0))
				}
				break
			}
			before += x[1]
		}
	}
	return sb, nil
}

// explainFill adds up the entries of each slot ([unix start, entries], in
// order, width seconds each) until bound (≤ 0: none). It returns when the
// bound was reached, in seconds after start, taking the end of the slot in
// which it was (the latest it can have been; -1 if never), and the entries
// held at the end.
func explainFill(slots [][2]int64, width, bound, start int64) (reached float64, held int64) {
	reached = -1
	for _, s := range slots {
		held += s[1]
		if bound > 0 && held >= bound {
			held = bound
			if reached < 0 {
				reached = float64(max(s[0]+width-start, 0))
			}
		}
	}
	return reached, held
}

// quarterMedians is the median of the first and of the last quarter of
// v[from:].
func quarterMedians(v []int64, from int) (first, last float64, ok bool) {
	if from > len(v) {
		return 0, 0, false
	}
	s := v[from:]
	q := len(s) / 4
	if q == 0 {
		return 0, 0, false
	}
	return median(int64s(s[:q])), median(int64s(s[len(s)-q:])), true
}

// backlog is what the enrich and sink consumers have pending or
// unacknowledged (-1 when unknown).
func (b *bench) backlog(ctx context.Context) int64 {
	var n int64
	for _, c := range [][2]string{{pipeline.StreamMentions, "enrich"}, {pipeline.StreamEnriched, "sink"}} {
		cons, err := b.js.Consumer(ctx, c[0], c[1])
		if err != nil {
			return -1
		}
		info, err := cons.Info(ctx)
		if err != nil {
			return -1
		}
		n += int64(info.NumPending) + int64(info.NumAckPending)
	}
	return n
}
