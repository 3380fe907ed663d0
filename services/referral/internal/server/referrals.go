package server

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/grpcserver"
	"github.com/cus-suite/cus/platform/resource"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// CreateReferral implements the RPC.
func (s *Server) CreateReferral(ctx context.Context, req *referralv1.CreateReferralRequest) (out *referralv1.Referral, err error) {
	defer func() {
		if err != nil {
			s.audit(ctx, "CreateReferral", "referrals/-", err)
		}
	}()
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	id, err := newID(req.GetReferralId(), "referral_id")
	if err != nil {
		return nil, err
	}
	if req.GetReferral() == nil {
		return nil, apierr.Invalid("referral", "required")
	}
	in := req.GetReferral()
	if err := domain.ValidateReferral(in); err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	initial, err := domain.InitialStatus(in.GetStatus(), requesterOrNone(p))
	if err != nil {
		return nil, err
	}
	hash := s.st.RequestHash(req)
	if name, err := s.st.ReplayedName(reqOf("CreateReferral", req.GetRequestId(), hash)); err != nil {
		return nil, err
	} else if name != "" {
		return s.replayedReferral(ctx, "CreateReferral", name)
	}
	rid := strings.TrimPrefix(in.GetResident(), domain.ResidentPrefix)
	resident, err := s.st.GetResident(rid)
	if err != nil {
		return nil, apierr.Invalid("referral.resident", "no such resident")
	}
	// The catalogue and provider services are asked before anything is written.
	cctx, cancel := s.outgoing(ctx)
	svc, err := s.catalogue.GetService(cctx, &cataloguev1.GetServiceRequest{Name: in.GetService()})
	cancel()
	if err != nil {
		return nil, dependencyError(err, domain.ErrCatalogueDown, "service")
	}
	pctx, cancel := s.outgoing(ctx)
	ag, err := s.provider.GetAgreement(pctx, &providerv1.GetAgreementRequest{Name: in.GetAgreement()})
	cancel()
	if err != nil {
		return nil, dependencyError(err, domain.ErrProviderDown, "agreement")
	}
	now := s.now()
	if err := domain.CheckAgreement(ag, in.GetService(), in.GetProvider(), now.Format(time.DateOnly)); err != nil {
		return nil, err
	}
	r := clone(in)
	r.Status = initial
	r.StatusReason, r.Outcome, r.ResidentSummary = "", nil, nil
	r.Requester = p.Subject
	if r.Units == 0 {
		r.Units = 1
	}
	if r.Priority == referralv1.Priority_PRIORITY_UNSPECIFIED {
		r.Priority = referralv1.Priority_PRIORITY_ROUTINE
	}
	if r.ResponseDueDate == "" {
		r.ResponseDueDate = now.AddDate(0, 0, 7).Format(time.DateOnly)
	}
	r.Areas = svc.GetAreas()
	r.Fee = domain.Fee(svc.GetFee(), resident.GetHouseholdSize(), int64(resident.GetMonthlyIncomePerPersonGrosze()), s.opts.Criteria, now.Format(time.DateOnly))
	r.History = []*referralv1.Transition{{To: initial, Actor: p.Subject, Role: roleString(p)}}
	_, cid, _ := domain.TwoIDs("", domain.ResidentPrefix, domain.ConsentsSegment, in.GetConsent())
	w := allowed(ctx, "CreateReferral", "", "created "+initial.String())
	w.Req = reqOf("CreateReferral", req.GetRequestId(), hash)
	out, replayed, err := s.st.CreateReferral(ctx, id, r, func(tx store.Reader) error {
		res := tx.Resident(rid)
		if res == nil {
			return apierr.Invalid("referral.resident", "no such resident")
		}
		c := tx.Consent(rid, cid)
		if c == nil {
			return apierr.Invalid("referral.consent", "no such consent of the resident")
		}
		if c.GetWithdrawTime() != nil {
			return domain.ErrReferralConsentWithdrawn
		}
		if err := domain.CheckConsentProvider(c, in.GetProvider()); err != nil {
			return err
		}
		// The service's rules (status, decyzja, age, target groups) against the resident as stored in this
		// transaction, so an edit of the resident between the reads above and this write cannot slip past them.
		if err := domain.CheckEligibility(svc, res, in.GetDecisionReference(), now); err != nil {
			return err
		}
		if in.GetCase() != "" {
			k := tx.Case(strings.TrimPrefix(in.GetCase(), domain.CasePrefix))
			if k == nil || k.GetResident() != in.GetResident() {
				return apierr.Invalid("referral.case", "no such case of the resident")
			}
		}
		return nil
	}, w)
	if err == nil && replayed {
		return s.replayedReferral(ctx, "CreateReferral", out.GetName())
	}
	return out, err
}

