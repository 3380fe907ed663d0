package storage

import (
	"encoding/binary"
	"errors"
	"strconv"

	"google.golang.org/protobuf/proto"
)

// The services store every record the same way: the 8-byte big-endian revision of the write that produced it,
// then the resource's protobuf binary. The revision gives the etag and lets readers order versions.

// ErrCorruptRecord is returned for a value too short to be a record.
var ErrCorruptRecord = errors.New("storage: corrupt record")

// EncodeRecord encodes m as written at rev.
func EncodeRecord(rev int64, m proto.Message) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 8, 8+len(b))
	binary.BigEndian.PutUint64(out, uint64(rev))
	return append(out, b...), nil
}

// DecodeRecord decodes a record into m and returns the revision it was written at.
func DecodeRecord(v []byte, m proto.Message) (int64, error) {
	if len(v) < 8 {
		return 0, ErrCorruptRecord
	}
	return int64(binary.BigEndian.Uint64(v[:8])), proto.Unmarshal(v[8:], m)
}

// Etag is the etag of a resource last written at rev: new on every write, comparable inside the write's
// transaction.
func Etag(rev int64) string { return "r" + strconv.FormatInt(rev, 36) }

// ListChanges reads up to limit change records after a revision from one snapshot, decoding each with newT,
// and says whether more follow.
func ListChanges[T proto.Message](be *Backend, after int64, limit int, newT func() T) (changes []T, hasMore bool, err error) {
	err = be.Changes(after, limit+1, func(_ int64, v []byte) (bool, error) {
		if len(changes) == limit {
			hasMore = true
			return false, nil
		}
		c := newT()
		if err := proto.Unmarshal(v, c); err != nil {
			return false, err
		}
		changes = append(changes, c)
		return true, nil
	})
	return changes, hasMore, err
}
