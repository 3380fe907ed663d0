package search

import (
	"fmt"
	"math/rand"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Polish social-service vocabulary, with inflected forms so prefix and stem
// matching have real work to do.
var polishWords = []string{
	"opiekuńcze", "usługi", "usługa", "senior", "seniorów", "seniorzy", "seniora", "żłobek", "żłobki",
	"świetlica", "świetlicy", "terapia", "terapii", "rehabilitacja", "rehabilitacji", "klub", "klubu",
	"pomoc", "pomocy", "rodzina", "rodziny", "rodzin", "asystent", "asystenta", "mieszkanie", "mieszkania",
	"wolontariat", "kultura", "kultury", "zajęcia", "dzieci", "dziecko", "młodzież", "młodzieży",
	"niepełnosprawność", "niepełnosprawnych", "opiekunka", "opiekunki", "dom", "domu", "dzienny",
	"środowiskowy", "wsparcie", "wsparcia", "poradnictwo", "psycholog", "psychologiczne", "prawne",
	"bezdomność", "schronisko", "noclegownia", "posiłek", "posiłki", "żywność", "integracja",
	"aktywizacja", "zawodowa", "edukacja", "sport", "rekreacja", "transport", "teleopieka", "opieka",
	"wytchnieniowa", "kryzysowa", "interwencja", "przemoc", "uzależnienia", "gmina", "ośrodek",
	"centrum", "stowarzyszenie", "fundacja", "parafia", "bezpłatne", "zapisy", "telefon", "dyżur",
}

var cities = []string{
	"Warszawa", "Kraków", "Łódź", "Wrocław", "Poznań", "Gdańsk", "Szczecin", "Bydgoszcz", "Lublin",
	"Białystok", "Katowice", "Gdynia", "Częstochowa", "Radom", "Toruń", "Sosnowiec", "Kielce", "Rzeszów",
	"Gliwice", "Zabrze", "Olsztyn", "Bielsko-Biała", "Bytom", "Zielona Góra", "Rybnik", "Ruda Śląska",
}

var cityCenters = []LatLng{
	{52.2297, 21.0122}, {50.0647, 19.9450}, {51.7592, 19.4560}, {51.1079, 17.0385}, {52.4064, 16.9252},
	{54.3520, 18.6466}, {53.4285, 14.5528}, {53.1235, 18.0084}, {51.2465, 22.5684},
}

type synth struct {
	r      *rand.Rand
	words  *rand.Zipf
	pwords *rand.Zipf
	inv    []string
	tercs  []string
}

func newSynth(seed int64) *synth {
	r := rand.New(rand.NewSource(seed))
	s := &synth{r: r}
	syl := []string{"ka", "ro", "mi", "sta", "prze", "wo", "la", "ny", "ce", "dzi", "szo", "ła", "ży", "ćwi", "bo", "gra", "ń", "ski", "tr", "ol", "ąb", "ęk", "ma", "po", "zu", "fi", "he", "jo", "ku", "le"}
	seen := map[string]bool{}
	for len(s.inv) < 60000 {
		n := 2 + r.Intn(4)
		var b strings.Builder
		for range n {
			b.WriteString(syl[r.Intn(len(syl))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			s.inv = append(s.inv, w)
		}
	}
	for range 2500 {
		s.tercs = append(s.tercs, fmt.Sprintf("%02d%02d%02d%d", 2+2*r.Intn(16), 1+r.Intn(30), 1+r.Intn(20), 1+r.Intn(5)))
	}
	s.words = rand.NewZipf(r, 1.07, 2, uint64(len(s.inv)-1))
	s.pwords = rand.NewZipf(r, 1.2, 3, uint64(len(polishWords)-1))
	return s
}

func (s *synth) word() string {
	if s.r.Intn(10) < 6 {
		return polishWords[s.pwords.Uint64()]
	}
	return s.inv[s.words.Uint64()]
}

func (s *synth) text(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			if s.r.Intn(9) == 0 {
				b.WriteString(", ")
			} else {
				b.WriteByte(' ')
			}
		}
		w := s.word()
		if i == 0 || s.r.Intn(15) == 0 {
			w = strings.ToUpper(w[:1]) + w[1:]
		}
		b.WriteString(w)
	}
	return b.String()
}

func (s *synth) doc(i int) Doc {
	r := s.r
	d := Doc{
		ID:          fmt.Sprintf("%08x-0000-4000-8000-%012x", i, r.Int63()&0xffffffffffff),
		Revision:    int64(i + 1),
		Name:        s.text(2 + r.Intn(3)),
		Description: s.text(90 + r.Intn(60)),
		Eligibility: s.text(8 + r.Intn(15)),
		Areas:       1<<(1+r.Intn(14)) | 1<<(1+r.Intn(14))*uint32(r.Intn(2)),
		// One or two target groups.
		TargetGroups: 1<<(1+r.Intn(8)) | 1<<(1+r.Intn(8))*uint32(r.Intn(2)),
		MinAge:       -1,
		MaxAge:       -1,
		Free:         r.Intn(10) < 6,
		Active:       r.Intn(10) < 9,
	}
	if r.Intn(3) == 0 {
		d.AlternateName = s.text(2)
	}
	if r.Intn(2) == 0 {
		d.MinAge = int32(r.Intn(60))
		d.MaxAge = d.MinAge + int32(r.Intn(50))
	}
	city := r.Intn(len(cities))
	d.Keywords = cities[city] + " " + polishWords[r.Intn(len(polishWords))] + " " + s.inv[r.Intn(len(s.inv))]
	d.Origin = s.tercs[r.Intn(len(s.tercs))]
	d.Tercs = []string{d.Origin, s.tercs[r.Intn(len(s.tercs))]}
	c := cityCenters[city%len(cityCenters)]
	for range 1 + r.Intn(3) {
		if r.Intn(2) == 0 {
			d.Points = append(d.Points, LatLng{c.Lat + r.NormFloat64()*0.3, c.Lng + r.NormFloat64()*0.4})
		} else {
			d.Points = append(d.Points, LatLng{49.0 + r.Float64()*5.8, 14.1 + r.Float64()*10})
		}
	}
	if r.Intn(10) < 7 {
		for wd := 1; wd <= 5; wd++ {
			d.Hours = append(d.Hours, Interval{wd, 8 * 60, 16 * 60})
		}
	} else {
		for range 1 + r.Intn(5) {
			o := r.Intn(20) * 60
			d.Hours = append(d.Hours, Interval{1 + r.Intn(7), o, o + 60 + r.Intn(6)*60})
		}
	}
	d.CreateTime = time.Unix(1.6e9+int64(i)*60, 0)
	d.UpdateTime = d.CreateTime
	return d
}

var (
	corpusOnce sync.Once
	corpus     []Doc
	corpusSyn  *synth
)

func corpus100k() ([]Doc, *synth) {
	corpusOnce.Do(func() {
		corpusSyn = newSynth(42)
		corpus = make([]Doc, 100_000)
		for i := range corpus {
			corpus[i] = corpusSyn.doc(i)
		}
	})
	return corpus, corpusSyn
}

func benchQueries(s *synth) []Query {
	age := int32(30)
	open := time.Date(2025, 3, 12, 10, 30, 0, 0, time.UTC) // Wednesday
	evening := time.Date(2025, 7, 5, 18, 0, 0, 0, time.UTC)
	warsawC := LatLng{52.2297, 21.0122}
	krakow := LatLng{50.0647, 19.9450}
	rare := s.inv[5000]
	typo := []byte(s.inv[20])
	typo[1], typo[2] = typo[2], typo[1]
	return []Query{
		{Text: "żłobek"},
		{Text: "zlobek"},
		{Text: "opiekumka"},
		{Text: "swietlica dla dzieci"},
		{Text: "pomoc seniorom"},
		{Text: "rehabilitacja", Areas: 1 << 3},
		{Near: &Geo{warsawC, 20_000}},
		{Text: "terapia", Near: &Geo{krakow, 50_000}},
		{Text: "klub seniora", Tercs: s.tercs[:40]},
		{OpenAt: &open, FreeOnly: true},
		{Text: "asystent rodziny", Age: &age},
		{Text: "mieszk"},
		{Text: "wolontariat kultura"},
		{Text: "niepełnosprawność"},
		{Text: rare},
		{Text: string(typo)},
		{Areas: 1<<2 | 1<<5, TargetGroups: 1 << 4},
		{Text: "usługi opiekuńcze", OpenAt: &evening, Near: &Geo{warsawC, 30_000}},
		{Text: "rehabilitacja dzieci niepełnosprawnych", Offset: 40, Limit: 20},
		{Text: "świetlca"},
		{Text: "po"},
		{Text: "interwencja kryzysowa przemoc", IncludeInactive: true},
	}
}

// BenchmarkBuild100k measures the start-up rebuild. One op is a BulkLoad of
// a 500-document batch into an index that grows to 100k documents and then
// starts over, so -benchtime 200x is exactly one full 100k build (a whole
// build per op would make -benchtime 200x run for many minutes).
// sec/100k-docs extrapolates the mean; index-MiB is the heap held by the
// last completed 100k index.
func BenchmarkBuild100k(b *testing.B) {
	const batch = 500
	docs, _ := corpus100k()
	var (
		ix       *Index
		next     int
		before   runtime.MemStats
		heapMiB  float64
		complete bool
	)
	start := func() {
		b.StopTimer()
		ix = nil
		runtime.GC()
		runtime.ReadMemStats(&before)
		ix, next = New(), 0
		b.StartTimer()
	}
	start()
	ops := 0
	for b.Loop() {
		ix.BulkLoad(docs[next : next+batch])
		next += batch
		ops++
		if next == len(docs) {
			b.StopTimer()
			runtime.GC()
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			heapMiB = float64(after.HeapAlloc-min(after.HeapAlloc, before.HeapAlloc)) / (1 << 20)
			complete = true
			if ix.Len() != len(docs) {
				b.Fatalf("Len = %d, want %d", ix.Len(), len(docs))
			}
			start()
		}
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(ops*batch)*float64(len(docs)), "sec/100k-docs")
	if complete {
		b.ReportMetric(heapMiB, "index-MiB")
	}
}

func BenchmarkSearch100k(b *testing.B) {
	docs, s := corpus100k()
	ix := New()
	ix.BulkLoad(docs)
	qs := benchQueries(s)
	perQuery := make([][]time.Duration, len(qs))
	var all []time.Duration
	for b.Loop() {
		for i, q := range qs {
			t0 := time.Now()
			r := ix.Search(q)
			d := time.Since(t0)
			perQuery[i] = append(perQuery[i], d)
			all = append(all, d)
			if r.Total < 0 {
				b.Fatal("impossible")
			}
		}
	}
	b.StopTimer()
	pct := func(ds []time.Duration, p float64) float64 {
		ds = slices.Clone(ds)
		slices.Sort(ds)
		return float64(ds[min(len(ds)-1, int(p*float64(len(ds))))])
	}
	b.ReportMetric(pct(all, 0.50), "p50-ns/query")
	b.ReportMetric(pct(all, 0.99), "p99-ns/query")
	b.ReportMetric(pct(all, 1), "max-ns/query")
	if testing.Verbose() {
		for i, q := range qs {
			r := ix.Search(q)
			b.Logf("%-55q p50=%6.2fms p99=%6.2fms total=%d", describe(q), pct(perQuery[i], .5)/1e6, pct(perQuery[i], .99)/1e6, r.Total)
		}
	}
}

func describe(q Query) string {
	var parts []string
	if q.Text != "" {
		parts = append(parts, q.Text)
	}
	if q.Areas != 0 || q.TargetGroups != 0 {
		parts = append(parts, "areas/groups")
	}
	if q.Near != nil {
		parts = append(parts, fmt.Sprintf("near %.0fkm", q.Near.RadiusMeters/1000))
	}
	if q.OpenAt != nil {
		parts = append(parts, "open")
	}
	if q.Age != nil {
		parts = append(parts, "age")
	}
	if len(q.Tercs) > 0 {
		parts = append(parts, "terc")
	}
	if q.FreeOnly {
		parts = append(parts, "free")
	}
	return strings.Join(parts, " + ")
}
