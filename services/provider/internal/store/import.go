package store

import (
	"context"
	"errors"

	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/resource"
	"github.com/cus-suite/cus/platform/storage"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
)

// txRegistry is domain.Registry over one transaction.
type txRegistry struct {
	tx     storage.ReadTx
	byName map[string][]string
	err    error
}

func (r *txRegistry) Provider(id string) *providerv1.Provider {
	p, err := getProvider(r.tx, id)
	if err != nil {
		r.fail(err)
		return nil
	}
	return p
}

func (r *txRegistry) OwnerOf(field, value string) string {
	for _, ix := range indexes {
		if ix.field == field {
			return string(r.tx.Get(ix.bucket, []byte(value)))
		}
	}
	return ""
}

func (r *txRegistry) ByName(name string) []string {
	if r.byName == nil {
		r.byName = map[string][]string{}
		err := providers.Scan(r.tx, "", func(id string, p *providerv1.Provider, _ int64) (bool, error) {
			key := domain.FoldName(p.GetDisplayName())
			r.byName[key] = append(r.byName[key], id)
			return true, nil
		})
		r.fail(err)
	}
	return r.byName[name]
}

func (r *txRegistry) Agreements(providerID string) []*providerv1.Agreement {
	list, err := agreements.All(r.tx, providerID+"/")
	r.fail(err)
	return list
}

func (r *txRegistry) fail(err error) {
	if err != nil && r.err == nil {
		r.err = err
	}
}

func report(results []*providerv1.ImportRowResult, dryRun bool, sep rune) *providerv1.ImportProvidersResponse {
	out := &providerv1.ImportProvidersResponse{Rows: results, DryRun: dryRun, Separator: string(sep)}
	for _, r := range results {
		switch r.GetAction() {
		case providerv1.ImportAction_IMPORT_ACTION_CREATED:
			out.CreatedCount++
		case providerv1.ImportAction_IMPORT_ACTION_UPDATED:
			out.UpdatedCount++
		case providerv1.ImportAction_IMPORT_ACTION_UNCHANGED:
			out.UnchangedCount++
		case providerv1.ImportAction_IMPORT_ACTION_REJECTED:
			out.RejectedCount++
		}
	}
	return out
}

// Bounds of what one imported row writes, for engines that limit a transaction (etcd, storage.Backend
// ItemsPerWrite): the provider record, its change record and up to a delete and a put for each of the NIP, KRS
// and REGON indexes; besides them a batch writes the revision counter. Its bytes are measured on the file's
// largest planned provider (importRowBytes).
const (
	importRowKeys     = 8
	importReserveKeys = 8
	// importReplans bounds how often an import plans again because other writes changed the registry between
	// its plan and a batch (ErrImportInterrupted past it).
	importReplans = 20
)

// errRegistryMoved aborts a batch whose plan is stale: the registry changed since it was made.
var errRegistryMoved = errors.New("the registry changed since the import was planned")

// importRowBytes bounds the bytes one row of the plan writes: twice (record and change record) the largest
// planned provider, with room for its stamped name, etag and times, and the keys of the record, the change
// and six index entries (about 100 bytes each on etcd, with the prefix).
func importRowBytes(writes []domain.PlannedWrite) int {
	largest := 0
	for _, w := range writes {
		largest = max(largest, proto.Size(w.New))
	}
	return 2*(largest+256) + 1024
}

