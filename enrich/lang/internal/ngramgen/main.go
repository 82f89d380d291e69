//go:build ngramgen

// Command ngramgen builds enrich/lang's n-gram table from the character
// language models that lingua-go (Apache-2.0, Peter M. Stahl) ships, so that
// earshot detects languages with lingua's statistics but without its 120 MB of
// embedded models or its per-call cost. It keeps, per language, the most
// frequent unigrams, bigrams and trigrams, and 4- and 5-grams (for short
// texts), ranked by joint probability, with their conditional
// log-probabilities, quantised to 0.1 nat. A 4- or 5-gram is kept only if
// its suffix one order down is.
//
//	go run -tags ngramgen ./enrich/lang/internal/ngramgen -out enrich/lang/ngrams.bin.gz
//
// The build tag keeps lingua-go's module out of ordinary builds.
package main

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/pemistahl/lingua-go/serialization"
)

// Languages the table covers: every lingua language except those told apart
// by script alone (ja, ko, zh), which the detector handles without n-grams.
var skip = map[string]bool{"ja": true, "ko": true, "zh": true}

func main() {
	out := flag.String("out", "ngrams.bin.gz", "output file")
	k1 := flag.Int("uni", 200, "unigrams kept per language")
	k2 := flag.Int("bi", 800, "bigrams kept per language")
	k3 := flag.Int("tri", 2500, "trigrams kept per language")
	k4 := flag.Int("quad", 20000, "4-grams kept per language")
	k5 := flag.Int("five", 10000, "5-grams kept per language")
	flag.Parse()

	dir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/pemistahl/lingua-go").Output()
	if err != nil {
		log.Fatalf("locate lingua-go: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(dir)), "language-models")
	ents, err := os.ReadDir(root)
	if err != nil {
		log.Fatal(err)
	}
	var codes []string
	for _, e := range ents {
		if e.IsDir() && !skip[e.Name()] {
			codes = append(codes, e.Name())
		}
	}
	sort.Strings(codes)
	if len(codes) > 255 {
		log.Fatal("too many languages")
	}

	type post struct {
		lang uint8
		q    uint8
	}
	table := map[string][]post{} // key: order byte + ngram
	for li, code := range codes {
		uni := load(root, code, "unigrams")
		bi := load(root, code, "bigrams")
		tri := load(root, code, "trigrams")
		models := []map[string]float64{uni, bi, tri, {}, {}}
		if *k4 > 0 {
			models[3] = load(root, code, "quadrigrams")
		}
		if *k5 > 0 {
			models[4] = load(root, code, "fivegrams")
		}
		// joint is the probability of the n-gram as a whole: the chain of
		// its prefixes' conditional probabilities.
		joint := func(g string) float64 {
			r := []rune(g)
			p := 1.0
			for n := 1; n <= len(r); n++ {
				p *= models[n-1][string(r[:n])]
			}
			return p
		}
		var kept [5]map[string]bool // the n-grams kept, by order
		for order, m := range models {
			k := []int{*k1, *k2, *k3, *k4, *k5}[order]
			gs := make([]string, 0, len(m))
			for g := range m {
				gs = append(gs, g)
			}
			sort.Slice(gs, func(i, j int) bool {
				ji, jj := joint(gs[i]), joint(gs[j])
				if ji != jj {
					return ji > jj
				}
				return gs[i] < gs[j]
			})
			// A 4- or 5-gram is kept only if the language keeps its suffix
			// one order down: the detector probes the longer orders only
			// after a hit.
			keep := gs[:0]
			for _, g := range gs {
				if len(keep) == k {
					break
				}
				if order >= 3 && !kept[order-1][string([]rune(g)[1:])] {
					continue
				}
				keep = append(keep, g)
			}
			gs = keep
			kept[order] = map[string]bool{}
			for _, g := range gs {
				kept[order][g] = true
			}
			for _, g := range gs {
				q := math.Round(-math.Log(m[g]) * 10)
				q = math.Max(0, math.Min(255, q))
				key := string(rune('1'+order)) + g
				table[key] = append(table[key], post{uint8(li), uint8(q)})
			}
		}
	}

	var buf bytes.Buffer
	buf.WriteString("ESNG1")
	buf.WriteByte(uint8(len(codes)))
	for _, c := range codes {
		buf.WriteString(c)
	}
	keys := make([]string, 0, len(table))
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	binary.Write(&buf, binary.LittleEndian, uint32(len(keys)))
	posts := 0
	for _, k := range keys {
		g := k[1:]
		buf.WriteByte(k[0] - '0')
		buf.WriteByte(uint8(len(g)))
		buf.WriteString(g)
		ps := table[k]
		buf.WriteByte(uint8(len(ps)))
		for _, p := range ps {
			buf.WriteByte(p.lang)
			buf.WriteByte(p.q)
		}
		posts += len(ps)
	}
	f, err := os.Create(*out)
	if err != nil {
		log.Fatal(err)
	}
	zw, _ := gzip.NewWriterLevel(f, gzip.BestCompression)
	if _, err := zw.Write(buf.Bytes()); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d languages, %d n-grams, %d postings, %d bytes raw\n", len(codes), len(keys), posts, buf.Len())
}

func load(root, code, name string) map[string]float64 {
	path := filepath.Join(root, code, name+".pb.bin.zip")
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return map[string]float64{} // some scripts have only some orders
	}
	if err != nil {
		log.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil || len(zr.File) == 0 {
		log.Fatalf("%s: %v", path, err)
	}
	rc, err := zr.File[0].Open()
	if err != nil {
		log.Fatal(err)
	}
	raw, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		log.Fatal(err)
	}
	var m serialization.SerializableLanguageModel
	if err := proto.Unmarshal(raw, &m); err != nil {
		log.Fatalf("%s: %v", path, err)
	}
	out := map[string]float64{}
	for _, s := range m.GetNgramSets() {
		for _, g := range s.GetNgrams() {
			out[g] = s.GetProbability()
		}
	}
	return out
}
