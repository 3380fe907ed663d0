package server_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/fieldmaskpb"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
)

// refID is a referral id for tests.
func refID(i int) string { return fmt.Sprintf("0194c050-ffff-7000-8000-%012d", i) }

func availabilityOf(t *testing.T, h *harness, agreement string) *providerv1.Availability {
	t.Helper()
	av, err := h.client.GetAvailability(h.admin(t), &providerv1.GetAvailabilityRequest{Name: agreement + "/availability"})
	if err != nil {
		t.Fatal(err)
	}
	return av
}

// TestConcurrentReservationsNeverOverbook: N callers reserving against capacity K at once; exactly K succeed,
// the others are refused with CAPACITY_EXHAUSTED, and repeats of a referral hold nothing more.
func TestConcurrentReservationsNeverOverbook(t *testing.T) {
	const n, k = 200, 37
	h := start(t)
	_, a := h.providerWithAgreement(t, k)
	ctx := h.as(t, "coordinator")
	var ok, exhausted atomic.Int32
	var wg sync.WaitGroup
	won := make([]bool, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := h.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: a.GetName(), ReferralId: refID(i), Units: 1})
			if err == nil {
				ok.Add(1)
				won[i] = true
				if res.GetAvailability().GetReserved() > k || res.GetReservation().GetUnits() != 1 {
					t.Errorf("over-booked: %v", res)
				}
				return
			}
			if code, reason, meta, _ := errorInfo(t, err); code != codes.FailedPrecondition || reason != "CAPACITY_EXHAUSTED" || meta["available"] != "0" {
				t.Errorf("refusal %v %s %v", code, reason, meta)
			}
			exhausted.Add(1)
		}(i)
	}
	wg.Wait()
	if ok.Load() != k || exhausted.Load() != n-k {
		t.Fatalf("%d succeeded and %d were refused, want %d and %d", ok.Load(), exhausted.Load(), k, n-k)
	}
	av := availabilityOf(t, h, a.GetName())
	if av.GetReserved() != k || av.GetAvailable() != 0 || !av.GetAccepting() {
		t.Fatalf("availability %v", av)
	}
	list, err := h.client.ListReservations(ctx, &providerv1.ListReservationsRequest{Parent: a.GetName(), PageSize: 1000})
	if err != nil || list.GetTotalSize() != k {
		t.Fatalf("reservations: %v %v", list.GetTotalSize(), err)
	}

	// Every winner repeats its reservation, concurrently: all succeed as repeats and nothing more is held.
	for i := 0; i < n; i++ {
		if !won[i] {
			continue
		}
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := h.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: a.GetName(), ReferralId: refID(i), Units: 1})
			if err != nil || !res.GetAlreadyReserved() {
				t.Errorf("repeat of %d: %v %v", i, res, err)
			}
		}(i)
	}
	wg.Wait()
	if av := availabilityOf(t, h, a.GetName()); av.GetReserved() != k {
		t.Fatalf("repeats changed the reserved units: %v", av)
	}
	// A repeat with other units is not a repeat.
	for i := range won {
		if won[i] {
			_, err := h.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: a.GetName(), ReferralId: refID(i), Units: 2})
			wantErr(t, err, codes.AlreadyExists, "RESERVATION_EXISTS")
			break
		}
	}
}

