//go:build langcompare

// The library comparison behind the choice of detector. It needs the
// lingua-go module (about 120 MB of embedded models), so it is behind a build
// tag: go test -tags langcompare -run TestCompare -bench Compare -v ./enrich/lang
package lang

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/abadojack/whatlanggo"
	"github.com/pemistahl/lingua-go"

	"github.com/earshot-dev/earshot/enrich/internal/stagetest"
)

type namedDetector struct {
	name   string
	detect func(string) (string, float64)
}

var defaultCodes = []string{"en", "es", "fr", "de", "pt", "it", "nl"}

func whatlangDetector() func(string) (string, float64) {
	wl := map[whatlanggo.Lang]bool{}
	codes := map[whatlanggo.Lang]string{}
	for l := whatlanggo.Lang(0); l < 200; l++ {
		for _, c := range defaultCodes {
			if l.Iso6391() == c {
				wl[l] = true
				codes[l] = c
			}
		}
	}
	opt := whatlanggo.Options{Whitelist: wl}
	buf := make([]byte, 0, 1024)
	return func(s string) (string, float64) {
		buf = Clean(buf[:0], s)
		info := whatlanggo.DetectWithOptions(string(buf), opt)
		if info.Lang < 0 {
			return "", 0
		}
		// Iso6391 builds a map on every call: look the code up once instead.
		return codes[info.Lang], info.Confidence
	}
}

func linguaDetector(low bool) func(string) (string, float64) { return linguaFor(defaultCodes, low) }

// linguaFor is lingua-go restricted to codes, on the cleaned text.
func linguaFor(codes []string, low bool) func(string) (string, float64) {
	var langs []lingua.Language
	for _, c := range codes {
		langs = append(langs, lingua.GetLanguageFromIsoCode639_1(lingua.GetIsoCode639_1FromValue(c)))
	}
	b := lingua.NewLanguageDetectorBuilder().FromLanguages(langs...).WithPreloadedLanguageModels()
	if low {
		b = b.WithLowAccuracyMode()
	}
	d := b.Build()
	buf := make([]byte, 0, 1024)
	return func(s string) (string, float64) {
		buf = Clean(buf[:0], s)
		vals := d.ComputeLanguageConfidenceValues(string(buf))
		if len(vals) == 0 || vals[0].Value() == 0 {
			return "", 0
		}
		return strings.ToLower(vals[0].Language().IsoCode639_1().String()), vals[0].Value()
	}
}

var detectorNames = []string{"earshot", "whatlanggo", "lingua-go low accuracy", "lingua-go high accuracy"}

func newNamed(name string) namedDetector {
	switch name {
	case "earshot":
		d, err := NewDetector(defaultCodes, 0)
		if err != nil {
			panic(err)
		}
		return namedDetector{name, d.Detect}
	case "whatlanggo":
		return namedDetector{name, whatlangDetector()}
	case "lingua-go low accuracy":
		return namedDetector{name, linguaDetector(true)}
	}
	return namedDetector{name, linguaDetector(false)}
}

// heapOf measures, in a fresh process, the live heap that building a
// detector and detecting once leaves (lingua-go caches models globally).
func heapOf(t *testing.T, name string) float64 {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHeapChild$")
	cmd.Env = append(os.Environ(), "LANG_HEAP_CHILD="+name)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("heap child %q: %v", name, err)
	}
	var mb float64
	for _, l := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(l, "HEAP "); ok {
			mb, _ = strconv.ParseFloat(v, 64)
		}
	}
	return mb
}

func TestHeapChild(t *testing.T) {
	name := os.Getenv("LANG_HEAP_CHILD")
	if name == "" {
		t.Skip("run by TestCompare")
	}
	var d namedDetector
	heap := heapAfter(func() {
		d = newNamed(name)
		d.detect("warm up the models for all languages")
	})
	runtime.KeepAlive(d)
	fmt.Printf("HEAP %.2f\n", float64(heap)/(1<<20))
}

