package sentiment

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
)

// goldenPath holds, per set of texts, the number of rows and the SHA-256 of
// every Predict answer (label, and the bits of score, confidence and the
// three probabilities), recorded with the embedded weights. A change meant
// to make Predict cheaper must leave every answer bit-identical; a retrain
// (a new WeightsDigest) records it again:
//
//	EARSHOT_SENTIMENT_GOLDEN=write go test ./enrich/sentiment -run TestPredictGolden
const goldenPath = "testdata/predict_golden.txt"

// goldenSet is a named list of texts, each scored in its language.
type goldenSet struct {
	name  string
	texts []string
	langs []string // per text; nil: lang for all
	lang  string
}

// goldenSets are the evaluation texts of shared/data (the sets TestQuality
// reads, every row), each also with the language undetermined, and texts of
// about 1 KB and 4 KB made by joining consecutive rows.
func goldenSets(t *testing.T, dir string) []goldenSet {
	var sets []goldenSet
	add := func(name string, texts, langs []string) {
		sets = append(sets, goldenSet{name: name, texts: texts, langs: langs, lang: "en"})
		sets = append(sets, goldenSet{name: name + "/und", texts: texts, lang: ""})
		for _, size := range []int{1000, 4000} {
			var lt, ll []string
			for start := 0; start < len(texts); start += 7 {
				var sb strings.Builder
				for i := start; i < len(texts) && sb.Len() < size; i++ {
					if langs != nil && langs[i] != langs[start] {
						break
					}
					sb.WriteString(texts[i])
					sb.WriteString(" ")
				}
				lt = append(lt, strings.TrimSpace(sb.String()))
				if langs != nil {
					ll = append(ll, langs[start])
				} else {
					ll = append(ll, "en")
				}
			}
			sets = append(sets, goldenSet{name: fmt.Sprintf("%s/joined-%d", name, size), texts: lt, langs: ll})
		}
	}
	xv, err := evaldata.XLMT(dir, "val")
	if err != nil {
		t.Fatalf("XLMT val: %v", err)
	}
	var texts, langs []string
	for _, r := range xv {
		texts, langs = append(texts, r.Text), append(langs, r.Lang)
	}
	add("xlmt_val", texts, langs)

	ge, err := evaldata.GoEmotionsDev(dir)
	if err != nil {
		t.Fatalf("GoEmotionsDev: %v", err)
	}
	texts = nil
	for _, c := range ge {
		texts = append(texts, c.Text)
	}
	add("goemotions_dev", texts, nil)

	se, err := evaldata.SemEval(dir)
	if err != nil {
		t.Fatalf("SemEval: %v", err)
	}
	texts = nil
	for _, x := range se {
		if evaldata.HeldOut(x.Text) {
			texts = append(texts, x.Text)
		}
	}
	add("semeval_heldout", texts, nil)

	for _, f := range []string{evaldata.VADERMovies, evaldata.VADERAmazon, evaldata.VADERNYT} {
		rows, err := evaldata.VADER(dir, f)
		if err != nil {
			t.Fatalf("evaldata.VADER(%q): %v", f, err)
		}
		texts = nil
		for _, r := range rows {
			texts = append(texts, r.Text)
		}
		add(strings.TrimSuffix(f, "_GroundTruth.txt"), texts, nil)
	}

	// Hand-written posts: hashtags, emoji, elongations, idioms, URLs.
	texts, langs = nil, nil
	for _, p := range fallbackPosts {
		texts, langs = append(texts, p), append(langs, "en")
	}
	for _, p := range regressionPosts {
		texts, langs = append(texts, p.text), append(langs, p.lang)
	}
	for _, p := range recorded {
		texts, langs = append(texts, p.text), append(langs, p.lang)
	}
	add("posts", texts, langs)
	return sets
}

// digestPredictions hashes m's answer for every text of s.
func digestPredictions(m *Model, s goldenSet) string {
	h := sha256.New()
	for i, text := range s.texts {
		lang := s.lang
		if s.langs != nil {
			lang = s.langs[i]
		}
		writeResult(h, m.Predict(text, lang))
	}
	return hex.EncodeToString(h.Sum(nil))
}

