package search

import (
	"math/bits"
	"sync"
)

// queryCache keeps what several queries of one unchanged index would otherwise each compute again. An entry
// is valid for the write generation (Index.gen) it was computed at; any write makes every entry stale, so a
// cached answer is always that of the current index.
//
// It holds the documents open at one minute of the week ("open now", czynne teraz): every resident asking
// during the same minute shares it, and without it each such query checks the opening hours of every
// document open for only part of that hour (about 30,000 of 500,000 services, each a few cache misses).
type queryCache struct {
	mu   sync.Mutex
	open []*openEntry // most recently used first
}

// maxOpenEntries bounds the minutes kept: at 500,000 documents each is a 61 KiB bitset.
const maxOpenEntries = 8

type openEntry struct {
	gen     uint64
	hourBit int
	minute  int16
	// set holds the documents open for only part of the hour (bOpenAny, not bOpenFull) that are open at
	// the minute. Never modified once stored.
	set bitset
}

// openPartial returns the documents open at f's minute among those open for only part of its hour, or nil
// when it is not cached and checking the cnt candidates of the query one by one is cheaper than computing
// it for the whole index. Called under the read lock.
func (ix *Index) openPartial(f *filter, cnt int) bitset {
	c := &ix.qc
	c.mu.Lock()
	for i, e := range c.open {
		if e.gen == ix.gen && e.hourBit == f.hourBit && e.minute == f.minute {
			copy(c.open[1:i+1], c.open[:i])
			c.open[0] = e
			c.mu.Unlock()
			return e.set
		}
	}
	c.mu.Unlock()
	anyOpen, full := ix.bOpenAny[f.hourBit], ix.bOpenFull[f.hourBit]
	if anyOpen == nil {
		return nil
	}
	// Worth it when the query itself would check a good part of the candidates the whole index has: a
	// query without text (or with a frequent word) does; a rare word does not, and is not kept waiting.
	total := 0
	for i, w := range anyOpen {
		if full != nil {
			w &^= full[i]
		}
		total += bits.OnesCount64(w)
	}
	if cnt*4 < total {
		return nil
	}
	set := make(bitset, len(anyOpen))
	for i, w := range anyOpen {
		if full != nil {
			w &^= full[i]
		}
		var keep uint64
		for v := w; v != 0; v &= v - 1 {
			d := uint32(i<<6 | bits.TrailingZeros64(v))
			if openAt(ix.meta[d].hours, f.wd, f.minute) {
				keep |= 1 << (d & 63)
			}
		}
		set[i] = keep
	}
	e := &openEntry{gen: ix.gen, hourBit: f.hourBit, minute: f.minute, set: set}
	c.mu.Lock()
	// Drop what is stale, then make room.
	kept := c.open[:0]
	for _, o := range c.open {
		if o.gen == ix.gen {
			kept = append(kept, o)
		}
	}
	clear(c.open[len(kept):])
	c.open = kept
	if len(c.open) >= maxOpenEntries {
		c.open[len(c.open)-1] = nil
		c.open = c.open[:len(c.open)-1]
	}
	c.open = append(c.open, nil)
	copy(c.open[1:], c.open)
	c.open[0] = e
	c.mu.Unlock()
	return set
}
