package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/plid"
	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

var testPESELKey = []byte("0123456789abcdef0123456789abcdef-store-test")

func testRing(t testing.TB, keys ...string) *KeyRing {
	t.Helper()
	m := map[string][]byte{}
	for _, id := range keys {
		m[id] = bytes.Repeat([]byte(id[len(id)-1:]), 32)
	}
	r, err := KeyRingOf(keys[len(keys)-1], m)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func pesel(t testing.TB, yymmdd string, serial int) string {
	t.Helper()
	first := fmt.Sprintf("%s%04d", yymmdd, serial)
	d, err := plid.PESELCheckDigit(first)
	if err != nil {
		t.Fatal(err)
	}
	return first + string(d)
}

// person is an invented test resident; every string field is personal data that must not be in the file.
type person struct {
	id, given, family, pesel, street, note string
}

func people(t testing.TB) []person {
	return []person{
		{"0194c050-aaaa-7000-8000-000000000001", "Bronisława", "Wierzbięta", pesel(t, "520413", 4821), "ul. Ogrodnicza 17", "potrzebuje wsparcia po udarze"},
		{"0194c050-aaaa-7000-8000-000000000002", "Teodor", "Szczepankiewicz", pesel(t, "880930", 1357), "ul. Kasztanowa 5", "samotnie wychowuje dwoje dzieci"},
		{"0194c050-aaaa-7000-8000-000000000003", "Genowefa", "Przybyłowska", pesel(t, "020711", 2468), "os. Wiosenne 12/3", "zadłużenie czynszowe od 2024"},
	}
}

func (p person) needles() []string {
	return []string{p.pesel, p.given, p.family, p.street, p.note}
}

func openStore(t testing.TB, path string, ring *KeyRing) *Store {
	t.Helper()
	s, err := Open(path, testPESELKey, nil, WithDataKeys(ring))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// seed writes a resident with a consent, a case, a plan and a referral, each carrying personal text.
func seed(t testing.TB, s *Store, p person) {
	t.Helper()
	ctx := context.Background()
	_, _, err := s.CreateResident(ctx, p.id, &referralv1.Resident{GivenName: p.given, FamilyName: p.family, Pesel: p.pesel,
		Phone: "+48 600 000 000", HouseholdSize: 1, Address: &typev1.Address{Address_1: p.street, City: "Rawicz", PostalCode: "63-900"}}, Write{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateConsent(ctx, p.id, "c-"+p.id, &referralv1.Consent{Purpose: "skierowanie: " + p.note}, Write{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateCase(ctx, "k-"+p.id, &referralv1.Case{Resident: domain.ResidentPrefix + p.id, Notes: p.note,
		Needs: []*referralv1.AssessedNeed{{Description: p.note}}}, Write{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreatePlan(ctx, "k-"+p.id, "p-"+p.id, &referralv1.Plan{Goals: []string{p.note}},
		func(*referralv1.Case, *referralv1.Plan) error { return nil }, Write{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CreateReferral(ctx, "f-"+p.id, &referralv1.Referral{Resident: domain.ResidentPrefix + p.id, Note: p.note,
		ResidentSummary: &referralv1.ResidentSummary{GivenName: p.given, FamilyName: p.family}},
		func(Reader) error { return nil }, Write{}); err != nil {
		t.Fatal(err)
	}
}

func scan(t *testing.T, what string, raw []byte, needles []string) {
	t.Helper()
	for _, n := range needles {
		if bytes.Contains(raw, []byte(n)) {
			t.Errorf("%s holds %q in clear", what, n)
		}
	}
}

// The data file and a backup hold no PESEL, name, address or note of the residents; with the key ring every
// read returns them intact.
func TestDataFileAndBackupHoldNoPersonalDataInClear(t *testing.T) {
	path := filepath.Join(t.TempDir(), "referral.db")
	s := openStore(t, path, testRing(t, "k1"))
	defer s.Close()
	ps := people(t)
	var needles []string
	for _, p := range ps {
		seed(t, s, p)
		needles = append(needles, p.needles()...)
	}
	enginetest.BboltOnly(t, "reads the data file's bytes")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	scan(t, "the data file", raw, needles)
	var backup bytes.Buffer
	if _, err := s.Backup(&backup); err != nil {
		t.Fatal(err)
	}
	scan(t, "a backup", backup.Bytes(), needles)

	for _, p := range ps {
		r, err := s.GetResident(p.id)
		if err != nil || r.GetPesel() != p.pesel || r.GetGivenName() != p.given || r.GetFamilyName() != p.family || r.GetAddress().GetAddress_1() != p.street {
			t.Fatalf("resident read back: %v %v", r, err)
		}
		if id, err := s.LookupPESEL(p.pesel); err != nil || id != p.id {
			t.Fatalf("lookup: %q %v", id, err)
		}
		if c, err := s.GetCase("k-" + p.id); err != nil || c.GetNotes() != p.note {
			t.Fatalf("case: %v %v", c, err)
		}
		if pl, err := s.GetPlan("k-"+p.id, "p-"+p.id); err != nil || pl.GetGoals()[0] != p.note {
			t.Fatalf("plan: %v %v", pl, err)
		}
		if f, err := s.GetReferral("f-" + p.id); err != nil || f.GetNote() != p.note || f.GetResidentSummary().GetFamilyName() != p.family {
			t.Fatalf("referral: %v %v", f, err)
		}
	}
	ev, err := s.ReferralChanges(0, 100)
	if err != nil || len(ev) != len(ps) || ev[0].GetReferral().GetNote() != ps[0].note {
		t.Fatalf("change feed: %v %v", ev, err)
	}
	exp, err := s.ExportResident(ps[1].id)
	if err != nil || len(exp.GetConsents()) != 1 || len(exp.GetCases()) != 1 || len(exp.GetPlans()) != 1 || len(exp.GetReferrals()) != 1 {
		t.Fatalf("export: %v %v", exp, err)
	}
}

// A sealed record is bound to its bucket and key: copied over another record (or into another bucket) it
// does not decrypt, and neither does an altered one.
func TestSealedRecordCannotBeMovedOrAltered(t *testing.T) {
	path := filepath.Join(t.TempDir(), "referral.db")
	s := openStore(t, path, testRing(t, "k1"))
	ps := people(t)
	seed(t, s, ps[0])
	seed(t, s, ps[1])
	s.Close()

	for _, tc := range []struct {
		name  string
		alter func(tx *bolt.Tx) error
		read  func(s *Store) error
	}{
		{"resident A's record under resident B's key", func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bucketResidents))
			return b.Put([]byte(ps[1].id), append([]byte(nil), b.Get([]byte(ps[0].id))...))
		}, func(s *Store) error { _, err := s.GetResident(ps[1].id); return err }},
		{"a case's record in the referrals bucket", func(tx *bolt.Tx) error {
			v := append([]byte(nil), tx.Bucket([]byte(bucketCases)).Get([]byte("k-"+ps[0].id))...)
			return tx.Bucket([]byte(bucketReferrals)).Put([]byte("k-"+ps[0].id), v)
		}, func(s *Store) error { return s.ForEachReferral(func(*referralv1.Referral) error { return nil }) }},
		{"one ciphertext byte flipped", func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bucketResidents))
			v := append([]byte(nil), b.Get([]byte(ps[0].id))...)
			v[len(v)-20] ^= 1
			return b.Put([]byte(ps[0].id), v)
		}, func(s *Store) error { _, err := s.GetResident(ps[0].id); return err }},
		{"a revision rewritten", func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(bucketResidents))
			v := append([]byte(nil), b.Get([]byte(ps[0].id))...)
			v[7]++
			return b.Put([]byte(ps[0].id), v)
		}, func(s *Store) error { _, err := s.GetResident(ps[0].id); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			enginetest.BboltOnly(t, "copies and alters the data file through bbolt")
			cp := filepath.Join(t.TempDir(), "referral.db")
			copyFile(t, path, cp)
			db, err := bolt.Open(cp, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(tc.alter); err != nil {
				t.Fatal(err)
			}
			db.Close()
			s := openStore(t, cp, testRing(t, "k1"))
			defer s.Close()
			if err := tc.read(s); !errors.Is(err, ErrUnsealable) {
				t.Fatalf("read after %s: %v, want ErrUnsealable", tc.name, err)
			}
		})
	}
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Open refuses a PESEL index key or a data key ring that does not match the fingerprints in the file, and
// names the data key that is missing.
func TestOpenRefusesMissingOrDifferentKeys(t *testing.T) {
	path := filepath.Join(t.TempDir(), "referral.db")
	s := openStore(t, path, testRing(t, "k1"))
	seed(t, s, people(t)[0])
	s.Close()

	other := bytes.Repeat([]byte("x"), 32)
	differentK1, _ := KeyRingOf("k1", map[string][]byte{"k1": other})
	for _, tc := range []struct {
		name  string
		pesel []byte
		opts  []Option
		want  string
	}{
		{"another PESEL key", []byte("another-pesel-index-key-of-32-bytes-or-more"), []Option{WithDataKeys(testRing(t, "k1"))}, "PESEL index key"},
		{"a ring without the data's key", testPESELKey, []Option{WithDataKeys(testRing(t, "k2"))}, "lacks key k1"},
		{"a ring whose k1 differs", testPESELKey, []Option{WithDataKeys(differentK1)}, "key k1 of the data key ring"},
		{"no ring", testPESELKey, nil, "no data key ring"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Open(path, tc.pesel, nil, tc.opts...)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, ErrKeyRing) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one naming %q", err, tc.want)
			}
		})
	}
	enginetest.BboltOnly(t, "Inspect reads the data file")
	info, err := Inspect(path)
	if err != nil || info.New() || info.Residents != 1 || info.PESELFingerprint == nil || len(info.DataKeys) != 1 {
		t.Fatalf("inspect: %+v %v", info, err)
	}
	if err := info.Check(testPESELKey, testRing(t, "k1")); err != nil {
		t.Fatalf("the right keys: %v", err)
	}
	// The right keys still open it.
	openStore(t, path, testRing(t, "k1")).Close()
}

// Rotation: a new primary key re-encrypts every record and change; afterwards a ring of the new key alone
// reads everything, and the file needs only it.
func TestReencryptUnderANewKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "referral.db")
	s := openStore(t, path, testRing(t, "k1"))
	ps := people(t)
	for _, p := range ps {
		seed(t, s, p)
	}
	s.Close()

	// Batches of two: the re-encryption resumes where the previous transaction stopped.
	defer func(n int) { reencryptBatch = n }(reencryptBatch)
	reencryptBatch = 2
	s = openStore(t, path, testRing(t, "k1", "k2"))
	if got, _ := s.NeededKeys(); strings.Join(got, ",") != "k1,k2" {
		t.Fatalf("before re-encryption the file needs %v", got)
	}
	moved, err := s.Reencrypt(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if moved[string(bucketResidents)] != len(ps) || moved[string(storage.BucketChanges)] != len(ps) {
		t.Fatalf("moved %v", moved)
	}
	if got, _ := s.NeededKeys(); strings.Join(got, ",") != "k2" {
		t.Fatalf("after re-encryption the file needs %v", got)
	}
	s.Close()

	enginetest.BboltOnly(t, "reads the data file's bytes through bbolt")
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *bolt.Tx) error {
		for _, b := range append(append([]storage.Bucket(nil), sealedBuckets...), storage.BucketChanges) {
			_ = tx.Bucket([]byte(b)).ForEach(func(k, v []byte) error {
				if id, ok := sealedKeyID(v); !ok || id != "k2" {
					t.Errorf("%s/%q is under %q", b, k, id)
				}
				return nil
			})
		}
		return nil
	})
	db.Close()

	if _, err := Open(path, testPESELKey, nil, WithDataKeys(testRing(t, "k1"))); err == nil || !strings.Contains(err.Error(), "lacks key k2") {
		t.Fatalf("the old key alone: %v", err)
	}
	s = openStore(t, path, testRing(t, "k2"))
	defer s.Close()
	for _, p := range ps {
		if r, err := s.GetResident(p.id); err != nil || r.GetPesel() != p.pesel {
			t.Fatalf("after rotation: %v %v", r, err)
		}
	}
	if ev, err := s.ReferralChanges(0, 100); err != nil || len(ev) != len(ps) {
		t.Fatalf("change feed after rotation: %d %v", len(ev), err)
	}
}

