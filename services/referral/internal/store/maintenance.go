package store

import (
	"context"

	"github.com/cus-suite/cus/platform/storage"
)

// RunMaintenance compacts the change log and expires request ids (storage.Maintenance) every interval until
// ctx ends. Erasure compaction swaps the file inside the backend, so the backend itself does the work. Run it
// with the other workers joined before Close.
func (s *Store) RunMaintenance(ctx context.Context, m storage.Maintenance) error {
	return s.be.RunMaintenance(ctx, m)
}
