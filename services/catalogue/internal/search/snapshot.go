package search

// Snapshots: the index written to a file and read back without analysing any text again, so a restart costs
// a sequential read of the file instead of decoding and tokenising every service in the store. The index
// stays derived state: a snapshot records the store revision it reflects, and the caller catches up from the
// change feed (or rebuilds from the store when the snapshot does not fit the data file).
//
// Version 2 holds no text but names: the index keeps postings, not text. What can be derived from the
// stored arrays (the filter bitsets, TERC doc lists, geo cells, dense term sets, name prefixes, the id map)
// is rebuilt on reading rather than stored, so it cannot disagree with them. Version 3 stores the postings'
// frequencies as one-byte codes of the index's frequency dictionary (tfDict) and no norms (the index
// computes them from the field lengths), the sort keys packed (packSortKey) and the week maps once each.
//
// # Format (version 3)
//
// All integers are little-endian.
//
//	magic    8 bytes   "CUSSRCH\n"
//	version  uint32    snapshotVersion
//	frames   ...       the payload, cut into frames
//
// A frame is
//
//	length   uint32    of the payload, at most maxFrame
//	payload  length bytes
//	crc      uint32    CRC32C (Castagnoli) of the frame's sequence number (uint32, from 0), length and payload
//
// Every frame is checked before any of its bytes is decoded, so a flipped byte anywhere is reported as a
// checksum error (naming the frame and the section) and never decoded into the index; the sequence number
// in the checksum catches frames that are missing, repeated or out of order. A fixed-size value never spans
// two frames (the writer starts a new frame instead); only the bytes of a string column's blob do.
//
// The payload is a sequence of sections, each opened by its four-letter tag and each starting a new frame,
// in this order:
//
//	HEAD  feed id, source, revision, write time, number of document slots, live documents, terms, TERC codes
//	DOCS  per slot: revision, create and update time, status, origin TERC id, flags (fixed size)
//	TEXT  string columns of the slots: id, name, sort key (packed: packSortKey), then the sort keys' runs
//	      (uint16 each), the folded names; then the per-slot provider lists
//	HOTF  the filter data (docHot) of every slot, fixed size
//	WEEK  the distinct opening-hours week maps (count, then 48 bytes each, the empty map first), then per slot
//	      the index of its map
//	META  the rarer filter data (docMeta): interned TERC ids (more than two), valid points, hours
//	LENS  field lengths per slot, the average lengths the norms use, the length sums, the documents
//	      changed since the norms were computed
//	TRMS  per slot its distinct term ids (uvarint deltas): byte counts, then the bytes
//	FREE  free slots; tombstones (id and revision) above the snapshot's revision
//	TERC  the interned TERC codes in id order
//	VOCA  the terms in id order, the sorted and pending orders, the typo bigram index and its by-length lists
//	POST  postings: per term its length and largest impact, then the doc numbers of all terms as one
//	      array; the frequency dictionary (packed frequencies by code), the frequency codes and the impacts
//	      of all terms, each as one array; the frequencies of the postings coded tfEscape (count, then
//	      term<<32|doc and the packed frequencies, in key order)
//	END.  nothing: its presence proves the file is complete
//
// A string column is the lengths of its n strings (uint32 each) followed by their bytes concatenated; a
// per-slot list is the count of items per slot (uint32 each) followed by the items. The strings of a column
// are read into one allocation and share it.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// snapshotVersion is the format version written; a snapshot of any other version is refused (the caller
// rebuilds), so change it whenever the layout or the meaning of a field changes.
const snapshotVersion = 3

var snapshotMagic = [8]byte{'C', 'U', 'S', 'S', 'R', 'C', 'H', '\n'}

