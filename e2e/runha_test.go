package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/etcdtest"
)

// make run-ha's script on free ports: the three etcd members come up healthy; when the services know the etcd
// engine, two replicas of each and the gateway serve the demo catalogue. Every process it starts runs in a
// session of its own, so a terminal's Ctrl-C reaches the script alone, and the script's stop is what stops them:
// the test signals only the script and checks the order (the gateway and the services first, then the members
// one at a time, each gracefully) and that nothing outlives it.
func TestRunHAStartsAndStopsTheCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a three-member etcd cluster and the suite")
	}
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+string(os.PathSeparator), "github.com/cus-suite/cus/platform/cmd/cus-etcd")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build cus-etcd: %v\n%s", err, out)
	}
	for _, b := range []string{catalogueBin, providerBin, referralBin, gatewayBin, cusctlBin} {
		if err := os.Symlink(b, filepath.Join(bin, filepath.Base(b))); err != nil {
			t.Fatal(err)
		}
	}
	replicas := []int{0, 1, 2, 100, 101, 102} // three services, replica 2 a hundred ports up
	etcdPort, grpcPort, adminPort, httpPort := portRun(t, []int{0, 1, 2, 3, 4, 5}), portRun(t, replicas), portRun(t, replicas), portRun(t, []int{0})
	cmd := exec.Command("bash", "scripts/run-ha.sh")
	cmd.Dir = repoRoot
	data := filepath.Join(t.TempDir(), "ha")
	cmd.Env = append(os.Environ(), "CUS_HA_BIN="+bin, "CUS_HA_DATA="+data,
		fmt.Sprintf("CUS_HA_ETCD_PORT=%d", etcdPort), fmt.Sprintf("CUS_HA_GRPC_PORT=%d", grpcPort),
		fmt.Sprintf("CUS_HA_ADMIN_PORT=%d", adminPort), fmt.Sprintf("CUS_HA_HTTP_PORT=%d", httpPort))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	lines := make(chan string, 256)
	done := make(chan struct{})   // closed when the test stops reading lines: the reader then drops them
	reaped := make(chan struct{}) // closed once cmd.Wait has returned
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			// Never blocks for good: after an early failure nobody reads lines, but the script must still be
			// able to write (a full pipe would stop it) and cmd.Wait must still run.
			select {
			case lines <- sc.Text():
			case <-done:
			}
		}
		close(lines)
		exited <- cmd.Wait()
		close(reaped)
	}()
	var children []osProc // what the script started, once it is ready
	t.Cleanup(func() {
		close(done)
		// Whatever happened above, nothing of the script's outlives the test, and neither does the reader. Its
		// children have sessions of their own: the group kill does not reach them.
		for _, c := range append(childrenOf(cmd.Process.Pid), children...) {
			c.kill()
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-reaped:
		case <-time.After(30 * time.Second):
			t.Error("run-ha.sh not reaped 30 s after SIGKILL")
		}
	})

	var printed []string
	ready := time.After(3 * time.Minute)
	for waiting := true; waiting; {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("run-ha.sh ended before it was ready: %v\n%s", <-exited, strings.Join(printed, "\n"))
			}
			printed = append(printed, line)
			waiting = !strings.Contains(line, "Press Ctrl-C to stop.")
		case <-ready:
			t.Fatalf("run-ha.sh not ready after 3 minutes:\n%s", strings.Join(printed, "\n"))
		}
	}
	all := strings.Join(printed, "\n")

	for i := range 3 {
		addr := fmt.Sprintf("127.0.0.1:%d", etcdPort+2*i)
		if body := haGet(t, "http://"+addr+"/health"); !strings.Contains(body, `"health":"true"`) {
			t.Fatalf("member %d at %s: /health = %s", i, addr, body)
		}
	}
	engine := serveHasFlag(t, catalogueBin, "--storage-engine")
	switch {
	case !engine && !strings.Contains(all, "services  not started"):
		t.Fatalf("the services have no etcd engine, yet run-ha.sh did not say it runs only the cluster:\n%s", all)
	case engine:
		gw := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
		if body := haGet(t, gw+"/v1/services/"+demoServiceID); !strings.Contains(body, demoServiceName) {
			t.Fatalf("the demo service through the gateway on etcd: %s", body)
		}
	}

	script, ok := readProc(cmd.Process.Pid)
	if !ok {
		t.Fatal("the script's /proc entry is gone")
	}
	children = childrenOf(cmd.Process.Pid)
	want := 3 // the members, and with the engine six replicas and the gateway
	if engine {
		want = 10
	}
	if len(children) != want {
		t.Fatalf("run-ha.sh has %d children, want %d: %+v", len(children), want, children)
	}
	for _, c := range children {
		if c.sid == script.sid {
			t.Fatalf("child %d shares the script's session %d: a terminal's Ctrl-C would reach it as well", c.pid, c.sid)
		}
	}

	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGINT); err != nil { // the script alone, as a terminal's Ctrl-C now
		t.Fatal(err)
	}
	var stopping []string // what the script printed while it stopped
	stopped := time.After(90 * time.Second)
	for reading := true; reading; {
		select {
		case line, ok := <-lines:
			if reading = ok; ok {
				stopping = append(stopping, line)
			}
		case <-stopped:
			t.Fatalf("run-ha.sh still running 90 s after Ctrl-C:\n%s", strings.Join(stopping, "\n"))
		}
	}
	// The script ends after its stop, with the status of the signal: it used to go on (and start whatever came
	// next, with no trap left) and end with 0.
	var exit *exec.ExitError
	if err := <-exited; !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("run-ha.sh after Ctrl-C ended with %v, want exit status 130\n%s", err, strings.Join(stopping, "\n"))
	}
	t.Logf("run-ha.sh's stop:\n%s", strings.Join(stopping, "\n"))
	// The order of the stop: everything else has stopped before the first member is told to, then the members
	// one at a time (the script waits for each); each member logged its graceful stop.
	at := map[string]int{}
	for i, line := range stopping {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "stopped "); ok {
			at[name] = i
		}
	}
	order := []string{"etcd-e2", "etcd-e1", "etcd-e0"}
	if engine {
		order = append([]string{"gateway", "referral2", "provider2", "catalogue2", "referral1", "provider1", "catalogue1"}, order...)
	}
	for i, name := range order {
		if _, ok := at[name]; !ok {
			t.Fatalf("the stop did not report %s:\n%s", name, strings.Join(stopping, "\n"))
		}
		for _, earlier := range order[:i] {
			if strings.HasPrefix(name, "etcd-") && at[name] < at[earlier] {
				t.Fatalf("%s stopped before %s:\n%s", name, earlier, strings.Join(stopping, "\n"))
			}
		}
	}
	for i := range 3 {
		log, err := os.ReadFile(filepath.Join(data, "log", fmt.Sprintf("etcd-e%d.log", i)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(log), "stopping: a leader hands leadership over first") {
			t.Fatalf("member e%d did not stop gracefully:\n%s", i, log)
		}
	}
	for _, c := range children {
		if c.alive() {
			t.Fatalf("child %d of run-ha.sh outlived its Ctrl-C", c.pid)
		}
	}
	// Every process of the group is gone: kill(-pgid, 0) fails with ESRCH once the group is empty.
	deadline := time.Now().Add(30 * time.Second)
	for syscall.Kill(-cmd.Process.Pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatal("processes started by run-ha.sh outlived its Ctrl-C")
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := range 3 {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", etcdPort+2*i), time.Second); err == nil {
			_ = c.Close()
			t.Fatalf("etcd member %d still accepts connections after Ctrl-C", i)
		}
	}
}

