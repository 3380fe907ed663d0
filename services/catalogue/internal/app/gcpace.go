package app

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
)

// The collector's headroom. With the default GOGC=100 the Go runtime lets the heap grow to twice what was live
// at the last collection before it collects again. The catalogue's live heap is mostly the search index (about
// 1.2 KiB a service, long-lived and nearly free of pointers, so cheap to mark), and a serving catalogue
// allocates little (a search leaves a few KiB): the default doubles the index in garbage that is collected
// rarely, 650 MiB of it at 500,000 services. What the headroom buys is fewer collections, which matters only
// while the catalogue allocates fast (an import, a federation sync).
//
// So the headroom follows the allocation rate, not the live heap: enough for about gcPaceWindow of
// allocation at the recent rate, at least gcPaceFloor, at most the runtime's own (GOGC=100, the live heap).
// A serving catalogue collects every few seconds with a headroom of tens of MiB (each collection costs some
// milliseconds of a core); an import allocating hundreds of MiB a second keeps the default headroom and its
// speed. The pacer reads runtime/metrics every gcPaceTick and sets GOGC (debug.SetGCPercent) accordingly;
// the soft memory limit (--memory-limit) still applies on top.
//
// --gc-headroom (CUS_GC_HEADROOM) sets it:
//
//	auto    (default) paced as above, unless GOGC is set in the environment (then the runtime's, as set)
//	off     the runtime's GOGC alone
//	256MiB  paced as above, but never more than that
const (
	gcPaceWindow = 2 * time.Second
	gcPaceFloor  = 64 << 20
	gcPaceTick   = time.Second
	// gcPaceMinPercent keeps a huge heap from collecting back to back while allocating slowly.
	gcPaceMinPercent = 10
)

// gcHeadroom is a resolved --gc-headroom: whether to pace, and the largest headroom (0: the live heap's).
type gcHeadroom struct {
	pace   bool
	max    int64
	source string
}

func resolveGCHeadroom(setting string, env func(string) string) (gcHeadroom, error) {
	s := strings.TrimSpace(setting)
	switch strings.ToLower(s) {
	case "", "auto":
		if v := env("GOGC"); v != "" {
			return gcHeadroom{source: "GOGC=" + v}, nil
		}
		return gcHeadroom{pace: true, source: "--gc-headroom auto"}, nil
	case "off":
		return gcHeadroom{source: "--gc-headroom off"}, nil
	}
	n, err := parseBytes(s)
	if err != nil {
		return gcHeadroom{}, errors.New("not a size (a whole number of bytes with an optional unit: KiB, MiB, GiB, TiB), auto or off")
	}
	if n < gcPaceFloor {
		return gcHeadroom{}, fmt.Errorf("%s is below the least headroom of %d MiB", s, gcPaceFloor>>20)
	}
	return gcHeadroom{pace: true, max: n, source: "--gc-headroom " + s}, nil
}

// pacePercent is the GOGC that gives a heap of live bytes, allocating rate bytes a second, its headroom.
func (h gcHeadroom) pacePercent(rate float64, live uint64) int {
	if live == 0 {
		return 100
	}
	room := max(rate*gcPaceWindow.Seconds(), gcPaceFloor)
	if h.max > 0 {
		room = min(room, float64(h.max))
	}
	p := int(math.Ceil(100 * room / float64(live)))
	return min(max(p, gcPaceMinPercent), 100)
}

// pacing is held by the pacer that runs.
var pacing sync.Mutex

// gcPacer sets GOGC every tick from the allocation rate and the live heap.
type gcPacer struct {
	h    gcHeadroom
	tick time.Duration
	// read returns what the runtime reports (runtime/metrics).
	read func() heapReading
	// set is debug.SetGCPercent.
	set func(int) int
	// free is debug.FreeOSMemory: a collection now, and the freed memory handed back to the system.
	free func()
	log  *zap.Logger
}

