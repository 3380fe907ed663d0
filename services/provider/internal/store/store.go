// Package store keeps the provider registry in its bbolt file (through platform/storage): providers with their
// identifier indexes, agreements, reservations and the units they hold, the change feed and idempotency
// records. It is the only package of the provider service that touches storage.
//
// Providers and agreements are stored as an 8-byte big-endian revision (of the write that produced them)
// followed by their protobuf binary, and every write of them appends a cus.provider.v1.Change to the change log
// in the same transaction. The NIP, KRS and REGON indexes are written in the same transaction as the provider,
// so a duplicate can never slip in between a check and a write. Reservations are not part of the feed: they
// are operational state, written with the agreement's counter of reserved units in one transaction.
package store

import (
	"context"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/i18n"
	"github.com/cus-suite/cus/platform/resource"
	"github.com/cus-suite/cus/platform/storage"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	"github.com/cus-suite/cus/services/provider/internal/domain"
)

// SchemaVersion of the registry's data file; raise it with a migration when the layout changes.
const SchemaVersion = 2

// The registry's buckets, all declared here.
const (
	bucketProviders    storage.Bucket = "providers"          // provider uuid -> rev + Provider
	bucketAgreements   storage.Bucket = "agreements"         // provider uuid "/" agreement uuid -> rev + Agreement
	bucketByNIP        storage.Bucket = "providers_by_nip"   // NIP -> provider uuid
	bucketByKRS        storage.Bucket = "providers_by_krs"   // KRS -> provider uuid
	bucketByREGON      storage.Bucket = "providers_by_regon" // REGON -> provider uuid
	bucketReservations storage.Bucket = "reservations"       // provider "/" agreement "/" referral -> Reservation
	bucketReserved     storage.Bucket = "reserved_units"     // provider "/" agreement -> 8-byte units held
)

var buckets = []storage.Bucket{bucketProviders, bucketAgreements, bucketByNIP, bucketByKRS, bucketByREGON,
	bucketReservations, bucketReserved}

// indexes are the unique identifier indexes of providers.
var indexes = []struct {
	field  string
	label  string
	bucket storage.Bucket
	get    func(*providerv1.Provider) string
}{
	{"nip", "NIP", bucketByNIP, (*providerv1.Provider).GetNip},
	{"krs", "KRS number", bucketByKRS, (*providerv1.Provider).GetKrs},
	{"regon", "REGON", bucketByREGON, (*providerv1.Provider).GetRegon},
}

// Store is the registry's storage.
type Store struct {
	be  *storage.Backend
	now func() time.Time
	// afterImportBatch, set by tests only, runs after each committed batch of an import (another writer's
	// change between two batches).
	afterImportBatch func()
	// beforeImportBatch, set by tests only, runs before each batch's transaction (another attempt under the
	// same request id committing first).
	beforeImportBatch func()
}

// Open opens the registry's data file.
func Open(path string, log *zap.Logger) (*Store, error) { return OpenOn(storage.Engine{}, path, log) }

// OpenOn opens the registry on the chosen storage engine (path: the data file, on bbolt).
func OpenOn(engine storage.Engine, path string, log *zap.Logger) (*Store, error) {
	be, err := storage.Open(path, storage.Options{Buckets: buckets, SchemaVersion: SchemaVersion, Logger: log, Engine: engine,
		// 2: idempotency records carry their time and expire (platform/storage requests.go).
		Migrations: []storage.Migration{{From: 1, Run: func(tx storage.Tx) error { return storage.MigrateRequests(tx, time.Now()) }}}})
	if err != nil {
		return nil, err
	}
	return &Store{be: be, now: func() time.Time { return time.Now().UTC() }}, nil
}

// Close closes the data file.
func (s *Store) Close() error { return s.be.Close() }

// Backend exposes the backend for backups and the revision.
func (s *Store) Backend() *storage.Backend { return s.be }

// Etag is the etag of a resource last written at rev.
func Etag(rev int64) string { return storage.Etag(rev) }

