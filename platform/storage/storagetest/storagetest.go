// Package storagetest helps tests put a service's data on a full disk: a small loop-mounted filesystem and a
// file that fills it. It is for tests only.
package storagetest

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
)

// SmallFilesystem mounts a fresh ext4 filesystem of size MiB on a loop device and returns its mount point; it
// is unmounted when the test ends. It skips the test where that cannot be done (not Linux, not root, no loop
// devices or mkfs.ext4), saying why.
func SmallFilesystem(t testing.TB, size int) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("a loop-mounted filesystem needs Linux")
	}
	if os.Geteuid() != 0 {
		t.Skip("mounting a small filesystem needs root (tests run as root in CI)")
	}
	dir := t.TempDir()
	img, mnt := filepath.Join(dir, "fs.img"), filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(size) << 20); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	// -m 0: no blocks reserved for root, so the test (root) sees the same full disk a service user would.
	if out, err := exec.Command("mkfs.ext4", "-q", "-m", "0", img).CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext4: %v: %s", err, out)
	}
	if out, err := exec.Command("mount", "-o", "loop", img, mnt).CombinedOutput(); err != nil {
		t.Skipf("mount -o loop: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	return mnt
}

// Fill writes path until the filesystem refuses more, and returns the bytes written.
func Fill(t testing.TB, path string) int64 {
	t.Helper()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var n int64
	for _, chunk := range []int{1 << 20, 4 << 10, 512} {
		buf := make([]byte, chunk)
		for {
			m, err := f.Write(buf)
			n += int64(m)
			if err != nil {
				if !errors.Is(err, syscall.ENOSPC) {
					t.Fatalf("fill: %v", err)
				}
				break
			}
		}
	}
	_ = f.Sync()
	return n
}
