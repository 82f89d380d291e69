package main

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"go.yaml.in/yaml/v3"
)

// NATSTLS is nats.tls: the CA that signed the servers' certificates and,
// for servers that verify clients, this client's certificate and key.
//
//	nats:
//	  url: [tls://nats-0:4222, tls://nats-1:4222, tls://nats-2:4222]
//	  tls: {ca: /etc/earshot/nats/ca.pem, cert: /etc/earshot/nats/tls.crt, key: /etc/earshot/nats/tls.key}
//	  creds_file: /etc/earshot/nats/earshot.creds   # or nkey_file, or token
type NATSTLS struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

func (t NATSTLS) isZero() bool { return t == NATSTLS{} }

// flattenNATSURLs turns a YAML list under nats.url into the comma-separated
// string the NATS client takes, so `url: [nats://a:4222, nats://b:4222]`
// and `url: nats://a:4222,nats://b:4222` mean the same.
func flattenNATSURLs(root *yaml.Node) {
	n := mapValue(mapValue(root, "nats"), "url")
	if n == nil || n.Kind != yaml.SequenceNode {
		return
	}
	parts := make([]string, 0, len(n.Content))
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			return // left for the decoder to report
		}
		parts = append(parts, strings.TrimSpace(c.Value))
	}
	*n = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: strings.Join(parts, ","), Line: n.Line, Column: n.Column}
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// natsURLs splits nats.url into its servers.
func natsURLs(s string) []string {
	var out []string
	for _, u := range strings.Split(s, ",") {
		if u = strings.TrimSpace(u); u != "" {
			out = append(out, u)
		}
	}
	return out
}

func (c NATSConfig) validate() error {
	var errs []error
	for _, u := range natsURLs(c.URL) {
		pu, err := url.Parse(u)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("url %q: %w", redactURL(u), err))
		case pu.Scheme != "nats" && pu.Scheme != "tls" && pu.Scheme != "ws" && pu.Scheme != "wss":
			errs = append(errs, fmt.Errorf("url %q: want nats://host:port or tls://host:port", redactURL(u)))
		case pu.Host == "":
			errs = append(errs, fmt.Errorf("url %q: no host", redactURL(u)))
		}
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		errs = append(errs, errors.New("tls: cert and key go together (the client certificate and its private key)"))
	}
	auth := 0
	for _, set := range []bool{!c.Token.IsZero(), c.CredsFile != "", c.NKeyFile != ""} {
		if set {
			auth++
		}
	}
	if auth > 1 {
		errs = append(errs, errors.New("token, creds_file and nkey_file: set one"))
	}
	if c.URL == "" && (auth > 0 || !c.TLS.isZero()) {
		errs = append(errs, errors.New("tls, token, creds_file or nkey_file is set but url is empty: the embedded server needs none of them"))
	}
	if c.Streams.Replicas < 0 || c.Streams.Replicas > 5 {
		errs = append(errs, fmt.Errorf("streams.replicas %d: JetStream allows 1 to 5", c.Streams.Replicas))
	}
	if c.URL == "" && c.Streams.Replicas > 1 {
		errs = append(errs, fmt.Errorf("streams.replicas %d needs a NATS cluster in url: the embedded server is a single server", c.Streams.Replicas))
	}
	return errors.Join(errs...)
}

// authOptions returns the client options for credentials and TLS. Files are
// read here, so a missing one fails at start with its key named.
func (c NATSConfig) authOptions() ([]nats.Option, error) {
	var opts []nats.Option
	if !c.Token.IsZero() {
		tok, err := c.Token.Load()
		if err != nil {
			return nil, fmt.Errorf("nats.token: %w", err)
		}
		opts = append(opts, nats.Token(tok.Reveal()))
	}
	for key, f := range map[string]string{"nats.creds_file": c.CredsFile, "nats.nkey_file": c.NKeyFile,
		"nats.tls.ca": c.TLS.CA, "nats.tls.cert": c.TLS.Cert, "nats.tls.key": c.TLS.Key} {
		if f == "" {
			continue
		}
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	}
	if c.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	}
	if c.NKeyFile != "" {
		o, err := nats.NkeyOptionFromSeed(c.NKeyFile)
		if err != nil {
			return nil, fmt.Errorf("nats.nkey_file %s: %w", c.NKeyFile, err)
		}
		opts = append(opts, o)
	}
	if c.TLS.CA != "" {
		opts = append(opts, nats.RootCAs(c.TLS.CA))
	}
	if c.TLS.Cert != "" {
		opts = append(opts, nats.ClientCert(c.TLS.Cert, c.TLS.Key))
	}
	if !c.TLS.isZero() {
		opts = append(opts, nats.Secure())
	}
	// A cluster member going away is routine: reconnect fast to another.
	opts = append(opts, nats.ReconnectJitter(100*time.Millisecond, time.Second))
	return opts, nil
}
