package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// Files a running `earshot run` leaves in data_dir so the other roles and
// tools on the same machine find its embedded servers.
const (
	natsURLFile        = "nats.url"
	clickhouseAddrFile = "clickhouse.addr"
)

// infra holds the connections a role uses, and what must be closed.
type infra struct {
	cfg     *Config
	log     *slog.Logger
	reg     *prometheus.Registry
	metrics *pipeline.Metrics

	natsSrv *server.Server
	nc      *nats.Conn
	js      jetstream.JetStream

	chLocal *clickhouse.LocalServer
	store   *clickhouse.Store
	// console is served at / beside /metrics when the process has
	// ClickHouse.
	console http.Handler
	// httpLn is http.listen, bound by listenHTTP before anything starts.
	httpLn net.Listener

	mu      sync.Mutex
	checks  map[string]func(context.Context) error
	closers []func()
}

func newInfra(cfg *Config) *infra {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := pipeline.NewMetrics(reg)
	return &infra{
		cfg:     cfg,
		log:     newLogger(cfg.Log, stderr, m.LogEvents),
		reg:     reg,
		metrics: m,
		checks:  map[string]func(context.Context) error{},
	}
}

func (in *infra) addCheck(name string, f func(context.Context) error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.checks[name] = f
}

// Close releases everything in reverse order of opening.
func (in *infra) Close() {
	for i := len(in.closers) - 1; i >= 0; i-- {
		in.closers[i]()
	}
	in.closers = nil
}

// openNATS connects to nats.url, or starts the embedded server when
// embedded is allowed (the `run` role), or finds the one a running
// `earshot run` started in data_dir.
func (in *infra) openNATS(ctx context.Context, embedded bool) error {
	url := in.cfg.NATS.URL
	if url == "" && embedded {
		dir := filepath.Join(in.cfg.DataDir, "nats")
		e := in.cfg.NATS.Embedded
		s, err := pipeline.StartEmbeddedNATS(pipeline.EmbeddedNATSOptions{Dir: dir, Host: e.Host, Port: e.Port,
			SyncInterval: e.SyncInterval, SyncAlways: e.SyncAlways, MaxStore: e.MaxStore})
		if err != nil {
			return fmt.Errorf("%w (is another earshot using port %d? set nats.embedded.port)", err, e.Port)
		}
		in.natsSrv = s
		in.closers = append(in.closers, func() { s.Shutdown(); s.WaitForShutdown() })
		url = s.ClientURL()
		if err := writeEndpoint(in.cfg.DataDir, natsURLFile, url); err != nil {
			return err
		}
		in.closers = append(in.closers, func() { removeEndpoint(in.cfg.DataDir, natsURLFile) })
		in.log.Info("embedded nats started", "url", url, "store", dir)
	} else if url == "" {
		b, err := os.ReadFile(filepath.Join(in.cfg.DataDir, natsURLFile))
		if err != nil {
			return fmt.Errorf("nats.url is empty and no running `earshot run` was found in data_dir %s: set nats.url or start `earshot run` first", in.cfg.DataDir)
		}
		url = strings.TrimSpace(string(b))
	}
	opts := []nats.Option{
		nats.Name("earshot"),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				in.log.Warn("nats disconnected", "component", "nats", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { in.log.Info("nats reconnected", "url", c.ConnectedUrlRedacted()) }),
	}
	auth, err := in.cfg.NATS.authOptions()
	if err != nil {
		return err
	}
	opts = append(opts, auth...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("connect nats %s: %w", redactURL(url), err)
	}
	in.closers = append(in.closers, func() { _ = nc.Drain() })
	if err := pipeline.CheckPlacement(nc, in.cfg.NATS.Streams.Replicas); err != nil {
		return err
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(pipeline.PubAckTimeout))
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	// A fresh cluster may need a while to elect its stream leaders;
	// EnsureStreams retries until then.
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := pipeline.EnsureStreams(ctx, js, in.cfg.NATS.Streams); err != nil {
		return err
	}
	in.nc, in.js = nc, js
	in.addCheck("nats", func(context.Context) error {
		if !nc.IsConnected() {
			return errors.New("not connected")
		}
		return nil
	})
	return nil
}

