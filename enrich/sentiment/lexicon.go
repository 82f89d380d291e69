package sentiment

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jonreiter/govader/data"
)

// VADER's empirically derived constants (Hutto & Gilbert 2014).
const (
	boostIncr     = 0.293 // booster word ("very", "extremely")
	capsIncr      = 0.733 // a word in ALL CAPS among mixed-case words
	negScalar     = -0.74 // a negated valence is multiplied by this
	neverScale    = 1.25  // "never so good"
	alpha         = 15.0  // normalisation: x / sqrt(x² + alpha)
	exclaimIncr   = 0.292 // per '!' (at most 4)
	questionIncr  = 0.18  // per '?' when 2 or 3
	questionMax   = 0.96  // more than 3 '?'
	butBefore     = 0.5   // words before a contrast in its sentence
	butAfter      = 1.5   // words after it
	maxExclaims   = 4
	booster2Scale = 0.95
	booster3Scale = 0.9
)

// entry flags.
const (
	fLex       uint8 = 1 << iota // val is a lexicon valence
	fBooster                     // boost is an intensifier/dampener
	fNegator                     // negates what follows
	fContrast                    // "but", "however": shifts weight to what follows
	fConcede                     // "although", "though": shifts weight away from its own clause
	fPostBoost                   // "af": intensifies the word before it
	fIdiom                       // first word of a multi-word expression
)

type entry struct {
	val   float64
	boost float64
	flags uint8
}

// lexicon is every table the scorer looks up, merged so one map lookup
// answers for a token.
type lexicon struct {
	words  map[string]entry
	emoji  map[rune]float64
	idioms map[string]float64 // multi-word expressions, space-joined lower case
}

// negators from VADER plus common social-media spellings.
var negators = []string{
	"aint", "arent", "cannot", "cant", "couldnt", "darent", "didnt", "doesnt",
	"ain't", "aren't", "can't", "couldn't", "daren't", "didn't", "doesn't",
	"dont", "hadnt", "hasnt", "havent", "isnt", "mightnt", "mustnt", "neither",
	"don't", "hadn't", "hasn't", "haven't", "isn't", "mightn't", "mustn't",
	"neednt", "needn't", "never", "none", "nope", "nor", "not", "nothing", "nowhere",
	"oughtnt", "shant", "shouldnt", "uhuh", "wasnt", "werent",
	"oughtn't", "shan't", "shouldn't", "uh-uh", "wasn't", "weren't",
	"without", "wont", "wouldnt", "won't", "wouldn't", "rarely", "seldom", "despite",
	// additions
	"nobody", "nah", "dnt", "dosent", "doesen't", "isn't", "wont", "havnt",
}

