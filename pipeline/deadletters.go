package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Dead-letter headers besides HeaderReason and HeaderOrigSubject.
const (
	// HeaderHistory has one value per earlier dead-lettering of the same
	// message, oldest first: "<RFC 3339 time> <stage>: <reason>".
	HeaderHistory = "Earshot-Dead-History"
	// HeaderReplays counts how often the message was replayed.
	HeaderReplays = "Earshot-Replays"
	// HeaderTruncated is the original size in bytes of a message too large
	// to keep whole in the dead-letter stream; HeaderSHA256 its hash.
	HeaderTruncated = "Earshot-Dead-Truncated"
	HeaderSHA256    = "Earshot-Dead-Sha256"
)

// ErrTruncated marks a dead letter that was stored truncated: it cannot be
// replayed.
var ErrTruncated = errors.New("dead letter was stored truncated")

// deadLetterMsg builds the dead-letter copy of a message: the original
// bytes, the reason, the subject it came from, and the history and replay
// count it carried. When the copy would exceed maxPayload, the data is
// truncated and its size and SHA-256 are recorded.
func deadLetterMsg(stage, reason, subject string, data []byte, in nats.Header, maxPayload int64) *nats.Msg {
	dl := &nats.Msg{Subject: SubjectDeadPrefix + stage, Data: data, Header: nats.Header{}}
	dl.Header.Set(HeaderReason, reason)
	dl.Header.Set(HeaderOrigSubject, subject)
	for _, h := range in.Values(HeaderHistory) {
		dl.Header.Add(HeaderHistory, h)
	}
	if r := in.Get(HeaderReplays); r != "" {
		dl.Header.Set(HeaderReplays, r)
	}
	if maxPayload > 0 {
		room := maxPayload - int64(headerSize(dl.Header)) - 512 // Nats-Msg-Id, hash headers and framing
		if int64(len(data)) > room {
			sum := sha256.Sum256(data)
			dl.Header.Set(HeaderTruncated, strconv.Itoa(len(data)))
			dl.Header.Set(HeaderSHA256, hex.EncodeToString(sum[:]))
			dl.Data = data[:max(room, 0)]
		}
	}
	return dl
}

