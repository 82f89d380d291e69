// Package console is the web page for community managers: the response
// queue, alerts, topic trends, advocates and detractors, and search, served
// at / of http.listen by every earshot process that has ClickHouse.
//
// It reads ClickHouse (package sink/clickhouse's store) with parameterised
// queries only, keeps the queue's state in the responses table, and pushes
// new mentions and alerts to the page with server-sent events from NATS.
// Topic matching and query linting are passed in by cmd (Options.Compile,
// Options.Lint): they are enrich/topics' own, so a search agrees with the
// stored topics column, and this package imports no enricher.
package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/sink/clickhouse"
)

//go:embed static
var staticFiles embed.FS

// Matcher matches mentions against compiled topic queries
// (*topics.Matcher).
type Matcher interface {
	Match(m *pipeline.Mention) (ids []string, spans []pipeline.Span)
}

// LintProblem is one finding of the query linter.
type LintProblem struct {
	Severity string `json:"severity"` // "error" or "warning"
	Pos      int    `json:"pos"`      // byte range in the query
	End      int    `json:"end"`
	Col      int    `json:"col"`
	Msg      string `json:"msg"`
	Hint     string `json:"hint,omitempty"`
}

// Options wire a console.
type Options struct {
	Config Config
	// Listen is http.listen: off loopback, the console needs Config.Auth.
	Listen string
	Store  *clickhouse.Store
	// NATS, when set, feeds live updates (mentions.enriched.>, alerts.>).
	NATS *nats.Conn
	// Claims, when set, is the ClaimsBucket KV bucket: queue actions are
	// decided there by compare-and-swap, so they hold across replicas.
	Claims jetstream.KeyValue
	Topics []pipeline.Topic
	// Compile builds the enrichment's topic matcher; Lint is the query
	// linter of `earshot lint-query`.
	Compile  func(topics []pipeline.Topic) (Matcher, error)
	Lint     func(q string) []LintProblem
	Registry prometheus.Registerer
	Logger   *slog.Logger
	Now      func() time.Time // default time.Now
}

// Server serves the console. Handler mounts it.
type Server struct {
	cfg     Config
	store   *clickhouse.Store
	db      string
	live    *hub // nil without NATS
	topics  []pipeline.Topic
	matcher Matcher
	compile func([]pipeline.Topic) (Matcher, error)
	lint    func(string) []LintProblem
	auth    *authenticator
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics
	static  http.Handler

	claims      jetstream.KeyValue // nil: actions are serialised in this process only
	actMu       sync.Mutex         // serialises queue actions in this process
	lastVersion uint64

	rollMu    sync.Mutex // one rollup pass at a time
	rollInit  bool
	rollReady atomic.Bool // a pass completed: long ranges read the rollup
	rollMark  time.Time   // mentions ingested since then are recounted next

	colMu   sync.Mutex
	colSeen time.Time
	alertCo map[string]bool // optional alerts columns present
}

// New checks the options and builds a console.
func New(o Options) (*Server, error) {
	cfg := o.Config.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("console: %w", err)
	}
	if o.Store == nil || o.Compile == nil || o.Lint == nil {
		return nil, errors.New("console: Store, Compile and Lint are required")
	}
	auth, err := newAuthenticator(cfg.Auth, o.Listen)
	if err != nil {
		return nil, err
	}
	m, err := o.Compile(o.Topics)
	if err != nil {
		return nil, fmt.Errorf("console: topics: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "console")
	if auth.locked {
		log.Info(auth.why) // an expected setup (metrics-only replicas), not a fault
	}
	now := o.Now
	if now == nil {
		now = time.Now
	}
	reg := o.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	met, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("console: metrics: %w", err)
	}
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		return nil, fmt.Errorf("console: embedded assets: %w", err)
	}
	var live *hub
	if o.NATS != nil {
		live = &hub{nc: o.NATS}
	}
	return &Server{
		cfg: cfg, store: o.Store, db: o.Store.Database(), live: live, claims: o.Claims, topics: o.Topics, matcher: m,
		compile: o.Compile, lint: o.Lint, auth: auth, log: log, now: now, metrics: met,
		static: http.FileServerFS(sub),
	}, nil
}

