package server_test

import (
	"bytes"
	"context"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

func TestFeeSnapshotAtCreation(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "900101", 1111), 120000, 1) // 1200 zł single, 2026: criterion 1010 zł
	r := h.refer(t, res, con, kase, 0)
	f := r.GetFee()
	if f.GetBand() != 1 || f.GetPayablePercent() != 50 || f.GetAmountGrosze() != 1500 || f.GetCriterionGrosze() != 101000 || f.GetCriterionFrom() != "2025-01-01" {
		t.Fatalf("fee %v", f)
	}
	if r.GetStatus() != referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED || len(r.GetHistory()) != 1 {
		t.Fatalf("referral %v", r)
	}
}

func TestPESELIndexLookupUniquenessAndNoPlainPESEL(t *testing.T) {
	h := start(t)
	p := pesel(t, "440514", 135) // birth 1944-05-14
	res, _, _ := h.seed(t, p, 0, 1)
	ctx := h.coord(t)
	got, err := h.client.LookupResident(ctx, &referralv1.LookupResidentRequest{Pesel: p})
	if err != nil || got.GetName() != res || got.GetBirthDate() != "1944-05-14" {
		t.Fatalf("lookup: %v %v", got, err)
	}
	_, err = h.client.CreateResident(ctx, &referralv1.CreateResidentRequest{Resident: &referralv1.Resident{GivenName: "B", FamilyName: "C", Pesel: p, HouseholdSize: 1}})
	if status.Code(err) != codes.AlreadyExists || strings.Contains(err.Error(), p) {
		t.Fatalf("duplicate: %v", err)
	}
	bad := p[:10] + string('0'+(p[10]-'0'+1)%10)
	_, err = h.client.CreateResident(ctx, &referralv1.CreateResidentRequest{Resident: &referralv1.Resident{GivenName: "B", FamilyName: "C", Pesel: bad, HouseholdSize: 1}})
	if status.Code(err) != codes.InvalidArgument || strings.Contains(err.Error(), bad) || !violates(err, "resident.pesel") {
		t.Fatalf("bad check digit: %v", err)
	}
	// The index holds HMAC keys: the PESEL appears in the file only inside the resident record.
	var indexed int
	h.store.Close()
	enginetest.BboltOnly(t, "reads the data file's bytes through bbolt")
	db, err := bolt.Open(h.store.Path(), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("pesel_hmac")).ForEach(func(k, v []byte) error {
			indexed++
			if bytes.Contains(k, []byte(p)) || len(k) != 32 {
				t.Errorf("index key is not a keyed hash")
			}
			return nil
		})
	})
	db.Close()
	if indexed != 1 {
		t.Fatalf("index entries %d", indexed)
	}
}

func TestErasureLeavesNoPESELInTheFile(t *testing.T) {
	h := start(t)
	p := pesel(t, "781224", 4321)
	res, con, kase := h.seed(t, p, 50000, 2)
	ctx := h.coord(t)
	if _, err := h.client.CreatePlan(ctx, &referralv1.CreatePlanRequest{Parent: kase, Plan: &referralv1.Plan{Goals: []string{"samodzielność"}, StartDate: "2026-02-01"}}); err != nil {
		t.Fatal(err)
	}
	r := h.refer(t, res, con, kase, 0)
	if _, err := h.client.GetResident(ctx, &referralv1.GetResidentRequest{Name: res}); err != nil {
		t.Fatal(err)
	}
	// The records are encrypted at rest: the PESEL is not in the file in clear even before erasure (the
	// store's tests check that erasure removes the resident's ciphertext too).
	raw, _ := os.ReadFile(h.store.Path())
	if bytes.Contains(raw, []byte(p)) || bytes.Contains(raw, []byte("Testowa")) {
		t.Fatal("the PESEL or the family name is in the data file in clear")
	}
	out, err := h.client.EraseResident(h.as(t, auth.RoleDirector, ""), &referralv1.EraseResidentRequest{Name: res, Reason: "RODO art. 17"})
	if err != nil {
		t.Fatal(err)
	}
	if out.GetCases() != 1 || out.GetPlans() != 1 || out.GetReferrals() != 1 || out.GetConsents() != 1 {
		t.Fatalf("erased %v", out)
	}
	raw, _ = os.ReadFile(h.store.Path())
	for _, needle := range []string{p, "Testowa", "+48 600 000 000"} {
		if bytes.Contains(raw, []byte(needle)) {
			t.Fatalf("%q still in the data file after erasure", needle)
		}
	}
	// The service keeps working on the compacted file; the referral stays, anonymised, for statistics.
	got, err := h.client.GetReferral(ctx, &referralv1.GetReferralRequest{Name: r.GetName()})
	if err != nil || got.GetResident() != "" || got.GetStatus() != referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED {
		t.Fatalf("after erasure: %v %v", got, err)
	}
	if _, err := h.client.LookupResident(ctx, &referralv1.LookupResidentRequest{Pesel: p}); status.Code(err) != codes.NotFound {
		t.Fatalf("lookup after erasure: %v", err)
	}
	for _, e := range h.logs.All() {
		if strings.Contains(e.Message, p) || strings.Contains(toString(e.ContextMap()), p) {
			t.Fatal("a PESEL reached the logs")
		}
	}
}

