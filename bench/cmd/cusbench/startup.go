package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// startupCommand starts the catalogue, polls grpc.health.v1 every 5 ms until SERVING, prints the time from
// process start and its memory, and leaves it running (its PID goes to --pid-file for the caller to stop it).
func startupCommand(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("cusbench startup", flag.ContinueOnError)
	bin := fs.String("bin", "bin/catalogue", "catalogue binary")
	dataDir := fs.String("data-dir", "", "data directory (a generated catalogue)")
	listen := fs.String("listen", "127.0.0.1:17001", "gRPC address for the catalogue")
	admin := fs.String("admin-listen", "127.0.0.1:17101", "admin address for the catalogue")
	logFile := fs.String("log", "", "file for the catalogue's log (default: discarded)")
	pidFile := fs.String("pid-file", "", "write the catalogue's PID here")
	poll := fs.Duration("poll", 5*time.Millisecond, "health poll interval")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up (and stop the process) after this long")
	label := fs.String("label", "startup", "name of this run in the report")
	out := fs.String("out", "", "also write the JSON result to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir == "" {
		return errors.New("--data-dir is required")
	}
	// Someone else's server on the address would answer the health check in its place.
	for _, a := range []string{*listen, *admin} {
		l, err := net.Listen("tcp", a)
		if err != nil {
			return fmt.Errorf("%s is not free: %w", a, err)
		}
		l.Close()
	}
	// The health client exists before the process does. Reconnection backoff is pinned to the poll interval,
	// so a refused connection (port not bound yet) is retried within 5 ms instead of grpc's default 1 s+. It
	// dials the one process it started, not through platform/grpcclient: that one's reconnect backoff and
	// retries would blur the time to SERVING it measures.
	cc, err := grpc.NewClient(*listen,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: *poll, Multiplier: 1, Jitter: 0, MaxDelay: *poll},
			MinConnectTimeout: time.Second,
		}),
	)
	if err != nil {
		return err
	}
	defer cc.Close()
	health := healthpb.NewHealthClient(cc)

	cmdArgs := append([]string{"serve", "--data-dir", *dataDir, "--listen", *listen, "--admin-listen", *admin}, fs.Args()...)
	cmd := exec.Command(*bin, cmdArgs...)
	var logf *os.File
	if *logFile != "" {
		if logf, err = os.OpenFile(*logFile, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644); err != nil {
			return err
		}
		defer logf.Close()
		cmd.Stdout, cmd.Stderr = logf, logf
	}
	fmt.Printf("== %s: %s %s\n", *label, *bin, strings.Join(cmdArgs, " "))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	pid := cmd.Process.Pid
	if *pidFile != "" {
		if err := os.WriteFile(*pidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
			_ = cmd.Process.Kill()
			return err
		}
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	fail := func(err error) error {
		_ = cmd.Process.Kill()
		if *logFile != "" {
			if b, rerr := os.ReadFile(*logFile); rerr == nil {
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				fmt.Fprintln(os.Stderr, strings.Join(lines[max(0, len(lines)-20):], "\n"))
			}
		}
		return err
	}
	deadline := time.After(*timeout)
	tick := time.NewTicker(*poll)
	defer tick.Stop()
	polls := 0
	var serving time.Duration
	for serving == 0 {
		select {
		case err := <-exited:
			return fail(fmt.Errorf("catalogue exited before serving: %w", err))
		case <-deadline:
			return fail(fmt.Errorf("catalogue not SERVING after %s", *timeout))
		case <-ctx.Done():
			return fail(ctx.Err())
		case <-tick.C:
		}
		polls++
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := health.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			serving = time.Since(start)
		}
	}
	mem, err := procStatus(pid)
	if err != nil {
		return fail(err)
	}
	// The port was free a moment before the start, but another process could have taken it since: make sure the
	// SERVING answer came from the process we started.
	if own, err := listensOn(pid, *listen); err != nil {
		return fail(err)
	} else if !own {
		return fail(fmt.Errorf("something else listens on %s: the SERVING answer was not from pid %d", *listen, pid))
	}
	r := newReport("startup", *label)
	r.Target = *listen
	r.PID = pid
	r.ServingS = serving.Seconds()
	mem.fill(r)
	if *logFile != "" {
		r.SelfReportedS, r.Services = readyLine(*logFile)
	}
	fmt.Printf("  %-22s %.3f s from process start to grpc.health.v1 SERVING (%d polls every %s)\n", "start-up", r.ServingS, polls, *poll)
	if r.SelfReportedS > 0 {
		fmt.Printf("  %-22s %.3f s (the catalogue's own \"catalogue ready\" log line: open store + build index), %d services\n", "", r.SelfReportedS, r.Services)
	}
	fmt.Printf("  %-22s VmRSS %.1f MiB (RssAnon %.1f MiB, RssFile %.1f MiB), VmHWM (peak) %.1f MiB\n", "memory at SERVING",
		float64(mem.rss)/1024, float64(mem.anon)/1024, float64(mem.file)/1024, float64(mem.hwm)/1024)
	fmt.Printf("  %-22s %d (left running)\n", "pid", pid)
	return r.emit(*out, "")
}

