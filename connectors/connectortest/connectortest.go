// Package connectortest is the conformance suite every earshot connector
// passes against a local fake of its platform, and the pieces fakes share
// (an announced rate-limit window that records violations).
//
// A connector's test implements Fake over its platform fake and calls Run:
//
//	func TestConformance(t *testing.T) {
//		connectortest.Run(t, func(t *testing.T) connectortest.Fake { return newConformanceFake(t) })
//	}
//
// Each case starts a fresh fake, an embedded NATS JetStream server (the
// earshot streams and the cursor KV bucket) and the connector, and checks
// one promise a user relies on:
//
//   - ReadAckCursor: nothing is published and no read cursor is written
//     while JetStream refuses the mentions (Options.Firehose: the cursor may
//     pass events that yield nothing); once it acknowledges, every post
//     arrives, none lost, and a cursor is written.
//   - RestartNoDuplicatesNoLosses: posts made while the connector was stopped
//     arrive after the restart, the stream holds each post exactly once, and
//     a connector without rewind does not re-send what it had published.
//   - RateLimits: with a small announced window and a 429, every post
//     arrives and no request breaks a limit the fake announced.
//   - BadPayloads: a malformed and an oversized item are skipped and
//     counted (earshot_connector_errors_total{type="malformed"|"oversized"}),
//     the items around them arrive.
//   - Reconnect: through an outage (stream cut, requests failing) the
//     connector retries with backoff, not in a tight loop, and recovers.
//   - EditsAndDeletes: an edit is published as a new version of the same id
//     (later EditedAt, new text) and a deletion as a tombstone
//     (Mention.Deleted).
package connectortest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// Fake is a platform fake under the suite's control, with a connector
// configured to read it. Methods that change the platform take effect for
// the connector's next read (poll or stream event).
type Fake interface {
	// Platform is the platform name on the connector's mentions.
	Platform() string
	// NewSource returns a new connector reading the fake, configured the same
	// way every time: a second call is a restart. Its time scales (poll
	// interval, backoffs) should be turned down to tens of milliseconds.
	NewSource(t testing.TB) pipeline.Source
	// Post publishes a new post on the platform whose text contains text
	// (and whatever the connector's query matches), and returns the mention
	// id the connector must give it.
	Post(t testing.TB, text string) string
	// Edit changes the text of a post made with Post; the platform reports
	// the edit the way it does (a stream event, a later edited timestamp).
	Edit(t testing.TB, id, text string)
	// Delete deletes a post made with Post.
	Delete(t testing.TB, id string)
	// Malformed makes a malformed item appear on the platform, Oversized one
	// larger than the connector's configured item limit.
	Malformed(t testing.TB)
	Oversized(t testing.TB)
	// Throttle announces a small rate-limit window and answers the next
	// request with 429. Throttled reports how many requests were refused
	// with 429 so far.
	Throttle(t testing.TB)
	Throttled() int
	// Outage breaks the transport for d from now: open streams are cut and
	// requests fail. OutageRequests reports how many requests arrived during
	// outages.
	Outage(t testing.TB, d time.Duration)
	OutageRequests() int
	// Violations lists requests that broke a limit the fake announced.
	Violations() []string
}

// Options tune the suite to a connector.
type Options struct {
	// Rewinds is true for a connector that re-reads some of what it had
	// published on restart (a stream resumed a few seconds early); the
	// stream still holds each post once.
	Rewinds bool
	// Firehose is true for a connector whose cursor legitimately advances
	// over events that yield no mention (Jetstream's unmatched posts): the
	// suite then judges its cursor by the effect (nothing refused is lost)
	// and not by when it was written.
	Firehose bool
	// StateKey reports keys of the cursor store that are not read cursors
	// (rate-limit state, budgets): they may be written before a publish.
	StateKey func(key string) bool
	// MaxOutageRequests bounds the requests during a 1.5 s outage; default
	// 12 (backoff starting near 50 ms makes about 6).
	MaxOutageRequests int
	// Timeout for each wait; default 20 s.
	Timeout time.Duration
	// Matcher is given to the connector in SourceEnv (nil: none). Posts the
	// fake makes contain "acme".
	Matcher pipeline.Matcher
}