func toString(m map[string]any) string {
	var b strings.Builder
	for k, v := range m {
		b.WriteString(k + "=")
		if s, ok := v.(string); ok {
			b.WriteString(s)
		}
		b.WriteString(" ")
	}
	return b.String()
}

func TestAuditChainRecordsAndDetectsTampering(t *testing.T) {
	h := start(t)
	res, _, _ := h.seed(t, pesel(t, "010203", 777), 0, 1)
	ctx := h.coord(t)
	if _, err := h.client.GetResident(ctx, &referralv1.GetResidentRequest{Name: res}); err != nil {
		t.Fatal(err)
	}
	// A refused call is audited too.
	if _, err := h.client.GetResident(h.as(t, auth.RoleOrganiser, ""), &referralv1.GetResidentRequest{Name: res}); status.Code(err) != codes.PermissionDenied {
		t.Fatal(err)
	}
	admin := h.as(t, auth.RoleAdmin, "")
	list, err := h.client.ListAuditEntries(admin, &referralv1.ListAuditEntriesRequest{Resource: res})
	if err != nil {
		t.Fatal(err)
	}
	var reads, denials int
	for _, e := range list.GetEntries() {
		if e.GetAction() == "GetResident" && e.GetDecision() == referralv1.AuditDecision_AUDIT_DECISION_ALLOWED {
			reads++
		}
		if e.GetDecision() == referralv1.AuditDecision_AUDIT_DECISION_DENIED && e.GetRole() == "organiser" {
			denials++
		}
	}
	if reads != 1 || denials != 1 {
		t.Fatalf("audit: %d reads, %d denials in %v", reads, denials, list.GetEntries())
	}
	v, err := h.client.VerifyAuditChain(admin, &referralv1.VerifyAuditChainRequest{})
	if err != nil || !v.GetOk() || v.GetEntries() < 5 {
		t.Fatalf("verify: %v %v", v, err)
	}
	// Tamper with one byte of entry 3 in the file, behind the service's back.
	h.store.Close()
	enginetest.BboltOnly(t, "tampers with the data file through bbolt")
	db, err := bolt.Open(h.store.Path(), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		k := []byte{0, 0, 0, 0, 0, 0, 0, 3}
		val := append([]byte(nil), b.Get(k)...)
		i := bytes.Index(val, []byte("u-coordinator"))
		val[i] = 'U'
		return b.Put(k, val)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(h.store.Path(), testKey, nil, store.WithDataKeys(testRing))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n, broken, err := st.VerifyAudit()
	if err != nil || broken != 3 {
		t.Fatalf("tampering not detected: %d entries, first broken %d, %v", n, broken, err)
	}
}

func TestProviderDownDuringAcceptWritesNothing(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "550607", 2468), 0, 1)
	r := h.refer(t, res, con, kase, 0)
	h.stopProvider()
	_, err := h.client.AcceptReferral(h.prov(t), &referralv1.AcceptReferralRequest{Name: r.GetName()})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("accept with the provider service down: %v", err)
	}
	now, _ := h.store.GetReferral(r.GetName()[len("referrals/"):])
	if now.GetEtag() != r.GetEtag() || now.GetStatus() != referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED || len(now.GetHistory()) != 1 {
		t.Fatalf("the referral changed: %v", now)
	}
}

func TestConcurrentAcceptAndRejectOneWins(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "600101", 1357), 0, 1)
	for round := 0; round < 10; round++ {
		r := h.refer(t, res, con, kase, 0)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, errs[0] = h.client.AcceptReferral(h.prov(t), &referralv1.AcceptReferralRequest{Name: r.GetName()})
		}()
		go func() {
			defer wg.Done()
			_, errs[1] = h.client.RejectReferral(h.prov(t), &referralv1.RejectReferralRequest{Name: r.GetName(), Reason: "brak miejsc"})
		}()
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch status.Code(err) {
			case codes.OK:
				ok++
			case codes.Aborted, codes.FailedPrecondition:
				// ABORTED when both read the same version; FAILED_PRECONDITION when one read the other's result.
			default:
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d winners (%v)", round, ok, errs)
		}
		now, _ := h.store.GetReferral(r.GetName()[len("referrals/"):])
		id := r.GetName()[len("referrals/"):]
		if (now.GetStatus() == referralv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED) != h.provider.held(id) {
			t.Fatalf("round %d: status %s but capacity held = %v", round, now.GetStatus(), h.provider.held(id))
		}
	}
}

