// Package domain holds the catalogue's rules: the taxonomy of art. 2 ust. 1, validation of services and
// programmes, update masks, fee computation, and the List filter language. It works on the API's messages
// (the contract in proto/) but knows nothing of gRPC, HTTP or bbolt.
package domain

import (
	"github.com/google/uuid"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// taxonomyNamespace seeds the stable UUIDs of taxonomy terms (UUID v5), so HSDS consumers see the same term
// ids on every instance and every start.
var taxonomyNamespace = uuid.MustParse("6f1d3c1e-2b4a-5c7d-8e9f-0a1b2c3d4e5f")

type areaName struct{ pl, en string }

// The 14 areas of art. 2 ust. 1 of the act of 19 July 2019, in the act's order.
var areaNames = map[cataloguev1.Area]areaName{
	cataloguev1.Area_AREA_FAMILY_POLICY:      {"polityka prorodzinna", "family policy"},
	cataloguev1.Area_AREA_FAMILY_SUPPORT:     {"wspieranie rodziny", "family support"},
	cataloguev1.Area_AREA_FOSTER_CARE:        {"system pieczy zastępczej", "foster care"},
	cataloguev1.Area_AREA_SOCIAL_ASSISTANCE:  {"pomoc społeczna", "social assistance"},
	cataloguev1.Area_AREA_HEALTH_PROMOTION:   {"promocja i ochrona zdrowia", "health promotion and protection"},
	cataloguev1.Area_AREA_DISABILITY_SUPPORT: {"wspieranie osób niepełnosprawnych", "support for persons with disabilities"},
	cataloguev1.Area_AREA_PUBLIC_EDUCATION:   {"edukacja publiczna", "public education"},
	cataloguev1.Area_AREA_UNEMPLOYMENT:       {"przeciwdziałanie bezrobociu", "counteracting unemployment"},
	cataloguev1.Area_AREA_CULTURE:            {"kultura", "culture"},
	cataloguev1.Area_AREA_SPORT_AND_TOURISM:  {"kultura fizyczna i turystyka", "physical culture and tourism"},
	cataloguev1.Area_AREA_CIVIC_ACTIVITY:     {"pobudzanie aktywności obywatelskiej", "civic activity"},
	cataloguev1.Area_AREA_HOUSING:            {"mieszkalnictwo", "housing"},
	cataloguev1.Area_AREA_ENVIRONMENT:        {"ochrona środowiska", "environmental protection"},
	cataloguev1.Area_AREA_REINTEGRATION:      {"reintegracja zawodowa i społeczna", "vocational and social reintegration"},
}

var targetGroupNames = map[cataloguev1.TargetGroup]areaName{
	cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_UNDER_3:          {"dzieci do lat 3", "children under 3"},
	cataloguev1.TargetGroup_TARGET_GROUP_CHILDREN_AND_YOUTH:        {"dzieci i młodzież", "children and youth"},
	cataloguev1.TargetGroup_TARGET_GROUP_FAMILIES:                  {"rodziny", "families"},
	cataloguev1.TargetGroup_TARGET_GROUP_SENIORS:                   {"seniorzy", "seniors"},
	cataloguev1.TargetGroup_TARGET_GROUP_PERSONS_WITH_DISABILITIES: {"osoby z niepełnosprawnościami", "persons with disabilities"},
	cataloguev1.TargetGroup_TARGET_GROUP_CARERS:                    {"opiekunowie", "carers"},
	cataloguev1.TargetGroup_TARGET_GROUP_UNEMPLOYED:                {"osoby bezrobotne", "unemployed persons"},
	cataloguev1.TargetGroup_TARGET_GROUP_ALL_RESIDENTS:             {"wszyscy mieszkańcy", "all residents"},
}

// NumAreas and NumTargetGroups bound the enums' valid values (1..N).
const (
	NumAreas        = 14
	NumTargetGroups = 8
)

// ValidArea reports whether a is one of the 14 areas.
func ValidArea(a cataloguev1.Area) bool { return a >= 1 && a <= NumAreas }

// ValidTargetGroup reports whether g is a defined target group.
func ValidTargetGroup(g cataloguev1.TargetGroup) bool { return g >= 1 && g <= NumTargetGroups }

// AreaTermID is the stable UUID of an area's taxonomy term.
func AreaTermID(a cataloguev1.Area) string {
	return uuid.NewSHA1(taxonomyNamespace, []byte("area/"+a.String())).String()
}

// TargetGroupTermID is the stable UUID of a target group's taxonomy term.
func TargetGroupTermID(g cataloguev1.TargetGroup) string {
	return uuid.NewSHA1(taxonomyNamespace, []byte("target_group/"+g.String())).String()
}

// AreaNamePL is the Polish name of an area as in the act, or "".
func AreaNamePL(a cataloguev1.Area) string { return areaNames[a].pl }

// TargetGroupNamePL is the Polish name of a target group, or "".
func TargetGroupNamePL(g cataloguev1.TargetGroup) string { return targetGroupNames[g].pl }

// Areas lists the 14 areas in the act's order.
func Areas() []*cataloguev1.AreaInfo {
	out := make([]*cataloguev1.AreaInfo, 0, NumAreas)
	for a := cataloguev1.Area(1); a <= NumAreas; a++ {
		n := areaNames[a]
		out = append(out, &cataloguev1.AreaInfo{Area: a, TermId: AreaTermID(a), Point: int32(a), NamePl: n.pl, NameEn: n.en})
	}
	return out
}

// TargetGroups lists the target groups.
func TargetGroups() []*cataloguev1.TargetGroupInfo {
	out := make([]*cataloguev1.TargetGroupInfo, 0, NumTargetGroups)
	for g := cataloguev1.TargetGroup(1); g <= NumTargetGroups; g++ {
		n := targetGroupNames[g]
		out = append(out, &cataloguev1.TargetGroupInfo{TargetGroup: g, TermId: TargetGroupTermID(g), NamePl: n.pl, NameEn: n.en})
	}
	return out
}
