package search

// Snapshots: the index written to a file and read back without analysing any text again, so a restart costs
// a sequential read of the file instead of decoding and tokenising every service in the store. The index
// stays derived state: a snapshot records the store revision it reflects, and the caller catches up from the
// change feed (or rebuilds from the store when the snapshot does not fit the data file).
//
// # Format (version 1)
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
// two frames (the writer starts a new frame instead); only the bytes of a string column do.
//
// The payload is a sequence of sections, each opened by its four-letter tag and each starting a new frame,
// in this order:
//
//	HEAD  feed id, source, revision, write time, number of document slots, live documents, terms, TERC codes
//	DOCS  per slot: revision, areas, target groups, ages, status, flags, create and update time (fixed size)
//	TEXT  string columns of the slots: id, name, alternate name, description, eligibility, keywords, origin,
//	      sort key; then the per-slot lists: TERC codes, providers, points, opening hours
//	HOTF  the filter data (docHot) of every slot, fixed size
//	WEEK  the opening-hours week map of every slot
//	META  the rarer filter data (docMeta): interned TERC ids, valid points, hours, folded name
//	LENS  field lengths and BM25 norms per slot, the average lengths the norms use, the length sums
//	FREE  free slots; tombstones (id and revision) above the snapshot's revision
//	TERC  the interned TERC codes in id order
//	VOCA  the terms in id order, the sorted and pending orders, the typo bigram index and its by-length lists
//	POST  postings: per term its length, then every posting (doc number, packed term frequencies)
//	END.  nothing: its presence proves the file is complete
//
// A string column is the lengths of its n strings (uint32 each) followed by their bytes concatenated; a
// per-slot list is the count of items per slot (uint32 each) followed by the items. The bytes of a string
// column fill frames of their own, so they are read (and checked) in place, into one allocation the strings
// share.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
	"unsafe"
)

// snapshotVersion is the format version written; a snapshot of any other version is refused (the caller
// rebuilds), so change it whenever the layout or the meaning of a field changes.
const snapshotVersion = 1

var snapshotMagic = [8]byte{'C', 'U', 'S', 'S', 'R', 'C', 'H', '\n'}

