package storage

import bolt "go.etcd.io/bbolt"

// BucketStat is the space a bucket takes in the data file, for benchmarks and diagnostics.
type BucketStat struct {
	Keys int
	// Alloc is the bytes of the pages the bucket holds; InUse the bytes its keys and values fill of them.
	Alloc, InUse int
}

// FreeBucket is the Stats entry for the file's free pages (Keys: page count; Alloc: their bytes).
const FreeBucket Bucket = "(free pages)"

// Stats returns the space each bucket takes (every bucket of the file, by name) and the free pages. On etcd it
// counts the keys of the backend's buckets only (etcd keeps no per-range page accounting).
func (b *Backend) Stats() map[Bucket]BucketStat {
	if b.etcd != nil {
		return b.etcd.stats(b)
	}
	out := map[Bucket]BucketStat{}
	// A compaction may swap the handle: read the current one, held (compact.go).
	db, release := b.acquire()
	defer release()
	st := db.Stats()
	free := st.FreePageN + st.PendingPageN
	out[FreeBucket] = BucketStat{Keys: free, Alloc: free * db.Info().PageSize}
	_ = db.View(func(btx *bolt.Tx) error {
		return btx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			s := bk.Stats()
			out[Bucket(name)] = BucketStat{Keys: s.KeyN, Alloc: s.BranchAlloc + s.LeafAlloc + s.InlineBucketInuse,
				InUse: s.BranchInuse + s.LeafInuse + s.InlineBucketInuse}
			return nil
		})
	})
	return out
}