// replayedReferral answers a replayed create with the referral as it is now, audited as a read ("replayed"):
// a repeat of a request id must not return data unaudited.
func (s *Server) replayedReferral(ctx context.Context, method, name string) (*referralv1.Referral, error) {
	r, err := s.st.GetReferral(strings.TrimPrefix(name, domain.ReferralPrefix))
	if err != nil {
		return nil, err
	}
	if err := s.read(ctx, method, name, nil, "replayed"); err != nil {
		return nil, err
	}
	return r, nil
}

func requesterOrNone(p *auth.Principal) domain.Actor {
	if p.Has(auth.RoleCoordinator) || p.Has(auth.RoleDirector) {
		return domain.ActorRequester
	}
	return domain.ActorNone
}

// visible loads a referral the caller may see, or NOT_FOUND exactly as for a missing one.
func (s *Server) visible(ctx context.Context, name string) (*referralv1.Referral, domain.Actor, error) {
	id, err := domain.IDFromName("name", domain.ReferralPrefix, name)
	if err != nil {
		return nil, domain.ActorNone, err
	}
	r, err := s.st.GetReferral(id)
	if err != nil {
		return nil, domain.ActorNone, err
	}
	actor, ok := actorOf(auth.FromContext(ctx), r)
	if !ok {
		return nil, domain.ActorNone, domain.ErrReferralNotFound
	}
	return r, actor, nil
}

// withSummary fills the minimal resident data the consent's scope allows.
func (s *Server) withSummary(r *referralv1.Referral) *referralv1.Referral {
	if r.GetResident() == "" {
		return r
	}
	rid := strings.TrimPrefix(r.GetResident(), domain.ResidentPrefix)
	res, err := s.st.GetResident(rid)
	if err != nil {
		return r
	}
	_, cid, err := domain.TwoIDs("", domain.ResidentPrefix, domain.ConsentsSegment, r.GetConsent())
	if err != nil {
		return r
	}
	c, err := s.st.GetConsent(rid, cid)
	if err != nil || c.GetWithdrawTime() != nil {
		return r
	}
	out := clone(r)
	sum := &referralv1.ResidentSummary{}
	if slices.Contains(c.GetScope(), referralv1.DataScope_DATA_SCOPE_NAME) {
		sum.GivenName, sum.FamilyName = res.GetGivenName(), res.GetFamilyName()
	}
	if slices.Contains(c.GetScope(), referralv1.DataScope_DATA_SCOPE_CONTACT) {
		sum.Phone, sum.Email = res.GetPhone(), res.GetEmail()
	}
	if slices.Contains(c.GetScope(), referralv1.DataScope_DATA_SCOPE_ADDRESS) {
		sum.Address = res.GetAddress()
	}
	out.ResidentSummary = sum
	return out
}

// GetReferral implements the RPC.
func (s *Server) GetReferral(ctx context.Context, req *referralv1.GetReferralRequest) (*referralv1.Referral, error) {
	r, _, err := s.visible(ctx, req.GetName())
	if err != nil {
		s.audit(ctx, "GetReferral", req.GetName(), err)
		return nil, err
	}
	out := s.withSummary(r)
	if err := s.read(ctx, "GetReferral", req.GetName(), summaryOf(out), ""); err != nil {
		return nil, err
	}
	return out, nil
}

// summaryOf names the resident whose data a referral carries (its resident summary), for the audit entry.
func summaryOf(r *referralv1.Referral) []string {
	if r.GetResidentSummary() == nil {
		return nil
	}
	return []string{r.GetResident()}
}

// disclosedBy names what referrals disclose: each referral and, once, each resident whose summary it carries.
func disclosedBy(rs []*referralv1.Referral) []string {
	out := make([]string, 0, len(rs))
	seen := map[string]bool{}
	for _, r := range rs {
		out = append(out, r.GetName())
		if r.GetResidentSummary() != nil && !seen[r.GetResident()] {
			seen[r.GetResident()] = true
			out = append(out, r.GetResident())
		}
	}
	return out
}

