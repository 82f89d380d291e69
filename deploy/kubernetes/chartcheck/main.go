// chartcheck renders earshot's Helm chart with Helm's own engine (no
// cluster needed) for the default values and a TLS-and-credentials set,
// checks that every rendered document is YAML, and writes the manifests
// to chart/rendered/, which the main module's tests check against the code.
//
//	cd deploy/kubernetes/chartcheck && go run . -chart ../chart/earshot -out ../chart/rendered
//
// With -check it fails when the files in -out differ from a fresh render.
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/engine"
)

// valueSets are rendered one file each.
var valueSets = map[string]map[string]any{
	"default.yaml": {},
	"tls.yaml": {
		"nats": map[string]any{"enabled": false},
		"natsClient": map[string]any{
			"urls": []any{"tls://nats-0.nats.nats.svc:4222", "tls://nats-1.nats.nats.svc:4222", "tls://nats-2.nats.nats.svc:4222"},
			"tls":  map[string]any{"secretName": "earshot-nats-tls"}, "nkeySecret": "earshot-nats-nkey",
		},
		"clickhouse": map[string]any{
			"addrs":    []any{"ch-0.clickhouse.svc:9440", "ch-1.clickhouse.svc:9440"},
			"tls":      map[string]any{"secretName": "earshot-clickhouse-tls"},
			"operator": map[string]any{"enabled": false},
		},
	},
}

func main() {
	chartDir := flag.String("chart", "../chart/earshot", "chart directory")
	out := flag.String("out", "../chart/rendered", "directory for the rendered manifests")
	check := flag.Bool("check", false, "fail if the files in -out are not what the chart renders")
	flag.Parse()
	if err := run(*chartDir, *out, *check); err != nil {
		fmt.Fprintln(os.Stderr, "chartcheck:", err)
		os.Exit(1)
	}
}

func run(chartDir, out string, check bool) error {
	ch, err := loader.Load(chartDir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(valueSets))
	for n := range valueSets {
		names = append(names, n)
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		vals, err := util.ToRenderValues(ch, valueSets[name], common.ReleaseOptions{Name: "demo", Namespace: "earshot", IsInstall: true}, nil)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		files, err := engine.Render(ch, vals)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		var keys []string
		for k := range files {
			// Only this chart's manifests (the NATS dependency is rendered
			// by Helm itself and is not vendored here).
			if strings.HasPrefix(k, "earshot/templates/") && !strings.HasPrefix(filepath.Base(k), "_") {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		var b bytes.Buffer
		fmt.Fprintf(&b, "# Rendered by deploy/kubernetes/chartcheck from chart/earshot with the %q values; do not edit.\n", name)
		for _, k := range keys {
			body := strings.TrimSpace(files[k])
			if body == "" {
				continue
			}
			fmt.Fprintf(&b, "---\n# Source: %s\n%s\n", k, strings.TrimPrefix(body, "---\n"))
		}
		if err := checkYAML(b.Bytes()); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		path := filepath.Join(out, name)
		if check {
			have, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(have, b.Bytes()) {
				errs = append(errs, fmt.Errorf("%s is not what the chart renders: run `make chart-render`", path))
			}
			continue
		}
		if err := os.MkdirAll(out, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

func checkYAML(b []byte) error {
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for i := 0; ; i++ {
		var doc map[string]any
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("document %d: %w", i, err)
		}
	}
}
