package server_test

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// The status machine of domain.md, written out by hand and independently of domain.Rules.
type row struct {
	from  []string
	to    string // "" for resume: back to the status before the hold
	by    string // "requester" or "provider"
	needs string // "reason", "outcome" or ""
}

var table = map[string]row{
	"send":               {from: []string{"DRAFT"}, to: "REQUESTED", by: "requester"},
	"receive":            {from: []string{"REQUESTED"}, to: "RECEIVED", by: "provider"},
	"accept":             {from: []string{"REQUESTED", "RECEIVED"}, to: "ACCEPTED", by: "provider"},
	"reject":             {from: []string{"REQUESTED", "RECEIVED"}, to: "REJECTED", by: "provider", needs: "reason"},
	"cancel":             {from: []string{"REQUESTED", "RECEIVED", "ACCEPTED", "IN_PROGRESS"}, to: "CANCELLED", by: "requester", needs: "reason"},
	"start":              {from: []string{"ACCEPTED"}, to: "IN_PROGRESS", by: "provider"},
	"hold":               {from: []string{"ACCEPTED", "IN_PROGRESS"}, to: "ON_HOLD", by: "provider"},
	"resume":             {from: []string{"ON_HOLD"}, to: "", by: "provider"},
	"complete":           {from: []string{"IN_PROGRESS", "ON_HOLD"}, to: "COMPLETED", by: "provider", needs: "outcome"},
	"fail":               {from: []string{"IN_PROGRESS", "ON_HOLD"}, to: "FAILED", by: "provider", needs: "reason"},
	"markEnteredInError": {from: []string{"DRAFT", "REQUESTED", "RECEIVED", "ACCEPTED", "IN_PROGRESS", "ON_HOLD"}, to: "ENTERED_IN_ERROR", by: "requester"},
}

var allStatuses = []string{"DRAFT", "REQUESTED", "RECEIVED", "ACCEPTED", "REJECTED", "CANCELLED", "IN_PROGRESS", "ON_HOLD", "FAILED", "COMPLETED", "ENTERED_IN_ERROR"}

// pathTo lists the actions that bring a new REQUESTED referral to a status.
var pathTo = map[string][]string{
	"REQUESTED": {}, "RECEIVED": {"receive"}, "ACCEPTED": {"accept"}, "IN_PROGRESS": {"accept", "start"},
	"ON_HOLD": {"accept", "hold"}, "REJECTED": {"reject"}, "CANCELLED": {"cancel"}, "COMPLETED": {"accept", "start", "complete"},
	"FAILED": {"accept", "start", "fail"}, "ENTERED_IN_ERROR": {"markEnteredInError"},
}

// caller is a role, plus provider staff of another provider.
type caller struct {
	name       string
	role       auth.Role
	providerID string
}

func callers() []caller {
	var out []caller
	for _, r := range auth.Roles {
		c := caller{name: string(r), role: r}
		if r == auth.RoleProvider {
			c.providerID = providerA
		}
		out = append(out, c)
	}
	return append(out, caller{name: "provider-of-another", role: auth.RoleProvider, providerID: providerB})
}

func (h *harness) do(ctx context.Context, action, name string, withReason bool) (*referralv1.Referral, error) {
	reason := ""
	var outcome *referralv1.Outcome
	if withReason {
		reason = "powód testowy"
		outcome = &referralv1.Outcome{Code: referralv1.OutcomeCode_OUTCOME_CODE_GOT_HELP, Note: "pomoc udzielona"}
	}
	c := h.client
	switch action {
	case "send":
		return c.SendReferral(ctx, &referralv1.SendReferralRequest{Name: name})
	case "receive":
		return c.ReceiveReferral(ctx, &referralv1.ReceiveReferralRequest{Name: name})
	case "accept":
		return c.AcceptReferral(ctx, &referralv1.AcceptReferralRequest{Name: name})
	case "reject":
		return c.RejectReferral(ctx, &referralv1.RejectReferralRequest{Name: name, Reason: reason})
	case "cancel":
		return c.CancelReferral(ctx, &referralv1.CancelReferralRequest{Name: name, Reason: reason})
	case "start":
		return c.StartReferral(ctx, &referralv1.StartReferralRequest{Name: name})
	case "hold":
		return c.HoldReferral(ctx, &referralv1.HoldReferralRequest{Name: name, Reason: reason})
	case "resume":
		return c.ResumeReferral(ctx, &referralv1.ResumeReferralRequest{Name: name})
	case "complete":
		return c.CompleteReferral(ctx, &referralv1.CompleteReferralRequest{Name: name, Outcome: outcome})
	case "fail":
		return c.FailReferral(ctx, &referralv1.FailReferralRequest{Name: name, Reason: reason})
	case "markEnteredInError":
		return c.MarkReferralEnteredInError(ctx, &referralv1.MarkReferralEnteredInErrorRequest{Name: name, Reason: reason})
	}
	panic(action)
}

