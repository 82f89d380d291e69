package pipeline

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// The Mention's own JSON decoder.
//
// Every mention is decoded up to three times on its way (enrich decodes the
// raw mention, sink and detect the enriched one), so decoding is one of the
// larger costs of moving a mention that is not enrichment. decodeMention
// reads the Mention's JSON field by field, without reflection, and does not
// allocate again the short strings of small vocabularies that every
// enriched mention repeats (stage names and versions, platforms, kinds,
// language codes, sentiment labels): see intern.
//
// It reads the JSON encoding/json and goccy/go-json write, plus
// insignificant whitespace and any string escape except a \u surrogate. On
// anything else (an unknown or repeated key, a null, a key in another case,
// a number of another form, invalid UTF-8, trailing bytes) it gives up, and
// Unmarshal decodes the message with goccy/go-json as before. So a message
// from a newer producer with extra fields, or a hand-written one, decodes
// exactly as it did. Encoding stays with goccy/go-json: a hand-written
// encoder measured no faster (see the README's Codec section).
//
// Tests check the decoded mentions against goccy/go-json on fixtures, on
// every field set by reflection, on real texts enriched by the real chain,
// and by fuzzing. codecFields records the Mention's shape this file knows;
// when a field of Mention (or of one of its types) changes, the fast path
// turns itself off (goccy/go-json decodes everything: correct, slower) and
// TestFastCodecKnowsEveryField fails, saying what to update.

// codecFields is the shape of Mention the decoder was written for: every
// field's Go name, type and json tag, depth first.
const codecFields = `Mention{Schema int "schema";ID string "id";Platform string "platform";Source string "source";Kind string "kind";URL string "url,omitempty";Author pipeline.Author "author"{ID string "id,omitempty";Handle string "handle,omitempty";Name string "name,omitempty";Followers int64 "followers,omitempty";Verified bool "verified,omitempty"};Title string "title,omitempty";Text string "text";Lang string "lang,omitempty";CreatedAt time.Time "created_at";CollectedAt time.Time "collected_at";Engagement pipeline.Engagement "engagement"{Likes int64 "likes,omitempty";Reposts int64 "reposts,omitempty";Replies int64 "replies,omitempty";Quotes int64 "quotes,omitempty";Views int64 "views,omitempty"};ParentID string "parent_id,omitempty";ConversationID string "conversation_id,omitempty";MatchedRule string "matched_rule,omitempty";Deleted bool "deleted,omitempty";EditedAt time.Time "edited_at,omitzero";Rating int "rating,omitempty";Answered bool "answered,omitempty";Enrichment pipeline.Enrichment "enrichment"{Sentiment *pipeline.Sentiment "sentiment,omitempty"{Score float64 "score";Label string "label";Confidence float64 "confidence,omitempty"};Lang string "lang,omitempty";LangConfidence float64 "lang_confidence,omitempty";Topics []string "topics,omitempty";Spans []pipeline.Span "spans,omitempty"{Topic string "topic";Field string "field";Start int "start";End int "end"};Hashtags []string "hashtags,omitempty";Mentions []string "mentions,omitempty";Cashtags []string "cashtags,omitempty";Links []string "links,omitempty";Domains []string "domains,omitempty";Emoji []string "emoji,omitempty";DupCluster string "dup_cluster,omitempty";Trends []string "trends,omitempty";NeedsResponse bool "needs_response,omitempty";Versions map[string]string "versions,omitempty";Errors []pipeline.StageError "errors,omitempty"{Stage string "stage";Error string "error"};LangDetected string "lang_detected,omitempty"}}`

// mentionShape describes t's fields as codecFields does.
func mentionShape(t reflect.Type) string {
	var b strings.Builder
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t == reflect.TypeOf(time.Time{}) {
			return
		}
		b.WriteByte('{')
		for i := range t.NumField() {
			f := t.Field(i)
			if i > 0 {
				b.WriteByte(';')
			}
			fmt.Fprintf(&b, "%s %s %q", f.Name, f.Type, f.Tag.Get("json"))
			walk(f.Type)
		}
		b.WriteByte('}')
	}
	b.WriteString("Mention")
	walk(t)
	return b.String()
}

