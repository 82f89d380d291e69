package main

import (
	"encoding/xml"
	"net"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The compose cluster profile: its earshot config, the NATS and ClickHouse
// servers it names, and the ClickHouse cluster definition agree.
func TestComposeClusterProfile(t *testing.T) {
	var doc struct {
		Services map[string]struct {
			Command []string `yaml:"command"`
			Image   string   `yaml:"image"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(repoFile(t, "deploy/compose/docker-compose.cluster.yml"), &doc); err != nil {
		t.Fatalf("docker-compose.cluster.yml: %v", err)
	}
	cfg, err := ParseConfig("cluster/earshot.yaml", repoFile(t, "deploy/compose/cluster/earshot.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]bool{}
	for name, s := range doc.Services {
		if s.Image != "earshot:latest" {
			continue
		}
		if len(s.Command) == 0 {
			t.Errorf("service %s has no command", name)
			continue
		}
		if _, ok := commands[s.Command[0]]; !ok {
			t.Errorf("service %s runs unknown command %q", name, s.Command[0])
		}
		roles[s.Command[0]] = true
	}
	for _, r := range []string{"migrate", "connect", "enrich", "sink", "detect"} {
		if !roles[r] {
			t.Errorf("the cluster profile runs no %s", r)
		}
	}
	// NATS: three servers, each one in nats.url, R3.
	var natsHosts []string
	for _, u := range natsURLs(cfg.NATS.URL) {
		pu, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		natsHosts = append(natsHosts, pu.Hostname())
		if s, ok := doc.Services[pu.Hostname()]; !ok || !strings.HasPrefix(s.Image, "nats:") || pu.Port() != "4222" {
			t.Errorf("nats.url %s is not a NATS service's client port", u)
		}
	}
	if len(natsHosts) != 3 || cfg.NATS.Streams.Replicas != 3 || cfg.Detect.Replicas != 3 {
		t.Errorf("nats servers %v, streams.replicas %d, detect.kv_replicas %d; want 3 each", natsHosts, cfg.NATS.Streams.Replicas, cfg.Detect.Replicas)
	}
	// ClickHouse: addrs are exactly remote_servers' replicas, each a service
	// mounting the shared cluster.xml and its own macros.
	var cx struct {
		ZK []struct {
			Host string `xml:"host"`
		} `xml:"zookeeper>node"`
		Shards []struct {
			Internal bool `xml:"internal_replication"`
			Replicas []struct {
				Host string `xml:"host"`
				Port string `xml:"port"`
			} `xml:"replica"`
		} `xml:"remote_servers>earshot>shard"`
	}
	if err := xml.Unmarshal(repoFile(t, "deploy/compose/cluster/clickhouse/cluster.xml"), &cx); err != nil {
		t.Fatal(err)
	}
	if cfg.ClickHouse.Cluster != "earshot" || len(cx.Shards) != 2 {
		t.Fatalf("clickhouse.cluster %q with %d shards in cluster.xml; want earshot, 2x2", cfg.ClickHouse.Cluster, len(cx.Shards))
	}
	for _, zk := range cx.ZK {
		if _, ok := doc.Services[zk.Host]; !ok {
			t.Errorf("cluster.xml names ZooKeeper %s, which is no service", zk.Host)
		}
	}
	var defined []string
	for i, sh := range cx.Shards {
		if !sh.Internal || len(sh.Replicas) != 2 {
			t.Errorf("shard %d: internal_replication %v, %d replicas; want true, 2", i+1, sh.Internal, len(sh.Replicas))
		}
		for _, r := range sh.Replicas {
			defined = append(defined, net.JoinHostPort(r.Host, r.Port))
			s, ok := doc.Services[r.Host]
			if !ok {
				t.Errorf("cluster.xml names %s, which is no service", r.Host)
				continue
			}
			var macros string
			for _, v := range s.Volumes {
				if strings.Contains(v, "macros-") {
					macros = strings.Split(v, ":")[0]
				}
			}
			if !slices.ContainsFunc(s.Volumes, func(v string) bool { return strings.HasPrefix(v, "./cluster/clickhouse/cluster.xml:") }) || macros == "" {
				t.Errorf("service %s does not mount cluster.xml and its macros", r.Host)
				continue
			}
			var m struct {
				Shard   string `xml:"macros>shard"`
				Replica string `xml:"macros>replica"`
			}
			if err := xml.Unmarshal(repoFile(t, filepath.Join("deploy/compose", macros)), &m); err != nil {
				t.Fatal(err)
			}
			if m.Shard != "0"+string(rune('1'+i)) || m.Replica != r.Host {
				t.Errorf("%s: macros shard %q replica %q; want shard 0%d, replica %s", macros, m.Shard, m.Replica, i+1, r.Host)
			}
		}
	}
	if got := cfg.ClickHouse.Endpoints(); !slices.Equal(got, defined) {
		t.Errorf("clickhouse.addrs %v; want the cluster's replicas %v", got, defined)
	}
}