func (h *harness) referralIn(t *testing.T, res, con, kase, st string) *referralv1.Referral {
	t.Helper()
	if st == "DRAFT" {
		return h.refer(t, res, con, kase, referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT)
	}
	r := h.refer(t, res, con, kase, referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED)
	for _, a := range pathTo[st] {
		ctx := h.prov(t)
		if table[a].by == "requester" {
			ctx = h.coord(t)
		}
		var err error
		if r, err = h.do(ctx, a, r.GetName(), true); err != nil {
			t.Fatalf("path to %s, %s: %v", st, a, err)
		}
	}
	if got := r.GetStatus().String(); got != "REFERRAL_STATUS_"+st {
		t.Fatalf("path to %s ended in %s", st, got)
	}
	return r
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func TestEveryTransitionForEveryRole(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "850315", 1234), 50000, 1)
	// One referral per status takes the refused calls; they must leave it unchanged.
	shared := map[string]*referralv1.Referral{}
	for _, st := range allStatuses {
		shared[st] = h.referralIn(t, res, con, kase, st)
	}
	allowedN, deniedN, refusedReason := 0, 0, 0
	for action, rw := range table {
		for _, st := range allStatuses {
			for _, c := range callers() {
				isRequester := c.role == auth.RoleCoordinator || c.role == auth.RoleDirector
				roleOK := (rw.by == "requester" && isRequester) || (rw.by == "provider" && c.role == auth.RoleProvider && c.providerID == providerA)
				statusOK := contains(rw.from, st)
				ctx := h.as(t, c.role, c.providerID)
				if roleOK && statusOK && !(st == "DRAFT" && rw.by == "provider") {
					allowedN++
					r := h.referralIn(t, res, con, kase, st)
					if rw.needs != "" {
						// Without the reason or outcome the table requires: INVALID_ARGUMENT naming the field.
						_, err := h.do(ctx, action, r.GetName(), false)
						if status.Code(err) != codes.InvalidArgument {
							t.Errorf("%s from %s as %s without %s: %v", action, st, c.name, rw.needs, err)
						}
						refusedReason++
					}
					out, err := h.do(ctx, action, r.GetName(), true)
					if err != nil {
						t.Errorf("%s from %s as %s: %v, want allowed", action, st, c.name, err)
						continue
					}
					want := rw.to
					if want == "" {
						want = "ACCEPTED" // the ON_HOLD referrals were held from ACCEPTED
					}
					if out.GetStatus().String() != "REFERRAL_STATUS_"+want {
						t.Errorf("%s from %s as %s: status %s, want %s", action, st, c.name, out.GetStatus(), want)
					}
					last := out.GetHistory()[len(out.GetHistory())-1]
					if last.GetFrom().String() != "REFERRAL_STATUS_"+st || last.GetActor() == "" || last.GetTime() == nil {
						t.Errorf("%s from %s: history entry %v", action, st, last)
					}
					continue
				}
				deniedN++
				_, err := h.do(ctx, action, shared[st].GetName(), true)
				got := status.Code(err)
				var want codes.Code
				switch {
				case c.role == auth.RoleAnonymous:
					want = codes.Unauthenticated
				case !(rw.by == "requester" && isRequester) && !(rw.by == "provider" && c.role == auth.RoleProvider):
					want = codes.PermissionDenied // the policy table
				case c.role == auth.RoleProvider && (c.providerID != providerA || st == "DRAFT"):
					want = codes.NotFound // not theirs: exactly like a missing referral
				default:
					want = codes.FailedPrecondition
				}
				if got != want {
					t.Errorf("%s from %s as %s: %v, want %v", action, st, c.name, err, want)
				}
			}
		}
	}
	for st, r := range shared {
		now, err := h.store.GetReferral(r.GetName()[len("referrals/"):])
		if err != nil || now.GetEtag() != r.GetEtag() {
			t.Errorf("refused calls changed the %s referral", st)
		}
	}
	t.Logf("transition matrix: %d calls (%d actions x %d statuses x %d callers): %d allowed, %d refused; %d missing-reason/outcome refusals",
		allowedN+deniedN, len(table), len(allStatuses), len(callers()), allowedN, deniedN, refusedReason)
}
