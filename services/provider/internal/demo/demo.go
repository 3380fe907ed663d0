// Package demo holds the demonstration registry of an invented but realistic CUS in Rawicz (TERC 3022053): the
// providers behind the demo catalogue (gmina units, an association, a social cooperative running a bistro, a
// foundation, a group of volunteers) and their agreements with capacity, covering services of the demo
// catalogue by their fixed ids.
//
// Every organisation, number and address is invented. The NIPs use the tax-office prefix 000, which no tax
// office has, and the KRS numbers lie far above the numbers issued so far, so neither can belong to a real
// body; the REGONs are invented too. Their check digits are valid, so they pass every rule.
package demo

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"

	"google.golang.org/protobuf/encoding/protojson"

	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

// Fixed ids: providers are 0194c050-3022-7053-b000-0000000000NN and agreements 0194c050-3022-7053-c000-0000000000NN,
// so the catalogue's demo data can refer to the providers (its services are 0194c050-3022-7053-8000-...).
const (
	// CUSProviderID is the Centrum Usług Społecznych w Rawiczu.
	CUSProviderID = "0194c050-3022-7053-b000-000000000001"
	// CooperativeProviderID is the Spółdzielnia Socjalna „Smaki Rawicza”, which runs the bistro.
	CooperativeProviderID = "0194c050-3022-7053-b000-000000000005"
	// VolunteersProviderID is the informal group Wolontariusze „Pomocna Dłoń”.
	VolunteersProviderID = "0194c050-3022-7053-b000-000000000007"
)

// rawiczJSON holds the demo registry: {"providers": [CreateProviderRequest...], "agreements":
// [CreateAgreementRequest...]}, each entry in protojson form.
//
//go:embed rawicz.json
var rawiczJSON []byte

type rawiczFile struct {
	Providers  []json.RawMessage `json:"providers"`
	Agreements []json.RawMessage `json:"agreements"`
}

// Rawicz returns the demo registry's create requests, freshly decoded (callers may mutate them). Providers come
// first; agreements name their provider as parent, so providers must be created before agreements.
func Rawicz() (providers []*providerv1.CreateProviderRequest, agreements []*providerv1.CreateAgreementRequest, err error) {
	var f rawiczFile
	dec := json.NewDecoder(bytes.NewReader(rawiczJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("demo: decode rawicz.json: %w", err)
	}
	opts := protojson.UnmarshalOptions{DiscardUnknown: false}
	for i, raw := range f.Providers {
		req := &providerv1.CreateProviderRequest{}
		if err := opts.Unmarshal(raw, req); err != nil {
			return nil, nil, fmt.Errorf("demo: rawicz.json providers[%d]: %w", i, err)
		}
		providers = append(providers, req)
	}
	for i, raw := range f.Agreements {
		req := &providerv1.CreateAgreementRequest{}
		if err := opts.Unmarshal(raw, req); err != nil {
			return nil, nil, fmt.Errorf("demo: rawicz.json agreements[%d]: %w", i, err)
		}
		agreements = append(agreements, req)
	}
	return providers, agreements, nil
}
