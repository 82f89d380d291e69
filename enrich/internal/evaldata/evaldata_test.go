package evaldata

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestVADER(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "vader", "a.txt"), "\uFEFF1\t2.5\tgood\tstuff\r\n2\t-0.7\tbad\r\n\r\n3\t0\tmeh\r\n")
	rows, err := VADER(dir, "a.txt")
	if err != nil {
		t.Fatalf("VADER: %v", err)
	}
	want := []Rated{{"1", 2.5, "good\tstuff"}, {"2", -0.7, "bad"}, {"3", 0, "meh"}}
	if len(rows) != len(want) {
		t.Fatalf("VADER = %v; want %v", rows, want)
	}
	for i := range want {
		if rows[i] != want[i] {
			t.Errorf("VADER row %d = %+v; want %+v", i, rows[i], want[i])
		}
	}
	if c := []int{rows[0].Class(), rows[1].Class(), rows[2].Class()}; c[0] != 1 || c[1] != -1 || c[2] != 0 {
		t.Errorf("classes = %v; want [1 -1 0]", c)
	}
	write(t, filepath.Join(dir, "vader", "bad.txt"), "1\tx\ttext\n")
	if _, err := VADER(dir, "bad.txt"); err == nil || !strings.Contains(err.Error(), "bad.txt:1") {
		t.Errorf("VADER(bad rating) = %v; want an error naming bad.txt:1", err)
	}
}

func TestGoEmotionsDev(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "goemotions", "labels.txt"), "ambiguous\nnegative\nneutral\npositive\n")
	write(t, filepath.Join(dir, "goemotions", "dev.tsv"), "so happy\t3\tid1\nugh\t1\tid2\nmixed\t1,3\tid3\nhm\t0,2\tid4\n")
	cs, err := GoEmotionsDev(dir)
	if err != nil {
		t.Fatalf("GoEmotionsDev: %v", err)
	}
	type pol struct {
		p  int
		ok bool
	}
	want := []pol{{1, true}, {-1, true}, {0, false}, {0, true}}
	for i, c := range cs {
		p, ok := c.Polarity()
		if (pol{p, ok}) != want[i] {
			t.Errorf("Polarity(%q) = %d, %v; want %v", c.Text, p, ok, want[i])
		}
	}
	write(t, filepath.Join(dir, "goemotions", "dev.tsv"), "x\t9\tid\n")
	if _, err := GoEmotionsDev(dir); err == nil {
		t.Error("GoEmotionsDev(label 9) = nil; want an error")
	}
}

func TestDirFromEnv(t *testing.T) {
	d := t.TempDir()
	t.Setenv(EnvDir, d)
	if got, err := Dir(); err != nil || got != d {
		t.Errorf("Dir() = %q, %v; want %q", got, err, d)
	}
	t.Setenv(EnvDir, filepath.Join(d, "missing"))
	if _, err := Dir(); err == nil {
		t.Error("Dir() with a missing EARSHOT_SHARED_DATA = nil; want an error")
	}
}

func TestMetrics(t *testing.T) {
	if r := Pearson([]float64{1, 2, 3}, []float64{2, 4, 6}); math.Abs(r-1) > 1e-12 {
		t.Errorf("Pearson(perfect) = %v; want 1", r)
	}
	if r := Pearson([]float64{1, 1}, []float64{1, 2}); r != 0 {
		t.Errorf("Pearson(constant) = %v; want 0", r)
	}
	var c Confusion
	c.Add(1, 1)
	c.Add(1, 0)
	c.Add(-1, -1)
	c.Add(0, 1)
	// positive: tp 1, fp 1, fn 1 -> F1 0.5; negative: 1; neutral: 0.
	if f := c.F1(1); math.Abs(f-0.5) > 1e-12 {
		t.Errorf("F1(positive) = %v; want 0.5", f)
	}
	if f := c.WeightedF1(); math.Abs(f-(2*0.5+1*1+1*0)/4) > 1e-12 {
		t.Errorf("WeightedF1 = %v; want 0.5", f)
	}
	if a := c.Accuracy(); a != 0.5 {
		t.Errorf("Accuracy = %v; want 0.5", a)
	}
}

func TestVADERParts(t *testing.T) {
	var rows []Rated
	for d := 0; d < 40; d++ {
		for s := 0; s < 3; s++ {
			rows = append(rows, Rated{ID: fmt.Sprintf("%d_%d", d, s), Text: fmt.Sprintf("doc %d sentence %d", d, s)})
		}
	}
	// A training document repeating a scored text.
	parts := VADERParts("x.txt", rows)
	var scoredDoc, trainDoc = -1, -1
	docPart := map[string]bool{}
	for i, r := range rows {
		doc := strings.Split(r.ID, "_")[0]
		train := parts[i] == PartTrain
		if prev, ok := docPart[doc]; ok && prev != train {
			t.Fatalf("document %s is split between training and scoring", doc)
		}
		docPart[doc] = train
		switch {
		case train:
			trainDoc = i
		case parts[i] == PartHeldOut && i%2 != 1, parts[i] == PartDev && i%2 != 0:
			t.Errorf("row %d: part %d; held-out rows are the odd rows, development rows the even ones", i, parts[i])
		default:
			scoredDoc = i
		}
	}
	if scoredDoc < 0 || trainDoc < 0 {
		t.Fatalf("40 documents all in one half: %v", parts)
	}
	rows[trainDoc].Text = rows[scoredDoc].Text
	if p := VADERParts("x.txt", rows)[trainDoc]; p != PartUnused {
		t.Errorf("a training row repeating a scored text: part %d; want PartUnused", p)
	}
}

// fakeTB records what DirOrSkip asked of its test.
type fakeTB struct{ skipped, failed bool }

func (f *fakeTB) Helper()               {}
func (f *fakeTB) Logf(string, ...any)   {}
func (f *fakeTB) Skipf(string, ...any)  { f.skipped = true }
func (f *fakeTB) Fatalf(string, ...any) { f.failed = true }

// TestDirOrSkip: a test needing the data gets its directory; without it,
// it is skipped on a developer's checkout and fails in CI, where a
// skipped quality test would pass unseen. TextsIfAny, for tests that also
// run on their own texts, gives none outside CI and fails in CI.
func TestDirOrSkip(t *testing.T) {
	d := t.TempDir()
	t.Setenv(EnvDir, d)
	if f := (&fakeTB{}); DirOrSkip(f) != d || f.skipped || f.failed {
		t.Errorf("with the data: skipped %v, failed %v; want its directory", f.skipped, f.failed)
	}
	// Not found anywhere: from a directory with no shared/data above it.
	t.Setenv(EnvDir, "")
	t.Chdir(t.TempDir())
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		f := &fakeTB{}
		DirOrSkip(f)
		if ci == "" && (!f.skipped || f.failed) || ci != "" && !f.failed {
			t.Errorf("CI=%q without the data: skipped %v, failed %v", ci, f.skipped, f.failed)
		}
		f = &fakeTB{}
		if texts := TextsIfAny(f); texts != nil || f.skipped || f.failed != (ci != "") {
			t.Errorf("TextsIfAny, CI=%q without the data: %d texts, skipped %v, failed %v; want none, failed only in CI",
				ci, len(texts), f.skipped, f.failed)
		}
	}
}
