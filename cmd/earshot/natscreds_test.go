package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nkeys"

	"github.com/earshot-dev/earshot/pipeline"
)

// jwtAuth is decentralised NATS auth as an operator sets it up with nsc:
// an operator signs accounts, an account signs its users, and a user
// connects with a .creds file (its JWT and NKey seed).
type jwtAuth struct {
	operator, account nkeys.KeyPair
	operatorClaims    *jwt.OperatorClaims
	accounts          map[string]string // public key -> account JWT
	systemAccount     string
}

func mustKP(t *testing.T, create func() (nkeys.KeyPair, error)) nkeys.KeyPair {
	t.Helper()
	kp, err := create()
	if err != nil {
		t.Fatal(err)
	}
	return kp
}

func pub(t *testing.T, kp nkeys.KeyPair) string {
	t.Helper()
	p, err := kp.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// newJWTAuth mints an operator, a system account and one account with
// JetStream enabled, all signed by the operator.
func newJWTAuth(t *testing.T) *jwtAuth {
	t.Helper()
	a := &jwtAuth{operator: mustKP(t, nkeys.CreateOperator), account: mustKP(t, nkeys.CreateAccount), accounts: map[string]string{}}
	sys := mustKP(t, nkeys.CreateAccount)
	a.systemAccount = pub(t, sys)
	a.operatorClaims = jwt.NewOperatorClaims(pub(t, a.operator))
	a.operatorClaims.Name = "earshot-test-operator"
	a.operatorClaims.SystemAccount = a.systemAccount
	if _, err := a.operatorClaims.Encode(a.operator); err != nil { // signs it (and checks it)
		t.Fatal(err)
	}
	sc := jwt.NewAccountClaims(a.systemAccount)
	sc.Name = "SYS"
	a.accounts[a.systemAccount] = a.encode(t, sc, a.operator)
	ac := jwt.NewAccountClaims(pub(t, a.account))
	ac.Name = "EARSHOT"
	ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: jwt.NoLimit, DiskStorage: jwt.NoLimit, Streams: jwt.NoLimit, Consumer: jwt.NoLimit}
	a.accounts[pub(t, a.account)] = a.encode(t, ac, a.operator)
	return a
}

func (a *jwtAuth) encode(t *testing.T, c interface {
	Encode(nkeys.KeyPair) (string, error)
}, signer nkeys.KeyPair) string {
	t.Helper()
	s, err := c.Encode(signer)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// credsFile writes a .creds file for a new user signed by account.
func (a *jwtAuth) credsFile(t *testing.T, account nkeys.KeyPair) string {
	t.Helper()
	user := mustKP(t, nkeys.CreateUser)
	uc := jwt.NewUserClaims(pub(t, user))
	uc.Name = "earshot"
	seed, err := user.Seed()
	if err != nil {
		t.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(a.encode(t, uc, account), seed)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "earshot.creds")
	if err := os.WriteFile(path, creds, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// start runs a JetStream server that trusts the operator and knows the
// accounts (a memory resolver, as `resolver: MEMORY` with preloads).
func (a *jwtAuth) start(t *testing.T) *server.Server {
	t.Helper()
	res := &server.MemAccResolver{}
	for k, v := range a.accounts {
		if err := res.Store(k, v); err != nil {
			t.Fatal(err)
		}
	}
	s, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		TrustedOperators: []*jwt.OperatorClaims{a.operatorClaims}, AccountResolver: res, SystemAccount: a.systemAccount,
		NoSigs: true, NoLog: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats-server with operator JWTs not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s
}

// A role configured with nats.creds_file (a user JWT and seed, the
// decentralised auth of nsc-managed deployments) connects to a server that
// requires it and creates its streams, buckets and consumers in its
// account; the server refuses a client with no credentials or with a user
// of an account the operator never signed.
func TestNATSCredsFileOperatorJWT(t *testing.T) {
	a := newJWTAuth(t)
	s := a.start(t)
	creds := a.credsFile(t, a.account)
	cfg := parseTestConfig(t, "creds.yaml", map[string]any{
		"data_dir": t.TempDir(), "http": map[string]any{"listen": "off"},
		"nats": map[string]any{"url": s.ClientURL(), "creds_file": creds},
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := newInfra(cfg)
	defer in.Close()
	if err := in.openNATS(ctx, false); err != nil {
		t.Fatalf("openNATS with creds_file: %v", err)
	}
	if err := ensureRoleResources(ctx, cfg, in); err != nil {
		t.Fatalf("streams, buckets and consumers with creds_file: %v", err)
	}

	// They are in the account the user belongs to: another user of it sees
	// them, and stream MENTIONS takes a mention published there.
	nc, err := nats.Connect(s.ClientURL(), nats.UserCredentials(a.credsFile(t, a.account)))
	if err != nil {
		t.Fatalf("second user of the account: %v", err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	for _, sc := range [][2]string{{pipeline.StreamMentions, "enrich"}, {pipeline.StreamEnriched, "sink"}} {
		if _, err := js.Consumer(ctx, sc[0], sc[1]); err != nil {
			t.Errorf("consumer %s on %s in the account: %v", sc[1], sc[0], err)
		}
	}
	if _, err := js.Publish(ctx, pipeline.SubjectRawPrefix+"rss", []byte(`{"id":"rss:1"}`)); err != nil {
		t.Errorf("publish to %s in the account: %v", pipeline.StreamMentions, err)
	}

	// Refused: no credentials; a user signed by an account the operator
	// does not know; a creds file that is not there (named at start).
	stranger := mustKP(t, nkeys.CreateAccount)
	for name, set := range map[string]func(c *Config){
		"no credentials":         func(c *Config) { c.NATS.CredsFile = "" },
		"an account not trusted": func(c *Config) { c.NATS.CredsFile = a.credsFile(t, stranger) },
		"a missing creds file":   func(c *Config) { c.NATS.CredsFile = filepath.Join(t.TempDir(), "nope.creds") },
	} {
		c := *cfg
		set(&c)
		in := newInfra(&c)
		err := in.openNATS(ctx, false)
		in.Close()
		switch {
		case err == nil:
			t.Errorf("%s: connected, want refused", name)
		case name == "a missing creds file" && !strings.Contains(err.Error(), "nats.creds_file"):
			t.Errorf("%s: %v, want the error to name nats.creds_file", name, err)
		default:
			t.Logf("%s: refused: %.200v", name, err)
		}
	}
}