const (
	// frameTarget is where the writer closes a frame; maxFrame bounds what the reader accepts, so a corrupt
	// length cannot make it allocate much before the checksum fails.
	frameTarget = 256 << 10
	maxFrame    = 1 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Section tags, in file order.
var snapshotSections = [...]string{"HEAD", "DOCS", "TEXT", "HOTF", "WEEK", "META", "LENS", "FREE", "TERC", "VOCA", "POST", "END."}

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
	n := len(ix.docs)

	sw.section("HEAD")
	sw.str(meta.FeedID)
	sw.str(meta.Source)
	sw.i64(meta.Revision)
	sw.i64(meta.Written.UnixNano())
	sw.u32(uint32(n))
	sw.u32(uint32(ix.live))
	sw.u32(uint32(len(ix.voc.terms)))
	sw.u32(uint32(len(ix.tercIDs)))

	sw.section("DOCS")
	le := binary.LittleEndian
	sw.records(n, docRecordSize, func(b []byte, start, k int) {
		for i := range k {
			d, r := &ix.docs[start+i], b[i*docRecordSize:]
			le.PutUint64(r, uint64(d.Revision))
			le.PutUint32(r[8:], d.Areas)
			le.PutUint32(r[12:], d.TargetGroups)
			le.PutUint32(r[16:], uint32(d.MinAge))
			le.PutUint32(r[20:], uint32(d.MaxAge))
			le.PutUint32(r[24:], uint32(d.Status))
			r[28] = docFlags(d)
			putTime(r[29:], d.CreateTime)
			putTime(r[41:], d.UpdateTime)
		}
	})

	sw.section("TEXT")
	for _, field := range docStringFields {
		sw.strColumn(n, func(i int) string { return *field(&ix.docs[i]) })
	}
	sw.strColumn(n, func(i int) string { return string(ix.docs[i].SortKey) })
	sw.listStrings(n, func(i int) []string { return ix.docs[i].Tercs })
	sw.listStrings(n, func(i int) []string { return ix.docs[i].Providers })
	sw.counts(n, func(i int) int { return len(ix.docs[i].Points) })
	for i := range ix.docs {
		for _, p := range ix.docs[i].Points {
			sw.room(16)
			sw.f64(p.Lat)
			sw.f64(p.Lng)
		}
	}
	sw.counts(n, func(i int) int { return len(ix.docs[i].Hours) })
	for i := range ix.docs {
		for _, h := range ix.docs[i].Hours {
			sw.room(12)
			sw.i32(int32(h.Weekday))
			sw.i32(int32(h.OpenMin))
			sw.i32(int32(h.CloseMin))
		}
	}

	sw.section("HOTF")
	sw.records(n, hotRecordSize, func(b []byte, start, k int) {
		for i := range k {
			h, r := &ix.hot[start+i], b[i*hotRecordSize:]
			r[0], r[1] = h.flags, h.nTerc
			for j, v := range [...]uint32{h.terc[0], h.terc[1], h.areas, h.tgs, uint32(h.minAge), uint32(h.maxAge),
				math.Float32bits(h.minLat), math.Float32bits(h.maxLat), math.Float32bits(h.minLng), math.Float32bits(h.maxLng)} {
				le.PutUint32(r[2+4*j:], v)
			}
		}
	})

	sw.section("WEEK")
	sw.records(n, 48, func(b []byte, start, k int) {
		for i := range k {
			w := &ix.week[start+i]
			for j := range 3 {
				le.PutUint64(b[48*i+8*j:], w.any[j])
				le.PutUint64(b[48*i+24+8*j:], w.full[j])
			}
		}
	})

	sw.section("META")
	sw.counts(n, func(i int) int { return len(ix.meta[i].tercs) })
	for i := range ix.meta {
		for _, t := range ix.meta[i].tercs {
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
	sw.strColumn(n, func(i int) string { return ix.meta[i].nameKey })

	sw.section("LENS")
	sw.records(n, 2*nFields, func(b []byte, start, k int) {
		for i := range k {
			for f, l := range ix.flen[start+i] {
				le.PutUint16(b[2*(nFields*i+f):], l)
			}
		}
	})
	sw.records(n, 4*nFields, func(b []byte, start, k int) {
		for i := range k {
			for f, x := range ix.norm[start+i] {
				le.PutUint32(b[4*(nFields*i+f):], math.Float32bits(x))
			}
		}
	})
	for _, x := range ix.normAvg {
		sw.f64(x)
	}
	for _, x := range ix.lenSum {
		sw.i64(x)
	}

	sw.section("FREE")
	sw.u32(uint32(len(ix.free)))
	for _, f := range ix.free {
		sw.u32(f)
	}
	// Maps are written in key order, so the same index always gives the same bytes.
	// Tombstones at or below meta.Revision are left out: they only refuse writes older than themselves, and
	// every write at or below the revision is already in the index (no such write can arrive any more), so
	// the tombstones of deletes do not pile up from snapshot to snapshot.
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
	codes := make([]string, len(ix.tercIDs))
	for c, id := range ix.tercIDs {
		codes[id] = c
	}
	sw.strColumn(len(codes), func(i int) string { return codes[i] })

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
	sw.counts(len(ix.post), func(t int) int { return len(ix.post[t]) })
	total := 0
	for _, list := range ix.post {
		total += len(list)
	}
	t, j := 0, 0 // the next posting: ix.post[t][j]
	sw.records(total, 8, func(b []byte, _, k int) {
		for i := range k {
			for j == len(ix.post[t]) {
				t, j = t+1, 0
			}
			p := ix.post[t][j]
			j++
			le.PutUint32(b[8*i:], p.doc)
			le.PutUint32(b[8*i+4:], p.tf)
		}
	})

	sw.section("END.")
	sw.flush()
	return sw.err
}

// ReadSnapshot reads an index written by WriteSnapshot. Any damage (another file, another format version, a
// checksum mismatch, a truncation, values out of range) is an error naming it, and no index is returned.
func ReadSnapshot(r io.Reader) (*Index, SnapshotMeta, error) {
	var meta SnapshotMeta
	var head [12]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, meta, errors.New("search snapshot: truncated in the file header")
		}
		return nil, meta, fmt.Errorf("search snapshot: %w", err)
	}
	if !bytes.Equal(head[:8], snapshotMagic[:]) {
		return nil, meta, fmt.Errorf("search snapshot: not a search snapshot (magic %q)", head[:8])
	}
	if v := binary.LittleEndian.Uint32(head[8:]); v != snapshotVersion {
		return nil, meta, fmt.Errorf("search snapshot: format version %d, this build reads version %d", v, snapshotVersion)
	}
	sr := &snapReader{r: r}
	ix, err := sr.index(&meta)
	if err == nil {
		err = sr.err
	}
	if err != nil {
		return nil, SnapshotMeta{}, err
	}
	return ix, meta, nil
}

