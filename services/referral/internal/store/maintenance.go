package store

import (
	"context"
	"time"

	"github.com/cus-suite/cus/platform/storage"
)

// RunMaintenance compacts the change log and expires request ids (storage.Maintenance) every interval until
// ctx ends. It takes the current backend at each run, under the read lock, because erasure compaction closes
// and reopens it. Run it with the other workers joined before Close.
func (s *Store) RunMaintenance(ctx context.Context, m storage.Maintenance) error {
	if m.Interval <= 0 {
		m.Interval = time.Minute
	}
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	for {
		s.mu.RLock()
		s.be.Maintain(ctx, m)
		s.mu.RUnlock()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