// TestConcurrentReleaseAndReserveLoseNothing: releases racing with new reservations (of 1 to 5 units) never
// lose a release nor over-book; once everything is released, the whole capacity is available again.
func TestConcurrentReleaseAndReserveLoseNothing(t *testing.T) {
	const k = 37
	h := start(t)
	_, a := h.providerWithAgreement(t, k)
	ctx := h.as(t, "coordinator")
	held := map[int]int32{} // referral -> units, for successful reservations
	var mu sync.Mutex
	reserve := func(i int, units int32) {
		res, err := h.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: a.GetName(), ReferralId: refID(i), Units: units})
		if err != nil {
			if _, reason, _, _ := errorInfo(t, err); reason != "CAPACITY_EXHAUSTED" {
				t.Errorf("reserve %d: %v", i, err)
			}
			return
		}
		if res.GetAvailability().GetReserved() > k {
			t.Errorf("over-booked: %v", res.GetAvailability())
		}
		mu.Lock()
		held[i] = units
		mu.Unlock()
	}
	release := func(i int) {
		res, err := h.client.ReleaseCapacity(ctx, &providerv1.ReleaseCapacityRequest{Name: a.GetName(), ReferralId: refID(i)})
		if err != nil || !res.GetReleased() {
			t.Errorf("release %d: %v %v", i, res, err)
			return
		}
		mu.Lock()
		if res.GetReleasedUnits() != held[i] {
			t.Errorf("released %d units of referral %d, it held %d", res.GetReleasedUnits(), i, held[i])
		}
		delete(held, i)
		mu.Unlock()
	}
	// Fill up with the first wave.
	var wg sync.WaitGroup
	rng := rand.New(rand.NewPCG(1, 2))
	units := make([]int32, 400)
	for i := range units {
		units[i] = int32(1 + rng.IntN(5))
	}
	for i := 0; i < 100; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); reserve(i, units[i]) }(i)
	}
	wg.Wait()
	mu.Lock()
	first := make([]int, 0, len(held))
	var sum int32
	for i, u := range held {
		first = append(first, i)
		sum += u
	}
	mu.Unlock()
	if av := availabilityOf(t, h, a.GetName()); av.GetReserved() != sum || sum > k {
		t.Fatalf("reserved %d, reservations hold %d (capacity %d)", av.GetReserved(), sum, k)
	}
	// Release the first wave while a second wave reserves; each release is also repeated (idempotent).
	for _, i := range first {
		wg.Add(2)
		go func(i int) { defer wg.Done(); release(i) }(i)
		go func(i int) {
			defer wg.Done()
			if res, err := h.client.ReleaseCapacity(ctx, &providerv1.ReleaseCapacityRequest{Name: a.GetName(), ReferralId: refID(i + 1000)}); err != nil || res.GetReleased() {
				t.Errorf("release of nothing: %v %v", res, err)
			}
		}(i)
	}
	for i := 100; i < 400; i++ {
		wg.Add(1)
		go func(i int) { defer wg.Done(); reserve(i, units[i]) }(i)
	}
	wg.Wait()
	mu.Lock()
	sum = 0
	var rest []int
	for i, u := range held {
		sum += u
		rest = append(rest, i)
	}
	mu.Unlock()
	if av := availabilityOf(t, h, a.GetName()); av.GetReserved() != sum || sum > k || av.GetAvailable() != k-sum {
		t.Fatalf("after the race: availability %v, reservations hold %d", av, sum)
	}
	for _, i := range rest {
		wg.Add(1)
		go func(i int) { defer wg.Done(); release(i) }(i)
	}
	wg.Wait()
	av := availabilityOf(t, h, a.GetName())
	if av.GetReserved() != 0 || av.GetAvailable() != k {
		t.Fatalf("after releasing everything: %v", av)
	}
	list, err := h.client.ListReservations(ctx, &providerv1.ListReservationsRequest{Parent: a.GetName()})
	if err != nil || list.GetTotalSize() != 0 {
		t.Fatalf("reservations left: %v %v", list, err)
	}
}

func TestReservationRules(t *testing.T) {
	h := start(t)
	ctx := h.as(t, "coordinator")
	admin := h.admin(t)
	p, a := h.providerWithAgreement(t, 10)
	reserve := func(name string, i int, units int32) error {
		_, err := h.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: name, ReferralId: refID(i), Units: units})
		return err
	}
	if err := reserve(a.GetName(), 1, 11); err == nil {
		t.Fatal("more than the capacity accepted")
	} else if _, _, _, f := errorInfo(t, err); f["units"] != "INVALID_VALUE" {
		t.Fatalf("units above capacity: %v", err)
	}
	for _, units := range []int32{0, -3} {
		if _, _, _, f := errorInfo(t, reserve(a.GetName(), 1, units)); f["units"] == "" {
			t.Fatalf("units %d accepted", units)
		}
	}
	_, err := h.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: a.GetName(), ReferralId: "Jan Kowalski", Units: 1})
	if _, _, _, f := errorInfo(t, err); f["referral_id"] != "INVALID_FORMAT" {
		t.Fatalf("a referral id that is not a UUID: %v", err)
	}
	if err := reserve(a.GetName(), 1, 6); err != nil {
		t.Fatal(err)
	}
	err = reserve(a.GetName(), 2, 5)
	if _, _, meta, _ := errorInfo(t, err); meta["available"] != "4" || meta["requested"] != "5" {
		t.Fatalf("exhausted: %v %v", err, meta)
	}
	_, err = h.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: "providers/0194c050-0000-7000-8000-000000000000/agreements/0194c050-0000-7000-8000-000000000000", ReferralId: refID(1), Units: 1})
	wantErr(t, err, codes.NotFound, "AGREEMENT_NOT_FOUND")

	// Periods are Polish calendar days: "today" in the harness is 2026-06-15.
	notYet := validAgreement(5)
	notYet.StartDate, notYet.EndDate = "2026-06-16", "2026-12-31"
	ended := validAgreement(5)
	ended.StartDate, ended.EndDate = "2026-01-01", "2026-06-14"
	lastDay := validAgreement(5)
	lastDay.StartDate, lastDay.EndDate = "2026-06-15", "2026-06-15"
	wantErr(t, reserve(h.createAgreement(t, p.GetName(), notYet).GetName(), 3, 1), codes.FailedPrecondition, "AGREEMENT_NOT_STARTED")
	endedA := h.createAgreement(t, p.GetName(), ended)
	wantErr(t, reserve(endedA.GetName(), 3, 1), codes.FailedPrecondition, "AGREEMENT_ENDED")
	if err := reserve(h.createAgreement(t, p.GetName(), lastDay).GetName(), 3, 1); err != nil {
		t.Fatalf("reservation on the only day of an agreement: %v", err)
	}
	if av := availabilityOf(t, h, endedA.GetName()); av.GetAccepting() || av.GetNotAcceptingReason() != "AGREEMENT_ENDED" {
		t.Fatalf("availability of an ended agreement: %v", av)
	}

	// A suspended provider takes no reservations; releases still work; a repeat is still a repeat.
	if _, err := h.client.UpdateProvider(admin, &providerv1.UpdateProviderRequest{
		Provider:   &providerv1.Provider{Name: p.GetName(), Status: providerv1.ProviderStatus_PROVIDER_STATUS_SUSPENDED, StatusReason: "kontrola"},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"status", "status_reason"}},
	}); err != nil {
		t.Fatal(err)
	}
	wantErr(t, reserve(a.GetName(), 4, 1), codes.FailedPrecondition, "PROVIDER_NOT_ACTIVE")
	if err := reserve(a.GetName(), 1, 6); err != nil {
		t.Fatalf("repeat while suspended: %v", err)
	}
	if av := availabilityOf(t, h, a.GetName()); av.GetAccepting() || av.GetNotAcceptingReason() != "PROVIDER_NOT_ACTIVE" || av.GetReserved() != 6 {
		t.Fatalf("availability while suspended: %v", av)
	}
	rel, err := h.client.ReleaseCapacity(ctx, &providerv1.ReleaseCapacityRequest{Name: a.GetName(), ReferralId: refID(1)})
	if err != nil || !rel.GetReleased() || rel.GetReleasedUnits() != 6 || rel.GetAvailability().GetAvailable() != 10 {
		t.Fatalf("release: %v %v", rel, err)
	}
	rel, err = h.client.ReleaseCapacity(ctx, &providerv1.ReleaseCapacityRequest{Name: a.GetName(), ReferralId: refID(1)})
	if err != nil || rel.GetReleased() || rel.GetReleasedUnits() != 0 {
		t.Fatalf("second release: %v %v", rel, err)
	}
}

