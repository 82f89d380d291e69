package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/connectors/rss"
	"github.com/earshot-dev/earshot/enrich/detect"
	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
	"github.com/earshot-dev/earshot/sink/clickhouse/chtest"
)

// chromiumFlags are the headless Chromium flags that work in CI and on a
// laptop; each browser gets a fresh profile.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if path, err = exec.LookPath("chromium-browser"); err != nil {
			t.Fatal("the console's browser test needs Chromium: `make test` installs it (scripts/ensure-test-tools.sh), or apt-get install chromium")
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelB(); cancelA() })
	// The first call starts the browser, for as long as ctx lives: no
	// deadline on it.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium %s: %v", path, err)
	}
	return ctx
}

// do runs browser steps with a deadline.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
}

// get runs one browser action with a deadline and returns its value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("browser: %s: %v", what, err)
	}
	return v
}

// textOf waits up to 10 s for the text of the element sel to be want and
// returns the last text read ("" while sel matches nothing). The console
// redraws a list when a live update arrives, so a node read once may be
// replaced the next moment: each read queries the page afresh.
func textOf(t *testing.T, ctx context.Context, sel, want string) string {
	t.Helper()
	expr := `(() => { const e = document.querySelector(` + strconv.Quote(sel) + `); return e ? e.textContent.trim() : ""; })()`
	var got string
	for end := time.Now().Add(10 * time.Second); ; {
		got = get(t, ctx, "read "+sel, chromedp.Evaluate[string](expr))
		if got == want || time.Now().After(end) {
			return got
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// screenshot takes a picture of the page. With EARSHOT_UPDATE_SCREENSHOTS=1
// it replaces docs/NAME, the README's picture; otherwise it goes to a temp
// dir, so a test run leaves the checkout unchanged.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	do(t, ctx, "settle", chromedp.Sleep(300*time.Millisecond))
	png := get(t, ctx, "screenshot "+name, chromedp.CaptureScreenshot())
	if len(png) < 1000 {
		t.Errorf("screenshot %s is %d bytes; want a picture", name, len(png))
	}
	dir := t.TempDir()
	if os.Getenv("EARSHOT_UPDATE_SCREENSHOTS") == "1" {
		dir = filepath.Join("..", "..", "docs")
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Errorf("save screenshot: %v", err)
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// demoConfig is deploy/demo.yaml with its feeds at feedBase, a temp data
// dir, a test ClickHouse database and free ports.
func consoleDemoConfig(t *testing.T, dataDir, listen, feedBase string, chm map[string]any) *Config {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(repoFile(t, "deploy/demo.yaml"), &doc); err != nil {
		t.Fatal(err)
	}
	doc["data_dir"] = dataDir
	doc["http"] = map[string]any{"listen": listen}
	doc["nats"] = map[string]any{"embedded": map[string]any{"port": -1}}
	doc["clickhouse"] = chm
	doc["log"] = map[string]any{"level": "warn"}
	for _, c := range doc["connectors"].([]any) {
		c := c.(map[string]any)
		for i, f := range c["feeds"].([]any) {
			c["feeds"].([]any)[i] = strings.Replace(f.(string), "http://127.0.0.1:8089", feedBase, 1)
		}
	}
	return parseTestConfig(t, "demo.yaml", doc)
}

// TestConsoleInBrowser runs the demo, opens the console in headless
// Chromium and uses it as a community manager would.
func TestConsoleInBrowser(t *testing.T) {
	feeds := httptest.NewServer(http.FileServer(http.FS(rss.DemoFeedsAt(time.Now()))))
	defer feeds.Close()
	ch := chtest.NewDatabase(t)
	dataDir, listen := t.TempDir(), freeAddr(t)
	cfg := consoleDemoConfig(t, dataDir, listen, feeds.URL, chConfigMap(ch))
	db := "`" + ch.Database + "`"
	in, stop := startPipeline(t, cfg)
	stopped := false
	defer func() {
		if !stopped {
			stop()
		}
	}()
	// The demo corpus is 81 mentions in four feeds.
	pipelinetest.WaitFor(t, 60*time.Second, "the demo corpus stored", func() bool {
		return queryCount(t, in, "SELECT count() FROM "+db+".mentions FINAL") >= 81 && idle(t, in)
	})
	complaints := queryStrings(t, in, "SELECT id FROM "+db+".mentions FINAL WHERE needs_response ORDER BY created_at DESC, id")
	if len(complaints) < 5 {
		t.Fatalf("the demo stored %d mentions that need a response; want several", len(complaints))
	}
	// The corpus is dated relative to now: those older than the 1h response
	// target are overdue, the newest ones are not yet.
	late := queryStrings(t, in, "SELECT id FROM "+db+".mentions FINAL WHERE needs_response AND created_at < now() - 3600")
	if len(late) == 0 || len(late) == len(complaints) {
		t.Fatalf("%d of %d complaints are past the 1h target; want some past it and some not", len(late), len(complaints))
	}
	seedAlert(t, in, db)

	base := "http://" + listen + "/"
	ctx := newBrowser(t)
	cardIDs := func(sel string) []string {
		return get(t, ctx, "read "+sel, chromedp.Evaluate[[]string](`[...document.querySelectorAll('`+sel+`')].map(c => c.dataset.id)`))
	}
	js := func(expr string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[any](expr)(ctx, tg)
			return err
		})
	}
	fire := func(sel, ev string) chromedp.Action[chromedp.Void] {
		return js(`document.querySelector('` + sel + `').dispatchEvent(new Event('` + ev + `'))`)
	}

	// The queue lists exactly the demo's questions and complaints.
	do(t, ctx, "open the queue", chromedp.Navigate(base+"#queue"), chromedp.WaitVisible(`#queue-list .card[data-id]`))
	if ids := cardIDs("#queue-list .card"); !slices.Equal(ids, complaints) {
		t.Fatalf("queue lists %d mentions %v; want the %d that need a response, newest first: %v", len(ids), ids, len(complaints), complaints)
	}
	marks := get(t, ctx, "count highlights", chromedp.Evaluate[int](`document.querySelectorAll('#queue-list mark').length`))
	overdue := get(t, ctx, "count overdue", chromedp.Evaluate[int](`document.querySelectorAll('#queue-list .chip.waited.late').length`))
	// A complaint may cross the 1h mark while the page loads: the flags
	// count those late before the page was read and at most those late after.
	lateAfter := queryStrings(t, in, "SELECT id FROM "+db+".mentions FINAL WHERE needs_response AND created_at < now() - 3600")
	if marks == 0 || overdue < len(late) || overdue > len(lateAfter) {
		t.Errorf("queue shows %d highlighted spans and %d overdue flags; want highlights and the complaints older than the 1h target flagged (%d before the page was read, %d after)", marks, overdue, len(late), len(lateAfter))
	}
	screenshot(t, ctx, "console-queue.png")

	// Claim the newest complaint, then mark it answered with a note.
	target := complaints[0]
	card := fmt.Sprintf(`#queue-list .card[data-id="%s"]`, target)
	do(t, ctx, "claim", chromedp.SetValue(`#me`, "ann"), fire("#me", "change"),
		chromedp.Click(card+` button[data-action=claim]`), chromedp.WaitVisible(card+`[data-state=claimed]`))
	if chip := textOf(t, ctx, card+` [data-role=state]`, "claimed by ann"); chip != "claimed by ann" {
		t.Errorf("claimed card says %q; want \"claimed by ann\"", chip)
	}
	do(t, ctx, "answer", chromedp.SendKeys(card+` textarea`, "replied on Mastodon with the 4.2.1 fix"),
		chromedp.Click(card+` button[data-action=answer]`), chromedp.WaitNotPresent(card))
	if n := queryCount(t, in, "SELECT count() FROM "+db+".responses FINAL WHERE mention_id = '"+target+"' AND state = 'answered' AND actor = 'ann' AND note != ''"); n != 1 {
		t.Errorf("responses has %d answered rows by ann for %s; want 1", n, target)
	}
	if v := metric(t, in.reg, "earshot_responses_total"); v != 2 {
		t.Errorf("earshot_responses_total = %v; want 2 (claimed, answered)", v)
	}

	// Restart everything on the same data: the state survives.
	stop()
	stopped = true
	in, stop = startPipeline(t, cfg)
	stopped = false
	ctx = newBrowser(t)
	do(t, ctx, "reopen the queue", chromedp.Navigate(base+"#queue"), chromedp.WaitVisible(`#queue-list .card[data-id]`))
	if ids := cardIDs("#queue-list .card"); slices.Contains(ids, target) || len(ids) != len(complaints)-1 {
		t.Errorf("after a restart the queue lists %d mentions (the answered one among them: %v); want %d without %s", len(ids), slices.Contains(ids, target), len(complaints)-1, target)
	}
	do(t, ctx, "show answered", chromedp.SetValue(`select[data-filter=state]`, "done"), fire("select[data-filter=state]", "change"),
		chromedp.WaitVisible(card+`[data-state=answered]`))
	if chip := textOf(t, ctx, card+` [data-role=state]`, "answered by ann"); chip != "answered by ann" {
		t.Errorf("after a restart the answered card says %q; want \"answered by ann\"", chip)
	}

	// Live: a new complaint appears in the open queue without a reload,
	// pushed from NATS by server-sent events.
	do(t, ctx, "back to waiting", chromedp.SetValue(`select[data-filter=state]`, "open"), fire("select[data-filter=state]", "change"),
		chromedp.WaitVisible(`#live.on`))
	now := time.Now().UTC()
	publishRaw(t, in, []*pipeline.Mention{{ID: "mastodon:live-1", Platform: "mastodon", Source: "test", Kind: pipeline.KindPost,
		URL: "https://mstdn.example/@zoe/1", Author: pipeline.Author{Handle: "zoe@mstdn.example"},
		Text: "@AcmeSupport my Aero buds died again after the update, can you help? 😡", CreatedAt: now, CollectedAt: now}})
	do(t, ctx, "live complaint", chromedp.WaitVisible(`#queue-list .card[data-id="mastodon:live-1"]`))

	// The alert with its explanation; its sample mentions open in place.
	// The detector may raise alerts of its own on the demo corpus; the
	// seeded one is looked up by id.
	const al = `[data-alert="console-test-surge"]`
	// Between views a person clicks the menu. chromedp.Navigate to the same
	// page with another #fragment waits for a load event that a
	// same-document navigation does not always send (chromedp issue #1091:
	// "context deadline exceeded" now and then).
	nav := func(view string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(`nav a[data-view="` + view + `"]`)
	}
	do(t, ctx, "open alerts", nav("alerts"), chromedp.WaitVisible(al+` table.movers tbody tr`),
		chromedp.Click(al+` button[data-action=samples]`), chromedp.WaitVisible(al+` [data-role=samples] .card`))
	movers := get(t, ctx, "count movers", chromedp.Evaluate[int](`document.querySelectorAll('`+al+` table.movers tbody tr').length`))
	samples := get(t, ctx, "count samples", chromedp.Evaluate[int](`document.querySelectorAll('`+al+` [data-role=samples] .card').length`))
	if movers == 0 || samples == 0 {
		t.Errorf("alert shows %d movers and %d sample mentions; want both", movers, samples)
	}
	screenshot(t, ctx, "console-alerts.png")

	// Topics: volume and sentiment charts.
	do(t, ctx, "open topics", nav("topics"), chromedp.WaitVisible(`#chart-sentiment .uplot canvas`))
	if n := get(t, ctx, "count charts", chromedp.Evaluate[int](`document.querySelectorAll('#view-topics .uplot canvas').length`)); n != 2 {
		t.Errorf("topics page draws %d charts; want 2 (volume, sentiment)", n)
	}
	screenshot(t, ctx, "console-topics.png")
	do(t, ctx, "open people", nav("people"), chromedp.WaitVisible(`[data-people=advocates]`))
	screenshot(t, ctx, "console-people.png")

	// Search: linted as typed; a topic's query finds what the topics column holds.
	do(t, ctx, "lint", nav("search"), chromedp.WaitVisible(`#q`), chromedp.SendKeys(`#q`, `(refund* OR "money back"`),
		chromedp.WaitVisible(`#lint .error`))
	if lint := get(t, ctx, "read lint", chromedp.Text(`#lint`)); !strings.Contains(lint, "unbalanced parenthesis") {
		t.Errorf("lint of an unclosed group says %q; want unbalanced parenthesis", lint)
	}
	var refundQuery string
	for _, tp := range cfg.Topics {
		if tp.ID == "refund" {
			refundQuery = tp.Query
		}
	}
	want := queryStrings(t, in, "SELECT id FROM "+db+".mentions FINAL WHERE has(topics, 'refund') ORDER BY id")
	do(t, ctx, "search", js("document.querySelector('#q').value = ''"), chromedp.SendKeys(`#q`, refundQuery), chromedp.WaitVisible(`#lint .ok`),
		chromedp.Click(`#search-go`), chromedp.WaitVisible(`#search-summary`))
	ids := cardIDs("#search-results .card")
	slices.Sort(ids)
	if len(want) == 0 || !slices.Equal(ids, want) {
		t.Errorf("search %q found %v; want the ids stored with topic refund %v", refundQuery, ids, want)
	}
	screenshot(t, ctx, "console-search.png")
	stop()
	stopped = true
}

// seedAlert stores an alert as the detector does, explained by trend.Explain
// over the demo's own mentions: those with #AcmeFail against the rest.
func seedAlert(t *testing.T, in *infra, db string) {
	t.Helper()
	rows, err := in.store.Conn().Query(context.Background(), "SELECT id, hashtags, author_handle, lang_detected FROM "+db+".mentions FINAL ORDER BY id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var window, baseline []trend.ExplainItem
	for rows.Next() {
		var it trend.ExplainItem
		var author, lang string
		if err := rows.Scan(&it.ID, &it.Hashtags, &author, &lang); err != nil {
			t.Fatal(err)
		}
		it.Authors, it.Langs = []string{author}, []string{lang}
		if slices.Contains(it.Hashtags, "acmefail") {
			window = append(window, it)
		} else {
			baseline = append(baseline, it)
		}
	}
	ex := trend.Explain(window, baseline)
	var sample []string
	for _, it := range window {
		sample = append(sample, it.ID)
	}
	now := time.Now().UTC().Truncate(time.Minute)
	a := detect.Alert{ID: "console-test-surge", Kind: trend.KindNegativeSurge, Topic: "acme", Platform: detect.All,
		WindowStart: now.Add(-time.Hour), WindowEnd: now, DetectedAt: now, Observed: float64(len(window)), Expected: 1.5,
		Score: 0.9, NegativeShare: 0.8, Explanation: ex, SampleIDs: sample}
	if err := (alertStore{in.store}).WriteAlert(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if len(ex.Top) == 0 {
		t.Fatalf("trend.Explain found no movers for %d #acmefail mentions", len(window))
	}
}
