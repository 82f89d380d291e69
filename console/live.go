package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
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

// event is one server-sent event.
type event struct {
	name string
	data []byte
}

// hub relays NATS to the open pages: one pair of core subscriptions
// (mentions.enriched.>, alerts.>) while at least one page listens, each
// message decoded once and fanned out. A slow page drops events rather
// than holding NATS; it reloads on the next one anyway.
type hub struct {
	nc      *nats.Conn
	mu      sync.Mutex
	clients map[chan event]bool
	subs    []*nats.Subscription
}

func (h *hub) join() (chan event, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.clients) == 0 {
		subM, err := h.nc.Subscribe(pipeline.SubjectEnrichedPrefix+">", h.onMention)
		if err != nil {
			return nil, err
		}
		subA, err := h.nc.Subscribe(pipeline.SubjectAlertsPrefix+">", h.onAlert)
		if err != nil {
			_ = subM.Unsubscribe()
			return nil, err
		}
		h.subs = []*nats.Subscription{subM, subA}
		h.clients = map[chan event]bool{}
	}
	ch := make(chan event, 256)
	h.clients[ch] = true
	return ch, nil
}

func (h *hub) leave(ch chan event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.clients, ch)
	if len(h.clients) == 0 {
		for _, s := range h.subs {
			_ = s.Unsubscribe()
		}
		h.subs = nil
	}
}

func (h *hub) send(name string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.clients {
		select {
		case ch <- event{name, b}:
		default:
		}
	}
}

func (h *hub) onMention(msg *nats.Msg) {
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
	h.send("mention", liveMention{ID: m.ID, Platform: m.Platform, Author: m.Author.Handle, Text: text,
		Topics: nonNil(m.Enrichment.Topics), Label: label, NeedsResponse: m.Enrichment.NeedsResponse})
}

func (h *hub) onAlert(msg *nats.Msg) {
	var a struct {
		ID       string `json:"id"`
		Kind     string `json:"kind"`
		Topic    string `json:"topic"`
		Platform string `json:"platform"`
	}
	if json.Unmarshal(msg.Data, &a) != nil {
		return
	}
	h.send("alert", map[string]string{"id": a.ID, "kind": a.Kind, "topic": a.Topic, "platform": a.Platform})
}

// apiEvents streams server-sent events, "mention" and "alert", while the
// page is open.
func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok || s.live == nil {
		http.Error(w, "live updates are not available in this process", http.StatusNotImplemented)
		return
	}
	ch, err := s.live.join()
	if err != nil {
		http.Error(w, "live updates: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer s.live.leave(ch)
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
