package pipeline

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Secret holds a credential. It never prints: String, GoString, LogValue and
// MarshalYAML/JSON redact it. Reveal returns the value for the one place
// that sends it (an Authorization header, a database handshake).
type Secret struct{ v string }

// NewSecret wraps a value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the secret value.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether no value is set.
func (s Secret) IsZero() bool { return s.v == "" }

func (s Secret) String() string               { return redact(s.v) }
func (s Secret) GoString() string             { return redact(s.v) }
func (s Secret) LogValue() slog.Value         { return slog.StringValue(redact(s.v)) }
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + redact(s.v) + `"`), nil }
func (s Secret) MarshalYAML() (any, error)    { return redact(s.v), nil }
func (s Secret) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(redact(s.v))) }

func redact(v string) string {
	if v == "" {
		return ""
	}
	return "[redacted]"
}

// SecretRef is how config names a secret: never the value itself, but the
// environment variable or file that holds it:
//
//	password: {env: EARSHOT_CLICKHOUSE_PASSWORD}
//	bearer_token: {file: /run/secrets/x_bearer}
type SecretRef struct {
	Env  string `yaml:"env"`
	File string `yaml:"file"`
}

// UnmarshalYAML rejects a plain string, so a secret value cannot be pasted
// into a config file by mistake.
func (r *SecretRef) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		return fmt.Errorf("line %d: a secret is given as {env: VAR} or {file: PATH}, not as a value in the config", n.Line)
	}
	type plain SecretRef
	dec := plain{}
	if err := DecodeStrict(n, &dec); err != nil {
		return err
	}
	if dec.Env != "" && dec.File != "" {
		return fmt.Errorf("line %d: a secret takes env or file, not both", n.Line)
	}
	*r = SecretRef(dec)
	return nil
}

// IsZero reports whether the reference names nothing.
func (r SecretRef) IsZero() bool { return r.Env == "" && r.File == "" }

// Load reads the secret. An empty reference yields an empty secret; a named
// variable that is unset, or a file that cannot be read, is an error.
func (r SecretRef) Load() (Secret, error) {
	switch {
	case r.Env != "":
		v, ok := os.LookupEnv(r.Env)
		if !ok {
			return Secret{}, fmt.Errorf("secret: environment variable %s is not set", r.Env)
		}
		return NewSecret(v), nil
	case r.File != "":
		b, err := os.ReadFile(r.File)
		if err != nil {
			return Secret{}, fmt.Errorf("secret: %w", err) // the path is not secret, the content is
		}
		return NewSecret(strings.TrimRight(string(b), "\r\n")), nil
	}
	return Secret{}, nil
}