const (
	// frameTarget is where the writer closes a frame; maxFrame bounds what the reader accepts, so a corrupt
	// length cannot make it allocate much before the checksum fails.
	frameTarget = 256 << 10
	maxFrame    = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Section tags, in file order.
var snapshotSections = [...]string{"HEAD", "DOCS", "TEXT", "HOTF", "WEEK", "META", "LENS", "TRMS", "FREE", "TERC", "VOCA", "POST", "END."}

// SnapshotMeta describes a snapshot: what it was taken from and what it holds.
type SnapshotMeta struct {
	// FeedID is the feed id of the data file the index reflects; a snapshot of another file (a restore gives
	// the file a new feed id) must not be used.
	FeedID string
	// Revision is a store revision such that every write at or below it is in the index. Writes above it may
	// be too: re-applying them is harmless (Upsert ignores older revisions, Delete leaves tombstones).
	// Tombstones at or below it are not written.
	Revision int64
	// Source names what derived the documents from the stored records (the caller's build): the same records
	// may give other documents, or another analysis, in another build, so a snapshot of another source must
	// not be used. This package only stores it.
	Source string
	// Written is when the snapshot was taken (WriteSnapshot sets it when zero); for logs.
	Written time.Time
	// Docs is the number of live documents (set by WriteSnapshot).
	Docs int
}

// WriteSnapshot writes the index and meta to w in the snapshot format. It holds the index's read lock while
// it writes: searches go on, writes wait (a writer waiting for the lock also holds up later searches, so
// write to a buffered file, not to a slow network).
func (ix *Index) WriteSnapshot(w io.Writer, meta SnapshotMeta) error {
	if meta.Written.IsZero() {
		meta.Written = time.Now()
	}
	// Writers wait at wmu for the whole snapshot, so none waits at mu and searches go on meanwhile.
	ix.wmu.Lock()
	defer ix.wmu.Unlock()
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	meta.Docs = ix.live

	if _, err := w.Write(snapshotMagic[:]); err != nil {
		return err
	}
	var version [4]byte
	binary.LittleEndian.PutUint32(version[:], snapshotVersion)
	if _, err := w.Write(version[:]); err != nil {
		return err
	}
	sw := &snapWriter{w: w, buf: make([]byte, 0, frameTarget+64)}
	n := len(ix.ids)

	sw.section("HEAD")
	sw.str(meta.FeedID)
	sw.str(meta.Source)
	sw.i64(meta.Revision)
	sw.i64(meta.Written.UnixNano())
	sw.u32(uint32(n))
	sw.u32(uint32(ix.live))
	sw.u32(uint32(len(ix.voc.terms)))
	sw.u32(uint32(len(ix.tercNames)))

	sw.section("DOCS")
	for i := range n {
		l := &ix.list[i]
		sw.room(docRecordSize)
		sw.i64(ix.revs[i])
		sw.i64(l.created)
		sw.i32(l.createdNs)
		sw.i64(l.updated)
		sw.i32(l.updatedNs)
		sw.i32(l.status)
		sw.i32(l.origin)
		var flags uint8
		if l.reqDec {
			flags |= docRequiresDecision
		}
		sw.u8(flags)
	}

	sw.section("TEXT")
	sw.strColumn(n, func(i int) string { return ix.ids[i] })
	sw.strColumn(n, func(i int) string { return ix.list[i].name })
	sw.strColumn(n, func(i int) string { return ix.list[i].sortKey })
	for i := range n {
		sw.u16(ix.list[i].sortRun)
	}
	sw.strColumn(n, func(i int) string { return ix.nameKey[i] })
	sw.listStrings(n, func(i int) []string { return ix.provLists[ix.list[i].provs] })

	sw.section("HOTF")
	for i := range ix.hot {
		h := &ix.hot[i]
		sw.room(hotRecordSize)
		sw.u8(h.flags)
		sw.u8(h.nTerc)
		sw.u32(h.terc[0])
		sw.u32(h.terc[1])
		sw.u32(h.areas)
		sw.u32(h.tgs)
		sw.i32(h.minAge)
		sw.i32(h.maxAge)
		sw.f32(h.minLat)
		sw.f32(h.maxLat)
		sw.f32(h.minLng)
		sw.f32(h.maxLng)
	}

	sw.section("WEEK")
	sw.u32(uint32(len(ix.weeks)))
	for i := range ix.weeks {
		w := &ix.weeks[i]
		sw.room(48)
		for _, x := range w.any {
			sw.u64(x)
		}
		for _, x := range w.full {
			sw.u64(x)
		}
	}
	for _, id := range ix.week {
		sw.u32(id)
	}

	sw.section("META")
	sw.counts(n, func(i int) int { return len(ix.manyTercs[uint32(i)]) })
	for i := range ix.meta {
		for _, t := range ix.manyTercs[uint32(i)] {
			sw.u32(t)
		}
	}
	sw.counts(n, func(i int) int { return len(ix.meta[i].points) })
	for i := range ix.meta {
		for _, p := range ix.meta[i].points {
			sw.room(16)
			sw.f64(p.Lat)
			sw.f64(p.Lng)
		}
	}
	sw.counts(n, func(i int) int { return len(ix.meta[i].hours) })
	for i := range ix.meta {
		for _, h := range ix.meta[i].hours {
			sw.room(5)
			sw.u8(uint8(h.wd))
			sw.u16(uint16(h.open))
			sw.u16(uint16(h.close))
		}
	}

	sw.section("LENS")
	for i := range ix.flen {
		sw.room(2 * nFields)
		for _, l := range ix.flen[i] {
			sw.u16(l)
		}
	}
	for _, x := range ix.normAvg {
		sw.f64(x)
	}
	for _, x := range ix.lenSum {
		sw.i64(x)
	}
	sw.i64(int64(ix.sinceRefresh))

	sw.section("TRMS")
	sw.counts(n, func(i int) int { return len(ix.dterms[i]) })
	for i := range n {
		sw.bytes(ix.dterms[i])
	}

	sw.section("FREE")
	sw.u32(uint32(len(ix.free)))
	for _, f := range ix.free {
		sw.u32(f)
	}
	// Maps are written in key order, so the same index always gives the same bytes. A tombstone at or below
	// the snapshot's revision can refuse nothing any more (every write up to it is in the index), so it is
	// left out and tombstones do not pile up across restarts.
	var tombIDs []string
	for _, id := range slices.Sorted(maps.Keys(ix.tombs)) {
		if ix.tombs[id] > meta.Revision {
			tombIDs = append(tombIDs, id)
		}
	}
	sw.u32(uint32(len(tombIDs)))
	sw.strColumn(len(tombIDs), func(i int) string { return tombIDs[i] })
	for _, id := range tombIDs {
		sw.i64(ix.tombs[id])
	}

	sw.section("TERC")
	sw.strColumn(len(ix.tercNames), func(i int) string { return ix.tercNames[i] })

	sw.section("VOCA")
	v := &ix.voc
	sw.strColumn(len(v.terms), func(i int) string { return v.terms[i] })
	sw.u32s(v.sorted)
	sw.u32s(v.pending)
	sw.u32(uint32(len(v.grams)))
	for _, k := range slices.Sorted(maps.Keys(v.grams)) {
		sw.u64(k)
		sw.u32s(v.grams[k])
	}
	sw.u32(uint32(len(v.byLen)))
	for _, k := range slices.Sorted(maps.Keys(v.byLen)) {
		sw.u32(uint32(k))
		sw.u32s(v.byLen[k])
	}

	sw.section("POST")
	sw.u32(uint32(len(ix.post)))
	sw.counts(len(ix.post), func(t int) int { return len(ix.post[t].docs) })
	for t := range ix.post {
		sw.room(2)
		sw.u16(ix.post[t].maxImp)
	}
	for t := range ix.post {
		for _, d := range ix.post[t].docs {
			sw.u32(d)
		}
	}
	sw.u32s(ix.tfd.vals)
	for t := range ix.post {
		sw.bytes(ix.post[t].tfc)
	}
	for t := range ix.post {
		for _, imp := range ix.post[t].imps {
			sw.u16(imp)
		}
	}
	sw.u32(uint32(len(ix.tfd.over)))
	for _, k := range slices.Sorted(maps.Keys(ix.tfd.over)) {
		sw.room(12)
		sw.u64(k)
		sw.u32(ix.tfd.over[k])
	}

	sw.section("END.")
	sw.flush()
	return sw.err
}

// ReadSnapshot reads an index written by WriteSnapshot. Any damage (another file, another format version, a
// checksum mismatch, a truncation, values out of range) is an error naming it, and no index is returned.
func ReadSnapshot(r io.Reader) (*Index, SnapshotMeta, error) {
	var meta SnapshotMeta
	if err := readFileHeader(r); err != nil {
		return nil, meta, err
	}
	sr := &snapReader{r: r, size: inputSize(r)}
	ix, err := sr.index(&meta)
	if err == nil {
		err = sr.err
	}
	if err != nil {
		return nil, SnapshotMeta{}, err
	}
	return ix, meta, nil
}

// inputSize is the length of r when it can say (an *os.File, a *bytes.Reader), else -1.
func inputSize(r io.Reader) int64 {
	switch v := r.(type) {
	case interface{ Stat() (fs.FileInfo, error) }:
		if fi, err := v.Stat(); err == nil && fi.Mode().IsRegular() {
			return fi.Size()
		}
	case interface{ Len() int }:
		return int64(v.Len()) + 12 // the header is already read
	}
	return -1
}

// fits reports whether n items of at least each bytes apiece can be in the input; if not it fails the read.
func (sr *snapReader) fits(n, each int, what string) bool {
	if sr.err != nil {
		return false
	}
	if n < 0 || (sr.size >= 0 && int64(n)*int64(each) > sr.size) {
		sr.fail("truncated or corrupt: %d %s cannot be in a %d-byte snapshot", n, what, sr.size)
		return false
	}
	return true
}

// readFileHeader checks the magic and the format version.
func readFileHeader(r io.Reader) error {
	var head [12]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return errors.New("search snapshot: truncated in the file header")
		}
		return fmt.Errorf("search snapshot: %w", err)
	}
	if !bytes.Equal(head[:8], snapshotMagic[:]) {
		return fmt.Errorf("search snapshot: not a search snapshot (magic %q)", head[:8])
	}
	if v := binary.LittleEndian.Uint32(head[8:]); v != snapshotVersion {
		return fmt.Errorf("search snapshot: format version %d, this build reads version %d", v, snapshotVersion)
	}
	return nil
}

