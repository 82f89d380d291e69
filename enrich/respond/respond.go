// Package respond is the enrichment stage that flags mentions needing a
// response (NeedsResponse): a question or complaint addressed to a tracked
// brand, so a community manager's queue is one query away:
//
//	SELECT … FROM mentions WHERE needs_response ORDER BY created_at DESC
//
// A mention needs a response when it is addressed and is a question or a
// complaint, and is neither a repost nor written by one of the brand's own
// handles.
//
//   - Addressed: it mentions a handle listed under a topic's handles (from
//     the entities stage's Mentions, or the text when that stage did not
//     run), or it matched a topic (the topics stage ran earlier). A reply
//     to the brand counts through the @handle replies start with; the
//     mention schema has no parent author to tell more.
//   - Question: a '?' or '¿' outside links, or a sentence that starts with
//     an interrogative in English, Spanish, French, German or Portuguese
//     ("how do i", "why is", "can anyone", "cómo", "pourquoi", "wie", …).
//     Words that are ordinary words elsewhere ("comment", "wie", "onde")
//     count only when the mention's language is known to be theirs.
//   - Complaint: a complaint cue anywhere ("refund", "doesn't work", "still
//     waiting", "cancel", "worst", "customer service", "help", "no
//     funciona", …), or a sentiment labelled negative with a confidence of
//     at least complaint_confidence (default 0.34). A cue does not count
//     when the sentiment is labelled positive with a confidence of at least
//     positive_confidence (default 0.82): "thanks for the quick help!" needs
//     no answer. The defaults are derived from data for the shipped
//     sentiment model (enrich/all, TestRespondThresholds). Sentiment alone
//     counts for a mention addressed by handle; addressed only by topic it
//     also needs a first- or second-person word ("I", "my", "you", "mi",
//     "je", "ich", "eu", …), so a gloomy news headline about the brand is
//     not a complaint to answer but "this is why I left Acme" is.
//
// Articles (news, blog posts) are excluded too: they are reported, not
// answered.
//
// A rated review (an App Store review) at or below complaint_rating stars
// (default 1) is a complaint to answer whatever its wording: a review is
// addressed to the app's maker by nature, and its rating says more than
// the words of a short review.
package respond

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/earshot-dev/earshot/enrich/internal/stageenv"
	"github.com/earshot-dev/earshot/pipeline"
)

// Name is the stage name; Version changes whenever the rules or cues do.
const (
	Name    = "respond"
	Version = "3"
)

func init() {
	pipeline.RegisterEnricher(Name, 60, func(env pipeline.EnricherEnv) (pipeline.Enricher, error) {
		return New(env)
	})
}

// Options are the stage's settings under enrich.options.respond.
type Options struct {
	// ComplaintConfidence is the confidence from which a sentiment labelled
	// negative makes an addressed mention a complaint, in (0, 1]; default
	// DefaultComplaintConfidence.
	ComplaintConfidence *float64 `yaml:"complaint_confidence"`
	// PositiveConfidence is the confidence from which a sentiment labelled
	// positive overrules a complaint cue, in (0, 1]; default
	// DefaultPositiveConfidence.
	PositiveConfidence *float64 `yaml:"positive_confidence"`
	// ComplaintScore was the VADER-compound threshold of version 2; it is
	// rejected with a pointer to complaint_confidence.
	ComplaintScore *float64 `yaml:"complaint_score"`
	// QuestionCues are extra interrogative sentence starts, any language.
	QuestionCues []string `yaml:"question_cues"`
	// ComplaintCues are extra complaint words or phrases, any language; end
	// a word with '*' to match any word it starts.
	ComplaintCues []string `yaml:"complaint_cues"`
	// ComplaintRating is the star rating (1 to 5) at or below which a
	// review is a complaint whatever its text; default 1, 0 turns it off.
	ComplaintRating *int `yaml:"complaint_rating"`
}

// DefaultComplaintRating is the default review rating of a complaint.
const DefaultComplaintRating = 1

