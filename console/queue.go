package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/earshot-dev/earshot/sink/clickhouse"
)

// queueFilter is what the queue is narrowed to. Values are bound as query
// parameters; only the fixed fragments below are SQL.
type queueFilter struct {
	topic, platform, lang string
	oldest                bool
	done                  bool // answered and dismissed instead of open
	limit                 int
}

func parseQueueFilter(r *http.Request) (queueFilter, error) {
	q := r.URL.Query()
	f := queueFilter{topic: q.Get("topic"), platform: q.Get("platform"), lang: q.Get("lang"), limit: 50}
	switch q.Get("order") {
	case "", "newest":
	case "oldest":
		f.oldest = true
	default:
		return f, badReq("order %q is not newest or oldest", q.Get("order"))
	}
	switch q.Get("state") {
	case "", "open":
	case "done":
		f.done = true
	default:
		return f, badReq("state %q is not open or done", q.Get("state"))
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return f, badReq("limit %q is not a number from 1 to 500", l)
		}
		f.limit = n
	}
	return f, nil
}

// queueSQL returns the candidates query (ids and state, without text) and
// its arguments; what selects the rows is the same for the count.
func (s *Server) queueSQL(f queueFilter, selectCols, tail string) (string, []any) {
	var where []string
	var args []any
	where = append(where, "needs_response = 1")
	if f.topic != "" {
		where, args = append(where, "has(topics, ?)"), append(args, f.topic)
	}
	if f.platform != "" {
		where, args = append(where, "platform = ?"), append(args, f.platform)
	}
	if f.lang != "" {
		where, args = append(where, "if(lang_detected != '', lang_detected, lang) = ?"), append(args, f.lang)
	}
	states := "('', 'open', 'claimed')"
	if f.done {
		states = "('answered', 'dismissed')"
	}
	// GROUP BY id instead of FINAL: a mention stored twice is listed once,
	// and only the rows that need a response are read (PREWHERE).
	sql := "SELECT " + selectCols + " FROM (SELECT id, any(platform) AS m_platform, any(created_at) AS created_at FROM " + s.table("mentions") + " WHERE " +
		strings.Join(where, " AND ") + " GROUP BY id) ANY LEFT JOIN (SELECT mention_id AS id, state AS r_state, actor AS r_actor, " +
		"note AS r_note, claimed_at AS r_claimed_at, responded_at AS r_responded_at FROM " + s.table("responses") +
		" FINAL) USING id WHERE r_state IN " + states + " " + tail
	return sql, args
}

type queueItem struct {
	mentionView
	State       string     `json:"state"` // open, claimed, answered, dismissed
	Actor       string     `json:"actor,omitempty"`
	Note        string     `json:"note,omitempty"`
	ClaimedAt   *time.Time `json:"claimed_at,omitempty"`
	RespondedAt *time.Time `json:"responded_at,omitempty"`
	WaitedSecs  float64    `json:"waited_seconds"`
	Overdue     bool       `json:"overdue"`
}

type queuePage struct {
	Items   []queueItem `json:"items"`
	Total   uint64      `json:"total"`
	Overdue uint64      `json:"overdue"`
	Target  float64     `json:"target_seconds"`
}

