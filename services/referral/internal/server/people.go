package server

import (
	"context"
	"time"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/plid"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// CreateResident implements the RPC.
func (s *Server) CreateResident(ctx context.Context, req *referralv1.CreateResidentRequest) (out *referralv1.Resident, err error) {
	defer func() {
		if err != nil {
			s.audit(ctx, "CreateResident", "residents/-", err)
		}
	}()
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	id, err := newID(req.GetResidentId(), "resident_id")
	if err != nil {
		return nil, err
	}
	if req.GetResident() == nil {
		return nil, apierr.Invalid("resident", "required")
	}
	r := clone(req.GetResident())
	if err := domain.NormalizeResident(r, s.now()); err != nil {
		return nil, err
	}
	w := allowed(ctx, "CreateResident", "", "created")
	w.Req = reqOf("CreateResident", req.GetRequestId(), s.st.RequestHash(req))
	out, replayed, err := s.st.CreateResident(ctx, id, r, w)
	if err == nil && replayed {
		// A replay answers with the resident as it is now: a read like any other.
		if err := s.read(ctx, "CreateResident", out.GetName(), nil, "replayed"); err != nil {
			return nil, err
		}
	}
	return out, err
}

// GetResident implements the RPC.
func (s *Server) GetResident(ctx context.Context, req *referralv1.GetResidentRequest) (*referralv1.Resident, error) {
	id, err := domain.IDFromName("name", domain.ResidentPrefix, req.GetName())
	if err != nil {
		return nil, err
	}
	r, err := s.st.GetResident(id)
	if err := s.disclose(ctx, "GetResident", req.GetName(), nil, err); err != nil {
		return nil, err
	}
	return r, nil
}

// ListResidents implements the RPC.
func (s *Server) ListResidents(ctx context.Context, req *referralv1.ListResidentsRequest) (*referralv1.ListResidentsResponse, error) {
	n, err := pageSize(req.GetPageSize(), 50, 500)
	if err != nil {
		return nil, err
	}
	after := req.GetPageToken()
	if after != "" && !validID(after) {
		return nil, apierr.ErrInvalidPageToken
	}
	list, more, err := s.st.ListResidents(after, n)
	names := make([]string, len(list))
	for i, r := range list {
		// A list never carries a PESEL: it is read one resident at a time (GetResident, LookupResident,
		// ExportResident), each read audited.
		r.Pesel = ""
		names[i] = r.GetName()
	}
	if err := s.disclose(ctx, "ListResidents", "residents", names, err); err != nil {
		return nil, err
	}
	out := &referralv1.ListResidentsResponse{Residents: list}
	if more && len(list) > 0 {
		out.NextPageToken = list[len(list)-1].GetName()[len(domain.ResidentPrefix):]
	}
	return out, nil
}

func validID(s string) bool {
	_, err := domain.IDFromName("", "", s)
	return err == nil
}

// LookupResident implements the RPC.
func (s *Server) LookupResident(ctx context.Context, req *referralv1.LookupResidentRequest) (*referralv1.Resident, error) {
	if plid.ValidatePESEL(req.GetPesel()) != nil {
		err := apierr.Invalid("pesel", "not a valid PESEL")
		s.audit(ctx, "LookupResident", "residents/-", err)
		return nil, err
	}
	id, err := s.st.LookupPESEL(req.GetPesel())
	if err != nil {
		s.audit(ctx, "LookupResident", "residents/-", err)
		return nil, err
	}
	r, err := s.st.GetResident(id)
	if err := s.disclose(ctx, "LookupResident", domain.ResidentPrefix+id, nil, err); err != nil {
		return nil, err
	}
	return r, nil
}

// EraseResident implements the RPC.
func (s *Server) EraseResident(ctx context.Context, req *referralv1.EraseResidentRequest) (*referralv1.EraseResidentResponse, error) {
	id, err := domain.IDFromName("name", domain.ResidentPrefix, req.GetName())
	if err != nil {
		return nil, err
	}
	if req.GetReason() == "" || len(req.GetReason()) > 500 {
		return nil, apierr.Invalid("reason", "required, up to 500 characters")
	}
	e, err := s.st.EraseResident(ctx, id, allowed(ctx, "EraseResident", req.GetName(), "erased"))
	if err != nil {
		s.audit(ctx, "EraseResident", req.GetName(), err)
		return nil, err
	}
	return &referralv1.EraseResidentResponse{Consents: e.Consents, Cases: e.Cases, Plans: e.Plans, Referrals: e.Referrals, DataFileBytes: e.FileBytes}, nil
}

// ExportResident implements the RPC.
func (s *Server) ExportResident(ctx context.Context, req *referralv1.ExportResidentRequest) (*referralv1.ExportResidentResponse, error) {
	id, err := domain.IDFromName("name", domain.ResidentPrefix, req.GetName())
	if err != nil {
		return nil, err
	}
	out, err := s.st.ExportResident(id)
	var names []string
	for _, c := range out.GetConsents() {
		names = append(names, c.GetName())
	}
	for _, c := range out.GetCases() {
		names = append(names, c.GetName())
	}
	for _, p := range out.GetPlans() {
		names = append(names, p.GetName())
	}
	for _, r := range out.GetReferrals() {
		names = append(names, r.GetName())
	}
	if err := s.disclose(ctx, "ExportResident", req.GetName(), names, err); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateConsent implements the RPC.
func (s *Server) CreateConsent(ctx context.Context, req *referralv1.CreateConsentRequest) (*referralv1.Consent, error) {
	rid, err := domain.IDFromName("parent", domain.ResidentPrefix, req.GetParent())
	if err != nil {
		return nil, err
	}
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	if err := domain.ValidateConsent(req.GetConsent()); err != nil {
		s.audit(ctx, "CreateConsent", req.GetParent(), err)
		return nil, err
	}
	cid, _ := newID("", "")
	w := allowed(ctx, "CreateConsent", "", "recorded")
	w.Req = reqOf("CreateConsent", req.GetRequestId(), s.st.RequestHash(req))
	out, replayed, err := s.st.CreateConsent(ctx, rid, cid, req.GetConsent(), w)
	if err != nil {
		s.audit(ctx, "CreateConsent", req.GetParent(), err)
	} else if replayed {
		if err := s.read(ctx, "CreateConsent", out.GetName(), nil, "replayed"); err != nil {
			return nil, err
		}
	}
	return out, err
}

// ListConsents implements the RPC.
func (s *Server) ListConsents(ctx context.Context, req *referralv1.ListConsentsRequest) (*referralv1.ListConsentsResponse, error) {
	rid, err := domain.IDFromName("parent", domain.ResidentPrefix, req.GetParent())
	if err != nil {
		return nil, err
	}
	list, err := s.st.ListConsents(rid)
	names := make([]string, len(list))
	for i, c := range list {
		names[i] = c.GetName()
	}
	if err := s.disclose(ctx, "ListConsents", req.GetParent(), names, err); err != nil {
		return nil, err
	}
	return &referralv1.ListConsentsResponse{Consents: list}, nil
}

// WithdrawConsent implements the RPC.
func (s *Server) WithdrawConsent(ctx context.Context, req *referralv1.WithdrawConsentRequest) (*referralv1.Consent, error) {
	rid, cid, err := domain.TwoIDs("name", domain.ResidentPrefix, domain.ConsentsSegment, req.GetName())
	if err != nil {
		return nil, err
	}
	out, err := s.st.WithdrawConsent(ctx, rid, cid, req.GetEtag(), allowed(ctx, "WithdrawConsent", req.GetName(), "withdrawn"))
	if err != nil {
		s.audit(ctx, "WithdrawConsent", req.GetName(), err)
	}
	return out, err
}

// CreateCase implements the RPC.
func (s *Server) CreateCase(ctx context.Context, req *referralv1.CreateCaseRequest) (*referralv1.Case, error) {
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	id, err := newID(req.GetCaseId(), "case_id")
	if err != nil {
		return nil, err
	}
	c := clone(req.GetCase())
	if c == nil {
		return nil, apierr.Invalid("case", "required")
	}
	if err := domain.ValidateCase(c); err != nil {
		s.audit(ctx, "CreateCase", "cases/-", err)
		return nil, err
	}
	if err := domain.CheckReceiveTime(c, s.now()); err != nil {
		s.audit(ctx, "CreateCase", "cases/-", err)
		return nil, err
	}
	c.Resident = domain.ResidentPrefix + c.GetResident()[len(domain.ResidentPrefix):]
	if c.GetCoordinator() == "" {
		c.Coordinator = auth.FromContext(ctx).Subject
	}
	w := allowed(ctx, "CreateCase", "", "opened")
	w.Req = reqOf("CreateCase", req.GetRequestId(), s.st.RequestHash(req))
	out, replayed, err := s.st.CreateCase(ctx, id, c, w)
	if err != nil {
		s.audit(ctx, "CreateCase", "cases/-", err)
	} else if replayed {
		if err := s.read(ctx, "CreateCase", out.GetName(), nil, "replayed"); err != nil {
			return nil, err
		}
	}
	return out, err
}

// GetCase implements the RPC.
func (s *Server) GetCase(ctx context.Context, req *referralv1.GetCaseRequest) (*referralv1.Case, error) {
	id, err := domain.IDFromName("name", domain.CasePrefix, req.GetName())
	if err != nil {
		return nil, err
	}
	c, err := s.st.GetCase(id)
	if err := s.disclose(ctx, "GetCase", req.GetName(), nil, err); err != nil {
		return nil, err
	}
	return c, nil
}

// ListCases implements the RPC: queue order (receive_time, then name).
func (s *Server) ListCases(ctx context.Context, req *referralv1.ListCasesRequest) (*referralv1.ListCasesResponse, error) {
	n, err := pageSize(req.GetPageSize(), 50, 500)
	if err != nil {
		return nil, err
	}
	var all []*referralv1.Case
	err = s.st.ForEachCase(func(c *referralv1.Case) error {
		if req.GetResident() == "" || c.GetResident() == req.GetResident() {
			all = append(all, c)
		}
		return nil
	})
	if err != nil {
		s.audit(ctx, "ListCases", "cases", err)
		return nil, err
	}
	sortCases(all)
	start := 0
	if t := req.GetPageToken(); t != "" {
		start = -1
		for i, c := range all {
			if c.GetName() == t {
				start = i + 1
			}
		}
		if start < 0 {
			return nil, apierr.ErrInvalidPageToken
		}
	}
	end := min(start+n, len(all))
	out := &referralv1.ListCasesResponse{Cases: all[start:end]}
	if end < len(all) {
		out.NextPageToken = all[end-1].GetName()
	}
	if err := s.read(ctx, "ListCases", "cases", casesNames(out.Cases), ""); err != nil {
		return nil, err
	}
	return out, nil
}

// CreatePlan implements the RPC.
func (s *Server) CreatePlan(ctx context.Context, req *referralv1.CreatePlanRequest) (*referralv1.Plan, error) {
	caseID, err := domain.IDFromName("parent", domain.CasePrefix, req.GetParent())
	if err != nil {
		return nil, err
	}
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	if req.GetPlan() == nil {
		return nil, apierr.Invalid("plan", "required")
	}
	pid, _ := newID("", "")
	w := allowed(ctx, "CreatePlan", "", "drafted")
	w.Req = reqOf("CreatePlan", req.GetRequestId(), s.st.RequestHash(req))
	out, replayed, err := s.st.CreatePlan(ctx, caseID, pid, req.GetPlan(), func(c *referralv1.Case, p *referralv1.Plan) error {
		p.Approver, p.ApproveTime, p.Summary, p.CloseTime = "", nil, "", nil
		return domain.NormalizePlan(p, c.GetReceiveTime().AsTime())
	}, w)
	if err != nil {
		s.audit(ctx, "CreatePlan", req.GetParent(), err)
	} else if replayed {
		if err := s.read(ctx, "CreatePlan", out.GetName(), nil, "replayed"); err != nil {
			return nil, err
		}
	}
	return out, err
}

// GetPlan implements the RPC.
func (s *Server) GetPlan(ctx context.Context, req *referralv1.GetPlanRequest) (*referralv1.Plan, error) {
	c, p, err := domain.TwoIDs("name", domain.CasePrefix, domain.PlansSegment, req.GetName())
	if err != nil {
		return nil, err
	}
	out, err := s.st.GetPlan(c, p)
	if err := s.disclose(ctx, "GetPlan", req.GetName(), nil, err); err != nil {
		return nil, err
	}
	return out, nil
}

// ListPlans implements the RPC.
func (s *Server) ListPlans(ctx context.Context, req *referralv1.ListPlansRequest) (*referralv1.ListPlansResponse, error) {
	c, err := domain.IDFromName("parent", domain.CasePrefix, req.GetParent())
	if err != nil {
		return nil, err
	}
	out := &referralv1.ListPlansResponse{}
	err = s.st.ForEachPlan(c, func(p *referralv1.Plan) error { out.Plans = append(out.Plans, p); return nil })
	if err := s.disclose(ctx, "ListPlans", req.GetParent(), plansNames(out.Plans), err); err != nil {
		return nil, err
	}
	return out, nil
}

// ApprovePlan implements the RPC.
func (s *Server) ApprovePlan(ctx context.Context, req *referralv1.ApprovePlanRequest) (*referralv1.Plan, error) {
	c, p, err := domain.TwoIDs("name", domain.CasePrefix, domain.PlansSegment, req.GetName())
	if err != nil {
		return nil, err
	}
	pr := auth.FromContext(ctx)
	out, err := s.st.UpdatePlan(ctx, c, p, func(pl *referralv1.Plan) error {
		if req.GetEtag() != "" && req.GetEtag() != pl.GetEtag() {
			return apierr.ErrStaleEtag
		}
		if pl.GetStatus() != referralv1.PlanStatus_PLAN_STATUS_DRAFT {
			return domain.ErrPlanState.With("status", pl.GetStatus().String())
		}
		pl.Status, pl.Approver, pl.ApproveTime = referralv1.PlanStatus_PLAN_STATUS_APPROVED, pr.Subject, tsNow(s.now())
		return nil
	}, allowed(ctx, "ApprovePlan", req.GetName(), "approved"))
	if err != nil {
		s.audit(ctx, "ApprovePlan", req.GetName(), err)
	}
	return out, err
}

// ClosePlan implements the RPC.
func (s *Server) ClosePlan(ctx context.Context, req *referralv1.ClosePlanRequest) (*referralv1.Plan, error) {
	c, p, err := domain.TwoIDs("name", domain.CasePrefix, domain.PlansSegment, req.GetName())
	if err != nil {
		return nil, err
	}
	if req.GetSummary() == "" || len([]rune(req.GetSummary())) > 4000 {
		return nil, apierr.Invalid("summary", "required, up to 4,000 characters")
	}
	out, err := s.st.UpdatePlan(ctx, c, p, func(pl *referralv1.Plan) error {
		if req.GetEtag() != "" && req.GetEtag() != pl.GetEtag() {
			return apierr.ErrStaleEtag
		}
		if pl.GetStatus() == referralv1.PlanStatus_PLAN_STATUS_CLOSED {
			return domain.ErrPlanState.With("status", pl.GetStatus().String())
		}
		pl.Status, pl.Summary, pl.CloseTime = referralv1.PlanStatus_PLAN_STATUS_CLOSED, req.GetSummary(), tsNow(s.now())
		return nil
	}, allowed(ctx, "ClosePlan", req.GetName(), "closed"))
	if err != nil {
		s.audit(ctx, "ClosePlan", req.GetName(), err)
	}
	return out, err
}

// ListOverduePlans implements the RPC.
func (s *Server) ListOverduePlans(ctx context.Context, req *referralv1.ListOverduePlansRequest) (*referralv1.ListOverduePlansResponse, error) {
	day, err := asOf(req.GetAsOf(), s.now())
	if err != nil {
		return nil, err
	}
	out := &referralv1.ListOverduePlansResponse{}
	err = s.st.ForEachPlan("", func(p *referralv1.Plan) error {
		if domain.PlanOverdue(p, day) {
			out.Plans = append(out.Plans, p)
		}
		return nil
	})
	if err := s.disclose(ctx, "ListOverduePlans", "plans", plansNames(out.Plans), err); err != nil {
		return nil, err
	}
	return out, nil
}

func casesNames(cs []*referralv1.Case) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.GetName()
	}
	return out
}

func plansNames(ps []*referralv1.Plan) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.GetName()
	}
	return out
}

func asOf(s string, now time.Time) (string, error) {
	if s == "" {
		return now.Format(time.DateOnly), nil
	}
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", apierr.Invalid("as_of", "must be a date YYYY-MM-DD")
	}
	return s, nil
}

var _ = store.Etag
