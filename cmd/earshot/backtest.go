package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/earshot-dev/earshot/enrich/topics"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// backtestTopic is the id the tried query matches under.
const backtestTopic = "backtest"

// backtestOptions select what a backtest reads.
type backtestOptions struct {
	query    string
	since    time.Duration
	platform string
	samples  int
	now      time.Time
}

// backtestResult is what a query would have matched among stored mentions.
type backtestResult struct {
	Scanned, Matched int
	// PerDay counts matches by UTC day (YYYY-MM-DD) and platform.
	PerDay      map[string]map[string]int
	PerPlatform map[string]int
	Samples     []backtestSample
	// Overlap counts, per configured topic, the matches that topic matches
	// too (same matcher, current topic queries); TopicTotal how many stored
	// mentions the topic matches at all.
	Overlap, TopicTotal map[string]int
}

type backtestSample struct {
	Mention *pipeline.Mention
	Spans   []pipeline.Span
}

// parseSince reads "30d", "12h", "90m" or any Go duration.
func parseSince(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d <= 0 {
			return 0, fmt.Errorf("--since %q: want a positive number of days such as 30d, or a duration such as 12h", s)
		}
		return time.Duration(d) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--since %q: want a positive number of days such as 30d, or a duration such as 12h", s)
	}
	return d, nil
}

func init() {
	register("backtest", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("backtest", stderr)
		cfgPath := configFlag(fs)
		since := fs.String("since", "30d", "how far back to look: `30d`, 12h, …")
		platform := fs.String("platform", "", "only mentions from this `platform`")
		samples := fs.Int("samples", 5, "show up to `N` sample matches with their spans")
		var pos []string
		for {
			if err := fs.Parse(args); err != nil {
				return err
			}
			if fs.NArg() == 0 {
				break
			}
			pos, args = append(pos, fs.Arg(0)), fs.Args()[1:]
		}
		if len(pos) != 1 {
			return fmt.Errorf("%w: earshot backtest 'QUERY' [--since 30d] [--platform P] [--samples N] [--config FILE]", errUsage)
		}
		d, err := parseSince(*since)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		cfg, err := LoadConfig(*cfgPath)
		if err != nil {
			return err
		}
		cfg.Log.Level = "warn"
		in := newInfra(cfg)
		defer in.Close()
		if err := in.openClickHouse(ctx, false); err != nil {
			return err
		}
		o := backtestOptions{query: pos[0], since: d, platform: *platform, samples: *samples, now: time.Now()}
		res, err := backtest(ctx, in.store, cfg.Topics, o)
		if err != nil {
			return err
		}
		return printBacktest(stdout, o, res)
	})
}

// backtest runs the query, with the enrichment's topic matcher, over the
// stored mentions created in the last o.since, through the code path the
// console's search uses (clickhouse.Store.SearchStored).
func backtest(ctx context.Context, store *clickhouse.Store, configured []pipeline.Topic, o backtestOptions) (*backtestResult, error) {
	mt, err := topics.NewMatcher([]pipeline.Topic{{ID: backtestTopic, Query: o.query}})
	if err != nil {
		return nil, fmt.Errorf("query: %w", err)
	}
	var existing *topics.Matcher
	if len(configured) > 0 {
		if existing, err = topics.NewMatcher(configured); err != nil {
			return nil, fmt.Errorf("configured topics: %w", err)
		}
	}
	res := &backtestResult{PerDay: map[string]map[string]int{}, PerPlatform: map[string]int{},
		Overlap: map[string]int{}, TopicTotal: map[string]int{}}
	// The window ends with the second of now, included (DateTime has whole
	// seconds).
	r := clickhouse.SearchRange{From: o.now.Add(-o.since), To: o.now.Truncate(time.Second).Add(time.Second), Platform: o.platform}
	n, err := store.SearchStored(ctx, r, mt, func(m *pipeline.Mention, ids []string, spans []pipeline.Span) error {
		var others []string
		if existing != nil {
			others, _ = existing.Match(m)
			for _, id := range others {
				res.TopicTotal[id]++
			}
		}
		if len(ids) == 0 {
			return nil
		}
		res.Matched++
		day := m.CreatedAt.UTC().Format(time.DateOnly)
		if res.PerDay[day] == nil {
			res.PerDay[day] = map[string]int{}
		}
		res.PerDay[day][m.Platform]++
		res.PerPlatform[m.Platform]++
		for _, id := range others {
			res.Overlap[id]++
		}
		if len(res.Samples) < o.samples {
			res.Samples = append(res.Samples, backtestSample{Mention: m, Spans: spans})
		}
		return nil
	})
	res.Scanned = n
	if err != nil {
		return nil, fmt.Errorf("backtest: %w", err)
	}
	return res, nil
}