func (s *Server) apiQueue(w http.ResponseWriter, r *http.Request) {
	f, err := parseQueueFilter(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := s.queue(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, p)
}

func (s *Server) queue(ctx context.Context, f queueFilter) (*queuePage, error) {
	now := s.now().UTC()
	overdueBefore := now.Add(-s.cfg.ResponseTarget)
	order := "ORDER BY created_at DESC, id"
	if f.oldest {
		order = "ORDER BY created_at ASC, id"
	}
	page := &queuePage{Items: []queueItem{}, Target: s.cfg.ResponseTarget.Seconds()}
	// The count runs beside the list and its mentions.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		csql, cargs := s.queueSQL(f, "count(), countIf(created_at < toDateTime(?))", "")
		if err := s.store.Conn().QueryRow(gctx, csql, append([]any{overdueBefore.Unix()}, cargs...)...).Scan(&page.Total, &page.Overdue); err != nil {
			return fmt.Errorf("queue count: %w", err)
		}
		return nil
	})
	sql, args := s.queueSQL(f, "id, m_platform, r_state, r_actor, r_note, r_claimed_at, r_responded_at", order+" LIMIT ?")
	rows, err := s.store.Conn().Query(gctx, sql, append(args, f.limit)...)
	if err != nil {
		_ = g.Wait()
		return nil, fmt.Errorf("queue: %w", err)
	}
	type st struct {
		state, actor, note string
		claimed, responded time.Time
	}
	var ids, platforms []string
	states := map[string]st{}
	for rows.Next() {
		var id, platform string
		var x st
		if err := rows.Scan(&id, &platform, &x.state, &x.actor, &x.note, &x.claimed, &x.responded); err != nil {
			rows.Close()
			_ = g.Wait()
			return nil, fmt.Errorf("queue: %w", err)
		}
		ids, platforms = append(ids, id), append(platforms, platform)
		states[id] = x
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		_ = g.Wait()
		return nil, fmt.Errorf("queue: %w", err)
	}
	ms, err := s.mentionsByID(gctx, ids, platforms...)
	if werr := g.Wait(); werr != nil {
		return nil, werr
	}
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		x := states[m.ID]
		it := queueItem{mentionView: m.view(s.matcher), State: x.state, Actor: x.actor, Note: x.note}
		if it.State == "" {
			it.State = clickhouse.ResponseOpen
		}
		if !x.claimed.IsZero() && x.claimed.Unix() > 0 {
			t := x.claimed.UTC()
			it.ClaimedAt = &t
		}
		end := now
		if !x.responded.IsZero() && x.responded.Unix() > 0 {
			t := x.responded.UTC()
			it.RespondedAt, end = &t, t
		}
		it.WaitedSecs = end.Sub(m.CreatedAt).Seconds()
		it.Overdue = it.RespondedAt == nil && m.CreatedAt.Before(overdueBefore)
		page.Items = append(page.Items, it)
	}
	return page, nil
}

type actionRequest struct {
	ID   string `json:"id"`
	Note string `json:"note"`
	As   string `json:"as"` // the person's name on a console without auth
}

func (s *Server) apiAction(w http.ResponseWriter, r *http.Request) {
	action := r.PathValue("action")
	var req actionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		s.fail(w, r, badReq("body: %v", err))
		return
	}
	actor := userOf(r)
	if actor == "" {
		actor = strings.TrimSpace(req.As)
	}
	if actor == "" {
		actor = "someone"
	}
	if len(actor) > 64 || len(req.Note) > 4000 {
		s.fail(w, r, badReq("name or note too long (64 and 4000 bytes at most)"))
		return
	}
	resp, err := s.act(r.Context(), action, req.ID, actor, req.Note)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"id": resp.MentionID, "state": resp.State, "actor": resp.Actor})
}

// act applies one queue action. Actions of one process are serialised;
// across console replicas, the NATS KV bucket ClaimsBucket (when the
// process has NATS) decides: a transition is written there by
// compare-and-swap on the key's revision before it is stored in
// ClickHouse, so of two replicas claiming the same mention one wins and
// the other answers 409 with the winner's name.
func (s *Server) act(ctx context.Context, action, id, actor, note string) (*clickhouse.Response, error) {
	if id == "" {
		return nil, badReq("no mention id")
	}
	s.actMu.Lock()
	defer s.actMu.Unlock()
	stored, err := s.response(ctx, id)
	if err != nil {
		return nil, err
	}
	if stored == nil {
		ms, err := s.mentionsByID(ctx, []string{id})
		if err != nil {
			return nil, err
		}
		if len(ms) == 0 {
			return nil, badReq("no stored mention %q", id)
		}
		stored = &clickhouse.Response{MentionID: id, Platform: ms[0].Platform, State: clickhouse.ResponseOpen, MentionCreatedAt: ms[0].CreatedAt}
	}
	for attempt := 0; ; attempt++ {
		cur, rev := stored, uint64(0)
		if s.claims != nil {
			kv, r, err := s.claimEntry(ctx, id)
			if err != nil {
				return nil, err
			}
			// The newer of the two: the bucket is ahead of ClickHouse
			// between a replica's CAS and its insert, and behind it for a
			// mention acted on before the bucket existed.
			if kv != nil && kv.Version >= stored.Version {
				cur = kv
			}
			rev = r
		}
		next, outcome, err := s.transition(cur, action, actor, note)
		if err != nil {
			return nil, err
		}
		if s.claims != nil {
			ok, err := s.putClaim(ctx, *next, rev)
			if err != nil {
				return nil, err
			}
			if !ok {
				if attempt < 3 {
					continue // another replica acted first: decide again on its state
				}
				return nil, &conflict{"another console changed it at the same time; reload"}
			}
		}
		if err := s.store.WriteResponse(ctx, *next); err != nil {
			return nil, err
		}
		s.metrics.responses.WithLabelValues(outcome).Inc()
		first := cur.RespondedAt.IsZero() || cur.RespondedAt.Unix() <= 0
		if outcome == "answered" && first {
			s.metrics.firstResp.Observe(next.UpdatedAt.Sub(cur.MentionCreatedAt).Seconds())
		}
		return next, nil
	}
}