// Run runs every conformance case against fresh fakes from newFake.
func Run(t *testing.T, newFake func(t *testing.T) Fake, opts Options) {
	if opts.MaxOutageRequests == 0 {
		opts.MaxOutageRequests = 12
	}
	if opts.Timeout == 0 {
		opts.Timeout = 20 * time.Second
	}
	if opts.StateKey == nil {
		opts.StateKey = func(string) bool { return false }
	}
	cases := []struct {
		name string
		run  func(t *testing.T, h *harness)
	}{
		{"ReadAckCursor", readAckCursor},
		{"RestartNoDuplicatesNoLosses", restartNoDuplicatesNoLosses},
		{"RateLimits", rateLimits},
		{"BadPayloads", badPayloads},
		{"Reconnect", reconnect},
		{"EditsAndDeletes", editsAndDeletes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFake(t)
			h := newHarness(t, f, opts)
			c.run(t, h)
			if v := f.Violations(); len(v) > 0 {
				t.Errorf("requests broke the announced rate limits: %v", v)
			}
		})
	}
}

// harness is one case's fake, JetStream and connector environment.
type harness struct {
	t    *testing.T
	fake Fake
	opts Options
	js   *pipelinetest.JetStream
	mx   *pipeline.Metrics
	env  *pipeline.SourceEnv
	pub  *recordingPublisher
	cur  *recordingCursors
}

func newHarness(t *testing.T, f Fake, opts Options) *harness {
	js := pipelinetest.StartJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := pipeline.NewKVCursors(ctx, js.JS, "conformance")
	if err != nil {
		t.Fatalf("NewKVCursors: %v", err)
	}
	mx := pipeline.NewMetrics(prometheus.NewRegistry())
	cm := mx.Connector(f.Platform(), "conformance")
	pub := &recordingPublisher{next: pipeline.NewRawPublisher(js.JS, cm)}
	cur := &recordingCursors{next: kv, pub: pub}
	return &harness{t: t, fake: f, opts: opts, js: js, mx: mx, pub: pub, cur: cur,
		env: &pipeline.SourceEnv{Name: "conformance", Publisher: pub, Cursors: cur, Logger: pipelinetest.Logger(t), Metrics: cm, Matcher: opts.Matcher}}
}

// start runs a new source; stop cancels it and checks it returned nil.
func (h *harness) start() (stop func()) {
	t := h.t
	src := h.fake.NewSource(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, h.env) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run = %v; want nil after cancel", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("Run did not return within 15s of cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// stream returns the mentions in the MENTIONS stream.
func (h *harness) stream() []*pipeline.Mention {
	return h.js.Mentions(h.t, pipeline.StreamMentions)
}

// waitIDs waits until the stream holds a live (not deleted) mention for
// every id, and returns the stream.
func (h *harness) waitIDs(what string, ids ...string) []*pipeline.Mention {
	h.t.Helper()
	var ms []*pipeline.Mention
	pipelinetest.WaitFor(h.t, h.opts.Timeout, what, func() bool {
		ms = h.stream()
		have := map[string]bool{}
		for _, m := range ms {
			if !m.Deleted {
				have[m.ID] = true
			}
		}
		for _, id := range ids {
			if !have[id] {
				return false
			}
		}
		return true
	})
	return ms
}

// checkExactlyOnce fails unless the stream holds exactly want (as live
// first versions), each once.
func (h *harness) checkExactlyOnce(ms []*pipeline.Mention, want []string) {
	h.t.Helper()
	count := map[string]int{}
	for _, m := range ms {
		if !m.Deleted && m.EditedAt.IsZero() {
			count[m.ID]++
		}
	}
	var extra, dup, missing []string
	for id, n := range count {
		if !slices.Contains(want, id) {
			extra = append(extra, id)
		}
		if n > 1 {
			dup = append(dup, id)
		}
	}
	for _, id := range want {
		if count[id] == 0 {
			missing = append(missing, id)
		}
	}
	if len(extra)+len(dup)+len(missing) > 0 {
		h.t.Errorf("stream: unexpected %v, duplicated %v, missing %v; want exactly the %d posts once", extra, dup, missing, len(want))
	}
}

func (h *harness) errorsOfType(typ string) float64 {
	return testutil.ToFloat64(h.mx.ConnErrors.WithLabelValues(h.fake.Platform(), "conformance", typ))
}

func posts(t testing.TB, f Fake, prefix string, n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = f.Post(t, fmt.Sprintf("%s %d", prefix, i))
	}
	return ids
}

