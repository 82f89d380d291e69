// Package dashboard_test checks earshot-dashboard.json: it parses, its panels
// are well formed and do not overlap, every Prometheus query uses only
// metrics earshot exports, and every ClickHouse query runs on a real
// ClickHouse with earshot's schema (macros expanded as the
// grafana-clickhouse-datasource plugin does).
package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/deploy/internal/promnames"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	RefID      string      `json:"refId"`
	Datasource *datasource `json:"datasource"`
	Expr       string      `json:"expr"`
	RawSQL     string      `json:"rawSql"`
	Format     *int        `json:"format"`
	EditorType string      `json:"editorType"`
}

type panel struct {
	ID         int                      `json:"id"`
	Type       string                   `json:"type"`
	Title      string                   `json:"title"`
	Datasource *datasource              `json:"datasource"`
	GridPos    struct{ H, W, X, Y int } `json:"gridPos"`
	Targets    []target                 `json:"targets"`
	Panels     []panel                  `json:"panels"`
}

type dashboard struct {
	Title       string `json:"title"`
	UID         string `json:"uid"`
	Annotations struct {
		List []struct {
			Name   string  `json:"name"`
			Target *target `json:"target"`
		} `json:"list"`
	} `json:"annotations"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

func load(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile("earshot-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("earshot-dashboard.json: %v", err)
	}
	return d
}

// all returns every panel, those inside rows included.
func (d dashboard) all() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

var metricRef = regexp.MustCompile(`\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(?:\{|\[|\)|$|\s|,)`)

// promFuncs are PromQL words that look like metric names.
var promFuncs = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`sum max min avg count by without on ignoring group_left group_right and or unless
		rate irate increase delta histogram_quantile time vector label_values bool offset topk bottomk abs clamp_min clamp_max
		le stage type platform topic resolution outcome connector kind reason component level`) {
		promFuncs[w] = true
	}
}

// unknownMetrics returns the metric names in a PromQL expression that no
// earshot process exports.
func unknownMetrics(expr string, known map[string]bool) []string {
	expr = regexp.MustCompile(`"[^"]*"`).ReplaceAllString(expr, `""`) // label values
	expr = regexp.MustCompile(`\$\{?[a-zA-Z_]+\}?`).ReplaceAllString(expr, "1m")
	var out []string
	for _, m := range metricRef.FindAllStringSubmatch(expr, -1) {
		name := m[1]
		if promFuncs[name] || !strings.Contains(name, "_") && !strings.Contains(name, ":") {
			continue
		}
		base := name
		for _, s := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, s)
		}
		if !known[name] && !known[base] {
			out = append(out, name)
		}
	}
	return out
}

func TestDashboardPanels(t *testing.T) {
	d := load(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("dashboard title %q, uid %q; want both", d.Title, d.UID)
	}
	known := promnames.Known()

	ids := map[int]bool{}
	type rect struct{ x, y, w, h int }
	var placed []rect
	var prom, ch int
	for _, p := range d.all() {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if p.Title == "" || g.W <= 0 || g.H <= 0 || g.X+g.W > 24 {
			t.Errorf("panel %d %q: gridPos %+v; want a title and a place within 24 columns", p.ID, p.Title, g)
		}
		for _, r := range placed {
			if g.X < r.x+r.w && r.x < g.X+g.W && g.Y < r.y+r.h && r.y < g.Y+g.H {
				t.Errorf("panel %q at %+v overlaps another at %+v", p.Title, g, r)
			}
		}
		placed = append(placed, rect{g.X, g.Y, g.W, g.H})
		if p.Type == "row" {
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			ds := tg.Datasource
			if ds == nil {
				ds = p.Datasource
			}
			switch {
			case ds == nil:
				t.Errorf("panel %q target %s has no data source", p.Title, tg.RefID)
			case ds.Type == "prometheus":
				prom++
				if strings.TrimSpace(tg.Expr) == "" {
					t.Errorf("panel %q target %s: empty expr", p.Title, tg.RefID)
				}
				if bad := unknownMetrics(tg.Expr, known); len(bad) > 0 {
					t.Errorf("panel %q uses metrics earshot does not export: %v", p.Title, bad)
				}
			case ds.Type == "grafana-clickhouse-datasource":
				ch++
				if tg.RawSQL == "" || tg.EditorType != "sql" || tg.Format == nil || (*tg.Format != 0 && *tg.Format != 1) {
					t.Errorf("panel %q target %s: want rawSql, editorType sql and format 0 (time series) or 1 (table)", p.Title, tg.RefID)
				}
			default:
				t.Errorf("panel %q: unexpected data source type %q", p.Title, ds.Type)
			}
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			t.Errorf("variable %s: %v", v.Name, err)
		}
		if bad := unknownMetrics(q.Query, known); len(bad) > 0 || q.Query == "" {
			t.Errorf("variable %s query %q uses unknown metrics %v", v.Name, q.Query, bad)
		}
	}
	if prom < 10 || ch < 4 {
		t.Errorf("%d Prometheus and %d ClickHouse queries; want the rates, scores and health from Prometheus and the tables from ClickHouse", prom, ch)
	}
	if bad := unknownMetrics(`rate(earshot_stage_eror_total[5m])`, known); len(bad) != 1 {
		t.Errorf("unknownMetrics(misspelt) = %v; want it caught", bad)
	}
}

