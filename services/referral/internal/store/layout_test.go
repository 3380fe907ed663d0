package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/resource/resourcetest"
	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// layoutDigest is the digest of what TestStoredContentUnchanged writes, as the store wrote it before the
// resource kit (computed with that code): the sealed records and feed entries open to the same revisions and
// bytes, and the PESEL and provider indexes, the audit chain and the idempotency records are byte for byte
// what they were (sealing draws a fresh nonce, so sealed values are compared opened). A deliberate change of
// the layout changes it, with a migration.
const layoutDigest = "2dfe70e8b8529c9c09d678587bca769088f2194372804cd910afec0cb9eba9c6"

// TestStoredContentUnchanged runs every write of the store at a fixed time, each with an audit entry, and
// compares what the file holds with layoutDigest.
func TestStoredContentUnchanged(t *testing.T) {
	s := openStore(t, filepath.Join(t.TempDir(), "referral.db"), testRing(t, "k1"))
	defer s.Close()
	at := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return at })
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	hash := make([]byte, 32)
	w := func(method, id string) Write {
		return Write{Req: Req{Method: method, ID: id, Hash: hash}, Audit: &referralv1.AuditEntry{Subject: "u-coordinator", Role: "coordinator", Action: method}}
	}
	p := people(t)
	const cid, caseID, planID, refID = "0194c050-cccc-7000-8000-000000000001", "0194c050-dddd-7000-8000-000000000001", "0194c050-eeee-7000-8000-000000000001", "0194c050-ffff-7000-8000-000000000001"
	res := &referralv1.Resident{GivenName: p[0].given, FamilyName: p[0].family, Pesel: p[0].pesel, HouseholdSize: 2}
	_, _, err := s.CreateResident(ctx, p[0].id, res, w("CreateResident", "req-1"))
	must(err)
	_, _, err = s.CreateResident(ctx, p[0].id, res, w("CreateResident", "req-1")) // a retry: nothing written
	must(err)
	at = at.Add(time.Minute)
	_, err = s.UpdateResident(ctx, p[0].id, func(r *referralv1.Resident) error { r.Pesel = p[1].pesel; return nil }, w("UpdateResident", ""))
	must(err)
	_, _, err = s.CreateConsent(ctx, p[0].id, cid, &referralv1.Consent{Purpose: "skierowanie"}, w("CreateConsent", "req-2"))
	must(err)
	at = at.Add(time.Minute)
	_, err = s.WithdrawConsent(ctx, p[0].id, cid, "", w("WithdrawConsent", ""))
	must(err)
	_, _, err = s.CreateCase(ctx, caseID, &referralv1.Case{Resident: "residents/" + p[0].id, Notes: "wsparcie"}, w("CreateCase", "req-3"))
	must(err)
	_, err = s.UpdateCase(ctx, caseID, func(c *referralv1.Case) error { c.Notes = "wsparcie i opieka"; return nil }, w("UpdateCase", ""))
	must(err)
	_, _, err = s.CreatePlan(ctx, caseID, planID, &referralv1.Plan{}, func(*referralv1.Case, *referralv1.Plan) error { return nil }, w("CreatePlan", "req-4"))
	must(err)
	_, err = s.UpdatePlan(ctx, caseID, planID, func(p *referralv1.Plan) error { p.Status = referralv1.PlanStatus_PLAN_STATUS_APPROVED; return nil }, w("UpdatePlan", "req-5"))
	must(err)
	_, err = s.UpdatePlan(ctx, caseID, planID, func(p *referralv1.Plan) error { return fmt.Errorf("a retry must not mutate") }, w("UpdatePlan", "req-5"))
	must(err)
	_, _, err = s.CreateReferral(ctx, refID, &referralv1.Referral{Provider: "providers/0194c050-3022-7053-b000-00000000000a", Case: "cases/" + caseID, Note: "opieka",
		History: []*referralv1.Transition{{To: referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT}}}, func(Reader) error { return nil }, w("CreateReferral", "req-6"))
	must(err)
	at = at.Add(time.Minute)
	_, err = s.UpdateReferral(ctx, refID, func(r *referralv1.Referral, now time.Time) error { r.Note = "opieka wytchnieniowa"; return nil }, w("UpdateReferral", "req-7"))
	must(err)

	got := resourcetest.Digest(t, s.be, []storage.Bucket{bucketResidents, bucketPESEL, bucketConsents, bucketCases, bucketPlans, bucketReferrals,
		bucketByProvider, bucketAudit, bucketAuditHead, storage.BucketChanges, storage.BucketRequests},
		func(b storage.Bucket, k, v []byte) ([]byte, error) {
			if b != storage.BucketChanges && !slices.Contains(sealedBuckets, b) {
				return v, nil
			}
			var m proto.Message = &referralv1.ReferralEvent{}
			switch b {
			case bucketResidents:
				m = &referralv1.Resident{}
			case bucketConsents:
				m = &referralv1.Consent{}
			case bucketCases:
				m = &referralv1.Case{}
			case bucketPlans:
				m = &referralv1.Plan{}
			case bucketReferrals:
				m = &referralv1.Referral{}
			}
			rev, err := s.decode(b, k, v, m)
			if err != nil {
				return nil, err
			}
			return storage.EncodeRecord(rev, m)
		})
	if got != layoutDigest {
		t.Fatalf("the data file's content changed: digest %s, want %s", got, layoutDigest)
	}
}
