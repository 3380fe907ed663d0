// Package openapi holds the OpenAPI documents of the suite's REST API. cus.swagger.json is the merged Swagger 2.0
// document protoc-gen-openapiv2 writes from the protos (make generate), with the wire's lowerCamelCase field
// names; cus.openapi.json is the OpenAPI 3.1 document generated from it by ./gen (package convert): bearer
// security from docs/authorization.md, path parameters per resource ({service}), tags per resource with their
// Polish names, documented errors, ndjson streams and examples. The gateway serves 3.1 at /openapi.json and
// 2.0 at /openapi-v2.json.
package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

//go:embed cus.openapi.json
var document []byte

//go:embed cus.swagger.json
var documentV2 []byte

// Document returns the OpenAPI 3.1 document, checked to be valid JSON.
func Document() ([]byte, error) {
	if !json.Valid(document) {
		return nil, fmt.Errorf("embedded OpenAPI 3.1 document is not valid JSON")
	}
	return document, nil
}

// DocumentV2 returns the Swagger 2.0 document the 3.1 one is generated from, checked to be valid JSON. Its paths
// are grpc-gateway's own templates ({name=services/*} as a pattern), which the gateway's route table reads.
func DocumentV2() ([]byte, error) {
	if !json.Valid(documentV2) {
		return nil, fmt.Errorf("embedded OpenAPI 2.0 document is not valid JSON")
	}
	return documentV2, nil
}
