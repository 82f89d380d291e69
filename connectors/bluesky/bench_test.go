package bluesky

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/earshot-dev/earshot/connectors/bluesky/jetstreamfake"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// network fills fake with n events shaped like Jetstream's: 2% of posts
// match the topic, the rest is other posts, replies, deletions, identity
// and account events. It returns the last event's time_us.
func network(b *testing.B, fake *jetstreamfake.Server, n int) {
	b.Helper()
	for i := range n {
		did := fmt.Sprintf("did:plc:user%d", i%5000)
		switch {
		case i%50 == 0:
			fake.Create(did, jetstreamfake.Post{Text: fmt.Sprintf("my acme blender broke again, number %d #fail", i), Langs: []string{"en"}})
		case i%20 == 1:
			fake.Delete(fmt.Sprintf("at://%s/app.bsky.feed.post/3kaaaaaaaaa%02d", did, i%100))
		case i%97 == 2:
			fake.Identity(did, fmt.Sprintf("user%d.bsky.social", i))
		case i%13 == 3:
			fake.Create(did, jetstreamfake.Post{Text: "replying to something that is not about anything we track", ReplyTo: "at://did:plc:x/app.bsky.feed.post/3kxyz"})
		default:
			fake.Create(did, jetstreamfake.Post{Text: fmt.Sprintf("just a regular post number %d about the weather and lunch", i), Langs: []string{"en"}})
		}
	}
}

// BenchmarkStream measures the connector reading Jetstream over a local
// WebSocket, matching every post, resolving profiles and publishing the
// kept posts to embedded JetStream, from the first event to the cursor
// saved past the last one. BenchmarkStreamBaseline reads the same frames
// over the same WebSocket and does nothing with them. Run with -cpu 1.
func BenchmarkStream(b *testing.B) {
	fake := jetstreamfake.New(b)
	network(b, fake, b.N)
	js := pipelinetest.StartJetStream(b)
	env := js.SourceEnv(b, Platform, "bench")
	env.Logger = pipelinetest.Discard
	env.Matcher = wordMatcher{}
	src, err := New(spec(b, fmt.Sprintf("type: bluesky\nname: bench\nbase_url: %s\nappview_url: %s\nbackfill: 1h\n", fake.WSURL, fake.URL)),
		[]pipeline.Topic{{ID: "acme", Query: "acme"}})
	if err != nil {
		b.Fatal(err)
	}
	s := src.(*Source)
	last := lastTime(b, fake)
	b.ResetTimer()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = s.Run(ctx, env) })
	for {
		raw, err := env.Cursors.Get(ctx, cursorKey)
		if err == nil {
			if c, _ := strconv.ParseInt(string(raw), 10, 64); c >= last {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.StopTimer()
	cancel()
	wg.Wait()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkStreamBaseline(b *testing.B) {
	fake := jetstreamfake.New(b)
	network(b, fake, b.N)
	b.ResetTimer()
	ctx := context.Background()
	conn, _, err := websocket.Dial(ctx, fake.WSURL+"/subscribe?wantedCollections=app.bsky.feed.post&cursor=1", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(readLimit)
	for range b.N {
		if _, _, err := conn.Read(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// lastTime is the time_us of the fake's last event.
func lastTime(b *testing.B, fake *jetstreamfake.Server) int64 {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, fake.WSURL+"/subscribe?wantedCollections=app.bsky.feed.post&cursor=1", nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.CloseNow()
	conn.SetReadLimit(readLimit)
	var last int64
	for range b.N {
		_, data, err := conn.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		var ev struct {
			TimeUS int64 `json:"time_us"`
		}
		_ = json.Unmarshal(data, &ev)
		last = ev.TimeUS
	}
	return last
}
