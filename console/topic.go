package console

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"golang.org/x/sync/errgroup"
)

// baselineBuckets is how many earlier buckets the chart's baseline is the
// median of.
const baselineBuckets = 12

type point struct {
	T        int64   `json:"t"` // bucket start, unix seconds
	Volume   uint64  `json:"volume"`
	Baseline float64 `json:"baseline"`
	Positive uint64  `json:"positive"`
	Negative uint64  `json:"negative"`
	Neutral  uint64  `json:"neutral"`
	Other    uint64  `json:"other"` // unknown or not scored
}

type count struct {
	Key   string `json:"key"`
	N     uint64 `json:"n"`
	Extra string `json:"extra,omitempty"`
}

type cluster struct {
	ID        string    `json:"id"`
	Copies    uint64    `json:"copies"`
	Platforms uint64    `json:"platforms"`
	Example   string    `json:"example"`
	First     time.Time `json:"first"`
	SampleID  string    `json:"sample_id"`
}

// topicWhere is the fixed filter of the topic page: the window, and the
// topic when one is chosen.
func (s *Server) topicWhere(w window, topic string) (string, []any) {
	sql := "created_at >= toDateTime(?) AND created_at < toDateTime(?)"
	args := []any{w.from.Unix(), w.to.Unix()}
	if topic != "" {
		sql += " AND has(topics, ?)"
		args = append(args, topic)
	}
	return sql, args
}

func (s *Server) apiTopic(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	topic := r.URL.Query().Get("topic")
	win, err := s.resolveWindow(ctx, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.topicPage(ctx, win, topic)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, res)
}

