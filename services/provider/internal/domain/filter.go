package domain

import (
	"cmp"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/cus-suite/cus/platform/filter"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// FieldFilter compiles one comparison on a field into a predicate (platform/filter).
type FieldFilter[T any] = filter.Field[T]

// ParseFilter compiles a List filter over the given fields (platform/filter).
func ParseFilter[T any](f string, fields map[string]FieldFilter[T]) (func(T) bool, error) {
	return filter.Parse(f, fields)
}

// Comparator orders two records of a list.
type Comparator[T any] func(a, b T) int

// ParseOrder compiles an order_by over the given fields; ties are broken by tiebreak (the id), so pages are
// stable.
func ParseOrder[T any](orderBy, def string, fields map[string]Comparator[T], tiebreak Comparator[T]) (Comparator[T], error) {
	type key struct {
		cmp  Comparator[T]
		desc bool
	}
	split, err := filter.SplitOrder(orderBy, def)
	if err != nil {
		return nil, err
	}
	keys := make([]key, 0, len(split))
	for _, k := range split {
		c, ok := fields[k.Field]
		if !ok {
			names := make([]string, 0, len(fields))
			for n := range fields {
				names = append(names, n)
			}
			sort.Strings(names)
			return nil, Invalid("order_by", ReasonInvalidValue, "cannot order by %q; use %s", k.Field, strings.Join(names, ", "))
		}
		keys = append(keys, key{c, k.Desc})
	}
	return func(a, b T) int {
		for _, k := range keys {
			c := k.cmp(a, b)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return tiebreak(a, b)
	}, nil
}

// --- field filter builders ---

func eqNe(op string) (bool, error) {
	if op != "=" && op != "!=" {
		return false, fmt.Errorf("supports = and !=")
	}
	return op == "=", nil
}

// EnumField filters on an enum by its value names; the zero value is refused.
func EnumField[T any](values map[string]int32, example string, get func(T) int32) FieldFilter[T] {
	return func(op, val string) (func(T) bool, error) {
		eq, err := eqNe(op)
		if err != nil {
			return nil, err
		}
		n, ok := values[val]
		if !ok || n == 0 {
			return nil, fmt.Errorf("unknown value %q; use a value such as %s", val, example)
		}
		return func(t T) bool { return (get(t) == n) == eq }, nil
	}
}

// ExactField filters on a string compared exactly after normalise (which may be nil).
func ExactField[T any](normalise func(string) string, get func(T) string) FieldFilter[T] {
	return func(op, val string) (func(T) bool, error) {
		if op != "=" {
			return nil, fmt.Errorf("supports only =")
		}
		if normalise != nil {
			val = normalise(val)
		}
		return func(t T) bool { return get(t) == val }, nil
	}
}

// NameField filters on a display name, case-insensitively, with a trailing * as a prefix wildcard.
func NameField[T any](get func(T) string) FieldFilter[T] {
	return func(op, val string) (func(T) bool, error) {
		if op != "=" {
			return nil, fmt.Errorf("supports only =")
		}
		want := strings.ToLower(val)
		if prefix, ok := strings.CutSuffix(want, "*"); ok {
			return func(t T) bool { return strings.HasPrefix(strings.ToLower(get(t)), prefix) }, nil
		}
		return func(t T) bool { return strings.ToLower(get(t)) == want }, nil
	}
}

// TimeField filters on an instant with <, <=, >, >= and an RFC 3339 value.
func TimeField[T any](get func(T) time.Time) FieldFilter[T] {
	return func(op, val string) (func(T) bool, error) {
		t, err := time.Parse(time.RFC3339Nano, val)
		if err != nil {
			return nil, fmt.Errorf("takes an RFC 3339 time in double quotes, e.g. \"2026-01-01T00:00:00Z\"")
		}
		c, err := compareOp(op, false)
		if err != nil {
			return nil, err
		}
		return func(x T) bool { return c(get(x).Compare(t)) }, nil
	}
}

// DateField filters on a YYYY-MM-DD day with <, <=, >, >=, =; empty (open-ended) compares as openAs.
func DateField[T any](get func(T) string, openAs string) FieldFilter[T] {
	return func(op, val string) (func(T) bool, error) {
		if _, err := time.Parse(time.DateOnly, val); err != nil {
			return nil, fmt.Errorf("takes a date YYYY-MM-DD")
		}
		c, err := compareOp(op, true)
		if err != nil {
			return nil, err
		}
		return func(x T) bool {
			d := get(x)
			if d == "" {
				d = openAs
			}
			return c(strings.Compare(d, val))
		}, nil
	}
}

func compareOp(op string, allowEq bool) (func(int) bool, error) {
	switch op {
	case "<":
		return func(c int) bool { return c < 0 }, nil
	case "<=":
		return func(c int) bool { return c <= 0 }, nil
	case ">":
		return func(c int) bool { return c > 0 }, nil
	case ">=":
		return func(c int) bool { return c >= 0 }, nil
	case "=":
		if allowEq {
			return func(c int) bool { return c == 0 }, nil
		}
	}
	if allowEq {
		return nil, fmt.Errorf("supports =, <, <=, > and >=")
	}
	return nil, fmt.Errorf("supports <, <=, > and >=")
}

// --- providers ---

// A collator is not safe for concurrent use, and building one is costly: keep a pool.
var collators = sync.Pool{New: func() any { return collate.New(language.Polish, collate.IgnoreCase) }}

// SortKey is the Polish collation key of a name: byte order of keys is the order a Polish reader expects
// (ą after a, ł after l, ż after ź).
func SortKey(name string) []byte {
	c := collators.Get().(*collate.Collator)
	defer collators.Put(c)
	var buf collate.Buffer
	return append([]byte(nil), c.KeyFromString(&buf, name)...)
}

// ProviderDoc is a provider as List sees it, with its collation key computed once.
type ProviderDoc struct {
	P   *providerv1.Provider
	Key []byte
}

// NewProviderDoc wraps a provider for listing.
func NewProviderDoc(p *providerv1.Provider) ProviderDoc {
	return ProviderDoc{P: p, Key: SortKey(p.GetDisplayName())}
}

var providerFilterFields = map[string]FieldFilter[ProviderDoc]{
	"kind": EnumField(providerv1.ProviderKind_value, "PROVIDER_KIND_GMINA_UNIT",
		func(d ProviderDoc) int32 { return int32(d.P.GetKind()) }),
	"status": EnumField(providerv1.ProviderStatus_value, "PROVIDER_STATUS_ACTIVE",
		func(d ProviderDoc) int32 { return int32(d.P.GetStatus()) }),
	"teryt_code":   ExactField(nil, func(d ProviderDoc) string { return d.P.GetTerytCode() }),
	"nip":          ExactField(nipNormalise, func(d ProviderDoc) string { return d.P.GetNip() }),
	"regon":        ExactField(NormalizeREGON, func(d ProviderDoc) string { return d.P.GetRegon() }),
	"krs":          ExactField(NormalizeKRS, func(d ProviderDoc) string { return d.P.GetKrs() }),
	"display_name": NameField(func(d ProviderDoc) string { return d.P.GetDisplayName() }),
	"create_time":  TimeField(func(d ProviderDoc) time.Time { return d.P.GetCreateTime().AsTime() }),
	"update_time":  TimeField(func(d ProviderDoc) time.Time { return d.P.GetUpdateTime().AsTime() }),
}

var providerOrderFields = map[string]Comparator[ProviderDoc]{
	"display_name": func(a, b ProviderDoc) int { return compareBytes(a.Key, b.Key) },
	"create_time":  func(a, b ProviderDoc) int { return a.P.GetCreateTime().AsTime().Compare(b.P.GetCreateTime().AsTime()) },
	"update_time":  func(a, b ProviderDoc) int { return a.P.GetUpdateTime().AsTime().Compare(b.P.GetUpdateTime().AsTime()) },
}

func compareBytes(a, b []byte) int { return strings.Compare(string(a), string(b)) }

// ParseProviderFilter compiles a ListProviders filter.
func ParseProviderFilter(filter string) (func(ProviderDoc) bool, error) {
	return ParseFilter(filter, providerFilterFields)
}

// ParseProviderOrder compiles a ListProviders order_by.
func ParseProviderOrder(orderBy string) (Comparator[ProviderDoc], error) {
	return ParseOrder(orderBy, "display_name", providerOrderFields, func(a, b ProviderDoc) int {
		return cmp.Compare(a.P.GetName(), b.P.GetName())
	})
}

// --- agreements ---

var agreementFilterFields = map[string]FieldFilter[*providerv1.Agreement]{
	"service": func(op, val string) (func(*providerv1.Agreement) bool, error) {
		if op != "=" {
			return nil, fmt.Errorf("supports only =")
		}
		name, err := ParseServiceName("filter", val)
		if err != nil {
			return nil, fmt.Errorf("must be services/{uuid}")
		}
		return func(a *providerv1.Agreement) bool { return a.GetService() == name }, nil
	},
	"status": EnumField(providerv1.AgreementStatus_value, "AGREEMENT_STATUS_ACTIVE",
		func(a *providerv1.Agreement) int32 { return int32(a.GetStatus()) }),
	"legal_basis": EnumField(providerv1.LegalBasis_value, "LEGAL_BASIS_PUBLIC_BENEFIT_OPEN_CALL",
		func(a *providerv1.Agreement) int32 { return int32(a.GetLegalBasis()) }),
	"funding_source": EnumField(providerv1.FundingSource_value, "FUNDING_SOURCE_EU_PROJECT",
		func(a *providerv1.Agreement) int32 { return int32(a.GetFunding().GetSource()) }),
	"start_date": DateField(func(a *providerv1.Agreement) string { return a.GetStartDate() }, ""),
	"end_date":   DateField(func(a *providerv1.Agreement) string { return a.GetEndDate() }, "9999-12-31"),
	"active_on": func(op, val string) (func(*providerv1.Agreement) bool, error) {
		if op != "=" {
			return nil, fmt.Errorf("supports only =")
		}
		if _, err := time.Parse(time.DateOnly, val); err != nil {
			return nil, fmt.Errorf("takes a date YYYY-MM-DD")
		}
		return func(a *providerv1.Agreement) bool {
			return a.GetStartDate() <= val && (a.GetEndDate() == "" || val <= a.GetEndDate())
		}, nil
	},
}

var agreementOrderFields = map[string]Comparator[*providerv1.Agreement]{
	"start_date": func(a, b *providerv1.Agreement) int { return strings.Compare(a.GetStartDate(), b.GetStartDate()) },
	"end_date": func(a, b *providerv1.Agreement) int {
		return strings.Compare(openEnd(a.GetEndDate()), openEnd(b.GetEndDate()))
	},
	"create_time": func(a, b *providerv1.Agreement) int {
		return a.GetCreateTime().AsTime().Compare(b.GetCreateTime().AsTime())
	},
	"update_time": func(a, b *providerv1.Agreement) int {
		return a.GetUpdateTime().AsTime().Compare(b.GetUpdateTime().AsTime())
	},
}

func openEnd(d string) string {
	if d == "" {
		return "9999-12-31"
	}
	return d
}

// ParseAgreementFilter compiles a ListAgreements filter.
func ParseAgreementFilter(filter string) (func(*providerv1.Agreement) bool, error) {
	return ParseFilter(filter, agreementFilterFields)
}

// ParseAgreementOrder compiles a ListAgreements order_by.
func ParseAgreementOrder(orderBy string) (Comparator[*providerv1.Agreement], error) {
	return ParseOrder(orderBy, "start_date", agreementOrderFields, func(a, b *providerv1.Agreement) int {
		return cmp.Compare(a.GetName(), b.GetName())
	})
}

// SortAvailability orders availability lines by service, then most units available first, then name.
func SortAvailability(list []*providerv1.Availability) {
	slices.SortFunc(list, func(a, b *providerv1.Availability) int {
		if c := cmp.Compare(a.GetService(), b.GetService()); c != 0 {
			return c
		}
		if c := cmp.Compare(b.GetAvailable(), a.GetAvailable()); c != 0 {
			return c
		}
		return cmp.Compare(a.GetName(), b.GetName())
	})
}
