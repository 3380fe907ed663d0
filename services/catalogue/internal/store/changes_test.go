package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

func openTest(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func changeCount(s *Store) int {
	n := 0
	_ = s.be.View(func(tx storage.ReadTx) error { n = tx.Count(storage.BucketChanges); return nil })
	return n
}

// Updates replace a resource's entry in the change log instead of adding one: the log stays one entry per
// resource however often they change.
func TestUpdatesKeepOneChangeEntryPerResource(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "c.db"))
	defer s.Close()
	ctx := context.Background()
	var ids []string
	for i := 0; i < 10; i++ {
		id := uuid.NewString()
		ids = append(ids, id)
		if _, _, _, err := s.CreateService(ctx, id, &cataloguev1.Service{DisplayName: "s"}, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	for round := 0; round < 20; round++ {
		for _, id := range ids {
			if _, _, err := s.UpdateService(ctx, id, func(cur *cataloguev1.Service) error {
				cur.Description = fmt.Sprint("round ", round)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := changeCount(s); n != len(ids) {
		t.Fatalf("%d change entries after 200 updates of %d services, want %d", n, len(ids), len(ids))
	}
	changes, _, err := s.ListChanges(0, 100)
	if err != nil || len(changes) != len(ids) {
		t.Fatalf("feed: %d changes, %v", len(changes), err)
	}
	for _, c := range changes {
		if c.GetService().GetDescription() != "round 19" || c.GetService().GetEtag() != Etag(c.GetRevision()) {
			t.Fatalf("feed entry is not the current record: %v", c)
		}
	}
	if _, err := s.DeleteService(ctx, ids[0], func(*cataloguev1.Service) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if n := changeCount(s); n != len(ids) { // nine upserts and one tombstone
		t.Fatalf("%d entries after a delete, want %d", n, len(ids))
	}
}

// A data file of schema 1 (full copies in the change log, request records without a time) is rewritten at
// start-up: superseded entries go, the rest refer to the records, request ids still replay.
func TestMigrationCompactsAVersion1ChangeLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	be, err := storage.Open(path, storage.Options{Buckets: []storage.Bucket{bucketServices, bucketProgrammes, bucketPeers, bucketFeed}, SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	id := uuid.NewString()
	hash := bytes.Repeat([]byte{1}, 32)
	err = be.Update(context.Background(), func(tx storage.Tx) error {
		for v := 0; v < 3; v++ { // three versions of one service, each copied into the log
			rev := tx.NextRevision()
			svc := &cataloguev1.Service{Name: "services/" + id, DisplayName: fmt.Sprint("v", v), Etag: Etag(rev)}
			rec, err := encode(rev, svc)
			if err != nil {
				return err
			}
			if err := tx.Put(bucketServices, []byte(id), rec); err != nil {
				return err
			}
			b, _ := proto.Marshal(&cataloguev1.Change{Revision: rev, ResourceName: "services/" + id, ChangeTime: timestamppb.Now(),
				Type: cataloguev1.ChangeType_CHANGE_TYPE_UPSERT, Resource: &cataloguev1.Change_Service{Service: svc}})
			if err := tx.AppendChange(rev, b); err != nil {
				return err
			}
			if v == 0 {
				if err := tx.Put(storage.BucketRequests, requestKey("CreateService", "req-1"), append(append([]byte(nil), hash...), rec[8:]...)); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	be.Close()

	s := openTest(t, path)
	defer s.Close()
	if n := changeCount(s); n != 1 {
		t.Fatalf("%d change entries after migration, want 1", n)
	}
	changes, _, err := s.ListChanges(0, 10)
	if err != nil || len(changes) != 1 || changes[0].GetService().GetDisplayName() != "v2" {
		t.Fatalf("feed after migration: %v %v", changes, err)
	}
	_ = s.be.View(func(tx storage.ReadTx) error {
		if c := (&cataloguev1.Change{}); proto.Unmarshal(tx.Get(storage.BucketChanges, storage.RevisionKey(3)), c) != nil || c.GetResource() != nil {
			t.Errorf("migrated entry still copies the resource: %v", c)
		}
		return nil
	})
	got, _, replayed, err := s.CreateService(context.Background(), uuid.NewString(), &cataloguev1.Service{}, "req-1", hash)
	if err != nil || !replayed || got.GetDisplayName() != "v2" || got.GetName() != "services/"+id {
		t.Fatalf("request id after migration: %v replayed=%v %v", got, replayed, err)
	}
}

// Expired request ids are forgotten: the same id then starts a new request.
func TestExpiredRequestIDsAreForgotten(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "c.db"))
	defer s.Close()
	ctx := context.Background()
	h1, h2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	if _, _, _, err := s.CreateService(ctx, uuid.NewString(), &cataloguev1.Service{}, "r", h1); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.CreateService(ctx, uuid.NewString(), &cataloguev1.Service{}, "r", h2); !errors.Is(err, apierr.ErrRequestIDReused) {
		t.Fatalf("reuse inside the window: %v", err)
	}
	if n, err := s.be.ExpireRequests(ctx, time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Fatalf("ExpireRequests = %d, %v", n, err)
	}
	if _, _, replayed, err := s.CreateService(ctx, uuid.NewString(), &cataloguev1.Service{}, "r", h2); err != nil || replayed {
		t.Fatalf("after expiry: replayed=%v %v", replayed, err)
	}
}
