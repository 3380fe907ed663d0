package server_test

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

func reasonOf(err error) string {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

// wantRefused checks an error's code, reason (when given) and the field it names (when given).
func wantRefused(t *testing.T, what string, err error, code codes.Code, reason, field string) {
	t.Helper()
	if status.Code(err) != code || (reason != "" && reasonOf(err) != reason) || (field != "" && !violates(err, field)) {
		t.Fatalf("%s: %v (reason %q), want %s %s naming %q", what, err, reasonOf(err), code, reason, field)
	}
}

func (h *harness) referralTo(t *testing.T, resident, consent, provider, agreement string) (*referralv1.Referral, error) {
	t.Helper()
	return h.client.CreateReferral(h.coord(t), &referralv1.CreateReferralRequest{Referral: &referralv1.Referral{
		Resident: resident, Consent: consent, Service: serviceName, Provider: "providers/" + provider, Agreement: agreement}})
}

func referralCount(t *testing.T, h *harness) int {
	t.Helper()
	n := 0
	if err := h.store.ForEachReferral(func(*referralv1.Referral) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestReferralNeedsAnAgreementInForceForItsServiceAndProvider(t *testing.T) {
	h := start(t)
	res, con, _ := h.seed(t, pesel(t, "520311", 2221), 0, 1)
	for _, c := range []struct {
		name, provider, agreement string
		code                      codes.Code
		reason                    string
	}{
		{"suspended", providerA, agreementSuspended, codes.FailedPrecondition, "AGREEMENT_NOT_ACTIVE"},
		{"ended", providerA, agreementExpired, codes.FailedPrecondition, "AGREEMENT_NOT_IN_FORCE"},
		{"not yet started", providerA, agreementFuture, codes.FailedPrecondition, "AGREEMENT_NOT_IN_FORCE"},
		{"for another service", providerA, agreementOtherSvc, codes.FailedPrecondition, "AGREEMENT_NOT_VALID"},
		{"unknown", providerA, "providers/" + providerA + "/agreements/0194c050-3022-7053-c000-000000000099", codes.FailedPrecondition, "AGREEMENT_NOT_FOUND"},
		{"of another provider", providerA, agreementOfB, codes.InvalidArgument, "INVALID_FIELDS"},
	} {
		_, err := h.referralTo(t, res, con, c.provider, c.agreement)
		field := "referral.agreement"
		if c.reason == "AGREEMENT_NOT_FOUND" {
			field = ""
		}
		wantRefused(t, c.name, err, c.code, c.reason, field)
	}
	if n := referralCount(t, h); n != 0 {
		t.Fatalf("%d referrals written by refused calls", n)
	}
	if _, err := h.referralTo(t, res, con, providerB, agreementOfB); err != nil {
		t.Fatalf("provider B's active agreement: %v", err)
	}
	if _, err := h.referralTo(t, res, con, providerA, agreementName); err != nil {
		t.Fatalf("provider A's active agreement: %v", err)
	}
}

func TestCatalogueDownDuringCreateWritesNothing(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "480815", 3331), 0, 1)
	h.stopCatalog()
	rev := h.store.Revision()
	_, err := h.client.CreateReferral(h.coord(t), &referralv1.CreateReferralRequest{RequestId: "0194c050-0000-7000-8000-00000000cafe",
		Referral: &referralv1.Referral{Resident: res, Consent: con, Case: kase, Service: serviceName, Provider: "providers/" + providerA, Agreement: agreementName}})
	wantRefused(t, "create with the catalogue down", err, codes.Unavailable, "CATALOGUE_UNAVAILABLE", "")
	if n := referralCount(t, h); n != 0 {
		t.Fatalf("%d referrals written with the catalogue down", n)
	}
	if ev, err := h.store.ReferralChanges(0, 10); err != nil || len(ev) != 0 {
		t.Fatalf("change feed after the failure: %v %v", ev, err)
	}
	// Only the audit entry of the failed call was committed (no referral, no idempotency record).
	if got := h.store.Revision(); got > rev+1 {
		t.Fatalf("revision moved from %d to %d", rev, got)
	}
	if name, err := h.store.ReplayedName(storeReq("CreateReferral", "0194c050-0000-7000-8000-00000000cafe")); err != nil || name != "" {
		t.Fatalf("request id remembered: %q %v", name, err)
	}
}

func TestUpdateResidentMaskEtagAndPESELIndex(t *testing.T) {
	h := start(t)
	ctx := h.coord(t)
	p1, p2, p3 := pesel(t, "440514", 135), pesel(t, "851102", 4562), pesel(t, "030215", 1234)
	res, _, _ := h.seed(t, p1, 0, 1)
	other, _, _ := h.seed(t, p3, 0, 1)
	cur, err := h.client.GetResident(ctx, &referralv1.GetResidentRequest{Name: res})
	if err != nil {
		t.Fatal(err)
	}
	// A plain field, with the current etag.
	up, err := h.client.UpdateResident(ctx, &referralv1.UpdateResidentRequest{Resident: &referralv1.Resident{Name: res, Etag: cur.GetEtag(), Phone: "+48 601 111 222", GivenName: "ignored"},
		UpdateMask: mask("phone")})
	if err != nil || up.GetPhone() != "+48 601 111 222" || up.GetGivenName() != "Anna" || up.GetEtag() == cur.GetEtag() {
		t.Fatalf("update phone: %v %v", up, err)
	}
	// The old etag is stale now.
	_, err = h.client.UpdateResident(ctx, &referralv1.UpdateResidentRequest{Resident: &referralv1.Resident{Name: res, Etag: cur.GetEtag(), Phone: "+48 600 000 001"}, UpdateMask: mask("phone")})
	wantRefused(t, "stale etag", err, codes.Aborted, "STALE_ETAG", "")
	// Output-only, unknown and invalid values are INVALID_ARGUMENT naming the field.
	for _, m := range [][]string{{"create_time"}, {"update_time"}, {"no_such_field"}, {"phone", "phone"}, {"address.no_such"}} {
		_, err = h.client.UpdateResident(ctx, &referralv1.UpdateResidentRequest{Resident: &referralv1.Resident{Name: res}, UpdateMask: mask(m...)})
		wantRefused(t, "mask "+strings.Join(m, ","), err, codes.InvalidArgument, "", "update_mask")
	}
	_, err = h.client.UpdateResident(ctx, &referralv1.UpdateResidentRequest{Resident: &referralv1.Resident{Name: res, HouseholdSize: 0}, UpdateMask: mask("household_size")})
	wantRefused(t, "household size 0", err, codes.InvalidArgument, "", "resident.household_size")
	// A corrected PESEL re-derives birth date and sex, and the index follows it.
	up, err = h.client.UpdateResident(ctx, &referralv1.UpdateResidentRequest{Resident: &referralv1.Resident{Name: res, Pesel: p2}, UpdateMask: mask("pesel")})
	if err != nil || up.GetBirthDate() != "1985-11-02" || up.GetSex() != referralv1.Sex_SEX_FEMALE {
		t.Fatalf("PESEL change: %v %v", up, err)
	}
	if got, err := h.client.LookupResident(ctx, &referralv1.LookupResidentRequest{Pesel: p2}); err != nil || got.GetName() != res {
		t.Fatalf("lookup by the new PESEL: %v %v", got, err)
	}
	if _, err := h.client.LookupResident(ctx, &referralv1.LookupResidentRequest{Pesel: p1}); status.Code(err) != codes.NotFound {
		t.Fatalf("lookup by the old PESEL: %v", err)
	}
	// A PESEL another resident has is refused, naming that resident and never the PESEL; nothing moves.
	_, err = h.client.UpdateResident(ctx, &referralv1.UpdateResidentRequest{Resident: &referralv1.Resident{Name: res, Pesel: p3}, UpdateMask: mask("pesel")})
	wantRefused(t, "PESEL of another resident", err, codes.AlreadyExists, "RESIDENT_EXISTS", "")
	if strings.Contains(err.Error(), p3) {
		t.Fatal("the PESEL is echoed in the error")
	}
	if got, err := h.client.LookupResident(ctx, &referralv1.LookupResidentRequest{Pesel: p3}); err != nil || got.GetName() != other {
		t.Fatalf("the other resident's index entry: %v %v", got, err)
	}
	if got, err := h.client.LookupResident(ctx, &referralv1.LookupResidentRequest{Pesel: p2}); err != nil || got.GetName() != res {
		t.Fatalf("index after the refused change: %v %v", got, err)
	}
	// A birth date that contradicts the PESEL is refused.
	_, err = h.client.UpdateResident(ctx, &referralv1.UpdateResidentRequest{Resident: &referralv1.Resident{Name: res, BirthDate: "1990-01-01"}, UpdateMask: mask("birth_date")})
	wantRefused(t, "birth date against the PESEL", err, codes.InvalidArgument, "", "resident.birth_date")
	// Every change and refusal is audited, with field names only.
	list, err := h.client.ListAuditEntries(h.as(t, auth.RoleAdmin, ""), &referralv1.ListAuditEntriesRequest{Resource: res, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	var allowed, failed int
	for _, e := range list.GetEntries() {
		if e.GetAction() != "UpdateResident" {
			continue
		}
		if strings.Contains(e.GetReason(), p2) || strings.Contains(e.GetReason(), "601") {
			t.Fatalf("a value in the audit log: %v", e)
		}
		switch e.GetDecision() {
		case referralv1.AuditDecision_AUDIT_DECISION_ALLOWED:
			allowed++
		case referralv1.AuditDecision_AUDIT_DECISION_FAILED:
			failed++
		}
	}
	if allowed != 2 || failed != 9 {
		t.Fatalf("audit: %d allowed, %d failed UpdateResident entries", allowed, failed)
	}
}

func TestUpdateCaseAndPlan(t *testing.T) {
	h := start(t)
	ctx := h.coord(t)
	_, _, kase := h.seed(t, pesel(t, "660606", 6061), 0, 1)
	k, err := h.client.UpdateCase(ctx, &referralv1.UpdateCaseRequest{Case: &referralv1.Case{Name: kase, Notes: "wizyta domowa", Status: referralv1.CaseStatus_CASE_STATUS_ACTIVE,
		Coordinator: "u-inny-koordynator"}, UpdateMask: mask("notes", "status", "coordinator")})
	if err != nil || k.GetNotes() != "wizyta domowa" || k.GetStatus() != referralv1.CaseStatus_CASE_STATUS_ACTIVE || k.GetCoordinator() != "u-inny-koordynator" || len(k.GetNeeds()) != 1 {
		t.Fatalf("update case: %v %v", k, err)
	}
	for _, m := range []string{"resident", "receive_time", "create_time", "document_reference"} {
		_, err = h.client.UpdateCase(ctx, &referralv1.UpdateCaseRequest{Case: &referralv1.Case{Name: kase}, UpdateMask: mask(m)})
		wantRefused(t, "case mask "+m, err, codes.InvalidArgument, "", "update_mask")
	}
	_, err = h.client.UpdateCase(ctx, &referralv1.UpdateCaseRequest{Case: &referralv1.Case{Name: kase}, UpdateMask: mask("status")})
	wantRefused(t, "case status cleared", err, codes.InvalidArgument, "", "case.status")
	_, err = h.client.UpdateCase(ctx, &referralv1.UpdateCaseRequest{Case: &referralv1.Case{Name: kase, Etag: "1", Notes: "x"}, UpdateMask: mask("notes")})
	wantRefused(t, "case stale etag", err, codes.Aborted, "STALE_ETAG", "")

	p, err := h.client.CreatePlan(ctx, &referralv1.CreatePlanRequest{Parent: kase, Plan: planBody()})
	if err != nil {
		t.Fatal(err)
	}
	up, err := h.client.UpdatePlan(ctx, &referralv1.UpdatePlanRequest{Plan: &referralv1.Plan{Name: p.GetName(), Etag: p.GetEtag(), Goals: []string{"a", "b"},
		ReviewDates: []string{"2026-05-01"}, PlannedServices: []string{serviceName}}, UpdateMask: mask("goals", "review_dates", "planned_services")})
	if err != nil || len(up.GetGoals()) != 2 || up.GetReviewDates()[0] != "2026-05-01" || up.GetDueDate() != p.GetDueDate() || up.GetStatus() != referralv1.PlanStatus_PLAN_STATUS_DRAFT {
		t.Fatalf("update draft plan: %v %v", up, err)
	}
	for _, m := range []string{"status", "due_date", "approver", "summary", "reviews", "next_review_date", "start_date"} {
		_, err = h.client.UpdatePlan(ctx, &referralv1.UpdatePlanRequest{Plan: &referralv1.Plan{Name: p.GetName()}, UpdateMask: mask(m)})
		wantRefused(t, "plan mask "+m, err, codes.InvalidArgument, "", "update_mask")
	}
	_, err = h.client.UpdatePlan(ctx, &referralv1.UpdatePlanRequest{Plan: &referralv1.Plan{Name: p.GetName(), ReviewDates: []string{"2030-01-01"}}, UpdateMask: mask("review_dates")})
	wantRefused(t, "review date outside the period", err, codes.InvalidArgument, "", "plan.review_dates[0]")
	_, err = h.client.UpdatePlan(ctx, &referralv1.UpdatePlanRequest{Plan: &referralv1.Plan{Name: p.GetName(), Etag: p.GetEtag(), Goals: []string{"c"}}, UpdateMask: mask("goals")})
	wantRefused(t, "plan stale etag", err, codes.Aborted, "STALE_ETAG", "")
	// Approved plans can still be updated: new goals or services send them back to draft for a new approval,
	// moved review dates do not; closed plans are read-only.
	if _, err := h.client.ApprovePlan(h.as(t, auth.RoleDirector, ""), &referralv1.ApprovePlanRequest{Name: p.GetName()}); err != nil {
		t.Fatal(err)
	}
	if up, err = h.client.UpdatePlan(ctx, &referralv1.UpdatePlanRequest{Plan: &referralv1.Plan{Name: p.GetName(), Goals: []string{"c"}}, UpdateMask: mask("goals")}); err != nil ||
		up.GetStatus() != referralv1.PlanStatus_PLAN_STATUS_DRAFT || up.GetApprover() != "" {
		t.Fatalf("new goals must need a new approval: %v %v", up, err)
	}
	if _, err := h.client.ApprovePlan(h.as(t, auth.RoleDirector, ""), &referralv1.ApprovePlanRequest{Name: p.GetName()}); err != nil {
		t.Fatal(err)
	}
	if up, err = h.client.UpdatePlan(ctx, &referralv1.UpdatePlanRequest{Plan: &referralv1.Plan{Name: p.GetName(), ReviewDates: []string{"2026-06-01"}}, UpdateMask: mask("review_dates")}); err != nil ||
		up.GetStatus() != referralv1.PlanStatus_PLAN_STATUS_APPROVED {
		t.Fatalf("moved review dates keep the approval: %v %v", up, err)
	}
	if _, err := h.client.ClosePlan(ctx, &referralv1.ClosePlanRequest{Name: p.GetName(), Summary: "koniec"}); err != nil {
		t.Fatal(err)
	}
	_, err = h.client.UpdatePlan(ctx, &referralv1.UpdatePlanRequest{Plan: &referralv1.Plan{Name: p.GetName(), Goals: []string{"d"}}, UpdateMask: mask("goals")})
	wantRefused(t, "closed plan", err, codes.FailedPrecondition, "PLAN_STATUS_NOT_ALLOWED", "")
	list, err := h.client.ListAuditEntries(h.as(t, auth.RoleAdmin, ""), &referralv1.ListAuditEntriesRequest{Resource: p.GetName(), PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range list.GetEntries() {
		if e.GetAction() == "UpdatePlan" && e.GetDecision() == referralv1.AuditDecision_AUDIT_DECISION_ALLOWED {
			n++
		}
	}
	if n != 3 {
		t.Fatalf("%d audited plan updates, want 3", n)
	}
}

func TestPlanReviewsAndOverduePlans(t *testing.T) {
	h := start(t)
	ctx := h.coord(t)
	_, _, kase := h.seed(t, pesel(t, "570707", 7071), 0, 1)
	p, err := h.client.CreatePlan(ctx, &referralv1.CreatePlanRequest{Parent: kase, Plan: planBody()}) // 2026-02-01 .. 2027-01-31
	if err != nil {
		t.Fatal(err)
	}
	review := func(rd, next string) (*referralv1.Plan, error) {
		return h.client.AddPlanReview(ctx, &referralv1.AddPlanReviewRequest{Name: p.GetName(), Review: &referralv1.PlanReview{ReviewDate: rd, Summary: "postępy", NextReviewDate: next}})
	}
	_, err = review("2026-03-01", "2026-06-01")
	wantRefused(t, "review of a draft", err, codes.FailedPrecondition, "PLAN_STATUS_NOT_ALLOWED", "")
	if _, err := h.client.ApprovePlan(h.as(t, auth.RoleDirector, ""), &referralv1.ApprovePlanRequest{Name: p.GetName()}); err != nil {
		t.Fatal(err)
	}
	overdue := func(asOf string) bool {
		t.Helper()
		out, err := h.client.ListOverduePlans(ctx, &referralv1.ListOverduePlansRequest{AsOf: asOf})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range out.GetPlans() {
			if o.GetName() == p.GetName() {
				return true
			}
		}
		return false
	}
	if overdue("2026-07-01") {
		t.Fatal("an approved plan without reviews or review dates is overdue")
	}
	for _, c := range []struct{ rd, next, field string }{
		{"2099-01-01", "", "review.review_date"},
		{"2026-01-15", "", "review.review_date"},
		{"2026-03-01", "2026-02-01", "review.next_review_date"},
		{"2026-03-01", "2027-06-01", "review.next_review_date"},
		{"", "", "review.review_date"},
	} {
		_, err := review(c.rd, c.next)
		wantRefused(t, "review "+c.rd+" next "+c.next, err, codes.InvalidArgument, "", c.field)
	}
	r1, err := review("2026-03-01", "2026-06-01")
	if err != nil || len(r1.GetReviews()) != 1 || r1.GetNextReviewDate() != "2026-06-01" || r1.GetReviews()[0].GetReviewer() != "u-coordinator" ||
		r1.GetReviews()[0].GetCreateTime() == nil {
		t.Fatalf("first review: %v %v", r1, err)
	}
	if overdue("2026-06-01") || !overdue("2026-06-02") {
		t.Fatal("the next review date does not make the plan overdue once it has passed")
	}
	_, err = h.client.AddPlanReview(ctx, &referralv1.AddPlanReviewRequest{Name: p.GetName(), Etag: p.GetEtag(), Review: &referralv1.PlanReview{ReviewDate: "2026-06-01", Summary: "x"}})
	wantRefused(t, "review with a stale etag", err, codes.Aborted, "STALE_ETAG", "")
	req := &referralv1.AddPlanReviewRequest{Name: p.GetName(), RequestId: "0194c050-0000-7000-8000-00000000beef", Etag: r1.GetEtag(),
		Review: &referralv1.PlanReview{ReviewDate: "2026-06-01", Summary: "cele w toku", Reviewer: "u-psycholog", NextReviewDate: "2026-09-01"}}
	r2, err := h.client.AddPlanReview(ctx, req)
	if err != nil || len(r2.GetReviews()) != 2 || r2.GetNextReviewDate() != "2026-09-01" || r2.GetReviews()[1].GetReviewer() != "u-psycholog" ||
		r2.GetReviews()[1].GetRecorder() != "u-coordinator" {
		t.Fatalf("second review: %v %v", r2, err)
	}
	// Append-only: the first review is as it was; a repeat of the request records nothing.
	if !proto.Equal(r2.GetReviews()[0], r1.GetReviews()[0]) {
		t.Fatal("the first review changed")
	}
	again, err := h.client.AddPlanReview(ctx, req)
	if err != nil || len(again.GetReviews()) != 2 || again.GetEtag() != r2.GetEtag() {
		t.Fatalf("repeated review: %v %v", again, err)
	}
	if overdue("2026-07-01") || !overdue("2026-09-02") {
		t.Fatal("overdue does not follow the latest review")
	}
	// A planned review date with no review on or after it is overdue, as before.
	if _, err := h.client.UpdatePlan(ctx, &referralv1.UpdatePlanRequest{Plan: &referralv1.Plan{Name: p.GetName(), ReviewDates: []string{"2026-08-15"}}, UpdateMask: mask("review_dates")}); err != nil {
		t.Fatal(err)
	}
	if !overdue("2026-08-20") || overdue("2026-08-14") {
		t.Fatal("a planned review date passed without a review")
	}
	// Closed plans take no reviews.
	if _, err := h.client.ClosePlan(ctx, &referralv1.ClosePlanRequest{Name: p.GetName(), Summary: "koniec"}); err != nil {
		t.Fatal(err)
	}
	_, err = review("2026-09-01", "")
	wantRefused(t, "review of a closed plan", err, codes.FailedPrecondition, "PLAN_STATUS_NOT_ALLOWED", "")
}

func TestConsentNamingAProvider(t *testing.T) {
	h := start(t)
	ctx := h.coord(t)
	res, _, _ := h.seed(t, pesel(t, "711111", 1113), 0, 1)
	body := consentBody()
	body.Provider = "not-a-provider"
	_, err := h.client.CreateConsent(ctx, &referralv1.CreateConsentRequest{Parent: res, Consent: body})
	wantRefused(t, "bad provider name", err, codes.InvalidArgument, "", "consent.provider")
	body.Provider = "providers/" + providerB
	forB, err := h.client.CreateConsent(ctx, &referralv1.CreateConsentRequest{Parent: res, Consent: body})
	if err != nil || forB.GetProvider() != "providers/"+providerB {
		t.Fatalf("consent for provider B: %v %v", forB, err)
	}
	_, err = h.referralTo(t, res, forB.GetName(), providerA, agreementName)
	wantRefused(t, "referral to A under B's consent", err, codes.FailedPrecondition, "CONSENT_NOT_FOR_PROVIDER", "referral.consent")
	if n := referralCount(t, h); n != 0 {
		t.Fatalf("%d referrals written", n)
	}
	if _, err := h.referralTo(t, res, forB.GetName(), providerB, agreementOfB); err != nil {
		t.Fatalf("referral to B under B's consent: %v", err)
	}
}

func storeReq(method, id string) store.Req { return store.Req{Method: method, ID: id} }

// A case is closed only when its plans are closed and its referrals have ended.
func TestClosingACaseNeedsItsWorkEnded(t *testing.T) {
	h := start(t)
	ctx := h.coord(t)
	closeCase := func(name string) error {
		_, err := h.client.UpdateCase(ctx, &referralv1.UpdateCaseRequest{Case: &referralv1.Case{Name: name, Status: referralv1.CaseStatus_CASE_STATUS_CLOSED}, UpdateMask: mask("status")})
		return err
	}
	res, consent, withReferral := h.seed(t, pesel(t, "710101", 7101), 0, 1)
	h.refer(t, res, consent, withReferral, referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED)
	wantRefused(t, "case with an open referral", closeCase(withReferral), codes.FailedPrecondition, "CASE_HAS_OPEN_WORK", "")

	_, _, withPlan := h.seed(t, pesel(t, "720202", 7202), 0, 1)
	if _, err := h.client.CreatePlan(ctx, &referralv1.CreatePlanRequest{Parent: withPlan, Plan: planBody()}); err != nil {
		t.Fatal(err)
	}
	wantRefused(t, "case with a draft plan", closeCase(withPlan), codes.FailedPrecondition, "CASE_HAS_OPEN_WORK", "")

	_, _, empty := h.seed(t, pesel(t, "730303", 7303), 0, 1)
	if err := closeCase(empty); err != nil {
		t.Fatalf("closing a case with nothing open: %v", err)
	}
}
