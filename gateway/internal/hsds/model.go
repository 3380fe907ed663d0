package hsds

import "encoding/json"

// The types below are the HSDS 3.0 objects this API publishes, with the JSON field names and order of the
// schemas in openreferral/specification (schema/*.json). Only the fields the catalogue can fill are declared:
// an absent optional field is better than an invented one. Fields required by the schema carry no omitempty,
// so they are present even when the catalogue left them blank.

// Service is an HSDS 3.0 service (schema/compiled/service.json).
type Service struct {
	ID                     string              `json:"id"`
	OrganizationID         string              `json:"organization_id,omitempty"`
	Name                   string              `json:"name"`
	AlternateName          string              `json:"alternate_name,omitempty"`
	Description            string              `json:"description,omitempty"`
	URL                    string              `json:"url,omitempty"`
	Email                  string              `json:"email,omitempty"`
	Status                 string              `json:"status"`
	ApplicationProcess     string              `json:"application_process,omitempty"`
	FeesDescription        string              `json:"fees_description,omitempty"`
	Accreditations         string              `json:"accreditations,omitempty"`
	EligibilityDescription string              `json:"eligibility_description,omitempty"`
	MinimumAge             *int32              `json:"minimum_age,omitempty"`
	MaximumAge             *int32              `json:"maximum_age,omitempty"`
	LastModified           string              `json:"last_modified,omitempty"`
	Phones                 []Phone             `json:"phones,omitempty"`
	ServiceAreas           []ServiceArea       `json:"service_areas,omitempty"`
	ServiceAtLocations     []ServiceAtLocation `json:"service_at_locations,omitempty"`
	Languages              []Language          `json:"languages,omitempty"`
	Organization           *Organization       `json:"organization,omitempty"`
	CostOptions            []CostOption        `json:"cost_options,omitempty"`
	Attributes             []Attribute         `json:"attributes,omitempty"`
}

// OneToOne returns a copy of s without its arrays of child objects: the shape HSDS list endpoints return by
// default (schema/compiled/service_list.json), which keeps pages small. Its organization, a one-to-one
// relation, stays, with only its own one-to-one fields.
func (s *Service) OneToOne() *Service {
	c := *s
	if c.Organization != nil {
		c.Organization = c.Organization.OneToOne()
	}
	c.Phones = nil
	c.ServiceAreas = nil
	c.ServiceAtLocations = nil
	c.Languages = nil
	c.CostOptions = nil
	c.Attributes = nil
	return &c
}

// Phone is an HSDS phone. Extension is a number in HSDS; an extension that is not a plain number goes into
// Description instead.
type Phone struct {
	ID             string `json:"id"`
	ServiceID      string `json:"service_id,omitempty"`
	OrganizationID string `json:"organization_id,omitempty"`
	Number         string `json:"number"`
	Extension      *int64 `json:"extension,omitempty"`
	Type           string `json:"type,omitempty"`
	Description    string `json:"description,omitempty"`
}

// ServiceArea is an HSDS service_area: where residents may use the service.
type ServiceArea struct {
	ID          string `json:"id"`
	ServiceID   string `json:"service_id,omitempty"`
	Name        string `json:"name,omitempty"`
	Description string `json:"description,omitempty"`
}

// ServiceAtLocation is an HSDS service_at_location: the service as delivered at one place, with the hours
// it is available there.
type ServiceAtLocation struct {
	ID          string     `json:"id"`
	ServiceID   string     `json:"service_id,omitempty"`
	LocationID  string     `json:"location_id,omitempty"`
	Description string     `json:"description,omitempty"`
	Schedules   []Schedule `json:"schedules,omitempty"`
	Location    *Location  `json:"location,omitempty"`
}

