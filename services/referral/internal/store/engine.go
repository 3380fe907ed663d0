package store

import "github.com/cus-suite/cus/platform/storage"

// WithEngine puts the store on the chosen storage engine (default bbolt, at Open's path). On etcd the erasure
// journal is keys beside the prefix, shared by every replica (erasureJournal); a journal file an older release
// left beside path is imported into them at Open and renamed "<file>.imported". The audit anchors stay files
// of each replica's own (--audit-anchor-file).
func WithEngine(e storage.Engine) Option { return func(o *options) { o.engine = e } }
