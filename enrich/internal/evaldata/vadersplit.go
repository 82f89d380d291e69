package evaldata

import (
	"hash/fnv"
	"strings"
)

// Part is where a VADER rating row belongs in earshot's split of the VADER
// sets for the learned sentiment model.
type Part int

// The parts of a VADER set. Rows are grouped by document (the id before
// "_": an Amazon review or an NYT editorial; every movie snippet is its own
// document), and a document belongs wholly to the training half or to the
// other half, so no model trains on one sentence of a review and is scored
// on the next:
//   - PartTrain: every row of the training documents (about half), which
//     the sentiment model may train and cross-validate on;
//   - PartDev: the even rows (0, 2, …) of the other documents, never trained
//     on, for choosing thresholds (respond's confidences);
//   - PartHeldOut: the odd rows of the other documents, never trained or
//     tuned on: the reported figures. They are a subset of the odd rows that
//     were held out before the model trained on review sentences.
//
// A training row whose text (DedupKey) repeats a PartDev or PartHeldOut
// row's is PartUnused, so that no text is both trained on and scored.
const (
	PartTrain Part = iota
	PartDev
	PartHeldOut
	PartUnused
)

// VADERParts returns the part of each row of a VADER set (in file order;
// file names the set, so that the same document id in two sets is split
// independently).
func VADERParts(file string, rows []Rated) []Part {
	parts := make([]Part, len(rows))
	scored := map[string]bool{}
	for i, r := range rows {
		parts[i] = PartTrain
		if !trainDoc(file, r.ID) {
			parts[i] = PartDev
			if i%2 == 1 {
				parts[i] = PartHeldOut
			}
			scored[DedupKey(r.Text)] = true
		}
	}
	for i, r := range rows {
		if parts[i] == PartTrain && scored[DedupKey(r.Text)] {
			parts[i] = PartUnused
		}
	}
	return parts
}

// trainDoc reports whether the document of a row id is in the training half.
func trainDoc(file, id string) bool {
	doc, _, _ := strings.Cut(id, "_")
	h := fnv.New32a()
	h.Write([]byte("earshot-vader-doc/1:" + file + ":" + doc))
	return h.Sum32()%2 == 0
}