// fastCodec is true while Mention has exactly the shape codecFields
// describes: then decodeMention knows every field.
var fastCodec = mentionShape(reflect.TypeOf(Mention{})) == codecFields

// ---- decoding ----

// mentionDecoder reads one Mention. Any method that meets something the
// fast path does not handle sets bad; the caller then decodes with
// goccy/go-json instead, so bad never means the input is wrong.
type mentionDecoder struct {
	d   []byte
	i   int
	bad bool
}

// decodeMention decodes data into m, or reports false (m partly filled)
// when the fast path does not handle data.
func decodeMention(data []byte, m *Mention) bool {
	dec := mentionDecoder{d: data}
	dec.mention(m)
	dec.ws()
	return !dec.bad && dec.i == len(dec.d)
}

func (dec *mentionDecoder) ws() {
	for dec.i < len(dec.d) {
		switch dec.d[dec.i] {
		case ' ', '\t', '\n', '\r':
			dec.i++
		default:
			return
		}
	}
}

// next skips whitespace and returns the next byte without consuming it (0 at the end).
func (dec *mentionDecoder) next() byte {
	dec.ws()
	if dec.i < len(dec.d) {
		return dec.d[dec.i]
	}
	return 0
}

func (dec *mentionDecoder) expect(c byte) {
	if dec.next() != c {
		dec.bad = true
		return
	}
	dec.i++
}

// object calls field for each key of an object, the decoder placed at the
// key's value; field must consume the value. Keys are matched exactly, and
// each at most once (seen marks them by the index field returns; an index
// below 0 is an unknown key).
func (dec *mentionDecoder) object(field func(key []byte) int) {
	dec.expect('{')
	if dec.bad {
		return
	}
	var seen uint64
	if dec.next() == '}' {
		dec.i++
		return
	}
	for !dec.bad {
		key, ok := dec.rawKey()
		if !ok {
			dec.bad = true
			return
		}
		dec.expect(':')
		if dec.bad {
			return
		}
		dec.ws()
		k := field(key)
		if k < 0 || k >= 64 || seen&(1<<k) != 0 {
			dec.bad = true
			return
		}
		seen |= 1 << k
		switch dec.next() {
		case ',':
			dec.i++
		case '}':
			dec.i++
			return
		default:
			dec.bad = true
			return
		}
	}
}

// rawKey reads a key without escapes.
func (dec *mentionDecoder) rawKey() ([]byte, bool) {
	if dec.next() != '"' {
		return nil, false
	}
	start := dec.i + 1
	for j := start; j < len(dec.d); j++ {
		switch c := dec.d[j]; {
		case c == '"':
			dec.i = j + 1
			return dec.d[start:j], true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return nil, false
		}
	}
	return nil, false
}

// word reads a string value of a small vocabulary: see intern.
func (dec *mentionDecoder) word() string {
	d := dec.d
	if !dec.bad && dec.i < len(d) && d[dec.i] == '"' {
		for j := dec.i + 1; j < len(d) && j <= dec.i+1+maxInterned; j++ {
			if c := d[j]; c == '"' {
				if s, ok := intern(d[dec.i+1 : j]); ok {
					dec.i = j + 1
					return s
				}
				break
			} else if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
				break
			}
		}
	}
	return dec.str()
}

