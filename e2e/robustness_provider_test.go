//go:build robustness

package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// resEntry is the ledger of one reservation (one referral id on one agreement).
type resEntry struct {
	agreement, referralID string
	held                  bool // reserved (acknowledged or read back) and not released
	pending               pending
	acked                 int64
}

// agrEntry is the ledger of one agreement the load updates (its description), for the registry's revision.
type agrEntry struct {
	name, etag string
	rev        int64
	pending    bool
	acked      int64
}

// providerLoad: capacity reservations and releases on the demo agreements (their capacity raised first), and
// description updates of those agreements by writer 0, as an admin (who may book and edit).
type providerLoad struct {
	client  providerv1.ProviderServiceClient
	token   string
	agrs    []*agrEntry
	mu      sync.Mutex
	res     []*resEntry
	owned   map[int][]*resEntry
	highest int64
	// anomalies are losses seen without a restart (reported by the next verify).
	anomalies []string
}

func (p *providerLoad) setup(t *testing.T, k *stack) {
	p.client = providerv1.NewProviderServiceClient(k.conn("provider"))
	p.token = k.tokens.token(t, "admin")
	p.owned = map[int][]*resEntry{}
	ctx, cancel := context.WithTimeout(withToken(context.Background(), p.token), time.Minute)
	defer cancel()
	today := time.Now().UTC().Format(time.DateOnly)
	list, err := p.client.ListAgreements(ctx, &providerv1.ListAgreementsRequest{Parent: "providers/-", PageSize: 1000,
		Filter: `status = AGREEMENT_STATUS_ACTIVE AND active_on = "` + today + `"`})
	if err != nil {
		t.Fatalf("ListAgreements: %v", err)
	}
	for _, a := range list.GetAgreements() {
		if len(p.agrs) == 4 {
			break
		}
		// Room for every writer's reservations.
		upd, err := p.client.UpdateAgreement(ctx, &providerv1.UpdateAgreementRequest{
			Agreement:  &providerv1.Agreement{Name: a.GetName(), Etag: a.GetEtag(), Capacity: &providerv1.Capacity{Amount: 1000000}},
			UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"capacity.amount"}},
		})
		if err != nil {
			t.Logf("agreement %s: raise capacity: %v", a.GetName(), err)
			continue
		}
		// Only agreements that take reservations (an active provider).
		probeID := randomUUID(rand.New(rand.NewPCG(uint64(len(p.agrs)), 7)))
		if _, err := p.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: a.GetName(), ReferralId: probeID, Units: 1}); err != nil {
			t.Logf("agreement %s does not take reservations: %v", a.GetName(), err)
			continue
		}
		p.res = append(p.res, &resEntry{agreement: a.GetName(), referralID: probeID, held: true})
		p.agrs = append(p.agrs, &agrEntry{name: a.GetName(), etag: upd.GetEtag(), rev: etagRevision(upd.GetEtag())})
		maxInt64(&p.mu, &p.highest, etagRevision(upd.GetEtag()))
	}
	if len(p.agrs) == 0 {
		t.Fatalf("no demo agreement takes reservations")
	}
	t.Logf("reserving on %d agreements", len(p.agrs))
}

func (p *providerLoad) write(ctx context.Context, w int, rng *rand.Rand) error {
	ctx = withToken(ctx, p.token)
	if w == 0 && rng.IntN(5) == 0 {
		if a := p.agrs[rng.IntN(len(p.agrs))]; p.claim(a) {
			return p.updateAgreement(ctx, a, rng)
		}
	}
	p.mu.Lock()
	var held []*resEntry
	for _, e := range p.owned[w] {
		if e.held && e.pending == settled {
			held = append(held, e)
		}
	}
	p.mu.Unlock()
	if len(held) < 3 || rng.IntN(2) == 0 {
		e := &resEntry{agreement: p.agrs[rng.IntN(len(p.agrs))].name, referralID: randomUUID(rng), pending: pendingCreate}
		p.mu.Lock()
		p.res = append(p.res, e)
		p.owned[w] = append(p.owned[w], e)
		p.mu.Unlock()
		if _, err := p.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: e.agreement, ReferralId: e.referralID, Units: 1}); err != nil {
			return err
		}
		p.mu.Lock()
		e.held, e.pending = true, settled
		e.acked++
		p.mu.Unlock()
		return nil
	}
	e := held[rng.IntN(len(held))]
	p.mu.Lock()
	e.pending = pendingDelete
	p.mu.Unlock()
	resp, err := p.client.ReleaseCapacity(ctx, &providerv1.ReleaseCapacityRequest{Name: e.agreement, ReferralId: e.referralID})
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !resp.GetReleased() {
		// The reservation was acknowledged and nothing released it: it vanished while the service ran.
		p.anomalies = append(p.anomalies, fmt.Sprintf("reservation %s on %s acknowledged, but its release found nothing held", e.referralID, e.agreement))
	}
	e.held, e.pending = false, settled
	e.acked++
	return nil
}

// claim marks an agreement's update in flight; false when one is already (its answer never came).
func (p *providerLoad) claim(a *agrEntry) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if a.pending {
		return false
	}
	a.pending = true
	return true
}