// ReadSnapshotMeta reads only what a snapshot says of itself (its first frame), so a caller can judge it
// (another data file, another build, newer than the store) before reading and allocating the whole index.
func ReadSnapshotMeta(r io.Reader) (SnapshotMeta, error) {
	var meta SnapshotMeta
	if err := readFileHeader(r); err != nil {
		return meta, err
	}
	sr := &snapReader{r: r, size: inputSize(r)}
	sr.expect("HEAD")
	meta.FeedID = sr.str()
	meta.Source = sr.str()
	meta.Revision = sr.i64()
	meta.Written = time.Unix(0, sr.i64())
	_ = sr.u32() // slots
	meta.Docs = int(sr.u32())
	if sr.err != nil {
		return SnapshotMeta{}, sr.err
	}
	return meta, nil
}

// Sizes of the fixed records, for snapWriter.room.
const (
	docRecordSize = 8 + 8 + 4 + 8 + 4 + 4 + 4 + 1
	hotRecordSize = 2 + 4*10
)

// Flags of a document record.
const (
	docRequiresDecision uint8 = 1 << iota
)

// snapWriter cuts what it is given into checksummed frames. Errors are sticky: after the first, nothing
// more is written and WriteSnapshot returns it.
type snapWriter struct {
	w   io.Writer
	buf []byte
	seq uint32
	err error
}

func (sw *snapWriter) flush() {
	if sw.err != nil {
		sw.buf = sw.buf[:0] // nothing more is written: drop it
		return
	}
	if len(sw.buf) == 0 {
		return
	}
	var hdr [4]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(len(sw.buf)))
	var seq [4]byte
	binary.LittleEndian.PutUint32(seq[:], sw.seq)
	crc := crc32.Update(0, castagnoli, seq[:])
	crc = crc32.Update(crc, castagnoli, hdr[:])
	crc = crc32.Update(crc, castagnoli, sw.buf)
	var tail [4]byte
	binary.LittleEndian.PutUint32(tail[:], crc)
	for _, b := range [][]byte{hdr[:], sw.buf, tail[:]} {
		if _, err := sw.w.Write(b); err != nil {
			sw.err = err
			return
		}
	}
	sw.seq++
	sw.buf = sw.buf[:0]
}

// room starts a new frame unless n more bytes fit in this one, so a fixed-size value or record never spans
// two frames.
func (sw *snapWriter) room(n int) {
	if len(sw.buf)+n > frameTarget {
		sw.flush()
	}
}

