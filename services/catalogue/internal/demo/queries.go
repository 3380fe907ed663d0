package demo

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/timestamppb"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	typev1 "github.com/cus-suite/cus/proto/cus/type/v1"
)

// Query is one search of a resident in the benchmark query set.
type Query struct {
	// Name says what the query is, e.g. "typo: swietlca".
	Name string `json:"name"`
	// Kind is the query's class (QueryKinds), for per-class figures.
	Kind string `json:"kind"`
	// Request is the SearchServices request, page size included.
	Request *cataloguev1.SearchServicesRequest `json:"-"`
}

// QueryKinds are the classes of SearchQueries, in the order they are cycled.
var QueryKinds = []string{
	"word", "word, no diacritics", "two words", "typo", "text + area", "text + distance",
	"filters, no text", "distance, no text", "text + TERC", "TERC, no text",
}

// SearchPageSize is the page size of every query of SearchQueries: a resident's first page.
const SearchPageSize = 20

// SearchQueries returns n resident queries for the catalogue Synthetic writes with the same opts (realistic
// profile): words and phrases of its vocabulary with and without diacritics, two words, typos, area filters,
// distance filters around its gminas' centres, empty text with filters, and its gminas' TERC codes, the
// classes of QueryKinds in turn. Common services are asked for more often, as residents do; gminas are picked
// by their share of services. Deterministic for opts and n.
func SearchQueries(opts SyntheticOptions, n int) ([]Query, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Profile == ProfileHarsh {
		return nil, fmt.Errorf("demo: SearchQueries is for the %s profile", ProfileRealistic)
	}
	nGminas := opts.Gminas
	if nGminas <= 0 {
		nGminas = min(max(1, opts.Services/40), NationalGminas)
	}
	g := newGenerator(opts.Seed, nGminas, false)
	r := rand.New(rand.NewPCG(uint64(opts.Seed), 0x3c6ef372fe94f82b))
	rs := g.real
	warsaw, err := time.LoadLocation("Europe/Warsaw")
	if err != nil {
		warsaw = time.FixedZone("CET", 3600)
	}

	pickKind := func() *kind { return rs.kinds[rs.kindPick.pick(r)] }
	pickGmina := func() *gmina { return &g.gminas[rs.gminaPick.pick(r)] }
	out := make([]Query, 0, n)
	for i := range n {
		k := pickKind()
		req := &cataloguev1.SearchServicesRequest{PageSize: SearchPageSize}
		kindName := QueryKinds[i%len(QueryKinds)]
		var name string
		switch kindName {
		case "word":
			req.Query = queryWord(r, k)
			name = req.Query
		case "word, no diacritics":
			req.Query = strings.ToLower(fold(queryWord(r, k)))
			name = req.Query
		case "two words":
			req.Query = queryPhrase(r, k)
			if r.IntN(3) == 0 {
				req.Query = strings.ToLower(fold(req.Query))
			}
			name = req.Query
		case "typo":
			w := queryWord(r, k)
			for tries := 0; utf8.RuneCountInString(w) < 6 && tries < 10; tries++ {
				w = queryWord(r, pickKind())
			}
			req.Query = typo(r, strings.ToLower(fold(w)))
			name = req.Query + " (" + w + ")"
		case "text + area":
			req.Query = queryWord(r, k)
			req.Areas = []cataloguev1.Area{k.areas[r.IntN(len(k.areas))]}
			name = req.Query + " + " + shortArea(req.Areas[0])
		case "text + distance":
			gm := pickGmina()
			req.Query = queryWord(r, k)
			req.Near = &cataloguev1.GeoFilter{Center: &typev1.LatLng{Latitude: gm.lat, Longitude: gm.lng}, RadiusMeters: int32(10_000 + 5_000*r.IntN(5))}
			name = fmt.Sprintf("%s + %d km of %s", req.Query, req.Near.RadiusMeters/1000, gm.name)
		case "filters, no text":
			req.Areas = []cataloguev1.Area{k.areas[0]}
			name = shortArea(req.Areas[0])
			switch r.IntN(4) {
			case 0:
				req.FreeOfCharge = true
				name += " + free"
			case 1:
				req.TargetGroups = []cataloguev1.TargetGroup{k.groups[r.IntN(len(k.groups))]}
				name += " + " + strings.ToLower(strings.TrimPrefix(req.TargetGroups[0].String(), "TARGET_GROUP_"))
			case 2:
				at := time.Date(2026, 3, 9+r.IntN(5), 9+r.IntN(6), 0, 0, 0, warsaw) // a weekday, office hours
				req.OpenAt = timestamppb.New(at)
				name += " + open " + at.Format("Mon 15:04")
			default:
				if k.minAge >= 0 {
					a := k.minAge + int32(r.IntN(3))
					req.Age = &a
					name += fmt.Sprintf(" + age %d", a)
				} else {
					req.FreeOfCharge = true
					name += " + free"
				}
			}
		case "distance, no text":
			gm := pickGmina()
			req.Near = &cataloguev1.GeoFilter{Center: &typev1.LatLng{Latitude: gm.lat, Longitude: gm.lng}, RadiusMeters: int32(5_000 + 5_000*r.IntN(4))}
			name = fmt.Sprintf("%d km of %s", req.Near.RadiusMeters/1000, gm.name)
			if r.IntN(2) == 0 {
				req.Areas = []cataloguev1.Area{k.areas[0]}
				name += " + " + shortArea(req.Areas[0])
			}
		case "text + TERC":
			req.Query = queryWord(r, k)
			var names []string
			for range 1 + r.IntN(3) {
				gm := pickGmina()
				req.TercCodes = append(req.TercCodes, gm.terc)
				names = append(names, gm.name)
			}
			name = req.Query + " in " + strings.Join(names, ", ")
		default: // "TERC, no text"
			gm := pickGmina()
			req.TercCodes = []string{gm.terc}
			name = gm.terc + " (" + gm.name + ")"
			if r.IntN(2) == 0 {
				req.Areas = []cataloguev1.Area{k.areas[0]}
				name += " + " + shortArea(req.Areas[0])
			}
		}
		out = append(out, Query{Name: kindName + ": " + name, Kind: kindName, Request: req})
	}
	return out, nil
}

