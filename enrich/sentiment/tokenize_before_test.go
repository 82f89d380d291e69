package sentiment

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/enrich/internal/evaldata"
)

// TestTokenizeAsBefore checks that tokenize (its ASCII path, the emoticon
// shape check, the idiom shape check) gives the tokens, lower-case words,
// lookups and '!'/'?' counts the former code below gives, on every text of
// the evaluation sets, the test posts and a few hard cases.
func TestTokenizeAsBefore(t *testing.T) {
	texts := append([]string{
		"", " ", "SOOOO gooood!!! :) :D :-( <3 :d. :P!! xD d: (:", "don't WON’T ‘quoted’ rock-n-roll -- well-- it's'",
		"ÉCOLE Straße ĞÜZEL İstanbul naïve café ÀÀÀÀ aaa AAAAA 111 a1a1", "kind of good, sort of bad; not only good but great…",
		"waste of money, highly recommend, can't stand it, fed up with it, no problems", "😡😡 👍🏽 ❤️ 🔥x #AcmeFail @acme https://t.co/x www.x.y",
		"a\xffb \xff\xfe ‚ „ '' '- -' ab'cd'ef", "the the the   \t\n\r tabs\u00a0nbsp\u2003em",
	}, fallbackPosts...)
	if d, err := evaldata.Dir(); err == nil {
		ge, err := evaldata.GoEmotionsDev(d)
		if err != nil {
			t.Fatalf("GoEmotionsDev: %v", err)
		}
		for _, c := range ge {
			texts = append(texts, c.Text)
		}
		for _, split := range []string{"val", "train"} {
			rows, err := evaldata.XLMT(d, split)
			if err != nil {
				t.Fatalf("XLMT %s: %v", split, err)
			}
			for _, r := range rows {
				texts = append(texts, r.Text)
			}
		}
		se, err := evaldata.SemEval(d)
		if err != nil {
			t.Fatalf("SemEval: %v", err)
		}
		for _, r := range se {
			texts = append(texts, r.Text)
		}
	}
	for _, s := range []*Scorer{Default(), SignalScorer()} {
		got, want := s.pool.New().(*scratch), s.pool.New().(*scratch)
		for _, text := range texts {
			ge, gq := s.tokenize(got, text)
			we, wq := s.refTokenize(want, text)
			same := ge == we && gq == wq && len(got.toks) == len(want.toks)
			for i := 0; same && i < len(got.toks); i++ {
				g, w := got.toks[i], want.toks[i]
				same = string(got.word(&g)) == string(want.word(&w))
				g.lo, g.hi, w.lo, w.hi = 0, 0, 0, 0
				same = same && g == w
			}
			if !same {
				t.Fatalf("tokenize(%q) = %d, %d, %+v; before: %d, %d, %+v", text, ge, gq, got.toks, we, wq, want.toks)
			}
		}
	}
	if len(texts) < 1000 {
		t.Logf("%d texts (shared data not found)", len(texts))
	}
}

// The former tokenizer, as it was before its ASCII path and shape checks.

func (s *Scorer) refTokenize(sc *scratch, text string) (exclaims, questions int) {
	sc.buf = sc.buf[:0]
	sc.toks = sc.toks[:0]
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if isSpace(r) {
			i += n
			continue
		}
		// One run of non-space runes; '!' and '?' are counted on the way
		// (a byte of a multi-byte rune is never ASCII).
		j := i
		for j < len(text) {
			c := text[j]
			if c < utf8.RuneSelf {
				if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
					break
				}
				if c == '!' {
					exclaims++
				} else if c == '?' {
					questions++
				}
				j++
				continue
			}
			r2, n2 := utf8.DecodeRuneInString(text[j:])
			if isSpace(r2) {
				break
			}
			j += n2
		}
		run := text[i:j]
		i = j
		if run[0] == '@' || hasURLPrefix(run) {
			continue
		}
		if s.refEmoticon(sc, run) {
			continue
		}
		s.refScanRun(sc, run)
	}
	s.refResolve(sc)
	return exclaims, questions
}

func (s *Scorer) refEmoticon(sc *scratch, run string) bool {
	if len(run) < 2 || len(run) > 12 {
		return false
	}
	if isAlnum(run) {
		return false
	}
	core := run
	for range 2 {
		// A run whose shape no emoticon has is not looked up.
		if s.emoShapes[core[0]]&(1<<len(core)) != 0 {
			if e, ok := s.lx.words[core]; ok && e.flags&fLex != 0 {
				lo := int32(len(sc.buf))
				sc.buf = append(sc.buf, core...)
				sc.toks = append(sc.toks, token{lo: lo, hi: int32(len(sc.buf)), kind: kEmo, e: entry{val: e.val, flags: fLex}})
				for k := len(core); k < len(run); k++ {
					sc.toks = append(sc.toks, token{kind: kPunct, punct: run[k]})
				}
				return true
			}
		}
		// Lower-case emoticons (":d") and a trailing full stop or bang.
		if core == run {
			core = strings.TrimRight(run, ".,!?")
			if core == run || len(core) < 2 || isAlnum(core) {
				return false
			}
		}
	}
	return false
}

