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
	"time"

	"github.com/earshot-dev/earshot/enrich/detect"
	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

func init() {
	register("detect", func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("detect", stderr)
		cfgPath := configFlag(fs)
		input := fs.String("input", "", "score a NAB-format CSV `file` (timestamp,value; - for stdin) offline instead of running the streaming role")
		output := fs.String("output", "", "with --input: write timestamp,value,anomaly_score,alert to this `file` (default stdout)")
		bucket := fs.Duration("bucket", 0, "with --input: the rows' bucket `width` (default: the step between the first two rows)")
		fs.Usage = func() {
			fmt.Fprint(fs.Output(), `usage: earshot detect [--config FILE]
       earshot detect --input FILE.csv [--output FILE] [--bucket 5m] [--config FILE]

Without --input: the streaming detect role. It counts enriched mentions per
topic, platform and overall (config section detect:), alerts on spikes,
drops, ramps and negative surges to NATS alerts.<kind>, ClickHouse and
Prometheus. Run as many replicas as wanted: one counts, the others stand by.

With --input: runs the detector over a CSV of counts and prints each row's
score; detect.detector settings apply when --config is given.

`)
			fs.PrintDefaults()
		}
		if err := fs.Parse(args); err != nil {
			return err
		}
		configSet := false
		fs.Visit(func(f *flag.Flag) { configSet = configSet || f.Name == "config" })
		if *input == "" {
			if *output != "" || *bucket != 0 {
				return fmt.Errorf("%w: --output and --bucket need --input", errUsage)
			}
			cfg, err := LoadConfig(*cfgPath)
			if err != nil {
				return err
			}
			return runRoles(ctx, cfg, roles{detect: true}, nil)
		}
		tc := trend.DefaultConfig()
		tc.Bucket = *bucket
		if configSet {
			cfg, err := LoadConfig(*cfgPath)
			if err != nil {
				return err
			}
			tc = cfg.Detect.Detector.Trend(*bucket)
		}
		return detectCSV(*input, *output, tc, stdin, stdout)
	})
}

// detectCSV runs trend.DetectCSV from a file (or stdin) to a file (or
// stdout). The output file is replaced only when scoring succeeded.
func detectCSV(input, output string, tc trend.Config, stdin io.Reader, stdout io.Writer) error {
	in := stdin
	if input != "-" {
		f, err := os.Open(input)
		if err != nil {
			return fmt.Errorf("detect --input: %w", err)
		}
		defer f.Close()
		in = f
	}
	if output == "" {
		w := bufio.NewWriter(stdout)
		if err := trend.DetectCSV(in, w, tc); err != nil {
			return fmt.Errorf("%s: %w", input, err)
		}
		return w.Flush()
	}
	tmp, err := os.CreateTemp(dirOf(output), ".earshot-detect-*.csv")
	if err != nil {
		return fmt.Errorf("detect --output: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := trend.DetectCSV(in, tmp, tc); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", input, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("detect --output: %w", err)
	}
	if err := os.Rename(tmp.Name(), output); err != nil {
		return fmt.Errorf("detect --output: %w", err)
	}
	return nil
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if os.IsPathSeparator(path[i]) {
			return path[:i+1]
		}
	}
	return "."
}

// runDetect runs the streaming detect role on the process's connections;
// alerts go to ClickHouse when the process has a store.
func runDetect(ctx context.Context, cfg *Config, in *infra) error {
	var store detect.AlertStore
	if in.store != nil {
		store = alertStore{in.store}
	}
	r := &detect.Runner{JS: in.js, Config: cfg.Detect, Topics: cfg.Topics, Store: store, Metrics: in.metrics, Logger: in.log}
	return r.Run(ctx)
}

// alertStore adapts the ClickHouse store to detect.AlertStore: enrich
// packages never import sink packages; cmd wires them.
type alertStore struct{ s *clickhouse.Store }

var _ detect.AlertStore = alertStore{}

// WriteAlert stores one alert in the alerts table. The platform "_all" is
// stored as "" (all platforms); the window is the alert's, whole seconds.
func (a alertStore) WriteAlert(ctx context.Context, al detect.Alert) error {
	expl, err := json.Marshal(al.Explanation)
	if err != nil {
		return fmt.Errorf("alert %s: explanation: %w: %w", al.ID, detect.ErrAlertRejected, err)
	}
	platform := al.Platform
	if platform == detect.All {
		platform = ""
	}
	err = a.s.WriteAlert(ctx, clickhouse.Alert{
		ID: al.ID, Topic: al.Topic, Platform: platform, Kind: al.Kind,
		StartedAt: al.WindowStart, DetectedAt: al.DetectedAt, Window: al.Window().Truncate(time.Second),
		Observed: al.Observed, Baseline: al.Expected, Score: al.Score, NegativeShare: al.NegativeShare,
		Explanation: expl, SampleIDs: al.SampleIDs,
		Status: al.Status, Severity: al.Severity, EventID: al.EventID,
		FirstBucket: al.FirstBucket, LastBucket: al.LastBucket, Peak: al.Peak, PeakAt: al.PeakAt,
	})
	if errors.Is(err, clickhouse.ErrInvalidAlert) || errors.Is(err, clickhouse.ErrRejected) {
		return fmt.Errorf("%w: %w", detect.ErrAlertRejected, err)
	}
	return err
}
