package trend

import (
	"fmt"
	"reflect"
	"testing"
)

func TestExplain(t *testing.T) {
	var base, win []ExplainItem
	for i := range 200 {
		base = append(base, ExplainItem{
			ID: fmt.Sprintf("b%d", i), Terms: []string{"app", []string{"login", "update", "price"}[i%3]},
			Authors: []string{fmt.Sprintf("u%d", i%50)}, Sources: []string{"twitter"}, Langs: []string{"en"},
		})
	}
	for i := range 60 {
		it := ExplainItem{ID: fmt.Sprintf("w%d", i), Terms: []string{"app", "login"}, Sources: []string{"twitter"}, Langs: []string{"en"},
			Authors: []string{fmt.Sprintf("u%d", i%50)}}
		if i%2 == 0 {
			it.Terms = append(it.Terms, "outage", "outage") // counted once per mention
			it.Hashtags = []string{"#down"}
		}
		if i == 7 {
			it.Terms = append(it.Terms, "rare") // one mention: explains nothing
		}
		win = append(win, it)
	}
	ex := Explain(win, base)
	if ex.Window != 60 || ex.Baseline != 200 {
		t.Errorf("Explain sizes = %d, %d; want 60, 200", ex.Window, ex.Baseline)
	}
	if len(ex.Top) == 0 || ex.Top[0].Value != "outage" && ex.Top[0].Value != "#down" {
		t.Fatalf("Explain top = %+v; want outage or #down first", ex.Top)
	}
	terms := ex.ByField[FieldTerm]
	if len(terms) == 0 || terms[0].Value != "outage" || terms[0].Window != 30 || terms[0].Baseline != 0 {
		t.Fatalf("Explain terms = %+v; want outage (30 in window, 0 in baseline) first", terms)
	}
	if want := []string{"w0", "w2", "w4"}; !reflect.DeepEqual(terms[0].Samples, want) {
		t.Errorf("outage samples = %v; want %v", terms[0].Samples, want)
	}
	for _, m := range terms {
		if m.Value == "rare" || m.Value == "app" {
			t.Errorf("Explain listed %q (%+v); want only values that rose in two or more mentions", m.Value, m)
		}
	}
	if _, ok := ex.ByField[FieldLang]; ok {
		t.Errorf("Explain langs = %+v; want none (unchanged)", ex.ByField[FieldLang])
	}
	// Deterministic.
	if again := Explain(win, base); !reflect.DeepEqual(again, ex) {
		t.Error("Explain is not deterministic")
	}
	if got := Explain(nil, nil); len(got.Top) != 0 {
		t.Errorf("Explain(nil, nil) = %+v; want no movers", got)
	}
}
