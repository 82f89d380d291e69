// Package clickhouse stores enriched mentions and alerts in ClickHouse over
// the native protocol, owns the schema (versioned, idempotent migrations)
// and can run a managed local clickhouse-server for the one-command setup.
//
// Storage is idempotent: tables are ReplacingMergeTree keyed by id, and the
// analysts' views read them with FINAL, so a redelivered batch, or a Send
// that failed after the server committed it and was then retried, changes
// no query result. It works with ClickHouse 18.16 (Debian 12) and current
// releases: no DateTime64, Map, LowCardinality, async insert or string
// per-query settings, and every INSERT goes through PrepareBatch with an
// explicit column list.
package clickhouse

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/earshot-dev/earshot/pipeline"
)

// Errors. Every error returned by Store wraps at most one of them.
var (
	// ErrUnavailable marks an error worth retrying with backoff: the server
	// could not be reached, the connection broke, or the server reported a
	// transient condition (too many parts, memory limit, timeout).
	ErrUnavailable = errors.New("clickhouse unavailable")
	// ErrRejected marks an error the server or driver raised on the data or
	// schema: retrying the same batch will fail the same way.
	ErrRejected = errors.New("clickhouse rejected the request")
	// ErrInvalidMention marks mentions refused before sending (see
	// *InvalidError); the rest of the batch was written.
	ErrInvalidMention = errors.New("invalid mention")
	// ErrInvalidAlert marks an alert refused before sending.
	ErrInvalidAlert = errors.New("invalid alert")
)

// Retryable reports whether err is worth retrying with backoff.
func Retryable(err error) bool { return errors.Is(err, ErrUnavailable) }

// Store writes to one ClickHouse database. It is safe for concurrent use.
type Store struct {
	conn driver.Conn
	db   string // validated identifier
	addr string
	now  func() time.Time
	opts ch.Options // for AnalystConn
	// cluster, when set, makes migrations run ON CLUSTER (schema.go).
	cluster string
	// retries remembers the ingested_at of recent batches, so a batch
	// written again after a failed Send is byte-identical (write.go).
	retries    retryStamps
	dedupToken bool // the server knows insert_deduplication_token
}

var _ pipeline.Sink = (*Store)(nil)

// Open connects to cfg.Addr over the native protocol and pings it. The
// database need not exist yet: every statement names it, and Migrate
// creates it. cfg.Addr must be set: for the managed server, start it with
// StartLocal and pass LocalServer.ClientConfig(cfg).
func Open(ctx context.Context, cfg Config) (*Store, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("open clickhouse: %w", err)
	}
	addrs := cfg.Endpoints()
	if len(addrs) == 0 {
		return nil, errors.New("open clickhouse: clickhouse.addr is empty: start the managed server with StartLocal and use its ClientConfig")
	}
	where := strings.Join(addrs, ",")
	pw, err := cfg.Password.Load()
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: password: %w", where, err)
	}
	tlsConf, err := cfg.TLS.load()
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", where, err)
	}
	opts := &ch.Options{
		Protocol: ch.Native,
		// With several entry points the first that answers is used, and
		// the next when it stops answering (failover).
		Addr:             addrs,
		ConnOpenStrategy: ch.ConnOpenInOrder,
		TLS:              tlsConf,
		Auth: ch.Auth{
			// Database stays the server default: the earshot database may
			// not exist before Migrate, and every statement qualifies names.
			Username: cfg.Username,
			Password: pw.Reveal(),
		},
		DialTimeout:     cfg.DialTimeout,
		MaxOpenConns:    8,
		MaxIdleConns:    4,
		ConnMaxLifetime: time.Hour,
		ClientInfo: ch.ClientInfo{Products: []struct{ Name, Version string }{
			{Name: "earshot", Version: "1"},
		}},
	}
	if cfg.Compression != "none" {
		opts.Compression = &ch.Compression{Method: ch.CompressionLZ4}
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s: %w", where, classify(err))
	}
	s := &Store{conn: conn, db: cfg.Database, addr: where, now: time.Now, opts: *opts, cluster: cfg.Cluster}
	if err := s.Ping(ctx); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("open: %w", err)
	}
	if v, err := conn.ServerVersion(); err == nil {
		// insert_deduplication_token exists from 22.2 on.
		s.dedupToken = v.Version.Major > 22 || (v.Version.Major == 22 && v.Version.Minor >= 2)
	}
	return s, nil
}

// AnalystConn returns a connection whose default database is the earshot
// database, so unqualified table names in analysts' SQL (`earshot query`)
// resolve to it. Call after Migrate; the caller closes it.
func (s *Store) AnalystConn() (driver.Conn, error) {
	opts := s.opts
	opts.Auth.Database = s.db
	opts.MaxOpenConns, opts.MaxIdleConns = 2, 1
	conn, err := ch.Open(&opts)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse %s database %s: %w", s.addr, s.db, classify(err))
	}
	return conn, nil
}

// Ping checks that the server answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping clickhouse %s: %w", s.addr, classify(err))
	}
	return nil
}

// Close closes the connections.
func (s *Store) Close() error { return s.conn.Close() }

// Database is the database the store writes to.
func (s *Store) Database() string { return s.db }

// Conn is the underlying connection, for tests and analysts' tools. Queries
// must qualify table names with Database().
func (s *Store) Conn() driver.Conn { return s.conn }

// transientCodes are ClickHouse server error codes that go away by themselves.
var transientCodes = map[int32]bool{
	159: true, // TIMEOUT_EXCEEDED
	202: true, // TOO_MANY_SIMULTANEOUS_QUERIES
	203: true, // NO_FREE_CONNECTION
	209: true, // SOCKET_TIMEOUT
	210: true, // NETWORK_ERROR
	241: true, // MEMORY_LIMIT_EXCEEDED
	242: true, // TABLE_IS_READ_ONLY
	252: true, // TOO_MANY_PARTS
	319: true, // UNKNOWN_STATUS_OF_INSERT
	425: true, // SYSTEM_ERROR
	999: true, // KEEPER_EXCEPTION
}

// classify wraps err with ErrUnavailable or ErrRejected. Errors it cannot
// place are treated as unavailable: retrying costs a backoff, dropping costs
// data.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var ex *ch.Exception
	if errors.As(err, &ex) {
		if transientCodes[ex.Code] {
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, sqldriver.ErrBadConn), errors.Is(err, ch.ErrAcquireConnTimeout),
		errors.Is(err, ch.ErrConnectionClosed), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	case errors.Is(err, ch.ErrBatchInvalid), errors.Is(err, ch.ErrUnsupportedServerRevision):
		return fmt.Errorf("%w: %w", ErrRejected, err)
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}