// boosters from VADER; positive values intensify, negative ones dampen.
var boosters = map[string]float64{
	"absolutely": boostIncr, "amazingly": boostIncr, "awfully": boostIncr,
	"completely": boostIncr, "considerable": boostIncr, "considerably": boostIncr,
	"decidedly": boostIncr, "deeply": boostIncr, "effing": boostIncr, "enormous": boostIncr, "enormously": boostIncr,
	"entirely": boostIncr, "especially": boostIncr, "exceptional": boostIncr, "exceptionally": boostIncr,
	"extreme": boostIncr, "extremely": boostIncr,
	"fabulously": boostIncr, "flipping": boostIncr, "flippin": boostIncr, "frackin": boostIncr, "fracking": boostIncr,
	"fricking": boostIncr, "frickin": boostIncr, "frigging": boostIncr, "friggin": boostIncr, "fully": boostIncr,
	"fuckin": boostIncr, "fucking": boostIncr, "fuggin": boostIncr, "fugging": boostIncr,
	"greatly": boostIncr, "hella": boostIncr, "highly": boostIncr, "hugely": boostIncr,
	"incredible": boostIncr, "incredibly": boostIncr, "intensely": boostIncr,
	"major": boostIncr, "majorly": boostIncr, "more": boostIncr, "most": boostIncr, "particularly": boostIncr,
	"purely": boostIncr, "quite": boostIncr, "really": boostIncr, "remarkably": boostIncr,
	"so": boostIncr, "substantially": boostIncr,
	"thoroughly": boostIncr, "total": boostIncr, "totally": boostIncr, "tremendous": boostIncr, "tremendously": boostIncr,
	"uber": boostIncr, "unbelievably": boostIncr, "unusually": boostIncr, "utter": boostIncr, "utterly": boostIncr,
	"very":   boostIncr,
	"almost": -boostIncr, "barely": -boostIncr, "hardly": -boostIncr,
	"kinda": -boostIncr, "kindof": -boostIncr, "kind-of": -boostIncr,
	"less": -boostIncr, "little": -boostIncr, "marginal": -boostIncr, "marginally": -boostIncr,
	"occasional": -boostIncr, "occasionally": -boostIncr, "partly": -boostIncr,
	"scarce": -boostIncr, "scarcely": -boostIncr, "slight": -boostIncr, "slightly": -boostIncr, "somewhat": -boostIncr,
	"sorta": -boostIncr, "sortof": -boostIncr, "sort-of": -boostIncr,
	// social-media additions
	"rly": boostIncr, "realy": boostIncr, "soo": boostIncr, "sooo": boostIncr, "super": boostIncr,
	"mega": boostIncr, "hecka": boostIncr, "highkey": boostIncr, "mad": boostIncr,
	"lowkey": -boostIncr, "fairly": -boostIncr, "mildly": -boostIncr, "rather": -boostIncr,
	// Words that intensify the valenced word after them but carry their own
	// valence otherwise ("terribly funny" vs "it went terribly").
	"terribly": boostIncr, "insanely": boostIncr, "ridiculously": boostIncr,
	"crazy": boostIncr, "damn": boostIncr, "wicked": boostIncr, "freaking": boostIncr,
	"freakin": boostIncr, "bloody": boostIncr, "real": boostIncr, "dead": boostIncr,
	"seriously": boostIncr, "pretty": boostIncr / 2, "way": boostIncr, "too": boostIncr,
}

// droppedCodes are VADER lexicon entries that are mostly something else in
// real text (initials, units, abbreviations).
var droppedCodes = map[string]bool{
	"l": true, "bl": true, "bz": true, "dx": true, "ff": true, "gt": true, "jj": true, "jp": true,
	"jt": true, "jw": true, "ly": true, "nh": true, "po": true, "pu": true, "qq": true, "qt": true,
	"tx": true, "wd": true, "wp": true,
}

// slang valences on VADER's -4…+4 scale for words its lexicon lacks. They are
// set by hand from the words' usual meaning on social media, not learned.
var slang = map[string]float64{
	"luv": 2.5, "luvs": 2.5, "ilysm": 3.0, "tysm": 2.2, "thx": 1.5, "thanx": 1.5, "thnx": 1.5,
	"thankyou": 2.0, "gud": 1.9, "noice": 1.8, "kewl": 1.3, "dope": 2.0, "lit": 1.8,
	"yas": 2.0, "yaas": 2.0, "bussin": 2.0, "goated": 2.5, "fave": 2.0, "faves": 2.0,
	"stan": 1.5, "slay": 1.5, "slayed": 1.8, "slaps": 1.5, "w00t": 2.2, "woot": 2.2,
	"garbage": -1.5, "trash": -1.5, "trashy": -2.0, "cringe": -1.8, "cringy": -1.8, "cringey": -1.8,
	"mid": -1.0, "sus": -0.8, "fml": -2.5, "ffs": -2.0, "stfu": -2.5, "gtfo": -2.0,
	"smdh": -1.5, "yikes": -1.5, "oof": -1.0, "ripoff": -2.5, "scammed": -2.5, "scammers": -2.5,
	"meh": -0.8, "ugh": -1.8, "ughh": -1.8, "bleh": -1.2, "blah": -0.6, "wack": -1.5, "whack": -1.0,
	"ick": -1.5, "eww": -1.8, "ew": -1.5, "smh": -1.3, "facepalm": -1.5, "broke": -1.3,
	"unusable": -2.3,
	// VADER boosters with no valence of their own ("an incredible cast").
	"incredible": 2.5, "exceptional": 2.5, "tremendous": 2.0, "overpriced": -1.8, "buggy": -1.8, "laggy": -1.6,
}