// transition returns the state after action on cur, or a conflict.
func (s *Server) transition(cur *clickhouse.Response, action, actor, note string) (*clickhouse.Response, string, error) {
	now := s.now().UTC()
	next := *cur
	next.Actor, next.UpdatedAt = actor, now
	open := cur.State == clickhouse.ResponseOpen
	mine := cur.State == clickhouse.ResponseClaimed && cur.Actor == actor
	outcome := ""
	switch action {
	case "claim":
		if !open && !mine {
			return nil, "", &conflict{fmt.Sprintf("%s already %s it", cur.Actor, cur.State)}
		}
		next.State, next.ClaimedAt, outcome = clickhouse.ResponseClaimed, now, "claimed"
	case "answer", "dismiss":
		if !open && !mine {
			return nil, "", &conflict{fmt.Sprintf("%s already %s it", cur.Actor, cur.State)}
		}
		next.State, outcome = clickhouse.ResponseAnswered, "answered"
		if action == "dismiss" {
			next.State, outcome = clickhouse.ResponseDismissed, "dismissed"
		}
		next.Note, next.RespondedAt = note, now
	case "reopen":
		if open {
			return nil, "", &conflict{"it is open already"}
		}
		next.State, next.Note, next.ClaimedAt, next.RespondedAt, outcome = clickhouse.ResponseOpen, "", time.Time{}, time.Time{}, "reopened"
	default:
		return nil, "", badReq("unknown action %q (claim, answer, dismiss, reopen)", action)
	}
	v := uint64(now.UnixNano())
	if v <= s.lastVersion {
		v = s.lastVersion + 1
	}
	if cur.Version >= v {
		v = cur.Version + 1
	}
	s.lastVersion, next.Version = v, v
	return &next, outcome, nil
}

// response reads a mention's current queue state (nil when none).
func (s *Server) response(ctx context.Context, id string) (*clickhouse.Response, error) {
	rows, err := s.store.Conn().Query(ctx, "SELECT mention_id, platform, state, actor, note, mention_created_at, claimed_at, "+
		"responded_at, updated_at, version FROM "+s.table("responses")+" FINAL WHERE mention_id = ?", id)
	if err != nil {
		return nil, fmt.Errorf("queue state: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var x clickhouse.Response
	if err := rows.Scan(&x.MentionID, &x.Platform, &x.State, &x.Actor, &x.Note, &x.MentionCreatedAt, &x.ClaimedAt,
		&x.RespondedAt, &x.UpdatedAt, &x.Version); err != nil {
		return nil, fmt.Errorf("queue state: %w", err)
	}
	for _, t := range []*time.Time{&x.MentionCreatedAt, &x.ClaimedAt, &x.RespondedAt, &x.UpdatedAt} {
		if t.Unix() <= 0 {
			*t = time.Time{}
		} else {
			*t = t.UTC()
		}
	}
	return &x, nil
}
