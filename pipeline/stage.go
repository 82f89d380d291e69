package pipeline

import (
	"context"
	"errors"
	"log/slog"
)

// Source is one connector worker: it reads a platform and publishes mentions
// until ctx is done.
//
// The delivery contract: Publish returns nil only after JetStream has
// acknowledged every mention passed to it (or recognised it as a duplicate).
// A source advances its platform cursor (since_id, ETag, seen GUIDs, …) in
// env.Cursors only after Publish returned nil, so a crash re-reads and
// re-publishes instead of losing; the stream deduplicates by mention id.
type Source interface {
	Run(ctx context.Context, env *SourceEnv) error
}

// Publisher publishes mentions and waits for their acknowledgement.
type Publisher interface {
	Publish(ctx context.Context, ms []*Mention) error
}

// CursorStore keeps a connector's platform cursors. Keys are scoped to the
// connector instance by the store.
type CursorStore interface {
	// Get returns ErrNoCursor when the key was never written.
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, value []byte) error
}

// ErrNoCursor is returned by CursorStore.Get for a key that was never written.
var ErrNoCursor = errors.New("no cursor")

// SourceEnv is what a running source gets from the pipeline.
type SourceEnv struct {
	Name      string // connector instance name, from config
	Publisher Publisher
	Cursors   CursorStore
	Logger    *slog.Logger
	Metrics   *ConnectorMetrics // labelled for this connector's platform and name
	// Matcher matches mentions against the configured topics. A connector
	// that receives a whole platform firehose (Bluesky's Jetstream) uses it
	// to keep only what matters, early. It may be nil (match nothing).
	Matcher Matcher
}

// Matcher tells which configured topics a mention matches. pipeline
// declares it so connectors need not import enrich/; cmd/ wires the topic
// matcher of enrich/topics. It is safe for concurrent use.
type Matcher interface {
	// Match returns the ids of the topics m matches (nil for none) and
	// the matched spans.
	Match(m *Mention) (topicIDs []string, spans []Span)
}

// Enricher is one enrichment stage. Stages run as a chain on batches.
type Enricher interface {
	// Name is the stage name, stored with its Version on each mention.
	Name() string
	Version() string
	// Enrich enriches the batch in place. A failure on one mention is marked
	// on it with Mention.MarkError and the mention goes on; a returned error
	// means the whole batch could not be processed and will be retried.
	Enrich(ctx context.Context, batch []*Mention) error
}

// Sink stores enriched mentions.
type Sink interface {
	// Write stores the batch. It returns nil only when the store has accepted
	// every mention; the runner acknowledges the messages after that.
	// Writing the same mention twice must not change any query result.
	// An error that implements PartialWrite means every mention but the
	// rejected ones was stored; any other error means retry the whole batch.
	Write(ctx context.Context, batch []*Mention) error
}

// PartialWrite is implemented by a Sink error when the store accepted the
// batch except some mentions it refused as invalid, which no retry can
// store. The runner acknowledges the stored ones and dead-letters the
// rejected ones with their reasons.
type PartialWrite interface {
	error
	Rejections() []Rejection
}

// Rejection is one mention a Sink refused: its index in the batch and why.
type Rejection struct {
	Index  int
	Reason string
}
