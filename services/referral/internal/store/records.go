package store

import (
	"context"
	"errors"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

// Write is what every write carries: idempotency and the audit entry recorded in the same transaction.
type Write struct {
	Req   Req
	Audit *referralv1.AuditEntry
}

// --- residents ---

// CreateResident stores a new resident and its PESEL index entry in one transaction. A replay of the same
// request returns replayed = true and the resident as it is now.
func (s *Store) CreateResident(ctx context.Context, id string, r *referralv1.Resident, w Write) (out *referralv1.Resident, replayed bool, err error) {
	err = s.update(ctx, func(tx storage.Tx) error {
		out, replayed = nil, false
		if name, err := replay(tx, w.Req.Method, w.Req.ID, w.Req.Hash); err != nil {
			return err
		} else if name != "" {
			replayed = true
			out = &referralv1.Resident{}
			if _, ok, err := s.getRecord(tx, bucketResidents, strings.TrimPrefix(name, domain.ResidentPrefix), out); err != nil || !ok {
				return apierr.ErrRequestIDReused
			}
			return nil
		}
		if tx.Get(bucketResidents, []byte(id)) != nil {
			return domain.ErrAlreadyExists.With("resource", domain.ResidentPrefix+id)
		}
		var ik []byte
		if r.GetPesel() != "" {
			ik = s.PESELKey(r.GetPesel())
			if other := tx.Get(bucketPESEL, ik); other != nil {
				return domain.ErrResidentExists.With("resource", domain.ResidentPrefix+string(other))
			}
		}
		rec := proto.Clone(r).(*referralv1.Resident)
		rev := tx.NextRevision()
		now := s.now()
		rec.Name, rec.Etag, rec.CreateTime, rec.UpdateTime = domain.ResidentPrefix+id, Etag(rev), ts(now), ts(now)
		if err := s.putRecord(tx, bucketResidents, id, rev, rec); err != nil {
			return err
		}
		if ik != nil {
			if err := tx.Put(bucketPESEL, ik, []byte(id)); err != nil {
				return err
			}
		}
		if err := remember(tx, w.Req.Method, w.Req.ID, w.Req.Hash, rec.Name); err != nil {
			return err
		}
		out = rec
		return s.appendAudit(tx, withResource(w.Audit, rec.Name))
	})
	return out, replayed, err
}

func withResource(e *referralv1.AuditEntry, name string) *referralv1.AuditEntry {
	if e == nil {
		return nil
	}
	c := proto.Clone(e).(*referralv1.AuditEntry)
	c.Resource = name
	return c
}

// GetResident reads a resident.
func (s *Store) GetResident(id string) (*referralv1.Resident, error) {
	r := &referralv1.Resident{}
	err := s.view(func(tx storage.ReadTx) error {
		_, ok, err := s.getRecord(tx, bucketResidents, id, r)
		if err == nil && !ok {
			return domain.ErrResidentNotFound
		}
		return err
	})
	return r, err
}

// UpdateResident applies mutate to a resident in one transaction; when the PESEL changes, the index entry moves
// with it (a PESEL of another resident is refused with ALREADY_EXISTS, naming that resident).
func (s *Store) UpdateResident(ctx context.Context, id string, mutate func(r *referralv1.Resident) error, w Write) (out *referralv1.Resident, err error) {
	err = s.update(ctx, func(tx storage.Tx) error {
		r := &referralv1.Resident{}
		if _, ok, err := s.getRecord(tx, bucketResidents, id, r); err != nil {
			return err
		} else if !ok {
			return domain.ErrResidentNotFound
		}
		old := r.GetPesel()
		if err := mutate(r); err != nil {
			return err
		}
		if r.GetPesel() != old {
			if r.GetPesel() != "" {
				nk := s.PESELKey(r.GetPesel())
				if other := tx.Get(bucketPESEL, nk); other != nil && string(other) != id {
					return domain.ErrResidentExists.With("resource", domain.ResidentPrefix+string(other))
				}
				if err := tx.Put(bucketPESEL, nk, []byte(id)); err != nil {
					return err
				}
			}
			if old != "" {
				if err := tx.Delete(bucketPESEL, s.PESELKey(old)); err != nil {
					return err
				}
			}
		}
		rev := tx.NextRevision()
		r.Etag, r.UpdateTime = Etag(rev), ts(s.now())
		if err := s.putRecord(tx, bucketResidents, id, rev, r); err != nil {
			return err
		}
		out = r
		return s.appendAudit(tx, w.Audit)
	})
	return out, err
}

// LookupPESEL finds a resident's id through the keyed-hash index.
func (s *Store) LookupPESEL(pesel string) (string, error) {
	var id string
	err := s.view(func(tx storage.ReadTx) error {
		v := tx.Get(bucketPESEL, s.PESELKey(pesel))
		if v == nil {
			return domain.ErrResidentNotFound
		}
		id = string(v)
		return nil
	})
	return id, err
}

// ListResidents lists residents with ids after `after`.
func (s *Store) ListResidents(after string, limit int) (out []*referralv1.Resident, more bool, err error) {
	err = s.view(func(tx storage.ReadTx) error {
		return tx.Scan(bucketResidents, []byte(after+"\x00"), func(k, v []byte) (bool, error) {
			if len(out) == limit {
				more = true
				return false, nil
			}
			r := &referralv1.Resident{}
			if _, err := s.decode(bucketResidents, k, v, r); err != nil {
				return false, err
			}
			out = append(out, r)
			return true, nil
		})
	})
	return out, more, err
}

// --- consents ---

// CreateConsent stores a consent of an existing resident.
func (s *Store) CreateConsent(ctx context.Context, rid, cid string, c *referralv1.Consent, w Write) (out *referralv1.Consent, replayed bool, err error) {
	err = s.update(ctx, func(tx storage.Tx) error {
		out, replayed = nil, false
		if name, err := replay(tx, w.Req.Method, w.Req.ID, w.Req.Hash); err != nil {
			return err
		} else if name != "" {
			replayed = true
			r, c, _ := domain.TwoIDs("", domain.ResidentPrefix, domain.ConsentsSegment, name)
			out = &referralv1.Consent{}
			_, _, err := s.getRecord(tx, bucketConsents, r+"/"+c, out)
			return err
		}
		if tx.Get(bucketResidents, []byte(rid)) == nil {
			return domain.ErrResidentNotFound
		}
		rec := proto.Clone(c).(*referralv1.Consent)
		rev := tx.NextRevision()
		now := s.now()
		rec.Name, rec.Etag, rec.CreateTime, rec.UpdateTime, rec.WithdrawTime = domain.ResidentPrefix+rid+domain.ConsentsSegment+cid, Etag(rev), ts(now), ts(now), nil
		if err := s.putRecord(tx, bucketConsents, rid+"/"+cid, rev, rec); err != nil {
			return err
		}
		if err := remember(tx, w.Req.Method, w.Req.ID, w.Req.Hash, rec.Name); err != nil {
			return err
		}
		out = rec
		return s.appendAudit(tx, withResource(w.Audit, rec.Name))
	})
	return out, replayed, err
}

// ListConsents lists a resident's consents.
func (s *Store) ListConsents(rid string) (out []*referralv1.Consent, err error) {
	err = s.view(func(tx storage.ReadTx) error {
		if tx.Get(bucketResidents, []byte(rid)) == nil {
			return domain.ErrResidentNotFound
		}
		return tx.ScanPrefix(bucketConsents, []byte(rid+"/"), func(k, v []byte) (bool, error) {
			c := &referralv1.Consent{}
			_, err := s.decode(bucketConsents, k, v, c)
			out = append(out, c)
			return err == nil, err
		})
	})
	return out, err
}

// GetConsent reads a consent.
func (s *Store) GetConsent(rid, cid string) (*referralv1.Consent, error) {
	c := &referralv1.Consent{}
	err := s.view(func(tx storage.ReadTx) error {
		_, ok, err := s.getRecord(tx, bucketConsents, rid+"/"+cid, c)
		if err == nil && !ok {
			return domain.ErrConsentNotFound
		}
		return err
	})
	return c, err
}

// WithdrawConsent sets the withdrawal time of a consent in force.
func (s *Store) WithdrawConsent(ctx context.Context, rid, cid, etag string, w Write) (out *referralv1.Consent, err error) {
	err = s.update(ctx, func(tx storage.Tx) error {
		c := &referralv1.Consent{}
		_, ok, err := s.getRecord(tx, bucketConsents, rid+"/"+cid, c)
		if err != nil {
			return err
		}
		if !ok {
			return domain.ErrConsentNotFound
		}
		if etag != "" && etag != c.GetEtag() {
			return apierr.ErrStaleEtag
		}
		if c.GetWithdrawTime() != nil {
			return domain.ErrConsentWithdrawn
		}
		rev := tx.NextRevision()
		now := s.now()
		c.WithdrawTime, c.UpdateTime, c.Etag = ts(now), ts(now), Etag(rev)
		if err := s.putRecord(tx, bucketConsents, rid+"/"+cid, rev, c); err != nil {
			return err
		}
		out = c
		return s.appendAudit(tx, w.Audit)
	})
	return out, err
}

// --- cases ---

// CreateCase stores a case of an existing resident.
func (s *Store) CreateCase(ctx context.Context, id string, c *referralv1.Case, w Write) (out *referralv1.Case, replayed bool, err error) {
	rid := strings.TrimPrefix(c.GetResident(), domain.ResidentPrefix)
	err = s.update(ctx, func(tx storage.Tx) error {
		out, replayed = nil, false
		if name, err := replay(tx, w.Req.Method, w.Req.ID, w.Req.Hash); err != nil {
			return err
		} else if name != "" {
			replayed = true
			out = &referralv1.Case{}
			_, _, err := s.getRecord(tx, bucketCases, strings.TrimPrefix(name, domain.CasePrefix), out)
			return err
		}
		if tx.Get(bucketResidents, []byte(rid)) == nil {
			return apierr.Invalid("case.resident", "no such resident")
		}
		if tx.Get(bucketCases, []byte(id)) != nil {
			return domain.ErrAlreadyExists.With("resource", domain.CasePrefix+id)
		}
		rec := proto.Clone(c).(*referralv1.Case)
		rev := tx.NextRevision()
		now := s.now()
		rec.Name, rec.Etag, rec.CreateTime, rec.UpdateTime = domain.CasePrefix+id, Etag(rev), ts(now), ts(now)
		if rec.ReceiveTime == nil {
			rec.ReceiveTime = ts(now)
		}
		if rec.Status == referralv1.CaseStatus_CASE_STATUS_UNSPECIFIED {
			rec.Status = referralv1.CaseStatus_CASE_STATUS_OPEN
		}
		if err := s.putRecord(tx, bucketCases, id, rev, rec); err != nil {
			return err
		}
		if err := remember(tx, w.Req.Method, w.Req.ID, w.Req.Hash, rec.Name); err != nil {
			return err
		}
		out = rec
		return s.appendAudit(tx, withResource(w.Audit, rec.Name))
	})
	return out, replayed, err
}

// GetCase reads a case.
func (s *Store) GetCase(id string) (*referralv1.Case, error) {
	c := &referralv1.Case{}
	err := s.view(func(tx storage.ReadTx) error {
		_, ok, err := s.getRecord(tx, bucketCases, id, c)
		if err == nil && !ok {
			return domain.ErrCaseNotFound
		}
		return err
	})
	return c, err
}

// UpdateCase applies mutate to a case in one transaction.
func (s *Store) UpdateCase(ctx context.Context, id string, mutate func(c *referralv1.Case) error, w Write) (out *referralv1.Case, err error) {
	err = s.update(ctx, func(tx storage.Tx) error {
		c := &referralv1.Case{}
		if _, ok, err := s.getRecord(tx, bucketCases, id, c); err != nil {
			return err
		} else if !ok {
			return domain.ErrCaseNotFound
		}
		wasClosed := c.GetStatus() == referralv1.CaseStatus_CASE_STATUS_CLOSED
		if err := mutate(c); err != nil {
			return err
		}
		if !wasClosed && c.GetStatus() == referralv1.CaseStatus_CASE_STATUS_CLOSED {
			// Closing is checked here, in the transaction, so no plan or referral can open in between.
			if err := s.openWork(tx, id); err != nil {
				return err
			}
		}
		rev := tx.NextRevision()
		c.Etag, c.UpdateTime = Etag(rev), ts(s.now())
		if err := s.putRecord(tx, bucketCases, id, rev, c); err != nil {
			return err
		}
		out = c
		return s.appendAudit(tx, w.Audit)
	})
	return out, err
}

// openWork refuses to close a case while one of its plans is not closed or one of its referrals has not ended.
// Referrals are not indexed by case, so this scans them; closing a case is rare enough for that.
func (s *Store) openWork(tx storage.ReadTx, caseID string) error {
	err := tx.ScanPrefix(bucketPlans, []byte(caseID+"/"), func(k, v []byte) (bool, error) {
		p := &referralv1.Plan{}
		if _, err := s.decode(bucketPlans, k, v, p); err != nil {
			return false, err
		}
		if p.GetStatus() != referralv1.PlanStatus_PLAN_STATUS_CLOSED {
			return false, domain.ErrCaseHasOpenWork.With("plan", p.GetName())
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	name := domain.CasePrefix + caseID
	return tx.Scan(bucketReferrals, nil, func(k, v []byte) (bool, error) {
		r := &referralv1.Referral{}
		if _, err := s.decode(bucketReferrals, k, v, r); err != nil {
			return false, err
		}
		if r.GetCase() == name && !domain.Terminal(r.GetStatus()) {
			return false, domain.ErrCaseHasOpenWork.With("referral", r.GetName())
		}
		return true, nil
	})
}

// ForEachCase visits every case.
func (s *Store) ForEachCase(fn func(*referralv1.Case) error) error {
	return s.view(func(tx storage.ReadTx) error {
		return tx.Scan(bucketCases, nil, func(k, v []byte) (bool, error) {
			c := &referralv1.Case{}
			if _, err := s.decode(bucketCases, k, v, c); err != nil {
				return false, err
			}
			return true, fn(c)
		})
	})
}

// --- plans ---

// CreatePlan stores a draft plan on an existing case; prepare validates it against the case inside the
// transaction.
func (s *Store) CreatePlan(ctx context.Context, caseID, planID string, p *referralv1.Plan, prepare func(c *referralv1.Case, p *referralv1.Plan) error, w Write) (out *referralv1.Plan, replayed bool, err error) {
	err = s.update(ctx, func(tx storage.Tx) error {
		out, replayed = nil, false
		if name, err := replay(tx, w.Req.Method, w.Req.ID, w.Req.Hash); err != nil {
			return err
		} else if name != "" {
			replayed = true
			c, pl, _ := domain.TwoIDs("", domain.CasePrefix, domain.PlansSegment, name)
			out = &referralv1.Plan{}
			_, _, err := s.getRecord(tx, bucketPlans, c+"/"+pl, out)
			return err
		}
		c := &referralv1.Case{}
		if _, ok, err := s.getRecord(tx, bucketCases, caseID, c); err != nil {
			return err
		} else if !ok {
			return domain.ErrCaseNotFound
		}
		rec := proto.Clone(p).(*referralv1.Plan)
		if err := prepare(c, rec); err != nil {
			return err
		}
		rev := tx.NextRevision()
		now := s.now()
		rec.Name, rec.Etag, rec.CreateTime, rec.UpdateTime = domain.CasePrefix+caseID+domain.PlansSegment+planID, Etag(rev), ts(now), ts(now)
		rec.Status = referralv1.PlanStatus_PLAN_STATUS_DRAFT
		if err := s.putRecord(tx, bucketPlans, caseID+"/"+planID, rev, rec); err != nil {
			return err
		}
		if err := remember(tx, w.Req.Method, w.Req.ID, w.Req.Hash, rec.Name); err != nil {
			return err
		}
		out = rec
		return s.appendAudit(tx, withResource(w.Audit, rec.Name))
	})
	return out, replayed, err
}

// GetPlan reads a plan.
func (s *Store) GetPlan(caseID, planID string) (*referralv1.Plan, error) {
	p := &referralv1.Plan{}
	err := s.view(func(tx storage.ReadTx) error {
		_, ok, err := s.getRecord(tx, bucketPlans, caseID+"/"+planID, p)
		if err == nil && !ok {
			return domain.ErrPlanNotFound
		}
		return err
	})
	return p, err
}

// UpdatePlan applies mutate to a plan in one transaction; with a request id, a repeat of the same request
// returns the plan as it is and changes nothing.
func (s *Store) UpdatePlan(ctx context.Context, caseID, planID string, mutate func(p *referralv1.Plan) error, w Write) (out *referralv1.Plan, err error) {
	err = s.update(ctx, func(tx storage.Tx) error {
		p := &referralv1.Plan{}
		if _, ok, err := s.getRecord(tx, bucketPlans, caseID+"/"+planID, p); err != nil {
			return err
		} else if !ok {
			return domain.ErrPlanNotFound
		}
		if name, err := replay(tx, w.Req.Method, w.Req.ID, w.Req.Hash); err != nil {
			return err
		} else if name != "" {
			out = p
			return errReplay
		}
		if err := mutate(p); err != nil {
			return err
		}
		rev := tx.NextRevision()
		p.Etag, p.UpdateTime = Etag(rev), ts(s.now())
		if err := s.putRecord(tx, bucketPlans, caseID+"/"+planID, rev, p); err != nil {
			return err
		}
		if err := remember(tx, w.Req.Method, w.Req.ID, w.Req.Hash, p.Name); err != nil {
			return err
		}
		out = p
		return s.appendAudit(tx, w.Audit)
	})
	if errors.Is(err, errReplay) {
		err = nil
	}
	return out, err
}

// ForEachPlan visits plans, of one case when caseID is given.
func (s *Store) ForEachPlan(caseID string, fn func(*referralv1.Plan) error) error {
	prefix := []byte(nil)
	if caseID != "" {
		prefix = []byte(caseID + "/")
	}
	return s.view(func(tx storage.ReadTx) error {
		return tx.ScanPrefix(bucketPlans, prefix, func(k, v []byte) (bool, error) {
			p := &referralv1.Plan{}
			if _, err := s.decode(bucketPlans, k, v, p); err != nil {
				return false, err
			}
			return true, fn(p)
		})
	})
}

// --- referrals ---

// appendReferralChange appends the referral's snapshot to the change feed, sealed like the records (the
// snapshot carries the resident's name, notes and reasons).
func (s *Store) appendReferralChange(tx storage.Tx, rev int64, r *referralv1.Referral) error {
	return s.appendChange(tx, &referralv1.ReferralEvent{Revision: rev, Referral: r})
}

// CreateReferral stores a referral after check approves it inside the transaction (consent in force,
// resident and case exist).
func (s *Store) CreateReferral(ctx context.Context, id string, r *referralv1.Referral, check func(tx Reader) error, w Write) (out *referralv1.Referral, replayed bool, err error) {
	err = s.update(ctx, func(tx storage.Tx) error {
		out, replayed = nil, false
		if name, err := replay(tx, w.Req.Method, w.Req.ID, w.Req.Hash); err != nil {
			return err
		} else if name != "" {
			replayed = true
			out = &referralv1.Referral{}
			_, _, err := s.getRecord(tx, bucketReferrals, strings.TrimPrefix(name, domain.ReferralPrefix), out)
			return err
		}
		if tx.Get(bucketReferrals, []byte(id)) != nil {
			return domain.ErrReferralExists.With("resource", domain.ReferralPrefix+id)
		}
		if err := check(Reader{tx, s}); err != nil {
			return err
		}
		rec := proto.Clone(r).(*referralv1.Referral)
		rev := tx.NextRevision()
		now := s.now()
		rec.Name, rec.Etag, rec.CreateTime, rec.UpdateTime = domain.ReferralPrefix+id, Etag(rev), ts(now), ts(now)
		for _, h := range rec.History {
			h.Time = ts(now)
		}
		if err := s.putRecord(tx, bucketReferrals, id, rev, rec); err != nil {
			return err
		}
		if err := s.appendReferralChange(tx, rev, rec); err != nil {
			return err
		}
		if err := tx.Put(bucketByProvider, providerKey(rec.GetProvider(), id), []byte{}); err != nil {
			return err
		}
		if err := remember(tx, w.Req.Method, w.Req.ID, w.Req.Hash, rec.Name); err != nil {
			return err
		}
		out = rec
		return s.appendAudit(tx, withResource(w.Audit, rec.Name))
	})
	return out, replayed, err
}

// Reader gives checks run inside a write transaction read access to records.
type Reader struct {
	tx storage.ReadTx
	s  *Store
}

// Resident reads a resident, or nil.
func (r Reader) Resident(id string) *referralv1.Resident {
	m := &referralv1.Resident{}
	if _, ok, err := r.s.getRecord(r.tx, bucketResidents, id, m); err != nil || !ok {
		return nil
	}
	return m
}

// Consent reads a consent, or nil.
func (r Reader) Consent(rid, cid string) *referralv1.Consent {
	m := &referralv1.Consent{}
	if _, ok, err := r.s.getRecord(r.tx, bucketConsents, rid+"/"+cid, m); err != nil || !ok {
		return nil
	}
	return m
}

// Case reads a case, or nil.
func (r Reader) Case(id string) *referralv1.Case {
	m := &referralv1.Case{}
	if _, ok, err := r.s.getRecord(r.tx, bucketCases, id, m); err != nil || !ok {
		return nil
	}
	return m
}

// GetReferral reads a referral.
func (s *Store) GetReferral(id string) (*referralv1.Referral, error) {
	r := &referralv1.Referral{}
	err := s.view(func(tx storage.ReadTx) error {
		_, ok, err := s.getRecord(tx, bucketReferrals, id, r)
		if err == nil && !ok {
			return domain.ErrReferralNotFound
		}
		return err
	})
	return r, err
}

// ReplayedName returns the resource name a request id already produced, or "".
func (s *Store) ReplayedName(req Req) (name string, err error) {
	err = s.view(func(tx storage.ReadTx) error {
		name, err = replay(tx, req.Method, req.ID, req.Hash)
		return err
	})
	return name, err
}

// UpdateReferral applies mutate to a referral in one transaction, appends the change to the feed and the audit
// entry; a request id is remembered so a repeat is answered with the referral as it is.
func (s *Store) UpdateReferral(ctx context.Context, id string, mutate func(r *referralv1.Referral, now time.Time) error, w Write) (out *referralv1.Referral, err error) {
	err = s.update(ctx, func(tx storage.Tx) error {
		r := &referralv1.Referral{}
		if _, ok, err := s.getRecord(tx, bucketReferrals, id, r); err != nil {
			return err
		} else if !ok {
			return domain.ErrReferralNotFound
		}
		if name, err := replay(tx, w.Req.Method, w.Req.ID, w.Req.Hash); err != nil {
			return err
		} else if name != "" {
			out = r
			return errReplay
		}
		now := s.now()
		if err := mutate(r, now); err != nil {
			return err
		}
		rev := tx.NextRevision()
		r.Etag, r.UpdateTime = Etag(rev), ts(now)
		if err := s.putRecord(tx, bucketReferrals, id, rev, r); err != nil {
			return err
		}
		if err := s.appendReferralChange(tx, rev, r); err != nil {
			return err
		}
		if err := remember(tx, w.Req.Method, w.Req.ID, w.Req.Hash, r.Name); err != nil {
			return err
		}
		out = r
		return s.appendAudit(tx, w.Audit)
	})
	if errors.Is(err, errReplay) {
		err = nil
	}
	return out, err
}

// ForEachReferral visits every referral.
func (s *Store) ForEachReferral(fn func(*referralv1.Referral) error) error {
	return s.view(func(tx storage.ReadTx) error {
		return tx.Scan(bucketReferrals, nil, func(k, v []byte) (bool, error) {
			r := &referralv1.Referral{}
			if _, err := s.decode(bucketReferrals, k, v, r); err != nil {
				return false, err
			}
			return true, fn(r)
		})
	})
}

// ReferralChanges reads up to limit referral events after a revision.
func (s *Store) ReferralChanges(after int64, limit int) (out []*referralv1.ReferralEvent, err error) {
	err = s.be.Changes(after, limit, func(rev int64, v []byte) (bool, error) {
		e := &referralv1.ReferralEvent{}
		if err := s.decodeChange(rev, v, e); err != nil {
			return false, err
		}
		out = append(out, e)
		return true, nil
	})
	return out, err
}

// --- capacity releases to retry ---

// AddPendingRelease records a release that could not reach the provider service.
func (s *Store) AddPendingRelease(ctx context.Context, referralID, agreement string) error {
	return s.update(ctx, func(tx storage.Tx) error { return tx.Put(bucketReleases, []byte(referralID), []byte(agreement)) })
}

// PendingReleases lists releases to retry.
func (s *Store) PendingReleases() (map[string]string, error) {
	out := map[string]string{}
	err := s.view(func(tx storage.ReadTx) error {
		return tx.Scan(bucketReleases, nil, func(k, v []byte) (bool, error) {
			out[string(k)] = string(v)
			return true, nil
		})
	})
	return out, err
}

// DonePendingRelease forgets a release that went through.
func (s *Store) DonePendingRelease(ctx context.Context, referralID string) error {
	return s.update(ctx, func(tx storage.Tx) error { return tx.Delete(bucketReleases, []byte(referralID)) })
}
