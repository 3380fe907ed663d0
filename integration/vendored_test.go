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
