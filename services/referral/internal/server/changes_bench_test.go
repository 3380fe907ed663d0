package server_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/google/uuid"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// BenchmarkPolling measures the reads of a polling client over gRPC with the production interceptor chain,
// on a service holding 5,000 referrals of one provider and 10 of another:
//
//	go test -run XXX -bench Polling -benchtime 2s ./internal/server/
//
// ListReferrals/provider-with-few is the small provider's staff listing through the provider index (the
// decryption of its 10 referrals); ListReferrals/coordinator-all lists all of them (every referral decrypted),
// the cost the index spares the small provider. ListReferralChanges/page-100 is one page of the feed from
// the start for a coordinator; ListReferralChanges/provider-with-few pages through the whole feed as the small
// provider (2,000 entries decrypted per call at most).
func BenchmarkPolling(b *testing.B) {
	h := start(b)
	res, con, kase := h.seed(b, pesel(b, "900101", 1111), 120000, 1)
	seedReferrals := func(provider string, n int) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for i := range n {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				id, _ := uuid.NewV7()
				r := &referralv1.Referral{Resident: res, Consent: con, Case: kase, Service: serviceName, Provider: "providers/" + provider,
					Status: referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED, Note: fmt.Sprintf("benchmark %d", i),
					History: []*referralv1.Transition{{To: referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED}}}
				if _, _, err := h.store.CreateReferral(context.Background(), id.String(), r, func(store.Reader) error { return nil }, store.Write{Audit: &referralv1.AuditEntry{}}); err != nil {
					b.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	seedReferrals(providerA, 5000)
	seedReferrals(providerB, 10)
	small := h.as(b, auth.RoleProvider, providerB)
	coord := h.coord(b)
	b.Run("ListReferrals/provider-with-few", func(b *testing.B) {
		for range b.N {
			if resp, err := h.client.ListReferrals(small, &referralv1.ListReferralsRequest{}); err != nil || len(resp.GetReferrals()) != 10 {
				b.Fatal(len(resp.GetReferrals()), err)
			}
		}
	})
	b.Run("ListReferrals/coordinator-all", func(b *testing.B) {
		for range b.N {
			if _, err := h.client.ListReferrals(coord, &referralv1.ListReferralsRequest{PageSize: 10}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListReferralChanges/page-100", func(b *testing.B) {
		for range b.N {
			if resp, err := h.client.ListReferralChanges(coord, &referralv1.ListReferralChangesRequest{PageSize: 100}); err != nil || len(resp.GetChanges()) != 100 {
				b.Fatal(err)
			}
		}
	})
	b.Run("ListReferralChanges/provider-with-few", func(b *testing.B) {
		for range b.N {
			req := &referralv1.ListReferralChangesRequest{PageSize: 100}
			seen := 0
			for {
				resp, err := h.client.ListReferralChanges(small, req)
				if err != nil {
					b.Fatal(err)
				}
				seen += len(resp.GetChanges())
				if resp.GetNextPageToken() == "" {
					break
				}
				req = &referralv1.ListReferralChangesRequest{PageSize: 100, PageToken: resp.GetNextPageToken()}
			}
			if seen != 10 {
				b.Fatalf("saw %d changes", seen)
			}
		}
	})
}
