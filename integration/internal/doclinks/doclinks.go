// Package doclinks checks the links of the repository's Markdown documents, so that a clone reads anywhere:
// every relative link resolves to a file or directory inside the repository, every anchor to a heading (or an
// explicit <a id>) of the linked document, and no link leaves the repository or names an absolute local path.
// External http(s) links are collected for a reader to review, never fetched: CI has no internet access to
// rely on, and a dead external page is not a broken clone.
package doclinks

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Problem is one broken or forbidden link.
type Problem struct {
	File   string // relative to the checked root, slash-separated
	Line   int
	Target string
	Reason string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s:%d: %q: %s", p.File, p.Line, p.Target, p.Reason)
}

// Report is the outcome of checking a tree.
type Report struct {
	Files    int       // Markdown files read
	Links    int       // links checked, external ones included
	Problems []Problem // in file and line order
	External []string  // distinct http(s) targets, sorted
}

// skipDirs are never walked: version control, dependencies fetched by npm, and the git-ignored build output
// and run data of `make run` (var/, bin/, tmp/ at the root), which are not part of a clone.
var skipDirs = map[string]bool{".git": true, "node_modules": true}
var skipRootDirs = map[string]bool{"bin": true, "var": true, "tmp": true}

// Check reads every *.md file under root and checks its links.
func Check(root string) (*Report, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if skipDirs[d.Name()] || (filepath.Dir(path) == root && skipRootDirs[d.Name()]) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".md") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c := &checker{root: root, docs: map[string]*document{}}
	rep := &Report{Files: len(files)}
	external := map[string]bool{}
	for _, f := range files {
		doc, err := c.document(f)
		if err != nil {
			return nil, err
		}
		for _, l := range doc.links {
			rep.Links++
			ext, reason := c.checkLink(doc, l.target)
			if ext {
				external[l.target] = true
			}
			if reason != "" {
				rep.Problems = append(rep.Problems, Problem{File: c.rel(f), Line: l.line, Target: l.target, Reason: reason})
			}
		}
	}
	for u := range external {
		rep.External = append(rep.External, u)
	}
	slices.Sort(rep.External)
	return rep, nil
}

type link struct {
	line   int
	target string
}

// document is what a Markdown file offers to links: its anchors, and the links it holds.
type document struct {
	path    string
	anchors map[string]bool
	links   []link
}

type checker struct {
	root string
	docs map[string]*document
}

func (c *checker) rel(path string) string {
	r, err := filepath.Rel(c.root, path)
	if err != nil {
		return path
	}
	return filepath.ToSlash(r)
}

func (c *checker) document(path string) (*document, error) {
	if d, ok := c.docs[path]; ok {
		return d, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	d, err := parse(path, f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", c.rel(path), err)
	}
	c.docs[path] = d
	return d, nil
}

var (
	schemeRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:`)
	lineAnchorR = regexp.MustCompile(`^L[0-9]+(-L[0-9]+)?$`)
)

// checkLink returns whether target is external, and why it is broken ("" when it is not).
func (c *checker) checkLink(doc *document, target string) (external bool, reason string) {
	switch {
	case target == "":
		return false, "empty link target"
	case strings.HasPrefix(target, "#"):
		return false, c.checkAnchor(doc.path, target[1:])
	case strings.HasPrefix(target, "http://"), strings.HasPrefix(target, "https://"):
		return true, ""
	case strings.HasPrefix(target, "mailto:"):
		return false, ""
	case strings.HasPrefix(target, "file:"):
		return false, "a file: URL names a path on one machine; link relative to the document instead"
	case schemeRE.MatchString(target):
		return false, "unknown URL scheme: use a relative link or http(s)"
	case strings.HasPrefix(target, "/"), filepath.IsAbs(target):
		return false, "absolute path: link relative to the document, so the link works in any clone"
	}
	p, anchor, _ := strings.Cut(target, "#")
	p, _, _ = strings.Cut(p, "?")
	up, err := url.PathUnescape(p)
	if err != nil {
		return false, "malformed percent-encoding in the path"
	}
	abs := filepath.Join(filepath.Dir(doc.path), filepath.FromSlash(up))
	if r, err := filepath.Rel(c.root, abs); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return false, "leaves the repository: a clone must read without files beside it"
	}
	st, err := os.Stat(abs)
	if err != nil {
		return false, "no such file or directory in the repository"
	}
	if anchor == "" {
		return false, ""
	}
	if st.IsDir() {
		return false, "an anchor on a directory link"
	}
	if !strings.HasSuffix(abs, ".md") {
		if lineAnchorR.MatchString(anchor) {
			return false, ""
		}
		return false, "an anchor into a file that is not Markdown (only #L<n> line anchors are allowed)"
	}
	return false, c.checkAnchor(abs, anchor)
}

func (c *checker) checkAnchor(path, anchor string) string {
	a, err := url.PathUnescape(anchor)
	if err != nil {
		return "malformed percent-encoding in the anchor"
	}
	d, err := c.document(path)
	if err != nil {
		return err.Error()
	}
	if !d.anchors[a] {
		return fmt.Sprintf("no heading with anchor #%s in %s", a, c.rel(path))
	}
	return ""
}

var (
	fenceRE     = regexp.MustCompile("^ {0,3}(```+|~~~+)")
	atxRE       = regexp.MustCompile(`^ {0,3}#{1,6}[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$`)
	setextRE    = regexp.MustCompile(`^ {0,3}(=+|-+)[ \t]*$`)
	codeSpanRE  = regexp.MustCompile("`+[^`]*`+")
	inlineRE    = regexp.MustCompile(`!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\([ \t]*(<[^>]*>|[^\s()]*(?:\([^\s()]*\)[^\s()]*)*)(?:[ \t]+"[^"]*")?[ \t]*\)`)
	autoRE      = regexp.MustCompile(`<((?:https?|mailto|file):[^>\s]+)>`)
	refDefRE    = regexp.MustCompile(`(?m)^ {0,3}\[[^\]]+\]:[ \t]*(<[^>]*>|\S+)`)
	htmlAttrRE  = regexp.MustCompile(`<(?:a|img)\b[^>]*?\b(?:href|src)="([^"]*)"`)
	htmlIDRE    = regexp.MustCompile(`<a\b[^>]*?\b(?:id|name)="([^"]+)"`)
	mdLinkTxtRE = regexp.MustCompile(`!?\[([^\]]*)\]\([^)]*\)`)
)