func agreementKey(providerID, agreementID string) []byte {
	return []byte(providerID + "/" + agreementID)
}

func reservationKey(providerID, agreementID, referralID string) []byte {
	return []byte(providerID + "/" + agreementID + "/" + referralID)
}

func u64(v int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(v))
	return b[:]
}

func reservedOf(tx storage.ReadTx, key []byte) int64 {
	if v := tx.Get(bucketReserved, key); len(v) == 8 {
		return int64(binary.BigEndian.Uint64(v))
	}
	return 0
}

// change is the feed record of a provider or agreement write: the resource itself with an upsert, only its
// name with a delete.
func change(c *providerv1.Change, rev int64, name string, t time.Time, deleted bool) ([]byte, error) {
	c.Revision, c.ResourceName, c.ChangeTime = rev, name, timestamppb.New(t)
	if deleted {
		c.Type, c.Resource = providerv1.ChangeType_CHANGE_TYPE_DELETE, nil
	} else {
		c.Type = providerv1.ChangeType_CHANGE_TYPE_UPSERT
	}
	return proto.Marshal(c)
}

// Idempotency: a request id maps to the hash of the first request and its response, so a retry returns the
// first result and a reuse for another request is refused, for the request-id TTL (--request-id-ttl) after the
// first request (resource.ReplayResponse).

// providers are the registry's providers, keyed by uuid; the NIP, KRS and REGON indexes are kept in the same
// transaction as the provider, so a duplicate can never slip in between a check and a write.
var providers = &resource.Kind[*providerv1.Provider]{
	Bucket: bucketProviders, New: func() *providerv1.Provider { return &providerv1.Provider{} },
	Name: domain.ProviderName, NotFound: domain.ErrProviderNotFound, Exists: domain.ErrProviderExists,
	Replay: resource.ReplayResponse,
	Change: func(c resource.Change[*providerv1.Provider]) ([]byte, error) {
		return change(&providerv1.Change{Resource: &providerv1.Change_Provider{Provider: c.Resource}}, c.Rev, c.Name, c.Time, c.Deleted)
	},
	Check: func(tx storage.ReadTx, id string, _, p *providerv1.Provider) error {
		return checkUnique(tx, id, p, "provider.")
	},
	Index: indexProvider,
}

// agreements are keyed by provider uuid "/" agreement uuid.
var agreements = &resource.Kind[*providerv1.Agreement]{
	Bucket: bucketAgreements, New: func() *providerv1.Agreement { return &providerv1.Agreement{} },
	Name: func(key string) string {
		pid, aid, _ := strings.Cut(key, "/")
		return domain.AgreementName(pid, aid)
	},
	NotFound: domain.ErrAgreementNotFound, Exists: domain.ErrAgreementExists, Replay: resource.ReplayResponse,
	Change: func(c resource.Change[*providerv1.Agreement]) ([]byte, error) {
		return change(&providerv1.Change{Resource: &providerv1.Change_Agreement{Agreement: c.Resource}}, c.Rev, c.Name, c.Time, c.Deleted)
	},
}

// --- providers ---

func getProvider(tx storage.ReadTx, id string) (*providerv1.Provider, error) {
	p, _, err := providers.Get(tx, id)
	return p, err
}

// checkUnique refuses identifiers of p that another provider holds: ALREADY_EXISTS naming it.
func checkUnique(tx storage.ReadTx, id string, p *providerv1.Provider, prefix string) error {
	for _, ix := range indexes {
		val := ix.get(p)
		if val == "" {
			continue
		}
		if owner := tx.Get(ix.bucket, []byte(val)); owner != nil && string(owner) != id {
			name := domain.ProviderName(string(owner))
			return domain.ErrProviderRegistered.
				Withf("a provider with this %s is already registered: %s", ix.label, name).
				With("existing_provider", name).
				With("field", prefix+ix.field)
		}
	}
	return nil
}

