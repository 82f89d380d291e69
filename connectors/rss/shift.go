package rss

import (
	"io/fs"
	"regexp"
	"time"
)

// Feed dates as the bundled corpora write them: RFC 1123 with a numeric zone
// (RSS pubDate, lastBuildDate) and RFC 3339 (Atom, JSON Feed).
var (
	rfc1123Re = regexp.MustCompile(`(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}`)
	rfc3339Re = regexp.MustCompile(`\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})`)
)

// FeedDates calls fn with every date in a feed document (RSS, Atom or JSON
// Feed), and replaces each with what fn returns.
func FeedDates(doc []byte, fn func(time.Time) time.Time) []byte {
	doc = rfc1123Re.ReplaceAllFunc(doc, func(b []byte) []byte {
		t, err := time.Parse(time.RFC1123Z, string(b))
		if err != nil {
			return b
		}
		return []byte(fn(t).In(t.Location()).Format(time.RFC1123Z))
	})
	return rfc3339Re.ReplaceAllFunc(doc, func(b []byte) []byte {
		t, err := time.Parse(time.RFC3339Nano, string(b))
		if err != nil {
			return b
		}
		return []byte(fn(t).In(t.Location()).Format(time.RFC3339))
	})
}

// NewestDate returns the newest date in the feed documents (zero when none).
func NewestDate(docs ...[]byte) time.Time {
	var newest time.Time
	for _, d := range docs {
		FeedDates(d, func(t time.Time) time.Time {
			if t.After(newest) {
				newest = t
			}
			return t
		})
	}
	return newest
}

// ShiftDates moves every date in a feed document by d.
func ShiftDates(doc []byte, d time.Duration) []byte {
	return FeedDates(doc, func(t time.Time) time.Time { return t.Add(d) })
}

// ShiftCorpus returns the files of corpus with every date moved by the
// same amount, so that the newest date in the whole corpus is newest, and
// the offset applied. The spacing of the items is kept.
func ShiftCorpus(corpus fs.FS, newest time.Time) (map[string][]byte, time.Duration, error) {
	files := map[string][]byte{}
	err := fs.WalkDir(corpus, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := fs.ReadFile(corpus, p)
		files[p] = b
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	docs := make([][]byte, 0, len(files))
	for _, b := range files {
		docs = append(docs, b)
	}
	old := NewestDate(docs...)
	if old.IsZero() {
		return files, 0, nil
	}
	d := newest.Truncate(time.Second).Sub(old)
	for p, b := range files {
		files[p] = ShiftDates(b, d)
	}
	return files, d, nil
}