type heapReading struct {
	allocs uint64 // bytes allocated since the start
	live   uint64 // heap live after the last collection
	held   uint64 // heap memory held from the system: objects (garbage included) and free spans not yet released
}

// PaceGC paces the collector as a catalogue started with --gc-headroom setting does, until ctx ends: for a
// benchmark that builds a catalogue's parts without Run and reports the memory an operator would see.
func PaceGC(ctx context.Context, setting string, log *zap.Logger) error {
	h, err := resolveGCHeadroom(setting, os.Getenv)
	if err != nil {
		return err
	}
	if !h.pace {
		<-ctx.Done()
		return nil
	}
	return newGCPacer(h, log).Run(ctx)
}

// gcFreeEvery bounds how often the pacer collects and hands memory back itself (see Run).
const gcFreeEvery = 30 * time.Second

func newGCPacer(h gcHeadroom, log *zap.Logger) *gcPacer {
	samples := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}, {Name: "/gc/heap/live:bytes"},
		{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"}}
	return &gcPacer{h: h, tick: gcPaceTick, set: debug.SetGCPercent, free: debug.FreeOSMemory, log: log, read: func() heapReading {
		metrics.Read(samples)
		v := make([]uint64, len(samples))
		for i, s := range samples {
			if s.Value.Kind() == metrics.KindUint64 {
				v[i] = s.Value.Uint64()
			}
		}
		return heapReading{allocs: v[0], live: v[1], held: v[2] + v[3] + v[4]}
	}}
}

// Run paces the collector until ctx ends, then gives the runtime back the GOGC it had.
//
// The rate rises at once (an import starting gets its headroom within a tick) and falls by a fifth of the
// difference a tick (a pause between two import requests does not make the next one pay for collections).
//
// A lower GOGC collects nothing by itself: the next collection comes with the next allocations, and a catalogue
// that has just imported 500,000 services and then only answers the odd search would keep the import's garbage
// (as much again as the index) for minutes. So when the heap held from the system is well above what the
// headroom now allows, the pacer collects and hands the memory back itself (at most every gcFreeEvery; a
// collection of a national catalogue's heap costs tens of milliseconds of a core).
func (p *gcPacer) Run(ctx context.Context) error {
	// GOGC is the process's: one pacer at a time (tests run several catalogues in one process).
	if !pacing.TryLock() {
		<-ctx.Done()
		return nil
	}
	defer pacing.Unlock()
	orig := p.set(100) // SetGCPercent answers with the value it replaces: read it, put it back
	p.set(orig)
	defer p.set(orig)
	t := time.NewTicker(p.tick)
	defer t.Stop()
	last := time.Now()
	lastAllocs := p.read().allocs
	var rate float64
	var freed time.Time
	cur := orig
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			r := p.read()
			dt := now.Sub(last).Seconds()
			if dt <= 0 {
				continue
			}
			inst := float64(r.allocs-lastAllocs) / dt
			last, lastAllocs = now, r.allocs
			if inst > rate {
				rate = inst
			} else {
				rate += (inst - rate) / 5
			}
			pc := p.h.pacePercent(rate, r.live)
			if pc != cur {
				p.set(pc)
				if p.log != nil {
					p.log.Debug("gc headroom", zap.Int("gogc", pc), zap.Uint64("live_mib", r.live>>20),
						zap.Float64("alloc_mib_per_s", rate/(1<<20)))
				}
				cur = pc
			}
			goal := float64(r.live) * (1 + float64(pc)/100)
			if pc < 100 && float64(r.held) > goal*1.25+gcPaceFloor && now.Sub(freed) >= gcFreeEvery {
				began := time.Now()
				p.free()
				freed = now
				if p.log != nil {
					p.log.Info("garbage collected and memory handed back after a burst of allocation",
						zap.Uint64("held_mib", r.held>>20), zap.Uint64("live_mib", r.live>>20), zap.Duration("took", time.Since(began)))
				}
			}
		}
	}
}
