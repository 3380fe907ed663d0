package store

import (
	"context"

	"github.com/cus-suite/cus/platform/resource"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// ImportBatch is the number of rows an import writes per transaction: large enough that the fsync of a commit
// is shared by thousands of services, small enough that a commit does not hold the write loop for long.
const ImportBatch = 4000

// Bounds of what one row (or one federated change) writes, for engines that limit a transaction (etcd): at
// most rowKeys keys (the service, its import key or peer-log entry, its change, and the removal of the change
// it supersedes) of at most rowBytes (a service record of 16 KiB is far beyond what validation lets through,
// twice: the record and its change).
const (
	rowKeys  = 5
	rowBytes = 32 << 10
)

// ImportBatchSize is how many rows one import transaction writes on this store's engine: ImportBatch on bbolt;
// on etcd as many as fit its transaction limits (--etcd-max-txn-ops, --etcd-max-request-bytes), so an import of
// any size goes through in batches instead of being refused as one write too large.
func (s *Store) ImportBatchSize() int {
	return s.be.ItemsPerWrite(ImportBatch, rowKeys, rowBytes, 8)
}

// Written is a service an import stored, with the revision of its write (for the search index).
type Written struct {
	Service *cataloguev1.Service
	Rev     int64
}

// ImportSnapshot resolves the services an import's items name and reads them, so the rows can be planned
// outside the write transaction. An item without an id whose key created a service earlier gets that service's
// id; an item still without an id names a new service. It returns the ids ("" for new), the stored services
// (nil where there is none) and the revisions of their records (0 where there is none).
func (s *Store) ImportSnapshot(items []*domain.ImportItem) ([]string, []*cataloguev1.Service, []int64, error) {
	ids := make([]string, len(items))
	curs := make([]*cataloguev1.Service, len(items))
	revs := make([]int64, len(items))
	err := s.be.View(func(tx storage.ReadTx) error {
		for i, it := range items {
			id := it.ID
			if id == "" && it.Key != "" {
				if v := tx.Get(bucketImportKeys, []byte(it.Key)); v != nil {
					id = string(v)
				}
			}
			ids[i] = id
			if id == "" {
				continue
			}
			v := tx.Get(bucketServices, []byte(id))
			if v == nil {
				continue
			}
			cur := &cataloguev1.Service{}
			rev, err := decode(v, cur)
			if err != nil {
				return err
			}
			curs[i], revs[i] = cur, rev
		}
		return nil
	})
	return ids, curs, revs, err
}

// ImportRows writes the planned rows of one batch in one transaction, each created or updated service with its
// change-feed entry, and for a service created by a key the key's entry. plans[i] was made against the record
// at revision bases[i] (0: none, ImportSnapshot) of the service items[i].ID; a row whose record changed since,
// or whose key another import has meanwhile given a service, is planned again inside the transaction with
// replan, so what is written is always decided on the state it replaces. It returns the plans as written and
// the stored services; items[i].ID is the id written.
func (s *Store) ImportRows(ctx context.Context, items []*domain.ImportItem, plans []domain.ImportPlan, bases []int64, replan func(it *domain.ImportItem, cur *cataloguev1.Service) domain.ImportPlan, answer ImportAnswer) ([]domain.ImportPlan, []Written, *cataloguev1.ImportServicesResponse, error) {
	out := make([]domain.ImportPlan, len(plans))
	var written []Written
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		// Another attempt under the request id that recorded its report first: that report is the answer, and
		// this attempt writes nothing more.
		if err := resource.CheckAnswer(tx, answer.Req); err != nil {
			return err
		}
		copy(out, plans)
		written = written[:0]
		now := s.now()
		for i, it := range items {
			if it.ID == "" {
				continue // an invalid row without an id or key
			}
			moved := false
			var keyed []byte
			if it.Key != "" {
				keyed = tx.Get(bucketImportKeys, []byte(it.Key))
				if keyed != nil && string(keyed) != it.ID {
					it.ID, moved = string(keyed), true
				}
			}
			prev := tx.Get(bucketServices, []byte(it.ID))
			if moved || recordRev(prev) != bases[i] {
				var cur *cataloguev1.Service
				if prev != nil {
					cur = &cataloguev1.Service{}
					if _, err := decode(prev, cur); err != nil {
						return err
					}
				}
				out[i] = replan(it, cur)
			}
			next := out[i].Next
			if next == nil {
				continue
			}
			rev := tx.NextRevision()
			if err := supersede(tx, prev); err != nil {
				return err
			}
			created := prev == nil
			if !created {
				old := &cataloguev1.Service{}
				if _, err := decode(prev, old); err != nil {
					return err
				}
				next.CreateTime = old.GetCreateTime()
			}
			stamp(next, domain.ServicePrefix+it.ID, rev, now, created)
			// Marshalled once, into the record's own buffer (encode marshals, then copies behind the revision).
			v, err := encodeSized(rev, next)
			if err != nil {
				return err
			}
			if err := tx.Put(bucketServices, []byte(it.ID), v); err != nil {
				return err
			}
			if it.Key != "" && keyed == nil {
				if err := tx.Put(bucketImportKeys, []byte(it.Key), []byte(it.ID)); err != nil {
					return err
				}
			}
			if err := appendChange(tx, rev, next.GetName(), now, false); err != nil {
				return err
			}
			written = append(written, Written{Service: next, Rev: rev})
		}
		if answer.Last != nil {
			return resource.RememberAnswer(tx, answer.Req, answer.Last(out))
		}
		return nil
	})
	theirs := &cataloguev1.ImportServicesResponse{}
	if ok, err := resource.Answered(err, theirs); ok {
		return nil, nil, theirs, err
	}
	if err != nil {
		return nil, nil, nil, err
	}
	return out, written, nil, nil
}

// ImportAnswer ties the batches of an import to its request id (none: Req.ID empty). Every batch's transaction
// first looks for a report recorded under the id by another attempt (resource.CheckAnswer: a retry on another
// replica at the same time), and ImportRows then returns that report instead of writing. Last, set on the last
// batch only, builds the import's report from that batch's plans as written; it is recorded in the same
// transaction, so the report is never stored without the last rows, nor the last rows without it.
type ImportAnswer struct {
	Req  resource.Req
	Last func(plans []domain.ImportPlan) *cataloguev1.ImportServicesResponse
}

// ImportReport returns the report a request id recorded, if any: hash is the request's, so a reuse of the id
// for another file is refused (apierr.ErrRequestIDReused).
func (s *Store) ImportReport(requestID string, hash []byte) (*cataloguev1.ImportServicesResponse, bool, error) {
	out := &cataloguev1.ImportServicesResponse{}
	var found bool
	err := s.be.View(func(tx storage.ReadTx) (err error) {
		found, err = resource.ReplayAnswer(tx, importReq(requestID, hash), out)
		return err
	})
	if !found {
		out = nil
	}
	return out, found, err
}

// importReq is the idempotency part of an import under requestID.
func importReq(requestID string, hash []byte) resource.Req {
	return resource.Req{Method: "ImportServices", ID: requestID, Hash: hash}
}

// NewImportAnswer is the ImportAnswer of an import under requestID with the request's hash.
func NewImportAnswer(requestID string, hash []byte) ImportAnswer {
	return ImportAnswer{Req: importReq(requestID, hash)}
}
