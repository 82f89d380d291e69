package console

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Config is the console section of the config file.
//
//	console:
//	  response_target: 1h          # a mention waiting longer is flagged
//	  auth:
//	    token: {env: EARSHOT_CONSOLE_TOKEN}   # or
//	    users_file: /etc/earshot/console-users  # lines "name:bcrypt-hash"
//	  search_scan: 200000          # most mentions one search reads
type Config struct {
	ResponseTarget time.Duration `yaml:"response_target"`
	Auth           AuthConfig    `yaml:"auth"`
	SearchScan     int           `yaml:"search_scan"`
}

// AuthConfig says who may use the console. Loopback listeners need none; on
// any other address one of the two is required.
type AuthConfig struct {
	// Token is a shared secret: HTTP Basic with any user name and the token
	// as password, or "Authorization: Bearer TOKEN".
	Token pipeline.SecretRef `yaml:"token"`
	// UsersFile holds one "name:hash" per line, hash from bcrypt (htpasswd
	// -B, or `earshot console --hash-password`).
	UsersFile string `yaml:"users_file"`
}

// IsZero reports whether no auth is configured.
func (a AuthConfig) IsZero() bool { return a.Token.IsZero() && a.UsersFile == "" }

// Defaults.
const (
	DefaultResponseTarget = time.Hour
	DefaultSearchScan     = 200_000
)

// WithDefaults fills unset fields.
func (c Config) WithDefaults() Config {
	if c.ResponseTarget == 0 {
		c.ResponseTarget = DefaultResponseTarget
	}
	if c.SearchScan == 0 {
		c.SearchScan = DefaultSearchScan
	}
	return c
}

// Validate reports every problem, without touching files or the network.
func (c Config) Validate() error {
	var errs []error
	if c.ResponseTarget < 0 {
		errs = append(errs, fmt.Errorf("response_target %v must not be negative", c.ResponseTarget))
	}
	if c.SearchScan < 0 {
		errs = append(errs, fmt.Errorf("search_scan %d must not be negative", c.SearchScan))
	}
	if !c.Auth.Token.IsZero() && c.Auth.UsersFile != "" {
		errs = append(errs, errors.New("auth: set token or users_file, not both"))
	}
	return errors.Join(errs...)
}

// Loopback reports whether a listen address ("127.0.0.1:9464", "[::1]:80",
// "localhost:9464") only accepts connections from this machine. An empty
// host (":9464"), 0.0.0.0, any other name or address is not loopback.
func Loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