func (s *Scorer) refScanRun(sc *scratch, run string) {
	inWord := false
	var cur token
	var upper, lower int
	var last rune
	repeat := 0
	end := func() {
		if !inWord {
			return
		}
		// Drop a trailing apostrophe or hyphen.
		for cur.hi > cur.lo && (sc.buf[cur.hi-1] == '\'' || sc.buf[cur.hi-1] == '-') {
			cur.hi--
		}
		sc.buf = sc.buf[:cur.hi]
		if cur.hi > cur.lo {
			cur.caps = upper >= 2 && lower == 0
			sc.toks = append(sc.toks, cur)
		}
		inWord = false
	}
	for k := 0; k < len(run); {
		r, n := utf8.DecodeRuneInString(run[k:])
		k += n
		switch {
		case r < utf8.RuneSelf && (r >= 'a' && r <= 'z' || r >= '0' && r <= '9') || r >= 'A' && r <= 'Z' ||
			r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)):
			if !inWord {
				inWord = true
				cur = token{lo: int32(len(sc.buf)), kind: kWord}
				upper, lower, last, repeat = 0, 0, 0, 0
			}
			lr := r
			if r >= 'A' && r <= 'Z' {
				lr = r + ('a' - 'A')
				upper++
			} else if r >= 'a' && r <= 'z' {
				lower++
			} else if r >= utf8.RuneSelf {
				if unicode.IsUpper(r) {
					upper++
					lr = unicode.ToLower(r)
				} else if unicode.IsLower(r) {
					lower++
				}
			}
			if lr == last && unicode.IsLetter(lr) {
				repeat++
				if repeat >= 2 {
					cur.elong = true
				}
			} else {
				repeat = 0
			}
			last = lr
			sc.buf = utf8.AppendRune(sc.buf, lr)
			cur.hi = int32(len(sc.buf))
		case inWord && (r == '\'' || r == '’' || r == '‘' || r == '-'):
			if r != '-' {
				r = '\''
			}
			sc.buf = append(sc.buf, byte(r))
			last, repeat = 0, 0
		case r == '.' || r == '!' || r == '?' || r == ',' || r == ';' || r == ':' || r == '…':
			end()
			p := byte(r)
			if r == '…' {
				p = '.'
			}
			sc.toks = append(sc.toks, token{kind: kPunct, punct: p})
		default:
			end()
			if v, ok := s.lx.emoji[r]; ok {
				sc.toks = append(sc.toks, token{kind: kEmo, e: entry{val: v, flags: fLex}})
			}
			// Skin tones, joiners, '#', '&' and other symbols carry nothing.
		}
	}
	end()
}

func (s *Scorer) refResolve(sc *scratch) {
	toks := sc.toks
	for i := range toks {
		t := &toks[i]
		if t.kind != kWord {
			continue
		}
		if e, ok := s.lookupRecent(sc, sc.word(t), t.elong); ok {
			t.e = e
		}
	}
	// Idioms: two to four consecutive words.
	for i := range toks {
		t := &toks[i]
		if t.kind != kWord || t.e.flags&fIdiom == 0 {
			continue
		}
		mark := len(sc.buf)
		sc.buf = append(sc.buf, sc.word(t)...)
		for k := i + 1; k < len(toks) && k < i+4 && toks[k].kind == kWord; k++ {
			sc.buf = append(sc.buf, ' ')
			sc.buf = append(sc.buf, sc.word(&toks[k])...)
			if v, ok := s.lx.idioms[string(sc.buf[mark:])]; ok {
				for d := i; d < k; d++ {
					toks[d].dead = true
					toks[d].e = entry{}
				}
				toks[k].e = entry{val: v, flags: fLex}
			}
		}
		sc.buf = sc.buf[:mark]
	}
	// "kind of" / "sort of" dampen what follows.
	for i := 0; i+1 < len(toks); i++ {
		w := sc.word(&toks[i])
		if toks[i].kind == kWord && toks[i+1].kind == kWord && (string(w) == "kind" || string(w) == "sort") &&
			string(sc.word(&toks[i+1])) == "of" {
			toks[i].e = entry{}
			toks[i+1].e = entry{boost: -boostIncr, flags: fBooster}
		}
	}
}
