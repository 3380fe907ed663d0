package server

import (
	"strings"
	"time"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

// referralFilter is the parsed filter of ListReferrals: each field set narrows the list, all must hold.
type referralFilter struct {
	status       referralv1.ReferralStatus
	provider     string // providers/{uuid}, lower case
	resident     string // residents/{uuid}
	service      string // services/{uuid}
	dueBefore    string // YYYY-MM-DD; dates in that form compare as strings
	updatedAfter time.Time
	hasUpdated   bool
}

// parseReferralFilter validates the filter fields of a ListReferrals request, naming every bad one.
func parseReferralFilter(req *referralv1.ListReferralsRequest) (referralFilter, error) {
	var f referralFilter
	var v apierr.Violations
	if st := req.GetStatus(); st != 0 {
		if _, ok := referralv1.ReferralStatus_name[int32(st)]; !ok {
			v.Add("status", "is not a referral status")
		}
		f.status = st
	}
	name := func(field, prefix, value string) string {
		if value == "" {
			return ""
		}
		id, err := domain.IDFromName(field, prefix, value)
		if err != nil {
			v.Add(field, "must be %s{uuid}", prefix)
			return ""
		}
		return prefix + id
	}
	f.provider = name("provider", domain.ProviderPrefix, req.GetProvider())
	f.resident = name("resident", domain.ResidentPrefix, req.GetResident())
	f.service = name("service", domain.ServicePrefix, req.GetService())
	if d := req.GetResponseDueBefore(); d != "" {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			v.Add("response_due_before", "must be a date YYYY-MM-DD")
		}
		f.dueBefore = d
	}
	if t := req.GetUpdateTimeAfter(); t != nil {
		if err := t.CheckValid(); err != nil {
			v.Add("update_time_after", "must be a valid time (RFC 3339 over REST)")
		}
		f.updatedAfter, f.hasUpdated = t.AsTime(), true
	}
	return f, v.Err()
}

// match reports whether a referral passes every filter set.
func (f referralFilter) match(r *referralv1.Referral) bool {
	switch {
	case f.status != 0 && r.GetStatus() != f.status,
		f.provider != "" && r.GetProvider() != f.provider,
		f.resident != "" && r.GetResident() != f.resident,
		f.service != "" && r.GetService() != f.service,
		f.dueBefore != "" && (r.GetResponseDueDate() == "" || r.GetResponseDueDate() >= f.dueBefore),
		f.hasUpdated && !r.GetUpdateTime().AsTime().After(f.updatedAfter):
		return false
	}
	return true
}

// eachReferral visits the referrals a list may show: through the provider index when the list is of one
// provider's referrals (provider staff always, or a provider filter), so a provider with few referrals costs
// the decryption of those few, not of every referral of the gmina; otherwise every referral.
func (s *Server) eachReferral(p *auth.Principal, f referralFilter, fn func(*referralv1.Referral) error) error {
	provider := f.provider
	if _, staff := actorOf(p, &referralv1.Referral{}); !staff && p.Has(auth.RoleProvider) {
		if p.ProviderID == "" {
			return nil // provider staff of no provider see nothing
		}
		own := domain.ProviderPrefix + strings.ToLower(p.ProviderID)
		if provider != "" && provider != own {
			return nil
		}
		provider = own
	}
	if provider != "" {
		return s.st.ForEachReferralOf(provider, fn)
	}
	return s.st.ForEachReferral(fn)
}