// ListReferrals implements the RPC (newest first).
func (s *Server) ListReferrals(ctx context.Context, req *referralv1.ListReferralsRequest) (*referralv1.ListReferralsResponse, error) {
	n, err := pageSize(req.GetPageSize(), 50, 500)
	if err != nil {
		return nil, err
	}
	f, err := parseReferralFilter(req)
	if err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	// Read before the referrals: a watch from it misses no later change (at worst repeats one).
	rev := s.st.Revision()
	var all []*referralv1.Referral
	err = s.eachReferral(p, f, func(r *referralv1.Referral) error {
		if _, ok := actorOf(p, r); !ok || !f.match(r) {
			return nil
		}
		all = append(all, r)
		return nil
	})
	if err != nil {
		s.audit(ctx, "ListReferrals", "referrals", err)
		return nil, err
	}
	slices.Reverse(all) // uuid v7: id order is creation order
	start := 0
	if t := req.GetPageToken(); t != "" {
		start = -1
		for i, r := range all {
			if r.GetName() == t {
				start = i + 1
			}
		}
		if start < 0 {
			return nil, apierr.ErrInvalidPageToken
		}
	}
	end := min(start+n, len(all))
	out := &referralv1.ListReferralsResponse{Revision: rev}
	for _, r := range all[start:end] {
		out.Referrals = append(out.Referrals, s.withSummary(r))
	}
	if end < len(all) {
		out.NextPageToken = all[end-1].GetName()
	}
	if err := s.read(ctx, "ListReferrals", "referrals", disclosedBy(out.Referrals), ""); err != nil {
		return nil, err
	}
	return out, nil
}

// Errors of watches.
var (
	errTooManyWatches = apierr.New(apierr.KindResourceExhausted, "TOO_MANY_WATCHES", "too many open watches")
	errTokenExpired   = apierr.New(apierr.KindUnauthenticated, "TOKEN_EXPIRED", "the bearer token expired; reconnect with a fresh token and after_revision")
	// A revision from the future (e.g. kept across a restore of an older backup) would wait for ever.
	errRevisionInFuture = apierr.New(apierr.KindOutOfRange, "REVISION_IN_FUTURE", "after_revision is above the newest revision of this service; list again and watch from the list's revision")
)

// openWatch counts a watch of a principal against the caps; the returned function closes it.
func (s *Server) openWatch(p *auth.Principal) (func(), error) {
	key := p.Subject + "\x00" + p.ProviderID
	s.watchMu.Lock()
	defer s.watchMu.Unlock()
	if s.watchers[key] >= s.opts.MaxWatchesPerCaller {
		return nil, errTooManyWatches.With("limit", strconv.Itoa(s.opts.MaxWatchesPerCaller)).
			Withf("this caller already has %d open watches (--max-watches-per-caller); close one, or share one stream", s.opts.MaxWatchesPerCaller)
	}
	if s.watchersAll >= s.opts.MaxWatches {
		return nil, errTooManyWatches.With("limit", strconv.Itoa(s.opts.MaxWatches)).
			Withf("the service has %d open watches, its limit (--max-watches); retry later", s.opts.MaxWatches)
	}
	s.watchers[key]++
	s.watchersAll++
	return func() {
		s.watchMu.Lock()
		defer s.watchMu.Unlock()
		if s.watchers[key]--; s.watchers[key] <= 0 {
			delete(s.watchers, key)
		}
		s.watchersAll--
	}, nil
}

