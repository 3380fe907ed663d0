package store

import (
	"context"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/resource"
	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

// Write is what every write carries: idempotency and the audit entry recorded in the same transaction.
type Write struct {
	Req   Req
	Audit *referralv1.AuditEntry
}

// kinds are the referral service's resources on the resource kit. Their records are sealed under the data
// key ring (sealed.go), so they are made per store; idempotency records keep the resource name
// (resource.ReplayName); only referrals write the change feed.
type kinds struct {
	residents *resource.Kind[*referralv1.Resident]
	consents  *resource.Kind[*referralv1.Consent]
	cases     *resource.Kind[*referralv1.Case]
	plans     *resource.Kind[*referralv1.Plan]
	referrals *resource.Kind[*referralv1.Referral]
}

// sealedKind declares a resource kind whose records are sealed in bucket b.
func sealedKind[T proto.Message](s *Store, b storage.Bucket, newT func() T, notFound, exists *apierr.Error, name func(key string) string, key func(name string) string) *resource.Kind[T] {
	return &resource.Kind[T]{
		Bucket: b, New: newT, Name: name, Key: key, NotFound: notFound, Exists: exists, Replay: resource.ReplayName,
		Encode: func(key []byte, rev int64, m T) ([]byte, error) { return s.encode(b, key, rev, m) },
		Decode: func(key, v []byte, m T) (int64, error) { return s.decode(b, key, v, m) },
	}
}

func twoIDs(prefix, segment string) (name func(string) string, key func(string) string) {
	name = func(key string) string {
		a, b, _ := strings.Cut(key, "/")
		return prefix + a + segment + b
	}
	key = func(name string) string {
		a, b, _ := domain.TwoIDs("", prefix, segment, name)
		return a + "/" + b
	}
	return name, key
}

func oneID(prefix string) (name func(string) string, key func(string) string) {
	return func(key string) string { return prefix + key }, func(name string) string { return strings.TrimPrefix(name, prefix) }
}

func (s *Store) declareKinds() {
	name, key := oneID(domain.ResidentPrefix)
	s.kinds.residents = sealedKind(s, bucketResidents, func() *referralv1.Resident { return &referralv1.Resident{} },
		domain.ErrResidentNotFound, domain.ErrAlreadyExists, name, key)
	// A retry of a create whose resident was erased since is not answered with another resident.
	s.kinds.residents.Gone = apierr.ErrRequestIDReused
	s.kinds.residents.Check = s.checkPESEL
	s.kinds.residents.Index = s.indexPESEL
	name, key = twoIDs(domain.ResidentPrefix, domain.ConsentsSegment)
	s.kinds.consents = sealedKind(s, bucketConsents, func() *referralv1.Consent { return &referralv1.Consent{} },
		domain.ErrConsentNotFound, domain.ErrAlreadyExists, name, key)
	name, key = oneID(domain.CasePrefix)
	s.kinds.cases = sealedKind(s, bucketCases, func() *referralv1.Case { return &referralv1.Case{} },
		domain.ErrCaseNotFound, domain.ErrAlreadyExists, name, key)
	name, key = twoIDs(domain.CasePrefix, domain.PlansSegment)
	s.kinds.plans = sealedKind(s, bucketPlans, func() *referralv1.Plan { return &referralv1.Plan{} },
		domain.ErrPlanNotFound, domain.ErrAlreadyExists, name, key)
	name, key = oneID(domain.ReferralPrefix)
	s.kinds.referrals = sealedKind(s, bucketReferrals, func() *referralv1.Referral { return &referralv1.Referral{} },
		domain.ErrReferralNotFound, domain.ErrReferralExists, name, key)
	// The feed carries the referral's snapshot, sealed like the records (it holds the resident's name, notes
	// and reasons).
	s.kinds.referrals.Change = func(c resource.Change[*referralv1.Referral]) ([]byte, error) {
		return s.encode(storage.BucketChanges, storage.RevisionKey(c.Rev), c.Rev, &referralv1.ReferralEvent{Revision: c.Rev, Referral: c.Resource})
	}
	s.kinds.referrals.Index = func(tx storage.Tx, id string, old, cur *referralv1.Referral) error {
		if resource.IsSet(old) {
			return nil // the provider of a referral never changes
		}
		return tx.Put(bucketByProvider, providerKey(cur.GetProvider(), id), []byte{})
	}
}

// write makes the kit's write of w at now: its request id, and its audit entry appended in the same
// transaction (naming the resource on create, whose name the caller could not know).
func write[T proto.Message](s *Store, w Write, now time.Time, named bool) resource.Write[T] {
	return resource.Write[T]{Req: w.Req, Now: now, After: func(tx storage.Tx, cur T, _ int64) error {
		if !named {
			return s.appendAudit(tx, w.Audit)
		}
		return s.appendAudit(tx, withResource(w.Audit, any(cur).(interface{ GetName() string }).GetName()))
	}}
}

func create[T proto.Message](ctx context.Context, s *Store, k *resource.Kind[T], key string, t T, w resource.Write[T]) (out T, replayed bool, err error) {
	err = s.update(ctx, func(tx storage.Tx) error {
		out, replayed, err = k.Create(tx, key, t, w)
		return err
	})
	return out, replayed, err
}

func update[T proto.Message](ctx context.Context, s *Store, k *resource.Kind[T], key string, w resource.Write[T], mutate func(cur T) error) (out T, err error) {
	err = s.update(ctx, func(tx storage.Tx) error {
		out, _, err = k.Update(tx, key, w, mutate)
		return err
	})
	return out, err
}

func get[T proto.Message](s *Store, k *resource.Kind[T], key string) (out T, err error) {
	err = s.view(func(tx storage.ReadTx) error {
		out, _, err = k.Get(tx, key)
		return err
	})
	if err != nil {
		out = k.New() // as before the kit: callers never get a nil record
	}
	return out, err
}

func forEach[T proto.Message](s *Store, k *resource.Kind[T], prefix string, fn func(T) error) error {
	return s.view(func(tx storage.ReadTx) error {
		return k.Scan(tx, prefix, func(_ string, m T, _ int64) (bool, error) { return true, fn(m) })
	})
}

// --- residents ---

// checkPESEL refuses a PESEL another resident holds (ALREADY_EXISTS, naming that resident).
func (s *Store) checkPESEL(tx storage.ReadTx, id string, old, r *referralv1.Resident) error {
	if r.GetPesel() == "" || r.GetPesel() == old.GetPesel() {
		return nil
	}
	if other := tx.Get(bucketPESEL, s.PESELKey(r.GetPesel())); other != nil && string(other) != id {
		return domain.ErrResidentExists.With("resource", domain.ResidentPrefix+string(other))
	}
	return nil
}

// indexPESEL moves the keyed-hash PESEL index entry with the resident's PESEL.
func (s *Store) indexPESEL(tx storage.Tx, id string, old, r *referralv1.Resident) error {
	if r.GetPesel() == old.GetPesel() {
		return nil
	}
	if r.GetPesel() != "" {
		if err := tx.Put(bucketPESEL, s.PESELKey(r.GetPesel()), []byte(id)); err != nil {
			return err
		}
	}
	if old.GetPesel() != "" {
		return tx.Delete(bucketPESEL, s.PESELKey(old.GetPesel()))
	}
	return nil
}

// CreateResident stores a new resident and its PESEL index entry in one transaction. A replay of the same
// request returns replayed = true and the resident as it is now.
func (s *Store) CreateResident(ctx context.Context, id string, r *referralv1.Resident, w Write) (out *referralv1.Resident, replayed bool, err error) {
	return create(ctx, s, s.kinds.residents, id, r, write[*referralv1.Resident](s, w, s.now(), true))
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
	return get(s, s.kinds.residents, id)
}

// UpdateResident applies mutate to a resident in one transaction; when the PESEL changes, the index entry moves
// with it (a PESEL of another resident is refused with ALREADY_EXISTS, naming that resident).
func (s *Store) UpdateResident(ctx context.Context, id string, mutate func(r *referralv1.Resident) error, w Write) (out *referralv1.Resident, err error) {
	return update(ctx, s, s.kinds.residents, id, write[*referralv1.Resident](s, Write{Audit: w.Audit}, s.now(), false), mutate)
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
		out, more, err = s.kinds.residents.After(tx, after, limit)
		return err
	})
	return out, more, err
}