// expandMacros does what the ClickHouse plugin does to a query before
// sending it, for the macros and variables the dashboard uses, and points
// it at database db.
func expandMacros(sql, db string, from, to time.Time) string {
	tf := regexp.MustCompile(`\$__timeFilter\(([a-z_]+)\)`)
	sql = tf.ReplaceAllStringFunc(sql, func(m string) string {
		col := tf.FindStringSubmatch(m)[1]
		return fmt.Sprintf("%s >= toDateTime(%d) AND %s <= toDateTime(%d)", col, from.Unix(), col, to.Unix())
	})
	sql = strings.ReplaceAll(sql, "${topic:singlequote}", "'acme','zenith'")
	return strings.ReplaceAll(sql, "earshot.", "`"+db+"`.")
}

// TestDashboardClickHouseQueries runs every ClickHouse query of the
// dashboard against earshot's schema, with one alert and mention stored.
func TestDashboardClickHouseQueries(t *testing.T) {
	d := load(t)
	cfg := chtest.NewDatabase(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := clickhouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	m := &pipeline.Mention{ID: "x:1", Platform: "x", Kind: pipeline.KindPost, Text: "acme is on fire", CreatedAt: now.Add(-time.Hour), CollectedAt: now,
		Enrichment: pipeline.Enrichment{Topics: []string{"acme"}, Trends: []string{"#acmefire"}, NeedsResponse: true,
			Sentiment: &pipeline.Sentiment{Score: -0.7, Label: pipeline.SentimentNegative}}}
	if err := st.Write(ctx, []*pipeline.Mention{m}); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteAlert(ctx, clickhouse.Alert{ID: "a1", Topic: "acme", Kind: clickhouse.AlertSpike, StartedAt: now.Add(-time.Hour),
		DetectedAt: now, Window: time.Minute, Observed: 150, Baseline: 5, Score: 0.9, Explanation: []byte(`{"top":[]}`), SampleIDs: []string{"x:1"}}); err != nil {
		t.Fatal(err)
	}
	queries := map[string]string{}
	for _, p := range d.all() {
		for _, tg := range p.Targets {
			if tg.RawSQL != "" {
				queries[p.Title] = tg.RawSQL
			}
		}
	}
	for _, a := range d.Annotations.List {
		if a.Target != nil && a.Target.RawSQL != "" {
			queries["annotation "+a.Name] = a.Target.RawSQL
		}
	}
	for title, sql := range queries {
		q := expandMacros(sql, cfg.Database, now.Add(-24*time.Hour), now)
		rows, err := st.Conn().Query(ctx, q)
		if err != nil {
			t.Errorf("panel %q: %v\n%s", title, err, q)
			continue
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := rows.Err(); err != nil {
			t.Errorf("panel %q: %v", title, err)
		}
		rows.Close()
		if n == 0 {
			t.Errorf("panel %q returned no row over a stored mention and alert\n%s", title, q)
		}
	}
}