// Erasure removes the resident's ciphertext from the file too (compaction), not only the clear text.
func TestErasureRemovesTheCiphertext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "referral.db")
	s := openStore(t, path, testRing(t, "k1"))
	defer s.Close()
	ps := people(t)
	for _, p := range ps {
		seed(t, s, p)
	}
	gone := ps[0]
	var sealed [][]byte
	_ = s.view(func(tx storage.ReadTx) error {
		for _, bk := range []struct {
			b storage.Bucket
			k string
		}{{bucketResidents, gone.id}, {bucketConsents, gone.id + "/c-" + gone.id}, {bucketCases, "k-" + gone.id}, {bucketPlans, "k-" + gone.id + "/p-" + gone.id}} {
			v := tx.Get(bk.b, []byte(bk.k))
			if v == nil {
				t.Fatalf("no %s/%s", bk.b, bk.k)
			}
			sealed = append(sealed, append([]byte(nil), v[len(v)-32:]...))
		}
		return nil
	})
	if _, err := s.EraseResident(context.Background(), gone.id, Write{}); err != nil {
		t.Fatal(err)
	}
	enginetest.BboltOnly(t, "reads the data file's bytes")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range sealed {
		if bytes.Contains(raw, c) {
			t.Errorf("ciphertext %d of the erased resident is still in the file", i)
		}
	}
	scan(t, "the data file after erasure", raw, gone.needles())
	if f, err := s.GetReferral("f-" + gone.id); err != nil || f.GetNote() != "" || f.GetResidentSummary() != nil {
		t.Fatalf("anonymised referral: %v %v", f, err)
	}
	ev, err := s.ReferralChanges(0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ev {
		if e.GetReferral().GetName() == domain.ReferralPrefix+"f-"+gone.id && (e.GetReferral().GetNote() != "" || e.GetReferral().GetResident() != "") {
			t.Fatalf("change feed not anonymised: %v", e)
		}
	}
	if r, err := s.GetResident(ps[1].id); err != nil || r.GetFamilyName() != ps[1].family {
		t.Fatalf("another resident after erasure: %v %v", r, err)
	}
}