// str reads a string value.
func (dec *mentionDecoder) str() string {
	if dec.bad || dec.i >= len(dec.d) || dec.d[dec.i] != '"' {
		dec.bad = true
		return ""
	}
	start := dec.i + 1
	ascii := true
	for j := start; j < len(dec.d); j++ {
		c := dec.d[j]
		switch {
		case c == '"':
			dec.i = j + 1
			if !ascii && !utf8.Valid(dec.d[start:j]) {
				dec.bad = true
				return ""
			}
			return string(dec.d[start:j])
		case c == '\\':
			return dec.escaped(start, j)
		case c < 0x20:
			dec.bad = true
			return ""
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	dec.bad = true
	return ""
}

// escaped finishes a string with escapes: d[start:j] has none, d[j] is '\\'.
func (dec *mentionDecoder) escaped(start, j int) string {
	d := dec.d
	buf := make([]byte, 0, j-start+64)
	buf = append(buf, d[start:j]...)
	for j < len(d) {
		c := d[j]
		switch {
		case c == '"':
			if !utf8.Valid(buf) {
				dec.bad = true
				return ""
			}
			dec.i = j + 1
			return string(buf)
		case c < 0x20:
			dec.bad = true
			return ""
		case c != '\\':
			buf = append(buf, c)
			j++
			continue
		}
		if j+1 >= len(d) {
			dec.bad = true
			return ""
		}
		switch d[j+1] {
		case '"', '\\', '/':
			buf = append(buf, d[j+1])
		case 'b':
			buf = append(buf, '\b')
		case 'f':
			buf = append(buf, '\f')
		case 'n':
			buf = append(buf, '\n')
		case 'r':
			buf = append(buf, '\r')
		case 't':
			buf = append(buf, '\t')
		case 'u':
			if j+6 > len(d) {
				dec.bad = true
				return ""
			}
			v, err := strconv.ParseUint(string(d[j+2:j+6]), 16, 16)
			if err != nil || utf16.IsSurrogate(rune(v)) {
				dec.bad = true // surrogate pairs (and lone halves) are left to goccy/go-json
				return ""
			}
			buf = utf8.AppendRune(buf, rune(v))
			j += 6
			continue
		default:
			dec.bad = true
			return ""
		}
		j += 2
	}
	dec.bad = true
	return ""
}

// number returns the bytes of a JSON number (strict grammar).
func (dec *mentionDecoder) number() []byte {
	d, i := dec.d, dec.i
	start := i
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case i < len(d) && d[i] >= '1' && d[i] <= '9':
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	default:
		dec.bad = true
		return nil
	}
	if i < len(d) && d[i] == '.' {
		i++
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			dec.bad = true
			return nil
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if i >= len(d) || d[i] < '0' || d[i] > '9' {
			dec.bad = true
			return nil
		}
		for i < len(d) && d[i] >= '0' && d[i] <= '9' {
			i++
		}
	}
	dec.i = i
	return d[start:i]
}

// int64v reads an integer written without fraction or exponent.
func (dec *mentionDecoder) int64v() int64 {
	if dec.bad {
		return 0
	}
	n := dec.number()
	if dec.bad {
		return 0
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil {
		dec.bad = true // a fraction, an exponent or out of range: goccy/go-json decides
	}
	return v
}

func (dec *mentionDecoder) intv() int { return int(dec.int64v()) }

func (dec *mentionDecoder) float() float64 {
	if dec.bad {
		return 0
	}
	n := dec.number()
	if dec.bad {
		return 0
	}
	v, err := strconv.ParseFloat(string(n), 64)
	if err != nil {
		dec.bad = true
	}
	return v
}

func (dec *mentionDecoder) boolv() bool {
	d := dec.d[dec.i:]
	switch {
	case len(d) >= 4 && string(d[:4]) == "true":
		dec.i += 4
		return true
	case len(d) >= 5 && string(d[:5]) == "false":
		dec.i += 5
		return false
	}
	dec.bad = true
	return false
}

// timev reads a time as encoding/json (and goccy/go-json) do: the quoted
// bytes go to Time.UnmarshalJSON.
func (dec *mentionDecoder) timev(t *time.Time) {
	d := dec.d
	if dec.i >= len(d) || d[dec.i] != '"' {
		dec.bad = true
		return
	}
	for j := dec.i + 1; j < len(d); j++ {
		switch c := d[j]; {
		case c == '"':
			if err := t.UnmarshalJSON(d[dec.i : j+1]); err != nil {
				dec.bad = true
			}
			dec.i = j + 1
			return
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			dec.bad = true
			return
		}
	}
	dec.bad = true
}

func (dec *mentionDecoder) strings() []string {
	dec.expect('[')
	if dec.bad {
		return nil
	}
	out := make([]string, 0, 4)
	if dec.next() == ']' {
		dec.i++
		return out
	}
	for !dec.bad {
		dec.ws()
		out = append(out, dec.str())
		switch dec.next() {
		case ',':
			dec.i++
		case ']':
			dec.i++
			return out
		default:
			dec.bad = true
		}
	}
	return nil
}

func (dec *mentionDecoder) mention(m *Mention) {
	dec.object(func(key []byte) int {
		switch string(key) {
		case "schema":
			m.Schema = dec.intv()
			return 0
		case "id":
			m.ID = dec.str()
			return 1
		case "platform":
			m.Platform = dec.word()
			return 2
		case "source":
			m.Source = dec.str()
			return 3
		case "kind":
			m.Kind = dec.word()
			return 4
		case "url":
			m.URL = dec.str()
			return 5
		case "author":
			dec.author(&m.Author)
			return 6
		case "title":
			m.Title = dec.str()
			return 7
		case "text":
			m.Text = dec.str()
			return 8
		case "lang":
			m.Lang = dec.word()
			return 9
		case "created_at":
			dec.timev(&m.CreatedAt)
			return 10
		case "collected_at":
			dec.timev(&m.CollectedAt)
			return 11
		case "engagement":
			dec.engagement(&m.Engagement)
			return 12
		case "parent_id":
			m.ParentID = dec.str()
			return 13
		case "conversation_id":
			m.ConversationID = dec.str()
			return 14
		case "matched_rule":
			m.MatchedRule = dec.str()
			return 15
		case "deleted":
			m.Deleted = dec.boolv()
			return 16
		case "edited_at":
			dec.timev(&m.EditedAt)
			return 17
		case "rating":
			m.Rating = dec.intv()
			return 18
		case "answered":
			m.Answered = dec.boolv()
			return 19
		case "enrichment":
			dec.enrichment(&m.Enrichment)
			return 20
		}
		return -1
	})
}

func (dec *mentionDecoder) author(a *Author) {
	dec.object(func(key []byte) int {
		switch string(key) {
		case "id":
			a.ID = dec.str()
			return 0
		case "handle":
			a.Handle = dec.str()
			return 1
		case "name":
			a.Name = dec.str()
			return 2
		case "followers":
			a.Followers = dec.int64v()
			return 3
		case "verified":
			a.Verified = dec.boolv()
			return 4
		}
		return -1
	})
}

func (dec *mentionDecoder) engagement(e *Engagement) {
	dec.object(func(key []byte) int {
		switch string(key) {
		case "likes":
			e.Likes = dec.int64v()
			return 0
		case "reposts":
			e.Reposts = dec.int64v()
			return 1
		case "replies":
			e.Replies = dec.int64v()
			return 2
		case "quotes":
			e.Quotes = dec.int64v()
			return 3
		case "views":
			e.Views = dec.int64v()
			return 4
		}
		return -1
	})
}

func (dec *mentionDecoder) enrichment(en *Enrichment) {
	dec.object(func(key []byte) int {
		switch string(key) {
		case "sentiment":
			s := new(Sentiment)
			dec.object(func(key []byte) int {
				switch string(key) {
				case "score":
					s.Score = dec.float()
					return 0
				case "label":
					s.Label = dec.word()
					return 1
				case "confidence":
					s.Confidence = dec.float()
					return 2
				}
				return -1
			})
			en.Sentiment = s
			return 0
		case "lang":
			en.Lang = dec.word()
			return 1
		case "lang_confidence":
			en.LangConfidence = dec.float()
			return 2
		case "topics":
			en.Topics = dec.strings()
			return 3
		case "spans":
			en.Spans = dec.spans()
			return 4
		case "hashtags":
			en.Hashtags = dec.strings()
			return 5
		case "mentions":
			en.Mentions = dec.strings()
			return 6
		case "cashtags":
			en.Cashtags = dec.strings()
			return 7
		case "links":
			en.Links = dec.strings()
			return 8
		case "domains":
			en.Domains = dec.strings()
			return 9
		case "emoji":
			en.Emoji = dec.strings()
			return 10
		case "dup_cluster":
			en.DupCluster = dec.str()
			return 11
		case "trends":
			en.Trends = dec.strings()
			return 12
		case "needs_response":
			en.NeedsResponse = dec.boolv()
			return 13
		case "versions":
			en.Versions = dec.versions()
			return 14
		case "errors":
			en.Errors = dec.stageErrors()
			return 15
		case "lang_detected":
			en.LangDetected = dec.word()
			return 16
		}
		return -1
	})
}

func (dec *mentionDecoder) spans() []Span {
	dec.expect('[')
	if dec.bad {
		return nil
	}
	out := make([]Span, 0, 4)
	if dec.next() == ']' {
		dec.i++
		return out
	}
	for !dec.bad {
		var sp Span
		dec.object(func(key []byte) int {
			switch string(key) {
			case "topic":
				sp.Topic = dec.str()
				return 0
			case "field":
				sp.Field = dec.word()
				return 1
			case "start":
				sp.Start = dec.intv()
				return 2
			case "end":
				sp.End = dec.intv()
				return 3
			}
			return -1
		})
		out = append(out, sp)
		switch dec.next() {
		case ',':
			dec.i++
		case ']':
			dec.i++
			return out
		default:
			dec.bad = true
		}
	}
	return nil
}

func (dec *mentionDecoder) stageErrors() []StageError {
	dec.expect('[')
	if dec.bad {
		return nil
	}
	out := make([]StageError, 0, 1)
	if dec.next() == ']' {
		dec.i++
		return out
	}
	for !dec.bad {
		var se StageError
		dec.object(func(key []byte) int {
			switch string(key) {
			case "stage":
				se.Stage = dec.word()
				return 0
			case "error":
				se.Error = dec.str()
				return 1
			}
			return -1
		})
		out = append(out, se)
		switch dec.next() {
		case ',':
			dec.i++
		case ']':
			dec.i++
			return out
		default:
			dec.bad = true
		}
	}
	return nil
}

// versions reads a map of strings; its keys may carry escapes, and a key
// given twice is left to goccy/go-json.
func (dec *mentionDecoder) versions() map[string]string {
	dec.expect('{')
	if dec.bad {
		return nil
	}
	out := make(map[string]string, 8)
	if dec.next() == '}' {
		dec.i++
		return out
	}
	for !dec.bad {
		dec.ws()
		k := dec.word()
		dec.expect(':')
		dec.ws()
		v := dec.word()
		if dec.bad {
			return nil
		}
		if _, dup := out[k]; dup {
			dec.bad = true
			return nil
		}
		out[k] = v
		switch dec.next() {
		case ',':
			dec.i++
		case '}':
			dec.i++
			return out
		default:
			dec.bad = true
		}
	}
	return nil
}

// Interned strings: the values of small vocabularies that nearly every
// mention carries (platforms, kinds, stage names in versions and errors,
// sentiment labels, span fields, one- and two-character values such as
// language codes and stage versions) are returned as shared constants
// instead of being allocated for every mention. A string is the same value
// whether shared or not; only allocations differ.
const maxInterned = 16

var (
	internShort = func() (t [128][128]string) { // one or two ASCII bytes: [c][0] and [c1][c2]
		for a := 0x20; a < 0x7f; a++ {
			t[a][0] = string(rune(a))
		}
		for _, a := range "abcdefghijklmnopqrstuvwxyz0123456789" {
			for _, b := range "abcdefghijklmnopqrstuvwxyz0123456789" {
				t[a][b] = string(a) + string(b)
			}
		}
		return t
	}()
	internWords = func() map[string]string {
		m := map[string]string{}
		for _, w := range []string{
			// kinds, sentiment labels, span fields
			KindPost, KindReply, KindRepost, KindQuote, KindComment, KindArticle, KindReview,
			SentimentPositive, SentimentNeutral, SentimentNegative, SentimentUnknown,
			"text", "title",
			// platforms
			"twitter", "rss", "reddit", "hackernews", "hn", "mastodon", "bluesky", "youtube",
			"appstore", "stackexchange", "discourse", "forum", "news", "blog",
			// stage names
			"entities", "lang", "sentiment", "topics", "dedup", "respond", "trend",
		} {
			m[w] = w
		}
		return m
	}()
)

// intern returns the shared copy of b, if it has one.
func intern(b []byte) (string, bool) {
	switch {
	case len(b) == 1 && b[0] < 128:
		s := internShort[b[0]][0]
		return s, s != ""
	case len(b) == 2 && b[0] < 128 && b[1] < 128:
		s := internShort[b[0]][b[1]]
		return s, s != ""
	}
	s, ok := internWords[string(b)] // no allocation: the compiler looks up without converting
	return s, ok
}