// WatchReferrals implements the RPC. The stream starts after after_revision (0: at the current revision,
// replaying nothing; clients list, then watch from the list's revision), sends the changes the caller may see
// in batches (each batch audited, naming the referrals in it, before it is sent), a heartbeat carrying the
// revision reached at the start and every WatchHeartbeat, and ends when the caller's token expires.
func (s *Server) WatchReferrals(req *referralv1.WatchReferralsRequest, stream referralv1.ReferralService_WatchReferralsServer) error {
	ctx := stream.Context()
	if req.GetAfterRevision() < 0 {
		return apierr.Invalid("after_revision", "must not be negative")
	}
	p := auth.FromContext(ctx)
	done, err := s.openWatch(p)
	if err != nil {
		return err
	}
	defer done()
	var expired <-chan time.Time
	if !p.Expiry.IsZero() {
		t := time.NewTimer(time.Until(p.Expiry))
		defer t.Stop()
		expired = t.C
	}
	after := req.GetAfterRevision()
	if head := s.st.Revision(); after == 0 {
		after = head
	} else if after > head && !s.st.AwaitRevision(ctx, after, resource.CatchUp) {
		// On etcd a revision from another replica may be a few milliseconds ahead of this one's: waited for.
		return errRevisionInFuture
	}
	if err := s.read(ctx, "WatchReferrals", "referrals", nil, "watch from "+strconv.FormatInt(after, 10)); err != nil {
		return err
	}
	w := resource.Watch{Feed: s.st, Stopping: s.stop, Heartbeat: s.opts.WatchHeartbeat, Expires: expired, Expired: errTokenExpired,
		Drained: apierr.New(apierr.KindUnavailable, "SHUTTING_DOWN", "the service is shutting down; reconnect with after_revision")}
	return w.Run(ctx, func(heartbeat bool) (bool, error) {
		head := s.st.Revision()
		events, err := s.st.ReferralChanges(after, 500)
		if err != nil {
			return false, err
		}
		var batch []*referralv1.ReferralEvent
		for _, e := range events {
			after = e.GetRevision()
			if _, ok := actorOf(p, e.GetReferral()); !ok {
				continue
			}
			batch = append(batch, e)
		}
		if len(batch) > 0 {
			names := make([]string, len(batch))
			for i, e := range batch {
				names[i] = e.GetReferral().GetName()
			}
			if err := s.read(ctx, "WatchReferrals", "referrals", names, "watch batch"); err != nil {
				return false, err
			}
			for _, e := range batch {
				if err := stream.Send(e); err != nil {
					return false, err
				}
			}
		}
		if len(events) == 500 {
			return true, nil
		}
		// Every change up to head was read: the cursor may move past revisions the caller was not shown.
		after = max(after, head)
		if heartbeat {
			return false, stream.Send(&referralv1.ReferralEvent{Heartbeat: true, Revision: after})
		}
		return false, nil
	})
}

// transition runs one state change of the table.
func (s *Server) transition(ctx context.Context, method string, action domain.Action, name, etag, requestID, reason string, outcome *referralv1.Outcome, hash []byte) (out *referralv1.Referral, err error) {
	defer func() {
		if err != nil {
			s.audit(ctx, method, name, err)
		}
	}()
	if err := checkRequestID(requestID); err != nil {
		return nil, err
	}
	if err := domain.CheckReason("reason", reason); err != nil {
		return nil, err
	}
	if err := domain.CheckReason("outcome.note", outcome.GetNote()); err != nil {
		return nil, err
	}
	cur, actor, err := s.visible(ctx, name)
	if err != nil {
		return nil, err
	}
	req := reqOf(method, requestID, hash)
	if n, err := s.st.ReplayedName(req); err != nil {
		return nil, err
	} else if n != "" {
		out := s.withSummary(cur)
		if err := s.read(ctx, method, name, summaryOf(out), "replayed"); err != nil {
			return nil, err
		}
		return out, nil
	}
	if etag != "" && etag != cur.GetEtag() {
		return nil, apierr.ErrStaleEtag
	}
	from := cur.GetStatus()
	if _, err := domain.Next(action, from, actor, reason, outcome.GetCode(), heldFrom(cur)); err != nil {
		return nil, err
	}
	p := auth.FromContext(ctx)
	id := strings.TrimPrefix(cur.GetName(), domain.ReferralPrefix)
	reserved := false
	if action == domain.ActionAccept {
		c, cancel := s.outgoing(ctx)
		res, err := s.provider.ReserveCapacity(c, &providerv1.ReserveCapacityRequest{Name: cur.GetAgreement(), ReferralId: id, Units: max(cur.GetUnits(), 1)})
		cancel()
		if err != nil {
			return nil, dependencyError(err, domain.ErrProviderDown, "agreement")
		}
		reserved = !res.GetAlreadyReserved()
	}
	expect := cur.GetEtag()
	w := allowed(ctx, method, name, "")
	w.Req = req
	mutated := false
	out, err = s.st.UpdateReferral(ctx, id, func(r *referralv1.Referral, now time.Time) error {
		mutated = true
		// The state check and the etag of the read above, in the same transaction: of two concurrent
		// changes exactly one commits, the other is ABORTED.
		if r.GetEtag() != expect {
			return apierr.ErrStaleEtag
		}
		to, err := domain.Next(action, r.GetStatus(), actor, reason, outcome.GetCode(), heldFrom(r))
		if err != nil {
			return err
		}
		r.History = append(r.History, &referralv1.Transition{From: r.GetStatus(), To: to, Actor: p.Subject, Role: roleString(p), Time: tsNow(now), Reason: reason})
		r.Status = to
		if reason != "" {
			r.StatusReason = reason
		}
		if outcome != nil && to == referralv1.ReferralStatus_REFERRAL_STATUS_COMPLETED {
			r.Outcome = clone(outcome)
		}
		w.Audit.Reason = from.String() + " -> " + to.String()
		return nil
	}, w)
	if err != nil {
		if reserved {
			// Compensate: the acceptance did not happen, unless a concurrent one did.
			if now, gerr := s.st.GetReferral(id); gerr != nil || !domain.HoldsCapacity(now.GetStatus()) {
				s.release(ctx, id, cur.GetAgreement())
			}
		}
		return nil, err
	}
	if !mutated {
		// A concurrent request with the same id committed first: this one is its replay.
		res := s.withSummary(out)
		if err := s.read(ctx, method, name, summaryOf(res), "replayed"); err != nil {
			return nil, err
		}
		return res, nil
	}
	if domain.Terminal(out.GetStatus()) && domain.HoldsCapacity(from) {
		s.release(ctx, id, cur.GetAgreement())
	}
	return s.withSummary(out), nil
}

