package detect

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/earshot-dev/earshot/enrich/trend"
	"github.com/earshot-dev/earshot/pipeline"
)

// checkpointVersion is the version of both checkpoint records.
const checkpointVersion = 1

// ErrCheckpoint wraps errors decoding a checkpoint.
var ErrCheckpoint = errors.New("bad detect checkpoint")

// stateRecord is the "state" key: everything that changes with every
// batch, small (open buckets, counted sequences, recent alerts).
type stateRecord struct {
	V         int                       `json:"v"`
	Watermark time.Time                 `json:"watermark"`
	Closed    time.Time                 `json:"closed"`
	Open      map[string][]trend.Bucket `json:"open"` // series key -> non-empty open buckets
	Platforms []string                  `json:"platforms"`
	Seqs      [][2]uint64               `json:"seqs"`
	Recent    []emitted                 `json:"recent"`
}

// seriesRecord is a "series.…" key: one detector's state, rewritten only
// when the series closed a bucket.
type seriesRecord struct {
	V        int             `json:"v"`
	Series   string          `json:"series"`
	Last     time.Time       `json:"last"`
	LastRes  trend.Result    `json:"last_result"`
	Detector json.RawMessage `json:"detector"`
	Event    *openEvent      `json:"event,omitempty"` // an alerted event not yet resolved
}

// Checkpoint is a Counter's state as KV records: State for the "state" key,
// and Series (by KV key) for the series whose detector changed since the
// last Checkpoint (all of them when all is true). Series records must be
// written before State: a restore then finds detectors at or ahead of the
// open buckets, never behind (buckets a detector already saw are skipped).
type Checkpoint struct {
	State  []byte
	Series map[string][]byte
}

// Checkpoint encodes the state to persist. The series it holds are marked
// clean by MarkClean, once persisted.
func (c *Counter) Checkpoint(all bool) (Checkpoint, error) {
	cp, err := c.checkpoint(all)
	cp.State = slices.Clone(cp.State)
	return cp, err
}

// checkpoint is Checkpoint with State in a buffer of the Counter's own,
// valid until the next call (Runner.checkpoint writes it before that).
func (c *Counter) checkpoint(all bool) (Checkpoint, error) {
	cp := Checkpoint{Series: map[string][]byte{}}
	for _, s := range c.order {
		if !s.dirty && !all {
			continue
		}
		b, err := s.record()
		if err != nil {
			return Checkpoint{}, err
		}
		cp.Series[s.kv] = b
	}
	b, ok := c.appendState(c.stateBuf[:0])
	if !ok {
		// A value the fast encoding does not take (a time past year 9999, a
		// count not finite): the former encoding, which reports the error.
		var err error
		if b, err = json.Marshal(c.stateRecord()); err != nil {
			return Checkpoint{}, fmt.Errorf("checkpoint state: %w", err)
		}
	}
	c.stateBuf = b
	cp.State = b
	return cp, nil
}

// stateRecord is the state record of the Counter, as appendState encodes it.
func (c *Counter) stateRecord() stateRecord {
	st := stateRecord{V: checkpointVersion, Watermark: c.watermark, Closed: c.closed,
		Open: map[string][]trend.Bucket{}, Seqs: c.seqs.r, Recent: c.recent}
	for p := range c.platforms {
		st.Platforms = append(st.Platforms, p)
	}
	sort.Strings(st.Platforms)
	for _, s := range c.order {
		if len(s.open) > 0 {
			st.Open[s.key] = s.openBuckets(nil)
		}
	}
	return st
}

// openBuckets appends the series' open buckets, oldest first.
func (s *series) openBuckets(bs []trend.Bucket) []trend.Bucket {
	n := len(bs)
	for _, b := range s.open {
		bs = append(bs, *b)
	}
	slices.SortFunc(bs[n:], func(a, b trend.Bucket) int { return a.Start.Compare(b.Start) })
	return bs
}

