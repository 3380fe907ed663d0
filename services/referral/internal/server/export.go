package server

import (
	"bytes"
	"context"

	"google.golang.org/genproto/googleapis/api/httpbody"

	"github.com/cus-suite/cus/platform/sheet"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/domain"
)

// ExportStatistics writes GetStatistics's figures as a spreadsheet; no personal data, the same as the RPC.
func (s *Server) ExportStatistics(ctx context.Context, req *referralv1.ExportStatisticsRequest) (*httpbody.HttpBody, error) {
	format, err := sheet.ParseFormat("format", req.GetFormat(), sheet.XLSX)
	if err != nil {
		return nil, err
	}
	st, err := s.GetStatistics(ctx, &referralv1.GetStatisticsRequest{AsOf: req.GetAsOf()})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := sheet.NewWriter(&buf, format, "Statystyki", domain.StatisticsSheet)
	if err != nil {
		return nil, err
	}
	for _, r := range domain.StatisticsRows(st) {
		if err := w.Row(r...); err != nil {
			return nil, err
		}
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	day, err := asOf(req.GetAsOf(), s.now())
	if err != nil {
		return nil, err
	}
	return sheet.Download(ctx, "statystyki-"+day, format, buf.Bytes())
}
