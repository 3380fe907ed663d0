package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/resource/resourcetest"
	"github.com/cus-suite/cus/platform/storage"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// layoutDigest is the digest of the data file written by TestStoredBytesUnchanged, as the store wrote it before
// the resource kit (computed with that code): records, change records and idempotency records are byte for
// byte what they were, so files written before read back unchanged and no migration is needed. A deliberate
// change of the layout changes it, with a migration.
const layoutDigest = "25413247e12ac7dc3fff830dc8065ec197e77c166d60e8a066708de3df12a93e"

// TestStoredBytesUnchanged writes services and programmes through every write of the store at a fixed time and
// compares what the file holds with layoutDigest.
func TestStoredBytesUnchanged(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "catalogue.db"))
	defer s.Close()
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return at }
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	const s1, s2, s3 = "0194c050-3022-7053-8000-000000000001", "0194c050-3022-7053-8000-000000000002", "0194c050-3022-7053-8000-000000000003"
	const p1 = "0194c050-3022-7053-9000-000000000001"
	hash := make([]byte, 32)
	svc := &cataloguev1.Service{DisplayName: "Świetlica środowiskowa", Areas: []cataloguev1.Area{cataloguev1.Area_AREA_CULTURE}}
	_, _, _, err := s.CreateService(ctx, s1, svc, "req-1", hash)
	must(err)
	_, _, _, err = s.CreateService(ctx, s1, svc, "req-1", hash) // a retry: nothing written
	must(err)
	_, _, _, err = s.CreateService(ctx, s2, &cataloguev1.Service{DisplayName: "Klub seniora"}, "", nil)
	must(err)
	at = at.Add(time.Minute)
	_, _, err = s.UpdateService(ctx, s1, func(cur *cataloguev1.Service) error {
		cur.Description = "Zajęcia po szkole"
		return nil
	})
	must(err)
	_, _, _, err = s.CreateProgramme(ctx, p1, &cataloguev1.Programme{DisplayName: "PUS 2026", Services: []string{"services/" + s1}}, "req-2", hash)
	must(err)
	at = at.Add(time.Minute)
	_, _, err = s.UpdateProgramme(ctx, p1, func(cur *cataloguev1.Programme) error {
		cur.Services = append(cur.Services, "services/"+s2)
		return nil
	})
	must(err)
	_, _, err = s.ImportServices(ctx, []*cataloguev1.Service{{DisplayName: "Klub seniora 60+"}, {DisplayName: "Punkt nieodpłatnej pomocy prawnej"}}, []string{s2, s3})
	must(err)
	_, err = s.DeleteProgramme(ctx, p1, func(*cataloguev1.Programme) error { return nil })
	must(err)
	_, err = s.DeleteService(ctx, s3, func(*cataloguev1.Service) error { return nil })
	must(err)

	got := resourcetest.Digest(t, s.be, []storage.Bucket{bucketServices, bucketProgrammes, bucketImportKeys, storage.BucketChanges, storage.BucketRequests}, nil)
	if got != layoutDigest {
		t.Fatalf("the data file's bytes changed: digest %s, want %s", got, layoutDigest)
	}
}
