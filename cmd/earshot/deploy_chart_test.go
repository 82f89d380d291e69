package main

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The Helm chart, as Helm's engine renders it (deploy/kubernetes/chartcheck
// writes chart/rendered/; `make chart-check` fails when they are stale):
// every role and the migrate Job run a real command on the config the
// chart builds, which loads; ports, probes, the password variable and the
// mounted TLS and credential files are the ones the config names.
func TestHelmChartRendered(t *testing.T) {
	for _, set := range []string{"default.yaml", "tls.yaml"} {
		t.Run(set, func(t *testing.T) {
			checkRenderedChart(t, repoFile(t, filepath.Join("deploy/kubernetes/chart/rendered", set)))
		})
	}
}

type k8sContainer struct {
	Args []string `yaml:"args"`
	Env  []struct {
		Name string `yaml:"name"`
	} `yaml:"env"`
	Ports []struct {
		ContainerPort int `yaml:"containerPort"`
	} `yaml:"ports"`
	ReadinessProbe *struct {
		HTTPGet struct {
			Path string `yaml:"path"`
		} `yaml:"httpGet"`
	} `yaml:"readinessProbe"`
	VolumeMounts []struct {
		MountPath string `yaml:"mountPath"`
	} `yaml:"volumeMounts"`
}

func checkRenderedChart(t *testing.T, raw []byte) {
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	var (
		cfg        *Config
		containers []k8sContainer
		kinds      = map[string]int{}
	)
	for {
		var doc struct {
			Kind string            `yaml:"kind"`
			Data map[string]string `yaml:"data"`
			Spec struct {
				Template struct {
					Spec struct {
						Containers []k8sContainer `yaml:"containers"`
					} `yaml:"spec"`
				} `yaml:"template"`
			} `yaml:"spec"`
		}
		if err := dec.Decode(&doc); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			t.Fatalf("rendered chart: %v", err)
		}
		kinds[doc.Kind]++
		if doc.Kind == "ConfigMap" {
			c, err := ParseConfig("chart ConfigMap earshot.yaml", []byte(doc.Data["earshot.yaml"]))
			if err != nil {
				t.Fatalf("the chart's config does not load: %v", err)
			}
			cfg = c
		}
		containers = append(containers, doc.Spec.Template.Spec.Containers...)
	}
	if cfg == nil || kinds["Deployment"] != 4 || kinds["Job"] != 1 {
		t.Fatalf("rendered kinds %v; want a ConfigMap, four Deployments and the migrate Job", kinds)
	}
	if cfg.ClickHouse.Cluster == "" || cfg.NATS.Streams.Replicas != 3 || cfg.Detect.Replicas != 3 {
		t.Errorf("chart config: clickhouse.cluster %q, streams.replicas %d, detect.kv_replicas %d; want a cluster and R3",
			cfg.ClickHouse.Cluster, cfg.NATS.Streams.Replicas, cfg.Detect.Replicas)
	}
	_, port, _ := net.SplitHostPort(cfg.HTTP.Listen)
	roles := map[string]bool{}
	for _, c := range containers {
		if len(c.Args) < 3 || c.Args[1] != "--config" {
			t.Errorf("container args %v; want ROLE --config FILE", c.Args)
			continue
		}
		if _, ok := commands[c.Args[0]]; !ok {
			t.Errorf("the chart runs unknown command %q", c.Args[0])
		}
		roles[c.Args[0]] = true
		mounted := func(path string) bool {
			for _, m := range c.VolumeMounts {
				if path == m.MountPath || strings.HasPrefix(path, m.MountPath+"/") {
					return true
				}
			}
			return false
		}
		for _, f := range []string{c.Args[2], cfg.DataDir, cfg.NATS.TLS.CA, cfg.NATS.TLS.Cert, cfg.NATS.TLS.Key, cfg.NATS.NKeyFile, cfg.NATS.CredsFile} {
			if f != "" && !mounted(f) {
				t.Errorf("%s: %s is not mounted", c.Args[0], f)
			}
		}
		if tc := cfg.ClickHouse.TLS; tc != nil && !mounted(tc.CA) {
			t.Errorf("%s: %s is not mounted", c.Args[0], tc.CA)
		}
		env := false
		for _, e := range c.Env {
			env = env || e.Name == cfg.ClickHouse.Password.Env
		}
		if !env {
			t.Errorf("%s: no %s for clickhouse.password", c.Args[0], cfg.ClickHouse.Password.Env)
		}
		if c.Args[0] == "migrate" {
			continue
		}
		if len(c.Ports) != 1 || strconv.Itoa(c.Ports[0].ContainerPort) != port {
			t.Errorf("%s: container ports %v; want http.listen's %s", c.Args[0], c.Ports, port)
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" {
			t.Errorf("%s: readiness probe %+v; want /readyz", c.Args[0], c.ReadinessProbe)
		}
	}
	for _, r := range []string{"migrate", "connect", "enrich", "sink", "detect"} {
		if !roles[r] {
			t.Errorf("the chart runs no %s", r)
		}
	}
}