// Import plans a provider import against the registry and, unless dryRun, writes the plan. ids[i] is the id a
// provider created by f.Rows[i] gets. With a request id, a repeat returns the first report: the report is
// recorded in the transaction of the last batch (on bbolt the only one; an Update of its own when nothing is
// left to write), and every batch's transaction first looks for a report recorded under the id by another
// attempt (a retry on another replica running at the same time), which it then returns instead, writing
// nothing more; another file under the same id is REQUEST_ID_REUSED.
//
// Every row is checked first: the whole file is planned on one snapshot (the per-row report, as a dry run
// gives it), then the accepted rows' writes are committed in batches that fit one transaction of the engine
// (all of them in one on bbolt; on etcd about fourteen rows each, --etcd-max-txn-ops), each with the
// providers' indexes and change records. A batch commits only if no other write changed the registry since the
// plan (a change record above the revision the plan, or the previous batch, saw); otherwise the file is
// planned again on the new state and the import goes on with the rows not yet written, whose report then
// comes from the new plan. A row keeps the report of the batch that wrote it.
//
// A failure between batches (a crash, etcd unavailable) leaves the batches already committed: running the file
// again matches their rows by identifier or name and reports them UNCHANGED, so a re-run converges on the same
// registry and creates nothing twice.
func (s *Store) Import(ctx context.Context, f *domain.CSVFile, ids []string, dryRun bool, requestID string, reqHash []byte) (*providerv1.ImportProvidersResponse, error) {
	if dryRun {
		var out *providerv1.ImportProvidersResponse
		err := s.be.View(func(tx storage.ReadTx) error {
			reg := &txRegistry{tx: tx}
			results, _ := domain.PlanImport(f, reg, func(int) string { return "" })
			out = report(results, true, f.Separator)
			return reg.err
		})
		return out, err
	}
	req := resource.Req{Method: "ImportProviders", ID: requestID, Hash: reqHash}
	if requestID != "" {
		out := &providerv1.ImportProvidersResponse{}
		var replayed bool
		err := s.be.View(func(tx storage.ReadTx) (err error) {
			replayed, err = resource.ReplayAnswer(tx, req, out)
			return err
		})
		if err != nil || replayed {
			return out, err
		}
	}
	now := s.now()
	final := make([]*providerv1.ImportRowResult, len(f.Rows))
	written := make([]bool, len(f.Rows))
	// answerOf is the report of the import if the rows of batch are the last it writes: rows written by earlier
	// batches keep their report, every other row has the plan's.
	answerOf := func(results []*providerv1.ImportRowResult) *providerv1.ImportProvidersResponse {
		rows := make([]*providerv1.ImportRowResult, len(results))
		for i, r := range results {
			rows[i] = r
			if written[i] {
				rows[i] = final[i]
			}
		}
		return report(rows, false, f.Separator)
	}
	for plans := 0; ; plans++ {
		if plans > importReplans {
			return nil, domain.ErrImportInterrupted
		}
		var (
			results []*providerv1.ImportRowResult
			writes  []domain.PlannedWrite
			seen    int64
		)
		err := s.be.View(func(tx storage.ReadTx) error {
			reg := &txRegistry{tx: tx}
			results, writes = domain.PlanImport(f, reg, func(i int) string { return ids[i] })
			seen = tx.Revision()
			return reg.err
		})
		if err != nil {
			return nil, err
		}
		// A row written by an earlier batch keeps what that batch did; the new plan sees its own write (UNCHANGED),
		// or, after another writer's change, would write it again over that change.
		todo := writes[:0:0]
		for _, w := range writes {
			if !written[w.Index] {
				todo = append(todo, w)
			}
		}
		if len(todo) == 0 {
			// Nothing left to write: the answer in an Update of its own, unless another attempt recorded one.
			out := answerOf(results)
			if req.ID == "" {
				return out, nil
			}
			err := s.be.Update(ctx, func(tx storage.Tx) error { return resource.AnswerOnce(tx, req, out) })
			if ok, err := resource.Answered(err, out); ok || err != nil {
				if err != nil {
					return nil, err
				}
				return out, nil
			}
			return out, nil
		}
		size := s.be.ItemsPerWrite(len(todo), importRowKeys, importRowBytes(todo), importReserveKeys)
		moved := false
		for start := 0; start < len(todo) && !moved; start += size {
			batch := todo[start:min(start+size, len(todo))]
			lastBatch := start+size >= len(todo)
			// The answer goes with the last batch's writes (on bbolt the only one): a repeat finds either no
			// answer and rows still to write, or the answer; never the rows written without it.
			var out *providerv1.ImportProvidersResponse
			if lastBatch && req.ID != "" {
				out = answerOf(results)
			}
			if s.beforeImportBatch != nil {
				s.beforeImportBatch()
			}
			var last int64
			err := s.be.Update(ctx, func(tx storage.Tx) error {
				// Another attempt under the request id (a retry on another replica) that recorded its answer
				// first: its answer is the answer, and this attempt writes nothing more.
				if err := resource.CheckAnswer(tx, req); err != nil {
					return err
				}
				stale := false
				if err := tx.Scan(storage.BucketChanges, storage.RevisionKey(seen+1), func(_, _ []byte) (bool, error) {
					stale = true
					return false, nil
				}); err != nil {
					return err
				}
				if stale {
					return errRegistryMoved
				}
				for _, w := range batch {
					if _, err := providers.Put(tx, w.ID, proto.CloneOf(w.New), now); err != nil {
						return err
					}
				}
				last = tx.Revision()
				if out != nil {
					return resource.RememberAnswer(tx, req, out)
				}
				return nil
			})
			theirs := &providerv1.ImportProvidersResponse{}
			if ok, aerr := resource.Answered(err, theirs); ok {
				return theirs, aerr
			}
			switch {
			case errors.Is(err, errRegistryMoved):
				moved = true
			case err != nil:
				return nil, err
			default:
				seen = last
				for _, w := range batch {
					written[w.Index], final[w.Index] = true, results[w.Index]
				}
				if s.afterImportBatch != nil {
					s.afterImportBatch()
				}
			}
		}
		if !moved {
			return answerOf(results), nil
		}
	}
}
