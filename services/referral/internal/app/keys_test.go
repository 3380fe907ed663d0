package app

import (
	"bytes"
	"context"
	"errors"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/storage"
	"github.com/cus-suite/cus/services/referral/internal/demo"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// startErr runs the process and returns the error it stops with before serving; a start that serves fails
// the test.
func startErr(t *testing.T, cfg Config) error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, cfg, zap.NewNop(), func(string, string) {
			t.Error("the service started")
			cancel()
		})
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Run neither failed nor stopped")
		return nil
	}
}

// demoNeedles are personal values of the demo residents that must never be in the data file in clear.
func demoNeedles(t *testing.T) []string {
	out := []string{"Kołodziejczak", "Grobelny", "Sobczak-Nowicka", "Marciniak", "Kowalenko", "Jaśminowa", "Wrzosowa", "Akacjowa", "marta.demo@example.org"}
	for _, p := range []struct {
		d string
		n int
	}{{"410317", 4082}, {"521102", 1357}, {"880621", 2046}, {"012909", 7731}} {
		s, err := demo.PESEL(p.d, p.n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func noNeedles(t *testing.T, what string, raw []byte) {
	t.Helper()
	for _, n := range demoNeedles(t) {
		if bytes.Contains(raw, []byte(n)) {
			t.Errorf("%s holds %q in clear", what, n)
		}
	}
}

// `serve` refuses to start when residents exist and the PESEL index key or the data key ring is missing or
// differs, instead of making a new key under which lookups and duplicate checks quietly find nobody.
func TestStartRefusesMissingOrDifferentKeys(t *testing.T) {
	enginetest.BboltOnly(t, "reads the data file's bytes")
	dir := t.TempDir()
	cfg := testConfig(dir)
	_, _, stop := serve(t, cfg)
	stop()
	raw, err := os.ReadFile(cfg.DataFile())
	if err != nil {
		t.Fatal(err)
	}
	noNeedles(t, "the data file", raw)

	peselKey, ring := cfg.PESELKeyPath(), cfg.DataKeyPath()
	if Inside(ring, cfg.DataDir) {
		t.Fatalf("the default key ring %s is inside the data directory", ring)
	}
	save := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	origPESEL, origRing := save(peselKey), save(ring)
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	other, err := store.NewKeyRing()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		setup func()
		want  []string
	}{
		{"PESEL key missing", func() { os.Remove(peselKey) }, []string{"pesel-key-file", "does not exist", "original key"}},
		{"PESEL key differs", func() { write(peselKey, bytes.Repeat([]byte("z"), 32)) }, []string{"PESEL index key", "not the key"}},
		{"key ring missing", func() { os.Remove(ring) }, []string{"data-key-file", "does not exist", "k1"}},
		{"key ring of other keys", func() { write(ring, other.Marshal()) }, []string{"key k1 of the data key ring", "differs"}},
		{"key ring readable by others", func() { write(ring, origRing); os.Chmod(ring, 0o644) }, []string{"others may read"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			write(peselKey, origPESEL)
			write(ring, origRing)
			tc.setup()
			err := startErr(t, cfg)
			if err == nil {
				t.Fatal("started")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not say %q", err, w)
				}
			}
			if tc.name == "PESEL key missing" {
				if _, err := os.Stat(peselKey); err == nil {
					t.Fatal("a new PESEL key was created for a store with residents")
				}
			}
		})
	}
	write(peselKey, origPESEL)
	write(ring, origRing)
	_, _, stop = serve(t, cfg)
	stop()
}

func TestDataKeyFileMustBeOutsideTheDataDir(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.DataKeyFile = filepath.Join(cfg.DataDir, "sub", "..", "referral-data.keys")
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "data-key-file") {
		t.Fatalf("a key ring inside the data directory: %v", err)
	}
	link := filepath.Join(t.TempDir(), "link")
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(cfg.DataDir, link); err != nil {
		t.Fatal(err)
	}
	cfg.DataKeyFile = filepath.Join(link, "keys")
	if err := cfg.Validate(); err == nil {
		t.Fatal("a key ring in the data directory through a link")
	}
	var out bytes.Buffer
	if err := KeysCommand(context.Background(), []string{"init", "--data-dir", cfg.DataDir, "--data-key-file", filepath.Join(cfg.DataDir, "k")}, func(string) string { return "" }, &out); err == nil {
		t.Fatal("keys init inside the data directory")
	}
	cfg.DataKeyFile = filepath.Join(t.TempDir(), "keys")
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
}

