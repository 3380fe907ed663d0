package search

import (
	"cmp"
	"maps"
	"slices"
)

// recodeMin is the number of escaped postings below which the writers never
// recount the frequency codes: a few KiB of map entries are not worth a pass
// over every posting.
const recodeMin = 1024

// recodeShare is the share of all postings (1/recodeShare) the escaped ones
// may grow by before a writer recounts the codes: a recount is a pass over
// every posting, so a stream of edits pays for it at most once per that many
// new escapes.
const recodeShare = 128

// maybeRecodeFrequencies recounts the frequency codes once the escaped
// postings grew past the mark the last recount set. The caller holds the
// write lock, outside any posting edit.
func (ix *Index) maybeRecodeFrequencies() {
	if len(ix.tfd.over) >= ix.tfd.recodeAt {
		ix.recodeFrequencies()
	}
}

// recodeFrequencies gives the codes to the most frequent packed frequencies
// of the postings, so that only the rarest values are escaped, whatever the
// order they arrived in: the dictionary hands out codes first come, first
// served, and an unusual load order or a long stream of edits can leave a
// common value escaped on every posting (a map entry of 20-40 bytes instead
// of one byte). Codes no posting uses any more are reclaimed. Every
// posting's frequencies, and so its impact, stay what they were. It does
// nothing but count when the escapes are already the fewest possible.
func (ix *Index) recodeFrequencies() {
	d := &ix.tfd
	var byCode [tfEscape + 1]int
	postings := 0
	for t := range ix.post {
		tfc := ix.post[t].tfc
		postings += len(tfc)
		for _, c := range tfc {
			byCode[c]++
		}
	}
	defer func() { d.recodeAt = max(recodeMin, 2*len(d.over), postings/recodeShare) }()

	counts := make(map[uint32]int, len(d.vals)+64)
	for c, v := range d.vals {
		if byCode[c] > 0 {
			counts[v] += byCode[c]
		}
	}
	for _, v := range d.over {
		counts[v]++
	}
	// Most frequent first, ties by value: the same postings give the same
	// codes whatever their history.
	vals := slices.SortedFunc(maps.Keys(counts), func(a, b uint32) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	vals = slices.Clip(vals[:min(len(vals), tfEscape)])
	fewest := postings
	for _, v := range vals {
		fewest -= counts[v]
	}
	if len(d.over) == fewest {
		return
	}

	codes := make(map[uint32]uint8, len(vals))
	for c, v := range vals {
		codes[v] = uint8(c)
	}
	var remap [tfEscape]uint8
	for c, v := range d.vals {
		if nc, ok := codes[v]; ok {
			remap[c] = nc
		} else {
			remap[c] = tfEscape
		}
	}
	over := make(map[uint64]uint32, fewest)
	for t := range ix.post {
		p := &ix.post[t]
		for j, c := range p.tfc {
			k := overKey(uint32(t), p.docs[j])
			if c == tfEscape {
				v := d.over[k]
				if nc, ok := codes[v]; ok {
					p.tfc[j] = nc
				} else {
					over[k] = v
				}
				continue
			}
			nc := remap[c]
			if nc == tfEscape {
				over[k] = d.vals[c]
			}
			p.tfc[j] = nc
		}
	}
	d.vals, d.codes, d.over = vals, codes, over
}
