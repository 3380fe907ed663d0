package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of the CPU times in /proc (100 on every Linux architecture Go supports).
const clockTicks = 100

// CPUReport is the CPU time one process used during the timed phase.
type CPUReport struct {
	Name         string  `json:"name"`
	PID          int     `json:"pid"`
	Seconds      float64 `json:"cpu_s"`
	Cores        float64 `json:"cores"`          // average cores busy: Seconds / elapsed
	PerRequestUs float64 `json:"per_request_us"` // Seconds / requests, in microseconds
}

// MachineCPU is what the whole machine did during the timed phase, from /proc/stat.
type MachineCPU struct {
	BusyCores  float64 `json:"busy_cores"`  // non-idle CPU time / elapsed
	OtherCores float64 `json:"other_cores"` // busy cores not accounted for by the processes measured (other work, kernel)
}

// pidList is the --cpu-pids flag: name=pid,name=pid.
type pidList []struct {
	name string
	pid  int
}

func (p *pidList) String() string {
	var parts []string
	for _, e := range *p {
		parts = append(parts, fmt.Sprintf("%s=%d", e.name, e.pid))
	}
	return strings.Join(parts, ",")
}

func (p *pidList) Set(s string) error {
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		name, v, ok := strings.Cut(part, "=")
		pid, err := strconv.Atoi(v)
		if !ok || err != nil || pid <= 0 {
			return fmt.Errorf("%q is not name=pid", part)
		}
		*p = append(*p, struct {
			name string
			pid  int
		}{name, pid})
	}
	return nil
}

func registerCPUFlag(fs *flag.FlagSet, p *pidList) {
	fs.Var(p, "cpu-pids", "name=pid,... of server processes whose CPU time per request to report (the generator's own is always reported)")
}

// procTicks returns utime+stime of a process in clock ticks.
func procTicks(pid int) (int64, error) {
	path := "/proc/self/stat"
	if pid > 0 {
		path = fmt.Sprintf("/proc/%d/stat", pid)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	return u + st, nil
}

// machineTicks returns the total and idle (idle+iowait) ticks of all CPUs from /proc/stat.
func machineTicks() (total, idle int64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return 0, 0, fmt.Errorf("/proc/stat: unexpected format")
	}
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/stat: %w", err)
		}
		if i >= 8 { // guest and guest_nice are already counted in user and nice
			break
		}
		total += n
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return total, idle, nil
}

// cpuMeter adds up the CPU times of the processes and of the machine over one or more timed slices (begin and
// stop bracket each). Failures to read leave figures out rather than failing the run: the accounting is
// diagnostic.
type cpuMeter struct {
	selfName string // default "generator"
	pids     pidList

	snapPids          []int64
	snapSelf          int64
	snapTot, snapIdl  int64
	snapOK            bool
	accPids           []int64
	accSelf           int64
	accTot, accIdl    int64
	slices, badSlices int
}

func (m *cpuMeter) begin() {
	m.snapPids = make([]int64, len(m.pids))
	m.snapOK = true
	for i, p := range m.pids {
		t, err := procTicks(p.pid)
		m.snapPids[i] = t
		m.snapOK = m.snapOK && err == nil
	}
	var err1, err2 error
	m.snapSelf, err1 = procTicks(0)
	m.snapTot, m.snapIdl, err2 = machineTicks()
	m.snapOK = m.snapOK && err1 == nil && err2 == nil
}

func (m *cpuMeter) stop() {
	if m.accPids == nil {
		m.accPids = make([]int64, len(m.pids))
	}
	m.slices++
	if !m.snapOK {
		m.badSlices++
		return
	}
	deltas := make([]int64, len(m.pids))
	for i, p := range m.pids {
		t, err := procTicks(p.pid)
		if err != nil {
			m.badSlices++
			return
		}
		deltas[i] = t - m.snapPids[i]
	}
	self, err1 := procTicks(0)
	tot, idl, err2 := machineTicks()
	if err1 != nil || err2 != nil {
		m.badSlices++
		return
	}
	for i, d := range deltas {
		m.accPids[i] += d
	}
	m.accSelf += self - m.snapSelf
	m.accTot += tot - m.snapTot
	m.accIdl += idl - m.snapIdl
}

// report puts the accumulated figures into r (whose Requests and ElapsedS cover the same slices).
func (m *cpuMeter) report(r *Report) {
	if m.slices == 0 || m.badSlices > 0 || r.ElapsedS <= 0 {
		return
	}
	var ours float64
	add := func(name string, pid int, ticks int64) {
		sec := float64(ticks) / clockTicks
		ours += sec
		c := CPUReport{Name: name, PID: pid, Seconds: sec, Cores: sec / r.ElapsedS}
		if r.Requests > 0 {
			c.PerRequestUs = sec / float64(r.Requests) * 1e6
		}
		r.CPU = append(r.CPU, c)
	}
	self := m.selfName
	if self == "" {
		self = "generator"
	}
	add(self, os.Getpid(), m.accSelf)
	for i, p := range m.pids {
		add(p.name, p.pid, m.accPids[i])
	}
	// /proc/stat counts every CPU; ticks per second of wall time are clockTicks per CPU.
	busy := float64(m.accTot-m.accIdl) / clockTicks
	r.Machine = &MachineCPU{BusyCores: busy / r.ElapsedS, OtherCores: max(0, busy-ours) / r.ElapsedS}
}

func printCPU(r *Report) {
	if len(r.CPU) == 0 {
		return
	}
	var parts []string
	for _, c := range r.CPU {
		parts = append(parts, fmt.Sprintf("%s %.0f µs (%.2f cores)", c.Name, c.PerRequestUs, c.Cores))
	}
	fmt.Printf("  %-22s %s\n", "cpu per request", strings.Join(parts, ", "))
	if m := r.Machine; m != nil {
		fmt.Printf("  %-22s %.2f of %d cores busy, %.2f of them outside the processes above (other work, kernel threads)\n",
			"machine", m.BusyCores, r.NumCPU, m.OtherCores)
	}
}

// busyCommand prints how many cores the machine keeps busy over an interval, before anything is started: a
// machine that is not quiet gives disturbed figures.
func busyCommand(args []string) error {
	fs := flag.NewFlagSet("cusbench busy", flag.ContinueOnError)
	d := fs.Duration("for", time.Second, "how long to watch")
	if err := fs.Parse(args); err != nil {
		return err
	}
	t0, i0, err := machineTicks()
	if err != nil {
		return err
	}
	start := time.Now()
	time.Sleep(*d)
	t1, i1, err := machineTicks()
	if err != nil {
		return err
	}
	fmt.Printf("%.2f\n", float64((t1-t0)-(i1-i0))/clockTicks/time.Since(start).Seconds())
	return nil
}
