package server

import (
	"context"
	"slices"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

// maskNames lists the paths of a mask for the audit entry: field names only, never values.
func maskNames(paths []domain.MaskPath) string {
	names := make([]string, 0, len(paths))
	for _, p := range paths {
		names = append(names, p.String())
	}
	return "updated " + strings.Join(names, ",")
}

// UpdateResident implements the RPC: the fields of the mask, the etag guarding the update; a changed PESEL
// re-derives the birth date and sex and moves the index entry in the same transaction.
func (s *Server) UpdateResident(ctx context.Context, req *referralv1.UpdateResidentRequest) (out *referralv1.Resident, err error) {
	resource := "residents/-"
	defer func() {
		if err != nil {
			s.audit(ctx, "UpdateResident", resource, err)
		}
	}()
	patch := req.GetResident()
	if patch == nil {
		return nil, apierr.Invalid("resident", "required")
	}
	id, err := domain.IDFromName("resident.name", domain.ResidentPrefix, patch.GetName())
	if err != nil {
		return nil, err
	}
	resource = domain.ResidentPrefix + id
	paths, err := domain.MaskPaths("update_mask", patch, req.GetUpdateMask().GetPaths(), domain.ResidentUpdatable)
	if err != nil {
		return nil, err
	}
	birthGiven, sexGiven := domain.Touches(paths, "birth_date"), domain.Touches(paths, "sex")
	etag, now := patch.GetEtag(), s.now()
	return s.st.UpdateResident(ctx, id, func(r *referralv1.Resident) error {
		if etag != "" && etag != r.GetEtag() {
			return apierr.ErrStaleEtag
		}
		old := r.GetPesel()
		domain.ApplyMask(r, patch, paths)
		if p := r.GetPesel(); p != "" && p != old {
			// A new PESEL: birth date and sex are derived from it again (a birth date given with it must match).
			if !birthGiven {
				r.BirthDate = ""
			}
			if !sexGiven {
				r.Sex = referralv1.Sex_SEX_UNSPECIFIED
			}
		}
		return domain.NormalizeResident(r, now)
	}, allowed(ctx, "UpdateResident", resource, maskNames(paths)))
}

// UpdateCase implements the RPC: notes, assessed needs, status and coordinator.
func (s *Server) UpdateCase(ctx context.Context, req *referralv1.UpdateCaseRequest) (out *referralv1.Case, err error) {
	resource := "cases/-"
	defer func() {
		if err != nil {
			s.audit(ctx, "UpdateCase", resource, err)
		}
	}()
	patch := req.GetCase()
	if patch == nil {
		return nil, apierr.Invalid("case", "required")
	}
	id, err := domain.IDFromName("case.name", domain.CasePrefix, patch.GetName())
	if err != nil {
		return nil, err
	}
	resource = domain.CasePrefix + id
	paths, err := domain.MaskPaths("update_mask", patch, req.GetUpdateMask().GetPaths(), domain.CaseUpdatable)
	if err != nil {
		return nil, err
	}
	etag := patch.GetEtag()
	return s.st.UpdateCase(ctx, id, func(c *referralv1.Case) error {
		if etag != "" && etag != c.GetEtag() {
			return apierr.ErrStaleEtag
		}
		domain.ApplyMask(c, patch, paths)
		return domain.ValidateCaseUpdate(c)
	}, allowed(ctx, "UpdateCase", resource, maskNames(paths)))
}

// UpdatePlan implements the RPC: goals, planned services and review dates of a draft or approved plan.
func (s *Server) UpdatePlan(ctx context.Context, req *referralv1.UpdatePlanRequest) (out *referralv1.Plan, err error) {
	resource := "plans/-"
	defer func() {
		if err != nil {
			s.audit(ctx, "UpdatePlan", resource, err)
		}
	}()
	patch := req.GetPlan()
	if patch == nil {
		return nil, apierr.Invalid("plan", "required")
	}
	c, p, err := domain.TwoIDs("plan.name", domain.CasePrefix, domain.PlansSegment, patch.GetName())
	if err != nil {
		return nil, err
	}
	resource = domain.CasePrefix + c + domain.PlansSegment + p
	paths, err := domain.MaskPaths("update_mask", patch, req.GetUpdateMask().GetPaths(), domain.PlanUpdatable)
	if err != nil {
		return nil, err
	}
	etag := patch.GetEtag()
	return s.st.UpdatePlan(ctx, c, p, func(pl *referralv1.Plan) error {
		if etag != "" && etag != pl.GetEtag() {
			return apierr.ErrStaleEtag
		}
		if pl.GetStatus() == referralv1.PlanStatus_PLAN_STATUS_CLOSED {
			return domain.ErrPlanState.With("status", pl.GetStatus().String()).Withf("a closed plan is read-only")
		}
		before := proto.Clone(pl).(*referralv1.Plan)
		domain.ApplyMask(pl, patch, paths)
		// An approved plan whose goals or services change is a new plan to approve: it goes back to draft
		// (review dates may move without that).
		if pl.GetStatus() == referralv1.PlanStatus_PLAN_STATUS_APPROVED &&
			(!slices.Equal(before.GetGoals(), pl.GetGoals()) || !slices.Equal(before.GetPlannedServices(), pl.GetPlannedServices())) {
			pl.Status, pl.Approver, pl.ApproveTime = referralv1.PlanStatus_PLAN_STATUS_DRAFT, "", nil
		}
		return domain.ValidatePlanUpdate(pl)
	}, allowed(ctx, "UpdatePlan", resource, maskNames(paths)))
}

// AddPlanReview implements the RPC: a review of an approved plan, appended to its reviews.
func (s *Server) AddPlanReview(ctx context.Context, req *referralv1.AddPlanReviewRequest) (out *referralv1.Plan, err error) {
	defer func() {
		if err != nil {
			s.audit(ctx, "AddPlanReview", req.GetName(), err)
		}
	}()
	c, p, err := domain.TwoIDs("name", domain.CasePrefix, domain.PlansSegment, req.GetName())
	if err != nil {
		return nil, err
	}
	if err := checkRequestID(req.GetRequestId()); err != nil {
		return nil, err
	}
	if req.GetReview() == nil {
		return nil, apierr.Invalid("review", "required")
	}
	caller := auth.FromContext(ctx).Subject
	now := s.now()
	w := allowed(ctx, "AddPlanReview", domain.CasePrefix+c+domain.PlansSegment+p, "reviewed")
	w.Req = reqOf("AddPlanReview", req.GetRequestId(), s.st.RequestHash(req))
	return s.st.UpdatePlan(ctx, c, p, func(pl *referralv1.Plan) error {
		if req.GetEtag() != "" && req.GetEtag() != pl.GetEtag() {
			return apierr.ErrStaleEtag
		}
		if pl.GetStatus() != referralv1.PlanStatus_PLAN_STATUS_APPROVED {
			return domain.ErrPlanState.With("status", pl.GetStatus().String()).Withf("only an approved plan is reviewed")
		}
		r := clone(req.GetReview())
		r.Recorder, r.CreateTime = caller, tsNow(now)
		if err := domain.NormalizeReview(r, pl, now.Format(time.DateOnly), caller); err != nil {
			return err
		}
		latest := true
		for _, prev := range pl.GetReviews() {
			if prev.GetReviewDate() > r.GetReviewDate() {
				latest = false
			}
		}
		pl.Reviews = append(pl.Reviews, r)
		if latest {
			pl.NextReviewDate = r.GetNextReviewDate()
		}
		return nil
	}, w)
}
