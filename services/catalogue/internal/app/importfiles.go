package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/cus-suite/cus/platform/sheet"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	"github.com/cus-suite/cus/services/catalogue/internal/demo"
	"github.com/cus-suite/cus/services/catalogue/internal/domain"
)

// Formats of the import files GenerateFiles writes.
const (
	FileFormatCSV   = "csv"
	FileFormatHSDS  = "hsds"
	FileFormatMixed = "mixed" // CSV and HSDS 3.0 JSON files, about half of the services in each
)

// FileOptions says how GenerateFiles cuts the catalogue into import files.
type FileOptions struct {
	// Format is FileFormatCSV, FileFormatHSDS or FileFormatMixed.
	Format string
	// MaxBytes bounds each file; it must leave room under domain.MaxImportBytes for the request's framing.
	MaxBytes int
	// Queries is the number of search queries written beside the files (queries.json); 0 writes none.
	Queries int
}

// FileSet is what GenerateFiles wrote.
type FileSet struct {
	Services, CSVFiles, HSDSFiles, CSVServices, HSDSServices int
	Bytes                                                    int64
}

// GenerateFiles writes a synthetic catalogue as files for ImportServices into dir (created; files already there
// are replaced): NNNNN.csv in the services sheet's columns (as ExportServices writes it) and NNNNN.json as HSDS 3.0
// (an array of fully nested services), each at most fo.MaxBytes and domain.MaxImportRows rows, and, with
// fo.Queries, queries.json: the search query set of demo.SearchQueries for the same catalogue.
//
// The two formats keep different parts of a service, as real exports do: the CSV one location with its TERC code
// and no coordinates, HSDS every location with its coordinates and no TERC code (a location has none in HSDS).
// Mixed files give a catalogue in which both TERC and distance filters find services.
func GenerateFiles(dir string, opts demo.SyntheticOptions, fo FileOptions) (FileSet, error) {
	var set FileSet
	if err := opts.Validate(); err != nil {
		return set, err
	}
	switch fo.Format {
	case FileFormatCSV, FileFormatHSDS, FileFormatMixed:
	default:
		return set, fmt.Errorf("format %q: want %s, %s or %s", fo.Format, FileFormatCSV, FileFormatHSDS, FileFormatMixed)
	}
	if fo.MaxBytes < 64<<10 || fo.MaxBytes > domain.MaxImportBytes-(64<<10) {
		return set, fmt.Errorf("file size %d: want 64 KiB to %d bytes", fo.MaxBytes, domain.MaxImportBytes-(64<<10))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return set, err
	}
	old, err := filepath.Glob(filepath.Join(dir, "[0-9][0-9][0-9][0-9][0-9].*"))
	if err != nil {
		return set, err
	}
	for _, f := range old {
		if err := os.Remove(f); err != nil {
			return set, err
		}
	}

	// One file of each format is open at a time; in a mixed set each service goes to the format that has fewer
	// so far, so that both halves are alike at any size.
	type open struct {
		buf  bytes.Buffer
		csvw sheet.Writer
		rows int
		hsds bool
	}
	var csvFile, hsdsFile *open
	file := 0
	start := func(hsds bool) (*open, error) {
		f := &open{hsds: hsds}
		if hsds {
			f.buf.WriteByte('[')
			return f, nil
		}
		var err error
		f.csvw, err = sheet.NewWriter(&f.buf, sheet.CSV, "", domain.SheetColumns())
		return f, err
	}
	flush := func(f *open) error {
		if f == nil || f.rows == 0 {
			return nil
		}
		ext := ".csv"
		if f.hsds {
			f.buf.WriteString("]\n")
			ext = ".json"
			set.HSDSFiles++
		} else {
			if err := f.csvw.Close(); err != nil {
				return err
			}
			set.CSVFiles++
		}
		if f.buf.Len() > domain.MaxImportBytes {
			return fmt.Errorf("file %d has %d bytes, above the import's %d", file+1, f.buf.Len(), domain.MaxImportBytes)
		}
		set.Bytes += int64(f.buf.Len())
		file++
		return os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d%s", file, ext)), f.buf.Bytes(), 0o644)
	}
	// The CSV writer buffers 64 KiB before the file's bytes grow: a CSV file is closed that much below the limit.
	limit := fo.MaxBytes - (64 << 10)
	err = demo.Synthetic(opts, func(id string, s *cataloguev1.Service) error {
		hsds := fo.Format == FileFormatHSDS || fo.Format == FileFormatMixed && set.HSDSServices < set.CSVServices
		var f *open
		if hsds {
			if hsdsFile == nil {
				if hsdsFile, err = start(true); err != nil {
					return err
				}
			}
			f = hsdsFile
			b, err := json.Marshal(hsdsOf(id, s))
			if err != nil {
				return err
			}
			if f.rows > 0 && f.buf.Len()+len(b)+3 > fo.MaxBytes {
				if err := flush(f); err != nil {
					return err
				}
				if hsdsFile, err = start(true); err != nil {
					return err
				}
				f = hsdsFile
			}
			if f.rows > 0 {
				f.buf.WriteByte(',')
			}
			f.buf.Write(b)
			set.HSDSServices++
		} else {
			if csvFile == nil {
				if csvFile, err = start(false); err != nil {
					return err
				}
			}
			f = csvFile
			s.Name = domain.ServicePrefix + id // the Identyfikator column: a re-run updates instead of duplicating
			if err := f.csvw.Row(domain.ServiceRow(s)...); err != nil {
				return err
			}
			set.CSVServices++
		}
		f.rows++
		set.Services++
		if f.rows == domain.MaxImportRows || !hsds && f.buf.Len() >= limit {
			if err := flush(f); err != nil {
				return err
			}
			if hsds {
				hsdsFile = nil
			} else {
				csvFile = nil
			}
		}
		return nil
	})
	if err == nil {
		err = flush(csvFile)
	}
	if err == nil {
		err = flush(hsdsFile)
	}
	if err != nil {
		return set, fmt.Errorf("generate files: %w", err)
	}
	if fo.Queries > 0 {
		if err := writeQueries(filepath.Join(dir, "queries.json"), opts, fo.Queries); err != nil {
			return set, err
		}
	}
	return set, nil
}

