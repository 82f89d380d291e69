package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/earshot-dev/earshot/pipeline"
)

// liveMention is what the page is told about a new mention.
type liveMention struct {
	ID            string   `json:"id"`
	Platform      string   `json:"platform"`
	Author        string   `json:"author"`
	Text          string   `json:"text"`
	Topics        []string `json:"topics"`
	Label         string   `json:"label"`
	NeedsResponse bool     `json:"needs_response"`
}

// apiEvents streams server-sent events: "mention" for each enriched
// mention and "alert" for each alert published on NATS, while the page is
// open. Core NATS subscriptions see what JetStream stores without a
// consumer; a slow page drops events rather than holding NATS.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok || s.nc == nil {
		http.Error(w, "live updates are not available in this process", http.StatusNotImplemented)
		return
	}
	type ev struct {
		name string
		data []byte
	}
	ch := make(chan ev, 256)
	send := func(name string, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			return
		}
		select {
		case ch <- ev{name, b}:
		default: // the page is slow: it reloads on the next event anyway
		}
	}
	subM, err := s.nc.Subscribe(pipeline.SubjectEnrichedPrefix+">", func(msg *nats.Msg) {
		m, err := pipeline.Unmarshal(msg.Data)
		if err != nil {
			return
		}
		label := ""
		if m.Enrichment.Sentiment != nil {
			label = m.Enrichment.Sentiment.Label
		}
		text := m.Title
		if text == "" {
			text = m.Text
		}
		if len(text) > 280 {
			text = strings.ToValidUTF8(text[:280], "") + "…"
		}
		send("mention", liveMention{ID: m.ID, Platform: m.Platform, Author: m.Author.Handle, Text: text,
			Topics: nonNil(m.Enrichment.Topics), Label: label, NeedsResponse: m.Enrichment.NeedsResponse})
	})
	if err != nil {
		http.Error(w, "live updates: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer subM.Unsubscribe()
	subA, err := s.nc.Subscribe(pipeline.SubjectAlertsPrefix+">", func(msg *nats.Msg) {
		var a map[string]any
		if json.Unmarshal(msg.Data, &a) != nil {
			return
		}
		send("alert", map[string]any{"id": a["id"], "kind": a["kind"], "topic": a["topic"], "platform": a["platform"]})
	})
	if err != nil {
		http.Error(w, "live updates: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer subA.Unsubscribe()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	fl.Flush()
	ping := time.NewTicker(20 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case e := <-ch:
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.name, e.data)
			fl.Flush()
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
			fl.Flush()
		}
	}
}
