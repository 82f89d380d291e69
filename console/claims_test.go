package console_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/earshot-dev/earshot/console"
	"github.com/earshot-dev/earshot/pipeline"
	"github.com/earshot-dev/earshot/pipeline/pipelinetest"
)

// post sends a queue action and returns the status and the error message.
func post(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var e struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &e)
	return res.StatusCode, e.Error
}

// Two console replicas (two processes' worth of state, one ClickHouse, one
// NATS) claim the same mentions at the same instant: for each, exactly one
// person gets it, and the other is told who has it.
func TestClaimsHoldAcrossReplicas(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	js := pipelinetest.StartJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := pipeline.EnsureKeyValue(ctx, js.JS, console.ClaimsBucketConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	replica := func() string {
		o := options(st, "127.0.0.1:0", nil)
		o.Claims = kv
		return serve(t, o).URL
	}
	a, b := replica(), replica()
	for _, id := range []string{"forum:1", "mastodon:2", "forum:3"} {
		type result struct {
			who  string
			code int
			msg  string
		}
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			res   = make([]result, 2)
		)
		for i, r := range []struct{ url, who string }{{a, "ann"}, {b, "bob"}} {
			req := action(t, r.url, "claim", id, r.who, "")
			wg.Go(func() {
				<-start
				code, msg := post(t, req)
				res[i] = result{r.who, code, msg}
			})
		}
		close(start)
		wg.Wait()
		var winner, loser *result
		for i := range res {
			switch res[i].code {
			case http.StatusOK:
				winner = &res[i]
			case http.StatusConflict:
				loser = &res[i]
			}
		}
		if winner == nil || loser == nil {
			t.Fatalf("claim %s on two replicas at once = %+v; want one 200 and one 409", id, res)
		}
		if want := winner.who + " already claimed it"; loser.msg != want {
			t.Errorf("claim %s: the loser (%s) was told %q; want %q", id, loser.who, loser.msg, want)
		}
		// The winner answers through the other replica; the loser cannot.
		other := map[string]string{"ann": b, "bob": a}
		if code, msg := post(t, action(t, other[loser.who], "answer", id, loser.who, "")); code != http.StatusConflict {
			t.Errorf("answer %s by %s (not the claimant) = %d %q; want 409", id, loser.who, code, msg)
		}
		if code, msg := post(t, action(t, other[winner.who], "answer", id, winner.who, "done")); code != http.StatusOK {
			t.Errorf("answer %s by %s on the other replica = %d %q; want 200", id, winner.who, code, msg)
		}
	}
	var done queueResp
	getJSON(t, get(t, a+"/api/queue?state=done"), &done)
	if len(done.Items) != 3 {
		t.Errorf("done queue = %v; want the three answered mentions", ids(done))
	}
	for _, it := range done.Items {
		if it.State != "answered" || it.Note != "done" || (it.Actor != "ann" && it.Actor != "bob") {
			t.Errorf("done item %+v; want answered with the claimant's note", it)
		}
	}
}

// The bucket is ahead of ClickHouse for a moment after a replica's
// compare-and-swap: a claim found there and not yet in ClickHouse still
// stops another person.
func TestClaimInBucketStopsOthersBeforeClickHouseHasIt(t *testing.T) {
	st := openStore(t)
	seed(t, st)
	js := pipelinetest.StartJetStream(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	kv, err := pipeline.EnsureKeyValue(ctx, js.JS, console.ClaimsBucketConfig(1))
	if err != nil {
		t.Fatal(err)
	}
	// What a replica writes before its ClickHouse insert.
	val := `{"MentionID":"forum:1","Platform":"forum","State":"claimed","Actor":"cara","Version":` + "99999999999999999" + `}`
	if _, err := kv.Create(ctx, "m.Zm9ydW06MQ", []byte(val)); err != nil { // base64url("forum:1")
		t.Fatal(err)
	}
	o := options(st, "127.0.0.1:0", nil)
	o.Claims = kv
	srv := serve(t, o)
	if code, msg := post(t, action(t, srv.URL, "claim", "forum:1", "bob", "")); code != http.StatusConflict || !strings.Contains(msg, "cara") {
		t.Errorf("claim forum:1 by bob while cara holds it in the bucket = %d %q; want 409 naming cara", code, msg)
	}
	if code, msg := post(t, action(t, srv.URL, "answer", "forum:1", "cara", "")); code != http.StatusOK {
		t.Errorf("answer forum:1 by cara = %d %q; want 200", code, msg)
	}
}
