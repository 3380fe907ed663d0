package hsds

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/google/uuid"
)

// The two classifications of the catalogue, published as HSDS taxonomies. Their ids are derived from their
// names so that they are the same on every CUS instance: a regional aggregator can then merge the HSDS feeds
// of several gminas by taxonomy id. The names are therefore part of the public contract; do not rename.
const (
	// AreaTaxonomyName is the taxonomy of the 14 areas of social services of art. 2 ust. 1 of the act.
	AreaTaxonomyName = "CUS art. 2 ust. 1"
	// TargetGroupTaxonomyName is the taxonomy of target groups (grupy docelowe).
	TargetGroupTaxonomyName = "CUS target groups"
)

// Link types of attributes. HSDS leaves link_type an open codelist ("e.g. the service eligibility or
// intended audience"): areas say what kind of service it is, target groups whom it is meant for.
const (
	linkTypeArea        = "category"
	linkTypeTargetGroup = "audience"
)

var (
	areaTaxonomy = TaxonomyDetail{
		ID:   deriveID("taxonomy", AreaTaxonomyName),
		Name: AreaTaxonomyName,
		Description: "Obszary usług społecznych z art. 2 ust. 1 ustawy z dnia 19 lipca 2019 r. o realizowaniu " +
			"usług społecznych przez centrum usług społecznych (Dz.U. 2019 poz. 1818).",
		URI: "https://isap.sejm.gov.pl/isap.nsf/DocDetails.xsp?id=WDU20190001818",
	}
	targetGroupTaxonomy = TaxonomyDetail{
		ID:   deriveID("taxonomy", TargetGroupTaxonomyName),
		Name: TargetGroupTaxonomyName,
		Description: "Grupy docelowe usług społecznych, do których kierowane są usługi w programach usług " +
			"społecznych (PUS) centrów usług społecznych.",
	}
)

// termRef says which catalogue value a taxonomy term stands for: exactly one of area and group is set.
type termRef struct {
	area  cataloguev1.Area
	group cataloguev1.TargetGroup
}

// Taxonomy is the catalogue's classification (areas and target groups) as HSDS taxonomy terms, with lookups
// both ways. It is immutable once built, so one value is safely shared by concurrent requests.
type Taxonomy struct {
	terms  []TaxonomyTerm // publication order: areas in the order of the act, then target groups
	byID   map[string]int // term id -> index in terms
	refs   []termRef      // parallel to terms
	areas  map[cataloguev1.Area]int
	groups map[cataloguev1.TargetGroup]int
}

// NewTaxonomy builds the taxonomy from the catalogue's ListAreas and ListTargetGroups answers. The term ids
// come from the catalogue (AreaInfo.term_id, TargetGroupInfo.term_id), which keeps them stable; a missing or
// malformed one is an error, because HSDS requires UUIDs and an invented id would change between releases.
func NewTaxonomy(areas []*cataloguev1.AreaInfo, groups []*cataloguev1.TargetGroupInfo) (*Taxonomy, error) {
	t := &Taxonomy{
		byID:   make(map[string]int, len(areas)+len(groups)),
		areas:  make(map[cataloguev1.Area]int, len(areas)),
		groups: make(map[cataloguev1.TargetGroup]int, len(groups)),
	}
	add := func(rawID string, term TaxonomyTerm, ref termRef) error {
		id, ok := canonicalUUID(rawID)
		if !ok {
			return fmt.Errorf("taxonomy term %s: term id %q is not a UUID", term.Code, rawID)
		}
		if _, dup := t.byID[id]; dup {
			return fmt.Errorf("taxonomy term %s: duplicate term id %s", term.Code, id)
		}
		term.ID = id
		t.byID[id] = len(t.terms)
		t.terms = append(t.terms, term)
		t.refs = append(t.refs, ref)
		return nil
	}
	for _, a := range areas {
		if a.GetArea() == cataloguev1.Area_AREA_UNSPECIFIED {
			continue
		}
		if _, dup := t.areas[a.GetArea()]; dup {
			return nil, fmt.Errorf("area %s listed twice", a.GetArea())
		}
		desc := "art. 2 ust. 1"
		if a.GetPoint() > 0 {
			desc += " pkt " + strconv.Itoa(int(a.GetPoint()))
		}
		desc += " ustawy o realizowaniu usług społecznych przez centrum usług społecznych: " + a.GetNamePl()
		if a.GetNameEn() != "" {
			desc += " (" + a.GetNameEn() + ")"
		}
		term := TaxonomyTerm{
			Code:        a.GetArea().String(), // the value REST clients filter by (area = AREA_CULTURE)
			Name:        a.GetNamePl(),
			Description: desc,
			Taxonomy:    areaTaxonomy.Name,
			Language:    "pl",
			TaxonomyID:  areaTaxonomy.ID,
		}
		if err := add(a.GetTermId(), term, termRef{area: a.GetArea()}); err != nil {
			return nil, err
		}
		t.areas[a.GetArea()] = len(t.terms) - 1
	}
	for _, g := range groups {
		if g.GetTargetGroup() == cataloguev1.TargetGroup_TARGET_GROUP_UNSPECIFIED {
			continue
		}
		if _, dup := t.groups[g.GetTargetGroup()]; dup {
			return nil, fmt.Errorf("target group %s listed twice", g.GetTargetGroup())
		}
		desc := "Grupa docelowa usług społecznych: " + g.GetNamePl()
		if g.GetNameEn() != "" {
			desc += " (" + g.GetNameEn() + ")"
		}
		term := TaxonomyTerm{
			Code:        g.GetTargetGroup().String(),
			Name:        g.GetNamePl(),
			Description: desc,
			Taxonomy:    targetGroupTaxonomy.Name,
			Language:    "pl",
			TaxonomyID:  targetGroupTaxonomy.ID,
		}
		if err := add(g.GetTermId(), term, termRef{group: g.GetTargetGroup()}); err != nil {
			return nil, err
		}
		t.groups[g.GetTargetGroup()] = len(t.terms) - 1
	}
	return t, nil
}

