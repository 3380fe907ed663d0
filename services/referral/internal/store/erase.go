package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

// Erased counts what an erasure removed.
type Erased struct {
	Consents, Cases, Plans, Referrals int32
	FileBytes                         int64
}

// Anonymise strips a referral of everything that names or describes the resident, keeping what statistics
// need (service, provider, areas, statuses and times, outcome code, fee band).
func Anonymise(r *referralv1.Referral) {
	r.Resident, r.Case, r.Consent, r.Note, r.StatusReason = "", "", "", "", ""
	if r.Outcome != nil {
		r.Outcome.Note = ""
	}
	if r.Fee != nil {
		r.Fee.IncomePerPersonGrosze = 0
	}
	for _, h := range r.History {
		h.Reason = ""
	}
	r.ResidentSummary = nil
}

// EraseResident deletes a resident, its PESEL index entry, consents, cases and their plans, anonymises its
// referrals (also in the change feed), then compacts the data file.
//
// Before anything is deleted, the erasure is journaled twice, both durable: in the erasure journal outside the
// data (erasureJournal: the resident's uuid and the time, nothing else), so that a restore of a backup taken
// before it does not bring the resident back (Open re-applies it); and as a pending compaction of the backend, so
// that a crash before the compaction finishes is followed by one at the next start (the erased ciphertext
// must not stay in free pages that later backups would carry).
func (s *Store) EraseResident(ctx context.Context, rid string, w Write) (Erased, error) {
	if err := uuid.Validate(rid); err != nil {
		return Erased{}, fmt.Errorf("erase: resident id is not a uuid: %w", err)
	}
	if err := s.journalErasure(rid); err != nil {
		return Erased{}, err
	}
	if err := s.be.RequireCompaction(); err != nil {
		return Erased{}, err
	}
	out, err := s.erase(ctx, rid, w)
	if err != nil {
		return out, err
	}
	size, err := s.Compact()
	out.FileBytes = size
	return out, err
}