func printBacktest(w io.Writer, o backtestOptions, r *backtestResult) error {
	since := o.since.String()
	if o.since%(24*time.Hour) == 0 {
		since = strconv.Itoa(int(o.since/(24*time.Hour))) + "d"
	}
	where := ""
	if o.platform != "" {
		where = " on " + o.platform
	}
	fmt.Fprintf(w, "query %q over the last %s%s: %d of %d stored mentions match\n", o.query, since, where, r.Matched, r.Scanned)
	if r.Matched == 0 {
		return nil
	}
	platforms := sortedKeys(r.PerPlatform)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "\nday\t%s\ttotal\t\n", strings.Join(platforms, "\t"))
	for _, day := range sortedKeys(r.PerDay) {
		fmt.Fprint(tw, day)
		total := 0
		for _, p := range platforms {
			fmt.Fprintf(tw, "\t%d", r.PerDay[day][p])
			total += r.PerDay[day][p]
		}
		fmt.Fprintf(tw, "\t%d\t\n", total)
	}
	fmt.Fprint(tw, "total")
	for _, p := range platforms {
		fmt.Fprintf(tw, "\t%d", r.PerPlatform[p])
	}
	fmt.Fprintf(tw, "\t%d\t\n", r.Matched)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.TopicTotal) > 0 {
		fmt.Fprintln(w, "\noverlap with the configured topics (matched by both / by the topic at all):")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, id := range sortedKeys(r.TopicTotal) {
			fmt.Fprintf(tw, "  %s\t%d / %d\t(%.0f%% of the query's matches)\n", id, r.Overlap[id], r.TopicTotal[id],
				100*float64(r.Overlap[id])/float64(r.Matched))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Samples) > 0 {
		fmt.Fprintln(w, "\nsample matches (matched words in [brackets]):")
		for _, s := range r.Samples {
			fmt.Fprintf(w, "  %s  %s  %s\n", s.Mention.CreatedAt.UTC().Format(time.RFC3339), s.Mention.ID, highlight(s.Mention, s.Spans))
		}
	}
	return nil
}

// highlight shows the title and text with the spans in brackets, cut to
// about 200 bytes around the first span.
func highlight(m *pipeline.Mention, spans []pipeline.Span) string {
	var parts []string
	for _, f := range []struct{ name, s string }{{"title", m.Title}, {"text", m.Text}} {
		if f.s == "" {
			continue
		}
		var b strings.Builder
		at, first := 0, -1
		for _, sp := range spans {
			if sp.Field != f.name || sp.Start < at || sp.End > len(f.s) || sp.Start >= sp.End {
				continue
			}
			if first < 0 {
				first = b.Len()
			}
			b.WriteString(f.s[at:sp.Start])
			b.WriteString("[" + f.s[sp.Start:sp.End] + "]")
			at = sp.End
		}
		b.WriteString(f.s[at:])
		s := strings.Join(strings.Fields(b.String()), " ")
		if first > 100 {
			cut := first - 80
			for cut < len(s) && s[cut]&0xC0 == 0x80 {
				cut++
			}
			s = "…" + s[cut:]
		}
		if len(s) > 200 {
			cut := 200
			for cut > 0 && s[cut]&0xC0 == 0x80 {
				cut--
			}
			s = s[:cut] + "…"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " | ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