// release gives capacity back; when the provider service cannot be reached it is recorded and retried.
func (s *Server) release(ctx context.Context, id, agreement string) {
	c, cancel := s.outgoing(ctx)
	_, err := s.provider.ReleaseCapacity(c, &providerv1.ReleaseCapacityRequest{Name: agreement, ReferralId: id})
	cancel()
	if err != nil {
		s.log.Warn("capacity release deferred", zap.String("referral", domain.ReferralPrefix+id), zap.String("code", reasonOf(err)))
		if perr := s.st.AddPendingRelease(context.WithoutCancel(ctx), id, agreement); perr != nil {
			s.log.Error("pending release not recorded", zap.Error(perr))
		}
	}
}

// RetryReleases retries deferred capacity releases until ctx ends.
func (s *Server) RetryReleases(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pending, err := s.st.PendingReleases()
		if err != nil {
			continue
		}
		for id, ag := range pending {
			c, cancel := s.outgoing(ctx)
			_, err := s.provider.ReleaseCapacity(c, &providerv1.ReleaseCapacityRequest{Name: ag, ReferralId: id})
			cancel()
			if err == nil {
				_ = s.st.DonePendingRelease(ctx, id)
			}
		}
	}
}

func heldFrom(r *referralv1.Referral) referralv1.ReferralStatus {
	h := r.GetHistory()
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].GetTo() == referralv1.ReferralStatus_REFERRAL_STATUS_ON_HOLD {
			return h[i].GetFrom()
		}
	}
	return referralv1.ReferralStatus_REFERRAL_STATUS_UNSPECIFIED
}

// SendReferral implements the RPC.
func (s *Server) SendReferral(ctx context.Context, r *referralv1.SendReferralRequest) (*referralv1.Referral, error) {
	return s.transition(ctx, "SendReferral", domain.ActionSend, r.GetName(), r.GetEtag(), r.GetRequestId(), "", nil, s.st.RequestHash(r))
}

// ReceiveReferral implements the RPC.
func (s *Server) ReceiveReferral(ctx context.Context, r *referralv1.ReceiveReferralRequest) (*referralv1.Referral, error) {
	return s.transition(ctx, "ReceiveReferral", domain.ActionReceive, r.GetName(), r.GetEtag(), r.GetRequestId(), "", nil, s.st.RequestHash(r))
}

