package trend

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

var start = time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC) // a Monday

func poisson(r *rand.Rand, lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	if lambda > 30 {
		return math.Max(0, math.Round(lambda+math.Sqrt(lambda)*r.NormFloat64()))
	}
	l, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// diurnal is a daily cycle between 0.4 and 1.6 times the mean.
func diurnal(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return 1 + 0.6*math.Sin(2*math.Pi*(h-9)/24)
}

type obs struct {
	t        time.Time
	count    float64
	negative float64
}

// synth returns days of 5-minute buckets around mean (with a daily cycle),
// 10% negative, then lets edit change buckets.
func synth(seed uint64, days int, mean float64, edit func(i int, o *obs)) []obs {
	r := rand.New(rand.NewPCG(seed, 1))
	n := days * 288
	out := make([]obs, n)
	for i := range out {
		t := start.Add(time.Duration(i) * 5 * time.Minute)
		c := poisson(r, mean*diurnal(t))
		neg := 0.0
		for range int(c) {
			if r.Float64() < 0.1 {
				neg++
			}
		}
		out[i] = obs{t, c, neg}
		if edit != nil {
			edit(i, &out[i])
		}
	}
	return out
}

func run(t *testing.T, cfg Config, series []obs) []Result {
	t.Helper()
	d, err := NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Result, len(series))
	for i, o := range series {
		if out[i], err = d.Observe(o.t, o.count, o.negative); err != nil {
			t.Fatalf("Observe(%s, %v, %v): %v", o.t, o.count, o.negative, err)
		}
	}
	return out
}

func alerts(rs []Result, from int) map[int]string {
	out := map[int]string{}
	for i, r := range rs[from:] {
		if r.Alert {
			out[from+i] = r.Kind
		}
	}
	return out
}

func TestDefaultConfigValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig().Validate() = %v; want nil", err)
	}
}

