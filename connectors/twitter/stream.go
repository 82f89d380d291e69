package twitter

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/earshot-dev/earshot/pipeline"
)

// Stream outcomes that are not API errors.
var (
	errStalled      = errors.New("stream silent for longer than stall_timeout")
	errDisconnected = errors.New("stream disconnected")
)

// maxLineBytes bounds one stream line; longer lines are skipped.
const maxLineBytes = 16 << 20

// publishBatch is the most mentions published at once from a stream.
const publishBatch = 100

// v2Rule is a filtered stream rule.
type v2Rule struct {
	ID    string `json:"id,omitempty"`
	Value string `json:"value"`
	Tag   string `json:"tag,omitempty"`
}

type v2RulesResponse struct {
	Data   []v2Rule    `json:"data"`
	Errors []v2Problem `json:"errors"`
	Meta   struct {
		Sent        string `json:"sent"`
		ResultCount int    `json:"result_count"`
		NextToken   string `json:"next_token"`
		Summary     struct {
			Created    int `json:"created"`
			NotCreated int `json:"not_created"`
			Valid      int `json:"valid"`
			Invalid    int `json:"invalid"`
			Deleted    int `json:"deleted"`
			NotDeleted int `json:"not_deleted"`
		} `json:"summary"`
	} `json:"meta"`
}

// syncRules makes the stream's rules match the configured queries: it adds
// the missing ones, deletes stale rules earshot created (tag prefix
// "earshot:") and leaves other rules alone unless delete_foreign_rules.
func (r *run) syncRules(ctx context.Context) error {
	var existing []v2Rule
	p := url.Values{}
	p.Set("max_results", "1000")
	for {
		var resp v2RulesResponse
		if err := r.api.getJSON(ctx, epStreamRules, p, &resp); err != nil {
			return fmt.Errorf("list stream rules: %w", err)
		}
		existing = append(existing, resp.Data...)
		if resp.Meta.NextToken == "" {
			break
		}
		p.Set("pagination_token", resp.Meta.NextToken)
	}
	want := map[string]string{} // tag -> value
	byValue := map[string]query{}
	for _, q := range r.cfg.queries {
		want[q.Tag()] = q.Value
		byValue[q.Value] = q
	}
	have := map[string]bool{}
	var del []string
	foreign := 0
	for _, rule := range existing {
		switch {
		case strings.HasPrefix(rule.Tag, RuleTagPrefix):
			if want[rule.Tag] == rule.Value && !have[rule.Tag] {
				have[rule.Tag] = true
			} else {
				del = append(del, rule.ID) // stale, or a duplicate of ours
			}
		case r.cfg.DeleteForeignRules:
			del = append(del, rule.ID)
		default:
			foreign++
			if q, ok := byValue[rule.Value]; ok && !have[q.Tag()] {
				// X allows one rule per value: another app's identical rule
				// serves this query, and its tag marks our posts.
				have[q.Tag()] = true
				r.byTag[rule.Tag] = q
				r.log.Debug("a foreign stream rule has this query's value; using it", "tag", rule.Tag, "query", q.Label)
			}
		}
	}
	if len(del) > 0 {
		var resp v2RulesResponse
		body := map[string]any{"delete": map[string]any{"ids": del}}
		if err := r.api.jsonCall(ctx, http.MethodPost, epStreamRules, nil, body, &resp); err != nil {
			return fmt.Errorf("delete stream rules: %w", err)
		}
		for _, e := range resp.Errors {
			r.warn("rules", "X did not delete a stream rule", "id", e.ID, "title", e.Title, "detail", e.Detail)
		}
	}
	var add []v2Rule
	for _, q := range r.cfg.queries {
		if !have[q.Tag()] {
			add = append(add, v2Rule{Value: q.Value, Tag: q.Tag()})
		}
	}
	if len(add) > 0 {
		var resp v2RulesResponse
		body := map[string]any{"add": add}
		if err := r.api.jsonCall(ctx, http.MethodPost, epStreamRules, nil, body, &resp); err != nil {
			return fmt.Errorf("add stream rules: %w", err)
		}
		for _, e := range resp.Errors {
			r.warn("invalid_rule", "X refused a stream rule; its topic is not streamed", "value", e.Value,
				"title", e.Title, "detail", e.Detail)
		}
	}
	r.log.Debug("stream rules synced", "kept", len(have), "added", len(add), "deleted", len(del), "foreign_kept", foreign)
	return nil
}