// section starts a section in a new frame.
func (sw *snapWriter) section(tag string) {
	sw.flush()
	sw.buf = append(sw.buf, tag...)
}

func (sw *snapWriter) u8(v uint8) { sw.room(1); sw.buf = append(sw.buf, v) }
func (sw *snapWriter) u16(v uint16) {
	sw.room(2)
	sw.buf = binary.LittleEndian.AppendUint16(sw.buf, v)
}
func (sw *snapWriter) u32(v uint32) {
	sw.room(4)
	sw.buf = binary.LittleEndian.AppendUint32(sw.buf, v)
}
func (sw *snapWriter) u64(v uint64) {
	sw.room(8)
	sw.buf = binary.LittleEndian.AppendUint64(sw.buf, v)
}
func (sw *snapWriter) i32(v int32)   { sw.u32(uint32(v)) }
func (sw *snapWriter) i64(v int64)   { sw.u64(uint64(v)) }
func (sw *snapWriter) f32(v float32) { sw.u32(math.Float32bits(v)) }
func (sw *snapWriter) f64(v float64) { sw.u64(math.Float64bits(v)) }

func (sw *snapWriter) u32s(vs []uint32) {
	sw.u32(uint32(len(vs)))
	for _, v := range vs {
		sw.u32(v)
	}
}

// blob writes raw bytes, across frames as needed.
func (sw *snapWriter) blob(s string) {
	for len(s) > 0 {
		if len(sw.buf) >= frameTarget {
			sw.flush()
		}
		k := min(len(s), frameTarget-len(sw.buf))
		sw.buf = append(sw.buf, s[:k]...)
		s = s[k:]
	}
}

// bytes writes raw bytes, across frames as needed.
func (sw *snapWriter) bytes(b []byte) {
	for len(b) > 0 {
		if len(sw.buf) >= frameTarget {
			sw.flush()
		}
		k := min(len(b), frameTarget-len(sw.buf))
		sw.buf = append(sw.buf, b[:k]...)
		b = b[k:]
	}
}

func (sw *snapWriter) str(s string) {
	sw.u32(uint32(len(s)))
	sw.blob(s)
}

// strColumn writes n strings as their lengths, then their bytes.
func (sw *snapWriter) strColumn(n int, get func(i int) string) {
	for i := range n {
		sw.u32(uint32(len(get(i))))
	}
	for i := range n {
		sw.blob(get(i))
	}
}

func (sw *snapWriter) counts(n int, count func(i int) int) {
	for i := range n {
		sw.u32(uint32(count(i)))
	}
}

// listStrings writes a string list per slot: the counts, then one column of all the items.
func (sw *snapWriter) listStrings(n int, get func(i int) []string) {
	sw.counts(n, func(i int) int { return len(get(i)) })
	total := 0
	for i := range n {
		total += len(get(i))
	}
	all := make([]string, 0, total)
	for i := range n {
		all = append(all, get(i)...)
	}
	sw.strColumn(len(all), func(i int) string { return all[i] })
}

// snapReader reads verified frames. Errors are sticky (the first one is kept, reads after it return zero
// values), so the decoding code reads straight through and checks once per section.
type snapReader struct {
	r io.Reader
	// size is the input's length in bytes when known (a file, a byte reader), else -1. Every count read from
	// the snapshot is checked against it before anything is allocated for it: the checksums prove a frame is
	// intact, not that its counts are plausible, and a crafted or miswritten count must give an error, not
	// an allocation of gigabytes (the reader runs with the collector off).
	size    int64
	frame   []byte // payload of the current, verified frame
	pos     int
	seq     uint32
	section string
	err     error
}

// fail records the first problem; what is formatted with args. (The texts are for the operator's log, never
// for an API client: not translated.)
func (sr *snapReader) fail(what string, args ...any) {
	if sr.err == nil {
		where := "the snapshot"
		if sr.section != "" {
			where = "section " + sr.section
		}
		sr.err = fmt.Errorf("search snapshot: %s: %s", where, fmt.Sprintf(what, args...))
	}
}

// next loads and verifies the next frame.
func (sr *snapReader) next() bool {
	if sr.err != nil {
		return false
	}
	var hdr [4]byte
	if _, err := io.ReadFull(sr.r, hdr[:]); err != nil {
		sr.readFail(err)
		return false
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n == 0 || n > maxFrame {
		sr.fail("frame %d: corrupt length %d", sr.seq, n)
		return false
	}
	if cap(sr.frame) < int(n)+4 {
		sr.frame = make([]byte, n+4, max(int(n)+4, frameTarget+64))
	}
	buf := sr.frame[:n+4]
	if _, err := io.ReadFull(sr.r, buf); err != nil {
		sr.readFail(err)
		return false
	}
	var seq [4]byte
	binary.LittleEndian.PutUint32(seq[:], sr.seq)
	crc := crc32.Update(0, castagnoli, seq[:])
	crc = crc32.Update(crc, castagnoli, hdr[:])
	crc = crc32.Update(crc, castagnoli, buf[:n])
	if got := binary.LittleEndian.Uint32(buf[n:]); got != crc {
		sr.fail("frame %d: checksum mismatch (stored %08x, computed %08x)", sr.seq, got, crc)
		return false
	}
	sr.frame, sr.pos = buf[:n], 0
	sr.seq++
	return true
}

func (sr *snapReader) readFail(err error) {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		sr.fail("truncated (frame %d)", sr.seq)
		return
	}
	sr.fail("read frame %d: %v", sr.seq, err)
}

