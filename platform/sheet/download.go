package sheet

import (
	"context"

	"google.golang.org/genproto/googleapis/api/httpbody"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/i18n"
)

// Bounds of an export RPC (ExportServices, ExportProviders, ExportAgreements, ExportStatistics): the rows of one
// file, and its bytes, which must fit a gRPC message the gateway accepts (16 MiB) with room to spare.
const (
	MaxExportRows  = 50000
	MaxExportBytes = 15 << 20
)

// TooManyRows is the error of an export whose filter matches more than MaxExportRows records.
func TooManyRows(field string, n int, what string) error {
	// what ("services", "providers", "agreements") is a catalogue text of its own, so a Polish caller reads
	// "usługi", not "services", inside the Polish sentence.
	return apierr.Invalidf(field, "matches %d %s; an export holds at most %d: narrow the filter", n, i18n.NewMsg(what), MaxExportRows)
}

// ErrExportTooLarge is the error of an export whose file would pass MaxExportBytes.
var ErrExportTooLarge = apierr.New(apierr.KindFailedPrecondition, "EXPORT_TOO_LARGE",
	"the export would be larger than 15 MiB; narrow the filter")

// Download returns an export's file as the RPC's google.api.HttpBody and sends its Content-Disposition
// (attachment, named base plus the format's extension) as response metadata: the gateway passes it on as the
// HTTP header, so a browser saves the file under that name. base must be ASCII (e.g. "uslugi-3022053-2026-12-02").
func Download(ctx context.Context, base string, f Format, data []byte) (*httpbody.HttpBody, error) {
	if len(data) > MaxExportBytes {
		return nil, ErrExportTooLarge
	}
	// Only a stream that is already gone fails here, and then there is nobody to answer.
	_ = grpc.SetHeader(ctx, metadata.Pairs("content-disposition", ContentDisposition(base, f)))
	return &httpbody.HttpBody{ContentType: f.ContentType(), Data: data}, nil
}