func TestIdempotentRequestIDsAndCapacityRelease(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "700707", 8642), 0, 1)
	ctx := h.coord(t)
	req := &referralv1.CreateReferralRequest{RequestId: "0194c050-0000-7000-8000-00000000abcd", Referral: &referralv1.Referral{
		Resident: res, Consent: con, Case: kase, Service: serviceName, Provider: "providers/" + providerA, Agreement: agreementName}}
	a, err := h.client.CreateReferral(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.client.CreateReferral(ctx, req)
	if err != nil || b.GetName() != a.GetName() {
		t.Fatalf("repeat: %v %v", b.GetName(), err)
	}
	req.Referral.Note = "inna treść"
	if _, err := h.client.CreateReferral(ctx, req); status.Code(err) == codes.OK {
		t.Fatal("request id reused for another request was accepted")
	}
	id := a.GetName()[len("referrals/"):]
	acc := &referralv1.AcceptReferralRequest{Name: a.GetName(), RequestId: "0194c050-0000-7000-8000-00000000abce"}
	x, err := h.client.AcceptReferral(h.prov(t), acc)
	if err != nil {
		t.Fatal(err)
	}
	y, err := h.client.AcceptReferral(h.prov(t), acc)
	if err != nil || y.GetEtag() != x.GetEtag() || len(y.GetHistory()) != 2 {
		t.Fatalf("repeated accept: %v", err)
	}
	if !h.provider.held(id) {
		t.Fatal("accept did not reserve capacity")
	}
	if _, err := h.client.CancelReferral(ctx, &referralv1.CancelReferralRequest{Name: a.GetName(), Reason: "rezygnacja"}); err != nil {
		t.Fatal(err)
	}
	if h.provider.held(id) {
		t.Fatal("a terminal status did not release capacity")
	}
	// The provider sees the resident's name and contact (consent scope), never the PESEL.
	got, err := h.client.GetReferral(h.prov(t), &referralv1.GetReferralRequest{Name: a.GetName()})
	if err != nil || got.GetResidentSummary().GetFamilyName() != "Testowa" {
		t.Fatalf("provider view: %v %v", got, err)
	}
	// Another provider: exactly like a missing referral.
	_, err1 := h.client.GetReferral(h.as(t, auth.RoleProvider, providerB), &referralv1.GetReferralRequest{Name: a.GetName()})
	_, err2 := h.client.GetReferral(h.prov(t), &referralv1.GetReferralRequest{Name: "referrals/0194c050-0000-7000-8000-000000000999"})
	if status.Code(err1) != codes.NotFound || status.Convert(err1).Message() != status.Convert(err2).Message() {
		t.Fatalf("other provider: %v vs missing: %v", err1, err2)
	}
}

func TestWatchResumesAndFiltersByProvider(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "800808", 1122), 0, 1)
	from := h.store.Revision()
	draft := h.refer(t, res, con, kase, referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT)
	r := h.refer(t, res, con, kase, 0)
	ctx, cancel := context.WithCancel(h.prov(t))
	defer cancel()
	s, err := h.client.WatchReferrals(ctx, &referralv1.WatchReferralsRequest{AfterRevision: from})
	if err != nil {
		t.Fatal(err)
	}
	e := nextChange(t, s)
	if e.GetReferral().GetName() != r.GetName() {
		t.Fatalf("first event %v (draft %s must be hidden)", e, draft.GetName())
	}
	if _, err := h.client.ReceiveReferral(h.prov(t), &referralv1.ReceiveReferralRequest{Name: r.GetName()}); err != nil {
		t.Fatal(err)
	}
	e2 := nextChange(t, s)
	if e2.GetReferral().GetStatus() != referralv1.ReferralStatus_REFERRAL_STATUS_RECEIVED || e2.GetRevision() <= e.GetRevision() {
		t.Fatalf("live event %v", e2)
	}
	// Provider B sees nothing.
	ctxB, cancelB := context.WithTimeout(h.as(t, auth.RoleProvider, providerB), 300e6)
	defer cancelB()
	sb, _ := h.client.WatchReferrals(ctxB, &referralv1.WatchReferralsRequest{AfterRevision: from})
	for {
		ev, err := sb.Recv()
		if err != nil {
			break
		}
		if !ev.GetHeartbeat() {
			t.Fatalf("provider B received %v", ev)
		}
	}
	_ = filepath.Join
}

func violates(err error, field string) bool {
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				if v.GetField() == field {
					return true
				}
			}
		}
	}
	return false
}