func readAckCursor(t *testing.T, h *harness) {
	ids := posts(t, h.fake, "acme first", 3)
	h.pub.refuse(true)
	stop := h.start()
	pipelinetest.WaitFor(t, h.opts.Timeout, "two refused publish attempts", func() bool { return h.pub.refusedCalls() >= 2 })
	stop()
	if n := len(h.stream()); n != 0 {
		t.Errorf("stream holds %d mentions while JetStream refused every publish; want 0", n)
	}
	if keys := h.cur.cursorPuts(h.opts.StateKey); len(keys) > 0 && !h.opts.Firehose {
		t.Errorf("read cursors %v were written while no mention was acknowledged; want none", keys)
	}
	h.pub.refuse(false)
	h.start()
	ms := h.waitIDs("the posts after JetStream accepts", ids...)
	pipelinetest.WaitFor(t, h.opts.Timeout, "a read cursor written", func() bool { return len(h.cur.cursorPuts(h.opts.StateKey)) > 0 })
	if bad := h.cur.putsBeforeAck(h.opts.StateKey); len(bad) > 0 && !h.opts.Firehose {
		t.Errorf("read cursors %v were written before any publish was acknowledged", bad)
	}
	h.checkExactlyOnce(ms, ids)
}

func restartNoDuplicatesNoLosses(t *testing.T, h *harness) {
	first := posts(t, h.fake, "acme before", 4)
	stop := h.start()
	h.waitIDs("the first posts", first...)
	// Let the connector settle its cursor: one more post read after them.
	settle := h.fake.Post(t, "acme settle")
	h.waitIDs("the settle post", settle)
	stop()
	published := h.pub.acked()
	down := posts(t, h.fake, "acme while stopped", 4)
	h.start()
	after := h.fake.Post(t, "acme after restart")
	all := append(append(append([]string{}, first...), settle), down...)
	all = append(all, after)
	ms := h.waitIDs("every post after the restart", all...)
	h.checkExactlyOnce(ms, all)
	if !h.opts.Rewinds {
		resent := 0
		for id, n := range h.pub.ackedSince(published) {
			if slices.Contains(first, id) || id == settle {
				resent += n
			}
		}
		if resent > 0 {
			t.Errorf("re-published %d posts acknowledged before the restart; want 0 (the cursor was kept)", resent)
		}
	}
}

func rateLimits(t *testing.T, h *harness) {
	h.fake.Throttle(t)
	ids := posts(t, h.fake, "acme limited", 5)
	h.start()
	ms := h.waitIDs("the posts through the rate limit", ids...)
	more := posts(t, h.fake, "acme limited later", 5)
	ms = h.waitIDs("more posts through the rate limit", more...)
	h.checkExactlyOnce(ms, append(ids, more...))
	if h.fake.Throttled() == 0 {
		t.Errorf("the fake refused no request with 429; the case did not exercise the limit")
	}
}

func badPayloads(t *testing.T, h *harness) {
	a := h.fake.Post(t, "acme good before")
	h.fake.Malformed(t)
	b := h.fake.Post(t, "acme good between")
	h.fake.Oversized(t)
	c := h.fake.Post(t, "acme good after")
	h.start()
	ms := h.waitIDs("the good posts around the bad ones", a, b, c)
	pipelinetest.WaitFor(t, h.opts.Timeout, "malformed and oversized counted", func() bool {
		return h.errorsOfType("malformed") >= 1 && h.errorsOfType("oversized") >= 1
	})
	ms = h.stream()
	h.checkExactlyOnce(ms, []string{a, b, c})
}

func reconnect(t *testing.T, h *harness) {
	a := h.fake.Post(t, "acme before the outage")
	h.start()
	h.waitIDs("the post before the outage", a)
	h.fake.Outage(t, 1500*time.Millisecond)
	b := h.fake.Post(t, "acme during the outage")
	ms := h.waitIDs("the post made during the outage", b)
	h.checkExactlyOnce(ms, []string{a, b})
	n := h.fake.OutageRequests()
	if n == 0 {
		t.Errorf("no request arrived during the outage; want retries")
	}
	if n > h.opts.MaxOutageRequests {
		t.Errorf("%d requests during a 1.5s outage; want at most %d (backoff, not a tight loop)", n, h.opts.MaxOutageRequests)
	}
	if h.errorsOfType("http_5xx")+h.errorsOfType("network")+h.errorsOfType("stream") == 0 {
		t.Errorf("the outage was not counted in earshot_connector_errors_total (http_5xx, network or stream)")
	}
}

