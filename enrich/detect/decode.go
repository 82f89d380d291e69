package detect

import (
	"bytes"
	"fmt"
	"time"
	"unicode/utf8"
	"unsafe"

	json "github.com/goccy/go-json"

	"github.com/earshot-dev/earshot/pipeline"
)

// enrichedFields are the fields of an enriched mention (pipeline.Mention's
// JSON, the codec of pipeline.Unmarshal) that counting and sampling read.
// The title and text are kept raw: they are unquoted only for a mention an
// explanation sample takes (decoder.text), which is a small share of a busy
// stream.
type enrichedFields struct {
	Schema   int    `json:"schema"`
	ID       string `json:"id"`
	Platform string `json:"platform"`
	Source   string `json:"source"`
	Author   struct {
		ID     string `json:"id"`
		Handle string `json:"handle"`
	} `json:"author"`
	Title       json.RawMessage `json:"title"`
	Text        json.RawMessage `json:"text"`
	Lang        string          `json:"lang"`
	CreatedAt   time.Time       `json:"created_at"`
	CollectedAt time.Time       `json:"collected_at"`
	Deleted     bool            `json:"deleted"`
	Enrichment  struct {
		Sentiment struct {
			Label string `json:"label"`
		} `json:"sentiment"`
		Lang     string   `json:"lang"`
		Topics   []string `json:"topics"`
		Hashtags []string `json:"hashtags"`
	} `json:"enrichment"`
}

// decoder reads enriched mentions for the detect role: only the fields it
// needs, into buffers reused from one message to the next (not the
// hashtags: an empty list and none must stay apart, as in the whole
// Mention). The Mention it returns is valid until the next decode; Counter
// keeps no reference to it or to its topics.
type decoder struct {
	f      enrichedFields
	m      pipeline.Mention
	sent   pipeline.Sentiment
	topics []string
}

// decode reads one enriched mention. It refuses what pipeline.Unmarshal
// refuses in the fields it reads: a message that is not JSON, a field of
// the wrong type, a schema newer than this build's, no id.
func (d *decoder) decode(data []byte) (m *pipeline.Mention, err error) {
	defer func() {
		// A decoder bug on hostile input must not stop the role.
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("decode mention: decoder panic: %v", p)
		}
	}()
	f := &d.f
	*f = enrichedFields{Title: f.Title[:0], Text: f.Text[:0]}
	// Topics are only looked up (none and an empty list count alike), so
	// their array is reused; hashtags go into samples as decoded.
	f.Enrichment.Topics = d.topics[:0]
	if err := json.Unmarshal(data, f); err != nil {
		return nil, fmt.Errorf("decode mention: %w", err)
	}
	if f.Schema > pipeline.SchemaVersion {
		return nil, fmt.Errorf("decode mention %q: schema %d is newer than %d", f.ID, f.Schema, pipeline.SchemaVersion)
	}
	if f.ID == "" {
		return nil, fmt.Errorf("decode mention: no id")
	}
	for _, raw := range [...]json.RawMessage{f.Title, f.Text} {
		if len(raw) > 0 && raw[0] != '"' && string(raw) != "null" {
			return nil, fmt.Errorf("decode mention %q: title or text is not a string", f.ID)
		}
	}
	d.topics = f.Enrichment.Topics
	d.sent.Label = f.Enrichment.Sentiment.Label
	d.m = pipeline.Mention{
		Schema: f.Schema, ID: f.ID, Platform: f.Platform, Source: f.Source,
		Author: pipeline.Author{ID: f.Author.ID, Handle: f.Author.Handle},
		Lang:   f.Lang, CreatedAt: f.CreatedAt, CollectedAt: f.CollectedAt, Deleted: f.Deleted,
		Enrichment: pipeline.Enrichment{Sentiment: &d.sent, Lang: f.Enrichment.Lang,
			Topics: f.Enrichment.Topics, Hashtags: f.Enrichment.Hashtags},
	}
	return &d.m, nil
}

// text unquotes the title and text of the mention decoded last. They may
// share the decoder's buffers: valid until the next decode, not to be kept
// (sampleTerms copies the terms it takes).
func (d *decoder) text() (title, text string) {
	title, text = unquote(d.f.Title), unquote(d.f.Text)
	return title, text
}

// unquote decodes a JSON string, "" for none or null. A string with no
// escape and valid UTF-8 (most) is its raw bytes as they are, not copied.
func unquote(raw json.RawMessage) string {
	if n := len(raw); n >= 2 && raw[0] == '"' {
		if body := raw[1 : n-1]; bytes.IndexByte(body, '\\') < 0 && utf8.Valid(body) {
			return unsafe.String(unsafe.SliceData(body), len(body))
		}
	}
	var s string
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &s) // checked a string by decode
	}
	return s
}
