package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream and subject names.
const (
	StreamMentions   = "MENTIONS"
	StreamEnriched   = "ENRICHED"
	StreamDeadLetter = "DEADLETTER"
	StreamAlerts     = "ALERTS"

	SubjectRawPrefix      = "mentions.raw."      // + platform
	SubjectEnrichedPrefix = "mentions.enriched." // + platform
	SubjectDeadPrefix     = "deadletter."        // + stage
	SubjectAlertsPrefix   = "alerts."            // + kind

	CursorBucket = "earshot_cursors"

	// HeaderReason carries why a message was dead-lettered.
	HeaderReason = "Earshot-Dead-Reason"
	// HeaderOrigSubject carries the subject a dead-lettered message came from.
	HeaderOrigSubject = "Earshot-Orig-Subject"
)

// StreamsConfig sizes the streams and sets their durability.
type StreamsConfig struct {
	Replicas        int           `yaml:"replicas"`         // 1 embedded, 3 on a cluster
	MaxAge          time.Duration `yaml:"max_age"`          // how long unread mentions are kept
	MaxBytes        int64         `yaml:"max_bytes"`        // per stream; full streams push back (DiscardNew)
	DuplicateWindow time.Duration `yaml:"duplicate_window"` // Nats-Msg-Id dedup window
}

// DefaultStreamsConfig is used for zero fields.
var DefaultStreamsConfig = StreamsConfig{
	Replicas:        1,
	MaxAge:          7 * 24 * time.Hour,
	MaxBytes:        4 << 30,
	DuplicateWindow: 24 * time.Hour,
}

func (c StreamsConfig) withDefaults() StreamsConfig {
	d := DefaultStreamsConfig
	if c.Replicas == 0 {
		c.Replicas = d.Replicas
	}
	if c.MaxAge == 0 {
		c.MaxAge = d.MaxAge
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = d.MaxBytes
	}
	if c.DuplicateWindow == 0 {
		c.DuplicateWindow = d.DuplicateWindow
	}
	return c
}

// EnsureStreams creates or updates every stream and the cursor bucket.
// It is idempotent, retries until ctx ends (see EnsureStream), and is run
// by `earshot migrate` and by every role at start.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, c StreamsConfig) error {
	c = c.withDefaults()
	streams := []jetstream.StreamConfig{
		{Name: StreamMentions, Subjects: []string{SubjectRawPrefix + ">"}, Description: "raw mentions from connectors"},
		{Name: StreamEnriched, Subjects: []string{SubjectEnrichedPrefix + ">"}, Description: "enriched mentions"},
		{Name: StreamDeadLetter, Subjects: []string{SubjectDeadPrefix + ">"}, Description: "messages a stage could not process, with the reason"},
		{Name: StreamAlerts, Subjects: []string{SubjectAlertsPrefix + ">"}, Description: "trend and spike alerts"},
	}
	for _, sc := range streams {
		sc.Storage = jetstream.FileStorage
		sc.Retention = jetstream.LimitsPolicy
		sc.Discard = jetstream.DiscardNew
		sc.Replicas = c.Replicas
		sc.MaxAge = c.MaxAge
		sc.MaxBytes = c.MaxBytes
		sc.Duplicates = c.DuplicateWindow
		if sc.Duplicates > sc.MaxAge {
			sc.Duplicates = sc.MaxAge
		}
		if err := EnsureStream(ctx, js, sc); err != nil {
			return err
		}
	}
	_, err := EnsureKeyValue(ctx, js, jetstream.KeyValueConfig{
		Bucket:      CursorBucket,
		Description: "connector platform cursors",
		History:     1,
		Storage:     jetstream.FileStorage,
		Replicas:    c.Replicas,
	})
	return err
}

// JetStreamPublisher publishes mentions to mentions.raw.<platform> with
// Nats-Msg-Id set to Mention.MsgID (the mention id, suffixed for an edit or
// a deletion), and waits for every PubAck.
type JetStreamPublisher struct {
	js       jetstream.JetStream
	stream   string
	prefix   string
	metrics  *ConnectorMetrics
	maxBatch int
}

var _ Publisher = (*JetStreamPublisher)(nil)

// NewRawPublisher returns a publisher for the MENTIONS stream. metrics may be nil.
func NewRawPublisher(js jetstream.JetStream, metrics *ConnectorMetrics) *JetStreamPublisher {
	return &JetStreamPublisher{js: js, stream: StreamMentions, prefix: SubjectRawPrefix, metrics: metrics, maxBatch: 1000}
}

// ErrStreamFull is returned when a stream refuses a message because it is at
// its limits (DiscardNew) and its consumers have not yet acknowledged enough
// to free room (see Reclaim): the caller keeps its cursor and retries later.
var ErrStreamFull = errors.New("stream full")