// listensOn reports whether process pid holds the listening TCP socket of addr (an IPv4 host:port), by matching
// the socket's inode in /proc/net/tcp with the process's file descriptors.
func listensOn(pid int, addr string) (bool, error) {
	ta, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return false, err
	}
	b, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return false, err
	}
	ip4 := ta.IP.To4()
	// /proc/net/tcp writes the address as the 32-bit value in host (little-endian) order, the port big-endian.
	want := fmt.Sprintf("%02X%02X%02X%02X:%04X", ip4[3], ip4[2], ip4[1], ip4[0], ta.Port)
	inodes := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) >= 10 && f[1] == want && f[3] == "0A" { // 0A: LISTEN
			inodes["socket:["+f[9]+"]"] = true
		}
	}
	if len(inodes) == 0 {
		return false, fmt.Errorf("no listening socket on %s in /proc/net/tcp", addr)
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false, err
	}
	for _, fd := range fds {
		if target, err := os.Readlink(dir + "/" + fd.Name()); err == nil && inodes[target] {
			return true, nil
		}
	}
	return false, nil
}

// readyLine finds the catalogue's "catalogue ready" JSON log line and returns its startup seconds and services.
func readyLine(path string) (float64, int) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if !bytes.Contains(sc.Bytes(), []byte(`"catalogue ready"`)) {
			continue
		}
		var line struct {
			Startup  float64 `json:"startup"`
			Services int     `json:"services"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil {
			return line.Startup, line.Services
		}
	}
	return 0, 0
}

// memStatus is the memory of a process as /proc/<pid>/status gives it, in KiB.
type memStatus struct{ rss, hwm, anon, file, shmem int64 }

func (m memStatus) fill(r *Report) {
	r.VmRSSKiB, r.VmHWMKiB, r.RssAnonKiB, r.RssFileKiB, r.RssShmemKiB = m.rss, m.hwm, m.anon, m.file, m.shmem
}

// procStatus reads VmRSS, VmHWM, RssAnon, RssFile and RssShmem (KiB) from /proc/<pid>/status.
func procStatus(pid int) (memStatus, error) {
	var m memStatus
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, err
	}
	fields := map[string]*int64{"VmRSS": &m.rss, "VmHWM": &m.hwm, "RssAnon": &m.anon, "RssFile": &m.file, "RssShmem": &m.shmem}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		dst := fields[k]
		if !ok || dst == nil {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return m, fmt.Errorf("/proc/%d/status %s: %w", pid, k, err)
		}
		*dst = n
	}
	if m.rss == 0 {
		return m, fmt.Errorf("/proc/%d/status has no VmRSS", pid)
	}
	return m, nil
}

// loadAvg1 is the 1-minute load average, or 0 when /proc/loadavg cannot be read.
func loadAvg1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func rssCommand(args []string) error {
	fs := flag.NewFlagSet("cusbench rss", flag.ContinueOnError)
	pid := fs.Int("pid", 0, "process id")
	label := fs.String("label", "rss", "name of this reading in the report")
	out := fs.String("out", "", "also write the JSON result to this file")
	if err := fs.Parse(args); err != nil {
		return err
	}
	m, err := procStatus(*pid)
	if err != nil {
		return err
	}
	r := newReport("rss", *label)
	r.PID = *pid
	m.fill(r)
	fmt.Printf("== %s: pid %d VmRSS %.1f MiB (RssAnon %.1f MiB: heap and other private memory; RssFile %.1f MiB: mapped file pages), VmHWM (peak) %.1f MiB\n",
		*label, *pid, float64(m.rss)/1024, float64(m.anon)/1024, float64(m.file)/1024, float64(m.hwm)/1024)
	return r.emit(*out, "")
}

// portsCommand prints, for each wanted port, the port itself when it is free on 127.0.0.1, else a free one the
// system picks (all held open until all are chosen, so they are distinct).
func portsCommand(args []string) error {
	var held []net.Listener
	defer func() {
		for _, l := range held {
			l.Close()
		}
	}()
	var out []string
	for _, a := range args {
		p, err := strconv.Atoi(a)
		if err != nil {
			return fmt.Errorf("port %q: %w", a, err)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
				return err
			}
			fmt.Fprintf(os.Stderr, "port %d is in use, using %d instead\n", p, l.Addr().(*net.TCPAddr).Port)
		}
		held = append(held, l)
		out = append(out, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	fmt.Println(strings.Join(out, " "))
	return nil
}