// Location is an HSDS location (always physical: catalogue locations are places, placówki, and an
// organization's location is its seat, siedziba).
type Location struct {
	ID             string          `json:"id"`
	LocationType   string          `json:"location_type"`
	OrganizationID string          `json:"organization_id,omitempty"`
	Name           string          `json:"name,omitempty"`
	Description    string          `json:"description,omitempty"`
	Latitude       *float64        `json:"latitude,omitempty"`
	Longitude      *float64        `json:"longitude,omitempty"`
	Addresses      []Address       `json:"addresses,omitempty"`
	Accessibility  []Accessibility `json:"accessibility,omitempty"`
}

// Address is an HSDS address. HSDS requires state_province; in Poland that is the voivodeship (województwo),
// which is also given as region.
type Address struct {
	ID            string `json:"id"`
	LocationID    string `json:"location_id,omitempty"`
	Address1      string `json:"address_1"`
	Address2      string `json:"address_2,omitempty"`
	City          string `json:"city"`
	Region        string `json:"region,omitempty"`
	StateProvince string `json:"state_province"`
	PostalCode    string `json:"postal_code"`
	Country       string `json:"country"`
	AddressType   string `json:"address_type"`
}

// Accessibility is an HSDS accessibility entry of a location.
type Accessibility struct {
	ID          string `json:"id"`
	LocationID  string `json:"location_id,omitempty"`
	Description string `json:"description,omitempty"`
	Details     string `json:"details,omitempty"`
	URL         string `json:"url,omitempty"`
}

// Schedule is an HSDS schedule: one weekly opening interval shared by one or more weekdays, as an iCal
// RRULE (freq WEEKLY, byday MO,TU,...). Times are local Warsaw time, HH:MM.
type Schedule struct {
	ID                  string `json:"id"`
	ServiceID           string `json:"service_id,omitempty"`
	LocationID          string `json:"location_id,omitempty"`
	ServiceAtLocationID string `json:"service_at_location_id,omitempty"`
	Freq                string `json:"freq"`
	Byday               string `json:"byday"`
	Description         string `json:"description,omitempty"`
	OpensAt             string `json:"opens_at"`
	ClosesAt            string `json:"closes_at"`
	Notes               string `json:"notes,omitempty"`
}

// Language is an HSDS language a service is delivered in.
type Language struct {
	ID        string `json:"id"`
	ServiceID string `json:"service_id,omitempty"`
	Name      string `json:"name,omitempty"`
	Code      string `json:"code,omitempty"`
}

// CostOption is an HSDS cost_option. Amount is a json.Number so that money keeps its exact decimal form
// (e.g. 12.50) instead of going through a float.
type CostOption struct {
	ID                string      `json:"id"`
	ServiceID         string      `json:"service_id,omitempty"`
	Option            string      `json:"option,omitempty"`
	Currency          string      `json:"currency,omitempty"`
	Amount            json.Number `json:"amount,omitempty"`
	AmountDescription string      `json:"amount_description,omitempty"`
}

// Attribute is an HSDS attribute: it links a service (link_id) to a taxonomy term.
type Attribute struct {
	ID             string        `json:"id"`
	LinkID         string        `json:"link_id"`
	TaxonomyTermID string        `json:"taxonomy_term_id"`
	LinkType       string        `json:"link_type"`
	LinkEntity     string        `json:"link_entity"`
	TaxonomyTerm   *TaxonomyTerm `json:"taxonomy_term,omitempty"`
}

// TaxonomyTerm is an HSDS taxonomy_term (schema/taxonomy_term.json). Taxonomy is the taxonomy's name, as HSDS
// defines it; TaxonomyDetail the taxonomy object itself, given by /taxonomy_terms.
type TaxonomyTerm struct {
	ID             string          `json:"id"`
	Code           string          `json:"code,omitempty"`
	Name           string          `json:"name"`
	Description    string          `json:"description"`
	Taxonomy       string          `json:"taxonomy,omitempty"`
	TaxonomyDetail *TaxonomyDetail `json:"taxonomy_detail,omitempty"`
	Language       string          `json:"language,omitempty"`
	TaxonomyID     string          `json:"taxonomy_id,omitempty"`
}