func heapAfter(f func()) int64 {
	var a, b runtime.MemStats // signed difference below
	runtime.GC()
	runtime.ReadMemStats(&a)
	f()
	runtime.GC()
	runtime.ReadMemStats(&b)
	return int64(b.HeapAlloc) - int64(a.HeapAlloc)
}

func TestCompare(t *testing.T) {
	posts := loadPosts(t, "testdata/posts.tsv")
	other := loadPosts(t, "testdata/other.tsv")
	var b strings.Builder
	b.WriteString("\n| detector | accuracy, full posts | accuracy, first 3 words | unknown on full posts | confident wrong on other languages | heap after construction |\n|---|---:|---:|---:|---:|---:|\n")
	for _, name := range detectorNames {
		keep := newNamed(name)
		heap := max(heapOf(t, name), 0)
		full, short, unk := 0, 0, 0
		for _, p := range posts {
			c, _ := keep.detect(p.text)
			if c == p.lang {
				full++
			}
			if c == "" {
				unk++
			}
			if c, _ := keep.detect(firstWords(p.text, 3)); c == p.lang {
				short++
			}
		}
		wrong := 0
		for _, p := range other {
			if c, _ := keep.detect(p.text); c != "" && c != p.lang {
				wrong++
			}
		}
		n := float64(len(posts))
		fmt.Fprintf(&b, "| %s | %.1f%% | %.1f%% | %.1f%% | %d / %d | %.1f MB |\n", name,
			100*float64(full)/n, 100*float64(short)/n, 100*float64(unk)/n, wrong, len(other), heap)
	}
	t.Log(b.String())
}

func BenchmarkCompare(b *testing.B) {
	posts := loadPosts(b, "testdata/posts.tsv")
	for _, name := range detectorNames {
		d := newNamed(name)
		b.Run(strings.ReplaceAll(d.name, " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			c := stagetest.StartCPU(b)
			for i := 0; i < b.N; i++ {
				d.detect(posts[i%len(posts)].text)
			}
			c.Stop(b)
		})
	}
}

// shortPostDetectors are the detectors compared on the eight sentiment
// languages, each restricted to them.
func shortPostDetectors() ([]string, []func(string) string) {
	d, err := NewDetector(eight, 0)
	if err != nil {
		panic(err)
	}
	names := []string{"earshot", "lingua-go low accuracy", "lingua-go high accuracy"}
	fs := []func(string) (string, float64){d.Detect, linguaFor(eight, true), linguaFor(eight, false)}
	out := make([]func(string) string, len(fs))
	for i, f := range fs {
		out[i] = func(s string) string { c, _ := f(s); return c }
	}
	return names, out
}

// TestCompareShortPosts compares accuracy on the xlmt_val tweets of the
// eight languages, whole and cut to 4 words:
//
//	go test -tags langcompare -run TestCompareShortPosts -v ./enrich/lang
func TestCompareShortPosts(t *testing.T) {
	names, fs := shortPostDetectors()
	t.Log(shortPostTable(t, "val", names, fs))
}

// BenchmarkCompareShortPosts: the same detectors on the same posts (first
// 4 words and whole tweets, alternating):
//
//	go test -tags langcompare -run '^$' -bench CompareShortPosts ./enrich/lang
func BenchmarkCompareShortPosts(b *testing.B) {
	full, short := shortPosts(b, "val")
	posts := make([]string, 0, 2*len(full))
	for i := range full {
		posts = append(posts, full[i].text, short[i].text)
	}
	names, fs := shortPostDetectors()
	for i, f := range fs {
		b.Run(strings.ReplaceAll(names[i], " ", "_"), func(b *testing.B) {
			b.ReportAllocs()
			c := stagetest.StartCPU(b)
			for i := 0; i < b.N; i++ {
				f(posts[i%len(posts)])
			}
			c.Stop(b)
		})
	}
}