// --- consents ---

// CreateConsent stores a consent of an existing resident.
func (s *Store) CreateConsent(ctx context.Context, rid, cid string, c *referralv1.Consent, w Write) (out *referralv1.Consent, replayed bool, err error) {
	kw := write[*referralv1.Consent](s, w, s.now(), true)
	kw.Before = func(tx storage.Tx) error {
		if tx.Get(bucketResidents, []byte(rid)) == nil {
			return domain.ErrResidentNotFound
		}
		return nil
	}
	kw.Check = func(_ storage.Tx, _, rec *referralv1.Consent) error {
		rec.WithdrawTime = nil
		return nil
	}
	return create(ctx, s, s.kinds.consents, rid+"/"+cid, c, kw)
}

// ListConsents lists a resident's consents.
func (s *Store) ListConsents(rid string) (out []*referralv1.Consent, err error) {
	err = s.view(func(tx storage.ReadTx) error {
		if tx.Get(bucketResidents, []byte(rid)) == nil {
			return domain.ErrResidentNotFound
		}
		out, err = s.kinds.consents.All(tx, rid+"/")
		return err
	})
	return out, err
}

// GetConsent reads a consent.
func (s *Store) GetConsent(rid, cid string) (*referralv1.Consent, error) {
	return get(s, s.kinds.consents, rid+"/"+cid)
}

