package lang

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"unicode"
	"unicode/utf8"
)

// DefaultLanguages are the languages a detector expects when none are configured.
var DefaultLanguages = []string{"en", "es", "fr", "de", "pt", "it", "nl"}

// Tuning of the detector. They were set before the evaluation posts were
// scored and are not fitted to them.
const (
	// otherPrior is the log prior (nats) of a language outside the configured
	// list: such a language must win clearly to be reported.
	otherPrior = -4.0
	// minLetters is the least number of letters worth a guess.
	minLetters = 4
	// DefaultMinConfidence is the confidence below which Detect answers "".
	DefaultMinConfidence = 0.5
	// maxScan bounds the bytes of text examined: a long article is decided
	// by its beginning.
	maxScan = 2048
)

// ErrUnknownLanguage is returned for a configured code the detector cannot detect.
var ErrUnknownLanguage = errors.New("unsupported language")

// Detector tells the language of short texts. It scores every language of
// its n-gram table (derived from lingua-go's models, see internal/ngramgen)
// with a character trigram model; the configured languages are expected and
// any other must win clearly (by otherPrior), so a Polish post is reported
// as "pl" rather than forced into a configured language. Japanese, Korean
// and Chinese are told by script. Safe for concurrent use; Detect allocates
// nothing once warm.
type Detector struct {
	t       *table
	prior   [maxLangs]float32
	minConf float64
	pool    sync.Pool
}

// NewDetector builds a detector expecting the given ISO 639-1 codes (nil:
// DefaultLanguages) that answers "" below minConfidence (0: the default).
func NewDetector(languages []string, minConfidence float64) (*Detector, error) {
	t, err := loadTable()
	if err != nil {
		return nil, err
	}
	if languages == nil {
		languages = DefaultLanguages
	}
	if minConfidence == 0 {
		minConfidence = DefaultMinConfidence
	}
	d := &Detector{t: t, minConf: minConfidence}
	for i := range t.codes {
		d.prior[i] = otherPrior
	}
	var errs []error
	for _, c := range languages {
		if c == "ja" || c == "ko" || c == "zh" {
			continue // told apart by script
		}
		i := slices.Index(t.codes, c)
		if i < 0 {
			errs = append(errs, fmt.Errorf("%w: %q", ErrUnknownLanguage, c))
			continue
		}
		d.prior[i] = 0
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	d.pool.New = func() any { b := make([]byte, 0, maxScan+64); return &b }
	return d, nil
}

// Supported lists the codes a detector can report.
func Supported() []string {
	t, err := loadTable()
	if err != nil {
		return nil
	}
	return append(slices.Clone(t.codes), "ja", "ko", "zh")
}

var (
	defaultOnce sync.Once
	defaultDet  *Detector
)

// Detect tells the language of text with a detector for DefaultLanguages.
func Detect(text string) (code string, confidence float64) {
	defaultOnce.Do(func() {
		var err error
		if defaultDet, err = NewDetector(nil, 0); err != nil {
			panic("lang: " + err.Error())
		}
	})
	return defaultDet.Detect(text)
}

// Detect returns the ISO 639-1 code of text's language and a confidence in
// (0, 1], or "" and 0 when the text has too little evidence (no words, a
// handle and a link, "lol") or no language is clearly ahead.
func (d *Detector) Detect(text string) (code string, confidence float64) {
	if len(text) > maxScan {
		cut := maxScan
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	bp := d.pool.Get().(*[]byte)
	buf := Clean((*bp)[:0], text)
	code, confidence = d.detectClean(buf)
	*bp = buf
	d.pool.Put(bp)
	return code, confidence
}

func (d *Detector) detectClean(s []byte) (string, float64) {
	// Scripts that tell the language alone.
	var letters, kana, hangul, han int
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(s[i:])
		}
		i += n
		switch {
		case r < utf8.RuneSelf:
			if r >= 'a' && r <= 'z' {
				letters++
			}
		case unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r):
			kana++
			letters++
		case unicode.Is(unicode.Hangul, r):
			hangul++
			letters++
		case unicode.Is(unicode.Han, r):
			han++
			letters++
		case unicode.IsLetter(r):
			letters++
		}
	}
	if letters < minLetters && han+kana+hangul < 2 {
		return "", 0
	}
	if cjk := kana + hangul + han; cjk*2 >= letters {
		share := float64(cjk) / float64(letters)
		switch {
		case kana > 0:
			return "ja", share
		case hangul > 0:
			return "ko", share
		}
		return "zh", share
	}
	return d.score(s)
}

// score runs the character n-gram model over the words of s.
func (d *Detector) score(s []byte) (string, float64) {
	t := d.t
	nl := len(t.codes)
	var sum [maxLangs]float32
	var counts [3]int
	var w [3]rune // the last runes of the current word
	wn := 0       // runes of the current word so far
	for i := 0; i <= len(s); {
		var r rune
		n := 1
		if i < len(s) {
			r = rune(s[i])
			if r >= utf8.RuneSelf {
				r, n = utf8.DecodeRune(s[i:])
			}
		}
		i += n
		if r >= utf8.RuneSelf && unicode.IsMark(r) {
			continue // a combining accent of a decomposed letter
		}
		if r == 0 || r == ' ' || r == '\'' {
			wn = 0
			if r == 0 {
				break
			}
			continue
		}
		w[0], w[1], w[2] = w[1], w[2], r
		wn++
		var key uint64
		var order int
		switch {
		case wn == 1:
			key, order = uint64(r), 1
		case wn == 2:
			key, order = uint64(w[1])<<21|uint64(r), 2
		default:
			key, order = uint64(w[0])<<42|uint64(w[1])<<21|uint64(r), 3
		}
		counts[order-1]++
		v, ok := t.index.get(key)
		if !ok {
			continue
		}
		for _, p := range t.posts[v>>8 : v>>8+v&0xff] {
			sum[p.lang] += p.delta
		}
	}
	if counts[0] == 0 {
		return "", 0
	}
	best := 0
	for l := 0; l < nl; l++ {
		sum[l] += float32(counts[0])*t.floor[0][l] + float32(counts[1])*t.floor[1][l] +
			float32(counts[2])*t.floor[2][l] + d.prior[l]
		if sum[l] > sum[best] {
			best = l
		}
	}
	// Posterior of the best language under the model (uniform over the
	// rest of the table, with the configured prior).
	var z float64
	for l := 0; l < nl; l++ {
		z += math.Exp(float64(sum[l] - sum[best]))
	}
	conf := 1 / z
	if conf < d.minConf {
		return "", 0
	}
	return t.codes[best], conf
}
