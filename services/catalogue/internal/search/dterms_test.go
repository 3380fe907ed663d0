package search

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
)

// A document's term ids take the bytes their varints need, not the buffer they were encoded in: the heap
// freed by dropping every document's term ids is their length plus the allocator's size-class rounding
// (under 16 bytes at these sizes), where clipping a buffer grown to two bytes a term kept twice as much
// allocated (review finding 11b).
func TestDocumentTermIDsAreAllocatedToSize(t *testing.T) {
	for _, bulk := range []bool{false, true} {
		t.Run(fmt.Sprintf("bulk=%v", bulk), func(t *testing.T) {
			ix := New()
			var docs []Doc
			for i := range 3000 {
				var words []string
				for k := range 40 + i%30 {
					words = append(words, fmt.Sprintf("w%dx%d", k, (i*7+k)%500))
				}
				d := doc(fmt.Sprintf("s%d", i), "Świetlica "+strings.Join(words[:5], " "))
				d.Description = strings.Join(words[5:], " ")
				docs = append(docs, d)
			}
			if bulk {
				ix.BulkLoad(docs)
			} else {
				for _, d := range docs {
					ix.Upsert(d)
				}
			}
			used := 0
			for _, b := range ix.dterms {
				used += len(b)
			}
			var m1, m2 runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&m1)
			for n := range ix.dterms {
				ix.dterms[n] = nil
			}
			runtime.GC()
			runtime.ReadMemStats(&m2)
			freed := int64(m1.HeapAlloc) - int64(m2.HeapAlloc)
			if limit := int64(used + 16*len(docs)); freed > limit {
				t.Fatalf("term ids of %d documents: %d bytes used, %d allocated (more than %d)", len(docs), used, freed, limit)
			}
			runtime.KeepAlive(ix)
		})
	}
}
