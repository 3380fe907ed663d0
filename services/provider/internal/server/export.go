package server

import (
	"bytes"
	"context"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"

	"github.com/cus-suite/cus/platform/sheet"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
)

// ExportProviders writes the providers that match a filter as a spreadsheet. It pages through ListProviders,
// so the filter, the order and what a caller may see are exactly the list's.
func (s *Server) ExportProviders(ctx context.Context, req *providerv1.ExportProvidersRequest) (*httpbody.HttpBody, error) {
	format, err := sheet.ParseFormat("format", req.GetFormat(), sheet.XLSX)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := sheet.NewWriter(&buf, format, "Realizatorzy", domain.ProviderSheet)
	if err != nil {
		return nil, err
	}
	list := &providerv1.ListProvidersRequest{PageSize: 1000, Filter: req.GetFilter(), OrderBy: req.GetOrderBy()}
	for {
		page, err := s.ListProviders(ctx, list)
		if err != nil {
			return nil, err
		}
		if page.GetTotalSize() > sheet.MaxExportRows {
			return nil, sheet.TooManyRows("filter", int(page.GetTotalSize()), "providers")
		}
		for _, p := range page.GetProviders() {
			if err := w.Row(domain.ProviderRow(p)...); err != nil {
				return nil, err
			}
		}
		if list.PageToken = page.GetNextPageToken(); list.PageToken == "" {
			break
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return sheet.Download(ctx, "realizatorzy-"+time.Now().UTC().Format(time.DateOnly), format, buf.Bytes())
}

// ExportAgreements writes agreements (of every provider, or of parent) as a spreadsheet, paging through
// ListAgreements, with each agreement's provider named.
func (s *Server) ExportAgreements(ctx context.Context, req *providerv1.ExportAgreementsRequest) (*httpbody.HttpBody, error) {
	format, err := sheet.ParseFormat("format", req.GetFormat(), sheet.XLSX)
	if err != nil {
		return nil, err
	}
	parent := req.GetParent()
	if parent == "" {
		parent = domain.ProviderPrefix + domain.Wildcard
	}
	var buf bytes.Buffer
	w, err := sheet.NewWriter(&buf, format, "Umowy", domain.AgreementSheet)
	if err != nil {
		return nil, err
	}
	providers := map[string]*providerv1.Provider{}
	list := &providerv1.ListAgreementsRequest{Parent: parent, PageSize: 1000, Filter: req.GetFilter(), OrderBy: req.GetOrderBy()}
	for {
		page, err := s.ListAgreements(ctx, list)
		if err != nil {
			return nil, err
		}
		if page.GetTotalSize() > sheet.MaxExportRows {
			return nil, sheet.TooManyRows("filter", int(page.GetTotalSize()), "agreements")
		}
		for _, a := range page.GetAgreements() {
			pid, _, err := domain.ParseAgreementName("name", a.GetName())
			if err != nil {
				return nil, err
			}
			p, ok := providers[pid]
			if !ok {
				// A provider deleted meanwhile leaves its columns empty rather than failing the export.
				p, _ = s.store.GetProvider(pid)
				providers[pid] = p
			}
			if err := w.Row(domain.AgreementRow(a, p)...); err != nil {
				return nil, err
			}
		}
		if list.PageToken = page.GetNextPageToken(); list.PageToken == "" {
			break
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return sheet.Download(ctx, "umowy-"+time.Now().UTC().Format(time.DateOnly), format, buf.Bytes())
}