// take returns the next n bytes (a fixed-size value: it never spans frames).
func (sr *snapReader) take(n int) []byte {
	if sr.err != nil {
		return nil
	}
	if sr.pos == len(sr.frame) && !sr.next() {
		return nil
	}
	if len(sr.frame)-sr.pos < n {
		sr.fail("frame %d: a %d-byte value crosses the end of the frame", sr.seq-1, n)
		return nil
	}
	b := sr.frame[sr.pos : sr.pos+n]
	sr.pos += n
	return b
}

// chunk calls fn with the whole records of size bytes available in the current frame (at least one),
// until n records were read.
func (sr *snapReader) chunk(n, size int, fn func(b []byte, start, k int)) {
	for done := 0; done < n && sr.err == nil; {
		if sr.pos == len(sr.frame) && !sr.next() {
			return
		}
		k := min(n-done, (len(sr.frame)-sr.pos)/size)
		if k == 0 {
			sr.fail("frame %d: a %d-byte record crosses the end of the frame", sr.seq-1, size)
			return
		}
		fn(sr.frame[sr.pos:sr.pos+k*size], done, k)
		sr.pos += k * size
		done += k
	}
}

func (sr *snapReader) u32() uint32 {
	if b := sr.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (sr *snapReader) u64() uint64 {
	if b := sr.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

func (sr *snapReader) i64() int64 { return int64(sr.u64()) }

// u32s reads a counted array; every value must be below limit.
func (sr *snapReader) u32s(limit uint32, what string) []uint32 {
	n := int(sr.u32())
	if sr.err != nil || n == 0 || !sr.fits(n, 4, what+"s") {
		return nil
	}
	out := make([]uint32, n)
	sr.chunk(n, 4, func(b []byte, start, k int) {
		for i := range k {
			out[start+i] = binary.LittleEndian.Uint32(b[4*i:])
		}
	})
	for _, v := range out {
		if v >= limit {
			sr.fail("%s %d out of range (%d)", what, v, limit)
			return nil
		}
	}
	return out
}

// littleEndian reports whether the host stores integers as the snapshot does: then an array of them is
// read with one copy per frame instead of a decode per value (the postings are tens of millions).
var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

// u32Array fills dst with len(dst) values.
func (sr *snapReader) u32Array(dst []uint32) {
	if littleEndian && len(dst) > 0 {
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst))
		sr.chunk(len(dst), 4, func(b []byte, start, k int) { copy(raw[4*start:], b[:4*k]) })
		return
	}
	sr.chunk(len(dst), 4, func(b []byte, start, k int) {
		for i := range k {
			dst[start+i] = binary.LittleEndian.Uint32(b[4*i:])
		}
	})
}

// u16Array fills dst with len(dst) values.
func (sr *snapReader) u16Array(dst []uint16) {
	if littleEndian && len(dst) > 0 {
		raw := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 2*len(dst))
		sr.chunk(len(dst), 2, func(b []byte, start, k int) { copy(raw[2*start:], b[:2*k]) })
		return
	}
	sr.chunk(len(dst), 2, func(b []byte, start, k int) {
		for i := range k {
			dst[start+i] = binary.LittleEndian.Uint16(b[2*i:])
		}
	})
}

// counts reads n per-slot counts and returns them with their sum.
func (sr *snapReader) counts(n int) ([]uint32, int) {
	if !sr.fits(n, 4, "counts") {
		return nil, 0
	}
	out := make([]uint32, n)
	sr.u32Array(out)
	total := 0
	for _, c := range out {
		total += int(c)
	}
	if sr.size >= 0 && int64(total) > sr.size {
		// Each counted item takes at least a byte: a sum beyond the input is corrupt.
		sr.fail("truncated or corrupt: counts add up to %d, beyond a %d-byte snapshot", total, sr.size)
		return nil, 0
	}
	return out, total
}

// blob reads n bytes, across frames, into one string.
func (sr *snapReader) blob(n int) string {
	if !sr.fits(n, 1, "bytes of text") {
		return ""
	}
	var sb strings.Builder
	sb.Grow(n)
	for sb.Len() < n && sr.err == nil {
		if sr.pos == len(sr.frame) && !sr.next() {
			break
		}
		k := min(n-sb.Len(), len(sr.frame)-sr.pos)
		sb.Write(sr.frame[sr.pos : sr.pos+k])
		sr.pos += k
	}
	return sb.String()
}

// bytes reads n bytes, across frames, into one new array.
func (sr *snapReader) bytes(n int) []byte {
	if !sr.fits(n, 1, "bytes") {
		return nil
	}
	out := make([]byte, 0, n)
	for len(out) < n && sr.err == nil {
		if sr.pos == len(sr.frame) && !sr.next() {
			break
		}
		k := min(n-len(out), len(sr.frame)-sr.pos)
		out = append(out, sr.frame[sr.pos:sr.pos+k]...)
		sr.pos += k
	}
	return out
}

func (sr *snapReader) str() string { return sr.blob(int(sr.u32())) }

// strColumn reads n strings, which share one allocation.
func (sr *snapReader) strColumn(n int) []string {
	lens, total := sr.counts(n)
	all := sr.blob(total)
	if sr.err != nil {
		return nil
	}
	out := make([]string, n)
	off := 0
	for i, l := range lens {
		out[i] = all[off : off+int(l)]
		off += int(l)
	}
	return out
}

// section checks that the next section is the expected one.
func (sr *snapReader) expect(tag string) {
	if sr.err != nil {
		return
	}
	sr.section = tag
	if sr.pos != len(sr.frame) {
		sr.fail("%d unread bytes before it", len(sr.frame)-sr.pos)
		return
	}
	if got := sr.take(4); got != nil && string(got) != tag {
		sr.fail("found section %q instead", got)
	}
}

