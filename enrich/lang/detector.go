package lang

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// DefaultLanguages are the languages a detector expects when none are configured.
var DefaultLanguages = []string{"en", "es", "fr", "de", "pt", "it", "nl", "ar", "hi"}

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
	maxScan = 512
	// backoffPenalty (nats) is the cost of each step from a missing n-gram
	// to the shorter one (stupid backoff's factor 0.4).
	backoffPenalty = 0.92
	// latinPenalty (nats per rune) offsets the romanised-Hindi table's
	// sharper estimates (a few thousand tweets against lingua's corpora);
	// chosen on xlmt_train rows that did not build the table.
	latinPenalty = 0.5
	// DeclaredPrior (nats) is the head start of the language the platform
	// declared.
	DeclaredPrior = 3.0
	// DeclaredOnlyConfidence is the confidence given to a declared language
	// on text too short to tell (not measured: platforms' declarations are
	// themselves detections, usually right).
	DeclaredOnlyConfidence = 0.5
	// temperature divides the model's log-probabilities before the
	// posterior: character n-gram probabilities are not independent, so
	// the raw posterior is over-confident (see README, calibration).
	temperature = 1.5
	// safeMargin is the tempered lead (best language over every other,
	// and over the declared language with its head start) past which the
	// scorer stops reading: the posterior is then within
	// (languages-1)*e^-safeMargin (under 1e-6) of 1.
	safeMargin = 20
	// chunkBytes, minChunks and stopMinRunes: the scan is read in chunks
	// of about chunkBytes spread over it (see Detector.read), and the lead
	// is checked after each from the minChunks-th on, once stopMinRunes
	// runes are read. With these, stopping early gave the whole scan's
	// answer on every xlmt_train tweet and ~1 KB text of joined tweets;
	// 64-byte chunks or 2-3 chunks read less but changed 1-20 answers
	// of 2,936 texts (code-switched Hindi and English), chosen there.
	chunkBytes   = 48
	minChunks    = 4
	stopMinRunes = 48
	// shortLetters: a text of at most this many letters is scored with
	// 4- and 5-grams too; longer ones with trigrams only, as before them
	// (on xlmt_train rows the whole tweets' accuracy stopped rising at
	// 48-64 letters, and each longer order costs a probe per letter).
	shortLetters = 64
	// longGate: on a short text the trigrams are scored first, and the 4-
	// and 5-grams are added only when the trigrams' answer has a
	// confidence below longGate (without a declared language, and, when
	// one is declared, with it too). Chosen on xlmt_train rows (see README,
	// "Short texts: the 4- and 5-grams only when needed").
	longGate = 0.9
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
	temp    float64 // temperature (a field so calibration tests can vary it)
	stop    float64 // safeMargin (a field so tests can turn early stopping off: 0)
	short   int     // shortLetters (a field so tests can turn 4- and 5-grams off: -1)
	gate    float64 // longGate (a field so tests can vary it; 0: the former single pass)
	pool    sync.Pool
	// ref, when set (by tests), tallies words instead of tallyWords: the
	// equality tests run the previous scorer through it.
	ref func(d *Detector, a *tally, s []byte, top int)
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
	d := &Detector{t: t, minConf: minConfidence, temp: temperature, stop: safeMargin, short: shortLetters, gate: longGate}
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
	r := d.Resolve(text, "")
	return r.Detected, r.DetectedConfidence
}

// Result is a language decision: from the text alone, and resolved with the
// language the platform declared as a prior.
type Result struct {
	Detected           string  // from the text alone; "" undetermined
	DetectedConfidence float64 // 0 when Detected is ""
	Lang               string  // resolved: what to group by; "" undetermined
	Confidence         float64 // of Lang
}

// Resolve detects the language of text and resolves it with declared, the
// language the platform declared ("", "en", "pt-BR", "und"): the declared
// language gets a prior of DeclaredPrior nats over the others, so it wins
// unless the text clearly says otherwise; on text too short to tell, the
// declared language is the answer (with confidence DeclaredOnlyConfidence).
func (d *Detector) Resolve(text, declared string) Result {
	if len(text) > maxScan {
		cut := maxScan
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut]
	}
	decl := NormalizeDeclared(declared)
	di := -1
	if decl != "" {
		di = slices.Index(d.t.codes, decl)
	}
	bp := d.pool.Get().(*[]byte)
	buf := Clean((*bp)[:0], text)
	r := d.detectClean(buf, di)
	*bp = buf
	d.pool.Put(bp)
	if r.Lang == "" && decl != "" {
		r.Lang, r.Confidence = decl, DeclaredOnlyConfidence
	}
	return r
}

