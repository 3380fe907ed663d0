package load

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsAndTags(t *testing.T) {
	var calls, atStart atomic.Int64
	res := Run(context.Background(), Config{Workers: 4, Warmup: 20 * time.Millisecond, Duration: 100 * time.Millisecond,
		OnStart: func() { atStart.Store(calls.Load()) }},
		func(ctx context.Context, w int) (int, error) {
			n := calls.Add(1)
			time.Sleep(time.Millisecond)
			if n%10 == 0 {
				return 1, errors.New("boom")
			}
			return int(n % 3), nil
		})
	if res.Workers != 4 || res.Requests == 0 {
		t.Fatalf("workers=%d requests=%d", res.Workers, res.Requests)
	}
	if atStart.Load() == 0 || int64(res.Requests) != calls.Load()-atStart.Load() {
		t.Fatalf("warm-up requests must not be counted: %d measured, %d calls, %d before the timed phase",
			res.Requests, calls.Load(), atStart.Load())
	}
	if res.Errors == 0 || res.FirstError == nil || res.FirstError.Error() != "boom" {
		t.Fatalf("errors=%d first=%v", res.Errors, res.FirstError)
	}
	total := 0
	for _, ds := range res.ByTag {
		total += len(ds)
	}
	if total != res.Requests || res.Latency.Count != res.Requests {
		t.Fatalf("per-tag total %d, summary count %d, requests %d", total, res.Latency.Count, res.Requests)
	}
	if res.Latency.Min < time.Millisecond {
		t.Fatalf("min latency %v below the 1ms sleep", res.Latency.Min)
	}
	if res.Elapsed < 100*time.Millisecond {
		t.Fatalf("elapsed %v shorter than the phase", res.Elapsed)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	start := time.Now()
	res := Run(ctx, Config{Workers: 2, Duration: time.Minute}, func(ctx context.Context, w int) (int, error) {
		select {
		case <-ctx.Done():
			return 0, ctx.Err()
		case <-time.After(time.Millisecond):
			return 0, nil
		}
	})
	if time.Since(start) > 5*time.Second {
		t.Fatal("Run did not stop on cancel")
	}
	if res.Errors != 0 {
		t.Fatalf("errors caused by the cancel itself must not count: %d", res.Errors)
	}
}

func TestInterleaveAlternatesAndSeparates(t *testing.T) {
	var (
		order []int
		calls [2]atomic.Int64
	)
	mk := func(i int, d time.Duration) Op {
		return func(ctx context.Context, w int) (int, error) {
			calls[i].Add(1)
			time.Sleep(d)
			return 0, nil
		}
	}
	res := Interleave(context.Background(), Config{Workers: 2, Warmup: 10 * time.Millisecond, Duration: 120 * time.Millisecond}, 4,
		[]Op{mk(0, time.Millisecond), mk(1, 3*time.Millisecond)},
		func(op int, start bool) {
			if start {
				order = append(order, op)
			}
		})
	if want := []int{0, 1, 1, 0, 0, 1, 1, 0}; !slices.Equal(order, want) {
		t.Fatalf("slice order %v, want %v", order, want)
	}
	for i, r := range res {
		if r.Slices != 4 {
			t.Fatalf("op %d: %d slices, want 4", i, r.Slices)
		}
		if r.Elapsed < 120*time.Millisecond {
			t.Fatalf("op %d: elapsed %v, want the whole duration over its slices", i, r.Elapsed)
		}
		if r.Requests == 0 || int64(r.Requests) >= calls[i].Load() {
			t.Fatalf("op %d: %d requests measured of %d calls (warm-up must not count)", i, r.Requests, calls[i].Load())
		}
	}
	// The slower op completes fewer requests and has the higher latency.
	if res[1].Requests >= res[0].Requests || res[1].Latency.P50 <= res[0].Latency.P50 {
		t.Fatalf("results mixed up between ops: %+v vs %+v", res[0].Latency, res[1].Latency)
	}
}