// openClickHouse connects to clickhouse.addr, or starts the managed local
// server (the `run` role), or finds a running `earshot run`'s server; then
// runs the migrations.
func (in *infra) openClickHouse(ctx context.Context, managed bool) error {
	cc := in.cfg.ClickHouse
	if len(cc.Endpoints()) == 0 && managed {
		dir := filepath.Join(in.cfg.DataDir, "clickhouse")
		ls, err := clickhouse.StartLocal(ctx, clickhouse.LocalOptions{Dir: dir, Binary: cc.Local.Binary, Logger: in.log})
		if err != nil {
			return err
		}
		in.chLocal = ls
		in.closers = append(in.closers, func() {
			if err := ls.Stop(); err != nil {
				in.log.Warn("stop clickhouse-server", "component", "clickhouse-server", "err", err)
			}
		})
		cc = ls.ClientConfig(cc)
		// The endpoint file names the address and the password file, for
		// the other roles and tools (earshot query, tail) on this machine.
		if err := writeEndpoint(in.cfg.DataDir, clickhouseAddrFile, cc.Addr+"\n"+ls.PasswordFile()); err != nil {
			return err
		}
		in.closers = append(in.closers, func() { removeEndpoint(in.cfg.DataDir, clickhouseAddrFile) })
		in.log.Info("managed clickhouse-server started", "addr", cc.Addr, "dir", dir)
	} else if len(cc.Endpoints()) == 0 {
		b, err := os.ReadFile(filepath.Join(in.cfg.DataDir, clickhouseAddrFile))
		if err != nil {
			return fmt.Errorf("clickhouse.addr is empty and no running `earshot run` was found in data_dir %s: set clickhouse.addr or start `earshot run` first", in.cfg.DataDir)
		}
		addr, pwFile, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
		cc.Addr = addr
		if pwFile != "" {
			cc.Password = pipeline.SecretRef{File: pwFile}
		}
	}
	// A server that is down is waited for (with backoff, until ctx ends); a
	// wrong password or a schema conflict is an error at once.
	var store *clickhouse.Store
	b := pipeline.Backoff{Min: time.Second, Max: 30 * time.Second}
	for {
		var err error
		store, err = clickhouse.Open(ctx, cc)
		if err == nil {
			if err = store.Migrate(ctx); err != nil {
				_ = store.Close()
			}
		}
		if err == nil {
			break
		}
		if !clickhouse.Retryable(err) || ctx.Err() != nil {
			return err
		}
		d := b.Next()
		in.log.Warn("clickhouse unavailable; retrying", "component", "clickhouse", "addr", strings.Join(cc.Endpoints(), ","), "in", d.Round(time.Millisecond), "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(d):
		}
	}
	in.closers = append(in.closers, func() { _ = store.Close() })
	in.store = store
	in.addCheck("clickhouse", store.Ping)
	return nil
}

// listenHTTP binds http.listen (unless off), so that a port in use fails
// the start at once, naming the key.
func (in *infra) listenHTTP() error {
	if in.cfg.HTTP.Listen == "off" {
		return nil
	}
	ln, err := net.Listen("tcp", in.cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("%s: http.listen %s: %w", in.cfg.File, in.cfg.HTTP.Listen, err)
	}
	in.httpLn = ln
	in.closers = append(in.closers, func() { _ = ln.Close() })
	return nil
}

// serveHTTP serves /metrics, /healthz and /readyz until ctx is done.
func (in *infra) serveHTTP(ctx context.Context) error {
	if in.cfg.HTTP.Listen == "off" {
		<-ctx.Done()
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(in.reg, promhttp.HandlerOpts{Registry: in.reg}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		in.mu.Lock()
		checks := make(map[string]func(context.Context) error, len(in.checks))
		for k, v := range in.checks {
			checks[k] = v
		}
		in.mu.Unlock()
		var b strings.Builder
		ok := true
		for name, f := range checks {
			if err := f(ctx); err != nil {
				ok = false
				fmt.Fprintf(&b, "%s: %v\n", name, err)
			} else {
				fmt.Fprintf(&b, "%s: ok\n", name)
			}
		}
		if !ok {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_, _ = w.Write([]byte(b.String()))
	})
	if in.console != nil {
		mux.Handle("/", in.console)
	}
	srv := &http.Server{Addr: in.cfg.HTTP.Listen, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	// Long-lived requests (the console's server-sent events) end when the
	// server shuts down, so Shutdown does not wait for them.
	base, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv.BaseContext = func(net.Listener) context.Context { return base }
	srv.RegisterOnShutdown(cancelBase)
	errc := make(chan error, 1)
	go func() {
		if in.httpLn != nil {
			errc <- srv.Serve(in.httpLn)
			return
		}
		errc <- srv.ListenAndServe()
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("http.listen %s: %w", in.cfg.HTTP.Listen, err)
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}

func writeEndpoint(dataDir, name, value string) error {
	if err := os.MkdirAll(dataDir, 0o755); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, name), []byte(value+"\n"), 0o644); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	return nil
}

func removeEndpoint(dataDir, name string) { _ = os.Remove(filepath.Join(dataDir, name)) }

// redactURL drops userinfo from a URL, or from each of a comma-separated
// list of URLs, for messages.
func redactURL(u string) string {
	if strings.Contains(u, ",") {
		parts := strings.Split(u, ",")
		for i, p := range parts {
			parts[i] = redactURL(p)
		}
		return strings.Join(parts, ",")
	}
	if i := strings.Index(u, "@"); i >= 0 {
		if j := strings.Index(u, "://"); j >= 0 && j < i {
			return u[:j+3] + "[redacted]@" + u[i+1:]
		}
	}
	return u
}