// Sizes of the fixed records, for snapWriter.room.
const (
	docRecordSize = 8 + 4*5 + 1 + 2*12
	hotRecordSize = 2 + 4*10
)

// Flags of a document record.
const (
	docFree uint8 = 1 << iota
	docActive
	docRequiresDecision
	docNoCreateTime
	docNoUpdateTime
)

// docStringFields are the string fields of Doc in TEXT column order.
var docStringFields = [...]func(d *Doc) *string{
	func(d *Doc) *string { return &d.ID },
	func(d *Doc) *string { return &d.Name },
	func(d *Doc) *string { return &d.AlternateName },
	func(d *Doc) *string { return &d.Description },
	func(d *Doc) *string { return &d.Eligibility },
	func(d *Doc) *string { return &d.Keywords },
	func(d *Doc) *string { return &d.Origin },
}

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
func (sw *snapWriter) f64(v float64) { sw.u64(math.Float64bits(v)) }

// putTime puts seconds and nanoseconds (a zero time is marked in the record's flags instead).
func putTime(b []byte, t time.Time) {
	if t.IsZero() {
		clear(b[:12])
		return
	}
	binary.LittleEndian.PutUint64(b, uint64(t.Unix()))
	binary.LittleEndian.PutUint32(b[8:], uint32(t.Nanosecond()))
}

func docFlags(d *Doc) uint8 {
	var flags uint8
	if d.Free {
		flags |= docFree
	}
	if d.Active {
		flags |= docActive
	}
	if d.RequiresDecision {
		flags |= docRequiresDecision
	}
	if d.CreateTime.IsZero() {
		flags |= docNoCreateTime
	}
	if d.UpdateTime.IsZero() {
		flags |= docNoUpdateTime
	}
	return flags
}

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

func (sw *snapWriter) str(s string) {
	sw.u32(uint32(len(s)))
	sw.blob(s)
}

// strColumn writes n strings as their lengths, then their bytes in frames of their own (ReadSnapshot reads
// them straight into place).
func (sw *snapWriter) strColumn(n int, get func(i int) string) {
	sw.counts(n, func(i int) int { return len(get(i)) })
	sw.flush()
	for i := range n {
		sw.blob(get(i))
	}
	sw.flush()
}

func (sw *snapWriter) counts(n int, count func(i int) int) {
	sw.records(n, 4, func(b []byte, start, k int) {
		for i := range k {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(count(start+i)))
		}
	})
}