// WithdrawConsent sets the withdrawal time of a consent in force.
func (s *Store) WithdrawConsent(ctx context.Context, rid, cid, etag string, w Write) (out *referralv1.Consent, err error) {
	now := s.now()
	kw := write[*referralv1.Consent](s, Write{Audit: w.Audit}, now, false)
	kw.Etag = etag
	return update(ctx, s, s.kinds.consents, rid+"/"+cid, kw, func(c *referralv1.Consent) error {
		if c.GetWithdrawTime() != nil {
			return domain.ErrConsentWithdrawn
		}
		c.WithdrawTime = ts(now)
		return nil
	})
}

// --- cases ---

// CreateCase stores a case of an existing resident.
func (s *Store) CreateCase(ctx context.Context, id string, c *referralv1.Case, w Write) (out *referralv1.Case, replayed bool, err error) {
	rid := strings.TrimPrefix(c.GetResident(), domain.ResidentPrefix)
	now := s.now()
	kw := write[*referralv1.Case](s, w, now, true)
	kw.Before = func(tx storage.Tx) error {
		if tx.Get(bucketResidents, []byte(rid)) == nil {
			return apierr.Invalid("case.resident", "no such resident")
		}
		return nil
	}
	kw.Check = func(_ storage.Tx, _, rec *referralv1.Case) error {
		if rec.ReceiveTime == nil {
			rec.ReceiveTime = ts(now)
		}
		if rec.Status == referralv1.CaseStatus_CASE_STATUS_UNSPECIFIED {
			rec.Status = referralv1.CaseStatus_CASE_STATUS_OPEN
		}
		return nil
	}
	return create(ctx, s, s.kinds.cases, id, c, kw)
}

// GetCase reads a case.
func (s *Store) GetCase(id string) (*referralv1.Case, error) {
	return get(s, s.kinds.cases, id)
}

// UpdateCase applies mutate to a case in one transaction.
func (s *Store) UpdateCase(ctx context.Context, id string, mutate func(c *referralv1.Case) error, w Write) (out *referralv1.Case, err error) {
	kw := write[*referralv1.Case](s, Write{Audit: w.Audit}, s.now(), false)
	kw.Check = func(tx storage.Tx, old, c *referralv1.Case) error {
		if old.GetStatus() != referralv1.CaseStatus_CASE_STATUS_CLOSED && c.GetStatus() == referralv1.CaseStatus_CASE_STATUS_CLOSED {
			// Closing is checked here, in the transaction, so no plan or referral can open in between.
			return s.openWork(tx, id)
		}
		return nil
	}
	return update(ctx, s, s.kinds.cases, id, kw, mutate)
}

