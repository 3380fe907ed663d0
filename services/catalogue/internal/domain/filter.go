package domain

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/collate"
	"golang.org/x/text/language"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/filter"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
)

// The List filter language is a subset of AIP-160: comparisons `field op value` joined by AND. It is small on
// purpose: every field and operator is documented in ListServicesRequest.filter, and anything else is refused
// with a message naming the problem, so integrators never get silently ignored conditions.

// Predicate decides whether a service (as indexed) passes a filter.
type Predicate func(*search.Doc) bool

// serviceFields are the filterable fields of ListServices (documented on ListServicesRequest.filter).
var serviceFields = func() map[string]filter.Field[*search.Doc] {
	m := map[string]filter.Field[*search.Doc]{}
	for _, name := range []string{"area", "target_group", "status", "origin_terc", "teryt_code", "provider",
		"requires_decision", "free_of_charge", "display_name", "create_time", "update_time"} {
		m[name] = func(op, value string) (func(*search.Doc) bool, error) {
			p, err := servicePredicate(name, op, value)
			return p, err
		}
	}
	return m
}()

// ParseServiceFilter compiles a ListServices filter. An empty filter passes everything.
func ParseServiceFilter(f string) (Predicate, error) {
	return filter.Parse(f, serviceFields)
}

func servicePredicate(field, op, val string) (Predicate, error) {
	onlyEq := func() error {
		if op != "=" {
			return fmt.Errorf("field %s supports only =", field)
		}
		return nil
	}
	eqNe := func() (bool, error) {
		if op != "=" && op != "!=" {
			return false, fmt.Errorf("field %s supports = and !=", field)
		}
		return op == "=", nil
	}
	switch field {
	case "area":
		if err := onlyEq(); err != nil {
			return nil, err
		}
		a, ok := cataloguev1.Area_value[val]
		if !ok || !ValidArea(cataloguev1.Area(a)) {
			return nil, fmt.Errorf("unknown area %q; use a value such as AREA_CULTURE", val)
		}
		bit := uint32(1) << a
		return func(d *search.Doc) bool { return d.Areas&bit != 0 }, nil
	case "target_group":
		if err := onlyEq(); err != nil {
			return nil, err
		}
		g, ok := cataloguev1.TargetGroup_value[val]
		if !ok || !ValidTargetGroup(cataloguev1.TargetGroup(g)) {
			return nil, fmt.Errorf("unknown target group %q; use a value such as TARGET_GROUP_SENIORS", val)
		}
		bit := uint32(1) << g
		return func(d *search.Doc) bool { return d.TargetGroups&bit != 0 }, nil
	case "status":
		eq, err := eqNe()
		if err != nil {
			return nil, err
		}
		st, ok := cataloguev1.ServiceStatus_value[val]
		if !ok || st == 0 {
			return nil, fmt.Errorf("unknown status %q; use a value such as SERVICE_STATUS_ACTIVE", val)
		}
		return func(d *search.Doc) bool { return (d.Status == st) == eq }, nil
	case "origin_terc":
		eq, err := eqNe()
		if err != nil {
			return nil, err
		}
		return func(d *search.Doc) bool { return (d.Origin == val) == eq }, nil
	case "teryt_code":
		if err := onlyEq(); err != nil {
			return nil, err
		}
		return func(d *search.Doc) bool { return contains(d.Tercs, val) }, nil
	case "provider":
		if err := onlyEq(); err != nil {
			return nil, err
		}
		if id, ok := strings.CutPrefix(val, ProviderPrefix); !ok || !IsUUID(id) {
			return nil, fmt.Errorf("provider must be providers/{uuid}")
		}
		return func(d *search.Doc) bool { return contains(d.Providers, val) }, nil
	case "requires_decision", "free_of_charge":
		if err := onlyEq(); err != nil {
			return nil, err
		}
		b, err := strconv.ParseBool(val)
		if err != nil {
			return nil, fmt.Errorf("field %s takes true or false", field)
		}
		if field == "requires_decision" {
			return func(d *search.Doc) bool { return d.RequiresDecision == b }, nil
		}
		return func(d *search.Doc) bool { return d.Free == b }, nil
	case "display_name":
		if err := onlyEq(); err != nil {
			return nil, err
		}
		want := strings.ToLower(val)
		if prefix, ok := strings.CutSuffix(want, "*"); ok {
			return func(d *search.Doc) bool { return strings.HasPrefix(strings.ToLower(d.Name), prefix) }, nil
		}
		return func(d *search.Doc) bool { return strings.ToLower(d.Name) == want }, nil
	case "create_time", "update_time":
		t, err := time.Parse(time.RFC3339Nano, val)
		if err != nil {
			return nil, fmt.Errorf("field %s takes an RFC 3339 time in double quotes, e.g. \"2026-01-01T00:00:00Z\"", field)
		}
		get := func(d *search.Doc) time.Time { return d.CreateTime }
		if field == "update_time" {
			get = func(d *search.Doc) time.Time { return d.UpdateTime }
		}
		switch op {
		case "<":
			return func(d *search.Doc) bool { return get(d).Before(t) }, nil
		case "<=":
			return func(d *search.Doc) bool { return !get(d).After(t) }, nil
		case ">":
			return func(d *search.Doc) bool { return get(d).After(t) }, nil
		case ">=":
			return func(d *search.Doc) bool { return !get(d).Before(t) }, nil
		}
		return nil, fmt.Errorf("field %s supports <, <=, > and >=", field)
	}
	return nil, fmt.Errorf("unknown field %q; filterable fields are area, target_group, status, origin_terc, teryt_code, provider, requires_decision, free_of_charge, display_name, create_time, update_time", field)
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Order is the sort keys of a List of indexed services; the ID breaks remaining ties.
type Order = []search.OrderKey

// ParseServiceOrder compiles an order_by of ListServices. display_name sorts with Polish collation
// (ą after a, ł after l, ż after ź...), the way residents expect a list of names.
func ParseServiceOrder(orderBy string) (Order, error) {
	keys, err := filter.SplitOrder(orderBy, "display_name")
	if err != nil {
		return nil, err
	}
	order := make(Order, 0, len(keys))
	for _, k := range keys {
		var f search.OrderField
		switch k.Field {
		case "display_name":
			f = search.OrderByName
		case "create_time":
			f = search.OrderByCreateTime
		case "update_time":
			f = search.OrderByUpdateTime
		default:
			return nil, apierr.Invalid("order_by", fmt.Sprintf("cannot order by %q; use display_name, create_time or update_time", k.Field))
		}
		order = append(order, search.OrderKey{Field: f, Desc: k.Desc})
	}
	return order, nil
}

// SortKeys is used by tests to show the Polish order.
func SortKeys(names []string) []string {
	col := collate.New(language.Polish, collate.IgnoreCase)
	out := append([]string(nil), names...)
	sort.SliceStable(out, func(i, j int) bool { return col.CompareString(out[i], out[j]) < 0 })
	return out
}
