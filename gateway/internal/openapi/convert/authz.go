package convert

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// Access is who may call one RPC, as docs/authorization.md states it.
type Access struct {
	Roles []string // the roles marked "yes", in the table's column order (anonymous included when public)
	Note  string
	// Method is the gRPC method, "cus.catalogue.v1.CatalogueService/GetService".
	Method string
}

// Public reports whether a caller without a token may call the RPC.
func (a Access) Public() bool {
	for _, r := range a.Roles {
		if r == "anonymous" {
			return true
		}
	}
	return false
}

// ParseAuthorization reads the tables of docs/authorization.md into Access by operation id
// ("CatalogueService_GetService", as protoc-gen-openapiv2 names operations). The tables are the source because
// each service's tests keep them equal to its enforced Policy, and the gateway module cannot import the
// services' internal packages; an RPC added anywhere appears here once its service's tests pass.
func ParseAuthorization(md []byte) (map[string]Access, error) {
	out := map[string]Access{}
	var service, fullService string
	var columns []string
	sc := bufio.NewScanner(bytes.NewReader(md))
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(text, "### "):
			full := strings.TrimSpace(strings.TrimPrefix(text, "### "))
			service, fullService = full[strings.LastIndex(full, ".")+1:], full
			columns = nil
		case strings.HasPrefix(text, "#"):
			service, columns = "", nil // another section: its tables are not method tables
		case service == "" || !strings.HasPrefix(text, "|"):
			continue
		case columns == nil:
			columns = cells(text)
			if len(columns) < 2 || columns[0] != "method" {
				return nil, fmt.Errorf("authorization.md line %d: table of %s does not start with a method column", line, service)
			}
		case strings.HasPrefix(text, "|---") || strings.HasPrefix(text, "| ---"):
			continue
		default:
			row := cells(text)
			if len(row) != len(columns) {
				return nil, fmt.Errorf("authorization.md line %d: %d cells, the header has %d", line, len(row), len(columns))
			}
			a := Access{Method: fullService + "/" + row[0]}
			for i := 1; i < len(columns); i++ {
				switch {
				case columns[i] == "notes":
					a.Note = row[i]
				case row[i] == "yes":
					a.Roles = append(a.Roles, columns[i])
				}
			}
			out[service+"_"+row[0]] = a
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("authorization.md has no method tables")
	}
	return out, nil
}

func cells(row string) []string {
	row = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(row), "|"), "|")
	parts := strings.Split(row, "|")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}
