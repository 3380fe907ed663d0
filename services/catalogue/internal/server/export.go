package server

import (
	"bytes"
	"context"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/sheet"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
)

// Bounds of an export: the rows of one file, and its bytes, which must fit a gRPC message the gateway accepts
// (16 MiB) with room to spare.
const (
	MaxExportRows  = 50000
	maxExportBytes = 15 << 20
	// exportPage is how many services are read from the store at a time while the file is written.
	exportPage = 1000
)

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
	ids, total := s.index.List(func(d *search.Doc) bool { return keep(d) }, func(a, b *search.Doc) bool { return less(a, b) }, 0, MaxExportRows)
	if total > MaxExportRows {
		return nil, apierr.Invalid("filter", tooManyRows(total))
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
		if buf.Len() > maxExportBytes {
			return nil, exportTooLarge()
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	if buf.Len() > maxExportBytes {
		return nil, exportTooLarge()
	}
	setDownloadName(ctx, "uslugi-"+s.terc+"-"+time.Now().UTC().Format(time.DateOnly), format)
	return &httpbody.HttpBody{ContentType: format.ContentType(), Data: buf.Bytes()}, nil
}

func tooManyRows(n int) string {
	return "matches " + strconv.Itoa(n) + " services; an export holds at most 50000: narrow the filter (e.g. by area or update_time)"
}

func exportTooLarge() error {
	return apierr.New(apierr.KindFailedPrecondition, "EXPORT_TOO_LARGE",
		"the export would be larger than 15 MiB; narrow the filter (e.g. by area or update_time)")
}

// setDownloadName sends the Content-Disposition of a download as response metadata; the gateway passes it on
// as the HTTP header, so a browser saves the file under that name.
func setDownloadName(ctx context.Context, base string, f sheet.Format) {
	// Only a failure to send headers at all (a closed stream) makes this fail, and then there is no response.
	_ = grpc.SetHeader(ctx, metadata.Pairs("content-disposition", sheet.ContentDisposition(base, f)))
}
