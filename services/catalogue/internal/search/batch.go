package search

import (
	"runtime"
	"slices"
	"sync"
	"time"
)

// The batch path of a bulk import (UpsertBatch). Analysing a document (tokenising and folding its text,
// looking its words up in the vocabulary, counting them per field) is most of what an Upsert costs, and
// Upsert does it under the write lock, so every search and every other writer waits for it, and an import
// of thousands of services analyses them one at a time on one core. UpsertBatch analyses the whole batch
// first, on every core, holding only the read lock for the vocabulary lookups, then only edits the postings
// and the filters under the write lock, a few milliseconds of documents at a time. Term ids never change
// once given (the vocabulary only grows), so an id read under the read lock is still right under the write
// lock; a word the vocabulary did not have yet gets its id under the write lock, in the order a sequence of
// Upserts would have given it, so the index a batch leaves is the one the same Upserts one by one would have
// left.

// tempTerm marks, in a prepared document's terms, a word the vocabulary did not have when it was analysed:
// tempTerm+k is the document's k-th such word. Real term ids stay far below it.
const tempTerm = 1 << 31

// preparedDoc is a document analysed outside the write lock.
type preparedDoc struct {
	terms   []uint64 // term<<32 | packed per-field tf, ascending term (new words last, as tempTerm+k)
	flen    [nFields]uint16
	unknown []string // the new words, in order of first occurrence
}

// batchAnalyzer is one worker's scratch for prepare.
type batchAnalyzer struct {
	tok tokenizer
	raw []uint64
	unk map[string]uint32
}

// UpsertBatch upserts docs as so many Upserts in this order would (the same revision rules), but analyses
// their text on every core before it takes the write lock, then takes it for a few milliseconds of documents
// at a time (lockSpan) rather than once per document: what a bulk import calls after each commit. It keeps docs' elements as Upsert keeps its argument (not at all: the index
// copies what it keeps).
func (ix *Index) UpsertBatch(docs []Doc) {
	if len(docs) == 0 {
		return
	}
	prep := make([]preparedDoc, len(docs))
	workers := min(runtime.GOMAXPROCS(0), (len(docs)+63)/64)
	if workers <= 1 {
		var a batchAnalyzer
		for i := range docs {
			a.prepare(ix, &docs[i], &prep[i])
		}
	} else {
		// Short-lived fan-out joined before the write lock is taken, like the planning of an import's rows.
		var wg sync.WaitGroup
		chunk := (len(docs) + workers - 1) / workers
		for lo := 0; lo < len(docs); lo += chunk {
			hi := min(lo+chunk, len(docs))
			wg.Add(1)
			go func() {
				defer wg.Done()
				var a batchAnalyzer
				for i := lo; i < hi; i++ {
					a.prepare(ix, &docs[i], &prep[i])
				}
			}()
		}
		wg.Wait()
	}
	for i := 0; i < len(docs); {
		i = ix.applyPrepared(docs, prep, i)
	}
}

// lockSpan bounds how long UpsertBatch holds the write lock at a time: it lets the searches that queued
// meanwhile through every few milliseconds instead of holding them for a whole batch (thousands of documents,
// tens of milliseconds, far more on a loaded machine), and it takes the lock once per span instead of once per
// document (each time waiting for the searches in progress).
const lockSpan = 2 * time.Millisecond

// applyPrepared indexes the prepared documents from i on under the write lock, for about lockSpan, and
// returns the index of the first one it left.
func (ix *Index) applyPrepared(docs []Doc, prep []preparedDoc, i int) int {
	ix.lockWrite()
	defer ix.unlockWrite()
	first, start := i, time.Now()
	for ; i < len(docs); i++ {
		if i > first && (i-first)%16 == 0 && time.Since(start) > lockSpan {
			return i // at least 16 done: it always progresses, however slow the machine
		}
		d, p := &docs[i], &prep[i]
		if !ix.admitLocked(d) {
			continue // stale: like Upsert, its new words do not enter the vocabulary either
		}
		if len(p.unknown) > 0 {
			ids := make([]uint32, len(p.unknown))
			for k, w := range p.unknown {
				ids[k] = ix.voc.id([]byte(w))
			}
			for j, e := range p.terms {
				if t := e >> 32; t >= tempTerm {
					p.terms[j] = uint64(ids[t-tempTerm])<<32 | e&0xffffffff
				}
			}
			slices.Sort(p.terms)
		}
		for len(ix.post) < len(ix.voc.terms) {
			ix.post = append(ix.post, plist{})
		}
		ix.upsertAnalyzedLocked(d, p.terms, p.flen)
	}
	return i
}

// prepare analyses d into p as Index.analyze does, reading the vocabulary under the read lock.
func (a *batchAnalyzer) prepare(ix *Index, d *Doc, p *preparedDoc) {
	if d.ID == "" {
		return
	}
	raw := a.raw[:0]
	if len(a.unk) > 0 {
		clear(a.unk)
	}
	ix.mu.RLock()
	for f, text := range docFields(d) {
		a.tok.each(text, func(tok []byte) {
			id, ok := ix.voc.ids[string(tok)]
			if !ok {
				if a.unk == nil {
					a.unk = make(map[string]uint32)
				}
				if k, seen := a.unk[string(tok)]; seen {
					id = tempTerm + k
				} else {
					w := string(tok)
					k := uint32(len(p.unknown))
					a.unk[w] = k
					p.unknown = append(p.unknown, w)
					id = tempTerm + k
				}
			}
			raw = append(raw, uint64(id)<<32|uint64(f))
			if p.flen[f] < 0xffff {
				p.flen[f]++
			}
		})
	}
	ix.mu.RUnlock()
	slices.Sort(raw)
	distinct := 0
	for i := range raw {
		if i == 0 || raw[i]>>32 != raw[i-1]>>32 {
			distinct++
		}
	}
	p.terms = packTerms(make([]uint64, 0, distinct), raw) // one allocation of the final size: the batch holds thousands
	a.raw = raw
}

// packTerms appends to out the distinct terms of raw (term<<32 | field, sorted) as term<<32 | the per-field
// frequencies packed tfBits a field, each saturated at tfMax.
func packTerms(out, raw []uint64) []uint64 {
	for i := 0; i < len(raw); {
		t := raw[i] >> 32
		var tf uint32
		for ; i < len(raw) && raw[i]>>32 == t; i++ {
			shift := uint32(raw[i]&0xff) * tfBits
			if c := tf >> shift & tfMax; c < tfMax {
				tf += 1 << shift
			}
		}
		out = append(out, t<<32|uint64(tf))
	}
	return out
}
