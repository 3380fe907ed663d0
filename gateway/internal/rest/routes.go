package rest

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
)

// routeTable knows which methods each REST path accepts, from the OpenAPI document (the same source the
// gateway's routes are generated from), so a 405 can carry the Allow header RFC 9110 requires.
type routeTable []route

type route struct {
	re      *regexp.Regexp
	methods []string
}

func newRouteTable(doc []byte) (routeTable, error) {
	var sw struct {
		Paths map[string]map[string]struct {
			Parameters []struct {
				Name    string `json:"name"`
				In      string `json:"in"`
				Pattern string `json:"pattern"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &sw); err != nil {
		return nil, err
	}
	byPattern := map[string]map[string]bool{}
	for path, ops := range sw.Paths {
		for method, op := range ops {
			patterns := map[string]string{}
			for _, p := range op.Parameters {
				if p.In == "path" && p.Pattern != "" {
					patterns[p.Name] = p.Pattern
				}
			}
			var b strings.Builder
			b.WriteString("^")
			rest := path
			for {
				i := strings.Index(rest, "{")
				if i < 0 {
					b.WriteString(regexp.QuoteMeta(rest))
					break
				}
				j := strings.Index(rest[i:], "}")
				if j < 0 {
					b.WriteString(regexp.QuoteMeta(rest))
					break
				}
				b.WriteString(regexp.QuoteMeta(rest[:i]))
				name := rest[i+1 : i+j]
				if p, ok := patterns[name]; ok {
					b.WriteString(p)
				} else {
					b.WriteString("[^/]+")
				}
				rest = rest[i+j+1:]
			}
			b.WriteString("$")
			if byPattern[b.String()] == nil {
				byPattern[b.String()] = map[string]bool{}
			}
			byPattern[b.String()][strings.ToUpper(method)] = true
		}
	}
	var t routeTable
	for pat, methods := range byPattern {
		re, err := regexp.Compile(pat)
		if err != nil {
			return nil, err
		}
		r := route{re: re}
		for m := range methods {
			r.methods = append(r.methods, m)
		}
		t = append(t, r)
	}
	return t, nil
}

// allowed lists the methods accepted on path, sorted, or nil when no route matches.
func (t routeTable) allowed(path string) []string {
	set := map[string]bool{}
	for _, r := range t {
		if r.re.MatchString(path) {
			for _, m := range r.methods {
				set[m] = true
			}
		}
	}
	if len(set) == 0 {
		return nil
	}
	out := make([]string, 0, len(set)+1)
	for m := range set {
		out = append(out, m)
	}
	if set["GET"] {
		out = append(out, "HEAD")
	}
	sort.Strings(out)
	return out
}