// records appends n fixed-size records of size bytes, which fill fills in place, as many at a time as the
// current frame holds (a record never spans two frames: ReadSnapshot decodes them in place too).
func (sw *snapWriter) records(n, size int, fill func(b []byte, start, k int)) {
	for done := 0; done < n && sw.err == nil; {
		k := min(n-done, (frameTarget-len(sw.buf))/size)
		if k == 0 {
			sw.flush()
			continue
		}
		off := len(sw.buf)
		sw.buf = sw.buf[:off+k*size]
		fill(sw.buf[off:], done, k)
		done += k
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
	r       io.Reader
	buf     []byte // reused for the frames of fixed-size values
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

// next loads and verifies the next frame into the reader's buffer.
func (sr *snapReader) next() bool {
	buf := sr.readFrame(func(n int) []byte {
		if cap(sr.buf) < n {
			sr.buf = make([]byte, max(n, frameTarget))
		}
		return sr.buf[:n]
	})
	if buf == nil {
		return false
	}
	sr.frame, sr.pos = buf, 0
	return true
}

// readFrame reads the next frame's payload into the slice into returns for its length, and verifies it there
// before returning it (nil after an error, which is recorded).
func (sr *snapReader) readFrame(into func(n int) []byte) []byte {
	if sr.err != nil {
		return nil
	}
	var hdr [4]byte
	if _, err := io.ReadFull(sr.r, hdr[:]); err != nil {
		sr.readFail(err)
		return nil
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if n == 0 || n > maxFrame {
		sr.fail("frame %d: corrupt length %d", sr.seq, n)
		return nil
	}
	buf := into(int(n))
	if buf == nil {
		return nil
	}
	var tail [4]byte
	if _, err := io.ReadFull(sr.r, buf); err != nil {
		sr.readFail(err)
		return nil
	}
	if _, err := io.ReadFull(sr.r, tail[:]); err != nil {
		sr.readFail(err)
		return nil
	}
	var seq [4]byte
	binary.LittleEndian.PutUint32(seq[:], sr.seq)
	crc := crc32.Update(0, castagnoli, seq[:])
	crc = crc32.Update(crc, castagnoli, hdr[:])
	crc = crc32.Update(crc, castagnoli, buf)
	if got := binary.LittleEndian.Uint32(tail[:]); got != crc {
		sr.fail("frame %d: checksum mismatch (stored %08x, computed %08x)", sr.seq, got, crc)
		return nil
	}
	sr.seq++
	return buf
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
	if sr.err != nil || n == 0 {
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

// counts reads n per-slot counts and returns them with their sum.
func (sr *snapReader) counts(n int) ([]uint32, int) {
	out := make([]uint32, n)
	sr.chunk(n, 4, func(b []byte, start, k int) {
		for i := range k {
			out[start+i] = binary.LittleEndian.Uint32(b[4*i:])
		}
	})
	total := 0
	for _, c := range out {
		total += int(c)
	}
	return out, total
}

// blob reads n bytes, across frames, into one string.
func (sr *snapReader) blob(n int) string {
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

func (sr *snapReader) str() string { return sr.blob(int(sr.u32())) }

// strColumn reads n strings. Their bytes fill whole frames, read straight into one allocation the strings
// then share (no copy through a frame buffer: the text is most of a snapshot).
func (sr *snapReader) strColumn(n int) []string {
	lens, total := sr.counts(n)
	if sr.err != nil {
		return nil
	}
	out := make([]string, n)
	if total == 0 {
		return out
	}
	if sr.pos != len(sr.frame) {
		sr.fail("frame %d: a string column does not start a frame", sr.seq-1)
		return nil
	}
	b := make([]byte, total)
	for off := 0; off < total; {
		got := sr.readFrame(func(k int) []byte {
			if k > total-off {
				sr.fail("frame %d: corrupt length %d (past the end of its string column)", sr.seq, k)
				return nil
			}
			return b[off : off+k]
		})
		if got == nil {
			return nil
		}
		off += len(got)
	}
	// b is never written again: the strings may share it.
	all := unsafe.String(unsafe.SliceData(b), len(b))
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
	ix := &Index{
		byID:    make(map[string]uint32, live),
		docs:    make([]Doc, n),
		hot:     make([]docHot, n),
		week:    make([]weekMap, n),
		meta:    make([]docMeta, n),
		flen:    make([][nFields]uint16, n),
		norm:    make([][nFields]float32, n),
		live:    live,
		tercIDs: make(map[string]uint32, nTercs),
	}

	sr.expect("DOCS")
	sr.chunk(n, docRecordSize, func(b []byte, start, k int) {
		for i := range k {
			r := b[i*docRecordSize:]
			d := &ix.docs[start+i]
			d.Revision = int64(binary.LittleEndian.Uint64(r))
			d.Areas = binary.LittleEndian.Uint32(r[8:])
			d.TargetGroups = binary.LittleEndian.Uint32(r[12:])
			d.MinAge = int32(binary.LittleEndian.Uint32(r[16:]))
			d.MaxAge = int32(binary.LittleEndian.Uint32(r[20:]))
			d.Status = int32(binary.LittleEndian.Uint32(r[24:]))
			flags := r[28]
			d.Free = flags&docFree != 0
			d.Active = flags&docActive != 0
			d.RequiresDecision = flags&docRequiresDecision != 0
			if flags&docNoCreateTime == 0 {
				d.CreateTime = time.Unix(int64(binary.LittleEndian.Uint64(r[29:])), int64(binary.LittleEndian.Uint32(r[37:]))).UTC()
			}
			if flags&docNoUpdateTime == 0 {
				d.UpdateTime = time.Unix(int64(binary.LittleEndian.Uint64(r[41:])), int64(binary.LittleEndian.Uint32(r[49:]))).UTC()
			}
		}
	})

	sr.expect("TEXT")
	for _, field := range docStringFields {
		col := sr.strColumn(n)
		for i, s := range col {
			*field(&ix.docs[i]) = s
		}
	}
	keys := sr.strColumn(n)
	if sr.err == nil {
		// The sort keys are []byte in Doc: one copy of the column, sliced with their capacity capped so an
		// append to one cannot overwrite the next.
		total := 0
		for _, k := range keys {
			total += len(k)
		}
		all := make([]byte, 0, total)
		for i, k := range keys {
			if k == "" {
				continue
			}
			off := len(all)
			all = append(all, k...)
			ix.docs[i].SortKey = all[off:len(all):len(all)]
		}
	}
	sr.listStrings(n, func(i int, items []string) { ix.docs[i].Tercs = items })
	sr.listStrings(n, func(i int, items []string) { ix.docs[i].Providers = items })
	pointCounts, total := sr.counts(n)
	points := sr.points(total)
	each(pointCounts, func(i, from, to int) { ix.docs[i].Points = points[from:to:to] })
	hourCounts, total := sr.counts(n)
	hours := make([]Interval, total)
	sr.chunk(total, 12, func(b []byte, start, k int) {
		for i := range k {
			r := b[12*i:]
			hours[start+i] = Interval{
				Weekday:  int(int32(binary.LittleEndian.Uint32(r))),
				OpenMin:  int(int32(binary.LittleEndian.Uint32(r[4:]))),
				CloseMin: int(int32(binary.LittleEndian.Uint32(r[8:]))),
			}
		}
	})
	each(hourCounts, func(i, from, to int) { ix.docs[i].Hours = hours[from:to:to] })

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
	sr.chunk(n, 48, func(b []byte, start, k int) {
		for i := range k {
			w := &ix.week[start+i]
			for j := range 3 {
				w.any[j] = binary.LittleEndian.Uint64(b[48*i+8*j:])
				w.full[j] = binary.LittleEndian.Uint64(b[48*i+24+8*j:])
			}
		}
	})

	sr.expect("META")
	tercCounts, total := sr.counts(n)
	tercs := make([]uint32, total)
	sr.chunk(total, 4, func(b []byte, start, k int) {
		for i := range k {
			tercs[start+i] = binary.LittleEndian.Uint32(b[4*i:])
		}
	})
	each(tercCounts, func(i, from, to int) { ix.meta[i].tercs = tercs[from:to:to] })
	pointCounts, total = sr.counts(n)
	points = sr.points(total)
	each(pointCounts, func(i, from, to int) { ix.meta[i].points = points[from:to:to] })
	hourCounts, total = sr.counts(n)
	ivs := make([]hourIv, total)
	sr.chunk(total, 5, func(b []byte, start, k int) {
		for i := range k {
			r := b[5*i:]
			ivs[start+i] = hourIv{wd: int8(r[0]), open: int16(binary.LittleEndian.Uint16(r[1:])), close: int16(binary.LittleEndian.Uint16(r[3:]))}
		}
	})
	each(hourCounts, func(i, from, to int) { ix.meta[i].hours = ivs[from:to:to] })
	for i, s := range sr.strColumn(n) {
		ix.meta[i].nameKey = s
	}

	sr.expect("LENS")
	sr.chunk(n, 2*nFields, func(b []byte, start, k int) {
		for i := range k {
			for f := range nFields {
				ix.flen[start+i][f] = binary.LittleEndian.Uint16(b[2*(nFields*i+f):])
			}
		}
	})
	sr.chunk(n, 4*nFields, func(b []byte, start, k int) {
		for i := range k {
			for f := range nFields {
				ix.norm[start+i][f] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*(nFields*i+f):]))
			}
		}
	})
	for f := range nFields {
		ix.normAvg[f] = math.Float64frombits(sr.u64())
	}
	for f := range nFields {
		ix.lenSum[f] = sr.i64()
	}

	sr.expect("FREE")
	ix.free = sr.u32s(uint32(n), "free slot")
	nTombs := int(sr.u32())
	tombIDs := sr.strColumn(nTombs)
	ix.tombs = make(map[string]int64, nTombs)
	for _, id := range tombIDs {
		ix.tombs[id] = sr.i64()
	}

	sr.expect("TERC")
	for id, c := range sr.strColumn(int(nTercs)) {
		ix.tercIDs[c] = uint32(id)
	}

	sr.expect("VOCA")
	ix.voc = vocab{terms: sr.strColumn(int(nTerms))}
	ix.voc.ids = make(map[string]uint32, nTerms)
	for id, t := range ix.voc.terms {
		ix.voc.ids[t] = uint32(id)
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
	all := make([]posting, total)
	sr.chunk(total, 8, func(b []byte, start, k int) {
		for i := range k {
			all[start+i] = posting{doc: binary.LittleEndian.Uint32(b[8*i:]), tf: binary.LittleEndian.Uint32(b[8*i+4:])}
		}
	})
	ix.post = make([][]posting, nTerms)
	// Each list is a window of one array, capacity capped: the first insert into a list moves it out.
	each(postCounts, func(t, from, to int) {
		if from < to {
			ix.post[t] = all[from:to:to]
		}
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
	for i := range ix.docs {
		if ix.hot[i].flags&hotLive != 0 {
			ix.byID[ix.docs[i].ID] = uint32(i)
		}
	}
	if len(ix.byID) != ix.live {
		sr.fail("%d distinct live ids, %d live documents", len(ix.byID), ix.live)
		return nil, sr.err
	}
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
	n := uint32(len(ix.docs))
	nTercs := uint32(len(ix.tercIDs))
	for t, list := range ix.post {
		prev := int64(-1)
		for _, p := range list {
			if p.doc >= n || int64(p.doc) <= prev {
				return fmt.Errorf("postings of term %d: doc %d out of order or range (%d slots)", t, p.doc, n)
			}
			prev = int64(p.doc)
		}
	}
	for i := range ix.hot {
		h := &ix.hot[i]
		for j := range min(int(h.nTerc), 2) {
			if h.terc[j] >= nTercs {
				return fmt.Errorf("document %d: TERC id %d out of range", i, h.terc[j])
			}
		}
		if int(h.nTerc) != min(len(ix.meta[i].tercs), 255) {
			return fmt.Errorf("document %d: %d TERC ids, %d in its meta", i, h.nTerc, len(ix.meta[i].tercs))
		}
		for _, t := range ix.meta[i].tercs {
			if t >= nTercs {
				return fmt.Errorf("document %d: TERC id %d out of range", i, t)
			}
		}
		if (h.flags&hotLive != 0) != (ix.docs[i].ID != "") {
			return fmt.Errorf("document %d: live flag and id disagree", i)
		}
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
