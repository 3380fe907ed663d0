package domain

import (
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/cus-suite/cus/platform/apierr"
	"github.com/cus-suite/cus/platform/plid"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/search"
)

// SearchQuery validates a search request and turns it into an index query (without paging).
func SearchQuery(req *cataloguev1.SearchServicesRequest) (search.Query, error) {
	var v apierr.Violations
	q := search.Query{Text: req.GetQuery(), FreeOnly: req.GetFreeOfCharge(), IncludeInactive: req.GetIncludeInactive()}
	if !utf8.ValidString(q.Text) {
		v.Add("query", "must be valid UTF-8")
	} else if utf8.RuneCountInString(q.Text) > MaxQueryLen {
		v.Add("query", "must be at most %d characters", MaxQueryLen)
	}
	if len(req.GetAreas()) > NumAreas {
		v.Add("areas", "at most %d areas", NumAreas)
	}
	for i, a := range req.GetAreas() {
		if !ValidArea(a) {
			v.Add(fmt.Sprintf("areas[%d]", i), "unknown area %d; see ListAreas", a)
			continue
		}
		q.Areas |= 1 << uint32(a)
	}
	if len(req.GetTargetGroups()) > NumTargetGroups {
		v.Add("target_groups", "at most %d target groups", NumTargetGroups)
	}
	for i, g := range req.GetTargetGroups() {
		if !ValidTargetGroup(g) {
			v.Add(fmt.Sprintf("target_groups[%d]", i), "unknown target group %d; see ListTargetGroups", g)
			continue
		}
		q.TargetGroups |= 1 << uint32(g)
	}
	if req.Age != nil {
		if a := req.GetAge(); a < 0 || a > 150 {
			v.Add("age", "must be between 0 and 150")
		} else {
			q.Age = &a
		}
	}
	if len(req.GetTercCodes()) > MaxListItems {
		v.Add("terc_codes", "at most %d codes", MaxListItems)
	}
	for i, c := range req.GetTercCodes() {
		if err := plid.ValidateTERC(c); err != nil {
			v.Add(fmt.Sprintf("terc_codes[%d]", i), "must be a TERYT TERC code of a gmina: %v", err)
		}
	}
	q.Tercs = req.GetTercCodes()
	if t := req.GetOpenAt(); t != nil {
		if err := t.CheckValid(); err != nil {
			v.Add("open_at", "must be a valid time")
		} else {
			at := t.AsTime()
			q.OpenAt = &at
		}
	}
	if n := req.GetNear(); n != nil {
		c := n.GetCenter()
		switch {
		case c == nil:
			v.Add("near.center", "is required")
		case math.IsNaN(c.GetLatitude()) || c.GetLatitude() < -90 || c.GetLatitude() > 90:
			v.Add("near.center.latitude", "must be between -90 and 90")
		case math.IsNaN(c.GetLongitude()) || c.GetLongitude() < -180 || c.GetLongitude() > 180:
			v.Add("near.center.longitude", "must be between -180 and 180")
		}
		if r := n.GetRadiusMeters(); r < 1 || r > 500000 {
			v.Add("near.radius_meters", "must be between 1 and 500000")
		}
		q.Near = &search.Geo{Center: search.LatLng{Lat: c.GetLatitude(), Lng: c.GetLongitude()}, RadiusMeters: float64(n.GetRadiusMeters())}
	}
	return q, v.Err()
}
