package sample

import (
	"fmt"
	"math/rand/v2"
	"strings"

	"github.com/earshot-dev/earshot/pipeline"
)

// Rules generates n topic rules of the shapes analysts write (a brand
// alone, with its app, hashtag or handle, with an issue word, near one,
// excluding jobs), seeded so every run gets the same rules. Their ids are
// prefix followed by four digits. The chain benchmark (enrich/all) runs
// them, and the topics package's differential test checks them.
func Rules(n int, prefix string) []pipeline.Topic {
	r := rand.New(rand.NewPCG(7, 11))
	syl := strings.Fields("zen tra vo lix cor nex qua mo ri ta bel fin gro sol vex ar ky lum pra den osk ul")
	words := strings.Fields("outage refund recall lawsuit broken crash scam leak boycott delay price launch")
	brand := func() string {
		var b strings.Builder
		for range 2 + r.IntN(2) {
			b.WriteString(syl[r.IntN(len(syl))])
		}
		return b.String()
	}
	topics := make([]pipeline.Topic, n)
	for i := range topics {
		b := brand()
		var q string
		switch i % 5 {
		case 0:
			q = b
		case 1:
			q = fmt.Sprintf(`%s OR "%s app" OR #%s`, b, b, b)
		case 2:
			q = fmt.Sprintf(`%s AND (%s OR %s*)`, b, words[r.IntN(len(words))], words[r.IntN(len(words))])
		case 3:
			q = fmt.Sprintf(`%s NEAR/3 %s NOT job*`, b, words[r.IntN(len(words))])
		case 4:
			q = fmt.Sprintf(`"%s %s" OR @%s`, b, words[r.IntN(len(words))], b)
		}
		topics[i] = pipeline.Topic{ID: fmt.Sprintf("%s%04d", prefix, i), Query: q}
	}
	return topics
}
