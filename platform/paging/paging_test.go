package paging

import (
	"errors"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"

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