// writeQueries writes the search query set as a JSON array of {name, kind, request} (request in the API's JSON).
func writeQueries(path string, opts demo.SyntheticOptions, n int) error {
	qs, err := demo.SearchQueries(opts, n)
	if err != nil {
		return err
	}
	type entry struct {
		Name    string          `json:"name"`
		Kind    string          `json:"kind"`
		Request json.RawMessage `json:"request"`
	}
	out := make([]entry, 0, len(qs))
	for _, q := range qs {
		b, err := protojson.Marshal(q.Request)
		if err != nil {
			return err
		}
		out = append(out, entry{q.Name, q.Kind, b})
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// The HSDS 3.0 service as the import reads it (domain/import_hsds.go): fully nested.
type hsdsOut struct {
	ID                     string      `json:"id"`
	Name                   string      `json:"name"`
	AlternateName          string      `json:"alternate_name,omitempty"`
	Description            string      `json:"description,omitempty"`
	URL                    string      `json:"url,omitempty"`
	Email                  string      `json:"email,omitempty"`
	Status                 string      `json:"status"`
	ApplicationProcess     string      `json:"application_process,omitempty"`
	EligibilityDescription string      `json:"eligibility_description,omitempty"`
	FeesDescription        string      `json:"fees_description,omitempty"`
	MinimumAge             *int32      `json:"minimum_age,omitempty"`
	MaximumAge             *int32      `json:"maximum_age,omitempty"`
	Phones                 []hsdsPhone `json:"phones,omitempty"`
	ServiceAtLocations     []hsdsSAL   `json:"service_at_locations"`
	CostOptions            []hsdsCost  `json:"cost_options,omitempty"`
	Languages              []hsdsCode  `json:"languages,omitempty"`
	Attributes             []hsdsAttr  `json:"attributes"`
	ServiceAreas           []hsdsArea  `json:"service_areas,omitempty"`
}

type (
	hsdsPhone struct {
		Number      string `json:"number"`
		Type        string `json:"type,omitempty"`
		Description string `json:"description,omitempty"`
	}
	hsdsSAL struct {
		Location  hsdsLocation   `json:"location"`
		Schedules []hsdsSchedule `json:"schedules,omitempty"`
	}
	hsdsLocation struct {
		ID            string          `json:"id"`
		Name          string          `json:"name,omitempty"`
		Description   string          `json:"description,omitempty"`
		Latitude      *float64        `json:"latitude,omitempty"`
		Longitude     *float64        `json:"longitude,omitempty"`
		Addresses     []hsdsAddress   `json:"addresses,omitempty"`
		Accessibility []hsdsAccessOut `json:"accessibility,omitempty"`
	}
	hsdsAddress struct {
		Address1    string `json:"address_1"`
		City        string `json:"city"`
		Region      string `json:"region,omitempty"`
		PostalCode  string `json:"postal_code,omitempty"`
		Country     string `json:"country"`
		AddressType string `json:"address_type"`
	}
	hsdsAccessOut struct {
		Description string `json:"description,omitempty"`
		Details     string `json:"details,omitempty"`
	}
	hsdsSchedule struct {
		Freq     string `json:"freq"`
		Byday    string `json:"byday"`
		OpensAt  string `json:"opens_at"`
		ClosesAt string `json:"closes_at"`
		Notes    string `json:"notes,omitempty"`
	}
	hsdsCost struct {
		Option   string  `json:"option"`
		Amount   float64 `json:"amount"`
		Currency string  `json:"currency"`
	}
	hsdsCode struct {
		Code string `json:"code"`
	}
	hsdsAttr struct {
		TaxonomyTerm hsdsCode `json:"taxonomy_term"`
	}
	hsdsArea struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
	}
)

var hsdsStatus = map[cataloguev1.ServiceStatus]string{
	cataloguev1.ServiceStatus_SERVICE_STATUS_ACTIVE:             "active",
	cataloguev1.ServiceStatus_SERVICE_STATUS_INACTIVE:           "inactive",
	cataloguev1.ServiceStatus_SERVICE_STATUS_DEFUNCT:            "defunct",
	cataloguev1.ServiceStatus_SERVICE_STATUS_TEMPORARILY_CLOSED: "temporarily closed",
}

var hsdsDays = [...]string{"", "MO", "TU", "WE", "TH", "FR", "SA", "SU"}

// hsdsOf is a service as another HSDS 3.0 system would export it.
func hsdsOf(id string, s *cataloguev1.Service) *hsdsOut {
	h := &hsdsOut{
		ID: id, Name: s.GetDisplayName(), AlternateName: s.GetAlternateName(), Description: s.GetDescription(),
		URL: s.GetUrl(), Email: s.GetEmail(), Status: hsdsStatus[s.GetStatus()], ApplicationProcess: s.GetApplicationProcess(),
		EligibilityDescription: s.GetEligibilityDescription(), MinimumAge: s.MinimumAge, MaximumAge: s.MaximumAge,
		ServiceAtLocations: []hsdsSAL{}, Attributes: []hsdsAttr{},
	}
	for _, p := range s.GetPhones() {
		h.Phones = append(h.Phones, hsdsPhone{p.GetNumber(), p.GetType(), p.GetDescription()})
	}
	for _, l := range s.GetLanguages() {
		h.Languages = append(h.Languages, hsdsCode{l})
	}
	for _, a := range s.GetAreas() {
		h.Attributes = append(h.Attributes, hsdsAttr{hsdsCode{a.String()}})
	}
	for _, g := range s.GetTargetGroups() {
		h.Attributes = append(h.Attributes, hsdsAttr{hsdsCode{g.String()}})
	}
	for _, a := range s.GetServiceAreas() {
		d := ""
		if a.GetTerytCode() != "" {
			d = "Kod TERYT: " + a.GetTerytCode() + "."
		}
		h.ServiceAreas = append(h.ServiceAreas, hsdsArea{a.GetName(), d})
	}
	if f := s.GetFee(); f != nil {
		h.FeesDescription = f.GetDescription()
		if f.GetPriceGrosze() > 0 {
			h.CostOptions = []hsdsCost{{Option: f.GetUnit().String(), Amount: float64(f.GetPriceGrosze()) / 100, Currency: "PLN"}}
		}
	}
	for _, l := range s.GetLocations() {
		loc := hsdsLocation{ID: l.GetId(), Name: l.GetName(), Description: l.GetDescription()}
		if c := l.GetCoordinates(); c != nil {
			lat, lng := c.GetLatitude(), c.GetLongitude()
			loc.Latitude, loc.Longitude = &lat, &lng
		}
		if a := l.GetAddress(); a != nil {
			loc.Addresses = []hsdsAddress{{a.GetAddress_1(), a.GetCity(), a.GetRegion(), a.GetPostalCode(), a.GetCountry(), "physical"}}
		}
		if acc := l.GetAccessibility(); acc != nil {
			d := ""
			if acc.GetWheelchairAccessible() {
				d = "wheelchair accessible"
			}
			loc.Accessibility = []hsdsAccessOut{{acc.GetDescription(), d}}
		}
		sal := hsdsSAL{Location: loc}
		// Days with the same hours share one weekly schedule, as HSDS exports write them.
		type span struct{ opens, closes, notes string }
		var order []span
		days := map[span][]string{}
		for _, oh := range l.GetOpeningHours() {
			sp := span{oh.GetOpensAt(), oh.GetClosesAt(), oh.GetDescription()}
			if sp.closes == "24:00" {
				sp.closes = "23:59" // HSDS times stop at 23:59; the import reads it back as 24:00
			}
			if _, ok := days[sp]; !ok {
				order = append(order, sp)
			}
			days[sp] = append(days[sp], hsdsDays[oh.GetDay()])
		}
		for _, sp := range order {
			sal.Schedules = append(sal.Schedules, hsdsSchedule{"WEEKLY", strings.Join(days[sp], ","), sp.opens, sp.closes, sp.notes})
		}
		h.ServiceAtLocations = append(h.ServiceAtLocations, sal)
	}
	return h
}
