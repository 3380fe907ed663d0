package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cus-suite/cus/bench/internal/load"
)

// target is one thing a load command measures.
type target struct {
	kind, label string
	desc        string // what is loaded, for the report
	method      string
	conns       int
	sharing     string
	bodyBytes   int
	selfName    string // name of this process in the CPU figures
	op          load.Op
	dials       func() int64 // connections opened, when known
}

// runTargets measures one target, or two interleaved in lf.rounds rounds (A B, B A, ...), and emits a report
// for each. It returns the reports and the first failure (failed requests, nothing completed, interrupted).
func runTargets(ctx context.Context, lf loadFlags, ts []target) ([]*Report, error) {
	if len(ts) > 1 && lf.out != "" {
		return nil, errors.New("--out takes one target; use --out-dir with two")
	}
	meters := make([]*cpuMeter, len(ts))
	ops := make([]load.Op, len(ts))
	for i, t := range ts {
		meters[i] = &cpuMeter{selfName: t.selfName, pids: lf.cpuPids}
		ops[i] = t.op
	}
	rounds := 1
	if len(ts) > 1 {
		rounds = max(1, lf.rounds)
		fmt.Printf("  interleaved: %d rounds of %s per target, order alternating (A B, B A, ...), so other work on the machine weighs on both alike\n",
			rounds, lf.duration/time.Duration(rounds))
	}
	cfg := load.Config{Workers: lf.workers, Warmup: lf.warmup, Duration: lf.duration}
	results := load.Interleave(ctx, cfg, rounds, ops, func(i int, start bool) {
		if start {
			meters[i].begin()
		} else {
			meters[i].stop()
		}
	})
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	reps := make([]*Report, len(ts))
	var firstErr error
	for i, t := range ts {
		r := newReport(t.kind, t.label)
		r.Target, r.Method, r.Conns, r.ConnSharing, r.BodyBytes = t.desc, t.method, t.conns, t.sharing, t.bodyBytes
		r.fill(cfg, results[i])
		if t.dials != nil {
			r.ConnsOpened = t.dials()
		}
		meters[i].report(r)
		printLoad(r)
		if err := r.emit(lf.out, lf.outDir); err != nil {
			return nil, err
		}
		if err := failOnErrors(r); err != nil && firstErr == nil {
			firstErr = err
		}
		reps[i] = r
	}
	if len(reps) == 2 && reps[1].PerSecond > 0 {
		fmt.Printf("  %-22s %.1f %% (%s / %s)\n", "ratio", reps[0].PerSecond/reps[1].PerSecond*100, reps[0].Label, reps[1].Label)
	}
	return reps, firstErr
}
