package search

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"runtime"
	"testing"
)

// reviewFrame builds one checksummed frame the way snapWriter.flush does.
func reviewFrame(seq uint32, payload []byte) []byte {
	var hdr, sq, tail [4]byte
	binary.LittleEndian.PutUint32(hdr[:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(sq[:], seq)
	crc := crc32.Update(0, castagnoli, sq[:])
	crc = crc32.Update(crc, castagnoli, hdr[:])
	crc = crc32.Update(crc, castagnoli, payload)
	binary.LittleEndian.PutUint32(tail[:], crc)
	out := append(hdr[:], payload...)
	return append(out, tail[:]...)
}

// A snapshot of a few dozen bytes with well-formed frames whose counts are large must not make ReadSnapshot
// allocate in proportion to the counts rather than to the file (a string length, HEAD's feed id, used to be passed to
// strings.Builder.Grow before a byte of it was read, and the slot count sized a dozen arrays): it is an error.
func TestSnapshotCountsAreCheckedBeforeAllocating(t *testing.T) {
	for _, tc := range []struct {
		name string
		head func() []byte
	}{
		{"feed id length", func() []byte {
			p := []byte("HEAD")
			return binary.LittleEndian.AppendUint32(p, 64<<20) // feed id of 64 MiB, absent
		}},
		{"slot count", func() []byte {
			p := []byte("HEAD")
			p = binary.LittleEndian.AppendUint32(p, 0)       // feed id ""
			p = binary.LittleEndian.AppendUint32(p, 0)       // source ""
			p = binary.LittleEndian.AppendUint64(p, 1)       // revision
			p = binary.LittleEndian.AppendUint64(p, 1)       // written
			p = binary.LittleEndian.AppendUint32(p, 300_000) // slots
			p = binary.LittleEndian.AppendUint32(p, 0)       // live
			p = binary.LittleEndian.AppendUint32(p, 0)       // terms
			p = binary.LittleEndian.AppendUint32(p, 0)       // tercs
			return p
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var file bytes.Buffer
			file.Write(snapshotMagic[:])
			file.Write(binary.LittleEndian.AppendUint32(nil, snapshotVersion))
			file.Write(reviewFrame(0, tc.head()))
			size := file.Len()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, _, err := ReadSnapshot(bytes.NewReader(file.Bytes()))
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("a truncated snapshot was accepted")
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("%d-byte file: %v; allocated %d MiB", size, err, alloc>>20)
			if alloc > 1<<20 {
				t.Errorf("a %d-byte snapshot made the reader allocate %d MiB before failing", size, alloc>>20)
			}
		})
	}
}
