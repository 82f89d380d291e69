package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.yaml.in/yaml/v3"

	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

func TestNormalize(t *testing.T) {
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		in      pipeline.Mention
		wantErr string
		check   func(t *testing.T, m *pipeline.Mention)
	}{
		{name: "fills defaults", in: pipeline.Mention{ID: "rss:1", Platform: "rss", Text: "hi"},
			check: func(t *testing.T, m *pipeline.Mention) {
				if !m.CreatedAt.Equal(now) || !m.CollectedAt.Equal(now) || m.Kind != pipeline.KindPost || m.Schema != 1 {
					t.Errorf("Normalize() = created %v collected %v kind %q schema %d", m.CreatedAt, m.CollectedAt, m.Kind, m.Schema)
				}
			}},
		{name: "invalid utf8 repaired", in: pipeline.Mention{ID: "rss:2", Platform: "rss", Text: "bad \xff\xfe byte\x00"},
			check: func(t *testing.T, m *pipeline.Mention) {
				if !utf8.ValidString(m.Text) || strings.Contains(m.Text, "\x00") {
					t.Errorf("Normalize() text = %q; want valid UTF-8 without NUL", m.Text)
				}
			}},
		{name: "huge text truncated at rune boundary", in: pipeline.Mention{ID: "rss:3", Platform: "rss", Text: strings.Repeat("é", pipeline.MaxTextBytes)},
			check: func(t *testing.T, m *pipeline.Mention) {
				if len(m.Text) > pipeline.MaxTextBytes || !utf8.ValidString(m.Text) {
					t.Errorf("Normalize() text len %d valid %v; want <= %d and valid", len(m.Text), utf8.ValidString(m.Text), pipeline.MaxTextBytes)
				}
			}},
		{name: "missing id and platform", in: pipeline.Mention{Source: "x"}, wantErr: "missing id, platform"},
		{name: "bad platform token", in: pipeline.Mention{ID: "a:1", Platform: "a.b"}, wantErr: "not a valid subject token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.in
			err := m.Normalize(now)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Normalize() = %v; want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize() = %v", err)
			}
			tt.check(t, &m)
		})
	}
}

func TestUnmarshalRejects(t *testing.T) {
	for _, in := range []string{`not json`, `{"schema":99,"id":"a:1"}`, `{"schema":1}`} {
		if _, err := pipeline.Unmarshal([]byte(in)); err == nil {
			t.Errorf("Unmarshal(%q) = nil error; want error", in)
		}
	}
	m, err := pipeline.Unmarshal([]byte(`{"schema":1,"id":"a:1","platform":"a","future_field":{"x":1}}`))
	if err != nil || m.ID != "a:1" {
		t.Errorf("Unmarshal(unknown field) = %v, %v; want mention a:1 (unknown fields ignored)", m, err)
	}
}

