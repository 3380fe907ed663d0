//go:build robustness

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// referralRank orders the statuses of the happy path a referral takes in this load; a referral read back after
// a restart must be at least as far as acknowledged.
var referralRank = map[referralv1.ReferralStatus]int{
	referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT:       1,
	referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED:   2,
	referralv1.ReferralStatus_REFERRAL_STATUS_RECEIVED:    3,
	referralv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED:    4,
	referralv1.ReferralStatus_REFERRAL_STATUS_IN_PROGRESS: 5,
	referralv1.ReferralStatus_REFERRAL_STATUS_COMPLETED:   6,
}

// refEntry is the ledger of one referral.
type refEntry struct {
	name    string
	status  referralv1.ReferralStatus // last acknowledged (or read back); UNSPECIFIED before the create is
	etag    string
	rev     int64
	pending bool // a create or transition got no answer
	gone    bool // an unanswered create that did not happen: must stay absent
	acked   int64
}

// referralLoad: each writer drives referrals through create, send, receive, accept (capacity reserved in the
// provider registry), start and complete, as the coordinator and the provider's staff; the referral service is
// the one killed.
type referralLoad struct {
	client                       referralv1.ReferralServiceClient
	coord, staff                 string
	resident, consent, kase      string
	service, provider, agreement string
	mu                           sync.Mutex
	entries                      []*refEntry
	current                      map[int]*refEntry // the referral each writer is driving
	highest                      int64
}

