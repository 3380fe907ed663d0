package server

import (
	"bytes"
	"fmt"
	"math"
	"testing"

	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/proto"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

func TestServiceCacheNeverGoesBackInTime(t *testing.T) {
	c := newServiceCache(100)
	v2 := &cataloguev1.Service{DisplayName: "v2"}
	c.put("a", 2, v2)
	c.put("a", 1, &cataloguev1.Service{DisplayName: "v1"}) // a slow reader of an older version
	if got, _ := c.get("a"); got != v2 {
		t.Fatalf("older version replaced newer: %v", got)
	}
	c.drop("a", 3)
	c.put("a", 2, v2) // a reader that loaded before the delete
	if _, ok := c.get("a"); ok {
		t.Fatal("a deleted service came back")
	}
	c.put("a", 4, &cataloguev1.Service{DisplayName: "v4"})
	if got, ok := c.get("a"); !ok || got.GetDisplayName() != "v4" {
		t.Fatalf("recreated service: %v %v", got, ok)
	}
}

// A write recorded without its service (a federation sync) keeps older readers out and lets the first reader
// of the written revision fill the entry.
func TestServiceCacheInvalidatedEntryIsFilledByAReader(t *testing.T) {
	c := newServiceCache(100)
	c.put("a", 1, &cataloguev1.Service{DisplayName: "v1"})
	c.invalidate("a", 2)
	if _, ok := c.get("a"); ok {
		t.Fatal("an invalidated entry answered")
	}
	c.put("a", 1, &cataloguev1.Service{DisplayName: "v1"}) // a reader that loaded before the write
	if _, ok := c.get("a"); ok {
		t.Fatal("an older version came back")
	}
	c.put("a", 2, &cataloguev1.Service{DisplayName: "v2"})
	if got, ok := c.get("a"); !ok || got.GetDisplayName() != "v2" {
		t.Fatalf("the written revision was not cached: %v %v", got, ok)
	}
	c.invalidate("a", 2) // a replay of the same write does not throw the entry away
	if _, ok := c.get("a"); !ok {
		t.Fatal("a replayed invalidation dropped the entry")
	}
	c.drop("b", 5)
	c.put("b", 4, &cataloguev1.Service{}) // a reader that loaded before the delete
	if _, ok := c.get("b"); ok {
		t.Fatal("a deleted entry was filled")
	}
	c.put("a", 3, &cataloguev1.Service{DisplayName: "v3"})
	c.drop("a", 3) // a held entry: a delete at its revision leaves it (one revision, one write)
	c.drop("a", 6)
	c.put("a", 5, &cataloguev1.Service{DisplayName: "v3"}) // a reader that loaded before the delete
	if _, ok := c.get("a"); ok {
		t.Fatal("a deleted held entry was filled by an older reader")
	}
}

// An import (or a federation sync, or a purge) writes far more services than the cache holds, nearly all of
// them not in it: the hot entries stay, no entry is spent on the others, and a reader that may have read before
// one of those writes is still kept out.
func TestServiceCacheKeepsItsHotEntriesThroughAnImport(t *testing.T) {
	c := newServiceCache(100)
	hot := map[string]*cataloguev1.Service{}
	for i := range 50 {
		id := fmt.Sprintf("hot-%d", i)
		hot[id] = &cataloguev1.Service{DisplayName: id}
		c.put(id, 50, hot[id])
	}
	for i := range 10_000 {
		c.invalidate(fmt.Sprintf("imported-%d", i), int64(51+i))
	}
	c.drop("purged", 10_051)
	for id, svc := range hot {
		if got, ok := c.get(id); !ok || got != svc {
			t.Fatalf("the hot entry %s is gone after the import", id)
		}
	}
	if len(c.m) != len(hot) {
		t.Fatalf("the cache holds %d entries after the import, want the %d hot ones", len(c.m), len(hot))
	}
	c.put("imported-7", 10_000, &cataloguev1.Service{}) // read before the last writes: maybe the old version
	if _, ok := c.get("imported-7"); ok {
		t.Fatal("a reader that may have read before the import's write filled the cache")
	}
	c.put("imported-7", 10_051, &cataloguev1.Service{DisplayName: "new"}) // read after every write
	if got, ok := c.get("imported-7"); !ok || got.GetDisplayName() != "new" {
		t.Fatalf("a reader after the import was not cached: %v %v", got, ok)
	}
	c.invalidate("hot-3", 10_052) // a held entry becomes a marker: older readers stay out
	c.put("hot-3", 10_051, hot["hot-3"])
	if _, ok := c.get("hot-3"); ok {
		t.Fatal("an older version of a rewritten hot entry came back")
	}
}

func TestServiceCacheIsBounded(t *testing.T) {
	c := newServiceCache(50)
	for i := 0; i < 1000; i++ {
		c.put(string(rune('a'+i%26))+string(rune(i)), int64(i+1), &cataloguev1.Service{})
	}
	if len(c.m) > 50 {
		t.Fatalf("cache holds %d entries, max 50", len(c.m))
	}
}

func TestWireCodecSendsCachedBytesAndDecodesNormally(t *testing.T) {
	c := newServiceCache(10)
	codec := wireCodec{base: encoding.GetCodecV2("proto"), cache: c}
	svc := &cataloguev1.Service{Name: "services/0194c050-3022-7053-8000-000000000001", DisplayName: "Żłobek"}
	c.put("0194c050-3022-7053-8000-000000000001", 1, svc)
	first, err := codec.Marshal(svc)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := codec.Marshal(svc)
	if len(first.Materialize()) == 0 || string(first.Materialize()) != string(second.Materialize()) {
		t.Fatal("cached bytes differ")
	}
	var back cataloguev1.Service
	if err := codec.Unmarshal(second, &back); err != nil || back.GetDisplayName() != "Żłobek" {
		t.Fatalf("round trip: %v %v", &back, err)
	}
	// A message that is not the cached one (e.g. a fresh copy) is marshalled normally.
	other := &cataloguev1.Service{Name: svc.GetName(), DisplayName: "inna"}
	b, _ := codec.Marshal(other)
	var got cataloguev1.Service
	_ = codec.Unmarshal(b, &got)
	if got.GetDisplayName() != "inna" {
		t.Fatal("a non-cached message was sent as the cached bytes")
	}
}

// A search response is sent with the cached encoding of each service of its page, and its bytes are exactly
// those of proto.Marshal (scores of zero and minus zero, distances absent, zero and negative, a service not
// in the cache, every other field of the response).
func TestWireCodecEncodesSearchResponsesLikeProto(t *testing.T) {
	c := newServiceCache(10)
	codec := wireCodec{base: encoding.GetCodecV2("proto"), cache: c}
	cached := &cataloguev1.Service{Name: "services/0194c050-3022-7053-8000-000000000001", DisplayName: "Żłobek „Promyk”",
		Areas: []cataloguev1.Area{cataloguev1.Area_AREA_FAMILY_POLICY}}
	c.put("0194c050-3022-7053-8000-000000000001", 1, cached)
	fresh := &cataloguev1.Service{Name: "services/0194c050-3022-7053-8000-000000000002", DisplayName: "Klub seniora"}
	zero, neg, far := int32(0), int32(-5), int32(1_234_567)
	negZero := float32(math.Copysign(0, -1))
	resp := &cataloguev1.SearchServicesResponse{
		Results: []*cataloguev1.SearchResult{
			{Service: cached, Score: 3.25, DistanceMeters: &far},
			{Service: fresh},
			{Service: cached, Score: negZero, DistanceMeters: &zero},
			{Score: 1, DistanceMeters: &neg},
		},
		NextPageToken:     "abc",
		TotalSize:         4,
		AreaFacets:        []*cataloguev1.AreaFacet{{Area: cataloguev1.Area_AREA_FAMILY_POLICY, Count: 2}},
		TargetGroupFacets: []*cataloguev1.TargetGroupFacet{{TargetGroup: cataloguev1.TargetGroup_TARGET_GROUP_SENIORS, Count: 1}},
		SuggestedQuery:    "zlobek",
	}
	want, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the first encodes the cached service, the second reuses it
		got, err := codec.Marshal(resp)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Materialize(), want) {
			t.Fatalf("search response bytes differ:\n got %x\nwant %x", got.Materialize(), want)
		}
	}
	e := c.entryOf(cached)
	if e == nil || e.wire.Load() == nil {
		t.Fatal("the cached service's encoding was not kept")
	}
	// The kept encoding is what is sent: a stale one (it cannot be, as cached messages are never mutated)
	// would show.
	marker := []byte{0x12, 0x01, 'X'} // display_name = "X"
	e.wire.Store(&marker)
	got, _ := codec.Marshal(resp)
	var back cataloguev1.SearchServicesResponse
	if err := codec.Unmarshal(got, &back); err != nil {
		t.Fatal(err)
	}
	if n := back.GetResults()[0].GetService().GetDisplayName(); n != "X" {
		t.Fatalf("the page's cached service was re-encoded (display name %q)", n)
	}
	if back.GetResults()[1].GetService().GetDisplayName() != "Klub seniora" || back.GetSuggestedQuery() != "zlobek" {
		t.Fatalf("round trip: %v", &back)
	}
}