// indexProvider moves the identifier index entries of a provider from old (nil on create) to p (nil on
// delete).
func indexProvider(tx storage.Tx, id string, old, p *providerv1.Provider) error {
	for _, ix := range indexes {
		was, is := ix.get(old), ix.get(p)
		if was == is {
			continue
		}
		if was != "" {
			if err := tx.Delete(ix.bucket, []byte(was)); err != nil {
				return err
			}
		}
		if is != "" {
			if err := tx.Put(ix.bucket, []byte(is), []byte(id)); err != nil {
				return err
			}
		}
	}
	return nil
}

// CreateProvider stores a new provider under id. With a request id, a repeat of the same request returns the
// first result (replayed = true) and a different request with the same id is refused.
func (s *Store) CreateProvider(ctx context.Context, id string, p *providerv1.Provider, requestID string, reqHash []byte) (*providerv1.Provider, bool, error) {
	var out *providerv1.Provider
	var replayed bool
	w := resource.Write[*providerv1.Provider]{Req: resource.Req{Method: "CreateProvider", ID: requestID, Hash: reqHash}, Now: s.now()}
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		var err error
		out, replayed, err = providers.Create(tx, id, p, w)
		return err
	})
	return out, replayed, err
}

// UpdateProvider applies mutate to the current provider inside one transaction (so etag checks are atomic),
// then checks the identifiers are still unique and a changed kind still suits the provider's agreements.
func (s *Store) UpdateProvider(ctx context.Context, id string, mutate func(cur *providerv1.Provider) error) (*providerv1.Provider, error) {
	var out *providerv1.Provider
	w := resource.Write[*providerv1.Provider]{Now: s.now(), Check: func(tx storage.Tx, old, cur *providerv1.Provider) error {
		if cur.GetKind() == old.GetKind() {
			return nil
		}
		list, err := agreements.All(tx, id+"/")
		if err != nil {
			return err
		}
		return domain.CheckKindFitsAgreements("provider.kind", cur.GetKind(), list)
	}}
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		var err error
		out, _, err = providers.Update(tx, id, w, mutate)
		return err
	})
	return out, err
}

// DeleteProvider deletes a provider without agreements after check approves its current state.
func (s *Store) DeleteProvider(ctx context.Context, id string, check func(cur *providerv1.Provider) error) error {
	w := resource.Write[*providerv1.Provider]{Now: s.now(), Check: func(tx storage.Tx, cur, _ *providerv1.Provider) error {
		if err := check(cur); err != nil {
			return err
		}
		has := false
		if err := tx.ScanPrefix(bucketAgreements, []byte(id+"/"), func(_, _ []byte) (bool, error) {
			has = true
			return false, nil
		}); err != nil {
			return err
		}
		if has {
			return domain.ErrProviderHasAgreements
		}
		return nil
	}}
	return s.be.Update(ctx, func(tx storage.Tx) error {
		_, err := providers.Delete(tx, id, w)
		return err
	})
}

// GetProvider reads one provider.
func (s *Store) GetProvider(id string) (*providerv1.Provider, error) {
	var p *providerv1.Provider
	err := s.be.View(func(tx storage.ReadTx) error {
		var err error
		p, err = getProvider(tx, id)
		return err
	})
	return p, err
}

// Providers reads every provider, in id order.
func (s *Store) Providers() ([]*providerv1.Provider, error) {
	var out []*providerv1.Provider
	err := s.be.View(func(tx storage.ReadTx) error {
		var err error
		out, err = providers.All(tx, "")
		return err
	})
	return out, err
}

// --- agreements ---

func getAgreement(tx storage.ReadTx, providerID, agreementID string) (*providerv1.Agreement, error) {
	a, _, err := agreements.Get(tx, string(agreementKey(providerID, agreementID)))
	return a, err
}

// checkBasis refuses a legal basis that does not suit the provider's kind.
func checkBasis(p *providerv1.Provider, a *providerv1.Agreement) error {
	if ok, why := domain.LegalBasisFits(p.GetKind(), a.GetLegalBasis()); !ok {
		return domain.Invalid("agreement.legal_basis", domain.ReasonNotAllowed, "%s is not possible with %s (%s): %s",
			a.GetLegalBasis(), p.GetName(), i18n.NewMsg(domain.KindLabel(p.GetKind())), i18n.NewMsg(why))
	}
	return nil
}

