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

// source is where a topic page reads mentions from: the topic index once
// a rollup pass has filled it, the mentions table before.
type source struct {
	from, where string
	args        []any
	// n counts mentions: count() in the index (one row per mention and
	// topic), uniqExact(id) in the mentions table, where a mention stored
	// twice has two rows until they merge.
	n string
	// voiceFrom and voiceWhere select a row per mention and named topic.
	voiceFrom, voiceWhere string
	voiceArgs             []any
	snippet               string
}

// mentionsSource reads the mentions table. No FINAL: every count is
// uniqExact(id), so a row stored twice (a redelivered batch not merged
// yet) still counts once, and the scans run in parallel with PREWHERE,
// which FINAL prevents.
func (s *Server) mentionsSource(win window, topic string) source {
	where, args := s.topicWhere(win, topic)
	vwhere, vargs := s.topicWhere(win, "")
	return source{from: s.table("mentions"), where: where, args: args, n: "uniqExact(id)",
		voiceFrom: s.table("mentions") + " ARRAY JOIN topics AS topic", voiceWhere: vwhere, voiceArgs: vargs,
		snippet: "if(title != '', title, substring(text, 1, 200))"}
}

// indexSource reads the topic index (index.go).
func (s *Server) indexSource(win window, topic string) source {
	where, args := s.indexWhere(win, topic, false)
	vwhere, vargs := s.indexWhere(win, "", true)
	return source{from: s.table("topic_mentions"), where: where, args: args, n: "count()",
		voiceFrom: s.table("topic_mentions"), voiceWhere: vwhere, voiceArgs: vargs, snippet: "snippet"}
}

// pageSource is the source of a window's pages.
func (s *Server) pageSource(win window, topic string) source {
	if s.rollReady.Load() {
		return s.indexSource(win, topic)
	}
	return s.mentionsSource(win, topic)
}