// openWork refuses to close a case while one of its plans is not closed or one of its referrals has not ended.
// Referrals are not indexed by case, so this scans them; closing a case is rare enough for that.
func (s *Store) openWork(tx storage.ReadTx, caseID string) error {
	err := s.kinds.plans.Scan(tx, caseID+"/", func(_ string, p *referralv1.Plan, _ int64) (bool, error) {
		if p.GetStatus() != referralv1.PlanStatus_PLAN_STATUS_CLOSED {
			return false, domain.ErrCaseHasOpenWork.With("plan", p.GetName())
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	name := domain.CasePrefix + caseID
	return s.kinds.referrals.Scan(tx, "", func(_ string, r *referralv1.Referral, _ int64) (bool, error) {
		if r.GetCase() == name && !domain.Terminal(r.GetStatus()) {
			return false, domain.ErrCaseHasOpenWork.With("referral", r.GetName())
		}
		return true, nil
	})
}

// ForEachCase visits every case.
func (s *Store) ForEachCase(fn func(*referralv1.Case) error) error {
	return forEach(s, s.kinds.cases, "", fn)
}

// --- plans ---

// CreatePlan stores a draft plan on an existing case; prepare validates it against the case inside the
// transaction.
func (s *Store) CreatePlan(ctx context.Context, caseID, planID string, p *referralv1.Plan, prepare func(c *referralv1.Case, p *referralv1.Plan) error, w Write) (out *referralv1.Plan, replayed bool, err error) {
	kw := write[*referralv1.Plan](s, w, s.now(), true)
	kw.Check = func(tx storage.Tx, _, rec *referralv1.Plan) error {
		c, _, err := s.kinds.cases.Get(tx, caseID)
		if err != nil {
			return err
		}
		if err := prepare(c, rec); err != nil {
			return err
		}
		rec.Status = referralv1.PlanStatus_PLAN_STATUS_DRAFT
		return nil
	}
	return create(ctx, s, s.kinds.plans, caseID+"/"+planID, p, kw)
}

// GetPlan reads a plan.
func (s *Store) GetPlan(caseID, planID string) (*referralv1.Plan, error) {
	return get(s, s.kinds.plans, caseID+"/"+planID)
}

// UpdatePlan applies mutate to a plan in one transaction; with a request id, a repeat of the same request
// returns the plan as it is and changes nothing.
func (s *Store) UpdatePlan(ctx context.Context, caseID, planID string, mutate func(p *referralv1.Plan) error, w Write) (out *referralv1.Plan, err error) {
	return update(ctx, s, s.kinds.plans, caseID+"/"+planID, write[*referralv1.Plan](s, w, s.now(), false), mutate)
}

// ForEachPlan visits plans, of one case when caseID is given.
func (s *Store) ForEachPlan(caseID string, fn func(*referralv1.Plan) error) error {
	prefix := ""
	if caseID != "" {
		prefix = caseID + "/"
	}
	return forEach(s, s.kinds.plans, prefix, fn)
}

// --- referrals ---

// CreateReferral stores a referral after check approves it inside the transaction (consent in force,
// resident and case exist).
func (s *Store) CreateReferral(ctx context.Context, id string, r *referralv1.Referral, check func(tx Reader) error, w Write) (out *referralv1.Referral, replayed bool, err error) {
	now := s.now()
	kw := write[*referralv1.Referral](s, w, now, true)
	kw.Check = func(tx storage.Tx, _, rec *referralv1.Referral) error {
		if err := check(Reader{tx, s}); err != nil {
			return err
		}
		for _, h := range rec.History {
			h.Time = ts(now)
		}
		return nil
	}
	return create(ctx, s, s.kinds.referrals, id, r, kw)
}

// Reader gives checks run inside a write transaction read access to records.
type Reader struct {
	tx storage.ReadTx
	s  *Store
}

func lookup[T proto.Message](tx storage.ReadTx, k *resource.Kind[T], key string) T {
	var none T
	m, _, ok, err := k.Lookup(tx, key)
	if err != nil || !ok {
		return none
	}
	return m
}

// Resident reads a resident, or nil.
func (r Reader) Resident(id string) *referralv1.Resident {
	return lookup(r.tx, r.s.kinds.residents, id)
}

// Consent reads a consent, or nil.
func (r Reader) Consent(rid, cid string) *referralv1.Consent {
	return lookup(r.tx, r.s.kinds.consents, rid+"/"+cid)
}

// Case reads a case, or nil.
func (r Reader) Case(id string) *referralv1.Case { return lookup(r.tx, r.s.kinds.cases, id) }

// GetReferral reads a referral.
func (s *Store) GetReferral(id string) (*referralv1.Referral, error) {
	return get(s, s.kinds.referrals, id)
}

// ReplayedName returns the resource name a request id already produced, or "".
func (s *Store) ReplayedName(req Req) (name string, err error) {
	err = s.view(func(tx storage.ReadTx) error {
		payload, _, err := resource.Replayed(tx, req)
		name = string(payload)
		return err
	})
	return name, err
}

// UpdateReferral applies mutate to a referral in one transaction, appends the change to the feed and the audit
// entry; a request id is remembered so a repeat is answered with the referral as it is.
func (s *Store) UpdateReferral(ctx context.Context, id string, mutate func(r *referralv1.Referral, now time.Time) error, w Write) (out *referralv1.Referral, err error) {
	now := s.now()
	return update(ctx, s, s.kinds.referrals, id, write[*referralv1.Referral](s, w, now, false), func(r *referralv1.Referral) error { return mutate(r, now) })
}

// ForEachReferral visits every referral.
func (s *Store) ForEachReferral(fn func(*referralv1.Referral) error) error {
	return forEach(s, s.kinds.referrals, "", fn)
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