func headerSize(h nats.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// DeadLetter is one message in the DEADLETTER stream.
type DeadLetter struct {
	Seq         uint64 // sequence in the DEADLETTER stream: what `dlq replay --id` takes
	Stage       string // the stage that gave up on it: enrich, sink
	Reason      string
	OrigSubject string // the stage's input it came from, where a replay goes
	Time        time.Time
	Size        int    // stored bytes
	OrigSize    int    // original bytes (larger than Size when truncated)
	MentionID   string // when the data decodes as a mention
	Replays     int
	History     []string
	Data        []byte
	Header      nats.Header
}

// Truncated reports whether the dead letter lost bytes.
func (d *DeadLetter) Truncated() bool { return d.Header.Get(HeaderTruncated) != "" }

// DeadLetterFilter selects dead letters; empty fields select all.
type DeadLetterFilter struct {
	Stage  string   // exact stage name
	Reason string   // substring of the reason, case-insensitive
	Seqs   []uint64 // DEADLETTER sequences
}

func (f DeadLetterFilter) match(d *DeadLetter) bool {
	if f.Stage != "" && d.Stage != f.Stage {
		return false
	}
	if f.Reason != "" && !strings.Contains(strings.ToLower(d.Reason), strings.ToLower(f.Reason)) {
		return false
	}
	if len(f.Seqs) > 0 {
		for _, s := range f.Seqs {
			if s == d.Seq {
				return true
			}
		}
		return false
	}
	return true
}

// ListDeadLetters returns the dead letters that f selects, oldest first;
// with n > 0 only the newest n of them.
func ListDeadLetters(ctx context.Context, js jetstream.JetStream, f DeadLetterFilter, n int) ([]DeadLetter, error) {
	st, err := js.Stream(ctx, StreamDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("dead letters: %w", err)
	}
	var out []DeadLetter
	if info.State.Msgs == 0 {
		return nil, nil
	}
	for seq := info.State.LastSeq; seq >= info.State.FirstSeq && seq > 0; seq-- {
		if n > 0 && len(out) == n {
			break
		}
		raw, err := st.GetMsg(ctx, seq)
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			continue // deleted (replayed) or expired
		}
		if err != nil {
			return nil, fmt.Errorf("dead letter %d: %w", seq, err)
		}
		d := toDeadLetter(raw)
		if f.match(&d) {
			out = append(out, d)
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}

func toDeadLetter(raw *jetstream.RawStreamMsg) DeadLetter {
	h := raw.Header
	if h == nil {
		h = nats.Header{}
	}
	d := DeadLetter{
		Seq: raw.Sequence, Stage: strings.TrimPrefix(raw.Subject, SubjectDeadPrefix), Reason: h.Get(HeaderReason),
		OrigSubject: h.Get(HeaderOrigSubject), Time: raw.Time.UTC(), Size: len(raw.Data), OrigSize: len(raw.Data),
		History: h.Values(HeaderHistory), Data: raw.Data, Header: h,
	}
	d.Replays, _ = strconv.Atoi(h.Get(HeaderReplays))
	if s, err := strconv.Atoi(h.Get(HeaderTruncated)); err == nil {
		d.OrigSize = s
	}
	if m, err := Unmarshal(raw.Data); err == nil {
		d.MentionID = m.ID
	}
	return d
}

// ReplayResult says what a replay did.
type ReplayResult struct {
	Replayed []DeadLetter
	Skipped  []error // dead letters that could not be replayed, and why
}

// ReplayDeadLetters republishes the dead letters that f selects to the
// subject they came from (the input of the stage that gave up on them),
// then deletes them from DEADLETTER. The replayed message carries the
// dead-lettering in its history header and a replay count, so one that
// fails again is dead-lettered again with its whole history. Its
// Nats-Msg-Id is derived from the dead letter's sequence: a replay cut off
// between publishing and deleting publishes no duplicate when run again.
// Truncated dead letters are skipped (ErrTruncated). The stage counts the
// replays it receives (earshot_stage_replayed_total).
func ReplayDeadLetters(ctx context.Context, js jetstream.JetStream, f DeadLetterFilter) (ReplayResult, error) {
	var res ReplayResult
	dls, err := ListDeadLetters(ctx, js, f, 0)
	if err != nil {
		return res, err
	}
	st, err := js.Stream(ctx, StreamDeadLetter)
	if err != nil {
		return res, fmt.Errorf("dead letters: %w", err)
	}
	for _, d := range dls {
		switch {
		case d.Truncated():
			res.Skipped = append(res.Skipped, fmt.Errorf("dead letter %d: %w (%d of %d bytes kept, sha256 %s)",
				d.Seq, ErrTruncated, d.Size, d.OrigSize, d.Header.Get(HeaderSHA256)))
			continue
		case d.OrigSubject == "":
			res.Skipped = append(res.Skipped, fmt.Errorf("dead letter %d: no %s header: the stage input is unknown", d.Seq, HeaderOrigSubject))
			continue
		}
		msg := &nats.Msg{Subject: d.OrigSubject, Data: d.Data, Header: nats.Header{}}
		for _, h := range d.History {
			msg.Header.Add(HeaderHistory, h)
		}
		msg.Header.Add(HeaderHistory, d.Time.Format(time.RFC3339)+" "+d.Stage+": "+d.Reason)
		msg.Header.Set(HeaderReplays, strconv.Itoa(d.Replays+1))
		msg.Header.Set(jetstream.MsgIDHeader, "replay:"+strconv.FormatUint(d.Seq, 10)+":"+strconv.Itoa(d.Replays+1))
		if _, err := js.PublishMsg(ctx, msg); err != nil {
			return res, fmt.Errorf("replay dead letter %d to %s: %w", d.Seq, d.OrigSubject, err)
		}
		if err := st.DeleteMsg(ctx, d.Seq); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
			return res, fmt.Errorf("replayed dead letter %d, but deleting it failed (a new replay publishes no duplicate): %w", d.Seq, err)
		}
		res.Replayed = append(res.Replayed, d)
	}
	return res, nil
}

// countReplay counts a replayed dead letter on its first delivery.
func countReplay(m *Metrics, stage string, msg jetstream.Msg) {
	if m == nil || msg.Headers().Get(HeaderReplays) == "" {
		return
	}
	if md, err := msg.Metadata(); err == nil && md.NumDelivered > 1 {
		return
	}
	m.Replayed.WithLabelValues(stage).Inc()
}
