package store

import (
	"context"

	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// ImportBatch is the number of rows an import writes per transaction: large enough that the fsync of a commit
// is shared by thousands of services, small enough that a commit does not hold the write loop for long.
const ImportBatch = 4000

// Written is a service an import stored, with the revision of its write (for the search index).
type Written struct {
	Service *cataloguev1.Service
	Rev     int64
}

// ImportRows plans each item against the stored service inside one transaction and, unless dryRun, writes the
// created and updated services there, each with its change-feed entry: the plan and the writes see the same
// state, and a batch is all or nothing. plan decides a row (domain.PlanImportRow). The caller splits a file
// into batches of ImportBatch.
func (s *Store) ImportRows(ctx context.Context, items []*domain.ImportItem, dryRun bool, plan func(it *domain.ImportItem, cur *cataloguev1.Service) domain.ImportPlan) ([]domain.ImportPlan, []Written, error) {
	outcomes := make([]domain.ImportPlan, len(items))
	var written []Written
	run := func(tx storage.ReadTx, put func(id string, prev []byte, svc *cataloguev1.Service) error) error {
		written = written[:0]
		for i, it := range items {
			var cur *cataloguev1.Service
			var prev []byte
			if it.ID != "" {
				if prev = tx.Get(bucketServices, []byte(it.ID)); prev != nil {
					cur = &cataloguev1.Service{}
					if _, err := decode(prev, cur); err != nil {
						return err
					}
				}
			}
			p := plan(it, cur)
			outcomes[i] = p
			if p.Next == nil || put == nil {
				continue
			}
			if err := put(it.ID, prev, p.Next); err != nil {
				return err
			}
			outcomes[i].Next = nil // stored (and indexed from written); the report needs only the outcome
		}
		return nil
	}
	if dryRun {
		err := s.be.View(func(tx storage.ReadTx) error { return run(tx, nil) })
		return outcomes, nil, err
	}
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		now := s.now()
		return run(tx, func(id string, prev []byte, svc *cataloguev1.Service) error {
			rev := tx.NextRevision()
			rec := proto.Clone(svc).(*cataloguev1.Service)
			if err := supersede(tx, prev); err != nil {
				return err
			}
			created := prev == nil
			if !created {
				old := &cataloguev1.Service{}
				if _, err := decode(prev, old); err != nil {
					return err
				}
				rec.CreateTime = old.GetCreateTime()
			}
			stamp(rec, domain.ServicePrefix+id, rev, now, created)
			v, err := encode(rev, rec)
			if err != nil {
				return err
			}
			if err := tx.Put(bucketServices, []byte(id), v); err != nil {
				return err
			}
			if err := appendChange(tx, rev, rec.GetName(), now, false); err != nil {
				return err
			}
			written = append(written, Written{Service: rec, Rev: rev})
			return nil
		})
	})
	if err != nil {
		return nil, nil, err
	}
	return outcomes, written, nil
}

// ImportReport returns the report a request id recorded, if any: hash is the request's, so a reuse of the id
// for another file is refused (apierr.ErrRequestIDReused).
func (s *Store) ImportReport(requestID string, hash []byte) (*cataloguev1.ImportServicesResponse, bool, error) {
	if requestID == "" {
		return nil, false, nil
	}
	var out *cataloguev1.ImportServicesResponse
	err := s.be.View(func(tx storage.ReadTx) error {
		h, payload, ok := storage.LookupRequest(tx, requestKey("ImportServices", requestID))
		if !ok {
			return nil
		}
		if string(h) != string(hash) {
			return apierr.ErrRequestIDReused
		}
		out = &cataloguev1.ImportServicesResponse{}
		return proto.Unmarshal(payload, out)
	})
	return out, out != nil, err
}

// RememberImport records the report of an import under its request id.
func (s *Store) RememberImport(ctx context.Context, requestID string, hash []byte, report *cataloguev1.ImportServicesResponse) error {
	if requestID == "" {
		return nil
	}
	b, err := proto.Marshal(report)
	if err != nil {
		return err
	}
	return s.be.Update(ctx, func(tx storage.Tx) error {
		return storage.RememberRequest(tx, requestKey("ImportServices", requestID), hash, b)
	})
}
