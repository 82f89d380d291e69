package trend

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func nabCSV(series []obs) string {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	for _, o := range series {
		fmt.Fprintf(&b, "%s,%g\n", o.t.Format(CSVTimeLayout), o.count)
	}
	return b.String()
}

func TestDetectCSVMatchesDetector(t *testing.T) {
	series := synth(21, 9, 20, func(i int, o *obs) {
		o.negative = 0
		if i == warm+100 {
			o.count += 400
		}
	})
	var out bytes.Buffer
	cfg := DefaultConfig()
	cfg.Bucket = 0 // learn it from the rows
	if err := DetectCSV(strings.NewReader(nabCSV(series)), &out, cfg); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != len(series)+1 {
		t.Fatalf("DetectCSV wrote %d rows; want %d and a header", len(recs)-1, len(series))
	}
	if got := strings.Join(recs[0], ","); got != "timestamp,value,anomaly_score,alert" {
		t.Errorf("header = %q", got)
	}
	want := run(t, DefaultConfig(), series)
	alertsSeen := 0
	for i, r := range recs[1:] {
		if r[0] != series[i].t.Format(CSVTimeLayout) {
			t.Fatalf("row %d timestamp %q; want %q", i, r[0], series[i].t.Format(CSVTimeLayout))
		}
		wantAlert := "0"
		if want[i].Alert {
			wantAlert = "1"
			alertsSeen++
		}
		if r[3] != wantAlert || r[2] != fmt.Sprintf("%.6f", want[i].Score) {
			t.Fatalf("row %d = %v; want score %.6f alert %s", i, r, want[i].Score, wantAlert)
		}
	}
	if alertsSeen == 0 {
		t.Error("no alert in a series with a 400-mention spike")
	}
}

func TestDetectCSVErrors(t *testing.T) {
	const ok = "2015-02-26 21:42:53,104\n2015-02-26 21:47:53,100\n"
	for _, tc := range []struct {
		name, in, line string
	}{
		{"bad header", "time,count\n" + ok, "line 1"},
		{"three fields", "timestamp,value\n" + ok + "2015-02-26 21:52:53,1,2\n", "line 4"},
		{"bad timestamp", "timestamp,value\n" + ok + "2015-02-26T21:52:53,1\n", "line 4"},
		{"bad value", "timestamp,value\n" + ok + "2015-02-26 21:52:53,many\n", "line 4"},
		{"negative value", "timestamp,value\n" + ok + "2015-02-26 21:52:53,-3\n", "line 4"},
		{"not after previous", "timestamp,value\n" + ok + "2015-02-26 21:47:53,3\n", "line 4"},
		{"NaN", "timestamp,value\n" + ok + "2015-02-26 21:52:53,NaN\n", "line 4"},
	} {
		err := DetectCSV(strings.NewReader(tc.in), &bytes.Buffer{}, DefaultConfig())
		if !errors.Is(err, ErrBadCSV) || !strings.Contains(err.Error(), tc.line) {
			t.Errorf("DetectCSV(%s) error = %v; want ErrBadCSV naming %s", tc.name, err, tc.line)
		}
	}
}

func TestDetectCSVShortInputs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		rows int
	}{
		{"timestamp,value\n", 0},
		{"timestamp,value\n2015-02-26 21:42:53,104\n", 1},
	} {
		var out bytes.Buffer
		if err := DetectCSV(strings.NewReader(tc.in), &out, Config{}); err == nil {
			// Config{} is invalid apart from the bucket, which DetectCSV fills.
			t.Errorf("DetectCSV(%q, Config{}) = nil; want a config error", tc.in)
		}
		cfg := DefaultConfig()
		cfg.Bucket = 0
		out.Reset()
		if err := DetectCSV(strings.NewReader(tc.in), &out, cfg); err != nil {
			t.Fatalf("DetectCSV(%q) = %v", tc.in, err)
		}
		if got := strings.Count(out.String(), "\n") - 1; got != tc.rows {
			t.Errorf("DetectCSV(%q) wrote %d rows; want %d", tc.in, got, tc.rows)
		}
	}
}

func TestDetectCSVDailyBuckets(t *testing.T) {
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 120 {
		v := 100 + i%7
		if i == 100 {
			v = 5000
		}
		fmt.Fprintf(&b, "%s,%d\n", day.AddDate(0, 0, i).Format(CSVTimeLayout), v)
	}
	cfg := DefaultConfig()
	cfg.Bucket = 0
	var out bytes.Buffer
	if err := DetectCSV(strings.NewReader(b.String()), &out, cfg); err != nil {
		t.Fatalf("DetectCSV(daily rows) = %v", err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 121 || recs[101][3] != "1" {
		t.Errorf("DetectCSV(daily rows): %d rows, row 100 = %v; want 120 rows and an alert at row 100", len(recs)-1, recs[min(101, len(recs)-1)])
	}
}