// CreateAgreement stores a new agreement of a provider, which must exist, not be closed, and be of a kind the
// legal basis suits.
func (s *Store) CreateAgreement(ctx context.Context, providerID, id string, a *providerv1.Agreement, requestID string, reqHash []byte) (*providerv1.Agreement, bool, error) {
	var out *providerv1.Agreement
	var replayed bool
	w := resource.Write[*providerv1.Agreement]{Req: resource.Req{Method: "CreateAgreement", ID: requestID, Hash: reqHash}, Now: s.now(),
		Before: func(tx storage.Tx) error {
			p, err := getProvider(tx, providerID)
			if err != nil {
				return err
			}
			if p.GetStatus() == providerv1.ProviderStatus_PROVIDER_STATUS_CLOSED {
				return domain.ErrProviderClosed.With("provider", p.GetName())
			}
			return checkBasis(p, a)
		}}
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		var err error
		out, replayed, err = agreements.Create(tx, string(agreementKey(providerID, id)), a, w)
		return err
	})
	return out, replayed, err
}

// UpdateAgreement applies mutate to the current agreement inside one transaction, then checks the legal basis
// still suits the provider and the capacity still covers the units reserved.
func (s *Store) UpdateAgreement(ctx context.Context, providerID, id string, mutate func(cur *providerv1.Agreement) error) (*providerv1.Agreement, error) {
	var out *providerv1.Agreement
	key := agreementKey(providerID, id)
	w := resource.Write[*providerv1.Agreement]{Now: s.now(), Check: func(tx storage.Tx, old, cur *providerv1.Agreement) error {
		p, err := getProvider(tx, providerID)
		if err != nil {
			return err
		}
		if cur.GetLegalBasis() != old.GetLegalBasis() {
			if err := checkBasis(p, cur); err != nil {
				return err
			}
		}
		return domain.CheckCapacityChange(old.GetCapacity(), cur.GetCapacity(), reservedOf(tx, key))
	}}
	err := s.be.Update(ctx, func(tx storage.Tx) error {
		var err error
		out, _, err = agreements.Update(tx, string(key), w, mutate)
		return err
	})
	return out, err
}

// DeleteAgreement deletes an agreement without reservations after check approves its current state.
func (s *Store) DeleteAgreement(ctx context.Context, providerID, id string, check func(cur *providerv1.Agreement) error) error {
	key := agreementKey(providerID, id)
	w := resource.Write[*providerv1.Agreement]{Now: s.now(),
		Check: func(tx storage.Tx, cur, _ *providerv1.Agreement) error {
			if err := check(cur); err != nil {
				return err
			}
			has := reservedOf(tx, key) > 0
			if err := tx.ScanPrefix(bucketReservations, append(append([]byte(nil), key...), '/'), func(_, _ []byte) (bool, error) {
				has = true
				return false, nil
			}); err != nil {
				return err
			}
			if has {
				return domain.ErrAgreementHasReservations
			}
			return nil
		},
		After: func(tx storage.Tx, _ *providerv1.Agreement, _ int64) error { return tx.Delete(bucketReserved, key) }}
	return s.be.Update(ctx, func(tx storage.Tx) error {
		_, err := agreements.Delete(tx, string(key), w)
		return err
	})
}

// GetAgreement reads one agreement.
func (s *Store) GetAgreement(providerID, id string) (*providerv1.Agreement, error) {
	var a *providerv1.Agreement
	err := s.be.View(func(tx storage.ReadTx) error {
		var err error
		a, err = getAgreement(tx, providerID, id)
		return err
	})
	return a, err
}

