package doclinks

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// write creates the files of a fixture tree under a temporary root.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestCheckFindsEachKindOfBrokenLink(t *testing.T) {
	cases := []struct {
		name   string
		doc    string
		reason string // a fragment of the expected reason; "" means the link is fine
	}{
		{"file exists", "[api](docs/api.md)", ""},
		{"directory exists", "[docs](docs/)", ""},
		{"heading anchor", "[w](docs/api.md#writing-services)", ""},
		{"heading with markup and punctuation", "[e](docs/api.md#errors-googlerpcstatus-and-429)", ""},
		{"Polish heading", "[z](docs/api.md#zgłoszenia-usług)", ""},
		{"repeated heading gets a suffix", "[r](docs/api.md#example-1)", ""},
		{"explicit anchor", "[a](docs/api.md#custom)", ""},
		{"setext heading", "[s](docs/api.md#underlined)", ""},
		{"anchor in the same file", "# Top\n[t](#top)", ""},
		{"line anchor in code", "[m](main.go#L3)", ""},
		{"external link is listed only", "[x](https://example.org/nowhere)", ""},
		{"autolink", "<https://example.org/auto>", ""},
		{"link in a code span is an example", "`[x](missing.md)`", ""},
		{"link in a fenced block is an example", "```\n[x](missing.md)\n```", ""},
		{"missing file", "[x](docs/missing.md)", "no such file"},
		{"link text wrapped onto the next line", "see [the\nguide](docs/missing.md)", "no such file"},
		{"code span wrapped onto the next line", "`[x](\nmissing.md)` and [api](docs/api.md)", ""},
		{"missing anchor", "[x](docs/api.md#nowhere)", "no heading with anchor #nowhere"},
		{"heading inside code is no anchor", "[x](docs/api.md#not-a-heading)", "no heading"},
		{"missing anchor in the same file", "# Top\n[x](#bottom)", "no heading"},
		{"leaves the repository", "[x](../elsewhere/design.md)", "leaves the repository"},
		{"absolute local path", "[x](/home/someone/design.md)", "absolute path"},
		{"file URL", "<file:///work/main/README.md>", "file: URL"},
		{"anchor into a non-Markdown file", "[m](main.go#main)", "not Markdown"},
		{"reference definition", "[x]: docs/gone.md", "no such file"},
		{"HTML link", `<a href="docs/gone.md">x</a>`, "no such file"},
		{"image", "![logo](img/logo.png)", "no such file"},
	}
	api := strings.Join([]string{
		"# API", "## Writing services", "## Errors: `google.rpc.Status` and 429", "## Zgłoszenia usług",
		"## Example", "## Example", `<a id="custom"></a>`, "Underlined", "==========",
		"```", "# not a heading", "```",
	}, "\n")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := write(t, map[string]string{"README.md": tc.doc + "\n", "docs/api.md": api, "main.go": "package main\n"})
			rep, err := Check(root)
			if err != nil {
				t.Fatal(err)
			}
			if tc.reason == "" {
				if len(rep.Problems) != 0 {
					t.Fatalf("problems %v, want none", rep.Problems)
				}
				return
			}
			if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Reason, tc.reason) {
				t.Fatalf("problems %v, want one saying %q", rep.Problems, tc.reason)
			}
			if p := rep.Problems[0]; p.File != "README.md" || p.Line < 1 {
				t.Errorf("problem located at %s:%d, want README.md", p.File, p.Line)
			}
		})
	}
}

func TestCheckListsExternalLinksAndSkipsUntrackedDirectories(t *testing.T) {
	root := write(t, map[string]string{
		"README.md":                  "[a](https://b.example/) [b](https://a.example/x) <https://a.example/x>\n",
		"docs/more.md":               "[c](http://c.example/)\n",
		"node_modules/pkg/README.md": "[broken](nowhere.md)\n",
		"var/notes.md":               "[broken](nowhere.md)\n",
	})
	rep, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"http://c.example/", "https://a.example/x", "https://b.example/"}
	if !slices.Equal(rep.External, want) {
		t.Errorf("external %v, want %v", rep.External, want)
	}
	if rep.Files != 2 || len(rep.Problems) != 0 {
		t.Errorf("files %d problems %v, want 2 files and no problems (node_modules and var are skipped)", rep.Files, rep.Problems)
	}
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"Who may be referred to a service": "who-may-be-referred-to-a-service",
		"Limits: 429 and what to do":       "limits-429-and-what-to-do",
		"HSDS 3.0":                         "hsds-30",
		"`--roles-claim` and [Keycloak](https://www.keycloak.org/)": "--roles-claim-and-keycloak",
		"Żłobek „Pod Zegarem”":                                      "żłobek-pod-zegarem",
		"snake_case_name":                                           "snake_case_name",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestRepository checks every document of this repository: a clone reads anywhere, with nothing beside it.
func TestRepository(t *testing.T) {
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.work")); err != nil {
		t.Fatalf("repository root not found at %s: %v", root, err)
	}
	rep, err := Check(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Problems {
		t.Error(p)
	}
	if rep.Files < 10 {
		t.Errorf("only %d Markdown files found under %s: is the walk skipping the repository?", rep.Files, root)
	}
	t.Logf("%d Markdown files, %d links; external links (listed, not fetched):", rep.Files, rep.Links)
	for _, u := range rep.External {
		t.Log("  " + u)
	}
}
