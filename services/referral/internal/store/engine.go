package store

import "github.com/cus-suite/cus/platform/storage"

// WithEngine puts the store on the chosen storage engine (default bbolt, at Open's path). On etcd the erasure
// journal and the audit anchors are still files beside path, on the replica's own disk.
func WithEngine(e storage.Engine) Option { return func(o *options) { o.engine = e } }
