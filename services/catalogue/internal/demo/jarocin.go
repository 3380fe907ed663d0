package demo

import (
	"strings"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

// JarocinTERC is the TERC code of the second demo instance (Jarocin), used by `make run-federation`.
const JarocinTERC = "3006023"

// Jarocin returns a smaller demo catalogue for CUS Jarocin, derived from the Rawicz one: every other service,
// moved to Jarocin (its TERC code, postal code, town and coordinates about 45 km north-east), with its own ids.
// Two instances with different catalogues are what the federation demo needs; the texts are invented either way.
func Jarocin() ([]*cataloguev1.CreateServiceRequest, error) {
	services, _, err := Rawicz()
	if err != nil {
		return nil, err
	}
	const dLat, dLng = 0.363, 0.643 // Rawicz (51.61 N, 16.86 E) to Jarocin (51.97 N, 17.50 E)
	replace := strings.NewReplacer("Rawiczu", "Jarocinie", "Rawicza", "Jarocina", "Rawicz", "Jarocin",
		"rawicki", "jarociński", "Rawicki", "Jarociński", "rawick", "jarocińsk", "cus.rawicz.example", "cus.jarocin.example")
	var out []*cataloguev1.CreateServiceRequest
	for i, req := range services {
		if i%2 == 1 {
			continue
		}
		req.ServiceId = strings.Replace(req.GetServiceId(), "3022-7053", "3006-7023", 1)
		s := req.GetService()
		s.DisplayName = replace.Replace(s.GetDisplayName())
		s.Description = replace.Replace(s.GetDescription())
		s.ApplicationProcess = replace.Replace(s.GetApplicationProcess())
		s.EligibilityDescription = replace.Replace(s.GetEligibilityDescription())
		s.Url = replace.Replace(s.GetUrl())
		s.Email = replace.Replace(s.GetEmail())
		for _, a := range s.GetServiceAreas() {
			a.Name = replace.Replace(a.GetName())
			switch a.GetTerytCode() {
			case RawiczTERC:
				a.TerytCode = JarocinTERC
			case RawiczTERC[:4]:
				a.TerytCode = JarocinTERC[:4]
			}
		}
		for _, l := range s.GetLocations() {
			l.Id = strings.Replace(l.GetId(), "3022-7053", "3006-7023", 1)
			l.Name = replace.Replace(l.GetName())
			l.TerytCode = JarocinTERC
			if a := l.GetAddress(); a != nil {
				a.City = "Jarocin"
				a.PostalCode = "63-200"
			}
			if c := l.GetCoordinates(); c != nil {
				c.Latitude += dLat
				c.Longitude += dLng
			}
		}
		out = append(out, req)
	}
	return out, nil
}
