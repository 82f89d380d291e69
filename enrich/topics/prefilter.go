package topics

import (
	"strings"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/enrich/topics/query"
)

// anchors returns a set of keys at least one of which occurs in every
// mention n matches, with a selectivity score (higher is rarer), or ok ==
// false when there is no such set (n can match on a NOT or a field value).
func (m *Matcher) anchors(n *node) (keys []int32, score float64, ok bool) {
	switch n.kind {
	case kKey:
		return []int32{n.key}, m.keyScore(n.key), true
	case kPhrase:
		k := n.elems[n.anchor]
		return []int32{k}, m.keyScore(k), true
	case kAnd, kNear:
		// Any one operand's anchors will do: take the most selective.
		for _, x := range n.kids {
			k, s, kok := m.anchors(x)
			if kok && (!ok || s > score || s == score && len(k) < len(keys)) {
				keys, score, ok = k, s, true
			}
		}
		return keys, score, ok
	case kOr:
		score = 1e9
		for _, x := range n.kids {
			k, s, kok := m.anchors(x)
			if !kok {
				return nil, 0, false
			}
			keys = append(keys, k...)
			score = min(score, s)
		}
		return keys, score, len(keys) > 0
	}
	return nil, 0, false
}

func (m *Matcher) keyScore(k int32) float64 { return keyScore(m.keys[k]) }

// keyScore estimates how rare a key is: longer words are rarer, tags and
// handles rarer than words, stopwords common.
func keyScore(k string) float64 {
	bonus := 0.0
	if k != "" && strings.ContainsRune("#@$", rune(k[0])) {
		k, bonus = k[1:], 1
	}
	if i := strings.IndexAny(k, "*?"); i >= 0 {
		return float64(utf8.RuneCountInString(k[:i])) - 0.5 + bonus
	}
	if stopwords[k] {
		return 0.5
	}
	n := utf8.RuneCountInString(k)
	if n == 1 && k[0] >= utf8.RuneSelf { // one ideograph or emoji
		return 2 + bonus
	}
	return float64(n) + bonus
}

// stopwords are frequent words that make poor anchors, in the languages
// earshot sees most.
var stopwords = func() map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(`a an and are as at be but by for from has have i in is it its
		not of on or our so that the their this to was we were will with you your
		de des du la le les et un une en est il pour pas que qui sur
		der die das und ist nicht ein eine mit zu den von auf
		el los las y es por con para una del al lo
		o os as e um uma do da em no na com para
		il di che per non una`) {
		m[query.Fold(w)] = true
	}
	return m
}()
