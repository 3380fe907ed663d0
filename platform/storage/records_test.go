package storage

import (
	"errors"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

func TestRecordRoundTrip(t *testing.T) {
	v, err := EncodeRecord(42, wrapperspb.String("Żłobek"))
	if err != nil {
		t.Fatal(err)
	}
	got := &wrapperspb.StringValue{}
	rev, err := DecodeRecord(v, got)
	if err != nil || rev != 42 || !proto.Equal(got, wrapperspb.String("Żłobek")) {
		t.Fatalf("round trip: %d %v %v", rev, got, err)
	}
	if _, err := DecodeRecord([]byte{1, 2}, got); !errors.Is(err, ErrCorruptRecord) {
		t.Fatalf("short record: %v", err)
	}
	if Etag(35) != "rz" || Etag(36) != "r10" {
		t.Fatalf("etags %s %s", Etag(35), Etag(36))
	}
}
