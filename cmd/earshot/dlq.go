package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/earshot-dev/earshot/pipeline"
)

// seqList is a repeatable, comma-separated list of dead-letter sequences.
type seqList []uint64

func (s *seqList) String() string {
	parts := make([]string, len(*s))
	for i, v := range *s {
		parts[i] = strconv.FormatUint(v, 10)
	}
	return strings.Join(parts, ",")
}

func (s *seqList) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil || n == 0 {
			return fmt.Errorf("%q is not a dead-letter id (the ID column of 'earshot dlq list')", p)
		}
		*s = append(*s, n)
	}
	return nil
}

func init() {
	register("dlq", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		if len(args) == 0 || (args[0] != "list" && args[0] != "replay") {
			return fmt.Errorf("%w: want 'earshot dlq list [--stage S] [--reason R] [-n N]' or 'earshot dlq replay [--stage S] [--reason R] [--id ID,…]'", errUsage)
		}
		sub := args[0]
		fs := newFlagSet("dlq "+sub, stderr)
		cfgPath := configFlag(fs)
		var f pipeline.DeadLetterFilter
		fs.StringVar(&f.Stage, "stage", "", "only dead letters of this `stage` (enrich, sink)")
		fs.StringVar(&f.Reason, "reason", "", "only dead letters whose reason contains this `text` (case-insensitive)")
		var n int
		var ids seqList
		if sub == "list" {
			fs.IntVar(&n, "n", 50, "show the newest `N` (0: all)")
		} else {
			fs.Var(&ids, "id", "only these dead letters (`ID`s from 'dlq list'; repeat or separate with commas)")
		}
		cfg, err := parseAndLoad(fs, cfgPath, args[1:])
		if err != nil {
			return err
		}
		f.Seqs = ids
		cfg.Log.Level = "warn"
		in := newInfra(cfg)
		defer in.Close()
		if err := in.openNATS(ctx, false); err != nil {
			return err
		}
		if sub == "list" {
			return dlqList(ctx, in.js, stdout, f, n)
		}
		return dlqReplay(ctx, in.js, stdout, f)
	})
}

// dlqList prints the selected dead letters, oldest first.
func dlqList(ctx context.Context, js jetstream.JetStream, w io.Writer, f pipeline.DeadLetterFilter, n int) error {
	dls, err := pipeline.ListDeadLetters(ctx, js, f, n)
	if err != nil {
		return err
	}
	if len(dls) == 0 {
		fmt.Fprintln(w, "no dead letters")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTAGE\tTIME\tBYTES\tREPLAYS\tMENTION\tREASON")
	for _, d := range dls {
		size := strconv.Itoa(d.Size)
		if d.Truncated() {
			size = fmt.Sprintf("%d of %d (truncated)", d.Size, d.OrigSize)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\t%s\n", d.Seq, d.Stage, d.Time.Format(time.RFC3339), size, d.Replays,
			orDash(d.MentionID), oneLine(d.Reason))
	}
	return tw.Flush()
}

// dlqReplay republishes the selected dead letters to their stage's input.
func dlqReplay(ctx context.Context, js jetstream.JetStream, w io.Writer, f pipeline.DeadLetterFilter) error {
	res, err := pipeline.ReplayDeadLetters(ctx, js, f)
	byStage := map[string]int{}
	for _, d := range res.Replayed {
		byStage[d.Stage]++
	}
	var parts []string
	for _, s := range []string{"enrich", "sink"} {
		if byStage[s] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", s, byStage[s]))
			delete(byStage, s)
		}
	}
	for s, c := range byStage {
		parts = append(parts, fmt.Sprintf("%s %d", s, c))
	}
	fmt.Fprintf(w, "replayed %d dead letters", len(res.Replayed))
	if len(parts) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(parts, ", "))
	}
	fmt.Fprintln(w)
	for _, e := range res.Skipped {
		fmt.Fprintf(w, "skipped: %v\n", e)
	}
	if err != nil {
		return err
	}
	if len(res.Skipped) > 0 {
		return fmt.Errorf("%d dead letters not replayed: %w", len(res.Skipped), errors.Join(res.Skipped...))
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		cut := 200
		for cut > 0 && s[cut]&0xC0 == 0x80 {
			cut--
		}
		s = s[:cut] + "…"
	}
	return s
}
