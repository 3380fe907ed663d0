//go:build robustness

package e2e

// The robustness harness (make robustness; make robustness-short in CI): for each service, kill -9 loops under
// concurrent load with a ledger of every acknowledged write, and a disk-full run on a small loop-mounted ext4.
// After each restart everything the ledger holds is read back: acknowledged creates are present with at least
// the acknowledged version, acknowledged deletes stay absent, referral statuses are at least as far as
// acknowledged, and the service's revision never goes below the highest acknowledged. Writes that were in
// flight at the kill (no answer) may or may not have happened; the harness adopts what it reads back.
// docs/robustness.md says how to run it and what it found last.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

var (
	robustCycles   = flag.Int("robust.cycles", 5, "kill -9 cycles per service")
	robustWriters  = flag.Int("robust.writers", 8, "concurrent writers per service")
	robustMaxLoad  = flag.Duration("robust.load", 1500*time.Millisecond, "longest load of a cycle: the kill comes at a random moment up to this")
	robustDiskFull = flag.Bool("robust.diskfull", true, "also run the disk-full scenario (needs root for the loop mount)")
	robustServices = flag.String("robust.services", "catalogue,provider,referral", "services to run, comma-separated")
)

// robustTally is one service's figures for the summary.
type robustTally struct {
	service  string
	cycles   int
	acked    atomic.Int64 // writes answered OK
	verified int64        // acknowledged writes checked after a restart
	reads    int64        // objects read back and compared
	kills    int
	diskFull string // outcome of the disk-full run
	lost     int    // acknowledged writes missing, deletes resurrected, revisions gone back
	unacked  atomic.Int64
	codes    sync.Map // error code -> *atomic.Int64, of writes that failed
}

func (t *robustTally) failed(err error) {
	t.unacked.Add(1)
	c := status.Code(err).String()
	v, _ := t.codes.LoadOrStore(c, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
}

func (t *robustTally) codeSummary() string {
	var parts []string
	t.codes.Range(func(k, v any) bool {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v.(*atomic.Int64).Load()))
		return true
	})
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// workload is the load and the ledger of one service.
type workload interface {
	// setup prepares what the writers need (tokens, agreements, residents) once the stack runs.
	setup(t *testing.T, k *stack)
	// write performs one operation of writer w and records it in the ledger when acknowledged; the error is
	// the call's (nil when acknowledged).
	write(ctx context.Context, w int, rng *rand.Rand) error
	// verify reads back everything in the ledger after a restart; violations are reported through lost, the
	// ledger then adopts what was read for writes that were in flight. It returns the acknowledged writes
	// covered and the objects read.
	verify(t *testing.T, ctx context.Context) (verified, reads int64, lost []string)
	// probe reads one acknowledged object (reads must keep being served on a full disk).
	probe(ctx context.Context) error
}

