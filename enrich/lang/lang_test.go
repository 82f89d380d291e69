package lang

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
	"github.com/earshot-dev/earshot/pipeline"
)

func TestClean(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"Hello World", "hello world"},
		{"@acme why?? https://t.co/x #fail 😂", "why"},
		{"(@acme) see www.example.com now", "see now"},
		{"L'appli ne marche pas", "l'appli ne marche pas"},
		{"don’t stop", "don't stop"},
		{"ÉTÉ À PARIS", "été à paris"},
		{"3 Wochen, 20 €", "wochen"},
		{"email me: a@b.c", "email me a b c"},
		{"  'quoted'  ", "quoted"},
	}
	for _, tt := range tests {
		if got := string(Clean(nil, tt.in)); got != tt.want {
			t.Errorf("Clean(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct{ text, want string }{
		{"", ""},
		{"   ", ""},
		{"lol", ""},
		{"😂😂😂 🔥", ""},
		{"@acme https://example.com/a/b #launch", ""},
		{"12345 !!!", ""},
		{"The delivery was late again and nobody answered the phone", "en"},
		{"El pedido llegó tarde otra vez y nadie contestó el teléfono", "es"},
		{"La commande est encore arrivée en retard et personne ne répond", "fr"},
		{"Die Lieferung kam wieder zu spät und niemand ging ans Telefon", "de"},
		{"O pedido chegou atrasado de novo e ninguém atendeu o telefone", "pt"},
		{"L'ordine è arrivato di nuovo in ritardo e nessuno ha risposto", "it"},
		{"De bestelling kwam weer te laat en niemand nam de telefoon op", "nl"},
		{"@acme The delivery was late again #fail https://t.co/x 😡", "en"},
		{"Zamówienie znowu przyszło za późno i nikt nie odebrał telefonu", "pl"},
		{"Заказ снова опоздал, и никто не ответил на звонок", "ru"},
		{"注文がまた遅れて届いた", "ja"},
		{"주문이 또 늦게 도착했어요", "ko"},
		{"订单又迟到了", "zh"},
		// Issue 9: brand and product names must not flip clear English,
		// and a lone brand name is undetermined.
		{"I love my new Aero Pro, best buds ever!", "en"},
		{"The Aero Pro is awesome", "en"},
		{"The phone is awesome", "en"},
		{"Acme", ""},
		{"Die neue #Acme Home App ist eine Katastrophe", "de"},
	}
	for _, tt := range tests {
		got, conf := Detect(tt.text)
		if got != tt.want {
			t.Errorf("Detect(%q) = %q (%.2f); want %q", tt.text, got, conf, tt.want)
		}
		if (got == "") != (conf == 0) || conf < 0 || conf > 1 {
			t.Errorf("Detect(%q) confidence = %v with code %q; want 0 exactly when the code is empty, else in (0, 1]", tt.text, conf, got)
		}
	}
}

func TestNewDetectorUnknownLanguage(t *testing.T) {
	if _, err := NewDetector([]string{"en", "xx", "klingon"}, 0); !errors.Is(err, ErrUnknownLanguage) ||
		!strings.Contains(err.Error(), `"xx"`) || !strings.Contains(err.Error(), `"klingon"`) {
		t.Errorf("NewDetector(en, xx, klingon) = %v; want ErrUnknownLanguage naming both", err)
	}
}

func TestDetectAllocs(t *testing.T) {
	d, err := NewDetector(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	text := "@acme Pourquoi l'appli plante à chaque fois que je l'ouvre ? #bug https://t.co/x"
	d.Detect(text)
	if n := testing.AllocsPerRun(100, func() { d.Detect(text) }); n != 0 {
		t.Errorf("Detect allocates %v times per call; want 0", n)
	}
}

// TestQuality prints the detector's accuracy on testdata/posts.tsv (50 short
// posts per language, written for earshot) and asserts floors a broken
// detector would fail:
//
//	go test ./enrich/lang -run TestQuality -v
func TestQuality(t *testing.T) {
	posts := loadPosts(t, "testdata/posts.tsv")
	other := loadPosts(t, "testdata/other.tsv")
	d, err := NewDetector(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	type row struct{ n, full, short, unk int }
	rows := map[string]*row{}
	var all row
	for _, p := range posts {
		r := rows[p.lang]
		if r == nil {
			r = &row{}
			rows[p.lang] = r
		}
		c, _ := d.Detect(p.text)
		s, _ := d.Detect(firstWords(p.text, 3))
		for _, x := range []*row{r, &all} {
			x.n++
			if c == p.lang {
				x.full++
			}
			if s == p.lang {
				x.short++
			}
			if c == "" {
				x.unk++
			}
		}
	}
	var b strings.Builder
	b.WriteString("\n| language | posts | accuracy | accuracy, first 3 words | unknown |\n|---|---:|---:|---:|---:|\n")
	codes := make([]string, 0, len(rows))
	for c := range rows {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	pct := func(a, n int) string { return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(n)) }
	for _, c := range append(codes, "all") {
		r := rows[c]
		if c == "all" {
			r = &all
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | %s |\n", c, r.n, pct(r.full, r.n), pct(r.short, r.n), pct(r.unk, r.n))
	}
	right, unknown, wrong := 0, 0, 0
	for _, p := range other {
		switch c, _ := d.Detect(p.text); c {
		case p.lang:
			right++
		case "":
			unknown++
		default:
			wrong++
		}
	}
	fmt.Fprintf(&b, "\nPosts in other languages (%d): %d detected as their own language, %d unknown, %d wrong.\n",
		len(other), right, unknown, wrong)
	t.Log(b.String())
	if acc := float64(all.full) / float64(all.n); acc < 0.9 {
		t.Errorf("accuracy on full posts = %.3f; want > 0.9", acc)
	}
	if wrong > len(other)/4 {
		t.Errorf("%d of %d posts in other languages were given a wrong language; want at most %d", wrong, len(other), len(other)/4)
	}
}

func TestEnrich(t *testing.T) {
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ms := []*pipeline.Mention{
		{Text: "Gracias por la respuesta rápida, hoy me llegó el reembolso"},
		{Text: "😂😂", Title: "Die neue Staffel startet nächste Woche"},
		{Text: "lol"},
	}
	if err := e.Enrich(context.Background(), ms); err != nil {
		t.Fatalf("Enrich: %v", err)
	}
	want := []string{"es", "de", ""}
	for i, m := range ms {
		if m.Enrichment.Lang != want[i] {
			t.Errorf("Enrich(%q, title %q) lang = %q; want %q", m.Text, m.Title, m.Enrichment.Lang, want[i])
		}
		if (m.Enrichment.Lang == "") != (m.Enrichment.LangConfidence == 0) {
			t.Errorf("Enrich(%q) confidence = %v with lang %q", m.Text, m.Enrichment.LangConfidence, m.Enrichment.Lang)
		}
		if v := m.Enrichment.Versions[StageName]; v != Version {
			t.Errorf("Enrich(%q) version = %q; want %q", m.Text, v, Version)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Enrich(ctx, ms); !errors.Is(err, context.Canceled) {
		t.Errorf("Enrich(cancelled) = %v; want context.Canceled", err)
	}
}

func TestRegisteredFactory(t *testing.T) {
	tests := []struct{ yaml, wantErr string }{
		{"", ""},
		{"languages: [en, es]", ""},
		{"languages: [en, ja]\nmin_confidence: 0.8", ""},
		{"languages: [en]\nlangs: [es]", `unknown key "langs"`},
		{"languages: [en, xx]", `languages[1] = "xx"`},
		{"languages: []", "languages is empty"},
		{"min_confidence: 2", "min_confidence 2"},
	}
	for _, tt := range tests {
		stagetest.CheckFactory(t, StageName, Version, tt.yaml, tt.wantErr)
	}
}

func TestParseTableRejectsCorruptData(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("not gzip"), ngramsGz[:len(ngramsGz)/2]} {
		if _, err := parseTable(data); !errors.Is(err, errTable) {
			t.Errorf("parseTable(%d bytes) = %v; want errTable", len(data), err)
		}
	}
}

func FuzzDetect(f *testing.F) {
	for _, s := range []string{"hello world", "l'été", "@a #b http://c", "注文", "\xff\xfe"} {
		f.Add(s)
	}
	d, err := NewDetector(nil, 0)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, conf := d.Detect(s)
		if (c == "") != (conf == 0) || conf < 0 || conf > 1 {
			t.Errorf("Detect(%q) = %q, %v", s, c, conf)
		}
	})
}

// BenchmarkDetect: go test ./enrich/lang -run '^$' -bench Detect -benchmem
func BenchmarkDetect(b *testing.B) {
	posts := loadPosts(b, "testdata/posts.tsv")
	d, err := NewDetector(nil, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	c := stagetest.StartCPU(b)
	for i := 0; i < b.N; i++ {
		d.Detect(posts[i%len(posts)].text)
	}
	c.Stop(b)
}

func BenchmarkEnrich(b *testing.B) {
	posts := loadPosts(b, "testdata/posts.tsv")
	e, err := New(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]*pipeline.Mention, 256)
	for i := range batch {
		batch[i] = &pipeline.Mention{Text: posts[i%len(posts)].text}
		batch[i].SetVersion("warm", "up")
	}
	stagetest.BenchEnrich(b, e, batch)
}

func TestResolveDeclared(t *testing.T) {
	d, err := NewDetector(nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		text, declared     string
		detected, resolved string
	}{
		// Too short to tell: the declaration decides.
		{"Acme", "en", "", "en"},
		{"lol", "pt-BR", "", "pt"},
		{"Acme", "und", "", ""},
		{"Acme", "", "", ""},
		// An ambiguous text leans to the declared language (detected: any).
		{"best buds ever", "en", "?", "en"},
		// Clear text wins over a wrong declaration.
		{"Die Lieferung kam wieder zu spät und niemand ging ans Telefon", "en", "de", "de"},
		{"The delivery was late again and nobody answered the phone", "es", "en", "en"},
	}
	for _, tt := range tests {
		r := d.Resolve(tt.text, tt.declared)
		if (tt.detected != "?" && r.Detected != tt.detected) || r.Lang != tt.resolved {
			t.Errorf("Resolve(%q, %q) = %+v; want detected %q, resolved %q", tt.text, tt.declared, r, tt.detected, tt.resolved)
		}
		if (r.Lang == "") != (r.Confidence == 0) || (r.Detected == "") != (r.DetectedConfidence == 0) {
			t.Errorf("Resolve(%q, %q) = %+v; want a confidence exactly when there is a code", tt.text, tt.declared, r)
		}
	}
	e, err := New(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	m := &pipeline.Mention{Text: "Acme", Lang: "de"}
	if err := e.Enrich(context.Background(), []*pipeline.Mention{m}); err != nil {
		t.Fatal(err)
	}
	if m.Enrichment.Lang != "de" || m.Enrichment.LangDetected != "" {
		t.Errorf("Enrich(%q, declared de) = lang %q, detected %q; want de, \"\"", m.Text, m.Enrichment.Lang, m.Enrichment.LangDetected)
	}
}

// tinyTable is an n-gram table in ngramgen's format: one language, "en",
// with the given n-grams, each at 1 nat.
func tinyTable(t *testing.T, ngrams ...string) []byte {
	t.Helper()
	var raw bytes.Buffer
	raw.WriteString("ESNG1\x01en")
	binary.Write(&raw, binary.LittleEndian, uint32(len(ngrams)))
	for _, g := range ngrams {
		raw.WriteByte(byte(utf8.RuneCountInString(g)))
		raw.WriteByte(byte(len(g)))
		raw.WriteString(g)
		raw.Write([]byte{1, 0, 10}) // one posting: language 0, 1 nat
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	return gz.Bytes()
}

// TestLongNGrams: the scorer finds the table's 4- and 5-grams (their
// hashed keys, computed rune by rune, are the table's) and backs off from
// them as from trigrams; a table with a 4-gram whose trigram suffix it
// lacks is refused (the scorer probes a 4-gram only after a trigram hit).
func TestLongNGrams(t *testing.T) {
	tb, err := parseTable(tinyTable(t, "a", "b", "c", "d", "e", "de", "cde", "bcde", "abcde"))
	if err != nil {
		t.Fatalf("parseTable = %v", err)
	}
	tb.hi = 1 // no romanised Hindi in this table
	d := &Detector{t: tb}
	// Every kept n-gram is at -1 nat; each step back costs backoffPenalty.
	// Up to trigrams: a -1, b -1-1 step, c -1-2, d -1-2 (no "cd", "bcd"),
	// e -1 ("cde"). With 4- and 5-grams: d -1-3 (from order 4), e -1
	// ("abcde"; its 4-gram "bcde" alone would give -1-1).
	for _, tt := range []struct {
		top   int
		steps float32
	}{{3, 5}, {maxOrder, 6}} {
		var a tally
		d.tallyWords(&a, []byte("abcde"), tt.top)
		got := a.sum[0] + float32(a.runes())*tb.floor[0][0] - a.penSum
		if want := -5 - backoffPenalty*tt.steps; math.Abs(float64(got-want)) > 1e-4 {
			t.Errorf("log-likelihood of %q up to order %d = %v; want %v", "abcde", tt.top, got, want)
		}
	}
	if _, err := parseTable(tinyTable(t, "a", "b", "c", "e", "x", "bcd", "xbce")); !errors.Is(err, errTable) {
		t.Errorf("parseTable(a 4-gram without its trigram suffix) = %v; want errTable", err)
	}
}