func (s *Server) topicPage(ctx context.Context, win window, topic string) (map[string]any, error) {
	where, args := s.topicWhere(win, topic)
	// No FINAL: every count is uniqExact(id), so a row stored twice (a
	// redelivered batch not merged yet) still counts once, and the scans
	// run in parallel with PREWHERE, which FINAL prevents.
	from := s.table("mentions")
	var (
		series                            []point
		hashtags, domains, authors, voice []count
		clusters                          []cluster
	)
	g, gctx := errgroup.WithContext(ctx)
	if s.useRollup(win) {
		return s.topicPageRollup(ctx, win, topic)
	}
	g.Go(func() error {
		var err error
		series, err = s.series(gctx, win, where, args)
		return err
	})
	top := func(out *[]count, sql string, args ...any) {
		g.Go(func() error {
			var err error
			*out, err = s.counts(gctx, sql, args...)
			return err
		})
	}
	top(&hashtags, "SELECT tag, uniqExact(id) AS n, '' FROM "+from+" ARRAY JOIN hashtags AS tag WHERE "+where+" GROUP BY tag ORDER BY n DESC, tag LIMIT 15", args...)
	top(&domains, "SELECT d, uniqExact(id) AS n, '' FROM "+from+" ARRAY JOIN domains AS d WHERE "+where+" GROUP BY d ORDER BY n DESC, d LIMIT 15", args...)
	top(&authors, "SELECT author_handle, uniqExact(id) AS n, toString(max(author_followers)) FROM "+from+" WHERE "+where+
		" AND author_handle != '' GROUP BY author_handle ORDER BY n DESC, author_handle LIMIT 15", args...)
	vwhere, vargs := s.topicWhere(win, "")
	g.Go(func() error {
		// Per topic and negative-or-not, one id set each; summed in Go.
		rows, err := s.store.Conn().Query(gctx, "SELECT topic, sentiment_label = 'negative' AS neg, uniqExact(id) FROM "+from+
			" ARRAY JOIN topics AS topic WHERE "+vwhere+" GROUP BY topic, neg", vargs...)
		if err != nil {
			return fmt.Errorf("share of voice: %w", err)
		}
		defer rows.Close()
		byTopic := map[string]*[2]uint64{}
		for rows.Next() {
			var t string
			var neg uint8
			var n uint64
			if err := rows.Scan(&t, &neg, &n); err != nil {
				return fmt.Errorf("share of voice: %w", err)
			}
			if byTopic[t] == nil {
				byTopic[t] = &[2]uint64{}
			}
			byTopic[t][0] += n
			if neg != 0 {
				byTopic[t][1] += n
			}
		}
		voice = []count{}
		for t, c := range byTopic {
			voice = append(voice, count{Key: t, N: c[0], Extra: strconv.FormatUint(c[1], 10)})
		}
		slices.SortFunc(voice, func(a, b count) int {
			if a.N != b.N {
				return cmp.Compare(b.N, a.N)
			}
			return strings.Compare(a.Key, b.Key)
		})
		return rows.Err()
	})
	g.Go(func() error {
		rows, err := s.store.Conn().Query(gctx, "SELECT dup_cluster, uniqExact(id) AS c, uniqExact(platform), any(if(title != '', title, substring(text, 1, 200))), "+
			"min(created_at), any(id) FROM "+from+" WHERE "+where+" AND dup_cluster != '' GROUP BY dup_cluster HAVING c > 1 ORDER BY c DESC, dup_cluster LIMIT 10", args...)
		if err != nil {
			return fmt.Errorf("clusters: %w", err)
		}
		defer rows.Close()
		clusters = []cluster{}
		for rows.Next() {
			var c cluster
			if err := rows.Scan(&c.ID, &c.Copies, &c.Platforms, &c.Example, &c.First, &c.SampleID); err != nil {
				return fmt.Errorf("clusters: %w", err)
			}
			c.First = c.First.UTC()
			clusters = append(clusters, c)
		}
		return rows.Err()
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return map[string]any{"window": win.json(), "topic": topic, "series": series, "hashtags": hashtags, "domains": domains,
		"authors": authors, "share_of_voice": voice, "clusters": clusters, "baseline_buckets": baselineBuckets}, nil
}

// series counts mentions per bucket by sentiment, fills empty buckets with
// zeros and sets each bucket's baseline: the median volume of the
// baselineBuckets before it.
func (s *Server) series(ctx context.Context, win window, where string, args []any) ([]point, error) {
	b := int64(win.bucket.Seconds())
	// One id set per bucket and label (not one per label filter): each
	// mention is in exactly one, so the sets add up to the bucket's count.
	rows, err := s.store.Conn().Query(ctx, "SELECT intDiv(toUInt32(created_at), ?) * ? AS b, sentiment_label, uniqExact(id) FROM "+
		s.table("mentions")+" WHERE "+where+" GROUP BY b, sentiment_label ORDER BY b", append([]any{b, b}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	defer rows.Close()
	got := map[int64]point{}
	for rows.Next() {
		var t, n uint64
		var label string
		if err := rows.Scan(&t, &label, &n); err != nil {
			return nil, fmt.Errorf("series: %w", err)
		}
		p := got[int64(t)]
		p.Volume += n
		switch label {
		case "positive":
			p.Positive += n
		case "negative":
			p.Negative += n
		case "neutral":
			p.Neutral += n
		default:
			p.Other += n
		}
		got[int64(t)] = p
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("series: %w", err)
	}
	var out []point
	for t := win.from.Unix() / b * b; t < win.to.Unix(); t += b {
		p := got[t]
		p.T = t
		out = append(out, p)
	}
	setBaselines(out)
	return out, nil
}

// setBaselines sets each bucket's baseline: the median volume of the
// baselineBuckets before it.
func setBaselines(out []point) {
	prev := make([]float64, 0, baselineBuckets)
	for i := range out {
		if i > 0 {
			prev = prev[:0]
			for j := max(0, i-baselineBuckets); j < i; j++ {
				prev = append(prev, float64(out[j].Volume))
			}
			out[i].Baseline = median(prev)
		}
	}
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func (s *Server) counts(ctx context.Context, sql string, args ...any) ([]count, error) {
	rows, err := s.store.Conn().Query(ctx, sql, args...)
	if err != nil {
		return nil, fmt.Errorf("top values: %w", err)
	}
	defer rows.Close()
	out := []count{}
	for rows.Next() {
		var c count
		if err := rows.Scan(&c.Key, &c.N, &c.Extra); err != nil {
			return nil, fmt.Errorf("top values: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// topicPageRollup is the topic page of a long range: series, share of
// voice, hashtags and domains from the rollup; top authors and clusters
// ranked by row count and then recounted exactly (uniqExact) for the ones
// shown, so the figures are exact and only the order may differ while a
// duplicate row waits for its merge.
func (s *Server) topicPageRollup(ctx context.Context, win window, topic string) (map[string]any, error) {
	where, args := s.topicWhere(win, topic)
	var (
		hourly                     map[int64]map[string]uint64
		byTopic                    map[string]*[2]uint64
		hashtags, domains, authors []count
		clusters                   []cluster
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { hourly, err = s.rollupSeries(gctx, win, topic); return })
	g.Go(func() (err error) { byTopic, err = s.rollupVoice(gctx, win); return })
	g.Go(func() (err error) { hashtags, err = s.rollupTop(gctx, win, "hashtag", topic); return })
	g.Go(func() (err error) { domains, err = s.rollupTop(gctx, win, "domain", topic); return })
	g.Go(func() error {
		cand, err := s.candidates(gctx, "author_handle", where+" AND author_handle != ''", args, 30)
		if err != nil || len(cand.Value) == 0 {
			authors = []count{}
			return err
		}
		authors, err = s.counts(gctx, "SELECT author_handle, uniqExact(id) AS n, toString(max(author_followers)) FROM "+s.table("mentions")+
			" WHERE "+where+" AND author_handle IN ? GROUP BY author_handle ORDER BY n DESC, author_handle LIMIT 15", append(args, cand)...)
		return err
	})
	g.Go(func() error {
		clusters = []cluster{}
		cand, err := s.candidates(gctx, "dup_cluster", where+" AND dup_cluster != ''", args, 20)
		if err != nil || len(cand.Value) == 0 {
			return err
		}
		rows, err := s.store.Conn().Query(gctx, "SELECT dup_cluster, uniqExact(id) AS c, uniqExact(platform), any(if(title != '', title, substring(text, 1, 200))), "+
			"min(created_at), any(id) FROM "+s.table("mentions")+" WHERE "+where+" AND dup_cluster IN ? GROUP BY dup_cluster HAVING c > 1 ORDER BY c DESC, dup_cluster LIMIT 10",
			append(args, cand)...)
		if err != nil {
			return fmt.Errorf("clusters: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var c cluster
			if err := rows.Scan(&c.ID, &c.Copies, &c.Platforms, &c.Example, &c.First, &c.SampleID); err != nil {
				return fmt.Errorf("clusters: %w", err)
			}
			c.First = c.First.UTC()
			clusters = append(clusters, c)
		}
		return rows.Err()
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	b := int64(win.bucket.Seconds())
	got := map[int64]point{}
	for h, labels := range hourly {
		p := got[h/b*b]
		for label, n := range labels {
			p.Volume += n
			switch label {
			case "positive":
				p.Positive += n
			case "negative":
				p.Negative += n
			case "neutral":
				p.Neutral += n
			default:
				p.Other += n
			}
		}
		got[h/b*b] = p
	}
	var series []point
	for t := win.from.Unix() / b * b; t < win.to.Unix(); t += b {
		p := got[t]
		p.T = t
		series = append(series, p)
	}
	setBaselines(series)
	voice := []count{}
	for t, c := range byTopic {
		voice = append(voice, count{Key: t, N: c[0], Extra: strconv.FormatUint(c[1], 10)})
	}
	slices.SortFunc(voice, func(a, b count) int {
		if a.N != b.N {
			return cmp.Compare(b.N, a.N)
		}
		return strings.Compare(a.Key, b.Key)
	})
	return map[string]any{"window": win.json(), "topic": topic, "series": series, "hashtags": hashtags, "domains": domains,
		"authors": authors, "share_of_voice": voice, "clusters": clusters, "baseline_buckets": baselineBuckets, "rollup": true}, nil
}

// candidates returns about n values of col with the most rows, picked by
// ClickHouse's topK (a small fixed-size table, no id sets), for an exact
// recount of those alone. col is a constant of this package.
func (s *Server) candidates(ctx context.Context, col, where string, args []any, n int) (ch.GroupSet, error) {
	var vals []string
	if err := s.store.Conn().QueryRow(ctx, "SELECT topK("+strconv.Itoa(n)+")("+col+") FROM "+s.table("mentions")+" WHERE "+where, args...).Scan(&vals); err != nil {
		return ch.GroupSet{}, fmt.Errorf("top %s: %w", col, err)
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return ch.GroupSet{Value: out}, nil
}
