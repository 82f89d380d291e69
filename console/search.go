package console

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// searchTopic is the id a search query is compiled under.
const searchTopic = "search"

func (s *Server) apiLint(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query().Get("q")
	if len(q) > 4096 {
		s.fail(w, r, badReq("query longer than 4096 bytes"))
		return
	}
	problems := s.lint(q)
	if problems == nil {
		problems = []LintProblem{}
	}
	writeJSON(w, map[string]any{"problems": problems})
}

// searchResult is what one search found.
type searchResult struct {
	Window    map[string]any `json:"window"`
	Scanned   int            `json:"scanned"`   // mentions read
	Truncated bool           `json:"truncated"` // the window held more than search_scan mentions
	Total     int            `json:"total"`     // matches
	Mentions  []mentionView  `json:"mentions"`  // the newest matches, at most 200
	IDs       []string       `json:"ids"`       // every match, newest first
}

// apiSearch runs an analyst query over the stored mentions of the window
// with the enrichment's own matcher: ClickHouse returns the window's
// mentions, newest first (no user string in SQL), and the matcher decides,
// so a topic's query finds exactly the mentions stored with that topic.
func (s *Server) apiSearch(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	if q == "" || len(q) > 4096 {
		s.fail(w, r, badReq("give a query (q) of at most 4096 bytes"))
		return
	}
	m, err := s.compile([]pipeline.Topic{{ID: searchTopic, Query: q}})
	if err != nil {
		s.fail(w, r, badReq("%v", err))
		return
	}
	win, err := s.resolveWindow(ctx, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	csvOut := r.URL.Query().Get("format") == "csv"
	var cw *csv.Writer
	if csvOut {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="earshot-search.csv"`)
		cw = csv.NewWriter(w)
		_ = cw.Write([]string{"id", "created_at", "platform", "author", "followers", "sentiment", "sentiment_label", "lang", "topics", "url", "title", "text"})
	}
	res := searchResult{Window: win.json(), Mentions: []mentionView{}, IDs: []string{}}
	err = s.scan(ctx, win, m, func(row *row, ids []string) error {
		res.Scanned++
		if len(ids) == 0 {
			return nil
		}
		res.Total++
		res.IDs = append(res.IDs, row.ID)
		if csvOut {
			return cw.Write([]string{row.ID, row.CreatedAt.Format(time.RFC3339), row.Platform, row.Author.Handle,
				strconv.FormatInt(row.Author.Followers, 10), strconv.FormatFloat(float64(row.sentiment), 'f', 3, 32), row.label,
				row.view(nil).Lang, strings.Join(row.Enrichment.Topics, " "), row.URL, csvSafe(row.Title), csvSafe(row.Text)})
		}
		if len(res.Mentions) < 200 {
			res.Mentions = append(res.Mentions, row.view(m))
		}
		return nil
	})
	res.Truncated = res.Scanned >= s.cfg.SearchScan
	if csvOut {
		cw.Flush()
		if err != nil {
			s.log.Warn("search export stopped", "err", err)
		}
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, res)
}

// csvSafe keeps a spreadsheet from reading a cell as a formula.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

// scan streams the window's mentions, newest first, at most search_scan,
// with what m matched in each, through the code path earshot backtest
// uses too (clickhouse.Store.SearchStored: the newest version of each
// mention, deleted ones left out).
func (s *Server) scan(ctx context.Context, win window, m Matcher, fn func(*row, []string) error) error {
	_, err := s.store.SearchStored(ctx, clickhouse.SearchRange{From: win.from, To: win.to, Limit: s.cfg.SearchScan}, m,
		func(mt *pipeline.Mention, ids []string, _ []pipeline.Span) error {
			r := &row{Mention: *mt}
			if mt.Enrichment.NeedsResponse {
				r.needsResponse = 1
			}
			if se := mt.Enrichment.Sentiment; se != nil {
				r.sentiment, r.label = float32(se.Score), se.Label
			}
			return fn(r, ids)
		})
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	return nil
}