// Agreements reads the agreements of a provider (which must exist), or of every provider when providerID is
// empty, in key order.
func (s *Store) Agreements(providerID string) ([]*providerv1.Agreement, error) {
	var out []*providerv1.Agreement
	err := s.be.View(func(tx storage.ReadTx) error {
		prefix := ""
		if providerID != "" {
			if tx.Get(bucketProviders, []byte(providerID)) == nil {
				return domain.ErrProviderNotFound
			}
			prefix = providerID + "/"
		}
		var err error
		out, err = agreements.All(tx, prefix)
		return err
	})
	return out, err
}

// --- capacity ---

func availability(tx storage.ReadTx, providerID, agreementID string, a *providerv1.Agreement, today string) (*providerv1.Availability, error) {
	p, err := getProvider(tx, providerID)
	if err != nil {
		return nil, err
	}
	return domain.BuildAvailability(providerID, agreementID, a, p, reservedOf(tx, agreementKey(providerID, agreementID)), today), nil
}

// Reserve holds units of an agreement for a referral, on day today (YYYY-MM-DD, Europe/Warsaw). The check of
// free units and the write of the reservation and the counter are one transaction, and the commit loop runs
// transactions one after another, so concurrent reservations never over-book. A repeat for the same referral
// and units returns the existing reservation (already = true) without holding more.
func (s *Store) Reserve(ctx context.Context, providerID, agreementID, referralID string, units int32, today string) (res *providerv1.Reservation, avail *providerv1.Availability, already bool, err error) {
	now := s.now()
	err = s.be.Update(ctx, func(tx storage.Tx) error {
		res, avail, already = nil, nil, false
		a, err := getAgreement(tx, providerID, agreementID)
		if err != nil {
			return err
		}
		p, err := getProvider(tx, providerID)
		if err != nil {
			return err
		}
		key := agreementKey(providerID, agreementID)
		rkey := reservationKey(providerID, agreementID, referralID)
		if v := tx.Get(bucketReservations, rkey); v != nil {
			held := &providerv1.Reservation{}
			if err := proto.Unmarshal(v, held); err != nil {
				return err
			}
			if held.GetUnits() != units {
				return domain.ErrReservationExists.With("units", strconv.Itoa(int(held.GetUnits()))).With("reservation", held.GetName())
			}
			res, already = held, true
			avail = domain.BuildAvailability(providerID, agreementID, a, p, reservedOf(tx, key), today)
			return nil
		}
		if e := domain.CheckAccepting(a, p.GetStatus(), today); e != nil {
			return e
		}
		if units > a.GetCapacity().GetAmount() {
			return domain.Invalid("units", domain.ReasonInvalidValue, "must be at most the agreement's capacity, %d", a.GetCapacity().GetAmount())
		}
		reserved, err := domain.ReserveUnits(a.GetCapacity().GetAmount(), reservedOf(tx, key), units)
		if err != nil {
			return err
		}
		held := &providerv1.Reservation{
			Name:       domain.ReservationName(providerID, agreementID, referralID),
			ReferralId: referralID, Units: units, CreateTime: timestamppb.New(now),
		}
		b, err := proto.MarshalOptions{Deterministic: true}.Marshal(held)
		if err != nil {
			return err
		}
		if err := tx.Put(bucketReservations, rkey, b); err != nil {
			return err
		}
		if err := tx.Put(bucketReserved, key, u64(reserved)); err != nil {
			return err
		}
		res = held
		avail = domain.BuildAvailability(providerID, agreementID, a, p, reserved, today)
		return nil
	})
	if err != nil {
		return nil, nil, false, err
	}
	return res, avail, already, nil
}