// queryStopwords are words a resident does not search for on their own ("teleopieka dla" is not a query).
var queryStopwords = map[string]bool{"dla": true, "przy": true, "oraz": true, "przez": true, "nad": true, "pod": true,
	"the": true, "door": true, "and": true, "lub": true, "ich": true, "jest": true, "się": true}

// queryWord is a word a resident types for a kind of service: from its names and keywords mostly, lower-case,
// at least 4 letters.
func queryWord(r *rand.Rand, k *kind) string {
	var pool []string
	for _, src := range [][]string{k.names, k.keywords, k.keywords, k.acts} {
		for _, p := range src {
			for _, w := range strings.FieldsFunc(p, func(c rune) bool { return strings.ContainsRune(" -–„”(),.+", c) }) {
				if utf8.RuneCountInString(w) >= 4 && !strings.ContainsAny(w, "0123456789") && !queryStopwords[strings.ToLower(w)] {
					pool = append(pool, strings.ToLower(w))
				}
			}
		}
	}
	if len(pool) == 0 {
		return strings.ToLower(k.place)
	}
	return pool[r.IntN(len(pool))]
}

// queryPhrase is two words of a kind's name ("usługi opiekuńcze", "klub seniora", "asystent rodziny").
func queryPhrase(r *rand.Rand, k *kind) string {
	var two []string
	for _, src := range [][]string{k.names, k.keywords} {
		for _, p := range src {
			ws := strings.Fields(strings.ToLower(strings.NewReplacer("„", "", "”", "", "–", "", ",", "").Replace(p)))
			for j := 0; j+1 < len(ws); j++ {
				if utf8.RuneCountInString(ws[j]) >= 3 && utf8.RuneCountInString(ws[j+1]) >= 3 && !queryStopwords[ws[j]] && !queryStopwords[ws[j+1]] {
					two = append(two, ws[j]+" "+ws[j+1])
				}
			}
		}
	}
	if len(two) == 0 {
		return queryWord(r, k)
	}
	return two[r.IntN(len(two))]
}

// typo makes one slip of the keyboard in a word of 6 or more letters: a letter dropped, doubled or swapped
// with the next, or replaced by its neighbour on the keyboard; never the first letter.
func typo(r *rand.Rand, w string) string {
	rs := []rune(w)
	if len(rs) < 4 {
		return w
	}
	i := 1 + r.IntN(len(rs)-2)
	switch r.IntN(4) {
	case 0:
		return string(append(rs[:i:i], rs[i+1:]...))
	case 1:
		return string(append(append(rs[:i+1:i+1], rs[i]), rs[i+1:]...))
	case 2:
		rs[i], rs[i+1] = rs[i+1], rs[i]
		return string(rs)
	}
	const rows = "qwertyuiopasdfghjklzxcvbnm"
	if j := strings.IndexRune(rows, rs[i]); j >= 0 {
		if j+1 < len(rows) {
			rs[i] = rune(rows[j+1])
		} else {
			rs[i] = rune(rows[j-1])
		}
	}
	return string(rs)
}

func shortArea(a cataloguev1.Area) string {
	return strings.ToLower(strings.TrimPrefix(a.String(), "AREA_"))
}
