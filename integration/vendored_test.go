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
// source, script, test or configuration file may name a relative path that, resolved from the file's own
// folder, leaves the repository (a folder a workspace keeps next to it), nor an absolute path under the root of
// this development machine's workspace. The Markdown links are checked by internal/doclinks; this covers
// everything else the build and the tests read.
func TestNothingReachesOutsideTheRepository(t *testing.T) {
	relative := regexp.MustCompile(`(?:\.\./)+[A-Za-z0-9_][A-Za-z0-9_.-]*`)
	absolute := regexp.MustCompile(`["'\s=]/work/[A-Za-z]`)
	skipDirs := map[string]bool{".git": true, "node_modules": true, "var": true, "bin": true, "tmp": true, "dist": true}
	exts := map[string]bool{".go": true, ".sh": true, ".mjs": true, ".js": true, ".ts": true, ".json": true, ".yaml": true,
		".yml": true, ".proto": true, ".bru": true, ".php": true, ".py": true, ".cs": true, ".csproj": true, "": true}
	root := filepath.Clean(repoRoot)
	checked := 0
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skipDirs[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !exts[filepath.Ext(path)] {
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
		rel, _ := filepath.Rel(root, path)
		for i, line := range strings.Split(string(b), "\n") {
			if strings.Contains(line, "outside-ok:") {
				continue // a marked line names such a path as data (an attack payload), never to read it
			}
			for _, m := range relative.FindAllString(line, -1) {
				target := filepath.Join(filepath.Dir(path), m)
				if r, err := filepath.Rel(root, target); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
					t.Errorf("%s:%d names %s, outside the repository: %s", rel, i+1, m, strings.TrimSpace(line))
				}
			}
			if absolute.MatchString(line) {
				t.Errorf("%s:%d names an absolute path of a development machine: %s", rel, i+1, strings.TrimSpace(line))
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