// extraIdioms are multi-word expressions; VADER's lexicon also holds a few
// ("can't stand", "fed up") that its word-by-word matching never reaches.
var extraIdioms = map[string]float64{
	"the shit": 3, "the bomb": 3, "bad ass": 1.5, "yeah right": -2, "kiss of death": -1.5,
	"to die for": 3, "cut the mustard": 2, "hand to mouth": -2, "back handed": -2,
	"blow smoke": -2, "blowing smoke": -2, "upper hand": 1, "break a leg": 2,
	"cooking with gas": 2, "on the ball": 2,
	"under the weather": -2,
	"waste of time":     -2.5, "waste of money": -2.8, "not worth": -1.8, "not bad": 1.2,
	"not too bad": 1.2, "no problem": 1.5, "no problems": 1.5, "no worries": 1.5, "no doubt": 1.2,
	"no wonder": 0.3, "no comment": -0.3, "no complaints": 1.5, "no issues": 1.3,
	"fell asleep": -1.5, "falls apart": -2.0, "fell apart": -2.0, "stopped working": -2.2,
	"piece of junk": -2.8, "piece of crap": -3.0, "must see": 2.2, "must-see": 2.2,
	"highly recommend": 2.8, "would recommend": 2.0, "do not recommend": -2.5,
	"don't recommend": -2.5, "wouldn't recommend": -2.5, "would not recommend": -2.5,
	"works great": 2.6, "works fine": 1.6, "as advertised": 1.3, "love it": 3.2,
	"thumbs up": 1.8, "thumbs down": -1.8, "let down": -1.8, "letdown": -1.8,
}

// emojiOverride corrects emoji whose VADER description scores misleadingly
// ("fire" is negative in the lexicon; "thumbs up" scores 0). Hand-set from the
// emoji's usual use, on the -4…+4 scale.
var emojiOverride = map[rune]float64{
	'😂': 1.6, '🤣': 1.8, '😭': -0.6, '💀': 0.3, '🙄': -1.6, '🔥': 1.6, '👍': 1.6, '👎': -1.8,
	'💯': 1.5, '🤡': -1.2, '🤮': -2.5, '🤢': -2.0, '😡': -2.5, '🤬': -3.0, '😠': -2.2, '😤': -1.3,
	'🙏': 1.0, '❤': 2.6, '♥': 2.4, '💕': 2.6, '💖': 2.6, '💗': 2.6, '💙': 2.2, '💚': 2.2, '💜': 2.2,
	'🧡': 2.2, '💛': 2.2, '🖤': 1.0, '💔': -2.5, '🎉': 2.0, '🥳': 2.5, '✨': 1.0, '🥰': 3.0,
	'😍': 2.8, '😘': 2.4, '😊': 2.2, '🙂': 0.9, '🙃': -0.3, '😉': 1.0, '😏': 0.3, '😅': 0.6,
	'😒': -1.5, '😑': -0.9, '😐': -0.4, '😬': -0.9, '😩': -1.6, '😫': -1.6, '😢': -2.0, '😞': -1.9,
	'😔': -1.6, '😟': -1.5, '😕': -1.2, '🙁': -1.5, '☹': -1.8, '😖': -1.8, '😣': -1.5, '😓': -1.2,
	'🤦': -1.5, '🤷': -0.2, '🤔': -0.1, '👏': 1.6, '🙌': 2.0, '💪': 1.5, '🏆': 2.0, '⭐': 1.5,
	'🌟': 1.8, '✅': 1.2, '❌': -1.4, '⚠': -0.8, '😱': -1.6, '😨': -1.8, '😰': -1.8, '😳': -0.4,
	'🥺': -0.3, '🥹': 1.2, '😀': 2.0, '😃': 2.2, '😄': 2.2, '😁': 2.2, '😆': 2.0, '😎': 1.8,
	'🤩': 3.0, '😋': 2.0, '🤗': 2.2, '😇': 1.8, '👌': 1.4, '🤝': 1.2, '💩': -2.0, '🖕': -3.0,
	'😴': -0.6, '🥱': -1.0, '😷': -1.2, '🤒': -1.5, '🤕': -1.5, '😪': -0.9, '😮': 0.0, '😯': 0.0,
}

