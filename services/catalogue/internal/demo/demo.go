// Package demo holds demonstration data for the catalogue service: a hand-written catalogue of an invented but
// realistic CUS in Rawicz (TERC 3022053), and a deterministic generator of synthetic services for load tests and
// search benchmarks.
//
// All places, organisations and descriptions in the demo catalogue are invented for demonstration; the data
// contains no personal data.
package demo

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

// RawiczTERC is the TERYT TERC code of Gmina Rawicz, the CUS instance the demo catalogue belongs to.
const RawiczTERC = "3022053"

// RawiczFirstServiceID is the fixed id of the first demo service, Żłobek Miejski „Promyczek”
// (services/0194c050-3022-7053-8000-000000000001). Other demo services follow the same pattern with a
// sequence number in the last group; programmes use the prefix 0194c050-3022-7053-9000-.
const RawiczFirstServiceID = "0194c050-3022-7053-8000-000000000001"

// rawiczJSON holds the demo catalogue: {"services": [CreateServiceRequest...], "programmes":
// [CreateProgrammeRequest...]}, each entry in protojson form.
//
//go:embed rawicz.json
var rawiczJSON []byte

type rawiczFile struct {
	Services   []json.RawMessage `json:"services"`
	Programmes []json.RawMessage `json:"programmes"`
}

// Rawicz returns the demo catalogue's create requests, freshly decoded (callers may mutate them).
// Services come first in a fixed order; each carries a fixed service_id. Programmes refer to the services by
// their `services/{id}` names, so services must be created before programmes.
func Rawicz() (services []*cataloguev1.CreateServiceRequest, programmes []*cataloguev1.CreateProgrammeRequest, err error) {
	var f rawiczFile
	dec := json.NewDecoder(bytes.NewReader(rawiczJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("demo: decode rawicz.json: %w", err)
	}
	opts := protojson.UnmarshalOptions{DiscardUnknown: false}
	services = make([]*cataloguev1.CreateServiceRequest, 0, len(f.Services))
	for i, raw := range f.Services {
		req := &cataloguev1.CreateServiceRequest{}
		if err := opts.Unmarshal(raw, req); err != nil {
			return nil, nil, fmt.Errorf("demo: rawicz.json services[%d]: %w", i, err)
		}
		services = append(services, req)
	}
	programmes = make([]*cataloguev1.CreateProgrammeRequest, 0, len(f.Programmes))
	for i, raw := range f.Programmes {
		req := &cataloguev1.CreateProgrammeRequest{}
		if err := opts.Unmarshal(raw, req); err != nil {
			return nil, nil, fmt.Errorf("demo: rawicz.json programmes[%d]: %w", i, err)
		}
		programmes = append(programmes, req)
	}
	return services, programmes, nil
}