// index decodes the sections into a new Index.
func (sr *snapReader) index(meta *SnapshotMeta) (*Index, error) {
	sr.expect("HEAD")
	meta.FeedID = sr.str()
	meta.Source = sr.str()
	meta.Revision = sr.i64()
	meta.Written = time.Unix(0, sr.i64())
	n := int(sr.u32())
	live := int(sr.u32())
	nTerms := sr.u32()
	nTercs := sr.u32()
	meta.Docs = live
	if sr.err != nil {
		return nil, sr.err
	}
	if live > n {
		sr.fail("%d live documents in %d slots", live, n)
		return nil, sr.err
	}
	// Nothing is allocated for the slots before the input is known to hold their records (fits).
	sr.expect("DOCS")
	if !sr.fits(n, docRecordSize, "document slots") || !sr.fits(int(nTerms), 4, "terms") || !sr.fits(int(nTercs), 4, "TERC codes") {
		return nil, sr.err
	}
	ix := New()
	ix.byID = make(map[string]uint32, live)
	ix.revs = make([]int64, n)
	ix.list = make([]listDoc, n)
	ix.hot = make([]docHot, n)
	ix.meta = make([]docMeta, n)
	ix.flen = make([][nFields]uint16, n)
	ix.dterms = make([][]byte, n)
	ix.live = live

	sr.chunk(n, docRecordSize, func(b []byte, start, k int) {
		for i := range k {
			r := b[i*docRecordSize:]
			ix.revs[start+i] = int64(binary.LittleEndian.Uint64(r))
			ix.list[start+i] = listDoc{
				created:   int64(binary.LittleEndian.Uint64(r[8:])),
				createdNs: int32(binary.LittleEndian.Uint32(r[16:])),
				updated:   int64(binary.LittleEndian.Uint64(r[20:])),
				updatedNs: int32(binary.LittleEndian.Uint32(r[28:])),
				status:    int32(binary.LittleEndian.Uint32(r[32:])),
				origin:    int32(binary.LittleEndian.Uint32(r[36:])),
				reqDec:    r[40]&docRequiresDecision != 0,
			}
		}
	})

	sr.expect("TEXT")
	ix.ids = sr.strColumn(n)
	for i, s := range sr.strColumn(n) {
		ix.list[i].name = s
	}
	for i, s := range sr.strColumn(n) {
		ix.list[i].sortKey = s
	}
	sr.chunk(n, 2, func(b []byte, start, k int) {
		for i := range k {
			ix.list[start+i].sortRun = binary.LittleEndian.Uint16(b[2*i:])
		}
	})
	ix.nameKey = sr.strColumn(n)
	sr.listStrings(n, func(i int, items []string) { ix.list[i].provs = ix.internProviders(items) })

	sr.expect("HOTF")
	sr.chunk(n, hotRecordSize, func(b []byte, start, k int) {
		for i := range k {
			r := b[i*hotRecordSize:]
			ix.hot[start+i] = docHot{
				flags: r[0], nTerc: r[1],
				terc:   [2]uint32{binary.LittleEndian.Uint32(r[2:]), binary.LittleEndian.Uint32(r[6:])},
				areas:  binary.LittleEndian.Uint32(r[10:]),
				tgs:    binary.LittleEndian.Uint32(r[14:]),
				minAge: int32(binary.LittleEndian.Uint32(r[18:])),
				maxAge: int32(binary.LittleEndian.Uint32(r[22:])),
				minLat: math.Float32frombits(binary.LittleEndian.Uint32(r[26:])),
				maxLat: math.Float32frombits(binary.LittleEndian.Uint32(r[30:])),
				minLng: math.Float32frombits(binary.LittleEndian.Uint32(r[34:])),
				maxLng: math.Float32frombits(binary.LittleEndian.Uint32(r[38:])),
			}
		}
	})

	sr.expect("WEEK")
	nWeeks := int(sr.u32())
	if !sr.fits(nWeeks, 48, "week maps") {
		return nil, sr.err
	}
	ix.weeks = make([]weekMap, nWeeks)
	sr.chunk(nWeeks, 48, func(b []byte, start, k int) {
		for i := range k {
			w := &ix.weeks[start+i]
			for j := range 3 {
				w.any[j] = binary.LittleEndian.Uint64(b[48*i+8*j:])
				w.full[j] = binary.LittleEndian.Uint64(b[48*i+24+8*j:])
			}
		}
	})
	ix.week = make([]uint32, n)
	sr.u32Array(ix.week)

	sr.expect("META")
	tercCounts, total := sr.counts(n)
	tercs := make([]uint32, total)
	sr.chunk(total, 4, func(b []byte, start, k int) {
		for i := range k {
			tercs[start+i] = binary.LittleEndian.Uint32(b[4*i:])
		}
	})
	each(tercCounts, func(i, from, to int) { ix.manyTercs[uint32(i)] = tercs[from:to:to] })
	pointCounts, total := sr.counts(n)
	points := sr.points(total)
	each(pointCounts, func(i, from, to int) { ix.meta[i].points = points[from:to:to] })
	hourCounts, total := sr.counts(n)
	ivs := make([]hourIv, total)
	sr.chunk(total, 5, func(b []byte, start, k int) {
		for i := range k {
			r := b[5*i:]
			ivs[start+i] = hourIv{wd: int8(r[0]), open: int16(binary.LittleEndian.Uint16(r[1:])), close: int16(binary.LittleEndian.Uint16(r[3:]))}
		}
	})
	each(hourCounts, func(i, from, to int) { ix.meta[i].hours = ivs[from:to:to] })

	sr.expect("LENS")
	sr.chunk(n, 2*nFields, func(b []byte, start, k int) {
		for i := range k {
			for f := range nFields {
				ix.flen[start+i][f] = binary.LittleEndian.Uint16(b[2*(nFields*i+f):])
			}
		}
	})
	for f := range nFields {
		ix.normAvg[f] = math.Float64frombits(sr.u64())
	}
	for f := range nFields {
		ix.lenSum[f] = sr.i64()
	}
	ix.sinceRefresh = int(sr.i64())

	sr.expect("TRMS")
	termCounts, total := sr.counts(n)
	termBytes := sr.bytes(total)
	// Windows of one array, capacity capped: an update re-encoding a longer list moves it out.
	each(termCounts, func(i, from, to int) { ix.dterms[i] = termBytes[from:to:to] })

	sr.expect("FREE")
	ix.free = sr.u32s(uint32(n), "free slot")
	nTombs := int(sr.u32())
	if !sr.fits(nTombs, 4+8, "tombstones") {
		return nil, sr.err
	}
	tombIDs := sr.strColumn(nTombs)
	ix.tombs = make(map[string]int64, nTombs)
	for _, id := range tombIDs {
		ix.tombs[id] = sr.i64()
	}

	sr.expect("TERC")
	ix.tercNames = sr.strColumn(int(nTercs))
	ix.tercIDs = make(map[string]uint32, nTercs)
	for id, c := range ix.tercNames {
		ix.tercIDs[c] = uint32(id)
	}

	sr.expect("VOCA")
	ix.voc = vocab{terms: sr.strColumn(int(nTerms))}
	ix.voc.ids = make(map[string]uint32, nTerms)
	ix.voc.sig = make([]uint64, len(ix.voc.terms))
	for id, t := range ix.voc.terms {
		ix.voc.ids[t] = uint32(id)
		ix.voc.sig[id] = termSig(t)
	}
	ix.voc.sorted = sr.u32s(nTerms, "sorted term")
	ix.voc.pending = sr.u32s(nTerms, "pending term")
	nGrams := int(sr.u32())
	ix.voc.grams = make(map[uint64][]uint32, min(nGrams, 1<<20))
	for range nGrams {
		if sr.err != nil {
			break
		}
		k := sr.u64()
		ix.voc.grams[k] = sr.u32s(nTerms, "bigram term")
	}
	nLens := int(sr.u32())
	ix.voc.byLen = make(map[int][]uint32, min(nLens, 1024))
	for range nLens {
		if sr.err != nil {
			break
		}
		k := int(sr.u32())
		ix.voc.byLen[k] = sr.u32s(nTerms, "term")
	}

	sr.expect("POST")
	if nPost := sr.u32(); sr.err == nil && nPost != nTerms {
		sr.fail("%d postings lists for %d terms", nPost, nTerms)
	}
	postCounts, total := sr.counts(int(nTerms))
	ix.post = make([]plist, nTerms)
	sr.chunk(int(nTerms), 2, func(b []byte, start, k int) {
		for i := range k {
			ix.post[start+i].maxImp = binary.LittleEndian.Uint16(b[2*i:])
		}
	})
	// total is bounded by the input's size (counts), and each posting takes 7 bytes of it.
	if !sr.fits(total, 7, "postings") {
		return nil, sr.err
	}
	docs := make([]uint32, total)
	sr.u32Array(docs)
	ix.tfd.vals = sr.u32s(1<<(tfBits*nFields), "packed frequency")
	if len(ix.tfd.vals) > tfEscape {
		sr.fail("%d frequency codes, at most %d", len(ix.tfd.vals), tfEscape)
	}
	for c, v := range ix.tfd.vals {
		ix.tfd.codes[v] = uint8(c)
	}
	if len(ix.tfd.codes) != len(ix.tfd.vals) {
		sr.fail("duplicate frequency codes")
	}
	tfc := sr.bytes(total)
	imps := make([]uint16, total)
	sr.u16Array(imps)
	nOver := int(sr.u32())
	if !sr.fits(nOver, 12, "escaped frequencies") {
		return nil, sr.err
	}
	for range nOver {
		k := sr.u64()
		ix.tfd.over[k] = sr.u32()
	}
	if sr.err != nil {
		return nil, sr.err
	}
	// Each list is a window of one array, capacity capped: the first insert into a list moves it out.
	each(postCounts, func(t, from, to int) {
		p := &ix.post[t]
		p.docs, p.tfc, p.imps = docs[from:to:to], tfc[from:to:to], imps[from:to:to]
	})

	sr.expect("END.")
	if sr.err != nil {
		return nil, sr.err
	}
	sr.section = ""
	if err := ix.checkLoaded(); err != nil {
		sr.fail("%v", err)
		return nil, sr.err
	}
	for i, id := range ix.ids {
		if ix.hot[i].flags&hotLive != 0 {
			ix.byID[id] = uint32(i)
		}
	}
	if len(ix.byID) != ix.live {
		sr.fail("%d distinct live ids, %d live documents", len(ix.byID), ix.live)
		return nil, sr.err
	}
	ix.derive()
	// A snapshot keeps the codes it was written with; one written by a
	// build that handed them out first come, first served gets them
	// recounted here.
	ix.recodeFrequencies()
	return ix, nil
}

