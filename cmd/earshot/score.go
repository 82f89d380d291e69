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
		cfgPath := configFlag(fs)
		var queries queryFlags
		fs.Var(&queries, "query", "try a topic `QUERY` (repeatable; topic ids q1, q2, …)")
		lint := fs.Bool("lint", false, "lint the topic queries (of --config and --query) and exit: 1 when any has an error")
		format := fs.String("format", inputAuto, "stdin `format`: text (each line is a post), json (each line is a JSON mention) or auto (a line that parses as a JSON object is a mention, any other is text)")
		fs.Usage = func() {
			fmt.Fprintln(stderr, "usage: earshot score [--config FILE] [--query 'QUERY']… [--format auto|text|json] < lines\n\n"+
				"Reads plain text lines or JSON mentions on stdin and writes one JSON object per line:\n"+
				"the text with sentiment, language, topics and matched spans, entities and cluster id.\n"+
				"--config '' uses no config: no topics, every stage with its defaults.")
			fs.PrintDefaults()
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		switch *format {
		case inputAuto, inputText, inputJSON:
		default:
			return fmt.Errorf("%w: --format %q: want auto, text or json", errUsage, *format)
		}
		explicit := false
		fs.Visit(func(f *flag.Flag) { explicit = explicit || f.Name == "config" })
		cfg := &Config{File: "(flags)"}
		if *cfgPath != "" {
			var err error
			if _, statErr := os.Stat(*cfgPath); !explicit && errors.Is(statErr, os.ErrNotExist) {
				fmt.Fprintf(stderr, "earshot score: %s not found: no topics, every stage with its defaults (set --config)\n", *cfgPath)
			} else if cfg, err = LoadConfig(*cfgPath); err != nil {
				return err
			}
		}
		for i, q := range queries {
			cfg.Topics = append(cfg.Topics, pipeline.Topic{ID: "q" + strconv.Itoa(i+1), Query: q})
		}
		if *lint {
			if len(cfg.Topics) == 0 {
				return fmt.Errorf("%w: nothing to lint: %s has no topics and no --query was given", errUsage, cfg.File)
			}
			bad := 0
			for _, t := range cfg.Topics {
				if printLint(stdout, t.ID, t.Query) {
					bad++
				}
			}
			fmt.Fprintf(stdout, "%d queries linted, %d with errors\n", len(cfg.Topics), bad)
			if bad > 0 {
				return fmt.Errorf("%d of %d queries have errors", bad, len(cfg.Topics))
			}
			return nil
		}
		chain, err := cfg.Chain(nil)
		if err != nil {
			return err
		}
		return score(ctx, chain, *format, stdin, stdout, stderr)
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

// Input formats of `earshot score`.
const (
	inputAuto = "auto"
	inputText = "text"
	inputJSON = "json"
)

// score enriches each input line and writes the result as JSON. A line it
// cannot use is reported on stderr with its number, and the others go on;
// the error at the end counts them.
func score(ctx context.Context, chain []pipeline.Enricher, format string, in io.Reader, out, stderr io.Writer) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	bw := bufio.NewWriter(out)
	defer bw.Flush()
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	interactive := isTerminal(in)
	skipped := 0
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		m, err := inputMention(line, n, format)
		if err != nil {
			bw.Flush()
			fmt.Fprintf(stderr, "earshot score: stdin line %d: %v\n", n, err)
			skipped++
			continue
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
	if skipped > 0 {
		return fmt.Errorf("%d stdin lines were not scored (see above)", skipped)
	}
	return nil
}

// inputMention reads a line as a JSON mention or as plain text. In auto
// format a line is a mention when it parses as a JSON object, and text
// otherwise: `{New Post} Acme …` is a post, not an error.
func inputMention(line string, n int, format string) (*pipeline.Mention, error) {
	var m *pipeline.Mention
	switch format {
	case inputText:
	case inputJSON:
		m = &pipeline.Mention{}
		if err := json.Unmarshal([]byte(line), m); err != nil {
			return nil, fmt.Errorf("not a JSON mention (--format json): %w", err)
		}
	default:
		if strings.HasPrefix(strings.TrimSpace(line), "{") {
			m = &pipeline.Mention{}
			if err := json.Unmarshal([]byte(line), m); err != nil {
				m = nil
			}
		}
	}
	if m == nil {
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
