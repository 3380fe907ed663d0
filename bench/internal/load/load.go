// Package load runs closed-loop load: a fixed number of workers, each issuing its next request as soon as the
// previous one finished, for a warm-up that is thrown away and then a timed phase that is measured. Two or more
// kinds of request can be interleaved in short slices (A B B A A B ...), so that other work on the machine, which
// comes and goes, weighs on all of them alike and their ratio stays meaningful.
package load

import (
	"context"
	"sync"
	"time"

	"github.com/cus-suite/cus/bench/internal/stats"
)

// Op performs one request for worker w (0-based). It returns a tag (e.g. the index of the query it ran, 0
// when there is only one kind of request) so that latencies can also be summarised per tag.
type Op func(ctx context.Context, w int) (tag int, err error)

// Config of a run.
type Config struct {
	Workers  int
	Warmup   time.Duration // run and discard before the timed phase; 0 skips it
	Duration time.Duration // the timed phase (of each op, in total, when interleaving)
	// OnStart, when set, runs right before the timed phase starts (after the warm-up), e.g. to sample CPU times.
	OnStart func()
}

// Result of the timed phase.
type Result struct {
	Workers    int
	Slices     int           // timed slices the phase was cut into (1 unless interleaved)
	Elapsed    time.Duration // summed over slices, each from its start until its last in-flight request finished
	Requests   int           // completed requests, errors included
	Errors     int
	FirstError error
	PerSecond  float64 // Requests / Elapsed
	Latency    stats.Summary
	// ByTag holds the raw latencies per tag (sorted), for per-query breakdowns.
	ByTag map[int][]time.Duration
}

type sample struct {
	tag int
	d   time.Duration
}

// Run warms up, then measures. A cancelled ctx ends the current phase early (the result then covers what ran).
func Run(ctx context.Context, cfg Config, op Op) Result {
	var hook func(int, bool)
	if cfg.OnStart != nil {
		hook = func(_ int, start bool) {
			if start {
				cfg.OnStart()
			}
		}
	}
	return Interleave(ctx, cfg, 1, []Op{op}, hook)[0]
}

// Interleave warms each op up in turn, then runs the ops in rounds slices each of cfg.Duration/rounds, in the
// order A B, B A, A B, ... (so neither is always first), and returns one Result per op over all its slices.
// onSlice, when set, is called right before (start true) and right after (start false) every timed slice.
func Interleave(ctx context.Context, cfg Config, rounds int, ops []Op, onSlice func(op int, start bool)) []Result {
	rounds = max(rounds, 1)
	workers := max(cfg.Workers, 1)
	if cfg.Warmup > 0 {
		for _, op := range ops {
			phase(ctx, workers, cfg.Warmup, op, nil)
		}
	}
	acc := make([]*accum, len(ops))
	for i := range acc {
		acc[i] = &accum{byTag: map[int][]time.Duration{}}
	}
	slice := cfg.Duration / time.Duration(rounds)
	for r := range rounds {
		for k := range ops {
			i := k
			if r%2 == 1 {
				i = len(ops) - 1 - k
			}
			if ctx.Err() != nil {
				break
			}
			if onSlice != nil {
				onSlice(i, true)
			}
			phase(ctx, workers, slice, ops[i], acc[i])
			if onSlice != nil {
				onSlice(i, false)
			}
		}
	}
	out := make([]Result, len(ops))
	for i, a := range acc {
		out[i] = a.result(workers)
	}
	return out
}

// accum collects the samples of an op's timed slices.
type accum struct {
	slices  int
	elapsed time.Duration
	all     []time.Duration
	byTag   map[int][]time.Duration
	errors  int
	first   error
}

func (a *accum) result(workers int) Result {
	res := Result{Workers: workers, Slices: a.slices, Elapsed: a.elapsed, Requests: len(a.all), Errors: a.errors,
		FirstError: a.first, ByTag: a.byTag}
	if a.elapsed > 0 {
		res.PerSecond = float64(res.Requests) / a.elapsed.Seconds()
	}
	res.Latency = stats.Summarize(a.all)
	for _, ds := range a.byTag {
		stats.Summarize(ds) // sorts in place
	}
	return res
}

// phase runs workers closed-loop for d; with acc nil the samples are thrown away (warm-up).
func phase(ctx context.Context, workers int, d time.Duration, op Op, acc *accum) {
	per := make([][]sample, workers)
	errs := make([]int, workers)
	firsts := make([]error, workers)
	record := acc != nil
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []sample
			if record {
				buf = make([]sample, 0, 1<<12)
			}
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(deadline) {
					break
				}
				tag, err := op(ctx, w)
				if record {
					buf = append(buf, sample{tag, time.Since(t0)})
				}
				if err != nil && ctx.Err() == nil {
					errs[w]++
					if firsts[w] == nil {
						firsts[w] = err
					}
				}
			}
			per[w] = buf
		}()
	}
	wg.Wait()
	if !record {
		return
	}
	acc.slices++
	acc.elapsed += time.Since(start)
	for w, b := range per {
		for _, s := range b {
			acc.all = append(acc.all, s.d)
			acc.byTag[s.tag] = append(acc.byTag[s.tag], s.d)
		}
		acc.errors += errs[w]
		if acc.first == nil {
			acc.first = firsts[w]
		}
	}
}
