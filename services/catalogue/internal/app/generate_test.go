package app

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/zap"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/store"
)

// TestGenerateCommandProfiles: `catalogue generate` writes the realistic catalogue by default, the earlier one with
// --profile harsh, and refuses an unknown profile before touching the data directory.
func TestGenerateCommandProfiles(t *testing.T) {
	env := func(string) string { return "" }
	descriptions := func(dir string) []string {
		t.Helper()
		st, err := store.Open(filepath.Join(dir, "catalogue.db"), zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var out []string
		if err := st.ForEachService(func(s *cataloguev1.Service, _ int64) error {
			if s.GetOriginTerc() == "" || s.GetOriginTerc() != s.GetLocations()[0].GetTerytCode() {
				t.Errorf("origin %q, first location in %q", s.GetOriginTerc(), s.GetLocations()[0].GetTerytCode())
			}
			out = append(out, s.GetDescription())
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	harshTemplate := func(ds []string) int {
		n := 0
		for _, d := range ds {
			if strings.Contains(d, "W ramach usługi oferujemy") || strings.Contains(d, "W ramach uslugi oferujemy") {
				n++
			}
		}
		return n
	}

	real, harsh := t.TempDir(), t.TempDir()
	if err := GenerateCommand(context.Background(), []string{"--data-dir", real, "--services", "300", "--gminas", "40"}, env); err != nil {
		t.Fatal(err)
	}
	if err := GenerateCommand(context.Background(), []string{"--data-dir", harsh, "--services", "300", "--gminas", "40", "--profile", "harsh"}, env); err != nil {
		t.Fatal(err)
	}
	rd, hd := descriptions(real), descriptions(harsh)
	if len(rd) != 300 || len(hd) != 300 {
		t.Fatalf("%d and %d services written, want 300", len(rd), len(hd))
	}
	// Every harsh description uses the one template; the realistic ones vary their wording.
	if n := harshTemplate(hd); n != 300 {
		t.Errorf("%d of 300 harsh descriptions use the template", n)
	}
	if n := harshTemplate(rd); n > 60 {
		t.Errorf("%d of 300 realistic descriptions use the harsh template", n)
	}

	bad := filepath.Join(t.TempDir(), "none")
	err := GenerateCommand(context.Background(), []string{"--data-dir", bad, "--services", "10", "--profile", "gentle"}, env)
	if err == nil || !strings.Contains(err.Error(), "gentle") {
		t.Errorf("unknown profile: %v", err)
	}
	if _, err := os.Stat(bad); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the data directory of a refused run exists: %v", err)
	}
}
