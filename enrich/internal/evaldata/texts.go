package evaldata

import (
	"fmt"
	"strings"
)

// Texts returns the text of every row of the shared data sets, in a fixed
// order: the VADER rating sets, the GoEmotions dev set, xlmt train and val
// (eight languages) and SemEval. Tests that must hold on real posts (the
// differential tests of a faster implementation) run over them.
func Texts(dir string) ([]string, error) {
	var out []string
	for _, f := range []string{VADERMovies, VADERAmazon, VADERNYT} {
		rows, err := VADER(dir, f)
		if err != nil {
			return nil, fmt.Errorf("texts: %w", err)
		}
		for _, r := range rows {
			out = append(out, r.Text)
		}
	}
	ge, err := GoEmotionsDev(dir)
	if err != nil {
		return nil, fmt.Errorf("texts: %w", err)
	}
	for _, c := range ge {
		out = append(out, c.Text)
	}
	var sets [][]Labelled
	for _, split := range []string{"train", "val"} {
		x, err := XLMT(dir, split)
		if err != nil {
			return nil, fmt.Errorf("texts: %w", err)
		}
		sets = append(sets, x)
	}
	se, err := SemEval(dir)
	if err != nil {
		return nil, fmt.Errorf("texts: %w", err)
	}
	for _, set := range append(sets, se) {
		for _, x := range set {
			out = append(out, x.Text)
		}
	}
	return out, nil
}

// Joined returns texts of about size bytes, each the texts from one start
// (every step-th) joined by spaces: article-length inputs from short ones.
func Joined(texts []string, size, step int) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(texts); i += step {
		b.Reset()
		for j := i; b.Len() < size && j < len(texts); j++ {
			b.WriteString(texts[j])
			b.WriteByte(' ')
		}
		out = append(out, b.String())
	}
	return out
}
