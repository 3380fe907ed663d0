package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestErrorsInPolish: over REST, Accept-Language: pl gives every kind of error in Polish (a validation error of
// the catalogue, of the referral service with a PESEL, a not-found, an unauthenticated call, a route the
// gateway does not have), with the same HTTP status, reason and field paths as in English, which stays the
// default, and a google.rpc.LocalizedMessage. The services translate their own errors (the gateway forwards
// the header as accept-language metadata); the gateway translates those it makes.
func TestErrorsInPolish(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{full: true})
	type localizedError struct {
		Message string
		Fields  map[string]string // field path -> description
		Locale  string
		Local   string // LocalizedMessage.message
	}
	read := func(t *testing.T, r httpResult) localizedError {
		t.Helper()
		var raw struct {
			Message string `json:"message"`
			Details []struct {
				Type            string `json:"@type"`
				Locale          string `json:"locale"`
				Message         string `json:"message"`
				FieldViolations []struct {
					Field       string `json:"field"`
					Description string `json:"description"`
				} `json:"fieldViolations"`
			} `json:"details"`
		}
		if err := json.Unmarshal(r.Body, &raw); err != nil {
			t.Fatalf("%v: %s", err, r)
		}
		e := localizedError{Message: raw.Message, Fields: map[string]string{}}
		for _, d := range raw.Details {
			for _, v := range d.FieldViolations {
				e.Fields[v.Field] = v.Description
			}
			if strings.HasSuffix(d.Type, "google.rpc.LocalizedMessage") {
				e.Locale, e.Local = d.Locale, d.Message
			}
		}
		return e
	}
	coordinator := "Bearer " + s.token(t, "coordinator")
	cases := []struct {
		name, method, path, body, token string
		httpStatus                      int
		reason                          string
		en, pl                          localizedError
	}{
		{"bad TERC", http.MethodPost, "/v1/services:search", `{"tercCodes":["3022"]}`, "", 400, "INVALID_FIELDS",
			localizedError{Message: "the request has invalid fields", Fields: map[string]string{"terc_codes[0]": "must be a TERYT TERC code of a gmina: must be 7 digits"}},
			localizedError{Message: "żądanie zawiera nieprawidłowe pola", Fields: map[string]string{"terc_codes[0]": "musi być kodem TERYT TERC gminy: musi mieć 7 cyfr"}}},
		{"unknown area", http.MethodPost, "/v1/services:search", `{"areas":[99]}`, "", 400, "INVALID_FIELDS",
			localizedError{Message: "the request has invalid fields", Fields: map[string]string{"areas[0]": "unknown area 99; see ListAreas"}},
			localizedError{Message: "żądanie zawiera nieprawidłowe pola", Fields: map[string]string{"areas[0]": "nieznany obszar 99; zob. ListAreas"}}},
		{"bad PESEL", http.MethodPost, "/v1/residents",
			`{"givenName":"Jan","familyName":"Wymyślony","pesel":"44051401358","terytCode":"3022053","householdSize":1}`, coordinator, 400, "INVALID_FIELDS",
			localizedError{Message: "the request has invalid fields", Fields: map[string]string{"resident.pesel": "not a valid PESEL (11 digits, a real date of birth, a matching check digit)"}},
			localizedError{Message: "żądanie zawiera nieprawidłowe pola", Fields: map[string]string{"resident.pesel": "to nie jest poprawny numer PESEL (11 cyfr, prawdziwa data urodzenia, zgodna cyfra kontrolna)"}}},
		{"not a UUID (docs/errors.md)", http.MethodGet, "/v1/services/not-a-uuid", "", "", 400, "INVALID_FIELDS",
			localizedError{Message: "the request has invalid fields", Fields: map[string]string{"name": "must be services/{uuid}"}},
			localizedError{Message: "żądanie zawiera nieprawidłowe pola", Fields: map[string]string{"name": "musi mieć postać services/{uuid}"}}},
		{"not found", http.MethodGet, "/v1/services/0194c050-0000-7000-8000-0000000e2e18", "", "", 404, "SERVICE_NOT_FOUND",
			localizedError{Message: "service not found"}, localizedError{Message: "nie znaleziono usługi"}},
		{"unauthenticated", http.MethodPost, "/v1/services", `{"displayName":"Bez tokenu","areas":["AREA_CULTURE"]}`, "", 401, "AUTHENTICATION_REQUIRED",
			localizedError{Message: "this method needs a bearer token"}, localizedError{Message: "ta metoda wymaga tokenu (Bearer)"}},
		{"no such route", http.MethodGet, "/v1/nothing-here", "", "", 404, "ROUTE_NOT_FOUND",
			localizedError{Message: "no route GET /v1/nothing-here; see /openapi.json for the API"},
			localizedError{Message: "nie ma trasy GET /v1/nothing-here; opis API jest w /openapi.json"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, lang := range []struct {
				header string
				want   localizedError
				locale string
			}{{"", c.en, ""}, {"pl", c.pl, "pl"}, {"pl-PL,pl;q=0.9,en;q=0.8", c.pl, "pl"}, {"en-GB,pl;q=0.5", c.en, ""}} {
				hdr := map[string]string{}
				if lang.header != "" {
					hdr["Accept-Language"] = lang.header
				}
				if c.token != "" {
					hdr["Authorization"] = c.token
				}
				var body *strings.Reader
				if c.body != "" {
					body = strings.NewReader(c.body)
				}
				var r httpResult
				if body != nil {
					r = s.do(t, c.method, c.path, body, hdr)
				} else {
					r = s.do(t, c.method, c.path, nil, hdr)
				}
				r.wantStatus(t, c.httpStatus, c.reason)
				got := read(t, r)
				if got.Message != lang.want.Message {
					t.Errorf("Accept-Language %q: message %q, want %q", lang.header, got.Message, lang.want.Message)
				}
				if len(got.Fields) != len(lang.want.Fields) {
					t.Errorf("Accept-Language %q: violations %q, want %q", lang.header, got.Fields, lang.want.Fields)
				}
				for f, d := range lang.want.Fields {
					if got.Fields[f] != d {
						t.Errorf("Accept-Language %q: %s: %q, want %q", lang.header, f, got.Fields[f], d)
					}
				}
				if got.Locale != lang.locale || (lang.locale != "" && got.Local != lang.want.Message) {
					t.Errorf("Accept-Language %q: LocalizedMessage {%q, %q}, want {%q, %q}", lang.header, got.Locale, got.Local, lang.locale, lang.want.Message)
				}
			}
		})
	}
}
