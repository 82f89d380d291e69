package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/earshot-dev/earshot/connectors/rss"
)

// demoQueries are printed once the demo's mentions have arrived.
const demoQueries = `
Mentions are arriving in ClickHouse. Try, in another terminal:

  ./bin/earshot query --config deploy/demo.yaml "SELECT platform, count() FROM mentions FINAL GROUP BY platform"
  ./bin/earshot query --config deploy/demo.yaml "SELECT sentiment_label, count() FROM mentions FINAL GROUP BY sentiment_label"
  ./bin/earshot query --config deploy/demo.yaml "SELECT topic, count() FROM mentions FINAL ARRAY JOIN topics AS topic GROUP BY topic ORDER BY count() DESC"
  ./bin/earshot query --config deploy/demo.yaml "SELECT created_at, if(author_handle != '', author_handle, author_name) AS author, substring(text, 1, 80) FROM mentions FINAL WHERE needs_response ORDER BY created_at DESC LIMIT 10"
  ./bin/earshot tail --config deploy/demo.yaml --all -n 3

The console (response queue, alerts, topics, people, search): http://%[1]s/
Metrics: http://%[1]s/metrics — stop with Ctrl-C.
`

func init() {
	register("demo", func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) error {
		fs := newFlagSet("demo", stderr)
		cfgPath := fs.String("config", "deploy/demo.yaml", "config `file`")
		listen := fs.String("feeds-listen", "127.0.0.1:8089", "`address` serving the bundled demo feeds (the config's feed URLs point here)")
		quiet := quietFlag(fs)
		if err := fs.Parse(args); err != nil {
			return err
		}
		cfg, err := LoadConfig(*cfgPath)
		if err != nil {
			return err
		}
		cfg.applyQuiet(*quiet)
		ln, err := net.Listen("tcp", *listen)
		if err != nil {
			return fmt.Errorf("demo feeds: %w", err)
		}
		// The corpus is dated relative to now: its newest item a minute ago.
		// The surge is released over time from the start (demosurge).
		start := time.Now()
		srv := &http.Server{Handler: withDemoSurge(http.FileServer(http.FS(rss.DemoFeedsAt(start))), start), ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		fmt.Fprintf(stdout, "serving the demo corpus on http://%s/\n", ln.Addr())
		return runRoles(ctx, cfg, roles{connect: true, enrich: true, sink: true, detect: true, embedded: true}, func(in *infra) {
			go announceDemo(ctx, in, stdout)
			go announceSurge(ctx, in, stdout)
		})
	})
}

// announceDemo prints the example queries once the first mentions are stored.
func announceDemo(ctx context.Context, in *infra, w io.Writer) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var n uint64
		err := in.store.Conn().QueryRow(ctx, "SELECT count() FROM "+in.store.Database()+".mentions").Scan(&n)
		if err != nil && !errors.Is(err, context.Canceled) {
			continue
		}
		if n > 0 {
			fmt.Fprintf(w, demoQueries, in.cfg.HTTP.Listen)
			return
		}
	}
}