// NormalizeDeclared reduces a platform's language tag to its ISO 639-1 part
// ("pt-BR" -> "pt"); tags that name no language ("und", "qme", "") give "".
func NormalizeDeclared(tag string) string {
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	if len(tag) != 2 {
		return ""
	}
	tag = strings.ToLower(tag)
	if tag[0] < 'a' || tag[0] > 'z' || tag[1] < 'a' || tag[1] > 'z' {
		return ""
	}
	return tag
}

func (d *Detector) detectClean(s []byte, declared int) Result {
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
		return Result{}
	}
	if cjk := kana + hangul + han; cjk*2 >= letters {
		share := float64(cjk) / float64(letters)
		code := "zh"
		switch {
		case kana > 0:
			code = "ja"
		case hangul > 0:
			code = "ko"
		}
		return Result{Detected: code, DetectedConfidence: share, Lang: code, Confidence: share}
	}
	top := 3
	if letters <= d.short {
		top = maxOrder
	}
	return d.score(s, declared, top)
}

// tally is the scorer's running sums over the words read so far.
type tally struct {
	sum    [maxLangs]float32 // per language, without the floors and priors
	counts [maxOrder]int     // n-grams read, by order
	penSum float32           // the floors' backoff penalties over all runes
}

// runes is the number of runes read (an n-gram ends at each).
func (a *tally) runes() int {
	n := 0
	for _, c := range a.counts {
		n += c
	}
	return n
}

// score runs the character n-gram model over the words of s. The score is
// a sum over words, so the words may be read in any order: s is read in
// chunks of about chunkBytes, in an order that spreads them over the text
// (its beginning, its middle, then the quarters, ...), and reading stops
// once the best language's lead is safe (see safeMargin), after at least
// minChunks chunks: the words read then sample the whole scan, not just
// its beginning, so a text that opens with a line in another language is
// still decided by most of it.
func (d *Detector) score(s []byte, declared, top int) Result {
	var a tally
	long := top > 3 && d.gate > 0
	if long {
		top = 3 // the 4- and 5-grams only if the trigrams are unsure
	}
	whole := d.read(&a, s, declared, top)
	if a.counts[0] == 0 {
		return Result{}
	}
	r, sure := d.result(&a, declared)
	if !long || !whole || sure >= d.gate {
		return r // a text read only in part was stopped safe: sure
	}
	d.tallyLong(&a, s)
	r, _ = d.result(&a, declared)
	return r
}

// result is the answer on a's words, and the lower of the confidences
// without and with the declared language (before the minimum confidence).
func (d *Detector) result(a *tally, declared int) (Result, float64) {
	t := d.t
	nl := len(t.codes)
	sum := a.sum
	runes := float32(a.runes())
	for l := 0; l < nl; l++ {
		sum[l] += runes*t.floor[0][l] - a.penSum
	}
	for l := 0; l < nl; l++ {
		sum[l] += d.prior[l]
	}
	var r Result
	best, sure := d.posteriorOf(&sum, nl, -1)
	r.Detected, r.DetectedConfidence = d.answer(best, sure)
	r.Lang, r.Confidence = r.Detected, r.DetectedConfidence
	if declared >= 0 {
		b, c := d.posteriorOf(&sum, nl, declared)
		r.Lang, r.Confidence = d.answer(b, c)
		sure = min(sure, c)
	}
	return r, sure
}

// read tallies the words of s, in chunks spread over it, until the lead
// is safe (see score). Reading stops only while every chunk read alone
// prefers the same language: a text whose parts disagree (a quote, a
// code-switched post) is read to the end of the scan.
//
// It reports whether it read all of s.
func (d *Detector) read(a *tally, s []byte, declared, top int) bool {
	n := (len(s) + chunkBytes - 1) / chunkBytes
	if d.stop == 0 || n <= minChunks {
		d.tally(a, s, top)
		return true
	}
	p, bits := 1, 0
	for p < n {
		p <<= 1
		bits++
	}
	nl := len(d.t.codes)
	read, first, agree := 0, -1, true
	for i := 0; i < p; i++ {
		k := int(reverseBits(uint(i), bits))
		if k >= n {
			continue
		}
		chunk := s[wordStart(s, k*chunkBytes):wordStart(s, (k+1)*chunkBytes)]
		if !agree {
			d.tally(a, chunk, top)
			continue
		}
		var c tally
		d.tally(&c, chunk, top)
		w := d.best(&c)
		for l := 0; l < nl; l++ {
			a.sum[l] += c.sum[l]
		}
		for o := range a.counts {
			a.counts[o] += c.counts[o]
		}
		a.penSum += c.penSum
		read++
		if first < 0 {
			first = w
		}
		if agree = w == first; !agree {
			continue
		}
		if runes := a.runes(); read >= minChunks && runes >= stopMinRunes &&
			d.safe(&a.sum, runes, a.penSum, declared) {
			return false
		}
	}
	return true
}