func (sr *snapReader) points(total int) []LatLng {
	out := make([]LatLng, total)
	sr.chunk(total, 16, func(b []byte, start, k int) {
		for i := range k {
			out[start+i] = LatLng{
				Lat: math.Float64frombits(binary.LittleEndian.Uint64(b[16*i:])),
				Lng: math.Float64frombits(binary.LittleEndian.Uint64(b[16*i+8:])),
			}
		}
	})
	return out
}

// listStrings reads what snapWriter.listStrings wrote and gives each slot its items (nil for none).
func (sr *snapReader) listStrings(n int, set func(i int, items []string)) {
	counts, total := sr.counts(n)
	all := sr.strColumn(total)
	if sr.err != nil {
		return
	}
	each(counts, func(i, from, to int) { set(i, all[from:to:to]) })
}

// each calls fn with the [from, to) window of every non-empty count.
func each(counts []uint32, fn func(i, from, to int)) {
	off := 0
	for i, c := range counts {
		if c > 0 {
			fn(i, off, off+int(c))
			off += int(c)
		}
	}
}

// checkLoaded verifies the references a search follows without bounds it can trust: the checksums prove
// the bytes are the ones written, this proves they were written by a consistent index, so a bug in a writer
// cannot turn into a panic in every search after the restart.
func (ix *Index) checkLoaded() error {
	n := uint32(len(ix.ids))
	nTercs := uint32(len(ix.tercNames))
	escaped := 0
	for t := range ix.post {
		prev := int64(-1)
		p := &ix.post[t]
		for j, d := range p.docs {
			if d >= n || int64(d) <= prev {
				return fmt.Errorf("postings of term %d: doc %d out of order or range (%d slots)", t, d, n)
			}
			prev = int64(d)
			switch c := p.tfc[j]; {
			case c == tfEscape:
				if _, ok := ix.tfd.over[overKey(uint32(t), d)]; !ok {
					return fmt.Errorf("postings of term %d: doc %d has no escaped frequencies", t, d)
				}
				escaped++
			case int(c) >= len(ix.tfd.vals):
				return fmt.Errorf("postings of term %d: frequency code %d out of range (%d)", t, c, len(ix.tfd.vals))
			}
		}
	}
	if escaped != len(ix.tfd.over) {
		return fmt.Errorf("%d escaped frequencies for %d escaped postings", len(ix.tfd.over), escaped)
	}
	for i := range ix.hot {
		h := &ix.hot[i]
		for j := range min(int(h.nTerc), 2) {
			if h.terc[j] >= nTercs {
				return fmt.Errorf("document %d: TERC id %d out of range", i, h.terc[j])
			}
		}
		if m := len(ix.manyTercs[uint32(i)]); h.nTerc > 2 && int(h.nTerc) != min(m, 255) || h.nTerc <= 2 && m != 0 {
			return fmt.Errorf("document %d: %d TERC ids, %d in its meta", i, h.nTerc, m)
		}
		for _, t := range ix.manyTercs[uint32(i)] {
			if t >= nTercs {
				return fmt.Errorf("document %d: TERC id %d out of range", i, t)
			}
		}
		// A freed slot's list data is zero (origin 0), which an index without TERC codes does not have.
		if o := ix.list[i].origin; h.flags&hotLive != 0 && (o < -1 || o >= int32(nTercs)) {
			return fmt.Errorf("document %d: origin TERC id %d out of range", i, o)
		}
		if (h.flags&hotLive != 0) != (ix.ids[i] != "") {
			return fmt.Errorf("document %d: live flag and id disagree", i)
		}
	}
	if err := ix.loadWeeks(); err != nil {
		return err
	}
	if len(ix.voc.sorted)+len(ix.voc.pending) != len(ix.voc.terms) {
		return fmt.Errorf("%d sorted and %d pending terms for %d terms", len(ix.voc.sorted), len(ix.voc.pending), len(ix.voc.terms))
	}
	if len(ix.voc.ids) != len(ix.voc.terms) {
		return fmt.Errorf("%d distinct terms, %d terms", len(ix.voc.ids), len(ix.voc.terms))
	}
	if len(ix.tercIDs) != int(nTercs) {
		return errors.New("duplicate TERC codes")
	}
	return nil
}

