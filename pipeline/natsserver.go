package pipeline

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedNATSOptions configure the in-process NATS server that `earshot run`
// starts when no nats.url is configured.
type EmbeddedNATSOptions struct {
	Dir  string // JetStream storage directory
	Host string // default 127.0.0.1
	Port int    // -1 for a random free port
	// SyncInterval is JetStream's fsync interval; 0 keeps the server default
	// (2 minutes). SyncAlways fsyncs every write (3–5x slower).
	SyncInterval time.Duration
	SyncAlways   bool
	MaxStore     int64 // bytes of disk JetStream may use; 0 = server default
}

// StartEmbeddedNATS starts an in-process NATS server with JetStream and waits
// until it accepts connections. The caller must Shutdown it.
func StartEmbeddedNATS(o EmbeddedNATSOptions) (*server.Server, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	opts := &server.Options{
		ServerName:            "earshot-embedded",
		Host:                  o.Host,
		Port:                  o.Port,
		JetStream:             true,
		StoreDir:              filepath.Clean(o.Dir),
		JetStreamMaxStore:     o.MaxStore,
		SyncInterval:          o.SyncInterval,
		SyncAlways:            o.SyncAlways,
		NoSigs:                true,
		NoLog:                 true,
		MaxPayload:            8 << 20,
		DisableShortFirstPing: true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(15 * time.Second) {
		s.Shutdown()
		return nil, fmt.Errorf("embedded nats: not ready after 15s (store %s)", o.Dir)
	}
	return s, nil
}