func (r *referralLoad) setup(t *testing.T, k *stack) {
	r.client = referralv1.NewReferralServiceClient(k.conn("referral"))
	r.current = map[int]*refEntry{}
	r.coord = k.tokens.token(t, "coordinator")
	director, admin := k.tokens.token(t, "director"), k.tokens.token(t, "admin")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	today := time.Now().UTC().Format(time.DateOnly)

	// An active agreement of an active provider for a catalogue service the test resident may be referred to,
	// with its capacity raised for the load.
	prov := providerv1.NewProviderServiceClient(k.conn("provider"))
	cat := cataloguev1.NewCatalogueServiceClient(k.conn("catalogue"))
	list, err := prov.ListAgreements(ctx, &providerv1.ListAgreementsRequest{Parent: "providers/-", PageSize: 1000,
		Filter: `status = AGREEMENT_STATUS_ACTIVE AND active_on = "` + today + `"`})
	if err != nil {
		t.Fatalf("ListAgreements: %v", err)
	}
	for _, a := range list.GetAgreements() {
		provName := a.GetName()[:len("providers/")+36]
		p, err := prov.GetProvider(ctx, &providerv1.GetProviderRequest{Name: provName})
		if err != nil || p.GetStatus() != providerv1.ProviderStatus_PROVIDER_STATUS_ACTIVE {
			continue
		}
		svc, err := cat.GetService(ctx, &cataloguev1.GetServiceRequest{Name: a.GetService()})
		if err != nil || !fitsTheTestResident(protoMap(t, svc)) {
			continue
		}
		_, err = prov.UpdateAgreement(withToken(ctx, admin), &providerv1.UpdateAgreementRequest{
			Agreement:  &providerv1.Agreement{Name: a.GetName(), Etag: a.GetEtag(), Capacity: &providerv1.Capacity{Amount: 1000000}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capacity.amount"}},
		})
		if err != nil {
			t.Logf("agreement %s: raise capacity: %v", a.GetName(), err)
			continue
		}
		r.service, r.provider, r.agreement = a.GetService(), provName, a.GetName()
		break
	}
	if r.agreement == "" {
		t.Fatal("no active agreement of an active demo provider for a service the test resident fits")
	}
	r.staff = k.tokens.providerToken(t, lastID(r.provider))

	// The resident, her consent, case and approved plan.
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	pesel := fictionalPESEL(t, time.Date(1957, time.October, 23, 0, 0, 0, 0, time.UTC), fmt.Sprintf("9%02d%d", rng.IntN(100), 2*rng.IntN(5)))
	cctx := withToken(ctx, r.coord)
	res, err := r.client.CreateResident(cctx, &referralv1.CreateResidentRequest{Resident: &referralv1.Resident{
		GivenName: "Bożenna", FamilyName: "Odporna-Testowa", Pesel: pesel, Phone: "+48 65 000 00 00",
		Email: "odporna@example.org", TerytCode: "3022053", HouseholdSize: 1, MonthlyIncomePerPersonGrosze: 123456,
	}})
	if err != nil {
		t.Fatalf("CreateResident: %v", err)
	}
	r.resident = res.GetName()
	consent, err := r.client.CreateConsent(cctx, &referralv1.CreateConsentRequest{Parent: r.resident, Consent: &referralv1.Consent{
		Basis: referralv1.LegalBasis_LEGAL_BASIS_CONSENT, Purpose: "skierowanie do usług społecznych (test odporności)",
		Scope: []referralv1.DataScope{referralv1.DataScope_DATA_SCOPE_NAME, referralv1.DataScope_DATA_SCOPE_CONTACT}, GivenDate: today,
	}})
	if err != nil {
		t.Fatalf("CreateConsent: %v", err)
	}
	r.consent = consent.GetName()
	kase, err := r.client.CreateCase(cctx, &referralv1.CreateCaseRequest{Case: &referralv1.Case{
		Resident: r.resident, DocumentReference: "CUS.ZO.0001.978.2026",
		Needs: []*referralv1.AssessedNeed{{Area: cataloguev1.Area_AREA_SOCIAL_ASSISTANCE, Description: "wsparcie w codziennych czynnościach"}},
	}})
	if err != nil {
		t.Fatalf("CreateCase: %v", err)
	}
	r.kase = kase.GetName()
	plan, err := r.client.CreatePlan(cctx, &referralv1.CreatePlanRequest{Parent: r.kase, Plan: &referralv1.Plan{
		Goals: []string{"samodzielne funkcjonowanie w domu"}, PlannedServices: []string{r.service}, StartDate: today,
		ReviewDates: []string{time.Now().UTC().AddDate(0, 3, 0).Format(time.DateOnly)},
	}})
	if err != nil {
		t.Fatalf("CreatePlan: %v", err)
	}
	if _, err := r.client.ApprovePlan(withToken(ctx, director), &referralv1.ApprovePlanRequest{Name: plan.GetName(), Etag: plan.GetEtag()}); err != nil {
		t.Fatalf("ApprovePlan: %v", err)
	}
	t.Logf("referring %s to %s (%s)", r.resident, r.agreement, r.service)
}

// protoMap is a message as the JSON object the REST tests read (for fitsTheTestResident).
func protoMap(t *testing.T, m *cataloguev1.Service) map[string]any {
	b, err := protojson.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (r *referralLoad) write(ctx context.Context, w int, rng *rand.Rand) error {
	r.mu.Lock()
	e := r.current[w]
	if e != nil && (e.pending || e.gone || e.status == referralv1.ReferralStatus_REFERRAL_STATUS_COMPLETED) {
		e = nil
	}
	var etag string
	var st referralv1.ReferralStatus
	if e == nil {
		e = &refEntry{name: "referrals/" + randomUUID(rng), pending: true}
		r.entries = append(r.entries, e)
		r.current[w] = e
	} else {
		etag, st = e.etag, e.status
		e.pending = true
	}
	r.mu.Unlock()

	coord, staff := withToken(ctx, r.coord), withToken(ctx, r.staff)
	var got *referralv1.Referral
	var err error
	switch st {
	case referralv1.ReferralStatus_REFERRAL_STATUS_UNSPECIFIED:
		got, err = r.client.CreateReferral(coord, &referralv1.CreateReferralRequest{ReferralId: lastID(e.name), Referral: &referralv1.Referral{
			Resident: r.resident, Case: r.kase, Consent: r.consent, Service: r.service, Provider: r.provider,
			Agreement: r.agreement, Units: 1, Priority: referralv1.Priority_PRIORITY_URGENT,
			Status: referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT, Note: "test odporności",
		}})
	case referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT:
		got, err = r.client.SendReferral(coord, &referralv1.SendReferralRequest{Name: e.name, Etag: etag})
	case referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED:
		got, err = r.client.ReceiveReferral(staff, &referralv1.ReceiveReferralRequest{Name: e.name, Etag: etag})
	case referralv1.ReferralStatus_REFERRAL_STATUS_RECEIVED:
		got, err = r.client.AcceptReferral(staff, &referralv1.AcceptReferralRequest{Name: e.name, Etag: etag})
	case referralv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED:
		got, err = r.client.StartReferral(staff, &referralv1.StartReferralRequest{Name: e.name, Etag: etag})
	case referralv1.ReferralStatus_REFERRAL_STATUS_IN_PROGRESS:
		got, err = r.client.CompleteReferral(staff, &referralv1.CompleteReferralRequest{Name: e.name, Etag: etag,
			Outcome: &referralv1.Outcome{Code: referralv1.OutcomeCode_OUTCOME_CODE_GOT_HELP, Note: "zrealizowano"}})
	}
	if err != nil {
		return err
	}
	rev := etagRevision(got.GetEtag())
	r.mu.Lock()
	defer r.mu.Unlock()
	e.status, e.etag, e.rev, e.pending = got.GetStatus(), got.GetEtag(), rev, false
	e.acked++
	if rev > r.highest {
		r.highest = rev
	}
	return nil
}

func (r *referralLoad) verify(t *testing.T, ctx context.Context) (verified, reads int64, lost []string) {
	ctx = withToken(ctx, r.coord)
	r.mu.Lock()
	entries := append([]*refEntry(nil), r.entries...)
	highest := r.highest
	r.mu.Unlock()
	var mu sync.Mutex
	work := make(chan *refEntry)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range work {
				got, err := retryRead(ctx, func(ctx context.Context) (*referralv1.Referral, error) {
					return r.client.GetReferral(ctx, &referralv1.GetReferralRequest{Name: e.name})
				})
				found := err == nil
				var problem string
				switch {
				case err != nil && status.Code(err) != codes.NotFound:
					problem = fmt.Sprintf("read %s: %v", e.name, err)
				case !found && e.status != referralv1.ReferralStatus_REFERRAL_STATUS_UNSPECIFIED:
					problem = fmt.Sprintf("%s: acknowledged %s at %s but missing after the restart", e.name, e.status, e.etag)
				case found && e.gone:
					problem = fmt.Sprintf("%s: did not exist after an earlier restart, now %s", e.name, got.GetStatus())
				case found && referralRank[got.GetStatus()] < referralRank[e.status]:
					problem = fmt.Sprintf("%s: acknowledged %s but read back %s", e.name, e.status, got.GetStatus())
				case found && etagRevision(got.GetEtag()) < e.rev:
					problem = fmt.Sprintf("%s: acknowledged at %s but read back older, %s", e.name, e.etag, got.GetEtag())
				case found && !e.pending && got.GetStatus() != e.status:
					problem = fmt.Sprintf("%s: acknowledged %s, nothing else sent, read back %s", e.name, e.status, got.GetStatus())
				}
				r.mu.Lock()
				if problem == "" {
					verified += e.acked
					e.acked = 0
				}
				if found {
					e.status, e.etag, e.rev = got.GetStatus(), got.GetEtag(), etagRevision(got.GetEtag())
				} else if err != nil && status.Code(err) == codes.NotFound {
					e.gone = true
				}
				e.pending = false
				r.mu.Unlock()
				mu.Lock()
				reads++
				if problem != "" {
					lost = append(lost, problem)
				}
				mu.Unlock()
			}
		}()
	}
	for _, e := range entries {
		work <- e
	}
	close(work)
	wg.Wait()
	page, err := retryRead(ctx, func(ctx context.Context) (*referralv1.ListReferralsResponse, error) {
		return r.client.ListReferrals(ctx, &referralv1.ListReferralsRequest{PageSize: 1})
	})
	reads++
	switch {
	case err != nil:
		lost = append(lost, fmt.Sprintf("ListReferrals: %v", err))
	case page.GetRevision() < highest:
		lost = append(lost, fmt.Sprintf("the referral service's revision went back: %d after the restart, %d acknowledged", page.GetRevision(), highest))
	default:
		maxInt64(&r.mu, &r.highest, page.GetRevision())
	}
	return verified, reads, lost
}

func (r *referralLoad) probe(ctx context.Context) error {
	_, err := r.client.ListReferrals(withToken(ctx, r.coord), &referralv1.ListReferralsRequest{PageSize: 10})
	return err
}