// Release gives back the units a referral holds on an agreement; releasing what is not held changes nothing
// (released = false).
func (s *Store) Release(ctx context.Context, providerID, agreementID, referralID, today string) (released bool, units int32, avail *providerv1.Availability, err error) {
	err = s.be.Update(ctx, func(tx storage.Tx) error {
		released, units, avail = false, 0, nil
		a, err := getAgreement(tx, providerID, agreementID)
		if err != nil {
			return err
		}
		p, err := getProvider(tx, providerID)
		if err != nil {
			return err
		}
		key := agreementKey(providerID, agreementID)
		rkey := reservationKey(providerID, agreementID, referralID)
		reserved := reservedOf(tx, key)
		if v := tx.Get(bucketReservations, rkey); v != nil {
			held := &providerv1.Reservation{}
			if err := proto.Unmarshal(v, held); err != nil {
				return err
			}
			reserved = domain.ReleaseUnits(reserved, held.GetUnits())
			if err := tx.Delete(bucketReservations, rkey); err != nil {
				return err
			}
			if err := tx.Put(bucketReserved, key, u64(reserved)); err != nil {
				return err
			}
			released, units = true, held.GetUnits()
		}
		avail = domain.BuildAvailability(providerID, agreementID, a, p, reserved, today)
		return nil
	})
	if err != nil {
		return false, 0, nil, err
	}
	return released, units, avail, nil
}

// Availability computes the availability of one agreement on day today.
func (s *Store) Availability(providerID, agreementID, today string) (*providerv1.Availability, error) {
	var out *providerv1.Availability
	err := s.be.View(func(tx storage.ReadTx) error {
		a, err := getAgreement(tx, providerID, agreementID)
		if err != nil {
			return err
		}
		out, err = availability(tx, providerID, agreementID, a, today)
		return err
	})
	return out, err
}

// ListAvailability computes the availability of the agreements of a provider (which must exist), or of every
// provider when providerID is empty, optionally only for one service, from one snapshot.
func (s *Store) ListAvailability(providerID, service, today string) ([]*providerv1.Availability, error) {
	var out []*providerv1.Availability
	err := s.be.View(func(tx storage.ReadTx) error {
		var prefix []byte
		if providerID != "" {
			if tx.Get(bucketProviders, []byte(providerID)) == nil {
				return domain.ErrProviderNotFound
			}
			prefix = []byte(providerID + "/")
		}
		byID := map[string]*providerv1.Provider{}
		return agreements.Scan(tx, string(prefix), func(k string, a *providerv1.Agreement, _ int64) (bool, error) {
			if service != "" && a.GetService() != service {
				return true, nil
			}
			pid, aid, _ := strings.Cut(k, "/")
			p, ok := byID[pid]
			if !ok {
				var err error
				if p, err = getProvider(tx, pid); err != nil {
					return false, err
				}
				byID[pid] = p
			}
			out = append(out, domain.BuildAvailability(pid, aid, a, p, reservedOf(tx, []byte(k)), today))
			return true, nil
		})
	})
	return out, err
}

// Reservations reads the reservations of one agreement (which must exist), of every agreement of a provider
// (agreementID empty; the provider must exist), or of all (both empty), in key order.
func (s *Store) Reservations(providerID, agreementID string) ([]*providerv1.Reservation, error) {
	var out []*providerv1.Reservation
	err := s.be.View(func(tx storage.ReadTx) error {
		var prefix []byte
		switch {
		case agreementID != "":
			if tx.Get(bucketAgreements, agreementKey(providerID, agreementID)) == nil {
				return domain.ErrAgreementNotFound
			}
			prefix = append(agreementKey(providerID, agreementID), '/')
		case providerID != "":
			if tx.Get(bucketProviders, []byte(providerID)) == nil {
				return domain.ErrProviderNotFound
			}
			prefix = []byte(providerID + "/")
		}
		return tx.ScanPrefix(bucketReservations, prefix, func(_, v []byte) (bool, error) {
			r := &providerv1.Reservation{}
			if err := proto.Unmarshal(v, r); err != nil {
				return false, err
			}
			out = append(out, r)
			return true, nil
		})
	})
	return out, err
}

// --- change feed ---

// ListChanges reads up to limit changes after a revision from one snapshot.
func (s *Store) ListChanges(after int64, limit int) ([]*providerv1.Change, bool, error) {
	return storage.ListChanges(s.be, after, limit, func() *providerv1.Change { return &providerv1.Change{} })
}
