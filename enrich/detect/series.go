package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/enrich/trend"
)

// All is the topic or platform value of a series that spans every topic or
// every platform.
const All = "_all"

// SeriesID names one series: a resolution and a scope. Per topic:
// {Topic: "acme", Platform: All}; per platform: {Topic: All, Platform:
// "twitter"}; overall: {All, All}.
type SeriesID struct {
	Resolution time.Duration
	Topic      string
	Platform   string
}

// String is the series key, "60s|acme|_all"; ParseSeriesID reverses it.
func (s SeriesID) String() string {
	return strconv.FormatInt(int64(s.Resolution/time.Second), 10) + "s|" + s.Topic + "|" + s.Platform
}

// ParseSeriesID parses a String.
func ParseSeriesID(key string) (SeriesID, error) {
	parts := strings.SplitN(key, "|", 3)
	if len(parts) != 3 || !strings.HasSuffix(parts[0], "s") {
		return SeriesID{}, fmt.Errorf("series key %q: want <seconds>s|<topic>|<platform>", key)
	}
	secs, err := strconv.ParseInt(strings.TrimSuffix(parts[0], "s"), 10, 64)
	if err != nil || secs <= 0 {
		return SeriesID{}, fmt.Errorf("series key %q: bad resolution", key)
	}
	return SeriesID{Resolution: time.Duration(secs) * time.Second, Topic: parts[1], Platform: parts[2]}, nil
}

// rank orders scopes from narrow to broad: topics, platforms, overall.
func (s SeriesID) rank() int {
	switch {
	case s.Topic != All:
		return 0
	case s.Platform != All:
		return 1
	default:
		return 2
	}
}

// covers reports whether s's scope includes o's (equal scopes included).
func (s SeriesID) covers(o SeriesID) bool {
	return (s.Topic == All || s.Topic == o.Topic) && (s.Platform == All || s.Platform == o.Platform)
}

// kvKey is the series' checkpoint key in the KV bucket.
func (s SeriesID) kvKey() string {
	return seriesKeyPrefix + strconv.FormatInt(int64(s.Resolution/time.Second), 10) + "." + kvToken(s.Topic) + "." + kvToken(s.Platform)
}

const seriesKeyPrefix = "series."

// resLabel is the resolution as a metric label value: "1m", "5m", "30s", "1h".
func resLabel(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		return strconv.FormatInt(int64(d/time.Hour), 10) + "h"
	case d%time.Minute == 0:
		return strconv.FormatInt(int64(d/time.Minute), 10) + "m"
	default:
		return strconv.FormatInt(int64(d/time.Second), 10) + "s"
	}
}

// series is one series' open buckets and detector.
type series struct {
	id      SeriesID
	key     string
	kv      string // id.kvKey()
	qkey    []byte // key as a JSON string
	cfg     trend.Config
	buckets *trend.Series
	// open mirrors the non-empty open buckets of buckets, by start, for the
	// checkpoint (trend.Series does not expose them).
	open map[int64]*trend.Bucket
	// openJSON is open as the state record encodes it, while openEncoded:
	// whatever changes open clears it.
	openJSON    []byte
	openEncoded bool
	det         *trend.Detector
	// last is the start of the last bucket the detector observed.
	last    time.Time
	lastRes trend.Result
	dirty   bool // detector state changed since the last checkpoint
	// event is the open event an emitted alert announced, until its
	// resolved event is emitted.
	event *openEvent
}

// openEvent is an event announced by an alert and not yet resolved.
type openEvent struct {
	ID       string    `json:"id"`       // the id of the alert that opened it
	Detector time.Time `json:"detector"` // the detector's Event.First
	Severity string    `json:"severity"` // highest severity alerted
}

func newSeries(id SeriesID, cfg trend.Config, grace time.Duration) (*series, error) {
	det, err := trend.NewDetector(cfg)
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", id, err)
	}
	b, err := trend.NewSeries(id.Resolution, grace)
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", id, err)
	}
	key := id.String()
	qkey, err := json.Marshal(key)
	if err != nil {
		return nil, fmt.Errorf("series %s: %w", id, err)
	}
	return &series{id: id, key: key, kv: id.kvKey(), qkey: qkey, cfg: cfg, buckets: b, open: map[int64]*trend.Bucket{}, det: det}, nil
}

// floor is the start of t's bucket at resolution res, aligned to the Unix
// epoch as trend.Series aligns it.
func floor(t time.Time, res time.Duration) time.Time {
	ns, r := t.UnixNano(), int64(res)
	q := ns / r
	if ns%r < 0 {
		q--
	}
	return time.Unix(0, q*r).UTC()
}

// add counts one mention at t; it reports false when t's bucket is closed.
func (s *series) add(t time.Time, negative bool) (bool, error) {
	start := floor(t, s.id.Resolution)
	if !s.last.IsZero() && !start.After(s.last) {
		return false, nil
	}
	if err := s.buckets.Add(t, negative); err != nil {
		if errors.Is(err, trend.ErrLate) {
			return false, nil
		}
		return false, err
	}
	k := start.UnixNano()
	s.openEncoded = false
	b := s.open[k]
	if b == nil {
		b = &trend.Bucket{Start: start}
		s.open[k] = b
	}
	b.Count++
	if negative {
		b.Negative++
	}
	return true, nil
}

// restoreOpen replays checkpointed open buckets into a fresh series.
func (s *series) restoreOpen(bs []trend.Bucket) error {
	for _, b := range bs {
		if !s.last.IsZero() && !b.Start.After(s.last) {
			continue // the detector already saw it (written before the state key)
		}
		if err := s.buckets.AddN(b.Start, b.Count, b.Negative); err != nil {
			return fmt.Errorf("series %s: restore bucket %s: %w", s.key, b.Start.Format(time.RFC3339), err)
		}
		c := b
		s.open[b.Start.UnixNano()] = &c
		s.openEncoded = false
	}
	return nil
}
