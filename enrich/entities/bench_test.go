package entities

import (
	"regexp"
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/sample"
	"github.com/earshot-dev/earshot/pipeline"
)

// regexpExtractor is the naive baseline: one regular expression per entity
// kind, canonicalisation shared with the scanner. It is less exact (no
// grapheme-aware emoji, no context rules) and is here only to be measured.
type regexpExtractor struct {
	hashtag, mention, cashtag, link, emoji *regexp.Regexp
}

func newRegexpExtractor() *regexpExtractor {
	return &regexpExtractor{
		hashtag: regexp.MustCompile(`(?:^|[^\p{L}\p{N}_&])[#＃]([\p{L}\p{M}\p{N}_]*\p{L}[\p{L}\p{M}\p{N}_]*)`),
		mention: regexp.MustCompile(`(?:^|[^\p{L}\p{N}_@])[@＠]([A-Za-z0-9_]{1,30}(?:@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)?)`),
		cashtag: regexp.MustCompile(`(?:^|[^\p{L}\p{N}_$])\$([A-Za-z]{1,6}(?:[._][A-Za-z]{1,2})?)\b`),
		link:    regexp.MustCompile(`(?i)\b(?:https?://|www\.)[^\s<>"]+[^\s<>".,;:!?')\]]`),
		emoji:   regexp.MustCompile(`[\x{1F1E6}-\x{1F1FF}]{2}|[\x{1F300}-\x{1FAFF}\x{2600}-\x{27BF}][\x{FE0F}\x{1F3FB}-\x{1F3FF}]?(?:\x{200D}[\x{1F300}-\x{1FAFF}\x{2600}-\x{27BF}][\x{FE0F}\x{1F3FB}-\x{1F3FF}]?)*`),
	}
}

func (x *regexpExtractor) extract(s string) Entities {
	var e Entities
	for _, m := range x.hashtag.FindAllStringSubmatch(s, -1) {
		e.Hashtags = addUnique(e.Hashtags, strings.ToLower(m[1]))
	}
	for _, m := range x.mention.FindAllStringSubmatch(s, -1) {
		e.Mentions = addUnique(e.Mentions, strings.ToLower(m[1]))
	}
	for _, m := range x.cashtag.FindAllStringSubmatch(s, -1) {
		e.Cashtags = addUnique(e.Cashtags, strings.ToUpper(m[1]))
	}
	for _, l := range x.link.FindAllString(s, -1) {
		if u, host, ok := canonical(l); ok {
			e.addLink(u, host)
		}
	}
	for _, em := range x.emoji.FindAllString(s, -1) {
		e.Emoji = addUnique(e.Emoji, stripVS(em))
	}
	return e
}

// TestRegexpBaselineAgrees keeps the baseline honest: on plain cases it must
// find what the scanner finds, so the benchmark compares equal work.
func TestRegexpBaselineAgrees(t *testing.T) {
	x := newRegexpExtractor()
	for _, s := range []string{
		"#Launch day @acme $ACME https://acme.com/a?utm_source=x 🚀",
		"RT @techbyte: new #AcmeRocket www.acme.com/b 👍🏽",
	} {
		a, b := Extract(s), x.extract(s)
		if strings.Join(a.Hashtags, ",") != strings.Join(b.Hashtags, ",") ||
			strings.Join(a.Mentions, ",") != strings.Join(b.Mentions, ",") ||
			strings.Join(a.Cashtags, ",") != strings.Join(b.Cashtags, ",") ||
			strings.Join(a.Links, ",") != strings.Join(b.Links, ",") ||
			strings.Join(a.Emoji, ",") != strings.Join(b.Emoji, ",") {
			t.Errorf("Extract(%q) = %+v; regexp baseline = %+v", s, a, b)
		}
	}
}

// BenchmarkExtract compares the scanner with the regexp baseline on the
// sample mix; ns/post is the figure to compare with the chain's budget.
func BenchmarkExtract(b *testing.B) {
	texts := sample.Texts()
	x := newRegexpExtractor()
	for _, bc := range []struct {
		name string
		fn   func(string) Entities
	}{
		{"scanner", Extract},
		{"regexp", x.extract},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				bc.fn(texts[n%len(texts)])
				n++
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/post")
		})
	}
}

// BenchmarkStage measures the whole stage on batches of 100 sample mentions.
func BenchmarkStage(b *testing.B) {
	st, err := New(pipeline.EnricherEnv{})
	if err != nil {
		b.Fatal(err)
	}
	src := sample.Mentions()
	batch := make([]*pipeline.Mention, 100)
	copies := make([]pipeline.Mention, 100)
	b.ReportAllocs()
	posts := 0
	for b.Loop() {
		for i := range batch {
			copies[i] = *src[(posts+i)%len(src)]
			copies[i].Enrichment = pipeline.Enrichment{}
			batch[i] = &copies[i]
		}
		if err := st.Enrich(b.Context(), batch); err != nil {
			b.Fatal(err)
		}
		posts += len(batch)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(posts), "ns/post")
}

// BenchmarkExtractHostile runs the scanner on 64 KiB posts built to make a
// careless scanner quadratic; ns/byte should stay near the normal mix's.
func BenchmarkExtractHostile(b *testing.B) {
	const size = pipeline.MaxTextBytes
	for _, bc := range []struct{ name, unit string }{
		{"parens", "https://a.example.com/" + strings.Repeat(")", 100)},
		{"schemes", "https://"},
		{"hashtags", "#a1 #b2 #c3 #d4 "},
		{"handles", "@abcdefghijklmnopqrstuvwxyz0123456789"},
		{"domains", "@a.b"},
		{"zwj", "👩\u200d"},
		{"emoji", "😀🇺🇸👍🏽"},
	} {
		text := strings.Repeat(bc.unit, size/len(bc.unit))
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				Extract(text)
			}
		})
	}
}