// erase deletes and anonymises in one transaction (EraseResident, and the re-application at Open).
func (s *Store) erase(ctx context.Context, rid string, w Write) (Erased, error) {
	var out Erased
	name := domain.ResidentPrefix + rid
	err := s.update(ctx, func(tx storage.Tx) error {
		out = Erased{}
		r := &referralv1.Resident{}
		if _, ok, err := s.getRecord(tx, bucketResidents, rid, r); err != nil {
			return err
		} else if !ok {
			return domain.ErrResidentNotFound
		}
		if r.GetPesel() != "" {
			if err := tx.Delete(bucketPESEL, s.PESELKey(r.GetPesel())); err != nil {
				return err
			}
		}
		if err := tx.Delete(bucketResidents, []byte(rid)); err != nil {
			return err
		}
		var del [][]byte
		_ = tx.ScanPrefix(bucketConsents, []byte(rid+"/"), func(k, _ []byte) (bool, error) {
			del = append(del, append([]byte(nil), k...))
			return true, nil
		})
		for _, k := range del {
			out.Consents++
			if err := tx.Delete(bucketConsents, k); err != nil {
				return err
			}
		}
		var cases []string
		err := tx.Scan(bucketCases, nil, func(k, v []byte) (bool, error) {
			c := &referralv1.Case{}
			if _, err := s.decode(bucketCases, k, v, c); err != nil {
				return false, err
			}
			if c.GetResident() == name {
				cases = append(cases, string(k))
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, cid := range cases {
			out.Cases++
			if err := tx.Delete(bucketCases, []byte(cid)); err != nil {
				return err
			}
			var plans [][]byte
			_ = tx.ScanPrefix(bucketPlans, []byte(cid+"/"), func(k, _ []byte) (bool, error) {
				plans = append(plans, append([]byte(nil), k...))
				return true, nil
			})
			for _, k := range plans {
				out.Plans++
				if err := tx.Delete(bucketPlans, k); err != nil {
					return err
				}
			}
		}
		refs := map[string]bool{}
		type upd struct {
			k   []byte
			rev int64
			r   *referralv1.Referral
		}
		var ups []upd
		// A record that does not decrypt fails the erasure rather than being skipped: skipping it could leave
		// the resident's data behind.
		err = tx.Scan(bucketReferrals, nil, func(k, v []byte) (bool, error) {
			ref := &referralv1.Referral{}
			rev, err := s.decode(bucketReferrals, k, v, ref)
			if err != nil {
				return false, err
			}
			if ref.GetResident() == name {
				refs[ref.GetName()] = true
				Anonymise(ref)
				ups = append(ups, upd{append([]byte(nil), k...), rev, ref})
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, u := range ups {
			out.Referrals++
			if err := s.putRecord(tx, bucketReferrals, string(u.k), u.rev, u.r); err != nil {
				return err
			}
		}
		// The change feed holds snapshots of those referrals: rewrite them anonymised, at the same revisions.
		type ch struct {
			rev int64
			e   *referralv1.ReferralEvent
		}
		var chs []ch
		err = tx.Scan(storage.BucketChanges, nil, func(k, v []byte) (bool, error) {
			e := &referralv1.ReferralEvent{}
			if err := s.decodeChange(int64(binary.BigEndian.Uint64(k)), v, e); err != nil {
				return false, err
			}
			if refs[e.GetReferral().GetName()] || e.GetReferral().GetResident() == name {
				Anonymise(e.Referral)
				chs = append(chs, ch{e.GetRevision(), e})
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		for _, c := range chs {
			if err := s.appendChange(tx, c.e); err != nil {
				return err
			}
		}
		// Idempotency records hold names only; drop those naming the resident's objects anyway.
		var reqs [][]byte
		_ = tx.Scan(storage.BucketRequests, nil, func(k, v []byte) (bool, error) {
			if _, _, first, ok := storage.DecodeRequest(v); ok && strings.HasPrefix(string(first), name) {
				reqs = append(reqs, append([]byte(nil), k...))
			}
			return true, nil
		})
		for _, k := range reqs {
			if err := tx.Delete(storage.BucketRequests, k); err != nil {
				return err
			}
		}
		tx.NextRevision()
		return s.appendAudit(tx, w.Audit)
	})
	return out, err
}

// erasureJournal names the erasure journal of a store (storage.Backend.AppendJournal): one record per erasure,
// "<RFC 3339 time> <resident uuid>", appended durably before the erasure commits. It holds no personal data (a
// uuid is what every log line carries) and lives outside the data, so a restore does not roll it back. On bbolt
// it is the file "<data file>.erasures" beside the data file: keep it with the data directory (back it up with
// the data file's backups: it is what keeps an erased resident erased across a restore on another machine). On
// etcd it is keys beside the service's prefix ("/cus/.journal/referral/erasures/..." for "/cus/referral/"),
// which every replica reads: an erasure made through one replica is re-applied by any replica that opens a
// restored prefix.
const erasureJournal = storage.JournalErasures

// ErasureJournal is the path of the erasure journal of the bbolt data file at path.
func ErasureJournal(path string) string { return storage.JournalFile(path, erasureJournal) }

func (s *Store) journalErasure(rid string) error {
	if err := s.be.AppendJournal(erasureJournal, s.now().UTC().Format(time.RFC3339)+" "+rid); err != nil {
		return fmt.Errorf("erasure journal: %w", err)
	}
	return nil
}

// journaledErasures reads the uuids of the erasure journal (none when there is no journal), each once. A
// record that is not "<time> <uuid>" is skipped.
func (s *Store) journaledErasures() ([]string, error) {
	records, err := s.be.Journal(erasureJournal)
	if err != nil {
		return nil, fmt.Errorf("erasure journal: %w", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, line := range records {
		f := strings.Fields(line)
		if len(f) != 2 || uuid.Validate(f[1]) != nil || seen[f[1]] {
			continue
		}
		seen[f[1]] = true
		out = append(out, f[1])
	}
	return out, nil
}

// reapplyErasures erases again, at Open, every journaled resident the data file holds: after a restore of a
// backup taken before the erasure, or an erasure that failed before it committed. Each is audited as done by
// the journal; the file is compacted once after them.
func (s *Store) reapplyErasures() error {
	ids, err := s.journaledErasures()
	if err != nil || len(ids) == 0 {
		return err
	}
	var present []string
	err = s.view(func(tx storage.ReadTx) error {
		for _, id := range ids {
			if tx.Get(bucketResidents, []byte(id)) != nil {
				present = append(present, id)
			}
		}
		return nil
	})
	if err != nil || len(present) == 0 {
		return err
	}
	if err := s.be.RequireCompaction(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, id := range present {
		name := domain.ResidentPrefix + id
		_, err := s.erase(ctx, id, Write{Audit: &referralv1.AuditEntry{
			Subject: "system:erasure-journal", Action: "EraseResident", Resource: name,
			Decision: referralv1.AuditDecision_AUDIT_DECISION_ALLOWED, Reason: "erased again from the erasure journal (the data file predates the erasure: restored from a backup)",
		}})
		if err != nil && !errors.Is(err, domain.ErrResidentNotFound) {
			return fmt.Errorf("re-apply a journaled erasure: %w", err)
		}
	}
	if _, err := s.Compact(); err != nil {
		return err
	}
	s.log.Warn("re-applied erasures from the erasure journal: the data file held residents erased after it was written (a restore)",
		zap.Int("residents", len(present)), zap.String("journal", s.be.JournalLocation(erasureJournal)))
	return nil
}

// ExportResident reads everything about a resident from one snapshot.
func (s *Store) ExportResident(rid string) (*referralv1.ExportResidentResponse, error) {
	out := &referralv1.ExportResidentResponse{}
	name := domain.ResidentPrefix + rid
	err := s.view(func(tx storage.ReadTx) error {
		r := &referralv1.Resident{}
		if _, ok, err := s.getRecord(tx, bucketResidents, rid, r); err != nil {
			return err
		} else if !ok {
			return domain.ErrResidentNotFound
		}
		out.Resident = r
		// A record that does not decrypt fails the export: an export must be complete (RODO art. 15).
		err := tx.ScanPrefix(bucketConsents, []byte(rid+"/"), func(k, v []byte) (bool, error) {
			c := &referralv1.Consent{}
			if _, err := s.decode(bucketConsents, k, v, c); err != nil {
				return false, err
			}
			out.Consents = append(out.Consents, c)
			return true, nil
		})
		if err != nil {
			return err
		}
		err = tx.Scan(bucketCases, nil, func(k, v []byte) (bool, error) {
			c := &referralv1.Case{}
			if _, err := s.decode(bucketCases, k, v, c); err != nil {
				return false, err
			}
			if c.GetResident() != name {
				return true, nil
			}
			out.Cases = append(out.Cases, c)
			return true, tx.ScanPrefix(bucketPlans, append(append([]byte(nil), k...), '/'), func(pk, pv []byte) (bool, error) {
				p := &referralv1.Plan{}
				if _, err := s.decode(bucketPlans, pk, pv, p); err != nil {
					return false, err
				}
				out.Plans = append(out.Plans, p)
				return true, nil
			})
		})
		if err != nil {
			return err
		}
		return tx.Scan(bucketReferrals, nil, func(k, v []byte) (bool, error) {
			ref := &referralv1.Referral{}
			if _, err := s.decode(bucketReferrals, k, v, ref); err != nil {
				return false, err
			}
			if ref.GetResident() == name {
				out.Referrals = append(out.Referrals, ref)
			}
			return true, nil
		})
	})
	return out, err
}
