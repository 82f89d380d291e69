package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// optionalAlertColumns are alerts columns later schema versions may add;
// the view shows them when the table has them. Names are constants.
var optionalAlertColumns = []string{"resolved", "resolved_at", "severity", "peak", "peak_observed"}

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
			case "resolved", "resolved_at":
				a.Resolved = a.Resolved || (v != "" && v != "0" && v != "false" && !strings.HasPrefix(v, "1970-01-01") && v != "0000-00-00 00:00:00")
			case "severity":
				a.Severity = v
			case "peak", "peak_observed":
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
	writeJSON(w, map[string]any{"alerts": out, "columns": opt})
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
