package integration

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVendoredFilesCarryLicenceAndVersion: what the repository copies from other projects so that a clone builds
// and tests with nothing beside it says where it comes from, at which version, and under which licence.
func TestVendoredFilesCarryLicenceAndVersion(t *testing.T) {
	commit := regexp.MustCompile(`\b[0-9a-f]{40}\b`)
	for _, tc := range []struct {
		dir, licence, licenceText string
		version                   *regexp.Regexp
		versionFile               string
	}{
		{"gateway/internal/hsds/testdata/hsds-3.0", "LICENSE", "Creative Commons Attribution Share-Alike 4.0", commit, "README.md"},
		{"proto/third_party", "googleapis/LICENSE", "Apache License", regexp.MustCompile(`\| v?[0-9]+\.[0-9]+\.[0-9]+ \|`), "VERSIONS.md"},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			lic, err := os.ReadFile(filepath.Join(repoRoot, tc.dir, tc.licence))
			if err != nil {
				t.Fatalf("no licence: %v", err)
			}
			if !strings.Contains(string(lic), tc.licenceText) {
				t.Errorf("%s does not say %q", tc.licence, tc.licenceText)
			}
			ver, err := os.ReadFile(filepath.Join(repoRoot, tc.dir, tc.versionFile))
			if err != nil {
				t.Fatalf("no version file: %v", err)
			}
			if !tc.version.Match(ver) {
				t.Errorf("%s names no version (%s)", tc.versionFile, tc.version)
			}
		})
	}
}

// TestNothingReachesOutsideTheRepository: a clone made anywhere builds and tests with no folder beside it. No
// source, script, test or configuration file may read a path outside the repository, such as the design folder
// a workspace keeps next to it (../shared) or an absolute path of one machine. The Markdown links are checked
// by internal/doclinks; this covers everything else the build and the tests read.
func TestNothingReachesOutsideTheRepository(t *testing.T) {
	outside := regexp.MustCompile(`\.\./shared\b|/work/(shared|main)\b|\.\./\.\./\.\./\.\./\.\./`)
	skipDirs := map[string]bool{".git": true, "node_modules": true, "var": true, "bin": true, "tmp": true, "dist": true}
	exts := map[string]bool{".go": true, ".sh": true, ".mjs": true, ".js": true, ".ts": true, ".json": true, ".yaml": true,
		".yml": true, ".proto": true, ".bru": true, ".php": true, ".py": true, ".cs": true, ".csproj": true, "": true}
	checked := 0
	err := filepath.WalkDir(repoRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(repoRoot, path)
		if d.IsDir() {
			if skipDirs[d.Name()] || rel == filepath.Join("integration", "internal", "doclinks") {
				return filepath.SkipDir // doclinks' own tests name such paths on purpose, as cases it must refuse
			}
			return nil
		}
		if !exts[filepath.Ext(path)] || rel == filepath.Join("integration", "vendored_test.go") {
			return nil
		}
		info, err := d.Info()
		if err != nil || info.Size() > 4<<20 {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		checked++
		for i, line := range strings.Split(string(b), "\n") {
			if outside.MatchString(line) {
				t.Errorf("%s:%d reaches outside the repository: %s", rel, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 200 {
		t.Fatalf("only %d files checked: is repoRoot right?", checked)
	}
	t.Logf("%d files checked", checked)
}
