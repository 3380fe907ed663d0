package domain

import (
	"fmt"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/apierr"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// Registry is what an import reads of the registry. The store implements it over one snapshot and writes the
// plan only while the registry is still in that state (or plans again).
type Registry interface {
	// Provider returns the provider with the id, or nil.
	Provider(id string) *providerv1.Provider
	// OwnerOf returns the id of the provider registered with an identifier ("nip", "regon" or "krs"), or "".
	OwnerOf(field, value string) string
	// ByName returns the ids of providers whose FoldName(display_name) is name.
	ByName(name string) []string
	// Agreements returns the agreements of a provider.
	Agreements(providerID string) []*providerv1.Agreement
}

// PlannedWrite is one provider an import writes: Old is nil for a create. Index is the row's index in
// CSVFile.Rows (and in the results).
type PlannedWrite struct {
	Index int
	ID    string
	Old   *providerv1.Provider
	New   *providerv1.Provider
}

// identifierColumns are the columns rows are matched by, in matching order.
var identifierColumns = []struct {
	col   Column
	field string
	get   func(*providerv1.Provider) string
}{
	{ColNIP, "nip", (*providerv1.Provider).GetNip},
	{ColKRS, "krs", (*providerv1.Provider).GetKrs},
	{ColREGON, "regon", (*providerv1.Provider).GetRegon},
}

// rowReport collects the violations of one row by column, one per column.
type rowReport struct {
	f    *CSVFile
	list []*providerv1.ImportViolation
	cols map[Column]bool
}

func (r *rowReport) add(c Column, format string, args ...any) {
	if c != "" && r.cols[c] {
		return
	}
	if r.cols == nil {
		r.cols = map[Column]bool{}
	}
	r.cols[c] = true
	name := ""
	if c != "" {
		name = r.f.HeaderOf(c)
	}
	r.list = append(r.list, &providerv1.ImportViolation{Column: name, Description: fmt.Sprintf(format, args...)})
}

func (r *rowReport) addErr(err error) {
	if err == nil {
		return
	}
	e, ok := apierr.As(err)
	if !ok {
		r.add("", "%v", err)
		return
	}
	for _, v := range e.Violations {
		c := fieldColumn(v.Field)
		if c == "" {
			r.add("", "%s: %s", v.Field, v.Description)
		} else {
			r.add(c, "%s", v.Description)
		}
	}
	if len(e.Violations) == 0 {
		r.add("", "%s", e.Message)
	}
}

// PlanImport decides what each row of a file does to the registry and returns the report and the writes.
//
// A row is matched to a registered provider by NIP, then KRS, then REGON; a row without any of them by its name
// (ignoring case and diacritics), when exactly one provider has it. A matched provider takes the row's non-empty
// cells (an empty cell keeps the registered value; telefon becomes the first phone); identifiers it already has
// must agree with the row's, and every identifier the row names must belong to it or to nobody. A row that
// matches no provider creates one (ACTIVE). Rows repeating an identifier or provider of an earlier row are
// rejected, so a file cannot say two things about one provider. Every result passes ValidateProvider and the
// kind-to-agreements rule. newID gives the id of a provider created by row i of f.Rows.
func PlanImport(f *CSVFile, reg Registry, newID func(i int) string) ([]*providerv1.ImportRowResult, []PlannedWrite) {
	var (
		results []*providerv1.ImportRowResult
		writes  []PlannedWrite
		seenID  = map[string]map[string]int{"nip": {}, "krs": {}, "regon": {}}
		seenNm  = map[string]int{}
		touched = map[string]int{}
	)
	for i, row := range f.Rows {
		res := &providerv1.ImportRowResult{Row: int32(row.Row), DisplayName: row.Cells[ColName]}
		results = append(results, res)
		rep := &rowReport{f: f}
		reject := func() {
			res.Action = providerv1.ImportAction_IMPORT_ACTION_REJECTED
			res.Violations = rep.list
		}
		if row.Problem != "" {
			rep.add("", "%s", row.Problem)
			reject()
			continue
		}
		patch, bad := rowPatch(row)
		for _, c := range sortedColumns(bad) {
			rep.add(c, "%s", bad[c])
		}

		// Repeats within the file.
		hasID := false
		for _, id := range identifierColumns {
			val := id.get(patch)
			if val == "" {
				continue
			}
			hasID = true
			if first, ok := seenID[id.field][val]; ok {
				rep.add(id.col, "repeats row %d; a file may name a provider once", first)
			} else {
				seenID[id.field][val] = row.Row
			}
		}
		nameKey := FoldName(patch.GetDisplayName())
		if !hasID && nameKey != "" {
			if first, ok := seenNm[nameKey]; ok {
				rep.add(ColName, "repeats row %d, and neither row has a NIP, KRS or REGON to tell them apart", first)
			} else {
				seenNm[nameKey] = row.Row
			}
		}

		// Matching.
		matched, matchedBy := "", Column("")
		for _, id := range identifierColumns {
			if val := id.get(patch); val != "" {
				if owner := reg.OwnerOf(id.field, val); owner != "" && matched == "" {
					matched, matchedBy = owner, id.col
				}
			}
		}
		if !hasID && nameKey != "" {
			switch ids := reg.ByName(nameKey); len(ids) {
			case 0:
			case 1:
				matched, matchedBy = ids[0], ColName
			default:
				rep.add(ColName, "%d registered providers have this name; add a NIP, KRS or REGON to say which", len(ids))
			}
		}
		for _, id := range identifierColumns {
			if val := id.get(patch); val != "" && matched != "" {
				if owner := reg.OwnerOf(id.field, val); owner != "" && owner != matched {
					rep.add(id.col, "is registered to %s, while %s matches %s", ProviderName(owner), f.HeaderOf(matchedBy), ProviderName(matched))
				}
			}
		}
		if matched != "" {
			if first, ok := touched[matched]; ok {
				rep.add("", "names the same provider (%s) as row %d", ProviderName(matched), first)
			} else {
				touched[matched] = row.Row
			}
		}

		// The provider as it would be stored.
		var cur, next *providerv1.Provider
		if matched != "" {
			cur = reg.Provider(matched)
			next = proto.Clone(cur).(*providerv1.Provider)
			for _, id := range identifierColumns {
				if val, have := id.get(patch), id.get(cur); val != "" && have != "" && val != have {
					rep.add(id.col, "differs from the %s of the registered provider %s; change identifiers through UpdateProvider", id.field, ProviderName(matched))
				}
			}
			mergeRow(next, patch, row)
		} else {
			next = patch
		}
		NormaliseProvider(next)
		var v Violations
		ValidateProvider(next, "", &v)
		rep.addErr(v.Err())
		if cur != nil && cur.GetKind() != next.GetKind() && v.Len() == 0 {
			if err := CheckKindFitsAgreements("kind", next.GetKind(), reg.Agreements(matched)); err != nil {
				rep.addErr(err)
			}
		}
		if len(rep.list) > 0 {
			reject()
			continue
		}
		switch {
		case cur == nil:
			id := newID(i)
			res.Action = providerv1.ImportAction_IMPORT_ACTION_CREATED
			res.ChangedFields = ChangedFields(&providerv1.Provider{}, next)
			if id != "" {
				res.Provider = ProviderName(id)
			}
			writes = append(writes, PlannedWrite{Index: i, ID: id, New: next})
		case proto.Equal(cur, next):
			res.Action = providerv1.ImportAction_IMPORT_ACTION_UNCHANGED
			res.Provider = ProviderName(matched)
		default:
			res.Action = providerv1.ImportAction_IMPORT_ACTION_UPDATED
			res.Provider = ProviderName(matched)
			res.ChangedFields = ChangedFields(cur, next)
			writes = append(writes, PlannedWrite{Index: i, ID: matched, Old: cur, New: next})
		}
	}
	return results, writes
}

// mergeRow sets on p the fields the row's cells give.
func mergeRow(p, patch *providerv1.Provider, row CSVRow) {
	has := func(c Column) bool { _, ok := row.Cells[c]; return ok }
	set := func(c Column, dst *string, v string) {
		if has(c) {
			*dst = v
		}
	}
	set(ColName, &p.DisplayName, patch.GetDisplayName())
	set(ColLegalName, &p.LegalName, patch.GetLegalName())
	set(ColDescription, &p.Description, patch.GetDescription())
	if has(ColKind) && patch.GetKind() != providerv1.ProviderKind_PROVIDER_KIND_UNSPECIFIED {
		p.Kind = patch.GetKind()
	}
	set(ColNIP, &p.Nip, patch.GetNip())
	set(ColREGON, &p.Regon, patch.GetRegon())
	set(ColKRS, &p.Krs, patch.GetKrs())
	if a := patch.GetAddress(); a != nil {
		if p.Address == nil {
			p.Address = &typev1.Address{}
		}
		set(ColAddress, &p.Address.Address_1, a.GetAddress_1())
		set(ColPostalCode, &p.Address.PostalCode, a.GetPostalCode())
		set(ColCity, &p.Address.City, a.GetCity())
		set(ColRegion, &p.Address.Region, a.GetRegion())
	}
	set(ColTERYT, &p.TerytCode, patch.GetTerytCode())
	set(ColEmail, &p.Email, patch.GetEmail())
	set(ColWebsite, &p.Website, patch.GetWebsite())
	if has(ColPhone) && len(patch.GetPhones()) > 0 {
		num := patch.GetPhones()[0].GetNumber()
		switch {
		case len(p.GetPhones()) == 0:
			p.Phones = patch.GetPhones()
		case p.GetPhones()[0].GetNumber() != num:
			first := proto.Clone(p.GetPhones()[0]).(*typev1.Phone)
			first.Number = num
			p.Phones[0] = first
		}
	}
}

func sortedColumns(m map[Column]string) []Column {
	out := make([]Column, 0, len(m))
	for c := range m {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}