// v2Stream keeps a filtered stream connection open until ctx is done,
// reconnecting with X's documented backoffs.
func (r *run) v2Stream(ctx context.Context) error {
	return r.streamLoop(ctx, r.syncRules, r.v2StreamOnce)
}

// streamLoop is the reconnect loop shared by v2 and v1.1 streams. prepare
// (rule sync) runs until it first succeeds.
func (r *run) streamLoop(ctx context.Context, prepare func(context.Context) error, once func(context.Context) (time.Duration, error)) error {
	bo := r.src.backoffs
	prepared := prepare == nil
	for {
		if err := r.budget.wait(ctx); err != nil {
			return nil
		}
		if !prepared {
			if err := prepare(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				wait := bo.http.next()
				r.logAPIError("stream rules sync failed", err, "retry_in", wait)
				if sleepCtx(ctx, wait) != nil {
					return nil
				}
				continue
			}
			prepared = true
		}
		up, err := once(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var wait time.Duration
		var ae *APIError
		switch {
		case errors.Is(err, ErrBudgetSpent):
			continue
		case errors.Is(err, ErrRateLimited):
			r.log.Debug("stream rate limited; waiting for the reset", "error", err)
			continue // the limiter holds the next connect until the reset
		case errors.As(err, &ae):
			wait = bo.http.next()
			r.logAPIError("stream connect refused", err, "retry_in", wait)
		default:
			if up >= r.src.healthyAfter {
				bo.network.reset()
				bo.http.reset()
			}
			wait = bo.network.next()
			if errors.Is(err, errStalled) {
				r.warn("stall", "stream stalled; reconnecting", "stall_timeout", r.cfg.StallTimeout, "retry_in", wait)
			} else {
				r.log.Debug("stream disconnected; reconnecting", "error", err, "up", up, "retry_in", wait)
			}
		}
		if up > 0 {
			bo.http.reset() // the last connect was accepted
		}
		if sleepCtx(ctx, wait) != nil {
			return nil
		}
	}
}

// lineReader reads "\r\n"-delimited stream lines.
type lineReader struct {
	br  *bufio.Reader
	buf []byte
}

// next returns the next complete line without its delimiter. A last line
// cut off by a disconnect is returned with partial set, together with the
// read error. tooLong reports a line over maxLineBytes that was skipped.
func (lr *lineReader) next() (line []byte, partial, tooLong bool, err error) {
	lr.buf = lr.buf[:0]
	for {
		chunk, err := lr.br.ReadSlice('\n')
		if len(lr.buf)+len(chunk) <= maxLineBytes {
			lr.buf = append(lr.buf, chunk...)
		} else {
			tooLong = true
		}
		switch {
		case err == nil:
			if tooLong {
				return nil, false, true, nil
			}
			return bytes.TrimRight(lr.buf, "\r\n"), false, false, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, len(lr.buf) > 0, false, err
		}
	}
}

// v2StreamOnce connects to the filtered stream and reads it until it ends.
// It returns how long the connection was up (0 if it was refused) and why
// it ended.
func (r *run) v2StreamOnce(ctx context.Context) (time.Duration, error) {
	connCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := r.api.do(connCtx, http.MethodGet, epStream, v2FieldParams(nil), nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	start := time.Now()
	up := func() time.Duration { return max(time.Since(start), time.Nanosecond) }
	r.log.Debug("stream connected")

	var stalled atomic.Bool
	stall := r.cfg.StallTimeout
	timer := time.AfterFunc(stall, func() { stalled.Store(true); cancel() })
	defer timer.Stop()

	lr := &lineReader{br: bufio.NewReaderSize(resp.Body, 64<<10)}
	var batch []*pipeline.Mention
	reads := 0
	flush := func() error {
		if reads == 0 && len(batch) == 0 {
			return nil
		}
		timer.Stop() // publishing is not the stream's silence
		defer timer.Reset(stall)
		if err := r.budget.add(ctx, reads); err != nil {
			r.warn("cursor", "saving the read budget failed", "error", err)
		}
		reads = 0
		err := r.publish(ctx, batch)
		batch = batch[:0]
		return err
	}
	count := func(kind string) { r.src.mx.stream.WithLabelValues(r.env.Name, kind).Inc() }
	for {
		line, partial, tooLong, err := lr.next()
		if err != nil {
			if ferr := flush(); ferr != nil {
				return up(), ferr
			}
			if partial {
				count("partial")
				r.log.Debug("stream ended inside a line; the partial line is dropped", "bytes", len(lr.buf))
			}
			if stalled.Load() {
				return up(), errStalled
			}
			if errors.Is(err, io.EOF) {
				return up(), errDisconnected
			}
			return up(), fmt.Errorf("%w: %w", errDisconnected, err)
		}
		timer.Reset(stall)
		switch {
		case tooLong:
			count("malformed")
			r.warn("parse", "skipping a stream line longer than the limit", "limit_bytes", maxLineBytes)
		case len(line) == 0:
			count("keepalive")
		default:
			m, read := r.v2StreamLine(line, count)
			if read {
				reads++
			}
			if m != nil {
				batch = append(batch, m)
			}
		}
		if lr.br.Buffered() == 0 || len(batch) >= publishBatch {
			if err := flush(); err != nil {
				return up(), err
			}
			if r.budget.remaining() == 0 {
				return up(), ErrBudgetSpent
			}
		}
	}
}

// v2StreamLine decodes one stream message. It returns the mention (nil for
// messages that are not ours) and whether a post was read (and billed).
func (r *run) v2StreamLine(line []byte, count func(string)) (*pipeline.Mention, bool) {
	var sl v2StreamLine
	if err := json.Unmarshal(line, &sl); err != nil {
		count("malformed")
		r.warn("parse", "skipping a malformed stream line", "error", err, "bytes", len(line))
		return nil, false
	}
	if sl.Data == nil {
		count("error")
		if len(sl.Errors) == 0 {
			r.warn("parse", "skipping a stream message without data or errors", "bytes", len(line))
			return nil, false
		}
		e := sl.Errors[0]
		r.warn("stream_error", "stream sent an error", "title", e.Title, "detail", e.Detail,
			"disconnect_type", e.DisconnectType)
		return nil, false
	}
	if sl.Data.ID == "" {
		count("malformed")
		r.warn("parse", "skipping a stream post without an id")
		return nil, true
	}
	if len(sl.MatchingRules) == 0 {
		// X always names the matching rules; a gateway or replay may not.
		count("post")
		return newMapper(&sl.Includes).mention(sl.Data, r.source("stream"), "", time.Now()), true
	}
	var q *query
	for _, mr := range sl.MatchingRules {
		if qq, ok := r.byTag[mr.Tag]; ok {
			q = &qq
			break
		}
	}
	if q == nil {
		// Only rules earshot did not create matched (another app's rules in
		// the same Project): not ours to store, but read and counted.
		count("foreign")
		r.log.Debug("stream post matched no earshot rule", "id", sl.Data.ID)
		return nil, true
	}
	count("post")
	return newMapper(&sl.Includes).mention(sl.Data, r.source(q.Value), q.Matched, time.Now()), true
}
