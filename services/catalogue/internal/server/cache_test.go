package server

import (
	"testing"

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

func TestServiceCacheIsBounded(t *testing.T) {
	c := newServiceCache(50)
	for i := 0; i < 1000; i++ {
		c.put(string(rune('a'+i%26))+string(rune(i)), int64(i+1), &cataloguev1.Service{})
	}
	if len(c.m) > 50 {
		t.Fatalf("cache holds %d entries, max 50", len(c.m))
	}
}
