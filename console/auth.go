package console

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// authenticator checks a request's credentials. A nil *authenticator with
// locked set refuses everything.
type authenticator struct {
	token []byte            // sha256 of the token; nil when users are used
	users map[string][]byte // name -> bcrypt hash
	// ok caches sha256(name, password) of credentials bcrypt accepted, so
	// a page's many requests cost one bcrypt comparison.
	mu sync.Mutex
	ok map[[32]byte]time.Time
	// locked: the listener is open to the network and no auth is
	// configured, so every console request is refused, whatever its
	// source address.
	locked bool
	why    string
}

// newAuthenticator loads the configured credentials. listen decides
// whether running without auth is allowed.
func newAuthenticator(c AuthConfig, listen string) (*authenticator, error) {
	a := &authenticator{}
	switch {
	case !c.Token.IsZero():
		tok, err := c.Token.Load()
		if err != nil {
			return nil, fmt.Errorf("console.auth.token: %w", err)
		}
		if len(tok.Reveal()) < 16 {
			return nil, fmt.Errorf("console.auth.token: is %d characters; use at least 16 (e.g. openssl rand -hex 24)", len(tok.Reveal()))
		}
		h := sha256.Sum256([]byte(tok.Reveal()))
		a.token = h[:]
	case c.UsersFile != "":
		users, err := loadUsers(c.UsersFile)
		if err != nil {
			return nil, err
		}
		a.users = users
	case !Loopback(listen):
		a.locked = true
		a.why = fmt.Sprintf("the console is disabled: http.listen %s is reachable from the network and console.auth is not set (set console.auth.token or console.auth.users_file, or listen on 127.0.0.1)", listen)
	}
	return a, nil
}

// loadUsers reads "name:bcrypt-hash" lines; blank lines and # comments are
// skipped.
func loadUsers(path string) (map[string][]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("console.auth.users_file: %w", err)
	}
	users := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		name, hash, ok := strings.Cut(s, ":")
		if !ok || name == "" {
			return nil, fmt.Errorf("console.auth.users_file %s:%d: want name:bcrypt-hash", path, line)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("console.auth.users_file %s:%d: user %q: not a bcrypt hash (make one with `earshot console --hash-password`)", path, line, name)
		}
		if _, dup := users[name]; dup {
			return nil, fmt.Errorf("console.auth.users_file %s:%d: user %q is listed twice", path, line, name)
		}
		users[name] = []byte(hash)
	}
	if len(users) == 0 {
		return nil, fmt.Errorf("console.auth.users_file %s: no users", path)
	}
	return users, nil
}

// HashPassword returns the bcrypt hash for a users_file line.
func HashPassword(pw string) (string, error) {
	if len(pw) < 8 {
		return "", fmt.Errorf("password is %d characters; use at least 8", len(pw))
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	return string(h), err
}

// check returns the authenticated user name ("" when no auth is
// configured on a loopback listener) and whether the request may proceed.
func (a *authenticator) check(r *http.Request) (user string, ok bool) {
	switch {
	case a.locked:
		return "", false
	case a.token != nil:
		var given string
		if b, found := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); found {
			given, user = b, "token"
		} else if u, p, found := r.BasicAuth(); found {
			given, user = p, u
		} else {
			return "", false
		}
		h := sha256.Sum256([]byte(given))
		if subtle.ConstantTimeCompare(h[:], a.token) != 1 {
			return "", false
		}
		if user == "" {
			user = "token"
		}
		return user, true
	case a.users != nil:
		u, p, found := r.BasicAuth()
		if !found {
			return "", false
		}
		key := sha256.Sum256([]byte(u + "\x00" + p))
		a.mu.Lock()
		t, cached := a.ok[key]
		a.mu.Unlock()
		if cached && time.Since(t) < 5*time.Minute {
			return u, true
		}
		hash, known := a.users[u]
		if !known {
			// Spend the same time on unknown users.
			_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(p))
			return "", false
		}
		if bcrypt.CompareHashAndPassword(hash, []byte(p)) != nil {
			return "", false
		}
		a.mu.Lock()
		if a.ok == nil || len(a.ok) > 1000 {
			a.ok = map[[32]byte]time.Time{}
		}
		a.ok[key] = time.Now()
		a.mu.Unlock()
		return u, true
	}
	return "", true
}

var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("earshot-dummy-password"), bcrypt.MinCost)

// mode names the auth mode for the page.
func (a *authenticator) mode() string {
	switch {
	case a.locked:
		return "locked"
	case a.token != nil:
		return "token"
	case a.users != nil:
		return "users"
	}
	return "loopback"
}