func TestValidateReportsEverything(t *testing.T) {
	c := DefaultConfig()
	c.Bucket = 0
	c.Threshold = 2
	c.DropRatio = 1.5
	c.Escalation = 0.5
	c.ZWindow = 0
	c.Windows = make([]time.Duration, 9)
	c.WindowRarity = -time.Hour
	err := c.Validate()
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("Validate() = %v; want ErrConfig", err)
	}
	for _, want := range []string{"bucket", "threshold", "drop_ratio", "escalation", "z_window", "windows", "window_rarity"} {
		if !contains(err.Error(), want) {
			t.Errorf("Validate() = %q; want it to name %q", err, want)
		}
	}
	if _, err := NewDetector(c); !errors.Is(err, ErrConfig) {
		t.Errorf("NewDetector(bad) error = %v; want ErrConfig", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

const warm = 7 * 288 // a week of history before injected events

func TestDetectsEachKind(t *testing.T) {
	cfg := DefaultConfig()
	for _, tc := range []struct {
		name  string
		mean  float64
		at    int // first bucket of the event
		edit  func(i int, o *obs)
		kind  string
		until int // the alert must come before this bucket
	}{
		{
			name: "spike", mean: 20, at: warm + 100,
			edit: func(i int, o *obs) {
				if i == warm+100 {
					o.count += 400
				}
			},
			kind: KindSpike, until: warm + 101,
		},
		{
			name: "silence", mean: 20, at: warm + 100,
			edit: func(i int, o *obs) {
				if i >= warm+100 {
					o.count, o.negative = 0, 0
				}
			},
			kind: KindDrop, until: warm + 100 + 36,
		},
		{
			name: "ramp", mean: 20, at: warm + 100,
			edit: func(i int, o *obs) {
				if i >= warm+100 { // +5% a bucket: x4 after 2.5 hours
					f := math.Min(4, 1+0.05*float64(i-warm-100))
					o.count = math.Round(o.count * f)
				}
			},
			kind: KindRamp, until: warm + 100 + 48,
		},
		{
			name: "negative surge at normal volume", mean: 20, at: warm + 100,
			edit: func(i int, o *obs) {
				if i >= warm+100 {
					o.negative = math.Round(o.count * 0.6)
				}
			},
			kind: KindNegativeSurge, until: warm + 100 + 36,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := run(t, cfg, synth(7, 9, tc.mean, tc.edit))
			got := alerts(rs, 288)
			first := -1
			for i := tc.at; i < tc.until; i++ {
				if got[i] != "" {
					first = i
					break
				}
			}
			if first < 0 || got[first] != tc.kind {
				t.Fatalf("alerts %v; want a %s alert in [%d, %d)", got, tc.kind, tc.at, tc.until)
			}
			for i, k := range got {
				if i < tc.at {
					t.Errorf("false alert %s at bucket %d (%s) before the event; z %.1f need %.1f", k, i, rs[i].Time, rs[i].Z, rs[i].ZNeeded)
				}
			}
		})
	}
}

func TestQuietOnNormalSeries(t *testing.T) {
	for _, mean := range []float64{0.05, 0.5, 5, 200} {
		rs := run(t, DefaultConfig(), synth(11, 21, mean, nil))
		if got := alerts(rs, 0); len(got) > 0 {
			t.Errorf("mean %v: %d alerts on a stationary Poisson series with a daily cycle: %v", mean, len(got), got)
		}
	}
}

func TestSparseNeedsVolume(t *testing.T) {
	// A series with 95% zero buckets: four mentions at once is improbable
	// but below MinSpike, so no alert; forty are an alert.
	for _, tc := range []struct {
		extra float64
		want  bool
	}{{4, false}, {40, true}} {
		rs := run(t, DefaultConfig(), synth(3, 10, 0.05, func(i int, o *obs) {
			if i == warm+50 {
				o.count += tc.extra
			}
		}))
		if got := rs[warm+50].Alert; got != tc.want {
			t.Errorf("sparse series + %v mentions: alert = %v; want %v (score %.2f, expected %.3f)", tc.extra, got, tc.want, rs[warm+50].Score, rs[warm+50].Expected)
		}
	}
}

func TestCooldownAndEscalation(t *testing.T) {
	rs := run(t, DefaultConfig(), synth(5, 9, 20, func(i int, o *obs) {
		switch i {
		case warm + 100:
			o.count += 300
		case warm + 112: // an hour later, as big: same event
			o.count += 300
		case warm + 124: // then far bigger: escalates
			o.count += 3000
		}
	}))
	for _, tc := range []struct {
		i    int
		want bool
	}{{warm + 100, true}, {warm + 112, false}, {warm + 124, true}} {
		if got := rs[tc.i].Alert; got != tc.want {
			t.Errorf("bucket %d: alert = %v; want %v (z %.1f, need %.1f)", tc.i, got, tc.want, rs[tc.i].Z, rs[tc.i].ZNeeded)
		}
	}
}

func TestCausal(t *testing.T) {
	// Two series that agree up to bucket cut must get identical results
	// up to it, whatever follows.
	a := synth(9, 8, 30, nil)
	b := synth(9, 8, 30, func(i int, o *obs) {
		if i >= 1500 {
			o.count = o.count*3 + 100
		}
	})
	ra, rb := run(t, DefaultConfig(), a), run(t, DefaultConfig(), b)
	for i := range 1500 {
		if !reflect.DeepEqual(ra[i], rb[i]) {
			t.Fatalf("bucket %d: results differ on a shared prefix: %+v vs %+v", i, ra[i], rb[i])
		}
	}
}

func TestStateRoundTrip(t *testing.T) {
	cfg := DefaultConfig()
	series := synth(13, 16, 15, func(i int, o *obs) {
		if i == 3000 || i == 4000 {
			o.count += 300
		}
	})
	want := run(t, cfg, series)

	d, err := NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cut := 3500
	for _, o := range series[:cut] {
		if _, err := d.Observe(o.t, o.count, o.negative); err != nil {
			t.Fatal(err)
		}
	}
	b, err := d.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	d2, err := NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.UnmarshalBinary(b); err != nil {
		t.Fatalf("UnmarshalBinary: %v", err)
	}
	for i, o := range series[cut:] {
		got, err := d2.Observe(o.t, o.count, o.negative)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want[cut+i]) {
			t.Fatalf("bucket %d after restore = %+v; want %+v", cut+i, got, want[cut+i])
		}
	}
	if len(b) > 64<<10 {
		t.Errorf("state is %d bytes; want it small enough for a KV value (< 64 KiB)", len(b))
	}
	for _, bad := range []string{`{`, `{"v":99}`, `{"v":1,"daily":[]}`} {
		if err := d2.UnmarshalBinary([]byte(bad)); !errors.Is(err, ErrState) {
			t.Errorf("UnmarshalBinary(%q) = %v; want ErrState", bad, err)
		}
	}
}

