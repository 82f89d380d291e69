package evaldata

import (
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Labelled is one text with a 3-class sentiment label (-1 negative,
// 0 neutral, 1 positive), the ISO 639-1 language when the source says, and
// the source it came from (xlmt, semeval, goemotions).
type Labelled struct {
	Lang   string
	Label  int
	Text   string
	Source string
}

// Sources of sentiment-train.
const (
	SourceXLMT       = "xlmt"
	SourceSemEval    = "semeval"
	SourceGoEmotions = "goemotions"
	// SourceVADER: the training documents of the VADER rating sets
	// (VADERParts), which the sentiment trainer reads beside sentiment-train.
	SourceVADER = "vader"
)

// Languages are the eight languages of the multilingual sentiment data.
var Languages = []string{"ar", "de", "en", "es", "fr", "hi", "it", "pt"}

func parseLabel(s string) (int, bool) {
	switch s {
	case "negative":
		return -1, true
	case "neutral", "ambiguous":
		// GoEmotions' ambiguous group (surprise, confusion, …) is neither
		// positive nor negative: neutral, as in the dev-set scoring.
		return 0, true
	case "positive":
		return 1, true
	}
	return 0, false
}

func readTSV(path string, header bool, fields int) ([][]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read labelled set: %w", err)
	}
	var out [][]string
	for i, s := range strings.Split(string(data), "\n") {
		s = strings.TrimRight(s, "\r")
		if s == "" || (header && i == 0) {
			continue
		}
		f := strings.SplitN(s, "\t", fields)
		if len(f) != fields {
			return nil, fmt.Errorf("%s:%d: want %d tab-separated fields, got %d", path, i+1, fields, len(f))
		}
		out = append(out, f)
	}
	return out, nil
}

// XLMT reads sentiment-train/xlmt_<split>.tsv (split "train" or "val").
func XLMT(dir, split string) ([]Labelled, error) {
	path := filepath.Join(dir, "sentiment-train", "xlmt_"+split+".tsv")
	rows, err := readTSV(path, true, 3)
	if err != nil {
		return nil, err
	}
	out := make([]Labelled, 0, len(rows))
	for i, f := range rows {
		l, ok := parseLabel(f[1])
		if !ok {
			return nil, fmt.Errorf("%s: row %d: label %q is not negative/neutral/positive", path, i+1, f[1])
		}
		out = append(out, Labelled{Lang: f[0], Label: l, Text: unescapeU(f[2]), Source: SourceXLMT})
	}
	return out, nil
}

// unescapeU turns the literal \uXXXX escapes left in the English xlmt rows
// (a download artefact) into the characters they stand for.
func unescapeU(s string) string {
	if !strings.Contains(s, `\u`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+6 <= len(s) && s[i+1] == 'u' {
			if v, err := strconv.ParseUint(s[i+2:i+6], 16, 32); err == nil {
				b.WriteRune(rune(v))
				i += 5
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// SemEval reads every file of sentiment-train/semeval (English tweets), in
// file-name order.
func SemEval(dir string) ([]Labelled, error) {
	files, err := filepath.Glob(filepath.Join(dir, "sentiment-train", "semeval", "*.tsv"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("read semeval: no .tsv files in %s (%v)", filepath.Join(dir, "sentiment-train", "semeval"), err)
	}
	sort.Strings(files)
	var out []Labelled
	for _, path := range files {
		rows, err := readTSV(path, false, 2)
		if err != nil {
			return nil, err
		}
		for i, f := range rows {
			l, ok := parseLabel(f[0])
			if !ok {
				return nil, fmt.Errorf("%s: row %d: label %q is not negative/neutral/positive", path, i+1, f[0])
			}
			out = append(out, Labelled{Lang: "en", Label: l, Text: f[1], Source: SourceSemEval})
		}
	}
	return out, nil
}

// GoEmotionsTrain reads sentiment-train/goemotions_train.tsv; ambiguous
// comments are neutral.
func GoEmotionsTrain(dir string) ([]Labelled, error) {
	path := filepath.Join(dir, "sentiment-train", "goemotions_train.tsv")
	rows, err := readTSV(path, true, 2)
	if err != nil {
		return nil, err
	}
	out := make([]Labelled, 0, len(rows))
	for i, f := range rows {
		l, ok := parseLabel(f[0])
		if !ok {
			return nil, fmt.Errorf("%s: row %d: label %q is not a sentiment group", path, i+1, f[0])
		}
		out = append(out, Labelled{Lang: "en", Label: l, Text: f[1], Source: SourceGoEmotions})
	}
	return out, nil
}

// DedupKey is the text reduced for finding repeats across sets: letters and
// digits lower-cased, handles and links dropped, everything else removed.
func DedupKey(text string) string {
	var b strings.Builder
	for _, w := range strings.Fields(text) {
		if strings.HasPrefix(w, "@") || strings.HasPrefix(w, "http") {
			continue
		}
		for _, r := range strings.ToLower(w) {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127 {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

// HeldOut reports whether an English SemEval tweet belongs to earshot's own
// held-out split (about 1 in 10, chosen by a hash of its DedupKey, so the
// same tweet is held out wherever it appears). No model is trained or tuned
// on these tweets.
func HeldOut(text string) bool {
	h := fnv.New64a()
	h.Write([]byte("earshot-heldout/1:" + DedupKey(text)))
	return h.Sum64()%10 == 0
}

// Corpus is the sentiment training data split for training and reporting.
type Corpus struct {
	// Train: every row of xlmt_train, semeval and goemotions_train except
	// the held-out SemEval tweets and any row repeating one of them.
	Train []Labelled
	// SemEvalHeldOut: the held-out English SemEval tweets.
	SemEvalHeldOut []Labelled
	// Val: xlmt_val, except English rows that repeat a training text (the
	// data README: about 1,300 English xlmt rows repeat SemEval tweets).
	Val []Labelled
	// ValDropped counts the English xlmt_val rows left out as repeats.
	ValDropped int
}

// LoadCorpus reads sentiment-train and splits it.
func LoadCorpus(dir string) (*Corpus, error) {
	xt, err := XLMT(dir, "train")
	if err != nil {
		return nil, err
	}
	xv, err := XLMT(dir, "val")
	if err != nil {
		return nil, err
	}
	se, err := SemEval(dir)
	if err != nil {
		return nil, err
	}
	ge, err := GoEmotionsTrain(dir)
	if err != nil {
		return nil, err
	}
	c := &Corpus{}
	held := map[string]bool{}
	for _, x := range se {
		if HeldOut(x.Text) {
			k := DedupKey(x.Text)
			if !held[k] {
				held[k] = true
				c.SemEvalHeldOut = append(c.SemEvalHeldOut, x)
			}
		}
	}
	seen := map[string]bool{}
	for _, set := range [][]Labelled{xt, se, ge} {
		for _, x := range set {
			k := DedupKey(x.Text)
			if x.Lang == "en" && held[k] {
				continue
			}
			seen[k] = true
			c.Train = append(c.Train, x)
		}
	}
	for _, x := range xv {
		if x.Lang == "en" && seen[DedupKey(x.Text)] {
			c.ValDropped++
			continue
		}
		c.Val = append(c.Val, x)
	}
	return c, nil
}
