package model

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// magic starts every weights file.
const magic = "earshot-sentiment-linear/5\n"

// ErrFormat is wrapped by every error reading a weights file.
var ErrFormat = errors.New("sentiment weights")

// Model is a trained linear softmax over hashed features, quantised to int8
// (one scale for all weights). It is read-only and safe for concurrent use.
type Model struct {
	Opts  Options
	Name  string // e.g. "xlmt+semeval+goemotions/seed1"
	scale float32
	w     []int8 // [bucket*NumClasses + class]
}

// Buckets is the number of hash buckets.
func (m *Model) Buckets() int { return len(m.w) / NumClasses }

// productTableMin is the number of text features from which logits looks
// their terms up in a table of products.
const productTableMin = 256

// Logits returns the class scores of the features.
func (m *Model) Logits(fs []Feature) [NumClasses]float32 { return m.logits(nil, 0, fs) }

// logits sums the weights of the text features (buckets) that share the value v, then of
// the features fs, in that order. The sums are float32 and taken in
// feature order; the three are kept in registers (an array lived on the
// stack, and each addition waited for the store of the one before).
// In a long text, a text feature's term v*w takes one of 256 values (w is
// an int8): they are computed once, each the same float32 product, and
// looked up, which takes the conversion and the multiplication off every
// feature (a third less time on ~1 KB texts; not worth the table on a
// short one).
func (m *Model) logits(text []uint32, v float32, fs []Feature) [NumClasses]float32 {
	var a0, a1, a2 float32
	w := m.w
	if len(text) >= productTableMin {
		var vw [256]float32 // vw[uint8(q)] = v * float32(q)
		for q := -128; q < 128; q++ {
			vw[uint8(q)] = v * float32(q)
		}
		for _, b := range text {
			i := int(b) * NumClasses
			row := w[i : i+NumClasses : i+NumClasses]
			a0 += vw[uint8(row[0])]
			a1 += vw[uint8(row[1])]
			a2 += vw[uint8(row[2])]
		}
		text = nil
	}
	for _, b := range text {
		i := int(b) * NumClasses
		row := w[i : i+NumClasses : i+NumClasses]
		a0 += v * float32(row[0])
		a1 += v * float32(row[1])
		a2 += v * float32(row[2])
	}
	for _, f := range fs {
		i := int(f.Bucket) * NumClasses
		row := w[i : i+NumClasses : i+NumClasses]
		a0 += f.Value * float32(row[0])
		a1 += f.Value * float32(row[1])
		a2 += f.Value * float32(row[2])
	}
	return [NumClasses]float32{a0 * m.scale, a1 * m.scale, a2 * m.scale}
}

// Probs is the softmax of the logits.
func Probs(z [NumClasses]float32) [NumClasses]float32 {
	mx := z[0]
	for _, v := range z[1:] {
		mx = max(mx, v)
	}
	var p [NumClasses]float32
	var s float32
	for c, v := range z {
		p[c] = float32(math.Exp(float64(v - mx)))
		s += p[c]
	}
	for c := range p {
		p[c] /= s
	}
	return p
}

// Quantise turns float weights ([bucket*NumClasses+class]) into a Model.
func Quantise(o Options, name string, w []float32) *Model {
	var mx float32
	for _, v := range w {
		mx = max(mx, abs32(v))
	}
	scale := mx / 127
	if scale == 0 {
		scale = 1
	}
	q := make([]int8, len(w))
	for i, v := range w {
		q[i] = int8(math.Round(float64(v / scale)))
	}
	return &Model{Opts: o, Name: name, scale: scale, w: q}
}

// WriteTo writes the model, gzip-compressed.
func (m *Model) WriteTo(out io.Writer) (int64, error) {
	zw, err := gzip.NewWriterLevel(out, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	bw := bufio.NewWriter(zw)
	bw.WriteString(magic)
	hdr := []any{m.Opts, uint16(len(m.Name)), []byte(m.Name), m.scale, uint32(len(m.w))}
	for _, v := range hdr {
		if err := binary.Write(bw, binary.LittleEndian, v); err != nil {
			return 0, err
		}
	}
	if err := binary.Write(bw, binary.LittleEndian, m.w); err != nil {
		return 0, err
	}
	if err := bw.Flush(); err != nil {
		return 0, err
	}
	return 0, zw.Close()
}

// Read reads a model written by WriteTo.
func Read(r io.Reader) (*Model, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	br := bufio.NewReader(zr)
	head := make([]byte, len(magic))
	if _, err := io.ReadFull(br, head); err != nil || !bytes.Equal(head, []byte(magic)) {
		return nil, fmt.Errorf("%w: not an earshot sentiment weights file (magic %q)", ErrFormat, head)
	}
	m := &Model{}
	var nameLen uint16
	if err := binary.Read(br, binary.LittleEndian, &m.Opts); err != nil {
		return nil, fmt.Errorf("%w: options: %w", ErrFormat, err)
	}
	if err := binary.Read(br, binary.LittleEndian, &nameLen); err != nil {
		return nil, fmt.Errorf("%w: name: %w", ErrFormat, err)
	}
	name := make([]byte, nameLen)
	if _, err := io.ReadFull(br, name); err != nil {
		return nil, fmt.Errorf("%w: name: %w", ErrFormat, err)
	}
	m.Name = string(name)
	var n uint32
	if err := binary.Read(br, binary.LittleEndian, &m.scale); err != nil {
		return nil, fmt.Errorf("%w: scale: %w", ErrFormat, err)
	}
	if err := binary.Read(br, binary.LittleEndian, &n); err != nil {
		return nil, fmt.Errorf("%w: size: %w", ErrFormat, err)
	}
	if m.Opts.Bits < 10 || m.Opts.Bits > 26 || n != uint32(NumClasses)<<m.Opts.Bits {
		return nil, fmt.Errorf("%w: %d weights for %d hash bits", ErrFormat, n, m.Opts.Bits)
	}
	m.w = make([]int8, n)
	if err := binary.Read(br, binary.LittleEndian, m.w); err != nil {
		return nil, fmt.Errorf("%w: weights: %w", ErrFormat, err)
	}
	return m, nil
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}
