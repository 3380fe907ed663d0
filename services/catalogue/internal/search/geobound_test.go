package search

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGeoBoundsHoldHaversine checks bound against haversine for points all over the box of radii from a
// few hundred metres to beyond the bounded range, at latitudes from the equator to the far north, and that
// geoCheck decides every point as the distance does (points on and near the circle included).
func TestGeoBoundsHoldHaversine(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	bounded := 0
	for range 3000 {
		c := LatLng{Lat: -70 + 140*r.Float64(), Lng: -170 + 340*r.Float64()}
		radius := math.Exp(math.Log(300) + r.Float64()*math.Log(2000)) // 300 m to 600 km
		q := Query{Near: &Geo{Center: c, RadiusMeters: radius}}
		f := (&Index{}).compileFilter(&q)
		if f.bounds {
			bounded++
		}
		for range 40 {
			var p LatLng
			if r.IntN(2) == 0 {
				// Anywhere in the box.
				p = LatLng{Lat: f.minLat + (f.maxLat-f.minLat)*r.Float64(), Lng: f.minLng + (f.maxLng-f.minLng)*r.Float64()}
			} else {
				// On the circle, give or take a millimetre or a metre.
				a := 2 * math.Pi * r.Float64()
				d := radius + []float64{0, 1e-3, -1e-3, 1, -1}[r.IntN(5)]
				p = LatLng{Lat: c.Lat + d/metersPerDegree*math.Cos(a), Lng: c.Lng + d/metersPerDegree*math.Sin(a)/f.cosCenter}
			}
			exact, ok := f.nearest([]LatLng{p})
			if f.bounds && ok {
				lb, ub := f.bound(p)
				if lb > exact || ub < exact {
					t.Fatalf("centre %v radius %.0f point %v: haversine %.6f outside [%.6f, %.6f]", c, radius, p, exact, lb, ub)
				}
			}
			in, lb, dist, isExact := f.geoCheck([]LatLng{p})
			if want := ok && exact <= radius; in != want {
				t.Fatalf("centre %v radius %.3f point %v: geoCheck says within=%v, haversine %.6f", c, radius, p, in, exact)
			}
			if isExact && dist != exact {
				t.Fatalf("geoCheck distance %v, haversine %v", dist, exact)
			}
			if in && lb > exact {
				t.Fatalf("geoCheck lower bound %v above the distance %v", lb, exact)
			}
		}
	}
	if bounded < 1000 {
		t.Fatalf("only %d of the filters use the bounds", bounded)
	}
}
