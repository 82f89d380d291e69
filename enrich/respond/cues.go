package respond

import "strings"

// cue is a phrase that marks a question or a complaint. Words are matched
// whole, lower-cased, with ’ read as '; a word ending in '*' matches any word
// it starts ("refund*" matches "refunded").
type cue struct {
	text     string // as written, for Verdict.Cue
	words    []string
	prefix   bool   // the last word is a prefix
	question bool   // else a complaint
	lang     string // ISO 639-1, "" for any
	// strict cues are common words in another language too ("comment",
	// "wie", "onde"): they count only when the mention's language is known
	// and is lang.
	strict bool
}

// Questions are interrogative sentence starts. They are matched only at
// the start of a sentence (leading @handles skipped), since "how to" or
// "comment" mid-sentence is not a question.
var questionStarts = map[string][]string{
	"en": {"how do i", "how do you", "how can i", "how can we", "how to", "how come", "how long", "how much",
		"why is", "why are", "why does", "why do", "why did", "why can't", "why cant", "why won't", "why wont",
		"why isn't", "why isnt", "why would", "can anyone", "can someone", "can you", "could you",
		"could someone", "would you", "does anyone", "anyone know", "anyone else", "is anyone", "has anyone",
		"did anyone", "is there a way", "is there any", "is it possible", "is it just me", "is this", "is it",
		"what is", "what's", "whats", "what happened", "where is", "where's", "where can i", "where do i",
		"when will", "when is", "when are", "when do", "who do i", "who can", "any idea", "any ideas",
		"any update", "any news", "should i", "do you", "are you", "will you", "am i the only"},
	"es": {"cómo", "como puedo", "como hago", "como se", "por qué", "porqué", "alguien sabe", "alguien más",
		"alguien mas", "dónde", "donde puedo", "cuándo", "qué pasa", "que pasa", "hay alguna", "hay forma",
		"me pueden", "pueden ayudarme", "me ayudan", "es posible", "se puede"},
	"fr": {"pourquoi", "quelqu'un sait", "quelqu'un a", "est-ce qu*", "où", "quand", "qui peut",
		"y a-t-il", "pouvez-vous", "vous pouvez", "c'est normal", "comment faire", "comment puis-je"},
	"de": {"warum", "wieso", "weshalb", "weiß jemand", "weiss jemand", "kann mir jemand", "kann jemand",
		"könnt ihr", "können sie", "wann", "gibt es", "hat jemand", "ist es möglich", "was ist", "was kann"},
	"pt": {"como faço", "como posso", "como faz", "por que", "por quê", "porque não", "alguém sabe",
		"alguém mais", "cadê", "vocês podem", "tem como", "é possível", "o que aconteceu"},
}

// strictQuestionStarts are question words that are ordinary words in other
// languages; they count only in their own (detected) language.
var strictQuestionStarts = map[string][]string{
	"fr": {"comment"},
	"de": {"wie", "wo", "woran"},
	"pt": {"onde", "quando"},
	"es": {"donde", "cuando"},
}

// complaintCues mark a complaint anywhere in the text.
var complaintCues = map[string][]string{
	"en": {"refund*", "broken", "doesn't work", "doesnt work", "does not work", "not working", "isn't working",
		"isnt working", "stopped working", "won't work", "still waiting", "still no", "cancel*", "worst",
		"never again", "customer service", "customer support", "help", "terrible", "awful", "horrible",
		"scam*", "rip off", "ripoff", "charged twice", "double charged", "overcharg*", "no response",
		"no reply", "nobody answers", "nobody responds", "no one answers", "unacceptable", "disappointed",
		"disappointing", "fix this", "fix it", "is down", "down again", "crash*", "bug", "buggy",
		"error", "can't log", "cant log", "cannot log", "locked out", "hasn't arrived", "hasnt arrived",
		"never arrived", "never received", "didn't receive", "didnt receive", "missing", "lost my", "useless",
		"ridiculous", "frustrat*", "fed up", "complain*", "waste of"},
	"es": {"reembolso", "devolución", "devolucion", "no funciona", "no sirve", "estafa", "pésimo", "pesimo",
		"peor", "cancelar", "sigo esperando", "servicio al cliente", "atención al cliente", "ayuda", "roto",
		"queja", "nadie responde", "no llega", "no ha llegado", "vergüenza", "fraude"},
	"fr": {"remboursement", "rembourser", "ne marche pas", "ne marche plus", "ne fonctionne pas",
		"ne fonctionne plus", "arnaque", "pire", "annuler", "résilier", "toujours en attente",
		"j'attends toujours", "service client", "en panne", "inadmissible", "honteux", "personne ne répond",
		"jamais reçu"},
	"de": {"erstattung", "rückerstattung", "geld zurück", "funktioniert nicht", "geht nicht", "kaputt", "betrug",
		"schlimmste", "schlechteste", "kündigen", "kündigung", "warte immer noch", "warte seit", "kundenservice",
		"kundendienst", "hilfe", "störung", "fehler", "abzocke", "frechheit", "niemand antwortet",
		"nie angekommen", "antwortet nicht"},
	"pt": {"estorno", "não funciona", "nao funciona", "golpe", "pior", "ainda esperando", "continuo esperando",
		"atendimento", "ajuda", "quebrado", "reclamação", "reclamacao", "ninguém responde", "não chegou",
		"nao chegou", "absurdo", "péssimo", "pessimo", "vergonha"},
}