// parse reads a Markdown document's headings, explicit anchors and links, ignoring fenced code blocks and code
// spans (a curl command in a code block is an example, not a link).
func parse(path string, r io.Reader) (*document, error) {
	d := &document{path: path, anchors: map[string]bool{}}
	slugs := map[string]int{}
	addHeading := func(text string) {
		s := Slug(text)
		n := slugs[s]
		slugs[s] = n + 1
		if n > 0 {
			s = fmt.Sprintf("%s-%d", s, n)
		}
		d.anchors[s] = true
	}
	// Links are looked for per paragraph, not per line: a link's text may wrap onto the next line.
	var para []string
	paraStart := 0
	flush := func() {
		text := strings.Join(para, "\n")
		// Blank code spans out, keeping offsets (and so line numbers) as they were.
		text = codeSpanRE.ReplaceAllStringFunc(text, func(code string) string {
			return strings.Map(func(r rune) rune {
				if r == '\n' {
					return r
				}
				return ' '
			}, code)
		})
		for _, re := range []*regexp.Regexp{inlineRE, autoRE, refDefRE, htmlAttrRE} {
			for _, m := range re.FindAllStringSubmatchIndex(text, -1) {
				t := strings.TrimSuffix(strings.TrimPrefix(text[m[2]:m[3]], "<"), ">")
				d.links = append(d.links, link{line: paraStart + strings.Count(text[:m[2]], "\n"), target: t})
			}
		}
		para = nil
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
	var fence string
	prev := "" // the previous line outside code, for setext headings
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			flush()
			marker := m[1]
			switch {
			case fence == "":
				fence = marker
			case marker[0] == fence[0] && len(marker) >= len(fence):
				fence = ""
			}
			prev = ""
			continue
		}
		if fence != "" {
			continue
		}
		if m := atxRE.FindStringSubmatch(line); m != nil {
			addHeading(m[1])
		} else if setextRE.MatchString(line) && strings.TrimSpace(prev) != "" && !strings.HasPrefix(strings.TrimSpace(prev), "|") {
			addHeading(strings.TrimSpace(prev))
		}
		for _, m := range htmlIDRE.FindAllStringSubmatch(line, -1) {
			d.anchors[m[1]] = true
		}
		if strings.TrimSpace(line) == "" {
			flush()
		} else {
			if para == nil {
				paraStart = n
			}
			para = append(para, line)
		}
		prev = line
	}
	flush()
	return d, sc.Err()
}

// Slug is the anchor GitHub gives a heading: its text without Markdown markup, lower-cased, with everything
// but letters, digits, spaces, hyphens and underscores removed and spaces turned into hyphens.
func Slug(heading string) string {
	t := mdLinkTxtRE.ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(t) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r):
			b.WriteRune(r)
		}
	}
	return b.String()
}
