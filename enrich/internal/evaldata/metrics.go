package evaldata

import "math"

// Pearson returns the Pearson correlation of x and y (0 when either is constant).
func Pearson(x, y []float64) float64 {
	n := float64(len(x))
	if len(x) != len(y) || len(x) == 0 {
		return 0
	}
	var sx, sy float64
	for i := range x {
		sx += x[i]
		sy += y[i]
	}
	mx, my := sx/n, sy/n
	var cov, vx, vy float64
	for i := range x {
		dx, dy := x[i]-mx, y[i]-my
		cov += dx * dy
		vx += dx * dx
		vy += dy * dy
	}
	if vx == 0 || vy == 0 {
		return 0
	}
	return cov / math.Sqrt(vx*vy)
}

// Confusion counts predictions against gold labels for the classes
// -1 (negative), 0 (neutral) and 1 (positive).
type Confusion [3][3]int // [gold+1][pred+1]

// Add counts one prediction.
func (c *Confusion) Add(gold, pred int) { c[gold+1][pred+1]++ }

// F1 is the F1 of one class (-1, 0 or 1).
func (c *Confusion) F1(class int) float64 {
	k := class + 1
	tp := c[k][k]
	var fp, fn int
	for i := 0; i < 3; i++ {
		if i != k {
			fp += c[i][k]
			fn += c[k][i]
		}
	}
	if tp == 0 {
		return 0
	}
	p := float64(tp) / float64(tp+fp)
	r := float64(tp) / float64(tp+fn)
	return 2 * p * r / (p + r)
}

// Support is the number of gold items of a class.
func (c *Confusion) Support(class int) int {
	k := class + 1
	return c[k][0] + c[k][1] + c[k][2]
}

// WeightedF1 is the support-weighted mean F1 over the three classes, as
// scikit-learn's average="weighted" (the 3-class F1 of the VADER paper's
// tables).
func (c *Confusion) WeightedF1() float64 {
	var sum, n float64
	for class := -1; class <= 1; class++ {
		s := float64(c.Support(class))
		sum += s * c.F1(class)
		n += s
	}
	if n == 0 {
		return 0
	}
	return sum / n
}

// MacroF1 is the unweighted mean F1 over the given classes.
func (c *Confusion) MacroF1(classes ...int) float64 {
	if len(classes) == 0 {
		return 0
	}
	var sum float64
	for _, k := range classes {
		sum += c.F1(k)
	}
	return sum / float64(len(classes))
}

// Accuracy is the share of correct predictions.
func (c *Confusion) Accuracy() float64 {
	var ok, n int
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			n += c[i][j]
			if i == j {
				ok += c[i][j]
			}
		}
	}
	if n == 0 {
		return 0
	}
	return float64(ok) / float64(n)
}