// skippedRunes are joiners and modifiers inside emoji sequences.
func skippedRune(r rune) bool {
	return r == 0xFE0F || r == 0xFE0E || r == 0x200D || (r >= 0x1F3FB && r <= 0x1F3FF)
}

func buildLexicon() (*lexicon, error) {
	lx := &lexicon{
		words:  make(map[string]entry, 8192),
		emoji:  make(map[rune]float64, 2048),
		idioms: make(map[string]float64, 64),
	}
	var phrases []string
	raw, err := data.Asset("rawdata/vaderLexicon.txt")
	if err != nil {
		return nil, fmt.Errorf("load vader lexicon: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return nil, fmt.Errorf("vader lexicon %q: %w", f[0], err)
		}
		w := f[0]
		if isDigits(w) || droppedCodes[w] {
			// "143", "187", "86", "l", "po": chat codes that are mostly
			// numbers, initials or abbreviations in real text.
			continue
		}
		if strings.Contains(w, " ") {
			lx.idioms[w] = v
			phrases = append(phrases, w)
			continue
		}
		e := lx.words[w]
		e.val, e.flags = v, e.flags|fLex
		lx.words[w] = e
	}
	for w, v := range slang {
		if _, ok := lx.words[w]; !ok {
			lx.words[w] = entry{val: v, flags: fLex}
		}
	}
	for w, b := range boosters {
		e := lx.words[w]
		e.boost, e.flags = b, e.flags|fBooster
		lx.words[w] = e
	}
	for _, w := range negators {
		e := lx.words[w]
		e.flags |= fNegator
		lx.words[w] = e
	}
	for _, w := range []string{"but", "however", "nevertheless", "nonetheless"} {
		e := lx.words[w]
		e.flags |= fContrast
		lx.words[w] = e
	}
	for _, w := range []string{"although", "though", "tho", "whilst", "eventhough"} {
		e := lx.words[w]
		e.flags |= fConcede
		lx.words[w] = e
	}
	for _, w := range []string{"af", "asf"} {
		e := lx.words[w]
		e.flags |= fPostBoost
		e.boost = boostIncr * 2
		lx.words[w] = e
	}
	for p, v := range extraIdioms {
		lx.idioms[p] = v
		phrases = append(phrases, p)
	}
	for _, p := range phrases {
		first, _, _ := strings.Cut(p, " ")
		e := lx.words[first]
		e.flags |= fIdiom
		lx.words[first] = e
	}

	emo, err := data.Asset("rawdata/emojiUTF8Lexicon.txt")
	if err != nil {
		return nil, fmt.Errorf("load vader emoji lexicon: %w", err)
	}
	sc = bufio.NewScanner(bytes.NewReader(emo))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 2 {
			continue
		}
		r, n := utf8.DecodeRuneInString(f[0])
		if n != len(f[0]) || r == utf8.RuneError {
			continue // multi-rune sequences: scored by their first rune
		}
		// An emoji's valence is that of the words of its description, as VADER scores them.
		var v float64
		for _, w := range strings.Fields(strings.ToLower(f[1])) {
			if e, ok := lx.words[strings.Trim(w, ",:")]; ok && e.flags&fLex != 0 && e.flags&fBooster == 0 {
				v += e.val
			}
		}
		if v != 0 {
			lx.emoji[r] = v
		}
	}
	for r, v := range emojiOverride {
		lx.emoji[r] = v
	}
	return lx, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// LexiconWords calls f for every single word of the lexicon that carries a
// valence (VADER's -4 … 4 scale, with earshot's additions); the trainer
// uses them as one-word examples.
func (s *Scorer) LexiconWords(f func(word string, valence float64)) {
	for w, e := range s.lx.words {
		if e.flags&fLex != 0 && !strings.Contains(w, " ") {
			f(w, e.val)
		}
	}
}
