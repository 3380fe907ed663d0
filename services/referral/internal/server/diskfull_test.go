package server_test

import (
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/storage/storagetest"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// The referral service on a full disk (its data directory on a small loop-mounted filesystem, filled): writes
// are refused with RESOURCE_EXHAUSTED DISK_FULL, reads of personal data are served while their audit entry can
// still be written and fail closed with AUDIT_UNAVAILABLE once it cannot, nothing acknowledged is lost, and
// everything works again once space is freed, with no restart.
func TestFullDisk(t *testing.T) {
	enginetest.BboltOnly(t, "fills the disk under the data file")
	mnt := storagetest.SmallFilesystem(t, 32)
	t.Run("service", func(t *testing.T) {
		// The harness puts the data file in t.TempDir(), which is under TMPDIR: here, the small filesystem.
		t.Setenv("TMPDIR", mnt)
		h := start(t)
		if rel, err := filepath.Rel(mnt, h.store.Path()); err != nil || strings.HasPrefix(rel, "..") {
			t.Fatalf("data file %s is not on the small filesystem %s", h.store.Path(), mnt)
		}
		res, _, _ := h.seed(t, pesel(t, "530917", 8642), 0, 1)
		coord := h.coord(t)
		filler := filepath.Join(mnt, "filler")
		storagetest.Fill(t, filler)

		// Writes: refused once the file's free pages are used up too.
		var refused error
		for i := 0; i < 2000 && refused == nil; i++ {
			_, refused = h.client.CreateResident(coord, &referralv1.CreateResidentRequest{Resident: &referralv1.Resident{
				GivenName: "Anna", FamilyName: "Testowa", Pesel: pesel(t, "600101", 1000+i), HouseholdSize: 1, TerytCode: "3022053"}})
		}
		if status.Code(refused) != codes.ResourceExhausted || errReason(refused) != "DISK_FULL" {
			t.Fatalf("write on a full disk: %v (reason %q), want RESOURCE_EXHAUSTED DISK_FULL", refused, errReason(refused))
		}
		// Reads of personal data: served while their audit entry fits, then refused, never served unaudited.
		var readErr error
		served := 0
		for i := 0; i < 5000 && readErr == nil; i++ {
			if _, readErr = h.client.GetResident(coord, &referralv1.GetResidentRequest{Name: res}); readErr == nil {
				served++
			}
		}
		if status.Code(readErr) != codes.Unavailable || errReason(readErr) != "AUDIT_UNAVAILABLE" {
			t.Fatalf("read of personal data on a full disk: %v (reason %q), want UNAVAILABLE AUDIT_UNAVAILABLE", readErr, errReason(readErr))
		}
		audited := len(entriesOf(t, h, "GetResident"))
		if audited != served {
			t.Fatalf("%d reads served, %d audited", served, audited)
		}

		// Space freed: writes and reads resume by themselves.
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		syscall.Sync()
		if _, err := h.client.GetResident(coord, &referralv1.GetResidentRequest{Name: res}); err != nil {
			t.Fatalf("read after space was freed: %v", err)
		}
		h.seed(t, pesel(t, "700101", 4321), 0, 1)
		t.Logf("%d reads served on the full disk (all audited) before AUDIT_UNAVAILABLE", served)
	})
}
