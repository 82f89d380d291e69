package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A port already in use fails `earshot run` at once with the key and the
// cause, before NATS or ClickHouse start (it used to surface as a cancelled
// cursor bucket after everything had started).
func TestRunReportsHTTPPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "earshot.yaml")
	yaml := "data_dir: " + filepath.Join(dir, "data") + "\nhttp: {listen: \"" + ln.Addr().String() + "\"}\nnats: {embedded: {port: -1}}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code := Main(ctx, []string{"run", "--config", cfg, "--quiet"}, nil, &out, &errOut)
	if code == 0 {
		t.Fatalf("run with http.listen in use = exit 0; want an error\n%s", errOut.String())
	}
	msg := errOut.String()
	for _, want := range []string{"http.listen " + ln.Addr().String(), "address already in use"} {
		if !strings.Contains(msg, want) {
			t.Errorf("run error = %q; want it to contain %q", msg, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "nats.url")); err == nil {
		t.Errorf("embedded NATS started although the HTTP port was taken")
	}
}