// LoadTaxonomy reads the areas and target groups from the catalogue and builds the taxonomy.
func LoadTaxonomy(ctx context.Context, client cataloguev1.CatalogueServiceClient) (*Taxonomy, error) {
	areas, err := client.ListAreas(ctx, &cataloguev1.ListAreasRequest{})
	if err != nil {
		return nil, err
	}
	groups, err := client.ListTargetGroups(ctx, &cataloguev1.ListTargetGroupsRequest{})
	if err != nil {
		return nil, err
	}
	return NewTaxonomy(areas.GetAreas(), groups.GetTargetGroups())
}

// Taxonomies returns the HSDS taxonomies, areas first.
func (t *Taxonomy) Taxonomies() []TaxonomyDetail {
	return []TaxonomyDetail{areaTaxonomy, targetGroupTaxonomy}
}

// Taxonomy returns the HSDS taxonomy with the given canonical id.
func (t *Taxonomy) Taxonomy(id string) (TaxonomyDetail, bool) {
	for _, d := range t.Taxonomies() {
		if d.ID == id {
			return d, true
		}
	}
	return TaxonomyDetail{}, false
}

// Terms returns every term, areas first in the order of the act, each with its taxonomy_detail.
func (t *Taxonomy) Terms() []TaxonomyTerm {
	out := make([]TaxonomyTerm, len(t.terms))
	for i := range t.terms {
		out[i] = t.withDetail(i)
	}
	return out
}

// Term returns the term with the given canonical id, with its taxonomy_detail.
func (t *Taxonomy) Term(id string) (TaxonomyTerm, bool) {
	i, ok := t.byID[id]
	if !ok {
		return TaxonomyTerm{}, false
	}
	return t.withDetail(i), true
}

func (t *Taxonomy) withDetail(i int) TaxonomyTerm {
	term := t.terms[i]
	d, _ := t.Taxonomy(term.TaxonomyID)
	term.TaxonomyDetail = &d
	return term
}

// lookup returns what the term with the given canonical id stands for.
func (t *Taxonomy) lookup(id string) (termRef, bool) {
	i, ok := t.byID[id]
	if !ok {
		return termRef{}, false
	}
	return t.refs[i], true
}

// areaTerm returns the term of an area, without taxonomy_detail (attributes stay compact).
func (t *Taxonomy) areaTerm(a cataloguev1.Area) (TaxonomyTerm, bool) {
	if t == nil {
		return TaxonomyTerm{}, false
	}
	i, ok := t.areas[a]
	if !ok {
		return TaxonomyTerm{}, false
	}
	return t.terms[i], true
}

// groupTerm returns the term of a target group, without taxonomy_detail.
func (t *Taxonomy) groupTerm(g cataloguev1.TargetGroup) (TaxonomyTerm, bool) {
	if t == nil {
		return TaxonomyTerm{}, false
	}
	i, ok := t.groups[g]
	if !ok {
		return TaxonomyTerm{}, false
	}
	return t.terms[i], true
}

// idNamespace is the UUID v5 namespace of every id this package derives. Changing it changes every derived
// id that consumers may have stored, so it is fixed forever.
var idNamespace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("urn:cus-suite:hsds"))

// deriveID returns a deterministic UUID (v5) for an object the catalogue gives no id of, from the path of
// names that leads to it (parent id, kind, index or key). Repeated reads therefore give the same ids.
func deriveID(parts ...string) string {
	return uuid.NewSHA1(idNamespace, []byte(strings.Join(parts, "/"))).String()
}

// canonicalUUID parses s as a UUID in its 36-character form and returns it in lower case. The other forms
// uuid.Parse accepts (braces, urn:uuid:, bare hex) are refused: HSDS ids are plain UUIDs.
func canonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return "", false
	}
	return u.String(), true
}