// Locked reports why the console refuses every request, or "".
func (s *Server) Locked() string { return s.auth.why }

// Handler serves the page and its API. Mount it at "/" beside /metrics and
// /healthz, which it does not serve.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.page)
	mux.Handle("GET /static/", http.StripPrefix("/static/", s.static))
	mux.HandleFunc("GET /api/meta", s.apiMeta)
	mux.HandleFunc("GET /api/queue", s.apiQueue)
	mux.HandleFunc("POST /api/queue/{action}", s.apiAction)
	mux.HandleFunc("GET /api/alerts", s.apiAlerts)
	mux.HandleFunc("GET /api/mentions", s.apiMentions)
	mux.HandleFunc("GET /api/topic", s.apiTopic)
	mux.HandleFunc("GET /api/people", s.apiPeople)
	mux.HandleFunc("GET /api/lint", s.apiLint)
	mux.HandleFunc("GET /api/search", s.apiSearch)
	mux.HandleFunc("GET /api/events", s.apiEvents)
	return s.guard(mux)
}

// guard sets the security headers and checks credentials on every
// request, and refuses cross-site writes.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		h.Set("Cache-Control", "no-store")
		user, ok := s.auth.check(r)
		if !ok {
			if s.auth.locked {
				http.Error(w, s.auth.why, http.StatusUnauthorized)
				return
			}
			h.Set("WWW-Authenticate", `Basic realm="earshot console", charset="UTF-8"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := sameOrigin(r); err != nil {
				http.Error(w, err.Error(), http.StatusForbidden)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
	})
}

// sameOrigin is the CSRF check for state-changing requests: they must carry
// the X-Earshot-Console header (which a cross-site form cannot send, and a
// cross-site script can send only after a CORS preflight that is never
// granted), and a browser's Origin and Sec-Fetch-Site must say same origin.
func sameOrigin(r *http.Request) error {
	if r.Header.Get("X-Earshot-Console") != "1" {
		return errors.New("forbidden: missing X-Earshot-Console header")
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" {
		return fmt.Errorf("forbidden: cross-site request (%s)", site)
	}
	if o := r.Header.Get("Origin"); o != "" {
		host, ok := strings.CutPrefix(o, "http://")
		if !ok {
			host, ok = strings.CutPrefix(o, "https://")
		}
		if !ok || host != r.Host {
			return errors.New("forbidden: Origin does not match Host")
		}
	}
	return nil
}

type userKey struct{}

func userOf(r *http.Request) string {
	u, _ := r.Context().Value(userKey{}).(string)
	return u
}

func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	b, err := staticFiles.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, "missing page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(b)
}

func (s *Server) apiMeta(w http.ResponseWriter, r *http.Request) {
	ids := make([]string, len(s.topics))
	for i, t := range s.topics {
		ids[i] = t.ID
	}
	platforms, langs, err := s.facets(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, map[string]any{
		"topics": ids, "platforms": platforms, "languages": langs,
		"response_target_seconds": s.cfg.ResponseTarget.Seconds(),
		"user":                    userOf(r), "auth": s.auth.mode(), "live": s.live != nil,
		"ranges": rangeNames,
	})
}

// badRequest is an error in what the caller asked.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badReq(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// conflict is an action the queue state does not allow.
type conflict struct{ msg string }

func (e *conflict) Error() string { return e.msg }

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var br *badRequest
	var cf *conflict
	switch {
	case errors.As(err, &br):
		writeJSONStatus(w, http.StatusBadRequest, map[string]string{"error": br.msg})
	case errors.As(err, &cf):
		writeJSONStatus(w, http.StatusConflict, map[string]string{"error": cf.msg})
	case errors.Is(err, context.Canceled):
	default:
		s.log.Warn("console request failed", "path", r.URL.Path, "err", err)
		s.metrics.errors.Inc()
		writeJSONStatus(w, http.StatusServiceUnavailable, map[string]string{"error": "the store could not answer: " + err.Error()})
	}
}

func writeJSON(w http.ResponseWriter, v any) { writeJSONStatus(w, http.StatusOK, v) }

func writeJSONStatus(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}
