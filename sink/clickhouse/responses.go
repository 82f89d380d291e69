package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Response states of a mention in the console's queue.
const (
	ResponseOpen      = "open"
	ResponseClaimed   = "claimed"
	ResponseAnswered  = "answered"
	ResponseDismissed = "dismissed"
)

// responseColumns is the responses table (migration 6), in the order
// WriteResponse appends values.
var responseColumns = []column{
	{"mention_id", "String"},
	{"platform", "String"},
	{"state", "String"}, // open, claimed, answered, dismissed
	{"actor", "String"}, // who claimed, answered or dismissed it
	{"note", "String"},
	{"mention_created_at", dateTime},
	{"claimed_at", dateTime},   // 1970-01-01 when never claimed
	{"responded_at", dateTime}, // answered or dismissed; 1970-01-01 while open
	{"updated_at", dateTime},
	{"version", "UInt64"}, // nanoseconds of the action: the latest wins
}

// Response is the queue state of one mention.
type Response struct {
	MentionID        string
	Platform         string
	State            string
	Actor            string
	Note             string
	MentionCreatedAt time.Time
	ClaimedAt        time.Time // zero when never claimed
	RespondedAt      time.Time // zero while open or claimed
	UpdatedAt        time.Time
	Version          uint64
}

// ErrInvalidResponse marks a response refused before sending.
var ErrInvalidResponse = errors.New("invalid response")

// WriteResponse stores the state of one mention in the responses table. The
// row with the greatest Version wins when read through FINAL.
func (s *Store) WriteResponse(ctx context.Context, r Response) error {
	switch r.State {
	case ResponseOpen, ResponseClaimed, ResponseAnswered, ResponseDismissed:
	default:
		return fmt.Errorf("response %q: %w: state %q", r.MentionID, ErrInvalidResponse, r.State)
	}
	if r.MentionID == "" {
		return fmt.Errorf("response: %w: empty mention id", ErrInvalidResponse)
	}
	b, err := s.conn.PrepareBatch(ctx, "INSERT INTO `"+s.db+"`.responses ("+columnList(responseColumns)+")")
	if err != nil {
		return fmt.Errorf("write response %q: prepare: %w", r.MentionID, classify(err))
	}
	defer b.Close()
	ts := func(t time.Time) time.Time {
		if t.Before(minDateTime) || t.After(maxDateTime) {
			return minDateTime
		}
		return t.UTC().Truncate(time.Second)
	}
	if err := b.Append(r.MentionID, r.Platform, r.State, r.Actor, strings.ToValidUTF8(r.Note, "\uFFFD"),
		ts(r.MentionCreatedAt), ts(r.ClaimedAt), ts(r.RespondedAt), ts(r.UpdatedAt), r.Version); err != nil {
		return fmt.Errorf("write response %q: append: %w", r.MentionID, fmt.Errorf("%w: %w", ErrRejected, err))
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("write response %q: send: %w", r.MentionID, classify(err))
	}
	return nil
}