// The default confidences of the sentiment label, derived for the shipped
// sentiment model on rows no model was trained on (go test ./enrich/all
// -run TestRespondThresholds -v): a negative label is a complaint from the
// confidence at which it is as precise as the lexicon compound's old -0.3
// cut-off was; a positive label overrules a complaint phrase only from the
// confidence at which it is right 9 times in 10, since a veto drops a
// complaint and sarcasm reads positive.
const (
	DefaultComplaintConfidence = 0.34
	DefaultPositiveConfidence  = 0.82
)

// ErrOptions is returned, wrapped, for invalid options.
var ErrOptions = errors.New("invalid respond options")

// Stage is the needs-response stage. It is safe for concurrent use.
type Stage struct {
	handles       map[string]bool // brand handles, lower-cased, without '@'
	complaintConf float64         // negative label from this confidence is a complaint
	positiveConf  float64         // positive label from this confidence vetoes a cue
	rating        int             // reviews rated at or below need a response; 0 off
	cues          *cueSet
	logger        *slog.Logger
}

var _ pipeline.Enricher = (*Stage)(nil)

// New builds the stage from the topics' handles and env.Options.
func New(env pipeline.EnricherEnv) (*Stage, error) {
	var o Options
	if err := stageenv.DecodeOptions(env, Name, &o); err != nil {
		return nil, err
	}
	s, err := NewWithOptions(env.Topics, o)
	if err != nil {
		return nil, fmt.Errorf("%s: enrich options %q: %w", env.File, Name, err)
	}
	s.logger = stageenv.Logger(env, Name)
	return s, nil
}

// NewWithOptions builds the stage, reporting every invalid setting at once.
func NewWithOptions(topics []pipeline.Topic, o Options) (*Stage, error) {
	var errs []error
	if o.ComplaintScore != nil {
		errs = append(errs, fmt.Errorf("complaint_score is gone: the sentiment is a label with a confidence now; set complaint_confidence (0 to 1, default %.2f) instead", DefaultComplaintConfidence))
	}
	confidence := func(key string, p *float64, def float64) float64 {
		if p == nil {
			return def
		}
		if *p <= 0 || *p > 1 {
			errs = append(errs, fmt.Errorf("%s %v: want above 0, at most 1", key, *p))
		}
		return *p
	}
	complaintConf := confidence("complaint_confidence", o.ComplaintConfidence, DefaultComplaintConfidence)
	positiveConf := confidence("positive_confidence", o.PositiveConfidence, DefaultPositiveConfidence)
	rating := DefaultComplaintRating
	if o.ComplaintRating != nil {
		rating = *o.ComplaintRating
		if rating < 0 || rating > 5 {
			errs = append(errs, fmt.Errorf("complaint_rating %d: want 0 (off) to 5", rating))
		}
	}
	for i, c := range o.QuestionCues {
		if len(splitWords(strings.ToLower(c))) == 0 {
			errs = append(errs, fmt.Errorf("question_cues[%d] %q: no words", i, c))
		}
	}
	for i, c := range o.ComplaintCues {
		if len(splitWords(strings.ToLower(strings.TrimSuffix(c, "*")))) == 0 {
			errs = append(errs, fmt.Errorf("complaint_cues[%d] %q: no words", i, c))
		}
	}
	handles := map[string]bool{}
	for _, t := range topics {
		for i, h := range t.Handles {
			n := normHandle(h)
			if n == "" {
				errs = append(errs, fmt.Errorf("topic %q: handles[%d] %q is empty", t.ID, i, h))
				continue
			}
			handles[n] = true
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrOptions, errors.Join(errs...))
	}
	return &Stage{
		handles:       handles,
		complaintConf: complaintConf,
		positiveConf:  positiveConf,
		rating:        rating,
		cues:          defaultCues(o.QuestionCues, o.ComplaintCues),
		logger:        slog.New(slog.DiscardHandler),
	}, nil
}

func normHandle(h string) string {
	return strings.ToLower(strings.TrimPrefix(strings.TrimSpace(h), "@"))
}

// Name returns "respond".
func (s *Stage) Name() string { return Name }

// Version returns the rules' version.
func (s *Stage) Version() string { return Version }

// Enrich sets NeedsResponse on every mention of the batch.
func (s *Stage) Enrich(ctx context.Context, batch []*pipeline.Mention) error {
	for _, m := range batch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("%s: %w", Name, err)
		}
		m.Enrichment.NeedsResponse = s.Assess(m).NeedsResponse
		m.SetVersion(Name, Version)
	}
	return nil
}

