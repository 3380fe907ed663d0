package fee

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"time"
)

// Criterion is the income criterion of the social-assistance act (kryterium dochodowe) from a day on. The
// referral service stores fees under it and the gateway's pages explain them with it: one definition, one file
// format (--income-criteria-file), so the two never disagree.
type Criterion struct {
	// From is the first day it applies, YYYY-MM-DD.
	From string `json:"from"`
	// SingleGrosze is the amount for a single person (osoba samotnie gospodarująca).
	SingleGrosze int64 `json:"single_person_grosze"`
	// FamilyGrosze is the amount per person in a family.
	FamilyGrosze int64 `json:"per_person_in_family_grosze"`
}

// ForHousehold returns the amount that applies to a household of n persons: the single-person criterion for one,
// the per-person family criterion for more.
func (c Criterion) ForHousehold(n int32) int64 {
	if n <= 1 {
		return c.SingleGrosze
	}
	return c.FamilyGrosze
}

// DefaultCriteria are the amounts in force from 2022-01-01 (776 / 600 zł) and from 2025-01-01 (1010 / 823 zł).
// They are configuration, not constants: --income-criteria-file replaces them.
func DefaultCriteria() []Criterion {
	return []Criterion{
		{From: "2022-01-01", SingleGrosze: 77600, FamilyGrosze: 60000},
		{From: "2025-01-01", SingleGrosze: 101000, FamilyGrosze: 82300},
	}
}

// LoadCriteria reads a JSON array of criteria from a file and checks it.
func LoadCriteria(path string) ([]Criterion, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cs []Criterion
	if err := json.Unmarshal(b, &cs); err != nil {
		return nil, fmt.Errorf("income criteria file: %w", err)
	}
	return cs, CheckCriteria(cs)
}

// CheckCriteria validates criteria and sorts them by date.
func CheckCriteria(cs []Criterion) error {
	if len(cs) == 0 {
		return fmt.Errorf("income criteria: at least one entry is needed")
	}
	for i, c := range cs {
		if _, err := time.Parse(time.DateOnly, c.From); err != nil {
			return fmt.Errorf("income criteria[%d].from: must be YYYY-MM-DD", i)
		}
		if c.SingleGrosze <= 0 || c.FamilyGrosze <= 0 {
			return fmt.Errorf("income criteria[%d]: amounts must be positive", i)
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].From < cs[j].From })
	return nil
}

// CriterionOn returns the criterion in force on day (YYYY-MM-DD): the latest whose From is not after it.
func CriterionOn(cs []Criterion, day string) (Criterion, bool) {
	var out Criterion
	found := false
	for _, c := range cs {
		if c.From <= day && (!found || c.From >= out.From) {
			out, found = c, true
		}
	}
	return out, found
}