// A data file of schema 1 (records in clear) is sealed at the first Open with a key ring, and its old pages
// are compacted away.
func TestClearFileIsSealedOnOpen(t *testing.T) {
	enginetest.BboltOnly(t, "writes a clear bbolt file to seal")
	path := filepath.Join(t.TempDir(), "referral.db")
	p := people(t)[2]
	be, err := storage.Open(path, storage.Options{Buckets: allBuckets, SchemaVersion: 1})
	if err != nil {
		t.Fatal(err)
	}
	ik := (&Store{key: testPESELKey}).PESELKey(p.pesel)
	err = be.Update(context.Background(), func(tx storage.Tx) error {
		rev := tx.NextRevision()
		v, _ := storage.EncodeRecord(rev, &referralv1.Resident{Name: domain.ResidentPrefix + p.id, GivenName: p.given, FamilyName: p.family, Pesel: p.pesel,
			Address: &typev1.Address{Address_1: p.street}})
		if err := tx.Put(bucketResidents, []byte(p.id), v); err != nil {
			return err
		}
		if err := tx.Put(bucketPESEL, ik, []byte(p.id)); err != nil {
			return err
		}
		ev, _ := proto.Marshal(&referralv1.ReferralEvent{Revision: rev, Referral: &referralv1.Referral{Name: "referrals/x", Note: p.note}})
		return tx.AppendChange(rev, ev)
	})
	if err != nil {
		t.Fatal(err)
	}
	be.Close()
	if raw, _ := os.ReadFile(path); !bytes.Contains(raw, []byte(p.pesel)) {
		t.Fatal("precondition: the clear file holds the PESEL")
	}

	// Under another PESEL key the index does not match: refused.
	if _, err := Open(path, []byte("another-pesel-index-key-of-32-bytes-or-more"), nil, WithDataKeys(testRing(t, "k1"))); !errors.Is(err, ErrKeyRing) {
		t.Fatalf("a clear file under another PESEL key: %v", err)
	}
	s := openStore(t, path, testRing(t, "k1"))
	defer s.Close()
	raw, _ := os.ReadFile(path)
	scan(t, "the sealed file", raw, p.needles())
	if r, err := s.GetResident(p.id); err != nil || r.GetPesel() != p.pesel {
		t.Fatalf("after sealing: %v %v", r, err)
	}
	if ev, err := s.ReferralChanges(0, 10); err != nil || len(ev) != 1 || ev[0].GetReferral().GetNote() != p.note {
		t.Fatalf("change feed after sealing: %v %v", ev, err)
	}
}
