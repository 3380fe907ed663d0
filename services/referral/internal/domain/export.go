package domain

import (
	"sort"

	"github.com/cus-suite/cus/platform/sheet"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// StatisticsSheet is the sheet of ExportStatistics: one figure per row, so a gmina's report template can look
// figures up by Wskaźnik and Kategoria.
var StatisticsSheet = []sheet.Column{
	{Header: "Wskaźnik", Width: 44},
	{Header: "Kategoria", Width: 48},
	{Header: "Wartość", Kind: sheet.Int},
}

// StatisticsRows are the rows of the statistics sheet: the totals first, then each breakdown ordered by
// category. Categories are the API's enum names and provider names, as GetStatistics returns them.
func StatisticsRows(st *referralv1.Statistics) [][]sheet.Value {
	row := func(measure, category string, v int64) []sheet.Value {
		return []sheet.Value{sheet.S(measure), sheet.S(category), sheet.I(v)}
	}
	rows := [][]sheet.Value{
		row("Skierowania ogółem", "", int64(st.GetTotal())),
		row("Odpowiedzi po terminie", "", int64(st.GetOverdueResponses())),
		row("Plany (IPUS) po terminie", "", int64(st.GetOverduePlans())),
		row("Czas do pierwszej odpowiedzi, mediana (s)", "", int64(st.GetAcknowledgeSecondsMedian())),
		row("Czas do pierwszej odpowiedzi, 90. percentyl (s)", "", int64(st.GetAcknowledgeSecondsP90())),
		row("Czas do przyjęcia, mediana (s)", "", int64(st.GetAcceptSecondsMedian())),
		row("Czas do przyjęcia, 90. percentyl (s)", "", int64(st.GetAcceptSecondsP90())),
	}
	for _, b := range []struct {
		measure string
		m       map[string]int32
	}{
		{"Skierowania według statusu", st.GetByStatus()},
		{"Skierowania według obszaru", st.GetByArea()},
		{"Skierowania według realizatora", st.GetByProvider()},
		{"Zakończone według rezultatu", st.GetByOutcome()},
	} {
		keys := make([]string, 0, len(b.m))
		for k := range b.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rows = append(rows, row(b.measure, k, int64(b.m[k])))
		}
	}
	return rows
}
