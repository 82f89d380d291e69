package clickhouse

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
)

// Defaults applied by Config.WithDefaults.
const (
	DefaultDatabase    = "earshot"
	DefaultUsername    = "default"
	DefaultDialTimeout = 10 * time.Second
)

// Config is the clickhouse section of the earshot config:
//
//	clickhouse:
//	  addr: clickhouse-1:9000          # native protocol; empty = managed local server
//	  database: earshot
//	  username: earshot
//	  password: {env: EARSHOT_CLICKHOUSE_PASSWORD}
//	  dial_timeout: 10s
//	  local:
//	    binary: /usr/sbin/clickhouse-server
type Config struct {
	// Addr is host:port of the native protocol (9000 by default on a
	// server). Empty means a managed local server (StartLocal) is started
	// and its address used; see LocalServer.ClientConfig.
	Addr string `yaml:"addr"`
	// Database holds every earshot table; created by Migrate. Default "earshot".
	Database string `yaml:"database"`
	// Username, default "default".
	Username string `yaml:"username"`
	// Password names the environment variable or file holding the password.
	Password pipeline.SecretRef `yaml:"password"`
	// DialTimeout bounds connecting to the server, default 10s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// Local configures the managed local server, used when Addr is empty.
	Local LocalConfig `yaml:"local"`
	// Compression of the native protocol's blocks: "lz4" (default) or
	// "none". LZ4 saves network bandwidth to a remote server; on loopback
	// it costs CPU on both sides (README, Benchmarks).
	Compression string `yaml:"compression"`

	// Addrs are several entry points of one cluster (host:port each, the
	// secure native port 9440 with tls); the client uses the first that
	// answers and fails over to the next. Use addr or addrs, not both.
	Addrs AddrList `yaml:"addrs"`
	// Cluster names a cluster of the servers' remote_servers: migrations
	// then run ON CLUSTER and create replicated local tables behind
	// Distributed tables (see schema.go). Empty: a single server, as before.
	Cluster string `yaml:"cluster"`
	// TLS turns on TLS (the secure native port, 9440 by default).
	TLS *TLSConfig `yaml:"tls"`
}

// TLSConfig is clickhouse.tls. An empty section ({}) uses the system's CAs.
type TLSConfig struct {
	CA         string `yaml:"ca"`          // PEM CA that signed the servers' certificates
	Cert       string `yaml:"cert"`        // client certificate, for servers that verify clients
	Key        string `yaml:"key"`         // its key
	ServerName string `yaml:"server_name"` // when it differs from the host in addr
}

// AddrList is a list of host:port, kept as one comma-separated string so
// that Config stays comparable; YAML gives it as a list or that string.
type AddrList string

// UnmarshalYAML accepts a sequence of strings or one string.
func (a *AddrList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.SequenceNode {
		var l []string
		if err := n.Decode(&l); err != nil {
			return err
		}
		*a = AddrList(strings.Join(l, ","))
		return nil
	}
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	*a = AddrList(s)
	return nil
}

// List splits the addresses.
func (a AddrList) List() []string {
	var out []string
	for _, s := range strings.Split(string(a), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Endpoints returns addrs, or addr alone.
func (c Config) Endpoints() []string {
	if l := c.Addrs.List(); len(l) > 0 {
		return l
	}
	if c.Addr != "" {
		return []string{c.Addr}
	}
	return nil
}

// LocalConfig configures the managed local clickhouse-server.
type LocalConfig struct {
	// Binary is the clickhouse-server executable (or the single "clickhouse"
	// binary, run as "clickhouse server"). Empty: clickhouse-server from
	// PATH, then /usr/sbin/clickhouse-server, then "clickhouse server" from PATH.
	Binary string `yaml:"binary"`
}

// WithDefaults returns c with empty fields set to their defaults.
func (c Config) WithDefaults() Config {
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Username == "" {
		c.Username = DefaultUsername
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	return c
}

// identRE is what earshot accepts as a database name: it is spliced into
// DDL, so it is kept to a plain identifier.
var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func checkAddr(addr string) []error {
	var errs []error
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return []error{fmt.Errorf("clickhouse.addr %q: want host:port of the native protocol (e.g. localhost:9000): %w", addr, err)}
	}
	if host == "" {
		errs = append(errs, fmt.Errorf("clickhouse.addr %q: empty host", addr))
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		errs = append(errs, fmt.Errorf("clickhouse.addr %q: port %q is not a number in 1..65535", addr, port))
	}
	return errs
}

// Validate reports every problem in c at once. It never touches the network
// or reads the secret; empty fields are valid (they take defaults).
func (c Config) Validate() error {
	var errs []error
	if c.Addr != "" && len(c.Addrs.List()) > 0 {
		errs = append(errs, errors.New("clickhouse: set addr or addrs, not both"))
	}
	if eps := c.Endpoints(); len(eps) > 0 {
		for _, addr := range eps {
			errs = append(errs, checkAddr(addr)...)
		}
	} else {
		if c.Username != "" && c.Username != DefaultUsername {
			errs = append(errs, fmt.Errorf("clickhouse.username %q is set but clickhouse.addr is empty: the managed local server has its own credentials (remove username, or set addr to your server's host:port)", c.Username))
		}
		if !c.Password.IsZero() {
			errs = append(errs, errors.New("clickhouse.password is set but clickhouse.addr is empty: the managed local server has its own credentials (remove password, or set addr to your server's host:port)"))
		}
	}
	if c.Cluster != "" && !identRE.MatchString(c.Cluster) {
		errs = append(errs, fmt.Errorf("clickhouse.cluster %q: want a plain identifier, as in the servers' remote_servers", c.Cluster))
	}
	if c.Cluster != "" && len(c.Endpoints()) == 0 {
		errs = append(errs, errors.New("clickhouse.cluster is set but addr and addrs are empty: the managed local server is a single server"))
	}
	if t := c.TLS; t != nil && (t.Cert == "") != (t.Key == "") {
		errs = append(errs, errors.New("clickhouse.tls: cert and key go together"))
	}
	if c.Database != "" && !identRE.MatchString(c.Database) {
		errs = append(errs, fmt.Errorf("clickhouse.database %q: want letters, digits and '_', not starting with a digit, at most 64", c.Database))
	}
	if c.Password.Env != "" && c.Password.File != "" {
		errs = append(errs, errors.New("clickhouse.password: takes env or file, not both"))
	}
	switch c.Compression {
	case "", "lz4", "none":
	default:
		errs = append(errs, fmt.Errorf("clickhouse.compression %q: want lz4 or none", c.Compression))
	}
	if c.DialTimeout < 0 {
		errs = append(errs, fmt.Errorf("clickhouse.dial_timeout %v: must not be negative", c.DialTimeout))
	}
	return errors.Join(errs...)
}