// best is the language with the highest score on a's words alone (-1 when
// a holds no word).
func (d *Detector) best(a *tally) int {
	t := d.t
	runes := float32(a.runes())
	if runes == 0 {
		return -1
	}
	bi, bv := -1, float32(math.Inf(-1))
	for l := range t.codes {
		if v := a.sum[l] + runes*t.floor[0][l] - a.penSum + d.prior[l]; v > bv {
			bi, bv = l, v
		}
	}
	return bi
}

// wordStart is the start of the first word at or after i in s (len(s)
// past its end): the first byte after a space, or i itself at 0.
func wordStart(s []byte, i int) int {
	if i <= 0 {
		return 0
	}
	if i >= len(s) {
		return len(s)
	}
	for i < len(s) && s[i-1] != ' ' {
		i++
	}
	return i
}

// reverseBits reverses the low bits of i.
func reverseBits(i uint, bits int) uint {
	var r uint
	for range bits {
		r = r<<1 | i&1
		i >>= 1
	}
	return r
}

// tally adds the n-grams of the words of s to a (see tallyWords).
func (d *Detector) tally(a *tally, s []byte, top int) {
	if d.ref != nil {
		c := new(tally) // a copy, so a does not escape (Detect allocates nothing)
		*c = *a
		d.ref(d, c, s, top)
		*a = *c
		return
	}
	d.tallyWords(a, s, top)
}

// tallyWords adds the n-grams of the words of s (which starts at a word's
// start), of orders up to top, to a.
func (d *Detector) tallyWords(a *tally, s []byte, top int) {
	t := d.t
	sum := &a.sum
	var w [maxOrder]rune // the last runes of the current word, w[4] the latest
	wn := 0              // runes of the current word so far
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(s[i:])
		}
		i += n
		if r >= utf8.RuneSelf && unicode.IsMark(r) {
			continue // a combining accent of a decomposed letter
		}
		if r == ' ' || r == '\'' {
			wn = 0
			continue
		}
		w[0], w[1], w[2], w[3], w[4] = w[1], w[2], w[3], w[4], r
		wn++
		order := min(wn, top)
		a.counts[order-1]++
		// The n-gram's log-probability per language, backing off to the
		// shorter n-gram ending at the same rune when a language's table
		// lacks it (each step back costs backoffPenalty): a table keeps
		// only each language's most frequent n-grams, so a missing trigram
		// says little, and the bare floor would let small, flat tables
		// (Danish, Welsh, Zulu) win texts with rare words or brand names.
		// Every language is first given the floor for this rune (added for
		// all runes at once by score); a language with the n-gram, or a
		// shorter one, gets the difference.
		floorPen := backoffPenalty * float32(order-1)
		a.penSum += floorPen
		// A posting's rel is what its language gains over its floor (the
		// backoff steps are counted in floorPen), and a bigram's or
		// trigram's rel is relative to the language's n-gram one order
		// down (see table.chain): adding the rune's unigram, bigram and
		// trigram postings leaves each language with its longest n-gram.
		hi0 := sum[t.hi]
		lat := [3]float32{noLatin, noLatin, noLatin} // romanised Hindi, by order
		key := uint64(r)
		for o := 1; o <= order; o++ {
			switch o {
			case 2:
				key |= uint64(w[3]) << 21
			case 3:
				key |= uint64(w[2]) << 42
			case 4:
				key = extendKey(key, w[1])
			case 5:
				key = extendKey(key, w[0])
			}
			var v uint32
			if o >= 4 {
				var ok bool
				if v, ok = t.lidx.get(key); !ok {
					break // no 5-gram has this 4-gram as its suffix (see table.long)
				}
			} else {
				sl := t.index.find(key)
				if sl == nil {
					if o == 3 {
						break // no longer n-gram has this one as its suffix (see table.long)
					}
					continue
				}
				lat[o-1] = sl.lat
				v = sl.val
			}
			rel := t.prel[v>>8 : v>>8+v&0xff]
			lg := t.plang[v>>8:][:len(rel)]
			for i, x := range rel {
				sum[lg[i]] += x // in the postings' order, as before the split: bit-identical sums
			}
		}
		// Hindi scores the text as Devanagari (lingua's model) or as
		// romanised Hindi, whichever the rune is written in.
		if r < 0x900 || r > 0x97f {
			// What Hindi's table gave this rune: the floor, raised by
			// what the loop above added.
			hiVal := t.floor[0][t.hi] - floorPen + sum[t.hi] - hi0
			sum[t.hi] += t.latinLogP(&lat, order) - latinPenalty - hiVal
		}
	}
}