func writeResult(h hash.Hash, r Result) {
	var b [8]byte
	h.Write([]byte(r.Label))
	h.Write([]byte{0})
	for _, v := range []float64{r.Score, r.Confidence, r.Probs[0], r.Probs[1], r.Probs[2]} {
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(v))
		h.Write(b[:])
	}
}

// TestPredictGolden checks that Predict gives, bit for bit, the answers
// recorded in testdata/predict_golden.txt for every evaluation text (about
// 74,000 texts, 1 KB and 4 KB ones included), so that work on its speed
// cannot move a score, a label or a confidence.
func TestPredictGolden(t *testing.T) {
	if p := fmaPlatform(); p != "" {
		// Go may fuse a multiply and an add into one instruction there
		// (one rounding instead of two), so the last bits differ from
		// the amd64 recording with no change to the code.
		t.Skipf("answers recorded on amd64 (GOAMD64 v1/v2); this build (%s) may fuse multiply-adds", p)
	}
	dir := dataDir(t)
	m, err := DefaultModel()
	if err != nil {
		t.Fatalf("DefaultModel: %v", err)
	}
	sets := goldenSets(t, dir)
	if os.Getenv("EARSHOT_SENTIMENT_GOLDEN") == "write" {
		var sb strings.Builder
		fmt.Fprintf(&sb, "# Predict answers per set: name, rows, SHA-256 (see predict_golden_test.go)\nweights %s\n", WeightsDigest)
		for _, s := range sets {
			fmt.Fprintf(&sb, "%s %d %s\n", s.name, len(s.texts), digestPredictions(m, s))
		}
		if err := os.MkdirAll(filepath.Dir(goldenPath), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(goldenPath, []byte(sb.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s (%d sets)", goldenPath, len(sets))
		return
	}
	want, weightsDigest := readGolden(t)
	if weightsDigest != WeightsDigest {
		t.Fatalf("%s was recorded with weights %s; the embedded weights are %s (record again: EARSHOT_SENTIMENT_GOLDEN=write)", goldenPath, weightsDigest, WeightsDigest)
	}
	if len(want) != len(sets) {
		t.Errorf("%s has %d sets; the test builds %d", goldenPath, len(want), len(sets))
	}
	total := 0
	for _, s := range sets {
		w, ok := want[s.name]
		if !ok {
			t.Errorf("set %s: not in %s", s.name, goldenPath)
			continue
		}
		if w.rows != len(s.texts) {
			t.Errorf("set %s: %d texts; recorded %d (the data changed?)", s.name, len(s.texts), w.rows)
			continue
		}
		total += len(s.texts)
		if got := digestPredictions(m, s); got != w.digest {
			t.Errorf("set %s (%d texts): Predict answers digest %s; recorded %s: some score, label or confidence changed", s.name, len(s.texts), got, w.digest)
		}
	}
	t.Logf("%d sets, %d texts: every answer as recorded", len(sets), total)
}

// fmaPlatform names the build's platform when Go may fuse multiply-adds
// on it (every GOARCH but amd64, and amd64 from GOAMD64 v3), else "".
func fmaPlatform() string {
	if runtime.GOARCH != "amd64" {
		return runtime.GOARCH
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "GOAMD64" && s.Value >= "v3" {
				return "amd64 " + s.Value
			}
		}
	}
	return ""
}

type goldenRow struct {
	rows   int
	digest string
}

func readGolden(t *testing.T) (map[string]goldenRow, string) {
	f, err := os.Open(goldenPath)
	if err != nil {
		t.Fatalf("open golden answers: %v", err)
	}
	defer f.Close()
	out := map[string]goldenRow{}
	var weightsDigest string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		fs := strings.Fields(line)
		if len(fs) == 2 && fs[0] == "weights" {
			weightsDigest = fs[1]
			continue
		}
		if len(fs) != 3 {
			t.Fatalf("%s:%d: %q is not \"name rows digest\"", goldenPath, n, line)
		}
		rows, err := strconv.Atoi(fs[1])
		if err != nil {
			t.Fatalf("%s:%d: rows %q: %v", goldenPath, n, fs[1], err)
		}
		out[fs[0]] = goldenRow{rows, fs[2]}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out, weightsDigest
}
