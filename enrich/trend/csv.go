package trend

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// CSVTimeLayout is the timestamp layout of DetectCSV's input and output
// (NAB's), read as UTC.
const CSVTimeLayout = "2006-01-02 15:04:05"

// ErrBadCSV is wrapped by DetectCSV errors about its input.
var ErrBadCSV = errors.New("bad detect csv")

// DetectCSV reads a NAB-format CSV (header "timestamp,value", then one
// count per row) and writes "timestamp,value,anomaly_score,alert" for every
// row, in order, each verdict using only the rows up to it. When
// cfg.Bucket is 0 the bucket width is the step between the first two rows;
// rows further apart than a bucket mean zero-count buckets in between, and
// windows shorter than that width are stretched to it (seasonal profiles
// are turned off for buckets over an hour).
// Errors name the input line.
func DetectCSV(r io.Reader, w io.Writer, cfg Config) error {
	probe := cfg
	if probe.Bucket == 0 {
		probe.Bucket = time.Minute // checked again once the rows tell the width
	}
	if err := probe.Validate(); err != nil {
		return err
	}
	cr := csv.NewReader(bufio.NewReaderSize(r, 64<<10))
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	if err := cw.Write([]string{"timestamp", "value", "anomaly_score", "alert"}); err != nil {
		return fmt.Errorf("write header: %w", err)
	}

	var (
		det     *Detector
		pending *csvRow // the first row, held until the bucket width is known
		prev    time.Time
		out     = make([]string, 4)
	)
	emit := func(row csvRow) error {
		res, err := det.Observe(row.t, row.v, 0)
		if err != nil {
			return fmt.Errorf("line %d: %w", row.line, err)
		}
		out[0], out[1] = row.ts, row.raw
		out[2] = strconv.FormatFloat(res.Score, 'f', 6, 64)
		out[3] = "0"
		if res.Alert {
			out[3] = "1"
		}
		if err := cw.Write(out); err != nil {
			return fmt.Errorf("write line %d: %w", row.line, err)
		}
		return nil
	}
	start := func(bucket time.Duration, line int) error {
		c := cfg
		if c.Bucket == 0 {
			c = c.fitBucket(bucket)
		}
		d, err := NewDetector(c)
		if err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		det = d
		return nil
	}

	line := 0
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		line++
		if err != nil {
			return fmt.Errorf("line %d: %w: %w", line, ErrBadCSV, err)
		}
		if line == 1 {
			if len(rec) != 2 || !strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(rec[0], "\ufeff")), "timestamp") ||
				!strings.EqualFold(strings.TrimSpace(rec[1]), "value") {
				return fmt.Errorf("line 1: header %q, want \"timestamp,value\": %w", strings.Join(rec, ","), ErrBadCSV)
			}
			continue
		}
		row, err := parseCSVRow(rec, line)
		if err != nil {
			return err
		}
		if !prev.IsZero() && !row.t.After(prev) {
			return fmt.Errorf("line %d: timestamp %s not after the previous row's %s: %w", line, row.ts, prev.Format(CSVTimeLayout), ErrBadCSV)
		}
		prev = row.t
		switch {
		case det != nil:
			if err := emit(row); err != nil {
				return err
			}
		case pending == nil && cfg.Bucket == 0:
			pending = &row
		default:
			bucket := cfg.Bucket
			if pending != nil {
				bucket = row.t.Sub(pending.t)
			}
			if err := start(bucket, line); err != nil {
				return err
			}
			if pending != nil {
				if err := emit(*pending); err != nil {
					return err
				}
				pending = nil
			}
			if err := emit(row); err != nil {
				return err
			}
		}
	}
	if pending != nil { // a single data row: no step to learn, nothing to say
		if err := start(time.Hour, pending.line); err != nil {
			return err
		}
		if err := emit(*pending); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

type csvRow struct {
	line    int
	t       time.Time
	v       float64
	ts, raw string
}

func parseCSVRow(rec []string, line int) (csvRow, error) {
	if len(rec) != 2 {
		return csvRow{}, fmt.Errorf("line %d: %d fields, want 2 (timestamp,value): %w", line, len(rec), ErrBadCSV)
	}
	ts := strings.TrimSpace(rec[0])
	t, err := time.Parse(CSVTimeLayout, ts)
	if err != nil {
		return csvRow{}, fmt.Errorf("line %d: timestamp %q, want layout %q: %w", line, rec[0], CSVTimeLayout, ErrBadCSV)
	}
	raw := strings.TrimSpace(rec[1])
	v, err := strconv.ParseFloat(raw, 64)
	if err != nil {
		return csvRow{}, fmt.Errorf("line %d: value %q is not a number: %w", line, rec[1], ErrBadCSV)
	}
	if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return csvRow{}, fmt.Errorf("line %d: value %q is not a count: %w", line, rec[1], ErrBadCSV)
	}
	return csvRow{line: line, t: t, v: v, ts: ts, raw: raw}, nil
}

// fitBucket returns c with Bucket set to b and every window at least as
// long as its validation needs for that bucket width.
func (c Config) fitBucket(b time.Duration) Config {
	c.Bucket = b
	if b > time.Hour {
		c.Seasonal = false
	}
	c.LevelWindow = max(c.LevelWindow, b)
	c.RampWindow = max(c.RampWindow, b)
	c.Windows = slices.Clone(c.Windows)
	for i := range c.Windows {
		c.Windows[i] = max(c.Windows[i], b)
	}
	c.ScaleHalfLife = max(c.ScaleHalfLife, b)
	c.DispersionHalfLife = max(c.DispersionHalfLife, b)
	c.LongWindow = max(c.LongWindow, 2*max(b, time.Hour))
	if c.Rarity > 0 {
		c.Rarity = max(c.Rarity, 2*b)
	}
	if c.WindowRarity > 0 {
		c.WindowRarity = max(c.WindowRarity, 2*b)
	}
	c.RarityHalfLife = max(c.RarityHalfLife, c.Rarity, c.WindowRarity)
	return c
}