// AcceptReferral implements the RPC.
func (s *Server) AcceptReferral(ctx context.Context, r *referralv1.AcceptReferralRequest) (*referralv1.Referral, error) {
	return s.transition(ctx, "AcceptReferral", domain.ActionAccept, r.GetName(), r.GetEtag(), r.GetRequestId(), "", nil, s.st.RequestHash(r))
}

// RejectReferral implements the RPC.
func (s *Server) RejectReferral(ctx context.Context, r *referralv1.RejectReferralRequest) (*referralv1.Referral, error) {
	return s.transition(ctx, "RejectReferral", domain.ActionReject, r.GetName(), r.GetEtag(), r.GetRequestId(), r.GetReason(), nil, s.st.RequestHash(r))
}

// StartReferral implements the RPC.
func (s *Server) StartReferral(ctx context.Context, r *referralv1.StartReferralRequest) (*referralv1.Referral, error) {
	return s.transition(ctx, "StartReferral", domain.ActionStart, r.GetName(), r.GetEtag(), r.GetRequestId(), "", nil, s.st.RequestHash(r))
}

// HoldReferral implements the RPC.
func (s *Server) HoldReferral(ctx context.Context, r *referralv1.HoldReferralRequest) (*referralv1.Referral, error) {
	return s.transition(ctx, "HoldReferral", domain.ActionHold, r.GetName(), r.GetEtag(), r.GetRequestId(), r.GetReason(), nil, s.st.RequestHash(r))
}

// ResumeReferral implements the RPC.
func (s *Server) ResumeReferral(ctx context.Context, r *referralv1.ResumeReferralRequest) (*referralv1.Referral, error) {
	return s.transition(ctx, "ResumeReferral", domain.ActionResume, r.GetName(), r.GetEtag(), r.GetRequestId(), "", nil, s.st.RequestHash(r))
}

// CompleteReferral implements the RPC.
func (s *Server) CompleteReferral(ctx context.Context, r *referralv1.CompleteReferralRequest) (*referralv1.Referral, error) {
	if o := r.GetOutcome(); o != nil && referralv1.OutcomeCode_name[int32(o.GetCode())] == "" {
		return nil, apierr.Invalid("outcome.code", "not a known outcome")
	}
	return s.transition(ctx, "CompleteReferral", domain.ActionComplete, r.GetName(), r.GetEtag(), r.GetRequestId(), "", r.GetOutcome(), s.st.RequestHash(r))
}

// FailReferral implements the RPC.
func (s *Server) FailReferral(ctx context.Context, r *referralv1.FailReferralRequest) (*referralv1.Referral, error) {
	return s.transition(ctx, "FailReferral", domain.ActionFail, r.GetName(), r.GetEtag(), r.GetRequestId(), r.GetReason(), nil, s.st.RequestHash(r))
}

// CancelReferral implements the RPC.
func (s *Server) CancelReferral(ctx context.Context, r *referralv1.CancelReferralRequest) (*referralv1.Referral, error) {
	return s.transition(ctx, "CancelReferral", domain.ActionCancel, r.GetName(), r.GetEtag(), r.GetRequestId(), r.GetReason(), nil, s.st.RequestHash(r))
}

// MarkReferralEnteredInError implements the RPC.
func (s *Server) MarkReferralEnteredInError(ctx context.Context, r *referralv1.MarkReferralEnteredInErrorRequest) (*referralv1.Referral, error) {
	return s.transition(ctx, "MarkReferralEnteredInError", domain.ActionMarkEnteredInError, r.GetName(), r.GetEtag(), r.GetRequestId(), r.GetReason(), nil, s.st.RequestHash(r))
}

