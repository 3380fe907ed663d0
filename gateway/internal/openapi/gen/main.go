// Command gen writes the OpenAPI 3.1 document of the suite (cus.openapi.json) from the Swagger 2.0 document
// protoc-gen-openapiv2 writes and the access tables of docs/authorization.md. `make generate` runs it after
// buf; its output is deterministic, so `make verify` can diff it.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cus-suite/cus/gateway/internal/openapi/convert"
)

func main() {
	in := flag.String("swagger", "internal/openapi/cus.swagger.json", "the Swagger 2.0 document to convert")
	authz := flag.String("authz", "../docs/authorization.md", "docs/authorization.md: who may call each RPC")
	out := flag.String("out", "internal/openapi/cus.openapi.json", "where to write the OpenAPI 3.1 document")
	flag.Parse()
	if err := run(*in, *authz, *out); err != nil {
		fmt.Fprintln(os.Stderr, "openapi gen:", err)
		os.Exit(1)
	}
}

func run(in, authz, out string) error {
	v2, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	md, err := os.ReadFile(authz)
	if err != nil {
		return err
	}
	access, err := convert.ParseAuthorization(md)
	if err != nil {
		return err
	}
	doc, err := convert.Convert(v2, access)
	if err != nil {
		return err
	}
	return os.WriteFile(out, doc, 0o644)
}
