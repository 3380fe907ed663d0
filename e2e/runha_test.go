package e2e

import (
	"bufio"
	"context"
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
)

// make run-ha's script on free ports: the three etcd members come up healthy; when the services know the etcd
// engine, two replicas of each and the gateway serve the demo catalogue; Ctrl-C (SIGINT to the process group,
// as a terminal sends it) stops every process it started.
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
	cmd.Env = append(os.Environ(), "CUS_HA_BIN="+bin, "CUS_HA_DATA="+filepath.Join(t.TempDir(), "ha"),
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
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		// Whatever happened above, nothing of the script's outlives the test.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
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
	go func() { // keep draining, so the script never blocks on a full pipe
		for range lines {
		}
	}()
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

	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(90 * time.Second):
		t.Fatal("run-ha.sh still running 90 s after Ctrl-C")
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

// portRun finds a base port such that base+offset is free now for every offset (the script derives its ports
// from a base).
func portRun(t *testing.T, offsets []int) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		base := l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		free := true
		for _, off := range offsets {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+off))
			if err != nil {
				free = false
				break
			}
			_ = l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatalf("no free ports at offsets %v", offsets)
	return 0
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