// loadWeeks checks the week maps read from a snapshot (the empty map first, every document's index in range,
// a free slot's 0, no map twice) and rebuilds their reference counts, index and free list.
func (ix *Index) loadWeeks() error {
	if len(ix.weeks) == 0 || ix.weeks[0] != (weekMap{}) {
		return errors.New("the first week map is not the empty one")
	}
	ix.weekRefs = make([]uint32, len(ix.weeks))
	for i, id := range ix.week {
		if int(id) >= len(ix.weeks) {
			return fmt.Errorf("document %d: week map %d out of range (%d)", i, id, len(ix.weeks))
		}
		if ix.hot[i].flags&hotLive == 0 && id != 0 {
			return fmt.Errorf("free slot %d has week map %d", i, id)
		}
		ix.weekRefs[id]++
	}
	ix.weekIDs = make(map[weekMap]uint32, len(ix.weeks))
	ix.weekFree = nil
	for id := 1; id < len(ix.weeks); id++ {
		if ix.weekRefs[id] == 0 {
			ix.weeks[id] = weekMap{}
			ix.weekFree = append(ix.weekFree, uint32(id))
			continue
		}
		if _, dup := ix.weekIDs[ix.weeks[id]]; dup || ix.weeks[id] == (weekMap{}) {
			return fmt.Errorf("week map %d is empty or repeated", id)
		}
		ix.weekIDs[ix.weeks[id]] = uint32(id)
	}
	ix.weekRefs[0] = 0
	return nil
}
