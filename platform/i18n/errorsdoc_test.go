package i18n

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite docs/errors.md from the catalogue")

// errorsDoc renders docs/errors.md: how to ask for Polish, and every reason with its descriptions.
func errorsDoc() []byte {
	var b bytes.Buffer
	b.WriteString(`# Errors and their reasons

<!-- Generated from platform/i18n (reasons.go) by: cd platform && go test ./i18n -run TestErrorsDoc -update -->

Every error of the suite is a ` + "`google.rpc.Status`" + ` with an ` + "`ErrorInfo`" + ` whose ` + "`reason`" + ` (domain ` + "`cus.gov.pl`" + `) is
one of the codes below, and for invalid input a ` + "`BadRequest`" + ` naming each bad field (see [api.md](api.md#errors)).
Switch on the reason, never on the message: the reason and the field paths are the same in every language.

## Messages in Polish

Send ` + "`Accept-Language: pl`" + ` (over REST) or the ` + "`accept-language: pl`" + ` metadata (over gRPC) and the message and
every field violation's description come in Polish, with a ` + "`google.rpc.LocalizedMessage`" + ` ` + "`{locale: \"pl\", message}`" + `
(AIP-193) among the details. The header is read as RFC 9110 says: ` + "`pl-PL,pl;q=0.9,en;q=0.8`" + ` picks Polish,
` + "`en, pl;q=0.5`" + ` English; without it, or for any language the suite does not have, the answer is English.

` + "```sh" + `
curl -s -H 'Accept-Language: pl' 'http://localhost:8080/v1/services/not-a-uuid'
` + "```" + `

` + "```json" + `
{"code":3, "message":"żądanie zawiera nieprawidłowe pola", "details":[
  {"@type":"type.googleapis.com/google.rpc.ErrorInfo", "reason":"INVALID_FIELDS", "domain":"cus.gov.pl"},
  {"@type":"type.googleapis.com/google.rpc.BadRequest", "fieldViolations":[{"field":"name", "description":"musi mieć postać services/{uuid}"}]},
  {"@type":"type.googleapis.com/google.rpc.LocalizedMessage", "locale":"pl", "message":"żądanie zawiera nieprawidłowe pola"}]}
` + "```" + `

All texts come from one catalogue, platform/i18n, keyed by the English text; a test walks the source of every
module and fails when a message, a field violation or a reason has no Polish text.

## Reasons

| reason | meaning | znaczenie |
|---|---|---|
`)
	for _, r := range Reasons() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", r.Code, cell(r.English), cell(r.Polish))
	}
	return b.Bytes()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// TestErrorsDoc: docs/errors.md is what the catalogue says.
func TestErrorsDoc(t *testing.T) {
	root, _ := workspace(t)
	path := filepath.Join(root, "docs", "errors.md")
	want := errorsDoc()
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("docs/errors.md is out of date: run cd platform && go test ./i18n -run TestErrorsDoc -update")
	}
}