// `keys rotate --drop-old` re-encrypts everything under a new key and drops the old one; the service starts
// with the new ring and the old ring alone no longer opens the data.
func TestKeysInitAndRotate(t *testing.T) {
	enginetest.BboltOnly(t, "the offline keys commands rewrite the data file in --data-dir")
	dir := t.TempDir()
	env := func(string) string { return "" }
	cfg := testConfig(dir)
	cfg.DataKeyFile = filepath.Join(dir, "secrets", "referral-data.keys")
	var out bytes.Buffer
	if err := KeysCommand(context.Background(), []string{"init", "--data-dir", cfg.DataDir, "--data-key-file", cfg.DataKeyFile}, env, &out); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(cfg.DataKeyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("ring file %v %v", fi, err)
	}
	if err := KeysCommand(context.Background(), []string{"init", "--data-dir", cfg.DataDir, "--data-key-file", cfg.DataKeyFile}, env, &out); err == nil {
		t.Fatal("init over an existing ring")
	}
	_, _, stop := serve(t, cfg)
	stop()
	old, _, err := store.LoadKeyRing(cfg.DataKeyFile)
	if err != nil || strings.Join(old.IDs(), ",") != "k1" {
		t.Fatalf("ring before rotation: %v %v", old, err)
	}

	out.Reset()
	if err := KeysCommand(context.Background(), []string{"rotate", "--data-dir", cfg.DataDir, "--data-key-file", cfg.DataKeyFile, "--drop-old"}, env, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "new primary key k2") || !strings.Contains(out.String(), "dropped key k1") {
		t.Fatalf("rotate output: %q", out.String())
	}
	ring, _, err := store.LoadKeyRing(cfg.DataKeyFile)
	if err != nil || strings.Join(ring.IDs(), ",") != "k2" || ring.Primary() != "k2" {
		t.Fatalf("ring after rotation: %v %v", ring, err)
	}
	raw, err := os.ReadFile(cfg.DataFile())
	if err != nil {
		t.Fatal(err)
	}
	noNeedles(t, "the data file after rotation", raw)
	key, err := os.ReadFile(cfg.PESELKeyPath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(cfg.DataFile(), key, nil, store.WithDataKeys(old)); err == nil || !strings.Contains(err.Error(), "lacks key k2") {
		t.Fatalf("the old ring after rotation: %v", err)
	}
	st, err := store.Open(cfg.DataFile(), key, nil, store.WithDataKeys(ring))
	if err != nil {
		t.Fatal(err)
	}
	residents, _, err := st.ListResidents("", 100)
	st.Close()
	if err != nil || len(residents) != 5 {
		t.Fatalf("after rotation: %d residents, %v", len(residents), err)
	}
	_, _, stop = serve(t, cfg)
	stop()

	// A wrong --data-dir must not let drop remove keys the real data needs.
	if err := KeysCommand(context.Background(), []string{"drop", "--data-dir", filepath.Join(dir, "elsewhere"), "--data-key-file", cfg.DataKeyFile}, env, &out); err == nil || !strings.Contains(err.Error(), "no data file") {
		t.Fatalf("drop against a missing data file: %v", err)
	}
	out.Reset()
	if err := KeysCommand(context.Background(), []string{"drop", "--data-dir", cfg.DataDir, "--data-key-file", cfg.DataKeyFile}, env, &out); err != nil || !strings.Contains(out.String(), "no key to drop") {
		t.Fatalf("drop with nothing to drop: %q %v", out.String(), err)
	}
}

// restore refuses a backup that the key ring (or the PESEL key) at hand cannot serve, restoring nothing.
func TestRestoreRefusesABackupTheKeysDoNotFit(t *testing.T) {
	enginetest.BboltOnly(t, "restores a copy of the data file")
	dir := t.TempDir()
	env := func(string) string { return "" }
	cfg := testConfig(dir)
	_, _, stop := serve(t, cfg)
	stop()
	backup := filepath.Join(dir, "backup.db")
	b, err := os.ReadFile(cfg.DataFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(backup, b, 0o600); err != nil {
		t.Fatal(err)
	}
	otherRing := filepath.Join(dir, "other", "ring")
	var out bytes.Buffer
	if err := KeysCommand(context.Background(), []string{"init", "--data-key-file", otherRing}, env, &out); err != nil {
		t.Fatal(err)
	}
	wrongPESEL := filepath.Join(dir, "other", "pesel.key")
	if err := os.WriteFile(wrongPESEL, bytes.Repeat([]byte("q"), 32), 0o600); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no ring", []string{"--data-key-file", filepath.Join(dir, "nowhere", "ring")}, "no data key ring"},
		{"another ring", []string{"--data-key-file", otherRing}, "key k1 of the data key ring"},
		{"another PESEL key", []string{"--data-key-file", cfg.DataKeyPath(), "--pesel-key-file", wrongPESEL}, "PESEL index key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"--from", backup, "--data-dir", target}, tc.args...)
			err := RestoreCommand(args, env, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("restore: %v, want %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(target, "referral.db")); err == nil {
				t.Fatal("the backup was restored anyway")
			}
		})
	}
	// A damaged backup is refused before its keys are even looked at: cut off (today Inspect and the restore
	// took it), or different from its checksum file.
	truncated := filepath.Join(dir, "truncated.db")
	if err := os.WriteFile(truncated, b[:len(b)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	mismatched := filepath.Join(dir, "mismatched.db")
	if err := os.WriteFile(mismatched, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := storage.WriteChecksumFile(mismatched, strings.Repeat("0", 64)); err != nil {
		t.Fatal(err)
	}
	for from, want := range map[string]string{truncated: "truncated", mismatched: "does not match its checksum file"} {
		err := RestoreCommand([]string{"--from", from, "--data-dir", target, "--data-key-file", cfg.DataKeyPath(), "--pesel-key-file", cfg.PESELKeyPath()}, env, &out)
		if !errors.Is(err, storage.ErrBackupDamaged) || !strings.Contains(err.Error(), want) {
			t.Fatalf("restore of %s: %v, want %q", filepath.Base(from), err, want)
		}
		if _, err := os.Stat(filepath.Join(target, "referral.db")); err == nil {
			t.Fatal("a damaged backup was restored")
		}
	}
	out.Reset()
	if err := RestoreCommand([]string{"--from", backup, "--data-dir", target, "--data-key-file", cfg.DataKeyPath(), "--pesel-key-file", cfg.PESELKeyPath()}, env, &out); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "warning") {
		t.Fatalf("restore with the right keys: %q", out.String())
	}
}
