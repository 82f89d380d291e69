package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/enrich/topics/query"
	"github.com/earshot-dev/earshot/pipeline"
)

// scored is one line of `earshot score` output.
type scored struct {
	ID             string                `json:"id"`
	Text           string                `json:"text"`
	Title          string                `json:"title,omitempty"`
	Sentiment      *pipeline.Sentiment   `json:"sentiment"`
	Lang           string                `json:"lang"`
	LangConfidence float64               `json:"lang_confidence"`
	Topics         []string              `json:"topics"`
	Spans          []scoredSpan          `json:"spans"`
	Hashtags       []string              `json:"hashtags"`
	Mentions       []string              `json:"mentions"`
	Cashtags       []string              `json:"cashtags"`
	Links          []string              `json:"links"`
	Domains        []string              `json:"domains"`
	Emoji          []string              `json:"emoji"`
	DupCluster     string                `json:"dup_cluster"`
	NeedsResponse  bool                  `json:"needs_response"`
	Trends         []string              `json:"trends,omitempty"`
	Errors         []pipeline.StageError `json:"errors,omitempty"`
}

type scoredSpan struct {
	pipeline.Span
	Match string `json:"match"` // the matched text
}

func init() {
	register("score", func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("score", stderr)
		cfgPath := fs.String("config", "", "config `file` whose topics and enrich settings to use (default: none, all stages)")
		var queries queryFlags
		fs.Var(&queries, "query", "try a topic `QUERY` (repeatable; topic ids q1, q2, …)")
		lint := fs.Bool("lint", false, "lint the topic queries (of --config and --query) and exit")
		fs.Usage = func() {
			fmt.Fprintln(stderr, "usage: earshot score [--config FILE] [--query 'QUERY']… < lines\n\n"+
				"Reads plain text lines or JSON mentions on stdin and writes one JSON object per line:\n"+
				"the text with sentiment, language, topics and matched spans, entities and cluster id.")
			fs.PrintDefaults()
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		cfg := &Config{File: "(flags)"}
		if *cfgPath != "" {
			var err error
			if cfg, err = LoadConfig(*cfgPath); err != nil {
				return err
			}
		}
		for i, q := range queries {
			cfg.Topics = append(cfg.Topics, pipeline.Topic{ID: "q" + strconv.Itoa(i+1), Query: q})
		}
		if *lint {
			bad := false
			for _, t := range cfg.Topics {
				bad = printLint(stdout, t.ID, t.Query) || bad
			}
			if bad {
				return errors.New("some queries have errors")
			}
			return nil
		}
		chain, err := cfg.Chain(nil)
		if err != nil {
			return err
		}
		return score(ctx, chain, stdin, stdout)
	})
	register("lint-query", func(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("lint-query", stderr)
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			return fmt.Errorf("%w: earshot lint-query 'QUERY'", errUsage)
		}
		if printLint(stdout, "", fs.Arg(0)) {
			return errors.New("the query has errors")
		}
		return nil
	})
}

type queryFlags []string

func (q *queryFlags) String() string     { return strings.Join(*q, " | ") }
func (q *queryFlags) Set(v string) error { *q = append(*q, v); return nil }

var _ flag.Value = (*queryFlags)(nil)

// printLint writes the problems of one query with a caret under each, and
// reports whether any is an error.
func printLint(w io.Writer, id, q string) bool {
	probs := query.Lint(q)
	label := ""
	if id != "" {
		label = id + ": "
	}
	if len(probs) == 0 {
		fmt.Fprintf(w, "%sok: %s\n", label, q)
		return false
	}
	bad := false
	fmt.Fprintf(w, "%s%s\n", label, q)
	for _, p := range probs {
		fmt.Fprintf(w, "%s%s^ %s\n", strings.Repeat(" ", len(label)), strings.Repeat(" ", max(p.Col-1, 0)), p)
		bad = bad || p.Severity == query.SeverityError
	}
	return bad
}

// score enriches each input line and writes the result as JSON.
func score(ctx context.Context, chain []pipeline.Enricher, in io.Reader, out io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	bw := bufio.NewWriter(out)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	interactive := isTerminal(in)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := inputMention(line, n)
		if err != nil {
			return fmt.Errorf("stdin line %d: %w", n, err)
		}
		if err := pipeline.RunChain(ctx, chain, []*pipeline.Mention{m}, nil); err != nil {
			return err
		}
		if err := enc.Encode(toScored(m)); err != nil {
			return err
		}
		if interactive {
			bw.Flush()
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	return nil
}

// inputMention reads a JSON mention (a line starting with '{') or wraps plain text.
func inputMention(line string, n int) (*pipeline.Mention, error) {
	var m *pipeline.Mention
	if strings.HasPrefix(strings.TrimSpace(line), "{") {
		m = &pipeline.Mention{}
		if err := json.Unmarshal([]byte(line), m); err != nil {
			return nil, fmt.Errorf("not a JSON mention: %w", err)
		}
	} else {
		m = &pipeline.Mention{Text: line}
	}
	if m.ID == "" {
		m.ID = "stdin:" + strconv.Itoa(n)
	}
	if m.Platform == "" {
		m.Platform = "stdin"
	}
	if err := m.Normalize(time.Now()); err != nil {
		return nil, err
	}
	return m, nil
}

func toScored(m *pipeline.Mention) scored {
	e := m.Enrichment
	s := scored{ID: m.ID, Text: m.Text, Title: m.Title, Sentiment: e.Sentiment, Lang: e.Lang, LangConfidence: e.LangConfidence,
		Topics: nonNil(e.Topics), Hashtags: nonNil(e.Hashtags), Mentions: nonNil(e.Mentions), Cashtags: nonNil(e.Cashtags),
		Links: nonNil(e.Links), Domains: nonNil(e.Domains), Emoji: nonNil(e.Emoji), DupCluster: e.DupCluster,
		NeedsResponse: e.NeedsResponse, Trends: e.Trends, Errors: e.Errors, Spans: []scoredSpan{}}
	for _, sp := range e.Spans {
		src := m.Text
		if sp.Field == "title" {
			src = m.Title
		}
		match := ""
		if sp.Start >= 0 && sp.End <= len(src) && sp.Start <= sp.End {
			match = src[sp.Start:sp.End]
		}
		s.Spans = append(s.Spans, scoredSpan{Span: sp, Match: match})
	}
	return s
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}

// isTerminal reports whether r (a reader or a writer) is an interactive
// terminal.
func isTerminal(r any) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
