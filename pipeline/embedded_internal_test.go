package pipeline

import (
	"testing"

	"github.com/nats-io/nats.go"
)

// embeddedConn starts an embedded NATS server with JetStream for the test
// and returns a connection to it; both end with the test.
func embeddedConn(t *testing.T) *nats.Conn {
	t.Helper()
	s, err := StartEmbeddedNATS(EmbeddedNATSOptions{Dir: t.TempDir(), Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	nc, err := nats.Connect(s.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