// Verdict explains Assess's decision.
type Verdict struct {
	NeedsResponse bool
	Excluded      string // "repost", "article" or "own post" when excluded
	Addressed     string // "handle @x" or "topic t"; "" when not addressed
	Question      string // the '?' or cue that made it a question
	Complaint     string // the cue or "sentiment negative 0.81" that made it a complaint
}

// Assess decides whether a mention needs a response, and why.
func (s *Stage) Assess(m *pipeline.Mention) Verdict {
	var v Verdict
	switch m.Kind {
	case pipeline.KindRepost:
		v.Excluded = "repost"
		return v
	case pipeline.KindArticle:
		v.Excluded = "article"
		return v
	}
	if s.ownHandle(m.Author.Handle) {
		v.Excluded = "own post"
		return v
	}
	if m.Kind == pipeline.KindReview && m.Rating > 0 && m.Rating <= s.rating {
		v.Addressed = "review"
		v.Complaint = fmt.Sprintf("rating %d/5", m.Rating)
		v.NeedsResponse = true
		return v
	}
	v.Addressed = s.addressed(m)
	if v.Addressed == "" {
		return v
	}
	lang := m.Enrichment.Lang
	if lang == "" {
		lang = m.Lang
	}
	sent := m.Enrichment.Sentiment
	positive := sent != nil && sent.Label == pipeline.SentimentPositive && sent.Confidence >= s.positiveConf
	negative := sent != nil && sent.Label == pipeline.SentimentNegative && sent.Confidence >= s.complaintConf
	personal := false
	for _, text := range [2]string{m.Title, m.Text} {
		if text == "" {
			continue
		}
		q, c, p := s.scan(text, lang)
		if v.Question == "" {
			v.Question = q
		}
		if v.Complaint == "" && c != "" && !positive {
			v.Complaint = c
		}
		personal = personal || p
	}
	byHandle := strings.HasPrefix(v.Addressed, "handle ")
	if v.Complaint == "" && negative && (byHandle || personal) {
		v.Complaint = fmt.Sprintf("sentiment negative %.2f", sent.Confidence)
	}
	v.NeedsResponse = v.Question != "" || v.Complaint != ""
	return v
}

// ownHandle reports whether the author is the brand: the handle itself, or
// on a federated network the local part of "acme@mastodon.social".
func (s *Stage) ownHandle(h string) bool {
	h = normHandle(h)
	if h == "" {
		return false
	}
	if s.handles[h] {
		return true
	}
	local, _, ok := strings.Cut(h, "@")
	return ok && s.handles[local]
}

// addressed names why the mention is addressed to a brand, or returns "".
func (s *Stage) addressed(m *pipeline.Mention) string {
	for _, h := range m.Enrichment.Mentions {
		if s.handles[h] {
			return "handle @" + h
		}
	}
	if _, ran := m.Enrichment.Versions["entities"]; !ran && len(s.handles) > 0 {
		if h := s.findHandle(m.Text); h != "" {
			return "handle @" + h
		}
	}
	if len(m.Enrichment.Topics) > 0 {
		return "topic " + m.Enrichment.Topics[0]
	}
	return ""
}

// findHandle looks for "@handle" in text when the entities stage has not
// extracted mentions.
func (s *Stage) findHandle(text string) string {
	for i := 0; i < len(text); i++ {
		if text[i] != '@' || (i > 0 && isWordByte(text[i-1])) {
			continue
		}
		j := i + 1
		for j < len(text) && (isWordByte(text[j]) || ((text[j] == '.' || text[j] == '@') && j+1 < len(text) && isWordByte(text[j+1]))) {
			j++
		}
		if h := strings.ToLower(text[i+1 : j]); s.handles[h] {
			return h
		}
	}
	return ""
}

func isWordByte(c byte) bool {
	return c == '_' || c|0x20 >= 'a' && c|0x20 <= 'z' || c >= '0' && c <= '9'
}

