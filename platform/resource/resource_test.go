package resource_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/paging"
	"github.com/cus-suite/cus/platform/resource"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

const (
	bucketItems storage.Bucket = "items"
	bucketIndex storage.Bucket = "items_by_display_name"
)

var (
	errNotFound = apierr.New(apierr.KindNotFound, "ITEM_NOT_FOUND", "no such item")
	errExists   = apierr.New(apierr.KindAlreadyExists, "ITEM_EXISTS", "the item exists")
	errTaken    = apierr.New(apierr.KindAlreadyExists, "DISPLAY_NAME_TAKEN", "another item has this display name")
)

// items is a test kind over a real message with every stamped field: unique display names kept in an index
// by the hooks, a change record of every write.
func items(replay resource.Replay) *resource.Kind[*cataloguev1.Programme] {
	return &resource.Kind[*cataloguev1.Programme]{
		Bucket: bucketItems, New: func() *cataloguev1.Programme { return &cataloguev1.Programme{} },
		Name:     func(key string) string { return "items/" + key },
		Key:      func(name string) string { return strings.TrimPrefix(name, "items/") },
		NotFound: errNotFound, Exists: errExists, Replay: replay,
		Change: func(c resource.Change[*cataloguev1.Programme]) ([]byte, error) {
			ch := &cataloguev1.Change{Revision: c.Rev, ResourceName: c.Name, ChangeTime: timestamppb.New(c.Time), Type: cataloguev1.ChangeType_CHANGE_TYPE_UPSERT}
			if c.Deleted {
				ch.Type = cataloguev1.ChangeType_CHANGE_TYPE_DELETE
			}
			return proto.Marshal(ch)
		},
		Check: func(tx storage.ReadTx, key string, _, cur *cataloguev1.Programme) error {
			if owner := tx.Get(bucketIndex, []byte(cur.GetDisplayName())); owner != nil && string(owner) != key {
				return errTaken
			}
			return nil
		},
		Index: func(tx storage.Tx, key string, old, cur *cataloguev1.Programme) error {
			if old.GetDisplayName() == cur.GetDisplayName() {
				return nil
			}
			if was := old.GetDisplayName(); was != "" {
				if err := tx.Delete(bucketIndex, []byte(was)); err != nil {
					return err
				}
			}
			if is := cur.GetDisplayName(); is != "" {
				return tx.Put(bucketIndex, []byte(is), []byte(key))
			}
			return nil
		},
	}
}