func TestDecodeStrictNamesUnknownKeysWithLines(t *testing.T) {
	type inner struct {
		URL string `yaml:"url"`
	}
	type cfg struct {
		Interval time.Duration      `yaml:"interval"`
		Feeds    []inner            `yaml:"feeds"`
		Secret   pipeline.SecretRef `yaml:"secret"`
	}
	src := "type: rss\nname: a\ninterval: 5m\nfeeds:\n  - url: http://x\n    urll: typo\nbogus: 1\n"
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	var c cfg
	err := pipeline.DecodeStrict(doc.Content[0], &c, "type", "name")
	if err == nil {
		t.Fatal("DecodeStrict() = nil; want errors for urll and bogus")
	}
	for _, want := range []string{`line 6: unknown key "feeds[0].urll"`, `line 7: unknown key "bogus"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("DecodeStrict() = %v; want it to contain %q", err, want)
		}
	}
	if c.Interval != 5*time.Minute || len(c.Feeds) != 1 || c.Feeds[0].URL != "http://x" {
		t.Errorf("DecodeStrict() decoded %+v; want interval 5m and one feed", c)
	}
}

func TestSecretNeverPrints(t *testing.T) {
	t.Setenv("EARSHOT_TEST_SECRET", "hunter2")
	s, err := pipeline.SecretRef{Env: "EARSHOT_TEST_SECRET"}.Load()
	if err != nil || s.Reveal() != "hunter2" {
		t.Fatalf("Load() = %v, %v; want hunter2", s.Reveal(), err)
	}
	var buf strings.Builder
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "token", s)
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q", s, s, s, s, s), buf.String()} {
		if strings.Contains(out, "hunter2") {
			t.Errorf("secret leaked in %q", out)
		}
	}
	if _, err := (pipeline.SecretRef{Env: "EARSHOT_TEST_UNSET_VAR"}).Load(); err == nil {
		t.Error("Load(unset env) = nil error; want error")
	}
	var ref pipeline.SecretRef
	if err := yaml.Unmarshal([]byte(`plaintext`), &ref); err == nil {
		t.Error("SecretRef from a plain string = nil error; want error")
	}
}

// stage is a test enricher: it tags each mention, fails on "fail", panics on "panic".
type stage struct{ name string }

func (s stage) Name() string    { return s.name }
func (s stage) Version() string { return "t1" }
func (s stage) Enrich(_ context.Context, batch []*pipeline.Mention) error {
	for _, m := range batch {
		switch m.Text {
		case "panic":
			panic("boom")
		case "fail":
			return errors.New("cannot")
		}
	}
	for _, m := range batch {
		m.Enrichment.Hashtags = append(m.Enrichment.Hashtags, s.name)
		m.SetVersion(s.name, "t1")
	}
	return nil
}

func mentions(texts ...string) []*pipeline.Mention {
	var out []*pipeline.Mention
	for i, tx := range texts {
		out = append(out, &pipeline.Mention{ID: fmt.Sprintf("test:%d", i), Platform: "test", Text: tx})
	}
	return out
}

func runInBackground(t *testing.T, run func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("runner: %v", err)
		}
	})
}

func TestEnrichRunnerIsolatesFailuresAndDeadLettersGarbage(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	ctx := context.Background()
	pub := pipeline.NewRawPublisher(js.JS, nil)
	if err := pub.Publish(ctx, mentions("ok one", "panic", "fail", "ok two")); err != nil {
		t.Fatal(err)
	}
	// A message that is not a mention at all.
	if _, err := js.JS.PublishMsg(ctx, &nats.Msg{Subject: "mentions.raw.test", Data: []byte("{garbage")}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	metrics := pipeline.NewMetrics(reg)
	r := &pipeline.EnrichRunner{JS: js.JS, Chain: []pipeline.Enricher{stage{"a"}, stage{"b"}}, Metrics: metrics, Logger: pipelinetest.Logger(t)}
	runInBackground(t, r.Run)

	var got []*pipeline.Mention
	pipelinetest.WaitFor(t, 10*time.Second, "4 enriched mentions", func() bool {
		got = js.Mentions(t, pipeline.StreamEnriched)
		return len(got) >= 4
	})
	byText := map[string]*pipeline.Mention{}
	for _, m := range got {
		byText[m.Text] = m
	}
	if len(got) != 4 {
		t.Fatalf("enriched %d mentions; want 4", len(got))
	}
	for _, tx := range []string{"ok one", "ok two"} {
		m := byText[tx]
		if m == nil || strings.Join(m.Enrichment.Hashtags, ",") != "a,b" || len(m.Enrichment.Errors) != 0 {
			t.Errorf("mention %q = %+v; want tagged a,b with no errors", tx, m)
		}
	}
	for _, tx := range []string{"panic", "fail"} {
		m := byText[tx]
		if m == nil || len(m.Enrichment.Errors) != 2 || m.Enrichment.Errors[0].Stage != "a" {
			t.Errorf("mention %q errors = %+v; want failures of both stages marked", tx, m)
		}
	}
	pipelinetest.WaitFor(t, 10*time.Second, "dead letter", func() bool {
		st, err := js.JS.Stream(ctx, pipeline.StreamDeadLetter)
		if err != nil {
			return false
		}
		msg, err := st.GetLastMsgForSubject(ctx, "deadletter.enrich")
		if err != nil {
			return false
		}
		if !strings.Contains(msg.Header.Get(pipeline.HeaderReason), "decode mention") || string(msg.Data) != "{garbage" {
			t.Fatalf("dead letter = %q reason %q; want original data and decode reason", msg.Data, msg.Header.Get(pipeline.HeaderReason))
		}
		return true
	})
	pipelinetest.WaitFor(t, 10*time.Second, "raw messages acknowledged", func() bool {
		return js.CaughtUp(t, pipeline.StreamMentions, "enrich")
	})
	if v := testutil.ToFloat64(metrics.DeadLettered.WithLabelValues("enrich", "decode")); v != 1 {
		t.Errorf("dead-lettered metric = %v; want 1", v)
	}
}

// flakySink fails its first n writes, then records every mention it stores.
type flakySink struct {
	mu     sync.Mutex
	failN  int
	writes int
	stored map[string]int
}

func (s *flakySink) Write(_ context.Context, batch []*pipeline.Mention) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if s.writes <= s.failN {
		return errors.New("store unavailable")
	}
	for _, m := range batch {
		s.stored[m.ID]++
	}
	return nil
}

func (s *flakySink) snapshot() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.stored))
	for k, v := range s.stored {
		out[k] = v
	}
	return out
}

func TestSinkRunnerRetriesUntilStoredAndAcksAfter(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	const n = 2500
	var batch []*pipeline.Mention
	for i := 0; i < n; i++ {
		batch = append(batch, &pipeline.Mention{ID: fmt.Sprintf("test:%d", i), Platform: "test", Text: "x"})
	}
	for _, m := range batch {
		_ = m.Normalize(time.Now())
	}
	// Publish straight to the enriched stream.
	var futures []jetstream.PubAckFuture
	for _, m := range batch {
		data, _ := m.Marshal()
		f, err := js.JS.PublishMsgAsync(&nats.Msg{Subject: "mentions.enriched.test", Data: data, Header: nats.Header{jetstream.MsgIDHeader: []string{m.ID}}})
		if err != nil {
			t.Fatal(err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			t.Fatal(err)
		}
	}
	sink := &flakySink{failN: 3, stored: map[string]int{}}
	r := &pipeline.SinkRunner{JS: js.JS, Sink: sink, Metrics: pipeline.NewMetrics(prometheus.NewRegistry()), Logger: pipelinetest.Logger(t),
		Config: pipeline.SinkConfig{BatchRows: 1000, FlushInterval: 100 * time.Millisecond}}
	runInBackground(t, r.Run)
	pipelinetest.WaitFor(t, 30*time.Second, "all mentions stored and acked", func() bool {
		return js.CaughtUp(t, pipeline.StreamEnriched, "sink") && len(sink.snapshot()) == n
	})
	for id, c := range sink.snapshot() {
		if c != 1 {
			t.Errorf("mention %s stored %d times; want 1", id, c)
		}
	}
}

// rejectingSink stores everything but mentions whose text is "bad".
type rejectingSink struct {
	mu     sync.Mutex
	stored []string
}

type partial []pipeline.Rejection

func (p partial) Error() string                    { return "some rejected" }
func (p partial) Rejections() []pipeline.Rejection { return p }

func (s *rejectingSink) Write(_ context.Context, batch []*pipeline.Mention) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var rej partial
	for i, m := range batch {
		if m.Text == "bad" {
			rej = append(rej, pipeline.Rejection{Index: i, Reason: "no good"})
			continue
		}
		s.stored = append(s.stored, m.ID)
	}
	if len(rej) > 0 {
		return rej
	}
	return nil
}

func TestSinkRunnerDeadLettersRejectedMentionsAndAcksTheRest(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	ctx := context.Background()
	for _, m := range mentions("good", "bad", "fine") {
		_ = m.Normalize(time.Now())
		data, _ := m.Marshal()
		if _, err := js.JS.PublishMsg(ctx, &nats.Msg{Subject: "mentions.enriched.test", Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	sink := &rejectingSink{}
	r := &pipeline.SinkRunner{JS: js.JS, Sink: sink, Metrics: pipeline.NewMetrics(prometheus.NewRegistry()), Logger: pipelinetest.Logger(t),
		Config: pipeline.SinkConfig{FlushInterval: 50 * time.Millisecond}}
	runInBackground(t, r.Run)
	pipelinetest.WaitFor(t, 10*time.Second, "consumer drained", func() bool {
		return js.CaughtUp(t, pipeline.StreamEnriched, "sink")
	})
	sink.mu.Lock()
	stored := strings.Join(slices.Sorted(slices.Values(sink.stored)), ",")
	sink.mu.Unlock()
	if stored != "test:0,test:2" {
		t.Errorf("stored %q; want test:0,test:2", stored)
	}
	st, err := js.JS.Stream(ctx, pipeline.StreamDeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := st.GetLastMsgForSubject(ctx, "deadletter.sink")
	if err != nil {
		t.Fatalf("no dead letter for the rejected mention: %v", err)
	}
	if got := msg.Header.Get(pipeline.HeaderReason); got != "rejected by store: no good" {
		t.Errorf("dead letter reason = %q; want %q", got, "rejected by store: no good")
	}
}

// crashStage stands for a mention that kills the process: it signals, then
// blocks until the runner is stopped.
type crashStage struct{ seen chan struct{} }

func (crashStage) Name() string    { return "crash" }
func (crashStage) Version() string { return "t1" }
func (s crashStage) Enrich(ctx context.Context, batch []*pipeline.Mention) error {
	for _, m := range batch {
		if m.Text == "poison" {
			select { // RunChain retries the failed batch mention by mention
			case s.seen <- struct{}{}:
			default:
			}
			<-ctx.Done()
			return ctx.Err()
		}
	}
	return nil
}

func TestEnrichRunnerDeadLettersAfterBoundedRedeliveries(t *testing.T) {
	js := pipelinetest.StartJetStream(t)
	ctx := context.Background()
	if err := pipeline.NewRawPublisher(js.JS, nil).Publish(ctx, mentions("poison")); err != nil {
		t.Fatal(err)
	}
	consumer := pipeline.ConsumerConfig{AckWait: time.Second, MaxDeliver: 2}
	st := crashStage{seen: make(chan struct{}, 1)}
	// Two deliveries "crash" the process; the third is over the bound.
	for crash := 1; crash <= 2; crash++ {
		rctx, cancel := context.WithCancel(ctx)
		r := &pipeline.EnrichRunner{JS: js.JS, Chain: []pipeline.Enricher{st}, Consumer: consumer, Workers: 1,
			Metrics: pipeline.NewMetrics(prometheus.NewRegistry()), Logger: pipelinetest.Logger(t)}
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		select {
		case <-st.seen:
		case <-time.After(20 * time.Second):
			t.Fatalf("crash %d: poison mention not delivered", crash)
		}
		cancel()
		<-done
		select { // the stopped runner's retry may have signalled again
		case <-st.seen:
		default:
		}
	}
	r := &pipeline.EnrichRunner{JS: js.JS, Chain: []pipeline.Enricher{st}, Consumer: consumer, Workers: 1,
		Metrics: pipeline.NewMetrics(prometheus.NewRegistry()), Logger: pipelinetest.Logger(t)}
	runInBackground(t, r.Run)
	pipelinetest.WaitFor(t, 20*time.Second, "dead letter after 2 deliveries", func() bool {
		s, err := js.JS.Stream(ctx, pipeline.StreamDeadLetter)
		if err != nil {
			return false
		}
		msg, err := s.GetLastMsgForSubject(ctx, "deadletter.enrich")
		if err != nil {
			return false
		}
		if got := msg.Header.Get(pipeline.HeaderReason); got != "delivered 3 times without completing" {
			t.Fatalf("dead letter reason = %q; want %q", got, "delivered 3 times without completing")
		}
		return true
	})
	select {
	case <-st.seen:
		t.Error("poison mention reached the chain a third time; want it dead-lettered first")
	default:
	}
	if got := js.Mentions(t, pipeline.StreamEnriched); len(got) != 0 {
		t.Errorf("enriched %d mentions; want 0 (the poison is dead-lettered, not passed on)", len(got))
	}
}