// scan returns the question and complaint cues found in text, and whether
// it speaks in the first or second person.
func (s *Stage) scan(text, lang string) (question, complaint string, personal bool) {
	var buf [128]token
	list, mark := tokenize(strings.ToLower(text), buf[:0])
	if mark != "" {
		question = mark
	}
	for _, w := range list {
		if pronouns[w.w] {
			personal = true
			break
		}
	}
	for i, w := range list {
		for _, c := range s.cues.byFirst[w.w] {
			s.try(c, list, i, lang, &question, &complaint)
		}
		for _, l := range s.cues.prefixes {
			if len(w.w) >= l {
				for _, c := range s.cues.byPrefix[w.w[:l]] {
					s.try(c, list, i, lang, &question, &complaint)
				}
			}
		}
		if question != "" && complaint != "" {
			break
		}
	}
	return question, complaint, personal
}

// try records cue c if it matches at list[i] and is still wanted: question
// cues only at a sentence start.
func (s *Stage) try(c *cue, list []token, i int, lang string, question, complaint *string) {
	if c.question {
		if *question != "" || !list[i].start {
			return
		}
	} else if *complaint != "" {
		return
	}
	if !c.applies(lang) || !c.matchAt(list, i) {
		return
	}
	if c.question {
		*question = c.text
	} else {
		*complaint = c.text
	}
}

// pronouns are first- and second-person words in the supported languages.
var pronouns = func() map[string]bool {
	m := map[string]bool{}
	for w := range strings.FieldsSeq(`i i'm im i've ive i'd i'll me my mine myself we we're we've us our ours
		you you're youre your yours
		yo mi mis me nos nosotros nuestro nuestra tu tus te usted ustedes
		je j'ai moi mon ma mes nous notre nos vous votre vos
		ich mich mir mein meine meinen meinem wir uns unser unsere du dich dir dein deine ihr euch euer
		eu meu minha meus minhas nós nosso nossa você vocês`) {
		m[w] = true
	}
	return m
}()

// token is one lower-cased word; start marks the first word of a sentence.
type token struct {
	w     string
	start bool
}

// maxTokens bounds the words looked at: a question or complaint shows in
// the first few hundred words.
const maxTokens = 400

// tokenize splits lower-cased text into words appended to list, skipping
// links, @handles and #hashtags, and returns the question mark ("?" or "¿")
// it saw outside links, if any.
func tokenize(s string, list []token) (_ []token, mark string) {
	if strings.Contains(s, "’") {
		s = strings.ReplaceAll(s, "’", "'")
	}
	start := true
	for i := 0; i < len(s) && len(list) < maxTokens; {
		c := s[i]
		switch {
		case c == 'h' && (strings.HasPrefix(s[i:], "http://") || strings.HasPrefix(s[i:], "https://")),
			c == 'w' && strings.HasPrefix(s[i:], "www.") && (i == 0 || !isWordByte(s[i-1])):
			for i < len(s) && s[i] != ' ' && s[i] != '\n' && s[i] != '\t' {
				i++
			}
			continue
		case c == '@' || c == '#':
			i++
			for i < len(s) && (isWordByte(s[i]) || ((s[i] == '.' || s[i] == '@') && i+1 < len(s) && isWordByte(s[i+1]))) {
				i++
			}
			continue
		case c == '?':
			mark = "?"
			start = true
			i++
			continue
		case c == '.' || c == '!' || c == '\n' || c == ';':
			start = true
			i++
			continue
		}
		r, size := rune(c), 1
		if c >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(s[i:])
			switch r {
			case '¿':
				mark = "¿"
				start = true
				i += size
				continue
			case '¡', '…', '。', '！', '？':
				if r == '？' {
					mark = "?"
				}
				start = true
				i += size
				continue
			}
		}
		if !isWordRune(r) {
			i += size
			continue
		}
		// A word: letters, digits, marks, and ' or - between them.
		j := i
		for j < len(s) {
			r, n := utf8.DecodeRuneInString(s[j:])
			if isWordRune(r) {
				j += n
				continue
			}
			if (r == '\'' || r == '-') && j+1 < len(s) {
				if r2, _ := utf8.DecodeRuneInString(s[j+1:]); isWordRune(r2) {
					j += 1
					continue
				}
			}
			break
		}
		list = append(list, token{w: s[i:j], start: start})
		start = false
		i = j
	}
	return list, mark
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isWordByte(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)
}