func open(t *testing.T) *storage.Backend {
	t.Helper()
	be, err := storage.Open(filepath.Join(t.TempDir(), "data.db"), storage.Options{Buckets: []storage.Bucket{bucketItems, bucketIndex}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = be.Close() })
	return be
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func create(be *storage.Backend, k *resource.Kind[*cataloguev1.Programme], key, display string, req resource.Req) (out *cataloguev1.Programme, replayed bool, err error) {
	err = be.Update(context.Background(), func(tx storage.Tx) error {
		out, replayed, err = k.Create(tx, key, &cataloguev1.Programme{DisplayName: display}, resource.Write[*cataloguev1.Programme]{Req: req, Now: t0})
		return err
	})
	return out, replayed, err
}

// changes reads the change log as "revision type name" lines.
func changes(t *testing.T, be *storage.Backend) []string {
	t.Helper()
	list, _, err := storage.ListChanges(be, 0, 100, func() *cataloguev1.Change { return &cataloguev1.Change{} })
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range list {
		out = append(out, fmt.Sprintf("%d %s %s", c.GetRevision(), c.GetType(), c.GetResourceName()))
	}
	return out
}

func TestCreateStampsAndReplays(t *testing.T) {
	for _, mode := range []resource.Replay{resource.ReplayResponse, resource.ReplayKey, resource.ReplayName} {
		t.Run(fmt.Sprint(mode), func(t *testing.T) {
			be := open(t)
			k := items(mode)
			req := resource.Req{Method: "CreateItem", ID: "req-1", Hash: []byte("hash of the first request.......")}
			first, replayed, err := create(be, k, "a", "Świetlica", req)
			if err != nil || replayed {
				t.Fatalf("create: %v, replayed %v", err, replayed)
			}
			if first.GetName() != "items/a" || first.GetEtag() != storage.Etag(1) ||
				!first.GetCreateTime().AsTime().Equal(t0) || !first.GetUpdateTime().AsTime().Equal(t0) {
				t.Fatalf("stamped fields: %v", first)
			}
			// The retry answers as the first request did and writes nothing.
			again, replayed, err := create(be, k, "b", "Świetlica", req)
			if err != nil || !replayed || !proto.Equal(again, first) {
				t.Fatalf("retry: %v, replayed %v, %v", err, replayed, again)
			}
			if be.Revision() != 1 {
				t.Fatalf("the retry wrote: revision %d", be.Revision())
			}
			// The same id for another request is refused, as every service refused it before the kit.
			other := req
			other.Hash = []byte("hash of another request.........")
			_, _, err = create(be, k, "c", "Klub", other)
			var ae *apierr.Error
			if !errors.Is(err, apierr.ErrRequestIDReused) || !errors.As(err, &ae) || ae.Kind != apierr.KindInvalidArgument {
				t.Fatalf("another request under the same id: %v", err)
			}
			// Without a request id, a second create of the key is ALREADY_EXISTS naming it.
			_, _, err = create(be, k, "a", "Klub", resource.Req{})
			if !errors.Is(err, errExists) || !strings.Contains(fmt.Sprint(errorInfo(err)), "items/a") {
				t.Fatalf("second create of a key: %v %v", err, errorInfo(err))
			}
		})
	}
}

func errorInfo(err error) map[string]string {
	var ae *apierr.Error
	if errors.As(err, &ae) {
		return ae.Metadata
	}
	return nil
}

// A retry of a create whose resource was deleted since cannot answer with it (ReplayKey, ReplayName).
func TestReplayOfDeletedResource(t *testing.T) {
	be := open(t)
	k := items(resource.ReplayKey)
	req := resource.Req{Method: "CreateItem", ID: "req-1", Hash: make([]byte, 32)}
	if _, _, err := create(be, k, "a", "A", req); err != nil {
		t.Fatal(err)
	}
	if err := be.Update(context.Background(), func(tx storage.Tx) error {
		_, err := k.Delete(tx, "a", resource.Write[*cataloguev1.Programme]{Now: t0})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	_, _, err := create(be, k, "a", "A", req)
	if !errors.Is(err, errNotFound) || errorInfo(err)["resource"] != "items/a" {
		t.Fatalf("retry after delete: %v %v", err, errorInfo(err))
	}
}

// The record, its index entries, its change and its idempotency record are one write: a hook that fails
// leaves none of them.
func TestHookFailureAbortsTheWrite(t *testing.T) {
	be := open(t)
	k := items(resource.ReplayName)
	if _, _, err := create(be, k, "a", "Świetlica", resource.Req{}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("audit unavailable")
	cases := []struct {
		name string
		w    resource.Write[*cataloguev1.Programme]
		want error
	}{
		{"kind check (uniqueness)", resource.Write[*cataloguev1.Programme]{}, errTaken},
		{"call check", resource.Write[*cataloguev1.Programme]{Check: func(storage.Tx, *cataloguev1.Programme, *cataloguev1.Programme) error { return boom }}, boom},
		{"after the write", resource.Write[*cataloguev1.Programme]{After: func(storage.Tx, *cataloguev1.Programme, int64) error { return boom }}, boom},
		{"before", resource.Write[*cataloguev1.Programme]{Before: func(storage.Tx) error { return boom }}, boom},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			display := "Klub"
			if errors.Is(c.want, errTaken) {
				display = "Świetlica"
			}
			c.w.Req = resource.Req{Method: "CreateItem", ID: "req-" + c.name, Hash: make([]byte, 32)}
			c.w.Now = t0
			err := be.Update(context.Background(), func(tx storage.Tx) error {
				_, _, err := k.Create(tx, "b", &cataloguev1.Programme{DisplayName: display}, c.w)
				return err
			})
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
			if be.Revision() != 1 {
				t.Fatalf("revision %d after a failed write", be.Revision())
			}
			_ = be.View(func(tx storage.ReadTx) error {
				if tx.Get(bucketItems, []byte("b")) != nil || tx.Get(bucketIndex, []byte("Klub")) != nil {
					t.Error("the record or its index entry was written")
				}
				if _, found, _ := resource.Replayed(tx, c.w.Req); found {
					t.Error("the request id was remembered")
				}
				return nil
			})
			if got := changes(t, be); len(got) != 1 {
				t.Fatalf("changes: %v", got)
			}
		})
	}
}

func TestUpdateDeleteAndChanges(t *testing.T) {
	be := open(t)
	k := items(resource.ReplayKey)
	ctx := context.Background()
	if _, _, err := create(be, k, "a", "A", resource.Req{}); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	update := func(etag, display string) (*cataloguev1.Programme, error) {
		var out *cataloguev1.Programme
		err := be.Update(ctx, func(tx storage.Tx) error {
			var err error
			out, _, err = k.Update(tx, "a", resource.Write[*cataloguev1.Programme]{Now: later, Etag: etag}, func(cur *cataloguev1.Programme) error {
				cur.DisplayName = display
				return nil
			})
			return err
		})
		return out, err
	}
	if _, err := update(storage.Etag(7), "B"); !errors.Is(err, apierr.ErrStaleEtag) {
		t.Fatalf("stale etag: %v", err)
	}
	got, err := update(storage.Etag(1), "B")
	if err != nil {
		t.Fatal(err)
	}
	if got.GetEtag() != storage.Etag(2) || !got.GetCreateTime().AsTime().Equal(t0) || !got.GetUpdateTime().AsTime().Equal(later) {
		t.Fatalf("update stamped %v", got)
	}
	var rev int64
	if err := be.Update(ctx, func(tx storage.Tx) error {
		rev, err = k.Delete(tx, "a", resource.Write[*cataloguev1.Programme]{Now: later})
		return err
	}); err != nil || rev != 3 {
		t.Fatalf("delete: rev %d, %v", rev, err)
	}
	_ = be.View(func(tx storage.ReadTx) error {
		if _, _, err := k.Get(tx, "a"); !errors.Is(err, errNotFound) {
			t.Errorf("get after delete: %v", err)
		}
		if tx.Get(bucketIndex, []byte("A")) != nil || tx.Get(bucketIndex, []byte("B")) != nil {
			t.Error("the index kept an entry of a deleted item")
		}
		return nil
	})
	want := []string{"1 CHANGE_TYPE_UPSERT items/a", "2 CHANGE_TYPE_UPSERT items/a", "3 CHANGE_TYPE_DELETE items/a"}
	if got := changes(t, be); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("changes %v, want %v", got, want)
	}
}

// In a key-compacted log a write removes the entry of the version it supersedes.
func TestKeyCompactedLogKeepsTheNewestEntry(t *testing.T) {
	be := open(t)
	k := items(resource.ReplayKey)
	k.KeyCompacted = true
	ctx := context.Background()
	for i, display := range []string{"A", "B", "C"} {
		if err := be.Update(ctx, func(tx storage.Tx) error {
			_, err := k.Put(tx, "a", &cataloguev1.Programme{DisplayName: display}, t0.Add(time.Duration(i)*time.Minute))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	if got := changes(t, be); fmt.Sprint(got) != "[3 CHANGE_TYPE_UPSERT items/a]" {
		t.Fatalf("changes %v", got)
	}
	var p *cataloguev1.Programme
	_ = be.View(func(tx storage.ReadTx) error { p, _, _ = k.Get(tx, "a"); return nil })
	// Put read the stored version: the create time is the first write's.
	if !p.GetCreateTime().AsTime().Equal(t0) || p.GetDisplayName() != "C" {
		t.Fatalf("after puts: %v", p)
	}
}

func TestPageTokens(t *testing.T) {
	be := open(t)
	k := items(resource.ReplayKey)
	for i := range 7 {
		if _, _, err := create(be, k, fmt.Sprintf("p%d", i), fmt.Sprintf("item %d", i), resource.Req{}); err != nil {
			t.Fatal(err)
		}
	}
	odd := func(p *cataloguev1.Programme) bool { return p.GetDisplayName() != "item 3" }
	digest := paging.Digest(&cataloguev1.ListProgrammesRequest{})
	var names []string
	token := ""
	pages := 0
	for {
		var page []*cataloguev1.Programme
		var err error
		_ = be.View(func(tx storage.ReadTx) error {
			page, token, err = k.Page(tx, "", odd, 2, token, digest)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, p := range page {
			names = append(names, p.GetName())
		}
		if token == "" {
			break
		}
		// A token of this query is refused by another query.
		other := paging.Digest(&cataloguev1.ListServicesRequest{Filter: "x"})
		_ = be.View(func(tx storage.ReadTx) error {
			_, _, err = k.Page(tx, "", odd, 2, token, other)
			return nil
		})
		if !errors.Is(err, apierr.ErrInvalidPageToken) {
			t.Fatalf("a token of another query: %v", err)
		}
	}
	want := "[items/p0 items/p1 items/p2 items/p4 items/p5 items/p6]"
	if fmt.Sprint(names) != want || pages != 3 {
		t.Fatalf("pages %d: %v, want %s", pages, names, want)
	}
	var after []*cataloguev1.Programme
	var more bool
	_ = be.View(func(tx storage.ReadTx) error {
		after, more, _ = k.After(tx, "p4", 1)
		return nil
	})
	if len(after) != 1 || after[0].GetName() != "items/p5" || !more {
		t.Fatalf("after p4: %v more %v", after, more)
	}
}

// A retry of an update already applied answers with the resource as it is and writes nothing.
func TestIdempotentUpdate(t *testing.T) {
	be := open(t)
	k := items(resource.ReplayName)
	if _, _, err := create(be, k, "a", "A", resource.Req{}); err != nil {
		t.Fatal(err)
	}
	req := resource.Req{Method: "RenameItem", ID: "r1", Hash: make([]byte, 32)}
	calls := 0
	rename := func() (*cataloguev1.Programme, bool, error) {
		var out *cataloguev1.Programme
		var replayed bool
		err := be.Update(context.Background(), func(tx storage.Tx) error {
			var err error
			out, replayed, err = k.Update(tx, "a", resource.Write[*cataloguev1.Programme]{Req: req, Now: t0}, func(cur *cataloguev1.Programme) error {
				calls++
				cur.DisplayName += "+"
				return nil
			})
			return err
		})
		return out, replayed, err
	}
	if _, replayed, err := rename(); err != nil || replayed {
		t.Fatal(err, replayed)
	}
	out, replayed, err := rename()
	if err != nil || !replayed || out.GetDisplayName() != "A+" || calls != 1 || be.Revision() != 2 {
		t.Fatalf("retry: %v %v %v calls %d rev %d", out, replayed, err, calls, be.Revision())
	}
	var payload []byte
	_ = be.View(func(tx storage.ReadTx) error {
		payload, _, _ = resource.Replayed(tx, req)
		payload = append([]byte(nil), payload...)
		return nil
	})
	if string(payload) != "items/a" {
		t.Fatalf("remembered %q", payload)
	}
}