// osProc is a process as /proc shows it; start (its start time in clock ticks) tells it from a later process
// that reuses the pid.
type osProc struct {
	pid, ppid, sid int
	state, start   string
}

func readProc(pid int) (osProc, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return osProc{}, false
	}
	// pid (comm) state ppid pgrp session ... starttime is field 22; comm may hold spaces and parentheses.
	i := strings.LastIndex(string(b), ") ")
	if i < 0 {
		return osProc{}, false
	}
	f := strings.Fields(string(b)[i+2:]) // f[0] is field 3 (state)
	if len(f) < 20 {
		return osProc{}, false
	}
	p := osProc{pid: pid, state: f[0], start: f[19]}
	_, _ = fmt.Sscan(f[1], &p.ppid)
	_, _ = fmt.Sscan(f[3], &p.sid)
	return p, true
}

func childrenOf(pid int) []osProc {
	entries, _ := os.ReadDir("/proc")
	var out []osProc
	for _, e := range entries {
		var n int
		if _, err := fmt.Sscan(e.Name(), &n); err != nil {
			continue
		}
		if p, ok := readProc(n); ok && p.ppid == pid {
			out = append(out, p)
		}
	}
	return out
}

// alive reports whether the process still runs (a zombie or a new process on the same pid does not count).
func (p osProc) alive() bool {
	now, ok := readProc(p.pid)
	return ok && now.start == p.start && now.state != "Z"
}

func (p osProc) kill() {
	if p.alive() {
		_ = syscall.Kill(p.pid, syscall.SIGKILL)
	}
}

// portRun finds a base port such that base+offset is free now for every offset (the script derives its ports
// from a base), below the kernel's ephemeral range so that no outgoing connection takes one meanwhile.
func portRun(t *testing.T, offsets []int) int {
	t.Helper()
	base, err := etcdtest.FreePortRun(offsets)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

func haGet(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBodyBytes))
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

func serveHasFlag(t *testing.T, bin, flag string) bool {
	t.Helper()
	out, _ := exec.Command(bin, "serve", "--help").CombinedOutput() // --help exits non-zero on some builds
	return strings.Contains(string(out), flag)
}
