package server_test

import (
	"bytes"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

func TestExportStatistics(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "520101", 1234), 100000, 1)
	h.refer(t, res, con, kase, referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED)
	h.refer(t, res, con, kase, referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT)

	var md metadata.MD
	body, err := h.client.ExportStatistics(h.coord(t), &referralv1.ExportStatisticsRequest{Format: "csv_excel", AsOf: "2026-06-30"}, grpc.Header(&md))
	if err != nil {
		t.Fatal(err)
	}
	if cd := strings.Join(md.Get("content-disposition"), ""); cd != `attachment; filename="statystyki-2026-06-30.csv"` {
		t.Errorf("content disposition %q", cd)
	}
	b := body.GetData()
	for _, want := range []string{
		"\xEF\xBB\xBFWskaźnik;Kategoria;Wartość\r\n",
		"Skierowania ogółem;;2\r\n",
		"Skierowania według statusu;REFERRAL_STATUS_DRAFT;1\r\n",
		"Skierowania według statusu;REFERRAL_STATUS_REQUESTED;1\r\n",
		"Skierowania według obszaru;AREA_SOCIAL_ASSISTANCE;2\r\n",
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("missing %q in\n%s", want, b)
		}
	}
	// No personal data: neither the resident's name nor the PESEL is in the file.
	if bytes.Contains(b, []byte("Testowa")) || bytes.Contains(b, []byte("520101")) {
		t.Fatal("personal data in the statistics export")
	}
	if _, err := h.client.ExportStatistics(h.coord(t), &referralv1.ExportStatisticsRequest{AsOf: "30.06.2026"}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("bad as_of: %v", err)
	}
}
