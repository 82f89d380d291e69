package console

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// A time range of the topic, people and search pages, with the bucket
// width its charts use.
type span struct {
	name   string
	length time.Duration
	bucket time.Duration
}

var spans = []span{
	{"1h", time.Hour, time.Minute},
	{"6h", 6 * time.Hour, 5 * time.Minute},
	{"24h", 24 * time.Hour, 15 * time.Minute},
	{"7d", 7 * 24 * time.Hour, time.Hour},
	{"30d", 30 * 24 * time.Hour, 6 * time.Hour},
}

var rangeNames = func() []string {
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = s.name
	}
	return out
}()

// window is a resolved range: [from, to), bucketed.
type window struct {
	span
	from, to time.Time
	// anchored is set when nothing was stored in the range before now, so
	// it ends at the newest stored mention instead (an old corpus, a
	// stopped connector): the page says so.
	anchored bool
}

// resolveWindow reads ?range= (default 30d). When the newest mention is
// older than the range, the window ends just after it.
func (s *Server) resolveWindow(ctx context.Context, r *http.Request) (window, error) {
	name := r.URL.Query().Get("range")
	if name == "" {
		name = "30d"
	}
	var sp *span
	for i := range spans {
		if spans[i].name == name {
			sp = &spans[i]
		}
	}
	if sp == nil {
		return window{}, badReq("range %q is not one of %v", name, rangeNames)
	}
	// Long ranges are whole UTC days, today included, so the per-day
	// rollup covers them exactly.
	align := sp.bucket
	if sp.length >= rollupMin {
		align = 24 * time.Hour
	}
	to := s.now().UTC().Truncate(align).Add(align)
	w := window{span: *sp, to: to, from: to.Add(-sp.length)}
	var newest time.Time
	// max() needs no FINAL: a duplicate row has the same created_at. The
	// range's own partitions answer first; the whole table only when
	// nothing was stored in the range.
	if err := s.store.Conn().QueryRow(ctx, "SELECT max(created_at) FROM "+s.table("mentions")+" WHERE created_at >= toDateTime(?)", w.from.Unix()).Scan(&newest); err != nil {
		return w, fmt.Errorf("newest mention: %w", err)
	}
	if newest.Unix() <= 0 {
		if err := s.store.Conn().QueryRow(ctx, "SELECT max(created_at) FROM "+s.table("mentions")).Scan(&newest); err != nil {
			return w, fmt.Errorf("newest mention: %w", err)
		}
	}
	if newest.Unix() > 0 && newest.Before(w.from) {
		w.to = newest.UTC().Truncate(align).Add(align)
		w.from, w.anchored = w.to.Add(-sp.length), true
	}
	return w, nil
}

func (w window) json() map[string]any {
	return map[string]any{"range": w.name, "from": w.from, "to": w.to, "bucket_seconds": w.bucket.Seconds(), "anchored": w.anchored}
}

// facets lists the stored platforms and languages, for the filters.
func (s *Server) facets(ctx context.Context) (platforms, langs []string, err error) {
	for _, q := range []struct {
		sql string
		out *[]string
	}{
		{"SELECT DISTINCT platform FROM " + s.table("mentions") + " ORDER BY platform LIMIT 200", &platforms},
		{"SELECT DISTINCT if(lang_detected != '', lang_detected, lang) AS l FROM " + s.table("mentions") + " WHERE l != '' ORDER BY l LIMIT 200", &langs},
	} {
		rows, err := s.store.Conn().Query(ctx, q.sql)
		if err != nil {
			return nil, nil, fmt.Errorf("facets: %w", err)
		}
		*q.out = []string{}
		for rows.Next() {
			var v string
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return nil, nil, fmt.Errorf("facets: %w", err)
			}
			*q.out = append(*q.out, v)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, nil, fmt.Errorf("facets: %w", err)
		}
	}
	return platforms, langs, nil
}
