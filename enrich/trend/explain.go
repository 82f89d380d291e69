package trend

import (
	"math"
	"sort"
)

// ExplainItem is what Explain needs of one mention.
type ExplainItem struct {
	ID       string
	Terms    []string
	Hashtags []string
	Authors  []string
	Sources  []string
	Langs    []string
}

// Explain fields.
const (
	FieldTerm    = "term"
	FieldHashtag = "hashtag"
	FieldAuthor  = "author"
	FieldSource  = "source"
	FieldLang    = "lang"
)

// Mover is a feature value over-represented in the alert window.
type Mover struct {
	Field string `json:"field"`
	Value string `json:"value"`
	// Window and Baseline count the mentions that carry the value.
	Window   int `json:"window"`
	Baseline int `json:"baseline"`
	// Ratio is the smoothed share in the window over the share in the
	// baseline; LogOdds the smoothed log-odds ratio and Z that over its
	// standard error, the ranking key.
	Ratio   float64  `json:"ratio"`
	LogOdds float64  `json:"log_odds"`
	Z       float64  `json:"z"`
	Samples []string `json:"samples,omitempty"` // ids of window mentions with the value, first seen first
}

// Explanation says what changed between a baseline and an alert window.
type Explanation struct {
	Window   int                `json:"window"`   // mentions in the alert window
	Baseline int                `json:"baseline"` // mentions in the baseline
	Top      []Mover            `json:"top"`      // strongest movers of any field
	ByField  map[string][]Mover `json:"by_field"`
}

// Explain limits.
const (
	explainPerField = 5
	explainTop      = 10
	explainSamples  = 3
	explainMinCount = 2   // a value carried by one mention explains nothing
	explainPrior    = 0.5 // additive smoothing of every count
)

// Explain ranks feature values (terms, hashtags, authors, sources,
// languages) by how much more of the window's mentions carry them than
// the baseline's: the smoothed log-odds ratio of the two shares over its
// standard error (as in Monroe et al. 2008, "Fightin' Words"), keeping
// values carried by at least two window mentions that rose. A value is
// counted once per mention. Ties break by value, so the result is
// deterministic.
func Explain(window, baseline []ExplainItem) Explanation {
	ex := Explanation{Window: len(window), Baseline: len(baseline), ByField: map[string][]Mover{}}
	fields := []struct {
		name string
		get  func(*ExplainItem) []string
	}{
		{FieldTerm, func(it *ExplainItem) []string { return it.Terms }},
		{FieldHashtag, func(it *ExplainItem) []string { return it.Hashtags }},
		{FieldAuthor, func(it *ExplainItem) []string { return it.Authors }},
		{FieldSource, func(it *ExplainItem) []string { return it.Sources }},
		{FieldLang, func(it *ExplainItem) []string { return it.Langs }},
	}
	nw, nb := float64(len(window)), float64(len(baseline))
	var all []Mover
	for _, f := range fields {
		type acc struct {
			w, b    int
			samples []string
		}
		counts := map[string]*acc{}
		seen := map[string]bool{}
		count := func(items []ExplainItem, inWindow bool) {
			for i := range items {
				clear(seen)
				for _, v := range f.get(&items[i]) {
					if v == "" || seen[v] {
						continue
					}
					seen[v] = true
					a := counts[v]
					if a == nil {
						a = &acc{}
						counts[v] = a
					}
					if inWindow {
						a.w++
						if len(a.samples) < explainSamples && items[i].ID != "" {
							a.samples = append(a.samples, items[i].ID)
						}
					} else {
						a.b++
					}
				}
			}
		}
		count(window, true)
		count(baseline, false)
		var movers []Mover
		for v, a := range counts {
			if a.w < explainMinCount {
				continue
			}
			cw, cb := float64(a.w), float64(a.b)
			const p = explainPrior
			lo := math.Log((cw+p)/(nw-cw+p)) - math.Log((cb+p)/(nb-cb+p))
			se := math.Sqrt(1/(cw+p) + 1/(nw-cw+p) + 1/(cb+p) + 1/(nb-cb+p))
			z := lo / se
			if z <= 0 {
				continue
			}
			movers = append(movers, Mover{
				Field: f.name, Value: v, Window: a.w, Baseline: a.b,
				Ratio:   ((cw + p) / (nw + 2*p)) / ((cb + p) / (nb + 2*p)),
				LogOdds: lo, Z: z, Samples: a.samples,
			})
		}
		sortMovers(movers)
		all = append(all, movers...)
		if len(movers) > explainPerField {
			movers = movers[:explainPerField]
		}
		if len(movers) > 0 {
			ex.ByField[f.name] = movers
		}
	}
	sortMovers(all)
	if len(all) > explainTop {
		all = all[:explainTop]
	}
	ex.Top = all
	return ex
}

func sortMovers(ms []Mover) {
	sort.Slice(ms, func(i, j int) bool {
		if ms[i].Z != ms[j].Z {
			return ms[i].Z > ms[j].Z
		}
		if ms[i].Field != ms[j].Field {
			return ms[i].Field < ms[j].Field
		}
		return ms[i].Value < ms[j].Value
	})
}
