package app

import (
	"context"
	"fmt"
	"path/filepath"

	"go.uber.org/zap"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
	"github.com/cus-suite/cus/services/catalogue/internal/server"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// Generate writes a synthetic catalogue of many gminas into a data file (the service must be stopped), for
// benchmarks and load tests. Each service's origin is the gmina of its first location, as in a regional
// aggregator that federates many instances.
func Generate(ctx context.Context, dataFile string, opts demo.SyntheticOptions, log *zap.Logger) (int, error) {
	if err := opts.Validate(); err != nil {
		return 0, err
	}
	st, err := store.Open(dataFile, log)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	const batch = 2000
	var (
		list  []*cataloguev1.Service
		ids   []string
		total int
	)
	flush := func() error {
		if len(list) == 0 {
			return nil
		}
		if _, _, err := st.ImportServices(ctx, list, ids); err != nil {
			return err
		}
		total += len(list)
		list, ids = list[:0], ids[:0]
		return nil
	}
	err = demo.Synthetic(opts, func(id string, s *cataloguev1.Service) error {
		if locs := s.GetLocations(); len(locs) > 0 && s.GetOriginTerc() == "" {
			s.OriginTerc = locs[0].GetTerytCode()
		}
		list = append(list, s)
		ids = append(ids, id)
		if len(list) == batch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return total, fmt.Errorf("generate: %w", err)
	}
	if err := flush(); err != nil {
		return total, err
	}
	// A snapshot of the search index beside the file, so that the first start serves in seconds too.
	srv := server.New(st, "", log)
	if _, err := srv.LoadIndex(); err != nil {
		return total, fmt.Errorf("generate: index: %w", err)
	}
	if _, err := srv.SaveIndex(snapshotFileIn(filepath.Dir(dataFile))); err != nil {
		return total, fmt.Errorf("generate: %w", err)
	}
	return total, nil
}
