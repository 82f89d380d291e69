package clickhouse

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// load builds the client TLS configuration; nil when TLS is off.
func (t *TLSConfig) load() (*tls.Config, error) {
	if t == nil {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CA != "" {
		pem, err := os.ReadFile(t.CA)
		if err != nil {
			return nil, fmt.Errorf("clickhouse.tls.ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("clickhouse.tls.ca %s: no PEM certificate in it", t.CA)
		}
		c.RootCAs = pool
	}
	if t.Cert != "" {
		cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
		if err != nil {
			return nil, fmt.Errorf("clickhouse.tls.cert/key: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	return c, nil
}