// TestRobustness runs, per service, the kill -9 loop and the disk-full run, and prints the summary.
func TestRobustness(t *testing.T) {
	var tallies []*robustTally
	for _, svc := range strings.Split(*robustServices, ",") {
		svc = strings.TrimSpace(svc)
		tl := &robustTally{service: svc}
		tallies = append(tallies, tl)
		t.Run(svc+"/kill9", func(t *testing.T) { runKillLoop(t, svc, tl) })
		if *robustDiskFull {
			t.Run(svc+"/diskfull", func(t *testing.T) { runDiskFull(t, svc, tl) })
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\n== robustness summary (%d writers, kill within %s of load)\n", *robustWriters, *robustMaxLoad)
	fmt.Fprintf(&b, "%-10s %6s %6s %9s %9s %8s %6s  %s\n", "service", "cycles", "kills", "acked", "verified", "reads", "lost", "disk-full")
	for _, tl := range tallies {
		fmt.Fprintf(&b, "%-10s %6d %6d %9d %9d %8d %6d  %s\n", tl.service, tl.cycles, tl.kills, tl.acked.Load(), tl.verified, tl.reads, tl.lost, tl.diskFull)
	}
	for _, tl := range tallies {
		fmt.Fprintf(&b, "%-10s unacknowledged writes: %d (%s)\n", tl.service, tl.unacked.Load(), tl.codeSummary())
	}
	fmt.Print(b.String())
	if dir := os.Getenv("CUS_ROBUST_SUMMARY"); dir != "" {
		_ = os.WriteFile(dir, []byte(b.String()), 0o644)
	}
}

func newWorkload(svc string) workload {
	switch svc {
	case "catalogue":
		return &catalogueLoad{}
	case "provider":
		return &providerLoad{}
	case "referral":
		return &referralLoad{}
	}
	return nil
}

// runKillLoop: load from several writers, SIGKILL at a random moment, restart, verify; cycles times.
func runKillLoop(t *testing.T, svc string, tl *robustTally) {
	wl := newWorkload(svc)
	if wl == nil {
		t.Fatalf("unknown service %q", svc)
	}
	if *robustCycles == 0 {
		t.Skip("-robust.cycles=0")
	}
	k := newStack(t, svc, "")
	wl.setup(t, k)
	for c := 1; c <= *robustCycles; c++ {
		ctx, cancel := context.WithCancel(context.Background())
		// A write refused while the service is up (before the kill) is a finding too: a stale etag on a
		// writer's own object, an INTERNAL. Only what the kill cuts off may fail.
		var killing atomic.Bool
		var unexpectedMu sync.Mutex
		var unexpected []string
		var wg sync.WaitGroup
		for w := range *robustWriters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(c), uint64(w)))
				for ctx.Err() == nil {
					cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
					err := wl.write(cctx, w, rng)
					ccancel()
					if err == nil {
						tl.acked.Add(1)
						continue
					}
					if ctx.Err() != nil {
						return
					}
					if !killing.Load() {
						unexpectedMu.Lock()
						unexpected = append(unexpected, err.Error())
						unexpectedMu.Unlock()
					}
					tl.failed(err)
					if status.Code(err) == codes.Unavailable {
						time.Sleep(20 * time.Millisecond)
					}
				}
			}()
		}
		load := time.Duration(100+rand.Int64N(int64(*robustMaxLoad/time.Millisecond))) * time.Millisecond
		time.Sleep(load)
		killing.Store(true)
		k.kill(svc)
		tl.kills++
		cancel()
		wg.Wait()
		k.start(svc)
		vctx, vcancel := context.WithTimeout(context.Background(), 2*time.Minute)
		verified, reads, lost := wl.verify(t, vctx)
		vcancel()
		tl.cycles++
		tl.verified += verified
		tl.reads += reads
		tl.lost += len(lost)
		for _, l := range lost {
			t.Errorf("cycle %d: %s", c, l)
		}
		for i, u := range unexpected {
			if i == 5 {
				t.Errorf("cycle %d: ... %d more writes refused before the kill", c, len(unexpected)-i)
				break
			}
			t.Errorf("cycle %d: a write refused before the kill: %s", c, u)
		}
		t.Logf("cycle %d: killed after %s; %d acknowledged so far, %d verified this cycle, %d objects read", c, load, tl.acked.Load(), verified, reads)
		if t.Failed() {
			break
		}
	}
	k.stopAll(t)
}

// ---- disk full ----

const diskImageSize = "48M"

// mountSmallDisk makes a 48 MB ext4 image, loop-mounts it and returns the mount point; skips without root.
func mountSmallDisk(t *testing.T) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk-full run skipped: a loop mount needs root (CI runs as root)")
	}
	for _, tool := range []string{"mkfs.ext4", "mount", "umount", "truncate"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("disk-full run skipped: %s not found", tool)
		}
	}
	base := t.TempDir()
	img, mnt := filepath.Join(base, "disk.img"), filepath.Join(base, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][]string{{"truncate", "-s", diskImageSize, img}, {"mkfs.ext4", "-q", img}, {"mount", "-o", "loop", img, mnt}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			if c[0] == "mount" {
				t.Skipf("disk-full run skipped: mount -o loop failed (no loop devices in this container?): %v %s", err, out)
			}
			t.Fatalf("%s: %v %s", strings.Join(c, " "), err, out)
		}
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			_ = exec.Command("umount", "-l", mnt).Run()
			t.Logf("umount %s: %v %s", mnt, err, out)
		}
	})
	return mnt
}