// TaxonomyDetail is an HSDS taxonomy (schema/taxonomy.json). It is named after the taxonomy_detail field in
// which HSDS nests it, because Taxonomy is this package's lookup of the catalogue's classifications.
type TaxonomyDetail struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	URI         string `json:"uri,omitempty"`
}

// Organization is an HSDS 3.0 organization (schema/compiled/organization.json): a provider of the registry
// (realizator usług). Its id is the provider's UUID. HSDS has no address on an organization: the seat's address
// is the address of its one location. year_incorporated is not declared, since the registry does not know it.
type Organization struct {
	ID                      string                   `json:"id"`
	Name                    string                   `json:"name"`
	AlternateName           string                   `json:"alternate_name,omitempty"`
	Description             string                   `json:"description"`
	Email                   string                   `json:"email,omitempty"`
	Website                 string                   `json:"website,omitempty"`
	TaxStatus               string                   `json:"tax_status,omitempty"`
	TaxID                   string                   `json:"tax_id,omitempty"`
	LegalStatus             string                   `json:"legal_status,omitempty"`
	Funding                 []Funding                `json:"funding,omitempty"`
	Phones                  []Phone                  `json:"phones,omitempty"`
	Locations               []Location               `json:"locations,omitempty"`
	OrganizationIdentifiers []OrganizationIdentifier `json:"organization_identifiers,omitempty"`
	Services                []*Service               `json:"services,omitempty"`
}

// OneToOne returns a copy of o without its arrays of child objects (schema/compiled/organization_list.json).
func (o *Organization) OneToOne() *Organization {
	c := *o
	c.Funding = nil
	c.Phones = nil
	c.Locations = nil
	c.OrganizationIdentifiers = nil
	c.Services = nil
	return &c
}

// OrganizationIdentifier is an HSDS organization_identifier: a register number of the organization, with
// the org-id.guide scheme of its register (PL-REGON, PL-KRS).
type OrganizationIdentifier struct {
	ID               string `json:"id"`
	OrganizationID   string `json:"organization_id,omitempty"`
	IdentifierScheme string `json:"identifier_scheme,omitempty"`
	IdentifierType   string `json:"identifier_type"`
	Identifier       string `json:"identifier"`
}

// Funding is an HSDS funding entry: a source of the money an organization delivers services with, in words.
type Funding struct {
	ID             string `json:"id"`
	OrganizationID string `json:"organization_id,omitempty"`
	Source         string `json:"source,omitempty"`
}

// Page is the HSDS paging envelope of list endpoints. Size is the number of entities on this page and Empty
// says whether this page has none, as the HSDS OpenAPI document defines them.
type Page[T any] struct {
	TotalItems int  `json:"total_items"`
	TotalPages int  `json:"total_pages"`
	PageNumber int  `json:"page_number"`
	Size       int  `json:"size"`
	FirstPage  bool `json:"first_page"`
	LastPage   bool `json:"last_page"`
	Empty      bool `json:"empty"`
	Contents   []T  `json:"contents"`
}

// NewPage builds the envelope of page pageNumber (1-based) of perPage items out of totalItems, holding
// contents. Past the last page the contents are empty and last_page is true: there is nothing after it.
func NewPage[T any](contents []T, totalItems, pageNumber, perPage int) Page[T] {
	if contents == nil {
		contents = []T{} // HSDS clients expect an array, never null.
	}
	totalPages := 0
	if perPage > 0 {
		totalPages = (totalItems + perPage - 1) / perPage
	}
	return Page[T]{
		TotalItems: totalItems,
		TotalPages: totalPages,
		PageNumber: pageNumber,
		Size:       len(contents),
		FirstPage:  pageNumber == 1,
		LastPage:   pageNumber >= totalPages,
		Empty:      len(contents) == 0,
		Contents:   contents,
	}
}

// Root is the answer of the HSDS `/` endpoint.
type Root struct {
	Version    string `json:"version"`
	Profile    string `json:"profile"`
	OpenAPIURL string `json:"openapi_url"`
	Publisher  string `json:"publisher,omitempty"`
}
