package all_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
	"github.com/earshot-dev/earshot/pipeline"
)

// xlmtArticles joins the held-out xlmt tweets (sentiment-train/xlmt_val,
// 8 languages) of one language into ~1 KB articles, 5 tweets apart, with
// the language they are written in.
func xlmtArticles(t *testing.T) (ms []*pipeline.Mention, want []string) {
	t.Helper()
	dir := evaldata.DirOrSkip(t)
	rows, err := evaldata.XLMT(dir, "val")
	if err != nil {
		t.Fatalf("XLMT(val): %v", err)
	}
	by := map[string][]string{}
	var langs []string
	for _, r := range rows {
		if _, ok := by[r.Lang]; !ok {
			langs = append(langs, r.Lang)
		}
		by[r.Lang] = append(by[r.Lang], r.Text)
	}
	for _, l := range langs {
		texts := by[l]
		for start := 0; start < len(texts); start += 5 {
			var b strings.Builder
			for i := start; b.Len() < 1000; i++ {
				b.WriteString(texts[i%len(texts)])
				b.WriteString(" ")
			}
			ms = append(ms, &pipeline.Mention{ID: fmt.Sprintf("%s:%d", l, start), Kind: pipeline.KindArticle,
				Platform: "rss", Text: strings.TrimSpace(b.String())})
			want = append(want, l)
		}
	}
	return ms, want
}

// TestMaxTextLanguage measures what enrich.max_text.lang costs in
// quality on long articles: a cap at the detector's own scan (512 bytes)
// changes nothing, and a cap at 256 bytes loses at most 3% of the right
// answers (measured: 506 right uncapped, 497 capped).
func TestMaxTextLanguage(t *testing.T) {
	f, _ := pipeline.EnricherFactoryFor("lang")
	st, err := f(pipeline.EnricherEnv{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ms, want := xlmtArticles(t)
	full := fresh(ms)
	if err := st.Enrich(ctx, full); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		limit    int
		minSame  float64 // share of articles given the uncapped language
		minRight float64 // right answers, as a share of the uncapped's
	}{{512, 1, 1}, {256, 0.95, 0.97}} {
		short := fresh(ms)
		if err := pipeline.CapText(st, c.limit).Enrich(ctx, short); err != nil {
			t.Fatal(err)
		}
		same, rightFull, rightCapped := 0, 0, 0
		for i := range ms {
			if short[i].Enrichment.LangDetected == full[i].Enrichment.LangDetected {
				same++
			}
			if full[i].Enrichment.LangDetected == want[i] {
				rightFull++
			}
			if short[i].Enrichment.LangDetected == want[i] {
				rightCapped++
			}
			if short[i].Text != ms[i].Text {
				t.Fatalf("mention %s: text changed by the capped stage", ms[i].ID)
			}
		}
		n := len(ms)
		t.Logf("%d articles, cap %d bytes: same language as uncapped %d (%.1f%%); right: uncapped %d, capped %d",
			n, c.limit, same, 100*float64(same)/float64(n), rightFull, rightCapped)
		if float64(same) < c.minSame*float64(n) {
			t.Errorf("cap %d: same language as uncapped on %d of %d articles; want at least %.0f%%", c.limit, same, n, 100*c.minSame)
		}
		if float64(rightCapped) < c.minRight*float64(rightFull) {
			t.Errorf("cap %d: right on %d articles, uncapped on %d; want at least %.0f%% of it", c.limit, rightCapped, rightFull, 100*c.minRight)
		}
	}
}
