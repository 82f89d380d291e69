package console

import (
	"context"
	"fmt"
	"net/http"

	ch "github.com/ClickHouse/clickhouse-go/v2"
)

type person struct {
	Handle    string  `json:"handle"`
	Name      string  `json:"name"`
	Followers int64   `json:"followers"`
	Mentions  uint64  `json:"mentions"`
	Positive  uint64  `json:"positive"`
	Negative  uint64  `json:"negative"`
	Sentiment float64 `json:"sentiment"` // mean score
	Score     float64 `json:"score"`     // the ranking key
	SampleID  string  `json:"sample_id"`
}

// Advocates are frequent, positive, high-reach authors; detractors the
// negative ones. Both rank by mentions × mean sentiment (signed) ×
// log10(10 + followers), among authors whose mentions lean that way.
const (
	personCols = "p_handle, any(p_name), max(p_followers) AS f, count() AS n, countIf(p_label = 'positive') AS pos, " +
		"countIf(p_label = 'negative') AS neg, avg(p_sentiment) AS s, n * s * log10(10 + f) AS score, any(id)"
	// personRows is one row per mention (GROUP BY id instead of FINAL).
	personRows = "SELECT id, any(author_handle) AS p_handle, any(author_name) AS p_name, any(author_followers) AS p_followers, " +
		"any(sentiment_label) AS p_label, any(sentiment) AS p_sentiment FROM "
	advocateHaving  = "pos > neg AND s > 0.05 ORDER BY score DESC, p_handle"
	detractorHaving = "neg > pos AND s < -0.05 ORDER BY score ASC, p_handle"
)

func (s *Server) apiPeople(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	win, err := s.resolveWindow(ctx, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	topic := r.URL.Query().Get("topic")
	var adv, det []person
	if s.rollReady.Load() {
		adv, det, err = s.peopleIndexed(ctx, win, topic)
	} else {
		where, args := s.topicWhere(win, topic)
		if adv, err = s.people(ctx, where, advocateHaving, args); err == nil {
			det, err = s.people(ctx, where, detractorHaving, args)
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, map[string]any{"window": win.json(), "advocates": adv, "detractors": det})
}

// peopleIndexed ranks both lists in one pass over the topic index (one row
// per mention and topic, so no group-by id): authors leaning either way,
// by |score|, 20 of each side (LIMIT BY). Names and sample mentions are
// read afterwards for the 40 ranked, not for every author of the range.
func (s *Server) peopleIndexed(ctx context.Context, win window, topic string) (adv, det []person, err error) {
	where, args := s.indexWhere(win, topic, false)
	from := s.table("topic_mentions")
	rows, err := s.store.Conn().Query(ctx, "SELECT author_handle AS p_handle, max(author_followers) AS f, count() AS n, "+
		"countIf(sentiment_label = 'positive') AS pos, countIf(sentiment_label = 'negative') AS neg, avg(sentiment) AS s, "+
		"n * s * log10(10 + f) AS score FROM "+from+" WHERE "+where+" AND author_handle != '' GROUP BY p_handle "+
		"HAVING (pos > neg AND s > 0.05) OR (neg > pos AND s < -0.05) ORDER BY abs(score) DESC, p_handle LIMIT 20 BY score > 0", args...)
	if err != nil {
		return nil, nil, fmt.Errorf("people: %w", err)
	}
	var ranked []*person
	var handles []any
	for rows.Next() {
		var p person
		if err := rows.Scan(&p.Handle, &p.Followers, &p.Mentions, &p.Positive, &p.Negative, &p.Sentiment, &p.Score); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("people: %w", err)
		}
		ranked, handles = append(ranked, &p), append(handles, p.Handle)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, nil, fmt.Errorf("people: %w", err)
	}
	adv, det = []person{}, []person{}
	if len(ranked) == 0 {
		return adv, det, nil
	}
	rows, err = s.store.Conn().Query(ctx, "SELECT author_handle, any(author_name), any(id) FROM "+from+" WHERE "+where+
		" AND author_handle IN ? GROUP BY author_handle", append(args, ch.GroupSet{Value: handles})...)
	if err != nil {
		return nil, nil, fmt.Errorf("people: %w", err)
	}
	defer rows.Close()
	details := map[string][2]string{}
	for rows.Next() {
		var h, name, id string
		if err := rows.Scan(&h, &name, &id); err != nil {
			return nil, nil, fmt.Errorf("people: %w", err)
		}
		details[h] = [2]string{name, id}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("people: %w", err)
	}
	for _, p := range ranked {
		p.Name, p.SampleID = details[p.Handle][0], details[p.Handle][1]
		if p.Score > 0 {
			adv = append(adv, *p)
		} else {
			det = append(det, *p)
		}
	}
	return adv, det, nil
}

func (s *Server) people(ctx context.Context, where, having string, args []any) ([]person, error) {
	rows, err := s.store.Conn().Query(ctx, "SELECT "+personCols+" FROM ("+personRows+s.table("mentions")+" WHERE "+where+
		" AND author_handle != '' GROUP BY id) GROUP BY p_handle HAVING "+having+" LIMIT 20", args...)
	if err != nil {
		return nil, fmt.Errorf("people: %w", err)
	}
	defer rows.Close()
	out := []person{}
	for rows.Next() {
		var p person
		if err := rows.Scan(&p.Handle, &p.Name, &p.Followers, &p.Mentions, &p.Positive, &p.Negative, &p.Sentiment, &p.Score, &p.SampleID); err != nil {
			return nil, fmt.Errorf("people: %w", err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