func TestListAvailability(t *testing.T) {
	h := start(t)
	ctx := h.as(t, "coordinator")
	service := "services/0194c050-3022-7053-8000-000000000020"
	p1, a1 := h.providerWithAgreement(t, 10)
	_, a2 := h.providerWithAgreement(t, 20)
	other := validAgreement(5)
	other.Service = "services/0194c050-3022-7053-8000-000000000021"
	h.createAgreement(t, p1.GetName(), other)
	susp := validAgreement(50)
	susp.Status, susp.StatusReason = providerv1.AgreementStatus_AGREEMENT_STATUS_SUSPENDED, "przerwa wakacyjna"
	h.createAgreement(t, p1.GetName(), susp)
	if _, err := h.client.ReserveCapacity(ctx, &providerv1.ReserveCapacityRequest{Name: a2.GetName(), ReferralId: refID(1), Units: 20}); err != nil {
		t.Fatal(err)
	}
	res, err := h.client.ListAvailability(ctx, &providerv1.ListAvailabilityRequest{Parent: "providers/-", Service: service})
	if err != nil || res.GetTotalSize() != 3 {
		t.Fatalf("for the service: %v %v", res, err)
	}
	if res.GetAvailabilities()[0].GetAvailable() != 50 || res.GetAvailabilities()[1].GetAgreement() != a1.GetName() {
		t.Fatalf("order (most available first): %v", res.GetAvailabilities())
	}
	acc, err := h.client.ListAvailability(ctx, &providerv1.ListAvailabilityRequest{Parent: "providers/-", Service: service, OnlyAccepting: true})
	if err != nil || acc.GetTotalSize() != 1 || acc.GetAvailabilities()[0].GetAgreement() != a1.GetName() ||
		acc.GetAvailabilities()[0].GetProviderDisplayName() != p1.GetDisplayName() {
		t.Fatalf("only accepting: %v %v", acc, err)
	}
	one, err := h.client.ListAvailability(ctx, &providerv1.ListAvailabilityRequest{Parent: p1.GetName()})
	if err != nil || one.GetTotalSize() != 3 {
		t.Fatalf("one provider: %v %v", one, err)
	}
	page1, err := h.client.ListAvailability(ctx, &providerv1.ListAvailabilityRequest{Parent: "providers/-", PageSize: 3})
	if err != nil || len(page1.GetAvailabilities()) != 3 || page1.GetNextPageToken() == "" {
		t.Fatalf("page: %v %v", page1, err)
	}
	page2, err := h.client.ListAvailability(ctx, &providerv1.ListAvailabilityRequest{Parent: "providers/-", PageSize: 3, PageToken: page1.GetNextPageToken()})
	if err != nil || len(page2.GetAvailabilities()) != 1 {
		t.Fatalf("page 2: %v %v", page2, err)
	}
	_, err = h.client.ListAvailability(ctx, &providerv1.ListAvailabilityRequest{Parent: "providers/-", Service: "zupa"})
	if _, _, _, f := errorInfo(t, err); f["service"] == "" {
		t.Fatalf("bad service: %v", err)
	}
	if domain.Today(testNow) != "2026-06-15" {
		t.Fatal("test clock")
	}
}