// record encodes the series record.
func (s *series) record() ([]byte, error) {
	det, err := s.det.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("checkpoint series %s: %w", s.key, err)
	}
	b, err := json.Marshal(seriesRecord{V: checkpointVersion, Series: s.key, Last: s.last, LastRes: s.lastRes, Detector: det, Event: s.event})
	if err != nil {
		return nil, fmt.Errorf("checkpoint series %s: %w", s.key, err)
	}
	return b, nil
}

// appendState appends the state record as json.Marshal(c.stateRecord())
// encodes it, byte for byte, without building the record: it is written
// after every batch. It reports false, with b unusable, for a value that
// encoding refuses or that it does not take (then the caller uses it).
func (c *Counter) appendState(b []byte) ([]byte, bool) {
	ok := true
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, checkpointVersion, 10)
	b = append(b, `,"watermark":`...)
	b, ok = appendTime(b, c.watermark, ok)
	b = append(b, `,"closed":`...)
	b, ok = appendTime(b, c.closed, ok)
	b = append(b, `,"open":{`...)
	first := true
	for _, s := range c.byKey {
		if len(s.open) == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, s.qkey...)
		b = append(b, ':')
		if !s.openEncoded {
			// Encoded again only when the series counted or closed since.
			s.openJSON = append(s.openJSON[:0], '[')
			c.bucketsBuf = s.openBuckets(c.bucketsBuf[:0])
			bok := true
			for i, bk := range c.bucketsBuf {
				if i > 0 {
					s.openJSON = append(s.openJSON, ',')
				}
				s.openJSON = append(s.openJSON, `{"start":`...)
				s.openJSON, bok = appendTime(s.openJSON, bk.Start, bok)
				s.openJSON = append(s.openJSON, `,"count":`...)
				s.openJSON, bok = appendFloat(s.openJSON, bk.Count, bok)
				s.openJSON = append(s.openJSON, `,"negative":`...)
				s.openJSON, bok = appendFloat(s.openJSON, bk.Negative, bok)
				s.openJSON = append(s.openJSON, '}')
			}
			s.openJSON = append(s.openJSON, ']')
			s.openEncoded, ok = bok, ok && bok
		}
		b = append(b, s.openJSON...)
	}
	b = append(b, `},"platforms":`...)
	if len(c.platforms) != c.platformsN || c.platformsJSON == nil {
		var ps []string
		for p := range c.platforms {
			ps = append(ps, p)
		}
		sort.Strings(ps)
		pj, err := json.Marshal(ps)
		if err != nil {
			return b, false
		}
		c.platformsJSON, c.platformsN = pj, len(c.platforms)
	}
	b = append(b, c.platformsJSON...)
	b = append(b, `,"seqs":`...)
	if c.seqs.r == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i, r := range c.seqs.r {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '[')
			b = strconv.AppendUint(b, r[0], 10)
			b = append(b, ',')
			b = strconv.AppendUint(b, r[1], 10)
			b = append(b, ']')
		}
		b = append(b, ']')
	}
	b = append(b, `,"recent":`...)
	rj, err := json.Marshal(c.recent)
	if err != nil {
		return b, false
	}
	b = append(b, rj...)
	b = append(b, '}')
	return b, ok
}

// appendTime appends t as time.Time's MarshalJSON does, or reports false
// (ok false stays false) for a time it refuses or that needs a check.
func appendTime(b []byte, t time.Time, ok bool) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	if _, off := t.Zone(); off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), ok
}

// appendFloat appends f as encoding/json encodes a float64, or reports
// false (ok false stays false) for one it refuses.
func appendFloat(b []byte, f float64, ok bool) ([]byte, bool) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9, as encoding/json does
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, ok
}

// MarkClean records that the series of a Checkpoint were persisted.
func (c *Counter) MarkClean(cp Checkpoint) {
	if len(cp.Series) == 0 {
		return
	}
	for _, s := range c.order {
		if _, ok := cp.Series[s.kv]; ok {
			s.dirty = false
		}
	}
}

