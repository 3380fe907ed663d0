package store

import (
	"context"

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

// Import plans a provider import against the registry and, unless dryRun, writes the plan in the same
// transaction: every accepted row's provider with its indexes and change record, all or nothing. ids[i] is the
// id a provider created by f.Rows[i] gets. With a request id, a repeat returns the first report.
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
	var out *providerv1.ImportProvidersResponse
	now := s.now()
	req := resource.Req{Method: "ImportProviders", ID: requestID, Hash: reqHash}
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		out = &providerv1.ImportProvidersResponse{}
		if replayed, err := resource.ReplayAnswer(tx, req, out); replayed || err != nil {
			return err
		}
		reg := &txRegistry{tx: tx}
		results, writes := domain.PlanImport(f, reg, func(i int) string { return ids[i] })
		if reg.err != nil {
			return reg.err
		}
		for _, w := range writes {
			if _, err := providers.Put(tx, w.ID, w.New, now); err != nil {
				return err
			}
		}
		out = report(results, false, f.Separator)
		return resource.RememberAnswer(tx, req, out)
	})
	return out, err
}
