package paging

import (
	"crypto/sha256"
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"

	"github.com/cus-suite/cus/platform/apierr"
)

func TestSize(t *testing.T) {
	for _, c := range []struct{ n, want int32 }{{0, 50}, {1, 1}, {1000, 1000}, {5000, 1000}} {
		if got, err := Size("page_size", c.n, 50, 1000); err != nil || int32(got) != c.want {
			t.Errorf("%d -> %d %v", c.n, got, err)
		}
	}
	if _, err := Size("page_size", -1, 50, 1000); err == nil {
		t.Error("negative size accepted")
	}
}

func TestTokensAreBoundToTheirQuery(t *testing.T) {
	d1 := Digest(&errdetails.ErrorInfo{Reason: "a"})
	d2 := Digest(&errdetails.ErrorInfo{Reason: "b"})
	tok := Encode(40, d1)
	if off, err := Decode(tok, d1); err != nil || off != 40 {
		t.Fatalf("round trip: %d %v", off, err)
	}
	for _, bad := range []string{tok + "x", "%%%", "eyJvIjotMSwiZCI6IiJ9"} {
		if _, err := Decode(bad, d1); !errors.Is(err, apierr.ErrInvalidPageToken) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if _, err := Decode(tok, d2); !errors.Is(err, apierr.ErrInvalidPageToken) {
		t.Error("a token was accepted for another query")
	}
	list := []int{1, 2, 3, 4, 5}
	p, next := Page(list, 0, 2, d1)
	if len(p) != 2 || next == "" {
		t.Fatalf("first page %v %q", p, next)
	}
	p, next = Page(list, 4, 2, d1)
	if len(p) != 1 || next != "" {
		t.Fatalf("last page %v %q", p, next)
	}
}

func TestRequestHashIgnoresOnlyRequestID(t *testing.T) {
	// ErrorInfo has no request_id: the hash is of the whole message and differs with its content.
	if string(RequestHash(&errdetails.ErrorInfo{Reason: "a"})) == string(RequestHash(&errdetails.ErrorInfo{Reason: "b"})) {
		t.Fatal("different requests hash alike")
	}
}

// clonedHash is RequestHash as it was: a deep clone with request_id cleared, marshalled and hashed.
func clonedHash(m proto.Message) []byte {
	c := proto.Clone(m)
	r := c.ProtoReflect()
	if fd := r.Descriptor().Fields().ByName("request_id"); fd != nil {
		r.Clear(fd)
	}
	b, _ := proto.MarshalOptions{Deterministic: true}.Marshal(c)
	sum := sha256.Sum256(b)
	return sum[:]
}

// BenchmarkRequestHash hashes an import of a 3 MiB file, the shallow copy beside the deep clone.
func BenchmarkRequestHash(b *testing.B) {
	req := &cataloguev1.ImportServicesRequest{Content: make([]byte, 3<<20), RequestId: "r-1"}
	for _, tc := range []struct {
		name string
		hash func(proto.Message) []byte
	}{{"shallow", RequestHash}, {"clone", clonedHash}} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(req.Content)))
			for i := 0; i < b.N; i++ {
				tc.hash(req)
			}
		})
	}
}

// TestRequestHashUnchanged: the shallow copy hashes the very bytes the deep clone with request_id cleared did,
// so the hashes idempotency records already hold still match a retry; the request itself is left as it was.
func TestRequestHashUnchanged(t *testing.T) {
	withUnknown := &cataloguev1.ImportServicesRequest{Content: []byte("a;b"), RequestId: "r-1"}
	withUnknown.ProtoReflect().SetUnknown([]byte{0xf8, 0x06, 0x01}) // field 111, varint 1
	for _, tc := range []struct {
		name string
		req  proto.Message
	}{
		{"import with request id", &cataloguev1.ImportServicesRequest{Content: []byte("Nazwa usługi\r\nKlub"), DryRun: true, RequestId: "r-1",
			Format: cataloguev1.ImportFormat_IMPORT_FORMAT_CSV}},
		{"import without request id", &cataloguev1.ImportServicesRequest{Content: []byte("x")}},
		{"unknown fields", withUnknown},
		{"nested message and lists", &cataloguev1.CreateServiceRequest{RequestId: "r-2", Service: &cataloguev1.Service{DisplayName: "Klub Seniora",
			Languages: []string{"pl", "uk"}, Phones: []*typev1.Phone{{Number: "+48 65 546 00 00"}}}}},
		{"no request_id field", &errdetails.ErrorInfo{Reason: "a", Metadata: map[string]string{"k": "v", "l": "w"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := proto.Clone(tc.req)
			if got, want := RequestHash(tc.req), clonedHash(tc.req); string(got) != string(want) {
				t.Errorf("hash %x, want %x", got, want)
			}
			if !proto.Equal(before, tc.req) {
				t.Errorf("the request changed: %v, was %v", tc.req, before)
			}
		})
	}
}
