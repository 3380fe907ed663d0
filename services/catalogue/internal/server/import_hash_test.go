package server

import (
	"bytes"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/cus-suite/cus/platform/paging"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// TestImportRequestHash: the import's own hash of a request is paging.RequestHash's, bit for bit, so the
// request ids recorded before it (and by any other code hashing requests) still match: with and without a
// format, a dry run, a request id (left out of both), unknown fields, and content of every length class of
// its size prefix.
func TestImportRequestHash(t *testing.T) {
	unknown := protowire.AppendVarint(protowire.AppendTag(nil, 99, protowire.VarintType), 7)
	for _, n := range []int{1, 127, 128, 16383, 16384, 3 << 20} {
		content := bytes.Repeat([]byte("a;b\r\n"), n/5+1)[:n]
		for _, req := range []*cataloguev1.ImportServicesRequest{
			{Content: content},
			{Content: content, Format: cataloguev1.ImportFormat_IMPORT_FORMAT_HSDS_JSON, DryRun: true, RequestId: "r-1"},
			{Content: content, RequestId: "r-2"},
		} {
			for _, withUnknown := range []bool{false, true} {
				if withUnknown {
					req.ProtoReflect().SetUnknown(unknown)
				}
				if got, want := importRequestHash(req), paging.RequestHash(req); !bytes.Equal(got, want) {
					t.Fatalf("content %d bytes, format %v, dry run %v, unknown fields %v: hash %x, want %x",
						n, req.GetFormat(), req.GetDryRun(), withUnknown, got, want)
				}
			}
		}
	}
	a := importRequestHash(&cataloguev1.ImportServicesRequest{Content: []byte("x")})
	if b := importRequestHash(&cataloguev1.ImportServicesRequest{Content: []byte("y")}); bytes.Equal(a, b) {
		t.Fatal("two contents, one hash")
	}
}