// Publish normalises and publishes ms, returning nil only after all were
// acknowledged. An invalid mention fails the call before anything is sent.
func (p *JetStreamPublisher) Publish(ctx context.Context, ms []*Mention) error {
	now := time.Now()
	for _, m := range ms {
		if err := m.Normalize(now); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
	}
	for start := 0; start < len(ms); start += p.maxBatch {
		end := min(start+p.maxBatch, len(ms))
		var m *Metrics
		if p.metrics != nil {
			m = p.metrics.m
		}
		if err := publishReclaiming(ctx, p.js, m, p.stream, p.prefix, ms[start:end]); err != nil {
			return err
		}
	}
	if p.metrics != nil {
		p.metrics.Published(len(ms))
	}
	return nil
}

// publishBatch publishes asynchronously and waits for every ack.
func publishBatch(ctx context.Context, js jetstream.JetStream, prefix string, ms []*Mention) error {
	futures := make([]jetstream.PubAckFuture, 0, len(ms))
	for _, m := range ms {
		data, err := m.Marshal()
		if err != nil {
			return fmt.Errorf("publish %q: %w", m.ID, err)
		}
		// MsgIDHeader is in canonical form: no Header.Set (which canonicalises) needed.
		msg := &nats.Msg{Subject: prefix + m.Platform, Data: data, Header: nats.Header{jetstream.MsgIDHeader: {m.MsgID()}}}
		f, err := js.PublishMsgAsync(msg)
		if err != nil {
			return fmt.Errorf("publish %q: %w", m.ID, err)
		}
		futures = append(futures, f)
	}
	return waitAcks(ctx, futures)
}

func waitAcks(ctx context.Context, futures []jetstream.PubAckFuture) error {
	var errs []error
	bound := time.NewTimer(pubAckTimeout) // see PubAckTimeout
	defer bound.Stop()
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, classifyPubErr(err))
		case <-ctx.Done():
			return fmt.Errorf("publish: waiting for acks: %w", ctx.Err())
		case <-bound.C:
			return fmt.Errorf("publish: %d of %d not acknowledged within %v: %w", len(futures)-i, len(futures), pubAckTimeout, ErrPubAckTimeout)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("publish: %d of %d not acknowledged: %w", len(errs), len(futures), errs[0])
	}
	return nil
}

func classifyPubErr(err error) error {
	var apiErr *jetstream.APIError
	// 10077: storing failed (maximum bytes/messages exceeded under DiscardNew);
	// 10047: the server's storage resources are exhausted.
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == 10077 || apiErr.ErrorCode == 10047) {
		return fmt.Errorf("%w: %v", ErrStreamFull, err)
	}
	return err
}

// KVCursors is a CursorStore on a JetStream key-value bucket, scoped to one
// connector instance.
type KVCursors struct {
	kv     jetstream.KeyValue
	prefix string
}

var _ CursorStore = (*KVCursors)(nil)

// NewKVCursors opens the cursor bucket for one connector instance.
func NewKVCursors(ctx context.Context, js jetstream.JetStream, connector string) (*KVCursors, error) {
	kv, err := js.KeyValue(ctx, CursorBucket)
	if err != nil {
		return nil, fmt.Errorf("open cursor bucket: %w", err)
	}
	return &KVCursors{kv: kv, prefix: kvToken(connector) + "."}, nil
}

// Get returns the cursor value or ErrNoCursor.
func (c *KVCursors) Get(ctx context.Context, key string) ([]byte, error) {
	e, err := c.kv.Get(ctx, c.prefix+kvToken(key))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNoCursor
	}
	if err != nil {
		return nil, fmt.Errorf("get cursor %q: %w", key, err)
	}
	return e.Value(), nil
}

// Put stores the cursor value.
func (c *KVCursors) Put(ctx context.Context, key string, value []byte) error {
	if _, err := c.kv.Put(ctx, c.prefix+kvToken(key), value); err != nil {
		return fmt.Errorf("put cursor %q: %w", key, err)
	}
	return nil
}

// kvToken maps an arbitrary string (a feed URL, a query) onto the characters
// KV keys allow, injectively: allowed bytes stay, others become _XX hex.
func kvToken(s string) string {
	const hex = "0123456789ABCDEF"
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		b := s[i]
		switch {
		case b >= 'a' && b <= 'z', b >= 'A' && b <= 'Z', b >= '0' && b <= '9', b == '-', b == '=':
			out = append(out, b)
		default:
			out = append(out, '_', hex[b>>4], hex[b&15])
		}
	}
	if len(out) == 0 {
		return "_"
	}
	return string(out)
}