// fillDisk writes a filler file until the filesystem refuses more (ENOSPC).
func fillDisk(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("filler: %v", err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = byte(i*7 + 1) // not zeros, so nothing can store it sparsely
	}
	var n int64
	for {
		m, err := f.Write(buf)
		n += int64(m)
		if err != nil {
			break
		}
	}
	_ = f.Sync()
	return n
}

// runDiskFull: the service's data directory on a 48 MB filesystem, filled by a filler file; load until the
// writes are refused; the refusal is RESOURCE_EXHAUSTED, reads keep being served; after the filler is deleted
// writes resume without a restart; after a kill -9 and restart nothing acknowledged is lost.
func runDiskFull(t *testing.T, svc string, tl *robustTally) {
	tl.diskFull = "skipped"
	mnt := mountSmallDisk(t)
	wl := newWorkload(svc)
	k := newStack(t, svc, filepath.Join(mnt, "data"))
	wl.setup(t, k)
	ctx := context.Background()
	// Some acknowledged writes before the disk fills.
	for i := range 20 {
		if err := writeOnce(ctx, wl, i); err == nil {
			tl.acked.Add(1)
		}
	}
	filler := filepath.Join(mnt, "filler")
	filled := fillDisk(t, filler)
	t.Logf("filler of %d bytes fills the disk", filled)

	// Load until writes have been refused 20 times (bbolt first uses the free pages its file already has, and a
	// store whose writes also free pages, as releases do, may succeed between refusals).
	var refusal error
	deadline := time.Now().Add(90 * time.Second)
	refusals := 0
	for i := 0; time.Now().Before(deadline) && refusals < 20; i++ {
		err := writeOnce(ctx, wl, i)
		switch {
		case err == nil:
			tl.acked.Add(1)
		case k.exited(svc):
			tl.diskFull = "the process died on a full disk"
			t.Fatalf("%s died on a full disk:\n%s", svc, k.procs[svc].output())
		default:
			tl.failed(err)
			refusal = err
			refusals++
		}
	}
	if refusal == nil {
		tl.diskFull = "writes never refused"
		t.Fatalf("writes were never refused on a full disk")
	}
	code, reason := status.Code(refusal), grpcReason(refusal)
	observed := code.String()
	if reason != "" {
		observed += "/" + reason
	}
	t.Logf("writes on a full disk refused with %s: %v", observed, refusal)
	tl.diskFull = "refused " + observed
	if code != codes.ResourceExhausted || reason != "DISK_FULL" {
		t.Errorf("a write on a full disk is refused with %s (%v), want RESOURCE_EXHAUSTED/DISK_FULL", observed, refusal)
	}
	if err := wl.probe(ctx); err != nil {
		t.Errorf("a read on a full disk failed: %v", err)
		tl.diskFull += ", reads FAIL"
	} else {
		tl.diskFull += ", reads ok"
	}

	// Space freed: writes resume by themselves, no restart.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	resumed := false
	for end := time.Now().Add(30 * time.Second); time.Now().Before(end); {
		if err := writeOnce(ctx, wl, 0); err == nil {
			tl.acked.Add(1)
			resumed = true
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !resumed {
		t.Errorf("writes did not resume within 30s of freeing space")
		tl.diskFull += ", no resume"
	} else {
		tl.diskFull += ", resumed"
	}

	k.kill(svc)
	tl.kills++
	k.start(svc)
	vctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	verified, reads, lost := wl.verify(t, vctx)
	tl.verified += verified
	tl.reads += reads
	tl.lost += len(lost)
	for _, l := range lost {
		t.Errorf("after the disk-full run: %s", l)
	}
	if len(lost) == 0 {
		tl.diskFull += ", lost 0"
	}
	k.stopAll(t)
}

// writeSeq gives every writeOnce its own random stream (client-chosen ids must not repeat).
var writeSeq atomic.Uint64

func writeOnce(ctx context.Context, wl workload, _ int) error {
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return wl.write(cctx, 0, rand.New(rand.NewPCG(writeSeq.Add(1), uint64(time.Now().UnixNano()))))
}

// ---- the stack: the catalogue, and as the service under test needs, the provider registry and the referral
// service, on fixed loopback ports so that a restarted process is found at the same address ----

type stack struct {
	t        *testing.T
	tokens   *suite // for mint (keysDir and the token cache)
	keysDir  string
	base     string
	grpc     map[string]string
	admin    map[string]string
	dataDirs map[string]string
	procs    map[string]*proc
	previous map[string][]*proc // the processes killed before, for their logs
	conns    map[string]*grpc.ClientConn
	svcToken string
}

var stackOrder = []string{"catalogue", "provider", "referral"}

// newStack starts the services svc needs (the catalogue for everything, the provider registry for the
// provider and the referral service); dataDir, when set, is the data directory of svc.
func newStack(t *testing.T, svc, dataDir string) *stack {
	base := t.TempDir()
	k := &stack{t: t, base: base, keysDir: filepath.Join(base, "dev"),
		grpc: map[string]string{}, admin: map[string]string{}, dataDirs: map[string]string{},
		procs: map[string]*proc{}, previous: map[string][]*proc{}, conns: map[string]*grpc.ClientConn{}}
	k.tokens = &suite{t: t, keysDir: k.keysDir}
	addrs := freeAddrs(t, 6)
	for i, name := range stackOrder {
		k.grpc[name], k.admin[name] = addrs[2*i], addrs[2*i+1]
		k.dataDirs[name] = filepath.Join(base, name)
	}
	if dataDir != "" {
		k.dataDirs[svc] = dataDir
	}
	k.svcToken = filepath.Join(base, "referral-service.token")
	need := map[string]bool{"catalogue": true, "provider": svc != "catalogue", "referral": svc == "referral"}
	for _, name := range stackOrder {
		if need[name] {
			k.start(name)
		}
	}
	t.Cleanup(func() {
		for _, c := range k.conns {
			c.Close()
		}
		for _, name := range []string{"referral", "provider", "catalogue"} {
			if p := k.procs[name]; p != nil && !p.markEnded() {
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		if t.Failed() {
			for _, name := range stackOrder {
				if p := k.procs[name]; p != nil {
					var errs []string
					for _, q := range append(k.previous[name], p) {
						if e := errorLines(q.stderr.String(), 5); e != "" {
							errs = append(errs, e)
						}
					}
					t.Logf("---- %s stderr: errors (every run) ----\n%s\n---- %s stderr (last lines) ----\n%s", name,
						strings.Join(errs, "\n"), name, lastLines(p.stderr.String(), 30))
				}
			}
		}
	})
	return k
}

// lastLines is the end of a process's log (a failed run's full logs are hundreds of thousands of lines).
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// errorLines are the first n log lines of level error (the causes of INTERNAL answers are logged there).
func errorLines(s string, n int) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, `"level":"error"`) && len(out) < n {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func (k *stack) args(name string) []string {
	// The load comes from one address and one caller per role, far above the production rate limits.
	return append(k.serviceArgs(name), "--rate-per-caller", "0", "--rate-per-address", "0")
}

func (k *stack) serviceArgs(name string) []string {
	switch name {
	case "catalogue":
		return append(catalogueArgs(k.dataDirs[name], k.keysDir, k.grpc[name], k.admin[name], true), "--provider-addr", k.grpc["provider"])
	case "provider":
		return append(providerArgs(k.dataDirs[name], k.keysDir, k.grpc[name], k.admin[name]), "--catalogue-addr", k.grpc["catalogue"])
	default:
		return append(referralArgs(k.dataDirs[name], k.keysDir, k.grpc[name], k.admin[name], k.grpc["catalogue"], k.grpc["provider"]),
			"--service-token-file", k.svcToken,
			// The key ring and the audit anchors live apart from the data directory (which may be the small disk).
			"--data-key-file", filepath.Join(k.keysDir, "referral-data.keys"),
			"--audit-anchor-file", filepath.Join(k.keysDir, "referral-audit.anchors"))
	}
}

var binaries = map[string]*string{"catalogue": &catalogueBin, "provider": &providerBin, "referral": &referralBin}

// start (re)starts one service and waits until it listens.
func (k *stack) start(name string) {
	k.t.Helper()
	if name == "referral" {
		if _, err := os.Stat(k.svcToken); err != nil {
			tok := k.tokens.mint(k.t, "referral-service", "--role", "integration", "--subject", "referral-service")
			if err := os.WriteFile(k.svcToken, []byte(tok), 0o600); err != nil {
				k.t.Fatal(err)
			}
		}
	}
	if old := k.procs[name]; old != nil {
		k.previous[name] = append(k.previous[name], old)
	}
	p := startProc(k.t, name, *binaries[name], k.args(name), nil)
	k.procs[name] = p
	if err := waitListening(p, "grpc", k.grpc[name]); err != nil {
		k.t.Fatalf("restart %s: %v\n%s", name, err, p.output())
	}
}

func (k *stack) kill(name string) {
	k.t.Helper()
	k.procs[name].kill(k.t)
}

func (k *stack) exited(name string) bool { return k.procs[name].exited() }

// stopAll stops the processes with SIGTERM, the service under test first; each must exit 0.
func (k *stack) stopAll(t *testing.T) {
	for _, name := range []string{"referral", "provider", "catalogue"} {
		if p := k.procs[name]; p != nil {
			p.stop(t)
		}
	}
}

// conn is a client connection to a service; gRPC reconnects by itself after a restart on the same address.
func (k *stack) conn(name string) *grpc.ClientConn {
	k.t.Helper()
	if c, ok := k.conns[name]; ok {
		return c
	}
	c, err := grpc.NewClient(k.grpc[name], grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		k.t.Fatal(err)
	}
	k.conns[name] = c
	return c
}

// etagRevision reads the revision out of an etag ("r" + base 36, platform/storage.Etag).
func etagRevision(etag string) int64 {
	if !strings.HasPrefix(etag, "r") {
		return -1
	}
	n, err := strconv.ParseInt(etag[1:], 36, 64)
	if err != nil {
		return -1
	}
	return n
}

// retryRead repeats a read while the service is still coming up (UNAVAILABLE) or its deadline is not reached.
func retryRead[T any](ctx context.Context, f func(context.Context) (T, error)) (T, error) {
	for {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		v, err := f(cctx)
		cancel()
		if err == nil || status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return v, err
		}
		select {
		case <-ctx.Done():
			return v, errors.Join(err, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// maxInt64 raises *p to v.
func maxInt64(mu *sync.Mutex, p *int64, v int64) {
	mu.Lock()
	if v > *p {
		*p = v
	}
	mu.Unlock()
}

// TestRobustnessDetectsLoss proves the checker: the catalogue's data directory is rolled back to a copy taken
// before more writes were acknowledged (what a lost commit looks like from outside), and verify must report
// the missing writes and the revision gone back.
func TestRobustnessDetectsLoss(t *testing.T) {
	wl := &catalogueLoad{}
	k := newStack(t, "catalogue", "")
	wl.setup(t, k)
	ctx := context.Background()
	for i := range 30 {
		if err := writeOnce(ctx, wl, i); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	k.kill("catalogue")
	snapshot := filepath.Join(k.base, "snapshot")
	if out, err := exec.Command("cp", "-a", k.dataDirs["catalogue"], snapshot).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	k.start("catalogue")
	if _, _, lost := wl.verify(t, ctx); len(lost) != 0 {
		t.Fatalf("before the rollback: %v", lost)
	}
	for i := range 30 {
		if err := writeOnce(ctx, wl, i); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	k.kill("catalogue")
	if err := os.RemoveAll(k.dataDirs["catalogue"]); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(snapshot, k.dataDirs["catalogue"]); err != nil {
		t.Fatal(err)
	}
	k.start("catalogue")
	_, _, lost := wl.verify(t, ctx)
	var missing, revision bool
	for _, l := range lost {
		missing = missing || strings.Contains(l, "missing after the restart") || strings.Contains(l, "read back older") || strings.Contains(l, "back after the restart")
		revision = revision || strings.Contains(l, "revision went back")
	}
	if !missing || !revision {
		t.Fatalf("a rolled-back data directory was not reported (missing or older writes: %v, revision back: %v): %v", missing, revision, lost)
	}
	t.Logf("the rollback was reported: %d findings, e.g. %q", len(lost), lost[0])
	k.stopAll(t)
}
