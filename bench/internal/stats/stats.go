// Package stats summarises latency samples: nearest-rank percentiles over the exact samples (no histogram
// buckets, no interpolation), so a reported p99 is a latency that some request really had.
package stats

import (
	"encoding/json"
	"math"
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 <= p <= 100) of sorted by the nearest-rank method: the smallest
// sample such that at least p% of the samples are less than or equal to it. p = 0 gives the minimum, p = 100 the
// maximum. sorted must be in ascending order; an empty slice gives 0.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	if p <= 0 || math.IsNaN(p) {
		return sorted[0]
	}
	if p >= 100 {
		return sorted[n-1]
	}
	// A small tolerance keeps p*n that is mathematically an integer (e.g. 99*100/100) from rounding up to the
	// next rank through floating-point error.
	rank := int(math.Ceil(p/100*float64(n) - 1e-9))
	return sorted[min(max(rank, 1), n)-1]
}

// Summary describes a set of latency samples.
type Summary struct {
	Count int
	Min   time.Duration
	Mean  time.Duration
	P50   time.Duration
	P90   time.Duration
	P99   time.Duration
	Max   time.Duration
}

// Summarize sorts samples in place and summarises them. An empty slice gives the zero Summary.
func Summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	slices.Sort(samples)
	var sum float64
	for _, d := range samples {
		sum += float64(d)
	}
	return Summary{
		Count: len(samples),
		Min:   samples[0],
		Mean:  time.Duration(sum / float64(len(samples))),
		P50:   Percentile(samples, 50),
		P90:   Percentile(samples, 90),
		P99:   Percentile(samples, 99),
		Max:   samples[len(samples)-1],
	}
}

// Ms converts a duration to milliseconds, rounded to microseconds, for reports.
func Ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

type summaryJSON struct {
	Count  int     `json:"count"`
	MinMs  float64 `json:"min_ms"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// MarshalJSON writes the durations as milliseconds.
func (s Summary) MarshalJSON() ([]byte, error) {
	return json.Marshal(summaryJSON{s.Count, Ms(s.Min), Ms(s.Mean), Ms(s.P50), Ms(s.P90), Ms(s.P99), Ms(s.Max)})
}

// UnmarshalJSON reads what MarshalJSON writes (to microsecond precision).
func (s *Summary) UnmarshalJSON(b []byte) error {
	var j summaryJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	ms := func(v float64) time.Duration { return time.Duration(math.Round(v * 1e6)) }
	*s = Summary{j.Count, ms(j.MinMs), ms(j.MeanMs), ms(j.P50Ms), ms(j.P90Ms), ms(j.P99Ms), ms(j.MaxMs)}
	return nil
}
