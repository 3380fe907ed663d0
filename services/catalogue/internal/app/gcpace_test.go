package app

import (
	"context"
	"flag"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestResolveGCHeadroom(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, c := range []struct {
		setting, gogc string
		pace          bool
		max           int64
		err           string
	}{
		{setting: "auto", pace: true},
		{setting: "", pace: true},
		{setting: "auto", gogc: "50", pace: false},
		{setting: "off", pace: false},
		{setting: "OFF", gogc: "", pace: false},
		{setting: "256MiB", pace: true, max: 256 << 20},
		{setting: "256MiB", gogc: "50", pace: true, max: 256 << 20}, // a size is asked for: it wins over GOGC
		{setting: "10MiB", err: "below the least headroom of 64 MiB"},
		{setting: "lots", err: "not a size"},
		{setting: "-5MiB", err: "not a size"},
	} {
		env := noEnv
		if c.gogc != "" {
			env = func(k string) string {
				if k == "GOGC" {
					return c.gogc
				}
				return ""
			}
		}
		h, err := resolveGCHeadroom(c.setting, env)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want one saying %q", c.setting, err, c.err)
			}
			continue
		}
		if err != nil || h.pace != c.pace || h.max != c.max {
			t.Errorf("%q (GOGC=%q): %+v, %v; want pace %v, max %d", c.setting, c.gogc, h, err, c.pace, c.max)
		}
	}
}

func TestPacePercent(t *testing.T) {
	const mib = 1 << 20
	auto := gcHeadroom{pace: true}
	capped := gcHeadroom{pace: true, max: 128 * mib}
	for _, c := range []struct {
		name string
		h    gcHeadroom
		rate float64
		live uint64
		want int
	}{
		// 500,000 services serving searches: the floor of 64 MiB over 650 MiB live, not 650 MiB of garbage.
		{"serving a national catalogue", auto, 20 * mib, 650 * mib, 10},
		{"serving faster", auto, 60 * mib, 600 * mib, 20},
		// An import allocates hundreds of MiB a second: the runtime's own headroom, its speed kept.
		{"importing", auto, 500 * mib, 900 * mib, 100},
		{"a small catalogue", auto, 5 * mib, 40 * mib, 100},
		{"an empty heap", auto, 0, 0, 100},
		{"importing, capped", capped, 500 * mib, 1000 * mib, 13},
		{"a huge heap allocating slowly", auto, 1 * mib, 4000 * mib, gcPaceMinPercent},
	} {
		if got := c.h.pacePercent(c.rate, c.live); got != c.want {
			t.Errorf("%s: GOGC %d, want %d", c.name, got, c.want)
		}
	}
}

// fakeRuntime stands for runtime/metrics and debug.SetGCPercent in TestGCPacerRun.
type fakeRuntime struct {
	mu                 sync.Mutex
	allocs, live, held uint64
	step               uint64 // bytes allocated between two reads
	gogc               int
	set                []int
	frees              int
}

func (f *fakeRuntime) read() heapReading {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.allocs += f.step
	return heapReading{allocs: f.allocs, live: f.live, held: f.held}
}

// free collects: what is held comes down to the live heap.
func (f *fakeRuntime) free() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frees++
	f.held = f.live
}

func (f *fakeRuntime) setGC(p int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	old := f.gogc
	f.gogc = p
	f.set = append(f.set, p)
	return old
}

func (f *fakeRuntime) waitFor(t *testing.T, what string, ok func(gogc int) bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		f.mu.Lock()
		g := f.gogc
		f.mu.Unlock()
		if ok(g) {
			return
		}
	}
	t.Fatalf("the pacer never set GOGC for %s (calls: %v)", what, f.set)
}

func TestGCPacerRun(t *testing.T) {
	const mib = 1 << 20
	f := &fakeRuntime{live: 650 * mib, held: 700 * mib, gogc: 100}
	p := &gcPacer{h: gcHeadroom{pace: true}, tick: 5 * time.Millisecond, read: f.read, set: f.setGC, free: f.free}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	// Little allocation: the headroom falls to the floor.
	f.waitFor(t, "a serving catalogue", func(g int) bool { return g == 10 })
	// An import starts: the rate rises at once, the headroom with it. Its garbage is not handed back
	// meanwhile (the runtime's own headroom is what the import needs).
	f.mu.Lock()
	if f.frees != 0 {
		t.Fatalf("%d collections forced while 700 MiB were held for 650 live", f.frees)
	}
	f.step = 100 * mib // per 5 ms tick: far above what 650 MiB of headroom would hold for 2 s
	f.held = 1400 * mib
	f.mu.Unlock()
	f.waitFor(t, "an import", func(g int) bool { return g == 100 })
	f.mu.Lock()
	if f.frees != 0 {
		t.Fatalf("%d collections forced during the import", f.frees)
	}
	// It ends: the headroom comes down again, not at once.
	f.step = 0
	f.mu.Unlock()
	f.waitFor(t, "the end of the import", func(g int) bool { return g == 10 })
	// And the import's garbage is collected and handed back, once.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		f.mu.Lock()
		n, held := f.frees, f.held
		f.mu.Unlock()
		if n > 0 {
			if n != 1 || held != f.live {
				t.Fatalf("%d collections forced, %d MiB held after them", n, held>>20)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the import's garbage was never collected")
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if f.gogc != 100 {
		t.Fatalf("after the pacer stopped GOGC is %d, want the 100 it found", f.gogc)
	}
	// The way down went through values between (a fifth of the difference a tick).
	between := false
	for _, g := range f.set {
		between = between || g > 10 && g < 100
	}
	if !between {
		t.Errorf("GOGC went from 100 straight to the floor: %v", f.set)
	}
}

func TestGCHeadroomFlagIsValidated(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("catalogue", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"--gc-headroom", "1MiB"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "gc-headroom") {
		t.Fatalf("Validate: %v, want an error naming gc-headroom", err)
	}
}