// strictComplaintCues are ordinary words in another language.
var strictComplaintCues = map[string][]string{
	"fr": {"aide", "nul"},
}

// cueSet indexes cues by their first word (and, for one-word prefix cues,
// by the prefix) so matching costs one map lookup per word of the text.
type cueSet struct {
	byFirst  map[string][]*cue
	byPrefix map[string][]*cue
	prefixes []int // distinct prefix lengths, in bytes
}

func newCueSet() *cueSet {
	return &cueSet{byFirst: map[string][]*cue{}, byPrefix: map[string][]*cue{}}
}

// add parses and indexes one cue.
func (s *cueSet) add(text string, question bool, lang string, strict bool) {
	c := &cue{text: text, question: question, lang: lang, strict: strict}
	words, prefix := strings.CutSuffix(text, "*")
	c.prefix = prefix
	c.words = splitWords(strings.ToLower(strings.ReplaceAll(words, "’", "'")))
	if len(c.words) == 0 {
		return
	}
	if c.prefix && len(c.words) == 1 {
		p := c.words[0]
		s.byPrefix[p] = append(s.byPrefix[p], c)
		for _, l := range s.prefixes {
			if l == len(p) {
				return
			}
		}
		s.prefixes = append(s.prefixes, len(p))
		return
	}
	s.byFirst[c.words[0]] = append(s.byFirst[c.words[0]], c)
}

// splitWords splits a cue as the text tokenizer would.
func splitWords(s string) []string {
	list, _ := tokenize(s, nil)
	out := make([]string, len(list))
	for i, w := range list {
		out[i] = w.w
	}
	return out
}

// defaultCues builds the built-in cue set plus extra cues from options
// (language-neutral).
func defaultCues(extraQuestions, extraComplaints []string) *cueSet {
	s := newCueSet()
	for lang, list := range questionStarts {
		for _, q := range list {
			s.add(q, true, lang, false)
		}
	}
	for lang, list := range strictQuestionStarts {
		for _, q := range list {
			s.add(q, true, lang, true)
		}
	}
	for lang, list := range complaintCues {
		for _, c := range list {
			s.add(c, false, lang, false)
		}
	}
	for lang, list := range strictComplaintCues {
		for _, c := range list {
			s.add(c, false, lang, true)
		}
	}
	for _, q := range extraQuestions {
		s.add(q, true, "", false)
	}
	for _, c := range extraComplaints {
		s.add(c, false, "", false)
	}
	return s
}

// applies reports whether a cue counts for a mention in language lang
// ("" when unknown).
func (c *cue) applies(lang string) bool {
	if c.strict {
		return lang != "" && lang == c.lang
	}
	return true
}

// matchAt reports whether c matches the words starting at list[i].
func (c *cue) matchAt(list []token, i int) bool {
	if i+len(c.words) > len(list) {
		return false
	}
	for k, w := range c.words {
		got := list[i+k].w
		if k == len(c.words)-1 && c.prefix {
			if !strings.HasPrefix(got, w) {
				return false
			}
			continue
		}
		if got != w {
			return false
		}
	}
	return true
}
