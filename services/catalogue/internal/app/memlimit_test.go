package app

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolveMemoryLimit(t *testing.T) {
	const gib = int64(1) << 30
	type files map[string]string // path under the fake host root -> content
	for _, c := range []struct {
		name      string
		setting   string
		gomem     string
		files     files
		want      int64
		wantError string
	}{
		{name: "auto keeps GOMEMLIMIT", setting: "auto", gomem: "690MiB", files: files{"cg/memory.max": "1073741824"}, want: keepRuntime},
		{name: "auto: 90% of cgroup v2 memory.max", setting: "auto", files: files{"cg/memory.max": "1073741824\n"}, want: 966367641},
		{name: "auto: the process's own cgroup", setting: "auto",
			files: files{"self": "0::/kubepods/pod1/catalogue\n", "cg/kubepods/pod1/catalogue/memory.max": "2147483648", "cg/memory.max": "max"}, want: 1932735283},
		{name: "auto: v2 without a limit", setting: "", files: files{"cg/memory.max": "max"}, want: 0},
		{name: "auto: 90% of cgroup v1", setting: "auto", files: files{"cg/memory/memory.limit_in_bytes": "536870912"}, want: 483183820},
		{name: "auto: the process's own v1 cgroup", setting: "auto",
			files: files{"self": "4:memory:/process_api/abc\n0::/\n", "cg/memory/process_api/abc/memory.limit_in_bytes": "1073741824"}, want: 966367641},
		{name: "auto: cgroup v1 unlimited", setting: "auto", files: files{"cg/memory/memory.limit_in_bytes": "9223372036854771712"}, want: 0},
		{name: "auto outside a container", setting: "auto", files: files{"meminfo": "MemTotal:       16384000 kB\n"}, want: 0},
		{name: "off beats GOMEMLIMIT", setting: "off", gomem: "1GiB", want: 0},
		{name: "share of the container", setting: "85%", files: files{"cg/memory.max": "1073741824"}, want: 912680550},
		{name: "share of the machine", setting: "50%", files: files{"meminfo": "MemTotal:        2097152 kB\n"}, want: gib},
		{name: "size in MiB", setting: "900MiB", want: 900 << 20},
		{name: "size in GiB", setting: "1GiB", gomem: "690MiB", want: gib},
		{name: "size in bytes", setting: "1073741824", want: gib},
		{name: "too small", setting: "64KiB", wantError: "below 64 MiB"},
		{name: "not a size", setting: "lots", wantError: "not a size"},
		{name: "bad share", setting: "150%", wantError: "at most 100%"},
		{name: "share with nothing known", setting: "80%", wantError: "give a size"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := t.TempDir()
			for p, content := range c.files {
				path := filepath.Join(root, p)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			env := func(k string) string {
				if k == "GOMEMLIMIT" {
					return c.gomem
				}
				return ""
			}
			host := hostFiles{cgroupRoot: filepath.Join(root, "cg"), selfCgroup: filepath.Join(root, "self"), meminfo: filepath.Join(root, "meminfo")}
			got, err := resolveMemoryLimit(c.setting, env, host)
			if c.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantError) {
					t.Fatalf("error %v, want one saying %q", err, c.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.bytes != c.want {
				t.Fatalf("limit %d (%s), want %d", got.bytes, got.source, c.want)
			}
		})
	}
}

func TestMemoryLimitApplies(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)

	if got := (memoryLimit{bytes: 3 << 30}).apply(); got != 3<<30 || debug.SetMemoryLimit(-1) != 3<<30 {
		t.Fatalf("apply 3 GiB: returned %d, runtime limit %d", got, debug.SetMemoryLimit(-1))
	}
	debug.SetMemoryLimit(700 << 20) // as GOMEMLIMIT=700MiB would at start
	if got := (memoryLimit{bytes: keepRuntime}).apply(); got != 700<<20 || debug.SetMemoryLimit(-1) != 700<<20 {
		t.Fatalf("keep the runtime's: returned %d, runtime limit %d", got, debug.SetMemoryLimit(-1))
	}
	if got := (memoryLimit{}).apply(); got != 0 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Fatalf("no limit: returned %d, runtime limit %d", got, debug.SetMemoryLimit(-1))
	}
}

func TestMemoryLimitFlagIsValidated(t *testing.T) {
	var cfg Config
	fs := flag.NewFlagSet("catalogue", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	if err := fs.Parse([]string{"--memory-limit", "lots"}); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "memory-limit") {
		t.Fatalf("Validate: %v, want an error naming memory-limit", err)
	}
}