// GetStatistics implements the RPC.
func (s *Server) GetStatistics(ctx context.Context, req *referralv1.GetStatisticsRequest) (*referralv1.Statistics, error) {
	day, err := asOf(req.GetAsOf(), s.now())
	if err != nil {
		return nil, err
	}
	st := &referralv1.Statistics{ByStatus: map[string]int32{}, ByArea: map[string]int32{}, ByProvider: map[string]int32{}, ByOutcome: map[string]int32{}}
	var ack, acc []int64
	err = s.st.ForEachReferral(func(r *referralv1.Referral) error {
		st.Total++
		st.ByStatus[r.GetStatus().String()]++
		st.ByProvider[r.GetProvider()]++
		for _, a := range r.GetAreas() {
			st.ByArea[a.String()]++
		}
		if r.GetOutcome() != nil {
			st.ByOutcome[r.GetOutcome().GetCode().String()]++
		}
		var requested time.Time
		ackDone := false
		for _, h := range r.GetHistory() {
			switch h.GetTo() {
			case referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED:
				requested = h.GetTime().AsTime()
			case referralv1.ReferralStatus_REFERRAL_STATUS_RECEIVED, referralv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED, referralv1.ReferralStatus_REFERRAL_STATUS_REJECTED:
				if !requested.IsZero() && !ackDone {
					ack = append(ack, int64(h.GetTime().AsTime().Sub(requested)/time.Second))
					ackDone = true
				}
				if h.GetTo() == referralv1.ReferralStatus_REFERRAL_STATUS_ACCEPTED && !requested.IsZero() {
					acc = append(acc, int64(h.GetTime().AsTime().Sub(requested)/time.Second))
				}
			}
		}
		if (r.GetStatus() == referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED || r.GetStatus() == referralv1.ReferralStatus_REFERRAL_STATUS_RECEIVED) && r.GetResponseDueDate() < day {
			st.OverdueResponses++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	_ = s.st.ForEachPlan("", func(p *referralv1.Plan) error {
		if domain.PlanOverdue(p, day) {
			st.OverduePlans++
		}
		return nil
	})
	st.AcknowledgeSecondsMedian, st.AcknowledgeSecondsP90 = percentile(ack, 50), percentile(ack, 90)
	st.AcceptSecondsMedian, st.AcceptSecondsP90 = percentile(acc, 50), percentile(acc, 90)
	return st, nil
}

// ListAuditEntries implements the RPC.
func (s *Server) ListAuditEntries(ctx context.Context, req *referralv1.ListAuditEntriesRequest) (*referralv1.ListAuditEntriesResponse, error) {
	n, err := pageSize(req.GetPageSize(), 100, 1000)
	if err != nil {
		return nil, err
	}
	var after int64
	if t := req.GetPageToken(); t != "" {
		if _, err := fmtSscan(t, &after); err != nil || after < 0 {
			return nil, apierr.ErrInvalidPageToken
		}
	}
	list, last, more, err := s.st.ListAudit(after, n, req.GetResource())
	if err != nil {
		return nil, err
	}
	out := &referralv1.ListAuditEntriesResponse{Entries: list}
	if more {
		out.NextPageToken = itoa64(last)
	}
	return out, nil
}

// VerifyAuditChain implements the RPC.
func (s *Server) VerifyAuditChain(ctx context.Context, _ *referralv1.VerifyAuditChainRequest) (*referralv1.VerifyAuditChainResponse, error) {
	anchors, err := readAnchors(s.opts.AuditAnchorFile)
	if err != nil {
		s.log.Error("audit anchor file unreadable", zap.String("request_id", grpcserver.RequestID(ctx)), zap.Error(err))
		return nil, apierr.New(apierr.KindFailedPrecondition, "AUDIT_ANCHORS_UNREADABLE", "the audit anchor file cannot be read or is malformed")
	}
	// Only the live data: the chain is verified from its stored base, where archived entries end (they are
	// verified with their archive files by `referral audit verify`); anchors older than the base are skipped.
	r, err := s.st.VerifyAuditChain(nil, anchors)
	if err != nil {
		return nil, err
	}
	if !r.OK() {
		s.log.Warn("audit chain does not verify", zap.Int64("sequence", r.Problem.Sequence), zap.String("why", r.Problem.Why),
			zap.Int("anchors", len(anchors)), zap.Int64("base_sequence", r.BaseSequence))
	}
	return &referralv1.VerifyAuditChainResponse{Ok: r.OK(), Entries: r.Entries, FirstBrokenSequence: r.Problem.Sequence, BaseSequence: r.BaseSequence}, nil
}

var errNoNumber = errors.New("not a number")

func fmtSscan(s string, v *int64) (int, error) {
	var n int64
	if s == "" {
		return 0, errNoNumber
	}
	for _, c := range s {
		if c < '0' || c > '9' || n > 1<<55 {
			return 0, errNoNumber
		}
		n = n*10 + int64(c-'0')
	}
	*v = n
	return 1, nil
}

func itoa64(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}
