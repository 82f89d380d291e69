// Command earshot is the social listening pipeline: one binary, one role per
// subcommand. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

const usage = `earshot — social listening ingestion pipeline

usage: earshot <command> [flags]

roles (all read the same --config file):
  run         everything in one process; embedded NATS and a managed local
              ClickHouse when nats.url / clickhouse.addr are empty
  demo        run, fed by a bundled offline corpus served over local HTTP
  connect     connectors only (needs nats.url or a running 'earshot run')
  enrich      enrichment only
  sink        ClickHouse sink only
  detect      spike, drop and negative-surge detection on the enriched stream
              (with --input FILE.csv: run the detector over a NAB-style series)
  migrate     create or upgrade the ClickHouse schema, then exit
  tail        print the enriched stream, one JSON mention per line
  console     the web console for community managers alone (every role
              with ClickHouse also serves it at / of http.listen)

tools:
  check       validate the config file and exit
  score       enrich text lines or JSON mentions from stdin, print JSON
  lint-query  explain what is wrong with a topic query
  query       run one SQL statement against the configured ClickHouse
  bench       measure the pipeline on this machine, next to baselines
  dlq         list dead-lettered messages, or replay them once the cause is fixed
  backtest    how many stored mentions a topic query would have matched
  reenrich    run the current enrichment over stored mentions, write new versions
  version     print the version

run 'earshot <command> -h' for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// command is one subcommand.
type command struct {
	run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(name string, run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error) {
	commands[name] = command{run: run}
}

// errUsage marks a usage error (exit code 2).
var errUsage = errors.New("usage")

// Main runs one command and returns the process exit code.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stderr, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "earshot: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	stopProfile := startProfile(ctx) // only in processes `earshot bench --profile` starts
	serveRuntimeStats(ctx)           // only in the earshot process `earshot bench` starts
	err := cmd.run(ctx, args[1:], stdin, stdout, stderr)
	stopProfile()
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "earshot %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "earshot %s: %v\n", args[0], err)
		return 1
	}
}

// configFlag adds the --config flag every role shares.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", "deploy/earshot.yaml", "config `file`")
}

// parseAndLoad parses a command's flags, then loads its --config file.
func parseAndLoad(fs *flag.FlagSet, cfgPath *string, args []string) (*Config, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return LoadConfig(*cfgPath)
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("earshot "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func init() {
	register("version", func(_ context.Context, _ []string, _ io.Reader, stdout, _ io.Writer) error {
		fmt.Fprintln(stdout, "earshot", version)
		return nil
	})
	register("check", func(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("check", stderr)
		cfgPath := configFlag(fs)
		cfg, err := parseAndLoad(fs, cfgPath, args)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: ok (%d topics, %d connectors)\n", cfg.File, len(cfg.Topics), len(cfg.Connectors))
		return nil
	})
}