func (p *providerLoad) updateAgreement(ctx context.Context, a *agrEntry, rng *rand.Rand) error {
	p.mu.Lock()
	etag := a.etag
	p.mu.Unlock()
	upd, err := p.client.UpdateAgreement(ctx, &providerv1.UpdateAgreementRequest{
		Agreement:  &providerv1.Agreement{Name: a.name, Etag: etag, Description: fmt.Sprintf("Umowa testu odporności %08x", rng.Uint32())},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"description"}},
	})
	if err != nil {
		return err
	}
	rev := etagRevision(upd.GetEtag())
	p.mu.Lock()
	defer p.mu.Unlock()
	a.etag, a.rev, a.pending = upd.GetEtag(), rev, false
	a.acked++
	if rev > p.highest {
		p.highest = rev
	}
	return nil
}

func (p *providerLoad) verify(t *testing.T, ctx context.Context) (verified, reads int64, lost []string) {
	ctx = withToken(ctx, p.token)
	// Every reservation of every agreement, paged.
	held := map[string]int32{} // referral id -> units
	byAgreement := map[string]int32{}
	token := ""
	for {
		page, err := retryRead(ctx, func(ctx context.Context) (*providerv1.ListReservationsResponse, error) {
			return p.client.ListReservations(ctx, &providerv1.ListReservationsRequest{Parent: "providers/-/agreements/-", PageSize: 1000, PageToken: token})
		})
		if err != nil {
			return verified, reads, append(lost, fmt.Sprintf("ListReservations: %v", err))
		}
		for _, r := range page.GetReservations() {
			held[r.GetReferralId()] = r.GetUnits()
			agr := r.GetName()[:strings.Index(r.GetName(), "/reservations/")]
			byAgreement[agr] += r.GetUnits()
			reads++
		}
		if token = page.GetNextPageToken(); token == "" {
			break
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	lost = append(lost, p.anomalies...)
	p.anomalies = nil
	for _, e := range p.res {
		_, found := held[e.referralID]
		ok := true
		switch {
		case e.pending != settled:
			// Unanswered reserve or release: either outcome.
		case e.held && !found:
			ok = false
			lost = append(lost, fmt.Sprintf("reservation %s on %s acknowledged but missing after the restart", e.referralID, e.agreement))
		case !e.held && found:
			ok = false
			lost = append(lost, fmt.Sprintf("reservation %s on %s released (acknowledged) but back after the restart", e.referralID, e.agreement))
		}
		if ok {
			verified += e.acked
			e.acked = 0
		}
		e.held, e.pending = found, settled
	}
	for w, list := range p.owned {
		keep := list[:0]
		for _, e := range list {
			if e.held {
				keep = append(keep, e)
			}
		}
		p.owned[w] = keep
	}
	for _, a := range p.agrs {
		got, err := retryRead(ctx, func(ctx context.Context) (*providerv1.Agreement, error) {
			return p.client.GetAgreement(ctx, &providerv1.GetAgreementRequest{Name: a.name})
		})
		reads++
		if err != nil {
			lost = append(lost, fmt.Sprintf("agreement %s: %v", a.name, err))
			continue
		}
		if rev := etagRevision(got.GetEtag()); rev < a.rev {
			lost = append(lost, fmt.Sprintf("agreement %s acknowledged at %s, read back older at %s", a.name, a.etag, got.GetEtag()))
		} else {
			verified += a.acked
			a.acked = 0
		}
		a.etag, a.rev, a.pending = got.GetEtag(), etagRevision(got.GetEtag()), false
		// The availability agrees with the reservations held.
		av, err := retryRead(ctx, func(ctx context.Context) (*providerv1.Availability, error) {
			return p.client.GetAvailability(ctx, &providerv1.GetAvailabilityRequest{Name: a.name + "/availability"})
		})
		reads++
		if err != nil {
			lost = append(lost, fmt.Sprintf("availability of %s: %v", a.name, err))
		} else if av.GetReserved() != byAgreement[a.name] {
			lost = append(lost, fmt.Sprintf("availability of %s says %d reserved, its reservations hold %d", a.name, av.GetReserved(), byAgreement[a.name]))
		}
	}
	changes, err := retryRead(ctx, func(ctx context.Context) (*providerv1.ListChangesResponse, error) {
		return p.client.ListChanges(ctx, &providerv1.ListChangesRequest{PageSize: 1})
	})
	reads++
	switch {
	case err != nil:
		lost = append(lost, fmt.Sprintf("ListChanges: %v", err))
	case changes.GetLatestRevision() < p.highest:
		lost = append(lost, fmt.Sprintf("the registry's revision went back: %d after the restart, %d acknowledged", changes.GetLatestRevision(), p.highest))
	default:
		p.highest = changes.GetLatestRevision()
	}
	return verified, reads, lost
}

func (p *providerLoad) probe(ctx context.Context) error {
	_, err := p.client.GetAvailability(withToken(ctx, p.token), &providerv1.GetAvailabilityRequest{Name: p.agrs[0].name + "/availability"})
	return err
}
