// Package chtest gives tests a real ClickHouse: one managed
// clickhouse-server per test binary, started on first use, and a fresh
// database per test.
//
//	func TestMain(m *testing.M) { chtest.Main(m) }
//
//	func TestX(t *testing.T) {
//		cfg := chtest.NewDatabase(t)
//		st, err := clickhouse.Open(ctx, cfg)
//		…
//
// When clickhouse-server is not installed, tests fail with a message saying
// how to install it; they never skip. EARSHOT_TEST_CLICKHOUSE_ADDR points
// the tests at a running server instead (e.g. a current release), with the
// password, if any, in EARSHOT_TEST_CLICKHOUSE_PASSWORD.
package chtest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// Server is the shared server of the test binary.
type Server struct {
	// Local is the managed server; nil when EARSHOT_TEST_CLICKHOUSE_ADDR is set.
	Local *clickhouse.LocalServer
	// Config connects to the server (database "default").
	Config clickhouse.Config
}

var (
	once     sync.Once
	shared   *Server
	dir      string
	startErr error
	seq      atomic.Int64
)

// Start returns the test binary's server, starting it on first use. It
// fails the test if the server cannot be started.
func Start(t testing.TB) *Server {
	t.Helper()
	once.Do(start)
	if startErr != nil {
		t.Fatalf("chtest: %v", startErr)
	}
	return shared
}

func start() {
	if addr := os.Getenv("EARSHOT_TEST_CLICKHOUSE_ADDR"); addr != "" {
		cfg := clickhouse.Config{Addr: addr, Database: "default"}
		if os.Getenv("EARSHOT_TEST_CLICKHOUSE_PASSWORD") != "" {
			cfg.Password = pipeline.SecretRef{Env: "EARSHOT_TEST_CLICKHOUSE_PASSWORD"}
		}
		shared = &Server{Config: cfg.WithDefaults()}
		return
	}
	if _, e := clickhouse.FindBinary(""); e != nil {
		startErr = fmt.Errorf("%w\n(these tests need a real ClickHouse; `make test` installs it with scripts/ensure-clickhouse.sh)", e)
		return
	}
	dir, startErr = os.MkdirTemp("", "earshot-chtest-")
	if startErr != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var ls *clickhouse.LocalServer
	ls, startErr = clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: dir})
	if startErr != nil {
		return
	}
	shared = &Server{Local: ls, Config: ls.ClientConfig(clickhouse.Config{Database: "default"}).WithDefaults()}
}

// Main runs the tests and then stops the shared server and removes its
// directory. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil && shared.Local != nil {
		if e := shared.Local.Stop(); e != nil {
			fmt.Fprintf(os.Stderr, "chtest: stop clickhouse-server: %v\n", e)
		}
	}
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
	os.Exit(code)
}

var nonIdent = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// NewDatabase returns a config for a database name no other test uses (not
// created yet: Store.Migrate creates it). The database is dropped when the
// test passes.
func NewDatabase(t testing.TB) clickhouse.Config {
	t.Helper()
	s := Start(t)
	name := strings.ToLower(nonIdent.ReplaceAllString(t.Name(), "_"))
	if len(name) > 40 {
		name = name[:40]
	}
	name = fmt.Sprintf("t%d_%s", seq.Add(1), strings.Trim(name, "_"))
	cfg := s.Config
	cfg.Database = name
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("chtest: keeping database %s on %s for inspection", name, cfg.Addr)
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, err := clickhouse.Open(ctx, cfg)
		if err != nil {
			t.Errorf("chtest: drop database %s: %v", name, err)
			return
		}
		defer st.Close()
		if err := st.Conn().Exec(ctx, "DROP DATABASE IF EXISTS `"+name+"`"); err != nil {
			t.Errorf("chtest: drop database %s: %v", name, err)
		}
	})
	return cfg
}
