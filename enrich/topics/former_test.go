package topics

// Match as it was before index stopped copying each token and building an
// occurrence for words that are no key (commit 6d6c6ca), kept to prove the
// new index gives the same topics and spans (TestMatchMatchesFormer) and to
// measure it beside the new one (BenchmarkMatchFormer).

import (
	"slices"
	"strings"

	"github.com/earshot-dev/earshot/pipeline"
)

func (mt *Matcher) formerMatch(m *pipeline.Mention) (ids []string, spans []pipeline.Span) {
	if len(mt.rules) == 0 {
		return nil, nil
	}
	s := mt.pool.Get().(*scratch)
	defer mt.pool.Put(s)
	s.begin(m)
	s.formerIndex(m)
	for _, r := range s.cand {
		if s.eval(mt.rules[r].root) {
			s.matched = append(s.matched, r)
		}
	}
	for _, r := range mt.always {
		if s.ruleGen[r] != s.gen && s.eval(mt.rules[r].root) {
			s.matched = append(s.matched, r)
		}
	}
	if len(s.matched) == 0 {
		return nil, nil
	}
	slices.Sort(s.matched)
	ids = make([]string, len(s.matched))
	s.spans = s.spans[:0]
	for i, r := range s.matched {
		ids[i] = mt.rules[r].id
		s.collectRule(r)
	}
	if len(s.spans) > 0 {
		spans = slices.Clone(s.spans)
	}
	return ids, spans
}
func (s *scratch) formerIndex(m *pipeline.Mention) {
	texts := [...]string{fTitle: m.Title, fText: m.Text, fAuthorName: m.Author.Name}
	var wr, sr [len(texts)][2]int
	for f, text := range texts {
		wr[f][0], sr[f][0] = len(s.tok.Tokens), len(s.tok.Sigils)
		s.tok.NoSigils = f == int(fAuthorName)
		s.tok.Tokenize(text)
		wr[f][1], sr[f][1] = len(s.tok.Tokens), len(s.tok.Sigils)
	}
	for f := range texts {
		words := s.tok.Tokens[wr[f][0]:wr[f][1]]
		s.words[f] = words
		keys := s.tokKey[f][:0]
		for _, t := range words {
			keys = append(keys, s.formerFeed(s.tok.Folded(t), occ{field: uint8(f), w0: t.Word, w1: t.Word + 1, b0: t.Start, b1: t.End}))
		}
		s.tokKey[f] = keys
		for _, t := range s.tok.Sigils[sr[f][0]:sr[f][1]] {
			s.formerFeed(s.tok.Folded(t), occ{field: uint8(f), w0: t.Word, w1: t.Word + t.Words, b0: t.Start, b1: t.End})
		}
	}
	if h := strings.TrimPrefix(m.Author.Handle, "@"); h != "" {
		s.formerFeedValue('@', h, fHandle)
	}
	for _, h := range m.Enrichment.Hashtags {
		s.formerFeedValue('#', h, fMeta)
	}
	for _, h := range m.Enrichment.Mentions {
		s.formerFeedValue('@', h, fMeta)
	}
	for _, h := range m.Enrichment.Cashtags {
		s.formerFeedValue('$', h, fMeta)
	}
}
func (s *scratch) formerFeedValue(sigil byte, v string, field uint8) {
	s.key = append(s.key[:0], sigil)
	s.key = s.tok.AppendFold(s.key, strings.TrimLeft(v, "#@$"))
	if len(s.key) > 1 {
		s.formerFeed(s.key, occ{field: field, w0: -1, w1: -1, b0: -1, b1: -1})
	}
}
func (s *scratch) formerFeed(k []byte, o occ) int32 {
	m := s.m
	id := m.table.get(k)
	if id >= 0 {
		s.add(id, o)
	}
	if len(k) >= 3 && len(m.pats) > 0 {
		p3 := prefix3(k)
		if h := bloomHash(p3); m.pbloom[h>>6]&(1<<(h&63)) != 0 {
			for _, pi := range m.pindex[p3] {
				if p := &m.pats[pi]; p.match(k) {
					s.add(p.key, o)
				}
			}
		}
	}
	return id
}