func editsAndDeletes(t *testing.T, h *harness) {
	a := h.fake.Post(t, "acme to be edited")
	b := h.fake.Post(t, "acme to be deleted")
	c := h.fake.Post(t, "acme untouched")
	h.start()
	h.waitIDs("the posts", a, b, c)
	h.fake.Edit(t, a, "acme edited text")
	h.fake.Delete(t, b)
	var edit, tomb *pipeline.Mention
	pipelinetest.WaitFor(t, h.opts.Timeout, "the edit and the deletion", func() bool {
		for _, m := range h.stream() {
			switch {
			case m.ID == a && !m.EditedAt.IsZero():
				edit = m
			case m.ID == b && m.Deleted:
				tomb = m
			}
		}
		return edit != nil && tomb != nil
	})
	if !strings.Contains(edit.Text, "acme edited text") {
		t.Errorf("edit of %s has text %q; want the edited text", a, edit.Text)
	}
	if edit.EditedAt.Before(edit.CreatedAt) {
		t.Errorf("edit of %s: edited_at %v before created_at %v", a, edit.EditedAt, edit.CreatedAt)
	}
	if tomb.Platform != h.fake.Platform() {
		t.Errorf("tombstone platform = %q; want %q", tomb.Platform, h.fake.Platform())
	}
	for _, m := range h.stream() {
		if m.ID == c && (m.Deleted || !m.EditedAt.IsZero()) {
			t.Errorf("untouched post %s has a version %+v", c, m)
		}
	}
}

// errRefused stands for JetStream not acknowledging a publish.
var errRefused = errors.New("connectortest: publish refused (no PubAck)")

// recordingPublisher passes publishes on, can refuse them, and records the
// order of acknowledged publishes and cursor writes.
type recordingPublisher struct {
	next pipeline.Publisher

	mu       sync.Mutex
	refusing bool
	refused  int
	log      []string // acknowledged mention ids, in order
}

func (p *recordingPublisher) refuse(v bool) { p.mu.Lock(); p.refusing = v; p.mu.Unlock() }

func (p *recordingPublisher) refusedCalls() int { p.mu.Lock(); defer p.mu.Unlock(); return p.refused }

func (p *recordingPublisher) Publish(ctx context.Context, ms []*pipeline.Mention) error {
	p.mu.Lock()
	if p.refusing {
		p.refused++
		p.mu.Unlock()
		return errRefused
	}
	p.mu.Unlock()
	if err := p.next.Publish(ctx, ms); err != nil {
		return err
	}
	p.mu.Lock()
	for _, m := range ms {
		if !m.Deleted && m.EditedAt.IsZero() {
			p.log = append(p.log, m.ID)
		}
	}
	p.mu.Unlock()
	return nil
}

func (p *recordingPublisher) acked() int { p.mu.Lock(); defer p.mu.Unlock(); return len(p.log) }

// ackedSince counts the first versions acknowledged after the first n.
func (p *recordingPublisher) ackedSince(n int) map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for _, id := range p.log[n:] {
		out[id]++
	}
	return out
}

// recordingCursors records every cursor write and how many publishes had
// been acknowledged when it happened.
type recordingCursors struct {
	next pipeline.CursorStore
	pub  *recordingPublisher

	mu   sync.Mutex
	puts []put
}

type put struct {
	key   string
	acked int
}

func (c *recordingCursors) Get(ctx context.Context, key string) ([]byte, error) {
	return c.next.Get(ctx, key)
}

func (c *recordingCursors) Put(ctx context.Context, key string, value []byte) error {
	acked := c.pub.acked()
	c.mu.Lock()
	c.puts = append(c.puts, put{key, acked})
	c.mu.Unlock()
	return c.next.Put(ctx, key, value)
}

func (c *recordingCursors) cursorPuts(state func(string) bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.puts {
		if !state(p.key) {
			out = append(out, p.key)
		}
	}
	return out
}

func (c *recordingCursors) putsBeforeAck(state func(string) bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.puts {
		if !state(p.key) && p.acked == 0 {
			out = append(out, p.key)
		}
	}
	return out
}
