package server

import (
	"bytes"
	"context"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"

	"github.com/cus-suite/cus/platform/sheet"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// exportPage is how many services are read from the store at a time while the file is written.
const exportPage = 1000

// ExportServices writes the services that match a filter as a spreadsheet (XLSX, CSV or Excel PL CSV).
func (s *Server) ExportServices(ctx context.Context, req *cataloguev1.ExportServicesRequest) (*httpbody.HttpBody, error) {
	format, err := sheet.ParseFormat("format", req.GetFormat(), sheet.XLSX)
	if err != nil {
		return nil, err
	}
	keep, err := domain.ParseServiceFilter(req.GetFilter())
	if err != nil {
		return nil, err
	}
	less, err := domain.ParseServiceOrder(req.GetOrderBy())
	if err != nil {
		return nil, err
	}
	ids, total := s.index.List(keep, less, 0, sheet.MaxExportRows)
	if total > sheet.MaxExportRows {
		return nil, sheet.TooManyRows("filter", total, "services")
	}
	var buf bytes.Buffer
	w, err := sheet.NewWriter(&buf, format, "Usługi", domain.SheetColumns())
	if err != nil {
		return nil, err
	}
	for start := 0; start < len(ids); start += exportPage {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		list, err := s.services(ids[start:min(start+exportPage, len(ids))])
		if err != nil {
			return nil, err
		}
		for _, svc := range list {
			if err := w.Row(domain.ServiceRow(svc)...); err != nil {
				return nil, err
			}
		}
		if buf.Len() > sheet.MaxExportBytes {
			return nil, sheet.ErrExportTooLarge
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return sheet.Download(ctx, "uslugi-"+s.terc+"-"+time.Now().UTC().Format(time.DateOnly), format, buf.Bytes())
}
