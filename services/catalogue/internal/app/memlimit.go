package app

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
)

// The catalogue's memory is mostly the search index: long-lived heap (about 1.2 KiB a service), which the
// collector lets grow to twice its live size before it collects with the default GOGC=100. A soft memory
// limit (the runtime's GOMEMLIMIT) makes it collect harder as the process nears the limit instead, so the
// private memory stays near the index's own size plus the limit's headroom rather than doubling, and the
// container is not OOM-killed for garbage.
//
// --memory-limit (CUS_MEMORY_LIMIT) sets it:
//
//	auto     (default) a GOMEMLIMIT in the environment is kept as the runtime applied it; otherwise, in a
//	         container with a memory limit (cgroup v2 memory.max, or v1 memory.limit_in_bytes), 90% of it;
//	         otherwise none (the collector's GOGC alone, as any Go program)
//	off      no limit, even when GOMEMLIMIT is set
//	90%      that share of the container's memory limit (of the machine's memory outside a container)
//	900MiB   that many bytes (B, KiB, MiB, GiB, TiB or a bare number of bytes, as GOMEMLIMIT)
//
// The 10% the default leaves is for what the Go runtime does not count: the mapped pages of the data file
// that the search results are read from (clean page cache, which the kernel reclaims from a container at its
// limit before it would kill it) and the thread stacks.
const defaultLimitShare = 0.90

// memoryLimit is a resolved --memory-limit: the limit in bytes (0: none, math.MaxInt64: leave the runtime's)
// and how it was chosen, for the start-up log.
type memoryLimit struct {
	bytes  int64
	source string
}

// keepRuntime means: leave the limit the runtime took from GOMEMLIMIT.
const keepRuntime = math.MaxInt64

// hostFiles are where the limits are read: the cgroup file system, the process's cgroup list and the
// machine's memory; tests pass their own.
type hostFiles struct {
	cgroupRoot, selfCgroup, meminfo string
}

var realHost = hostFiles{cgroupRoot: "/sys/fs/cgroup", selfCgroup: "/proc/self/cgroup", meminfo: "/proc/meminfo"}

// resolveMemoryLimit turns the --memory-limit setting into a limit. env is os.Getenv.
func resolveMemoryLimit(setting string, env func(string) string, host hostFiles) (memoryLimit, error) {
	s := strings.TrimSpace(setting)
	switch strings.ToLower(s) {
	case "", "auto":
		if v := env("GOMEMLIMIT"); v != "" {
			return memoryLimit{bytes: keepRuntime, source: "GOMEMLIMIT=" + v}, nil
		}
		limit, ok := containerLimit(host)
		if !ok {
			return memoryLimit{source: "no container memory limit"}, nil
		}
		return memoryLimit{bytes: int64(float64(limit) * defaultLimitShare), source: fmt.Sprintf("90%% of the container's %d MiB", limit>>20)}, nil
	case "off", "0":
		return memoryLimit{source: "--memory-limit off"}, nil
	}
	if pct, ok := strings.CutSuffix(s, "%"); ok {
		p, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || p <= 0 || p > 100 {
			return memoryLimit{}, fmt.Errorf("%q: a share must be above 0%% and at most 100%%", setting)
		}
		base, ok := containerLimit(host)
		what := "the container's"
		if !ok {
			if base, ok = machineMemory(host.meminfo); !ok {
				return memoryLimit{}, fmt.Errorf("%q: neither a container memory limit nor the machine's memory is known; give a size", setting)
			}
			what = "the machine's"
		}
		return memoryLimit{bytes: int64(float64(base) * p / 100), source: fmt.Sprintf("%s of %s %d MiB", s, what, base>>20)}, nil
	}
	n, err := parseBytes(s)
	if err != nil {
		return memoryLimit{}, fmt.Errorf("%q: %w", setting, err)
	}
	if n < 64<<20 {
		return memoryLimit{}, fmt.Errorf("%q: below 64 MiB the collector would run without pause", setting)
	}
	return memoryLimit{bytes: n, source: "--memory-limit " + s}, nil
}

// apply sets the runtime's soft memory limit and returns the limit in force.
func (m memoryLimit) apply() int64 {
	switch m.bytes {
	case keepRuntime:
		return debug.SetMemoryLimit(-1) // what GOMEMLIMIT set; -1 only reads it
	case 0:
		debug.SetMemoryLimit(math.MaxInt64)
		return 0
	}
	debug.SetMemoryLimit(m.bytes)
	return m.bytes
}

var sizeUnits = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}

// parseBytes reads a size as GOMEMLIMIT writes it: a whole number with an optional unit.
func parseBytes(s string) (int64, error) {
	shift := uint(0)
	for _, u := range sizeUnits {
		if v, ok := strings.CutSuffix(s, u.suffix); ok {
			s, shift = strings.TrimSpace(v), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, errors.New("not a size: a whole number of bytes with an optional unit (KiB, MiB, GiB, TiB), a share such as 90%, auto or off")
	}
	if n > math.MaxInt64>>shift {
		return 0, errors.New("too large")
	}
	return n << shift, nil
}

// containerLimit reads the memory limit of the process's cgroup: v2 memory.max or v1 memory.limit_in_bytes
// of its own cgroup (found in /proc/self/cgroup), else of the root as mounted in a container. "max" and the
// v1 "unlimited" value (a page-rounded maximum) are no limit.
func containerLimit(host hostFiles) (int64, bool) {
	root := host.cgroupRoot
	var candidates []string
	if self, err := os.ReadFile(host.selfCgroup); err == nil {
		for _, line := range strings.Split(string(self), "\n") {
			if rest, ok := strings.CutPrefix(line, "0::"); ok {
				candidates = append(candidates, filepath.Join(root, rest, "memory.max"))
			} else if _, path, ok := strings.Cut(line, ":memory:"); ok {
				candidates = append(candidates, filepath.Join(root, "memory", path, "memory.limit_in_bytes"))
			}
		}
	}
	candidates = append(candidates, filepath.Join(root, "memory.max"), filepath.Join(root, "memory", "memory.limit_in_bytes"))
	for _, path := range candidates {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(b))
		if v == "max" {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 || n >= 1<<60 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}

// machineMemory reads MemTotal from /proc/meminfo.
func machineMemory(meminfo string) (int64, bool) {
	b, err := os.ReadFile(meminfo)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil && kb > 0 {
					return kb << 10, true
				}
			}
		}
	}
	return 0, false
}
