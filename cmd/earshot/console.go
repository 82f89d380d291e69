package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/console"
	"github.com/earshot-dev/earshot/enrich/topics"
	"github.com/earshot-dev/earshot/enrich/topics/query"
	"github.com/earshot-dev/earshot/pipeline"
)

func init() {
	register("console", func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("console", stderr)
		cfgPath := configFlag(fs)
		hash := fs.Bool("hash-password", false, "read a password from stdin and print the bcrypt hash for a console.auth.users_file line")
		if err := fs.Parse(args); err != nil {
			return err
		}
		if *hash {
			line, err := bufio.NewReader(stdin).ReadString('\n')
			if err != nil && line == "" {
				return fmt.Errorf("read password from stdin: %w", err)
			}
			h, err := console.HashPassword(strings.TrimRight(line, "\r\n"))
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, h)
			return nil
		}
		cfg, err := LoadConfig(*cfgPath)
		if err != nil {
			return err
		}
		if cfg.HTTP.Listen == "off" {
			return fmt.Errorf("%w: the console is served on http.listen, which is off in %s", errUsage, cfg.File)
		}
		return runRoles(ctx, cfg, roles{console: true}, nil)
	})
}

// newConsole builds the console on the process's ClickHouse and NATS (its
// live feed and the claims bucket),
// with the enrichment's own topic matcher and query linter.
func newConsole(ctx context.Context, in *infra) (*console.Server, error) {
	// Queue actions are decided in a KV bucket by compare-and-swap, so two
	// console replicas cannot both claim a mention.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	claims, err := pipeline.EnsureKeyValue(ctx, in.js, console.ClaimsBucketConfig(in.cfg.NATS.Streams.Replicas))
	if err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	return console.New(console.Options{
		Config:   in.cfg.Console,
		Listen:   in.cfg.HTTP.Listen,
		Store:    in.store,
		NATS:     in.nc,
		Claims:   claims,
		Topics:   in.cfg.Topics,
		Compile:  compileTopics,
		Lint:     lintQuery,
		Registry: in.reg,
		Logger:   in.log,
	})
}

func compileTopics(ts []pipeline.Topic) (console.Matcher, error) {
	m, err := topics.NewMatcher(ts)
	if err != nil {
		return nil, err
	}
	return m, nil
}

func lintQuery(q string) []console.LintProblem {
	var out []console.LintProblem
	for _, p := range query.Lint(q) {
		out = append(out, console.LintProblem{Severity: p.Severity.String(), Pos: p.Pos, End: p.End, Col: p.Col, Msg: p.Msg, Hint: p.Hint})
	}
	return out
}
