package web

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/cus-suite/cus/platform/plid"
)

// Site is what the pages say about the CUS itself: its name, its gmina and how to reach it, and the content of
// its accessibility declaration (deklaracja dostępności). A gmina writes it once in a JSON file
// (--cus-contact-file); docs/web.md describes every field.
type Site struct {
	// Name is the full name, e.g. "Centrum Usług Społecznych w Rawiczu".
	Name string `json:"name"`
	// ShortName is used in page titles, e.g. "CUS Rawicz"; Name when empty.
	ShortName string `json:"short_name,omitempty"`
	// Terc is the TERYT TERC code of the gmina (7 digits): services with another origin are marked as federated.
	Terc string `json:"terc,omitempty"`
	// Gmina is the gmina's name in the genitive as used after "gminy", e.g. "Rawicz".
	Gmina string `json:"gmina,omitempty"`
	// Address lines of the office, e.g. ["ul. Przykładowa 1", "63-900 Rawicz"].
	Address []string `json:"address,omitempty"`
	// Phones as a person dials them.
	Phones []string `json:"phones,omitempty"`
	// Email of the office.
	Email string `json:"email,omitempty"`
	// Hours are the office hours in words, one line each, e.g. "poniedziałek–piątek 7:30–15:30".
	Hours []string `json:"hours,omitempty"`
	// EPUAP is the address of the office's ePUAP inbox (skrytka), e.g. "/CUSRawicz/SkrytkaESP".
	EPUAP string `json:"epuap,omitempty"`
	// Website is the CUS's own web site, if it has one besides these pages.
	Website string `json:"website,omitempty"`
	// Accessibility is the content of the accessibility declaration.
	Accessibility Accessibility `json:"accessibility"`
}

// Accessibility is what the accessibility declaration (ustawa z 4 kwietnia 2019 r. o dostępności cyfrowej)
// needs besides what the pages state about themselves.
type Accessibility struct {
	// PublishedOn is the date the pages were published, YYYY-MM-DD.
	PublishedOn string `json:"published_on,omitempty"`
	// UpdatedOn is the date of the last significant update, YYYY-MM-DD.
	UpdatedOn string `json:"updated_on,omitempty"`
	// PreparedOn is the date the declaration was prepared (and last reviewed), YYYY-MM-DD.
	PreparedOn string `json:"prepared_on,omitempty"`
	// Contact is the person responsible for accessibility, with Email and Phone.
	Contact string `json:"contact,omitempty"`
	Email   string `json:"email,omitempty"`
	Phone   string `json:"phone,omitempty"`
	// Building describes the architectural accessibility of the office, one paragraph per entry.
	Building []string `json:"building,omitempty"`
}

// DefaultSite is used when no contact file is given: the instance name only, and the pages say that the contact
// details were not configured rather than invent any.
func DefaultSite(instanceName string) Site {
	if instanceName == "" {
		// A gateway set up with neither a contact file nor an instance name still serves the pages.
		instanceName = "Centrum Usług Społecznych"
	}
	return Site{Name: instanceName}
}

// LoadSite reads a contact file and checks it, naming the field at fault.
func LoadSite(path string) (Site, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Site{}, err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var s Site
	if err := dec.Decode(&s); err != nil {
		return Site{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, s.Check()
}

// Check validates the site description.
func (s *Site) Check() error {
	if strings.TrimSpace(s.Name) == "" {
		return fmt.Errorf("name: the CUS's name is required")
	}
	if s.Terc != "" {
		if err := plid.ValidateTERC(s.Terc); err != nil {
			return fmt.Errorf("terc: %w", err)
		}
	}
	return nil
}

// Short is the name for page titles.
func (s *Site) Short() string {
	if s.ShortName != "" {
		return s.ShortName
	}
	return s.Name
}