// Restore replaces the Counter's state with a checkpoint: the state record
// (nil when there is none) and the series records. Series of topics or
// resolutions no longer configured are ignored, and a detector whose state
// does not fit its config starts fresh; both are reported in the returned
// warnings, not as errors.
func (c *Counter) Restore(state []byte, seriesRecs [][]byte) (warnings []string, err error) {
	fresh, err := NewCounter(c.cfg, c.topicList())
	if err != nil {
		return nil, err
	}
	*c = *fresh
	var st stateRecord
	if state != nil {
		if err := json.Unmarshal(state, &st); err != nil {
			return nil, fmt.Errorf("%w: state: %w", ErrCheckpoint, err)
		}
		if st.V != checkpointVersion {
			return nil, fmt.Errorf("%w: state version %d, want %d", ErrCheckpoint, st.V, checkpointVersion)
		}
	}
	for _, p := range st.Platforms {
		if len(c.platforms) < c.cfg.MaxPlatforms {
			c.platforms[p] = true
		}
	}
	for _, raw := range seriesRecs {
		var rec seriesRecord
		if err := json.Unmarshal(raw, &rec); err != nil || rec.V != checkpointVersion {
			warnings = append(warnings, fmt.Sprintf("series record skipped: version %d, %v", rec.V, err))
			continue
		}
		id, err := ParseSeriesID(rec.Series)
		if err == nil && id.rank() == 1 && *c.cfg.Series.Platforms && len(c.platforms) < c.cfg.MaxPlatforms {
			c.platforms[id.Platform] = true
		}
		if err != nil || !c.wanted(id) {
			warnings = append(warnings, fmt.Sprintf("series %s is no longer configured; its state is ignored", rec.Series))
			continue
		}
		s, err := c.get(id)
		if err != nil {
			return nil, err
		}
		if err := s.det.UnmarshalBinary(rec.Detector); err != nil {
			warnings = append(warnings, fmt.Sprintf("series %s starts afresh: %v", rec.Series, err))
			continue
		}
		s.last, s.lastRes, s.event = rec.Last, rec.LastRes, rec.Event
		// Pin the series to the bucket after the last one observed, so the
		// buckets in between close as they would have (empty ones too).
		if next := s.last.Add(id.Resolution); st.Watermark.Sub(next) < maxPinGap {
			if err := s.buckets.AddN(next, 0, 0); err != nil {
				return nil, fmt.Errorf("%w: series %s: %w", ErrCheckpoint, rec.Series, err)
			}
		}
	}
	for key, bs := range st.Open {
		id, err := ParseSeriesID(key)
		if err != nil || !c.wanted(id) {
			continue
		}
		s, err := c.get(id)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(bs, func(a, b trend.Bucket) int { return a.Start.Compare(b.Start) })
		if err := s.restoreOpen(bs); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrCheckpoint, err)
		}
	}
	c.watermark, c.closed = st.Watermark, st.Closed
	c.seqs.r = st.Seqs
	c.recent = st.Recent
	return warnings, nil
}

// maxPinGap: after a longer pause a restored series restarts its buckets
// at the watermark (the detector fills the gap itself).
const maxPinGap = 7 * 24 * time.Hour

// wanted reports whether the config still has series id.
func (c *Counter) wanted(id SeriesID) bool {
	if !slices.Contains(c.cfg.Resolutions, id.Resolution) {
		return false
	}
	switch id.rank() {
	case 0:
		return *c.cfg.Series.Topics && c.topics[id.Topic] && id.Platform == All
	case 1:
		return *c.cfg.Series.Platforms && c.platforms[id.Platform]
	default:
		return *c.cfg.Series.Overall
	}
}

func (c *Counter) topicList() []pipeline.Topic {
	out := make([]pipeline.Topic, 0, len(c.topics))
	for t := range c.topics {
		out = append(out, pipeline.Topic{ID: t})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
