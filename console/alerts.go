package console

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// optionalAlertColumns are the alert lifecycle columns of schema version 4
// (status, severity, event_id, peak); the view shows them when the table
// has them, so a console also reads a database not yet migrated. Names are
// constants.
var optionalAlertColumns = []string{"status", "event_id", "severity", "peak"}

// alertColumns returns the optional alerts columns the table has, checked
// at most once a minute.
func (s *Server) alertColumns(ctx context.Context) (map[string]bool, error) {
	s.colMu.Lock()
	defer s.colMu.Unlock()
	if s.alertCo != nil && time.Since(s.colSeen) < time.Minute {
		return s.alertCo, nil
	}
	rows, err := s.store.Conn().Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = 'alerts'", s.db)
	if err != nil {
		return nil, fmt.Errorf("alerts columns: %w", err)
	}
	defer rows.Close()
	have := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("alerts columns: %w", err)
		}
		have[n] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("alerts columns: %w", err)
	}
	s.alertCo, s.colSeen = map[string]bool{}, time.Now()
	for _, c := range optionalAlertColumns {
		if have[c] {
			s.alertCo[c] = true
		}
	}
	return s.alertCo, nil
}

type alertView struct {
	ID            string          `json:"id"`
	Topic         string          `json:"topic"`
	Platform      string          `json:"platform"`
	Kind          string          `json:"kind"`
	StartedAt     time.Time       `json:"started_at"`
	DetectedAt    time.Time       `json:"detected_at"`
	WindowSecs    uint32          `json:"window_seconds"`
	Observed      float64         `json:"observed"`
	Baseline      float64         `json:"baseline"`
	Score         float64         `json:"score"`
	NegativeShare float64         `json:"negative_share"`
	Explanation   json.RawMessage `json:"explanation"`
	SampleIDs     []string        `json:"sample_ids"`
	Resolved      bool            `json:"resolved"`
	Severity      string          `json:"severity,omitempty"`
	Peak          float64         `json:"peak,omitempty"`

	status, eventID string // lifecycle columns, folded by foldResolved
}

// foldResolved turns the detector's lifecycle rows into one card per alert:
// a resolved event (status "resolved") is not shown itself, it marks every
// alert of its event (event_id, or the alert's own id) resolved.
func foldResolved(rows []alertView) []alertView {
	done := map[string]bool{}
	for _, a := range rows {
		if a.status == "resolved" {
			done[cmp.Or(a.eventID, a.ID)] = true
		}
	}
	out := rows[:0]
	for _, a := range rows {
		if a.status == "resolved" {
			continue
		}
		a.Resolved = done[cmp.Or(a.eventID, a.ID)]
		out = append(out, a)
	}
	return out
}

func (s *Server) apiAlerts(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	days := 30
	if d := r.URL.Query().Get("days"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 1 || n > 366 {
			s.fail(w, r, badReq("days %q is not a number from 1 to 366", d))
			return
		}
		days = n
	}
	opt, err := s.alertColumns(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var extra []string
	for _, c := range optionalAlertColumns {
		if opt[c] {
			extra = append(extra, "toString(`"+c+"`)")
		}
	}
	cols := "id, topic, platform, kind, started_at, detected_at, window_seconds, observed, baseline, score, negative_share, explanation, sample_ids"
	if len(extra) > 0 {
		cols += ", " + strings.Join(extra, ", ")
	}
	since := s.now().Add(-time.Duration(days) * 24 * time.Hour).Unix()
	rows, err := s.store.Conn().Query(ctx, "SELECT "+cols+" FROM "+s.table("alerts")+" FINAL WHERE detected_at >= toDateTime(?) ORDER BY detected_at DESC LIMIT 200", since)
	if err != nil {
		s.fail(w, r, fmt.Errorf("alerts: %w", err))
		return
	}
	defer rows.Close()
	out := []alertView{}
	for rows.Next() {
		var a alertView
		var expl string
		ex := make([]string, len(extra))
		dest := []any{&a.ID, &a.Topic, &a.Platform, &a.Kind, &a.StartedAt, &a.DetectedAt, &a.WindowSecs, &a.Observed,
			&a.Baseline, &a.Score, &a.NegativeShare, &expl, &a.SampleIDs}
		for i := range ex {
			dest = append(dest, &ex[i])
		}
		if err := rows.Scan(dest...); err != nil {
			s.fail(w, r, fmt.Errorf("alerts: %w", err))
			return
		}
		a.StartedAt, a.DetectedAt = a.StartedAt.UTC(), a.DetectedAt.UTC()
		if json.Valid([]byte(expl)) {
			a.Explanation = json.RawMessage(expl)
		} else {
			a.Explanation = json.RawMessage("{}")
		}
		i := 0
		for _, c := range optionalAlertColumns {
			if !opt[c] {
				continue
			}
			v := ex[i]
			i++
			switch c {
			case "status":
				a.status = v
			case "event_id":
				a.eventID = v
			case "severity":
				a.Severity = v
			case "peak":
				if f, err := strconv.ParseFloat(v, 64); err == nil && f > a.Peak {
					a.Peak = f
				}
			}
		}
		if a.SampleIDs == nil {
			a.SampleIDs = []string{}
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		s.fail(w, r, fmt.Errorf("alerts: %w", err))
		return
	}
	writeJSON(w, map[string]any{"alerts": foldResolved(out), "columns": opt})
}

// apiMentions returns mentions by id (an alert's samples), highlighted with
// the configured topics.
func (s *Server) apiMentions(w http.ResponseWriter, r *http.Request) {
	ids := r.URL.Query()["id"]
	if len(ids) == 0 || len(ids) > 100 {
		s.fail(w, r, badReq("give 1 to 100 id parameters"))
		return
	}
	ms, err := s.mentionsByID(r.Context(), ids)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]mentionView, len(ms))
	for i, m := range ms {
		out[i] = m.view(s.matcher)
	}
	writeJSON(w, map[string]any{"mentions": out})
}
