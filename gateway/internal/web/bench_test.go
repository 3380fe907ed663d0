package web

import (
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// BenchmarkRenderResults measures the page's own work for a results page of 20 services: building the view
// from a SearchServicesResponse and executing the templates, without the search itself (make bench-web measures
// the page end to end against 100,000 services).
func BenchmarkRenderResults(b *testing.B) {
	e := newEnv(&testing.T{})
	var results []*cataloguev1.SearchResult
	for i := 1; i <= 20; i++ {
		s := svc(i, fmt.Sprintf("Klub Seniora nr %d", i), strings.Repeat("Spotkania, gimnastyka, wycieczki i warsztaty dla seniorów. ", 20))
		s.Fee = careFee()
		d := int32(i * 150)
		results = append(results, &cataloguev1.SearchResult{Service: s, DistanceMeters: &d})
	}
	resp := &cataloguev1.SearchServicesResponse{Results: results, TotalSize: 734, NextPageToken: "dG9rZW4",
		SuggestedQuery:    "klub seniora",
		AreaFacets:        []*cataloguev1.AreaFacet{{Area: cataloguev1.Area_AREA_CULTURE, Count: 500}, {Area: cataloguev1.Area_AREA_SOCIAL_ASSISTANCE, Count: 234}},
		TargetGroupFacets: []*cataloguev1.TargetGroupFacet{{TargetGroup: cataloguev1.TargetGroup_TARGET_GROUP_SENIORS, Count: 734}}}
	h := e.h
	r := httptest.NewRequest("GET", "/szukaj?q=klub+senora&grupa=TARGET_GROUP_SENIORS&miejscowosc=Rawicz", nil)
	n, err := h.names(r.Context())
	if err != nil {
		b.Fatal(err)
	}
	_, f, _, err := h.parseFilters(r.Context(), r.URL.Query(), n)
	if err != nil {
		b.Fatal(err)
	}
	size := 0
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		body := &resultsBody{F: f, Page: f.Page, Searched: true}
		h.fillResults(r.Context(), body, resp, n)
		w := httptest.NewRecorder()
		h.render(w, r, 200, "wyniki", &page{Title: "Wyniki", Description: body.Summary, SearchInMain: true, Query: f.Q, Canonical: f.link(1, ""), Body: body})
		size = w.Body.Len()
		_, _ = io.Discard.Write(w.Body.Bytes())
	}
	b.ReportMetric(float64(size), "bytes/page")
}