// tallyLong adds to a, which holds the n-grams of s up to trigrams (see
// tallyWords), what the 4- and 5-grams change: on each rune that ends one,
// the backoff steps from the longer order and the 4- and 5-gram postings,
// which are relative to the language's trigram (see table.chainLong). The
// result is the tally of s with top maxOrder, up to the order of the float
// additions. Romanised Hindi, scored on a 4- or 5-gram as on its trigram,
// keeps its score.
func (d *Detector) tallyLong(a *tally, s []byte) {
	t := d.t
	sum := &a.sum
	var w [maxOrder]rune
	wn := 0
	for i := 0; i < len(s); {
		r, n := rune(s[i]), 1
		if r >= utf8.RuneSelf {
			r, n = utf8.DecodeRune(s[i:])
		}
		i += n
		if r >= utf8.RuneSelf && unicode.IsMark(r) {
			continue
		}
		if r == ' ' || r == '\'' {
			wn = 0
			continue
		}
		w[0], w[1], w[2], w[3], w[4] = w[1], w[2], w[3], w[4], r
		wn++
		if wn < 4 {
			continue
		}
		order := min(wn, maxOrder)
		a.counts[2]--
		a.counts[order-1]++
		extra := backoffPenalty * float32(order-3)
		a.penSum += extra
		hi0 := sum[t.hi]
		// A 4-gram is kept only with its trigram suffix (see table.long):
		// probing it without the trigram finds what tallyWords finds.
		key := uint64(r) | uint64(w[3])<<21 | uint64(w[2])<<42
		for o := 4; o <= order; o++ {
			key = extendKey(key, w[5-o])
			v, ok := t.lidx.get(key)
			if !ok {
				break
			}
			rel := t.prel[v>>8 : v>>8+v&0xff]
			lg := t.plang[v>>8:][:len(rel)]
			for i, x := range rel {
				sum[lg[i]] += x
			}
		}
		if r < 0x900 || r > 0x97f {
			sum[t.hi] = hi0 + extra
		}
	}
}

// safe reports whether the best language leads every other (and the
// declared language, given DeclaredPrior) by at least d.stop tempered nats,
// on the scores so far (sum without the floors and priors, which are added
// here as score adds them at the end).
func (d *Detector) safe(sum *[maxLangs]float32, runes int, penSum float32, declared int) bool {
	t := d.t
	total := func(l int) float32 { return sum[l] + float32(runes)*t.floor[0][l] - penSum + d.prior[l] }
	best, second := float32(math.Inf(-1)), float32(math.Inf(-1))
	bi := -1
	for l := range t.codes {
		switch v := total(l); {
		case v > best:
			best, second, bi = v, best, l
		case v > second:
			second = v
		}
	}
	need := float32(d.stop * d.temp)
	if best-second < need {
		return false
	}
	return declared < 0 || declared == bi || best-(total(declared)+DeclaredPrior) >= need
}

// posteriorOf returns the best language of the scores and its posterior
// probability (the scores are log-likelihoods plus log-priors, tempered by
// temperature), with DeclaredPrior added to language boost (-1: none).
func (d *Detector) posteriorOf(sum *[maxLangs]float32, nl, boost int) (int, float64) {
	score := func(l int) float64 {
		v := float64(sum[l])
		if l == boost {
			v += DeclaredPrior
		}
		return v / d.temp
	}
	best := 0
	for l := 1; l < nl; l++ {
		if score(l) > score(best) {
			best = l
		}
	}
	var z float64
	sb := score(best)
	for l := 0; l < nl; l++ {
		// A language 40 nats behind adds less than 1e-17 to z: skip its exp.
		if d := score(l) - sb; d > -40 {
			z += math.Exp(d)
		}
	}
	return best, 1 / z
}

// answer is language best's code and conf, or "" below the minimum
// confidence.
func (d *Detector) answer(best int, conf float64) (string, float64) {
	if conf < d.minConf {
		return "", 0
	}
	return d.t.codes[best], conf
}