func TestObserveErrors(t *testing.T) {
	d, err := NewDetector(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Observe(start, 3, 1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name            string
		t               time.Time
		count, negative float64
		want            error
	}{
		{"same bucket", start.Add(time.Minute), 1, 0, ErrOutOfOrder},
		{"earlier", start.Add(-time.Hour), 1, 0, ErrOutOfOrder},
		{"negative count", start.Add(time.Hour), -1, 0, ErrBadValue},
		{"NaN", start.Add(time.Hour), math.NaN(), 0, ErrBadValue},
		{"more negative than count", start.Add(time.Hour), 2, 3, ErrBadValue},
	} {
		if _, err := d.Observe(tc.t, tc.count, tc.negative); !errors.Is(err, tc.want) {
			t.Errorf("Observe(%s) error = %v; want %v", tc.name, err, tc.want)
		}
	}
}

func TestGapsAreZeros(t *testing.T) {
	series := synth(17, 3, 10, nil)
	// The same series with every 7th bucket zero, observed with and
	// without those buckets, gives the same verdicts.
	full := make([]obs, len(series))
	var sparse []obs
	for i, o := range series {
		if i%7 == 3 {
			o.count, o.negative = 0, 0
		} else {
			sparse = append(sparse, o)
		}
		full[i] = o
	}
	rf, rs := run(t, DefaultConfig(), full), run(t, DefaultConfig(), sparse)
	j := 0
	for i := range full {
		if i%7 == 3 {
			continue
		}
		if !reflect.DeepEqual(rf[i], rs[j]) {
			t.Fatalf("bucket %d: with gap %+v; with zero %+v", i, rs[j], rf[i])
		}
		j++
	}
}

func TestLearnsWeekends(t *testing.T) {
	// Weekends at 30% of weekday volume, from a Thursday on (as NAB's
	// Twitter series): Saturday is news, at most one alert per kind; from
	// Sunday on the day-type profile knows weekends are quiet, long before
	// a whole week of history; from the second week the hour-of-week
	// profile does. No more alerts.
	thursday := start.Add(3 * 24 * time.Hour)
	for _, mean := range []float64{5, 50} {
		r := rand.New(rand.NewPCG(21, 22))
		series := synth(23, 28, mean, func(i int, o *obs) {
			o.t = o.t.Add(3 * 24 * time.Hour)
			if wd := o.t.Weekday(); wd == time.Saturday || wd == time.Sunday {
				o.count = poisson(r, 0.3*mean*diurnal(o.t))
				o.negative = 0
			}
		})
		rs := run(t, DefaultConfig(), series)
		sunday := 3 * 288
		perKind := map[string]int{}
		for i, k := range alerts(rs, 0) {
			if i >= sunday {
				t.Errorf("mean %v: alert %s at bucket %d (%s) after the first Saturday; z %.1f need %.1f", mean, k, i, rs[i].Time, rs[i].Z, rs[i].ZNeeded)
			}
			perKind[k]++
		}
		for k, n := range perKind {
			if n > 1 {
				t.Errorf("mean %v: %d %s alerts on the first Saturday; want at most one", mean, n, k)
			}
		}
		// Before a whole week, Sunday noon expects far less than the
		// next Monday noon.
		sun, mon := rs[sunday+144], rs[sunday+288+144]
		if sun.Time.Weekday() != time.Sunday || mon.Time.Weekday() != time.Monday || !sun.Time.After(thursday) {
			t.Fatalf("bad test: buckets at %s and %s", sun.Time, mon.Time)
		}
		if !(sun.Seasonal < 0.6*mon.Seasonal) {
			t.Errorf("mean %v: seasonal factor Sunday noon %.2f, Monday noon %.2f; want Sunday below 60%% of Monday", mean, sun.Seasonal, mon.Seasonal)
		}
	}
}

func TestQuietSeriesSilenceNeedsLongWindow(t *testing.T) {
	// 0.2 mentions per bucket: three hours expect 7 mentions, too few for a
	// drop (MinDrop 20), twelve hours 29. Twelve silent hours are a drop
	// with the default 12h window, and nothing without it.
	const at = warm + 100
	series := synth(29, 10, 0.2, func(i int, o *obs) {
		if i >= at && i < at+12*12+24 {
			o.count, o.negative = 0, 0
		}
	})
	for _, tc := range []struct {
		name    string
		windows []time.Duration
		want    bool
	}{{"default windows", DefaultConfig().Windows, true}, {"no extra windows", nil, false}} {
		cfg := DefaultConfig()
		cfg.Windows = tc.windows
		rs := run(t, cfg, series)
		found := false
		for i, k := range alerts(rs, 288) {
			if k == KindDrop && i >= at && i < at+12*12+24 {
				found = true
			} else {
				t.Errorf("%s: unexpected %s alert at bucket %d (%s)", tc.name, k, i, rs[i].Time)
			}
		}
		if found != tc.want {
			t.Errorf("%s: drop alert during 12 silent hours = %v; want %v", tc.name, found, tc.want)
		}
	}
}

func TestLongGapKeepsProfile(t *testing.T) {
	// Two weeks, then nothing for ten and a half days (beyond
	// maxGapBuckets at 1m buckets, so the short-term state restarts), then
	// a week more: the seasonal profile survives the gap, still aligned to
	// the clock, and the quiet series stays quiet.
	cfg := DefaultConfig()
	cfg.Bucket = time.Minute
	cfg.LevelWindow, cfg.RampWindow = 2*time.Hour, 3*time.Hour
	d, err := NewDetector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(31, 32))
	feed := func(from time.Time, days int) []Result {
		var out []Result
		for i := range days * 24 * 60 {
			ts := from.Add(time.Duration(i) * time.Minute)
			res, err := d.Observe(ts, poisson(r, 4*diurnal(ts)), 0)
			if err != nil {
				t.Fatalf("Observe(%s): %v", ts, err)
			}
			out = append(out, res)
		}
		return out
	}
	feed(start, 14)
	after := feed(start.Add(24*24*time.Hour+12*time.Hour), 7) // resumes at noon
	// diurnal peaks at 15:00 and bottoms at 03:00.
	if peak, low := after[3*60].Seasonal, after[15*60].Seasonal; !(peak > 1.2 && low < 0.8) {
		t.Errorf("seasonal factor after the gap: %v at %s, %v at %s; want above 1.2 and below 0.8",
			peak, after[3*60].Time.Format("15:04"), low, after[15*60].Time.Format("15:04"))
	}
	for i, res := range after {
		if res.Alert {
			t.Errorf("alert %s at %s after the gap (z %.1f need %.1f)", res.Kind, res.Time, res.Z, res.ZNeeded)
		}
		if i > 0 && !res.Warm && i > int(cfg.Warmup/time.Minute) {
			t.Fatalf("not warm at %s, %s after the gap", res.Time, time.Duration(i)*time.Minute)
		}
	}
}

