package stats

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func seq(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * time.Millisecond
	}
	return out
}

func TestPercentileNearestRank(t *testing.T) {
	ms := time.Millisecond
	cases := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"single p0", []time.Duration{7 * ms}, 0, 7 * ms},
		{"single p50", []time.Duration{7 * ms}, 50, 7 * ms},
		{"single p100", []time.Duration{7 * ms}, 100, 7 * ms},
		{"1..100 p50", seq(100), 50, 50 * ms},
		{"1..100 p99", seq(100), 99, 99 * ms},
		{"1..100 p99.5", seq(100), 99.5, 100 * ms},
		{"1..100 p1", seq(100), 1, 1 * ms},
		{"1..100 p0", seq(100), 0, 1 * ms},
		{"1..100 p100", seq(100), 100, 100 * ms},
		{"1..1000 p99", seq(1000), 99, 990 * ms},
		{"1..1000 p99.9", seq(1000), 99.9, 999 * ms},
		// 4 samples: p50 is the 2nd (rank ceil(2) = 2), p51 the 3rd; p25 the 1st, p26 the 2nd.
		{"four p25", seq(4), 25, 1 * ms},
		{"four p26", seq(4), 26, 2 * ms},
		{"four p50", seq(4), 50, 2 * ms},
		{"four p51", seq(4), 51, 3 * ms},
		{"four p75", seq(4), 75, 3 * ms},
		{"four p99", seq(4), 99, 4 * ms},
		{"out of range high", seq(10), 150, 10 * ms},
		{"out of range low", seq(10), -5, 1 * ms},
		// 10 samples, p90: 0.9*10 is 9.000000000000002 in float64; must still be rank 9, not 10.
		{"float rounding", seq(10), 90, 9 * ms},
		{"float rounding p70", seq(10), 70, 7 * ms},
	}
	for _, c := range cases {
		if got := Percentile(c.sorted, c.p); got != c.want {
			t.Errorf("%s: Percentile(p=%v) = %v, want %v", c.name, c.p, got, c.want)
		}
	}
}

// The defining property of the nearest rank: at least p% of the samples are <= the result, and fewer than p%
// are strictly below it.
func TestPercentileProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 200 {
		n := 1 + r.IntN(500)
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(r.IntN(50)) * time.Microsecond // many ties on purpose
		}
		slices.Sort(s)
		for _, p := range []float64{1, 10, 25, 50, 75, 90, 95, 99, 99.9} {
			v := Percentile(s, p)
			le, lt := 0, 0
			for _, x := range s {
				if x <= v {
					le++
				}
				if x < v {
					lt++
				}
			}
			if float64(le) < p/100*float64(n)-1e-9 {
				t.Fatalf("trial %d n=%d p=%v: only %d samples <= %v", trial, n, p, le, v)
			}
			if float64(lt) >= p/100*float64(n) {
				t.Fatalf("trial %d n=%d p=%v: %d samples < %v, so a smaller value qualifies", trial, n, p, lt, v)
			}
		}
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	s := seq(100)
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(s), func(i, j int) { s[i], s[j] = s[j], s[i] })
	got := Summarize(s)
	want := Summary{Count: 100, Min: ms, Mean: 50500 * time.Microsecond, P50: 50 * ms, P90: 90 * ms, P99: 99 * ms, Max: 100 * ms}
	if got != want {
		t.Fatalf("Summarize = %+v, want %+v", got, want)
	}
	if !slices.IsSorted(s) {
		t.Fatal("Summarize should sort its input in place")
	}
	if (Summarize(nil) != Summary{}) {
		t.Fatal("Summarize(nil) should be the zero Summary")
	}
}

func TestSummaryJSONRoundTrip(t *testing.T) {
	in := Summary{Count: 3, Min: 1500 * time.Microsecond, Mean: 2 * time.Millisecond, P50: 2 * time.Millisecond,
		P90: 2500 * time.Microsecond, P99: 2500 * time.Microsecond, Max: 2500 * time.Microsecond}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"count":3,"min_ms":1.5,"mean_ms":2,"p50_ms":2,"p90_ms":2.5,"p99_ms":2.5,"max_ms":2.5}`; string(b) != want {
		t.Fatalf("JSON = %s, want %s", b, want)
	}
	var out Summary
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip = %+v, want %+v", out, in)
	}
}
