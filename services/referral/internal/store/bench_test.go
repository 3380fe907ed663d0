package store

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/cus-suite/cus/platform/storage"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

func benchResident() *referralv1.Resident {
	return &referralv1.Resident{Name: "residents/0194c050-aaaa-7000-8000-000000000001", GivenName: "Bronisława", FamilyName: "Wierzbięta",
		Pesel: "52041348219", Phone: "+48 600 000 000", HouseholdSize: 2, MonthlyIncomePerPersonGrosze: 123400,
		Address: &typev1.Address{Address_1: "ul. Ogrodnicza 17", City: "Rawicz", PostalCode: "63-900"}, Etag: "r1"}
}

// BenchmarkRecordCodec compares writing and reading one resident record in clear (the platform's layout)
// and sealed (the same layout, AES-256-GCM over the protobuf part): the cost encryption adds per record.
func BenchmarkRecordCodec(b *testing.B) {
	r := benchResident()
	key := []byte("0194c050-aaaa-7000-8000-000000000001")
	b.Run("clear", func(b *testing.B) {
		for b.Loop() {
			v, _ := storage.EncodeRecord(7, r)
			if _, err := storage.DecodeRecord(v, &referralv1.Resident{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sealed", func(b *testing.B) {
		s := &Store{ring: testRing(b, "k1")}
		for b.Loop() {
			v, _ := s.encode(bucketResidents, key, 7, r)
			if _, err := s.decode(bucketResidents, key, v, &referralv1.Resident{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreateGetResident is the whole path, sealed, through bbolt (each create is an fsync'd commit).
func BenchmarkCreateGetResident(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "referral.db"), testPESELKey, nil, WithDataKeys(testRing(b, "k1")))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		id := fmt.Sprintf("0194c050-bench-7000-8000-%012d", i)
		r := benchResident()
		r.Pesel = ""
		if _, _, err := s.CreateResident(ctx, id, r, Write{}); err != nil {
			b.Fatal(err)
		}
		if _, err := s.GetResident(id); err != nil {
			b.Fatal(err)
		}
	}
}