// TestObserveMuted: a burst observed muted (a backlog) does not alert,
// says it would have, and starts no cooldown or event: the same burst
// repeated an hour later, live, pages. The muted buckets still teach the
// baseline: the live verdicts equal those of a detector fed every bucket
// unmuted, except for what the muted alert would have held back.
func TestObserveMuted(t *testing.T) {
	series := synth(5, 9, 20, func(i int, o *obs) {
		switch i {
		case warm + 100:
			o.count += 300
		case warm + 112: // an hour later, as big
			o.count += 300
		}
	})
	d, err := NewDetector(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ref, err := NewDetector(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range series {
		observe := d.Observe
		if i <= warm+100 {
			observe = d.ObserveMuted
		}
		r, err := observe(o.t, o.count, o.negative)
		if err != nil {
			t.Fatal(err)
		}
		rr, err := ref.Observe(o.t, o.count, o.negative)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case i == warm+100:
			if r.Alert || !r.Muted || r.Event != nil {
				t.Errorf("muted burst: alert %v muted %v event %v; want muted, no alert, no event", r.Alert, r.Muted, r.Event)
			}
			if !rr.Alert {
				t.Fatalf("reference detector does not alert on the burst (z %.1f need %.1f)", rr.Z, rr.ZNeeded)
			}
		case i == warm+112:
			if !r.Alert || r.Muted {
				t.Errorf("live repeat after a muted burst: alert %v muted %v (z %.1f need %.1f); want an alert", r.Alert, r.Muted, r.Z, r.ZNeeded)
			}
			if rr.Alert {
				t.Errorf("reference detector alerted twice within its cooldown")
			}
		case i < warm+100:
			if r.Muted || r.Alert || r.Expected != rr.Expected {
				t.Fatalf("bucket %d: muted %v alert %v expected %v vs %v; a quiet muted bucket must learn as an unmuted one", i, r.Muted, r.Alert, r.Expected, rr.Expected)
			}
		}
	}
}