func (s *Server) topicPage(ctx context.Context, win window, topic string) (map[string]any, error) {
	if s.useRollup(win) {
		return s.topicPageRollup(ctx, win, topic)
	}
	src := s.pageSource(win, topic)
	from, where, args := src.from, src.where, src.args
	var (
		series                            []point
		hashtags, domains, authors, voice []count
		clusters                          []cluster
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		series, err = s.series(gctx, win, src)
		return err
	})
	top := func(out *[]count, sql string, args ...any) {
		g.Go(func() error {
			var err error
			*out, err = s.counts(gctx, sql, args...)
			return err
		})
	}
	top(&hashtags, "SELECT tag, "+src.n+" AS n, '' FROM "+from+" ARRAY JOIN hashtags AS tag WHERE "+where+" GROUP BY tag ORDER BY n DESC, tag LIMIT 15", args...)
	top(&domains, "SELECT d, "+src.n+" AS n, '' FROM "+from+" ARRAY JOIN domains AS d WHERE "+where+" GROUP BY d ORDER BY n DESC, d LIMIT 15", args...)
	top(&authors, "SELECT author_handle, "+src.n+" AS n, toString(max(author_followers)) FROM "+from+" WHERE "+where+
		" AND author_handle != '' GROUP BY author_handle ORDER BY n DESC, author_handle LIMIT 15", args...)
	g.Go(func() error {
		// Per topic and negative-or-not, one count each; summed in Go.
		rows, err := s.store.Conn().Query(gctx, "SELECT topic, sentiment_label = 'negative' AS neg, "+src.n+" FROM "+src.voiceFrom+
			" WHERE "+src.voiceWhere+" GROUP BY topic, neg", src.voiceArgs...)
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
		voice = voiceList(byTopic)
		return rows.Err()
	})
	g.Go(func() (err error) {
		clusters, err = s.clusters(gctx, src, nil)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return map[string]any{"window": win.json(), "topic": topic, "series": series, "hashtags": hashtags, "domains": domains,
		"authors": authors, "share_of_voice": voice, "clusters": clusters, "baseline_buckets": baselineBuckets}, nil
}

// voiceList orders share of voice, largest first.
func voiceList(byTopic map[string]*[2]uint64) []count {
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
	return voice
}

// clusters returns the biggest near-duplicate clusters, among the
// candidates in cand when set. Without candidates, the ten biggest are
// found first by count alone, so the example text, platforms and first
// time are read for those ten, not for every cluster of the range.
func (s *Server) clusters(ctx context.Context, src source, cand []any) ([]cluster, error) {
	if cand == nil {
		rows, err := s.store.Conn().Query(ctx, "SELECT dup_cluster, "+src.n+" AS c FROM "+src.from+" WHERE "+src.where+
			" AND dup_cluster != '' GROUP BY dup_cluster HAVING c > 1 ORDER BY c DESC, dup_cluster LIMIT 10", src.args...)
		if err != nil {
			return nil, fmt.Errorf("clusters: %w", err)
		}
		cand = []any{}
		for rows.Next() {
			var id string
			var n uint64
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("clusters: %w", err)
			}
			cand = append(cand, id)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("clusters: %w", err)
		}
	}
	out := []cluster{}
	if len(cand) == 0 {
		return out, nil
	}
	rows, err := s.store.Conn().Query(ctx, "SELECT dup_cluster, "+src.n+" AS c, uniqExact(platform), any("+src.snippet+"), "+
		"min(created_at), any(id) FROM "+src.from+" WHERE "+src.where+" AND dup_cluster IN ? GROUP BY dup_cluster HAVING c > 1 ORDER BY c DESC, dup_cluster LIMIT 10",
		append(slices.Clone(src.args), ch.GroupSet{Value: cand})...)
	if err != nil {
		return nil, fmt.Errorf("clusters: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c cluster
		if err := rows.Scan(&c.ID, &c.Copies, &c.Platforms, &c.Example, &c.First, &c.SampleID); err != nil {
			return nil, fmt.Errorf("clusters: %w", err)
		}
		c.First = c.First.UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// series counts mentions per bucket by sentiment, fills empty buckets with
// zeros and sets each bucket's baseline: the median volume of the
// baselineBuckets before it.
func (s *Server) series(ctx context.Context, win window, src source) ([]point, error) {
	b := int64(win.bucket.Seconds())
	// One count per bucket and label (not one per label filter): each
	// mention is in exactly one, so the counts add up to the bucket's.
	rows, err := s.store.Conn().Query(ctx, "SELECT intDiv(toUInt32(created_at), ?) * ? AS b, sentiment_label, "+src.n+" FROM "+
		src.from+" WHERE "+src.where+" GROUP BY b, sentiment_label ORDER BY b", append([]any{b, b}, src.args...)...)
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
// from the topic index, where ClickHouse's topK picks 20–30 candidates
// (a small fixed-size table, no full group-by) that are then counted
// exactly, so the figures shown are exact.
func (s *Server) topicPageRollup(ctx context.Context, win window, topic string) (map[string]any, error) {
	src := s.indexSource(win, topic)
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
		cand, err := s.candidates(gctx, src, "author_handle", 30)
		if err != nil || len(cand.Value) == 0 {
			authors = []count{}
			return err
		}
		authors, err = s.counts(gctx, "SELECT author_handle, count() AS n, toString(max(author_followers)) FROM "+src.from+
			" WHERE "+src.where+" AND author_handle IN ? GROUP BY author_handle ORDER BY n DESC, author_handle LIMIT 15", append(slices.Clone(src.args), cand)...)
		return err
	})
	g.Go(func() error {
		clusters = []cluster{}
		cand, err := s.candidates(gctx, src, "dup_cluster", 20)
		if err != nil || len(cand.Value) == 0 {
			return err
		}
		clusters, err = s.clusters(gctx, src, cand.Value)
		return err
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
	voice := voiceList(byTopic)
	return map[string]any{"window": win.json(), "topic": topic, "series": series, "hashtags": hashtags, "domains": domains,
		"authors": authors, "share_of_voice": voice, "clusters": clusters, "baseline_buckets": baselineBuckets, "rollup": true}, nil
}

// candidates returns about n values of col with the most rows in the
// source, picked by ClickHouse's topK (a small fixed-size table, no id
// sets), for an exact recount of those alone. col is a constant of this
// package.
func (s *Server) candidates(ctx context.Context, src source, col string, n int) (ch.GroupSet, error) {
	var vals []string
	if err := s.store.Conn().QueryRow(ctx, "SELECT topK("+strconv.Itoa(n)+")("+col+") FROM "+src.from+" WHERE "+src.where+" AND "+col+" != ''", src.args...).Scan(&vals); err != nil {
		return ch.GroupSet{}, fmt.Errorf("top %s: %w", col, err)
	}
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return ch.GroupSet{Value: out}, nil
}
