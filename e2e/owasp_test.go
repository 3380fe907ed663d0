package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	reflectionv1 "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"

	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// TestOWASPAPITop10 is the proof suite of the security issue: the whole suite (catalogue, provider registry,
// referral service, gateway) attacked along the OWASP API Security Top 10 (2023), one subtest per item. Each
// row says what it tried and the answer it must meet; the tally counts rows, refusals with the right code and
// leaks (a test resident's PESEL, name or street, or another provider's data, in an answer where it must not
// be). At the end the logs of every process, the data files and a backup are scanned for the test residents'
// personal data.
func TestOWASPAPITop10(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{full: true})
	w := newOWASPWorld(t, s)
	tl := newTally(w.pii)
	var extra []*proc // processes started by the rows themselves; their logs are scanned too
	var extraMu sync.Mutex
	addProc := func(p *proc) { extraMu.Lock(); extra = append(extra, p); extraMu.Unlock() }

	t.Run("API1_BrokenObjectLevelAuthorization", func(t *testing.T) { owaspAPI1(t, s, w, tl) })
	t.Run("API2_BrokenAuthentication", func(t *testing.T) { owaspAPI2(t, s, w, tl) })
	t.Run("API3_BrokenObjectPropertyLevelAuthorization", func(t *testing.T) { owaspAPI3(t, s, w, tl) })
	t.Run("API4_UnrestrictedResourceConsumption", func(t *testing.T) { owaspAPI4(t, s, w, tl, addProc) })
	t.Run("API5_BrokenFunctionLevelAuthorization", func(t *testing.T) { owaspAPI5(t, s, w, tl) })
	t.Run("API6_UnrestrictedAccessToSensitiveBusinessFlows", func(t *testing.T) { owaspAPI6(t, s, w, tl) })
	t.Run("API7_ServerSideRequestForgery", func(t *testing.T) { owaspAPI7(t, s, w, tl) })
	t.Run("API8_SecurityMisconfiguration", func(t *testing.T) { owaspAPI8(t, s, w, tl, addProc) })
	t.Run("API9_ImproperInventoryManagement", func(t *testing.T) { owaspAPI9(t, s, w, tl) })
	t.Run("API10_UnsafeConsumptionOfAPIs", func(t *testing.T) { owaspAPI10(t, s, w, tl) })
	t.Run("Leaks_LogsDataFilesBackups", func(t *testing.T) {
		extraMu.Lock()
		procs := append([]*proc(nil), extra...)
		extraMu.Unlock()
		owaspLeaks(t, s, w, tl, procs)
	})
	tl.summary(t)
}

// owaspWorld is what the rows act on: invented residents, their consent and case, providers A and B, and
// referrals of provider A.
type owaspWorld struct {
	coord, director, admin, organiser, integration, peer map[string]string
	staffA, staffB                                       map[string]string

	providerA, providerB   string // providers/{uuid}
	agreementA, agreementB string // an accepting agreement of each (agreementB may be "")
	service                string // the catalogue service of agreementA

	pesel1, pesel2, pesel3, unknownPESEL string
	resident1, resident2, resident3      string // residents/{uuid}
	consent1, consent2                   string // consents of resident 1 and 2 (scope CONTACT)
	case1, case2                         string
	plan1                                string

	refA     string         // referral of resident 1 to provider A, REQUESTED
	refAFull map[string]any // as created
	refDraft string         // a DRAFT of provider A
	revision int64          // list revision before refA

	pii []string // PESELs, names and streets of the test residents
}

// invented residents: names and streets that exist nowhere else in the suite's data.
var owaspResidents = []struct {
	given, family, street string
	birth                 time.Time
	serial                string
	household             int
}{
	{"Teodozja", "Zmyślonowska-Owaspowa", "ul. Nieistniejąca 77/3", time.Date(1957, time.March, 14, 0, 0, 0, 0, time.UTC), "9386", 2},
	{"Hieronim", "Wymysłowicz-Testowy", "ul. Bajkowa 1313", time.Date(1944, time.July, 2, 0, 0, 0, 0, time.UTC), "9417", 2},
	{"Scholastyka", "Fikcyjna-Próbna", "ul. Urojona 404", time.Date(1982, time.November, 30, 0, 0, 0, 0, time.UTC), "9528", 2},
}

// ageOn is the age in full years on day of a person born on birth.
func ageOn(birth, day time.Time) int {
	age := day.Year() - birth.Year()
	if day.Month() < birth.Month() || (day.Month() == birth.Month() && day.Day() < birth.Day()) {
		age--
	}
	return age
}

// owaspFits says whether a resident born on birth, in a household of household persons and with no declared
// target group, may be referred to the catalogue service svc without a decyzja on day (the referral service's
// eligibility rules): active, no age bound the resident is outside, and a target group derivable from the
// data (all residents, seniors from 60, children and youth under 18, families of more than one person; none
// listed means everyone).
func owaspFits(svc map[string]any, birth time.Time, household int, day time.Time) bool {
	if st, _ := svc["status"].(string); st != "" && st != "SERVICE_STATUS_ACTIVE" {
		return false
	}
	if d, _ := svc["requiresDecision"].(bool); d {
		return false
	}
	age := int64(ageOn(birth, day))
	if n, ok := svc["minimumAge"].(json.Number); ok {
		if v, _ := n.Int64(); age < v {
			return false
		}
	}
	if n, ok := svc["maximumAge"].(json.Number); ok {
		if v, _ := n.Int64(); age > v {
			return false
		}
	}
	groups, _ := svc["targetGroups"].([]any)
	has := map[string]bool{"TARGET_GROUP_ALL_RESIDENTS": true, "TARGET_GROUP_FAMILIES": household > 1,
		"TARGET_GROUP_SENIORS": age >= 60, "TARGET_GROUP_CHILDREN_AND_YOUTH": age < 18, "TARGET_GROUP_CHILDREN_UNDER_3": age < 3}
	for _, g := range groups {
		if s, _ := g.(string); has[s] {
			return true
		}
	}
	return len(groups) == 0
}

func newOWASPWorld(t *testing.T, s *suite) *owaspWorld {
	t.Helper()
	w := &owaspWorld{
		coord: s.as(t, "coordinator"), director: s.as(t, "director"), admin: s.as(t, "admin"),
		organiser: s.as(t, "organiser"), integration: s.as(t, "integration"),
		peer: bearer(s.mint(t, "peer:3006023", "--role", "peer", "--terc", "3006023")),
	}
	today := time.Now().UTC().Format(time.DateOnly)

	// Provider A: an active provider with an accepting agreement for a demo catalogue service (as
	// TestReferralLoopThroughREST finds one); provider B: another active provider, with an agreement if it has one.
	providers := objects(t, s.call(t, http.MethodGet, "/v1/providers?pageSize=1000", "", nil).wantOK(t), "providers")
	active := map[string]bool{}
	for _, p := range providers {
		if optStr(p, "status") == "PROVIDER_STATUS_ACTIVE" {
			active[str(t, p, "name")] = true
		}
	}
	agreements := objects(t, s.call(t, http.MethodGet, "/v1/providers/-/agreements?pageSize=1000&filter="+
		url.QueryEscape("status = AGREEMENT_STATUS_ACTIVE AND active_on = \""+today+"\""), "", nil).wantOK(t), "agreements")
	ownerOf := func(agreement string) string { return agreement[:strings.Index(agreement, "/agreements/")] }
	r1 := owaspResidents[0]
	for _, a := range agreements {
		name := str(t, a, "name")
		if !active[ownerOf(name)] {
			continue
		}
		// The service's own rules must let resident 1 in (the referral service applies them), so only the row's
		// attack can be what a refusal is about.
		svc := s.get(t, "/v1/"+str(t, a, "service"))
		if svc.Status != http.StatusOK || !owaspFits(svc.jsonObject(t), r1.birth, r1.household, time.Now().UTC()) {
			continue
		}
		av := s.call(t, http.MethodGet, "/v1/"+name+"/availability", "", w.coord).wantOK(t)
		if av["accepting"] != true || int64Field(t, av, "available") < 20 {
			continue
		}
		w.agreementA, w.providerA, w.service = name, ownerOf(name), str(t, a, "service")
		break
	}
	if w.agreementA == "" {
		t.Fatalf("no accepting agreement with 20 units of an active demo provider for a service resident 1 fits")
	}
	for _, a := range agreements {
		if p := ownerOf(str(t, a, "name")); p != w.providerA && active[p] {
			w.providerB, w.agreementB = p, str(t, a, "name")
			break
		}
	}
	if w.providerB == "" {
		for _, p := range providers {
			if n := str(t, p, "name"); n != w.providerA {
				w.providerB = n
				break
			}
		}
	}
	w.staffA, w.staffB = s.asProvider(t, lastID(w.providerA)), s.asProvider(t, lastID(w.providerB))
	t.Logf("provider A %s (agreement %s, service %s); provider B %s (agreement %q)", w.providerA, w.agreementA, w.service, w.providerB, w.agreementB)

	// Three invented residents with valid PESELs; the consents share contact data only, so no answer to
	// provider staff may carry a PESEL, a name or a street.
	var residents, consents, cases []string
	for i, r := range owaspResidents {
		pesel := fictionalPESEL(t, r.birth, r.serial)
		body := jsonBody(t, map[string]any{
			"givenName": r.given, "familyName": r.family, "pesel": pesel, "phone": fmt.Sprintf("+48 65 000 11 %02d", i),
			"terytCode": "3022053", "householdSize": r.household, "monthlyIncomePerPersonGrosze": 98765,
			"address": map[string]any{"address1": r.street, "city": "Rawicz", "postalCode": "63-900"},
		})
		res := s.call(t, http.MethodPost, "/v1/residents", body, w.coord).wantOK(t)
		residents = append(residents, str(t, res, "name"))
		w.pii = append(w.pii, pesel, r.given, r.family, r.street)
		switch i {
		case 0:
			w.pesel1 = pesel
		case 1:
			w.pesel2 = pesel
		case 2:
			w.pesel3 = pesel
		}
		if i == 2 {
			break // the third resident has nothing else: rows try to erase it
		}
		c := s.call(t, http.MethodPost, "/v1/"+str(t, res, "name")+"/consents", jsonBody(t, map[string]any{
			"basis": "LEGAL_BASIS_CONSENT", "purpose": "skierowanie (test OWASP)", "scope": []string{"DATA_SCOPE_CONTACT"}, "givenDate": today,
		}), w.coord).wantOK(t)
		consents = append(consents, str(t, c, "name"))
		k := s.call(t, http.MethodPost, "/v1/cases", jsonBody(t, map[string]any{
			"resident": str(t, res, "name"), "documentReference": fmt.Sprintf("CUS.OWASP.%d.2026", i+1),
			"needs": []map[string]any{{"area": "AREA_SOCIAL_ASSISTANCE", "description": "wsparcie"}},
		}), w.coord).wantOK(t)
		cases = append(cases, str(t, k, "name"))
	}
	w.unknownPESEL = fictionalPESEL(t, time.Date(1966, time.May, 5, 0, 0, 0, 0, time.UTC), "9637")
	w.pii = append(w.pii, w.unknownPESEL)
	w.resident1, w.resident2, w.resident3 = residents[0], residents[1], residents[2]
	w.consent1, w.consent2 = consents[0], consents[1]
	w.case1, w.case2 = cases[0], cases[1]
	plan := s.call(t, http.MethodPost, "/v1/"+w.case1+"/plans", jsonBody(t, map[string]any{
		"goals": []string{"samodzielność"}, "plannedServices": []string{w.service}, "startDate": today,
	}), w.coord).wantOK(t)
	w.plan1 = str(t, plan, "name")

	w.revision = int64Field(t, s.call(t, http.MethodGet, "/v1/referrals?pageSize=1", "", w.coord).wantOK(t), "revision")
	w.refAFull = s.call(t, http.MethodPost, "/v1/referrals", w.referralBody(t, nil), w.coord).wantOK(t)
	w.refA = str(t, w.refAFull, "name")
	draft := s.call(t, http.MethodPost, "/v1/referrals", w.referralBody(t, map[string]any{"status": "REFERRAL_STATUS_DRAFT"}), w.coord).wantOK(t)
	w.refDraft = str(t, draft, "name")
	return w
}

// referralBody is a valid referral of resident 1 to provider A, with changes applied (nil values delete).
func (w *owaspWorld) referralBody(t testing.TB, changes map[string]any) string {
	t.Helper()
	m := map[string]any{
		"resident": w.resident1, "case": w.case1, "consent": w.consent1, "service": w.service,
		"provider": w.providerA, "agreement": w.agreementA, "units": 1,
	}
	for k, v := range changes {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return jsonBody(t, m)
}

// newAgreement gives provider A an agreement for service, on the legal basis and funding of its agreement
// for the demo service (valid for its kind of provider), in force from a month ago for a year.
func (w *owaspWorld) newAgreement(t testing.TB, s *suite, service string) string {
	t.Helper()
	base := s.call(t, http.MethodGet, "/v1/"+w.agreementA, "", w.organiser).wantOK(t)
	today := time.Now().UTC()
	ag := s.call(t, http.MethodPost, "/v1/"+w.providerA+"/agreements", jsonBody(t, map[string]any{
		"displayName": "Umowa OWASP", "service": service, "legalBasis": base["legalBasis"], "funding": base["funding"],
		"startDate": today.AddDate(0, -1, 0).Format(time.DateOnly), "endDate": today.AddDate(1, 0, 0).Format(time.DateOnly),
		"capacity": map[string]any{"amount": 40, "unit": "CAPACITY_UNIT_HOURS", "period": "CAPACITY_PERIOD_WEEK"},
	}), w.organiser).wantOK(t)
	return str(t, ag, "name")
}

// newReferral creates a referral (REQUESTED unless changes say otherwise) and returns it.
func (w *owaspWorld) newReferral(t testing.TB, s *suite, changes map[string]any) map[string]any {
	t.Helper()
	return s.call(t, http.MethodPost, "/v1/referrals", w.referralBody(t, changes), w.coord).wantOK(t)
}

// uuidLike turns a uuid into another of the same shape by changing its last hex digit (an enumeration guess).
func uuidLike(id string, i int) string {
	digits := "0123456789abcdef"
	last := strings.IndexByte(digits, id[len(id)-1])
	return id[:len(id)-1] + string(digits[(last+1+i)%16])
}

// ---- API1 ----

func owaspAPI1(t *testing.T, s *suite, w *owaspWorld, tl *tally) {
	ref := w.refA
	forbidA := []string{lastID(ref)}
	missing := "referrals/" + uuidLike(lastID(ref), 7)
	for _, verb := range []struct{ name, body string }{
		{"receive", `{}`}, {"accept", `{}`}, {"reject", `{"reason":"nie nasz"}`}, {"start", `{}`}, {"hold", `{}`},
		{"resume", `{}`}, {"complete", `{"outcome":{"code":"OUTCOME_CODE_GOT_HELP"}}`}, {"fail", `{"reason":"x"}`},
	} {
		tl.run(t, s, attempt{what: "provider B " + verb.name + "s provider A's referral",
			method: http.MethodPost, path: "/v1/" + ref + ":" + verb.name, body: verb.body, hdr: w.staffB,
			status: 404, reason: "REFERRAL_NOT_FOUND", forbid: forbidA})
		tl.run(t, s, attempt{what: "provider B " + verb.name + "s a referral that does not exist (the answer must be the same)",
			method: http.MethodPost, path: "/v1/" + missing + ":" + verb.name, body: verb.body, hdr: w.staffB,
			status: 404, reason: "REFERRAL_NOT_FOUND"})
	}
	tl.run(t, s, attempt{what: "provider B GETs provider A's referral", method: http.MethodGet, path: "/v1/" + ref,
		hdr: w.staffB, status: 404, reason: "REFERRAL_NOT_FOUND", forbid: forbidA})
	tl.run(t, s, attempt{what: "provider A GETs a draft addressed to it (drafts are invisible to providers)", method: http.MethodGet,
		path: "/v1/" + w.refDraft, hdr: w.staffA, status: 404, reason: "REFERRAL_NOT_FOUND"})
	for i := range 5 {
		guess := "referrals/" + uuidLike(lastID(ref), i)
		tl.run(t, s, attempt{what: fmt.Sprintf("provider B enumerates a neighbouring referral id (%d)", i+1), method: http.MethodGet,
			path: "/v1/" + guess, hdr: w.staffB, status: 404, reason: "REFERRAL_NOT_FOUND"})
	}
	tl.run(t, s, attempt{what: "provider B lists referrals filtered by provider A", method: http.MethodGet,
		path: "/v1/referrals?pageSize=500&provider=" + url.QueryEscape(w.providerA), hdr: w.staffB,
		status: 200, alt: []int{400, 403, 404}, forbid: forbidA})
	tl.run(t, s, attempt{what: "provider B lists referrals filtered by resident 1", method: http.MethodGet,
		path: "/v1/referrals?pageSize=500&resident=" + url.QueryEscape(w.resident1), hdr: w.staffB,
		status: 200, alt: []int{400, 403, 404}, forbid: forbidA})
	tl.run(t, s, attempt{what: "provider A GETs its own referral (control; no PESEL, name or street in it)", method: http.MethodGet,
		path: "/v1/" + ref, hdr: w.staffA, status: 200})
	for _, p := range []struct{ what, method, path, body string }{
		{"reads resident 1", http.MethodGet, "/v1/" + w.resident1, ""},
		{"lists resident 1's consents", http.MethodGet, "/v1/" + w.resident1 + "/consents", ""},
		{"withdraws resident 2's consent", http.MethodPost, "/v1/" + w.consent2 + ":withdraw", `{}`},
		{"reads resident 1's case", http.MethodGet, "/v1/" + w.case1, ""},
		{"lists the cases", http.MethodGet, "/v1/cases", ""},
		{"reads resident 1's plan", http.MethodGet, "/v1/" + w.plan1, ""},
		{"exports resident 1", http.MethodGet, "/v1/" + w.resident1 + ":export", ""},
	} {
		tl.run(t, s, attempt{what: "provider B " + p.what, method: p.method, path: p.path, body: p.body, hdr: w.staffB,
			status: 403, reason: "ROLE_NOT_ALLOWED"})
	}
	tl.run(t, s, attempt{what: "provider B reads the availability of provider A's agreement", method: http.MethodGet,
		path: "/v1/" + w.agreementA + "/availability", hdr: w.staffB, status: 404, reason: "AGREEMENT_NOT_FOUND"})
	tl.run(t, s, attempt{what: "provider B lists the reservations of provider A's agreement", method: http.MethodGet,
		path: "/v1/" + w.agreementA + "/reservations", hdr: w.staffB, status: 404, reason: "AGREEMENT_NOT_FOUND", forbid: forbidA})
	tl.run(t, s, attempt{what: "provider B reserves capacity on provider A's agreement", method: http.MethodPost,
		path: "/v1/" + w.agreementA + ":reserve", body: `{"referralId":"0194c050-0a5b-7000-8000-0000000000b1","units":1}`,
		hdr: w.staffB, status: 404, reason: "AGREEMENT_NOT_FOUND"})
	tl.run(t, s, attempt{what: "provider B releases provider A's reservation of the referral", method: http.MethodPost,
		path: "/v1/" + w.agreementA + ":release", body: jsonBody(t, map[string]string{"referralId": lastID(ref)}),
		hdr: w.staffB, status: 404, reason: "AGREEMENT_NOT_FOUND"})
	tl.run(t, s, attempt{what: "provider B edits provider A's record", method: http.MethodPatch,
		path: "/v1/" + w.providerA + "?updateMask=description", body: `{"description":"przejęte"}`, hdr: w.staffB,
		status: 403, reason: "NOT_OWN_PROVIDER"})

	// The watch: provider B, from before the referral was created, never sees it; provider A does.
	conn := dialGRPC(t, s.referralAddr)
	client := referralv1.NewReferralServiceClient(conn)
	watch := func(tok string, d time.Duration) (names []string, err error) {
		ctx, cancel := context.WithTimeout(withToken(context.Background(), tok), d)
		defer cancel()
		st, err := client.WatchReferrals(ctx, &referralv1.WatchReferralsRequest{AfterRevision: w.revision})
		if err != nil {
			return nil, err
		}
		for {
			ev, err := st.Recv()
			if err != nil {
				if ctx.Err() != nil || status.Code(err) == codes.DeadlineExceeded {
					return names, nil // the watch's time is up: a clean end
				}
				return names, err
			}
			if n := ev.GetReferral().GetName(); n != "" {
				names = append(names, n)
				if n == ref && d > 5*time.Second {
					return names, nil // provider A: seen, no need to wait longer
				}
			}
		}
	}
	tokB, tokA := strings.TrimPrefix(w.staffB["Authorization"], "Bearer "), strings.TrimPrefix(w.staffA["Authorization"], "Bearer ")
	names, err := watch(tokB, 3*time.Second)
	problem, leak := "", ""
	if err != nil {
		problem = "watch failed: " + err.Error()
	}
	for _, n := range names {
		if n == ref {
			leak = "provider A's referral " + ref
		}
	}
	tl.outcome(t, "provider B watches referrals from before provider A's referral was created: it never appears", false, problem, leak)
	names, err = watch(tokA, startTimeout)
	problem = ""
	if err != nil || !containsString(names, ref) {
		problem = fmt.Sprintf("provider A's own watch did not deliver %s (%v; saw %d)", ref, err, len(names))
	}
	tl.outcome(t, "provider A watches its own referrals (control): the referral appears", false, problem, "")
	tl.runGRPC(t, "provider B GetReferral of provider A's referral", codes.NotFound, "REFERRAL_NOT_FOUND", func(ctx context.Context) error {
		_, err := client.GetReferral(withToken(ctx, tokB), &referralv1.GetReferralRequest{Name: ref})
		return err
	})
}

// ---- API2 ----

func owaspAPI2(t *testing.T, s *suite, w *owaspWorld, tl *tally) {
	d := loadDevSigner(t, s.keysDir)
	coordToken := strings.TrimPrefix(w.coord["Authorization"], "Bearer ")
	spoil := func(role string, change func(h, c map[string]any)) string {
		h, c := d.header(), d.claims(role)
		change(h, c)
		return d.es256(t, h, c)
	}
	parts := strings.Split(spoil("coordinator", func(h, c map[string]any) {}), ".")
	adminClaims := d.claims("admin")
	tampered := parts[0] + "." + b64json(adminClaims) + "." + parts[2]
	foreign := mintToken(t, filepath.Join(t.TempDir(), "other-dev"), "--role", "admin")
	const path = "/v1/referrals?pageSize=1"
	rows := []struct {
		what   string
		hdr    map[string]string
		path   string
		reason string
	}{
		{"no Authorization header", nil, path, "AUTHENTICATION_REQUIRED"},
		{"Basic credentials instead of a bearer token", map[string]string{"Authorization": "Basic Y29vcmQ6aGFzbG8="}, path, "AUTHORIZATION_MALFORMED"},
		{"the word Bearer without a token", map[string]string{"Authorization": "Bearer "}, path, "AUTHORIZATION_MALFORMED"},
		{"a token without the Bearer scheme", map[string]string{"Authorization": coordToken}, path, "AUTHORIZATION_MALFORMED"},
		{"a random string as the token", bearer("not-a-jwt"), path, "TOKEN_MALFORMED"},
		{"a token with alg none", bearer(unsigned(d.claims("admin"))), path, "TOKEN_ALGORITHM_REFUSED"},
		{"HS256 signed with the public JWKS as the secret (key confusion)", bearer(hs256(map[string]any{"alg": "HS256", "typ": "JWT", "kid": d.kid}, d.claims("admin"), d.pub)), path, "TOKEN_ALGORITHM_REFUSED"},
		{"an ES256 signature announced as RS256", bearer(spoil("admin", func(h, c map[string]any) { h["alg"] = "RS256" })), path, "TOKEN_ALGORITHM_REFUSED"},
		{"an expired token", bearer(spoil("coordinator", func(h, c map[string]any) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
			c["nbf"] = time.Now().Add(-2 * time.Hour).Unix()
		})), path, "TOKEN_EXPIRED"},
		{"a token without expiry", bearer(spoil("coordinator", func(h, c map[string]any) { delete(c, "exp") })), path, "TOKEN_WITHOUT_EXPIRY"},
		{"a token valid only from tomorrow", bearer(spoil("coordinator", func(h, c map[string]any) {
			c["nbf"] = time.Now().Add(24 * time.Hour).Unix()
			c["iat"] = time.Now().Add(24 * time.Hour).Unix()
		})), path, "TOKEN_NOT_YET_VALID"},
		{"a token of another issuer", bearer(spoil("coordinator", func(h, c map[string]any) { c["iss"] = "https://evil.example/" })), path, "TOKEN_ISSUER_REFUSED"},
		{"a token for another audience", bearer(spoil("coordinator", func(h, c map[string]any) { c["aud"] = []string{"someone-else"} })), path, "TOKEN_AUDIENCE_REFUSED"},
		{"a token with a garbage kid", bearer(spoil("coordinator", func(h, c map[string]any) { h["kid"] = "../../etc/passwd" })), path, "TOKEN_UNKNOWN_KEY"}, // outside-ok: a path-traversal payload, never read
		{"a token signed by another key", bearer(foreign), path, "TOKEN_UNKNOWN_KEY"},
		{"a coordinator token whose claims were changed to admin (signature kept)", bearer(tampered), "/v1/auditEntries", "TOKEN_SIGNATURE_INVALID"},
		{"a token with no role of the suite", bearer(spoil("coordinator", func(h, c map[string]any) { c["roles"] = []string{"superuser"} })), path, "TOKEN_WITHOUT_ROLE"},
		{"a provider token without a provider id", bearer(spoil("provider", func(h, c map[string]any) {})), path, "TOKEN_BINDING_INVALID"},
		{"a provider token with a provider id that is not a uuid", bearer(spoil("provider", func(h, c map[string]any) { c["cus_provider_id"] = "' OR 1=1 --" })), path, "TOKEN_BINDING_INVALID"},
		{"a peer token without a TERC code", bearer(spoil("peer", func(h, c map[string]any) {})), "/v1/changes?pageSize=1", "TOKEN_BINDING_INVALID"},
		{"the token in the query string (ignored: not a credential)", nil, path + "&access_token=" + coordToken, "AUTHENTICATION_REQUIRED"},
		{"the token in Grpc-Metadata-Authorization (dropped by the gateway)", map[string]string{"Grpc-Metadata-Authorization": "Bearer " + coordToken}, path, "AUTHENTICATION_REQUIRED"},
		{"a 60 KB token", bearer(strings.Repeat("A", 60000) + "." + strings.Repeat("B", 100) + ".C"), path, "TOKEN_MALFORMED"},
		{"a bad token on a public read (never a silent fall-back to anonymous)", bearer("not-a-jwt"), "/v1/" + demoServiceName, "TOKEN_MALFORMED"},
		{"an expired token on the public provider registry", bearer(spoil("coordinator", func(h, c map[string]any) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["nbf"] = time.Now().Add(-2 * time.Hour).Unix()
		})), "/v1/providers?pageSize=1", "TOKEN_EXPIRED"},
	}
	for _, r := range rows {
		tl.run(t, s, attempt{what: r.what, method: http.MethodGet, path: r.path, hdr: r.hdr, status: 401, reason: r.reason})
	}
	tl.run(t, s, attempt{what: "an anonymous resident lookup by PESEL", method: http.MethodPost, path: "/v1/residents:lookup",
		body: jsonBody(t, map[string]string{"pesel": w.pesel1}), status: 401, reason: "AUTHENTICATION_REQUIRED"})

	// The same refusals when the gateway is bypassed.
	client := referralv1.NewReferralServiceClient(dialGRPC(t, s.referralAddr))
	for _, r := range []struct{ what, tok, reason string }{
		{"no token", "", "AUTHENTICATION_REQUIRED"},
		{"an expired token", spoil("coordinator", func(h, c map[string]any) {
			c["exp"] = time.Now().Add(-time.Hour).Unix()
			c["nbf"] = time.Now().Add(-2 * time.Hour).Unix()
		}), "TOKEN_EXPIRED"},
		{"a token with alg none", unsigned(d.claims("admin")), "TOKEN_ALGORITHM_REFUSED"},
		{"a token of another issuer", spoil("admin", func(h, c map[string]any) { c["iss"] = "https://evil.example/" }), "TOKEN_ISSUER_REFUSED"},
	} {
		tl.runGRPC(t, "ListReferrals with "+r.what, codes.Unauthenticated, r.reason, func(ctx context.Context) error {
			_, err := client.ListReferrals(withToken(ctx, r.tok), &referralv1.ListReferralsRequest{PageSize: 1})
			return err
		})
	}
	tl.run(t, s, attempt{what: "a well-formed token of the development key (control)", method: http.MethodGet, path: path,
		hdr: bearer(spoil("coordinator", func(h, c map[string]any) {})), status: 200, piiOK: true})
}

// ---- API3 ----

func owaspAPI3(t *testing.T, s *suite, w *owaspWorld, tl *tally) {
	feeA, _ := json.Marshal(w.refAFull["fee"])
	coordSubject := str(t, w.refAFull, "requester")
	with := func(k string, v any) map[string]any { return map[string]any{"status": "REFERRAL_STATUS_DRAFT", k: v} }
	mass := []struct {
		what  string
		field string
		value any
		check func(m map[string]any) string
	}{
		{"a forged fee (exempt, 0 zł)", "fee", map[string]any{"exempt": true, "amountGrosze": 0, "payablePercent": 0, "priceGrosze": 1},
			func(m map[string]any) string {
				if b, _ := json.Marshal(m["fee"]); string(b) != string(feeA) {
					return fmt.Sprintf("fee %s, want the computed %s", b, feeA)
				}
				return ""
			}},
		{"a forged requester", "requester", "mallory",
			func(m map[string]any) string {
				if optStr(m, "requester") != coordSubject {
					return "requester " + optStr(m, "requester")
				}
				return ""
			}},
		{"a forged history", "history", []map[string]any{{"to": "REFERRAL_STATUS_COMPLETED", "actor": "mallory"}},
			func(m map[string]any) string {
				if h := m["history"].([]any); len(h) != 1 || strings.Contains(fmt.Sprint(h), "mallory") {
					return fmt.Sprintf("history %v", h)
				}
				return ""
			}},
		{"a forged create time", "createTime", "2001-01-01T00:00:00Z",
			func(m map[string]any) string {
				if strings.HasPrefix(optStr(m, "createTime"), "2001") {
					return "createTime " + optStr(m, "createTime")
				}
				return ""
			}},
		{"a forged etag", "etag", "forged",
			func(m map[string]any) string {
				if optStr(m, "etag") == "forged" {
					return "the etag was stored"
				}
				return ""
			}},
		{"a forged outcome", "outcome", map[string]any{"code": "OUTCOME_CODE_GOT_HELP"},
			func(m map[string]any) string {
				if m["outcome"] != nil {
					return fmt.Sprintf("outcome %v", m["outcome"])
				}
				return ""
			}},
		{"a forged status reason", "statusReason", "zatwierdzone przez mallory",
			func(m map[string]any) string {
				if optStr(m, "statusReason") != "" {
					return "statusReason " + optStr(m, "statusReason")
				}
				return ""
			}},
		{"a forged resident summary", "residentSummary", map[string]any{"givenName": "Mallory"},
			func(m map[string]any) string {
				if strings.Contains(fmt.Sprint(m["residentSummary"]), "Mallory") {
					return "residentSummary stored"
				}
				return ""
			}},
	}
	for _, c := range mass {
		tl.run(t, s, attempt{what: "CreateReferral with " + c.what + " (output-only: ignored)", method: http.MethodPost,
			path: "/v1/referrals", body: w.referralBody(t, with(c.field, c.value)), hdr: w.coord, status: 200, piiOK: true,
			check: func(r httpResult) string {
				var m map[string]any
				if err := json.Unmarshal(r.Body, &m); err != nil {
					return err.Error()
				}
				return c.check(m)
			}})
	}
	tl.run(t, s, attempt{what: "CreateReferral straight into COMPLETED", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, map[string]any{"status": "REFERRAL_STATUS_COMPLETED"}), hdr: w.coord, status: 400, reason: "INVALID_FIELDS"})
	tl.run(t, s, attempt{what: "CreateResident with a birth date that contradicts the PESEL", method: http.MethodPost, path: "/v1/residents",
		body: jsonBody(t, map[string]any{"givenName": "Ktoś", "familyName": "Inny", "pesel": fictionalPESEL(t, time.Date(1970, 1, 2, 0, 0, 0, 0, time.UTC), "9748"),
			"birthDate": "1999-09-09", "householdSize": 1}), hdr: w.coord, status: 400, reason: "INVALID_FIELDS", violation: "resident.birth_date"})
	// Target groups the data shows (seniors, children, families, all) are derived, never declared: a declaration
	// of one would open services whose rules the resident does not meet.
	tl.run(t, s, attempt{what: "CreateResident declaring herself a senior (derived from the birth date, not declarable)", method: http.MethodPost,
		path: "/v1/residents", body: jsonBody(t, map[string]any{"givenName": "Młoda", "familyName": "Udająca", "birthDate": "2001-02-03", "householdSize": 1,
			"declaredTargetGroups": []string{"TARGET_GROUP_SENIORS"}}), hdr: w.coord, status: 400, reason: "INVALID_FIELDS", violation: "resident.declared_target_groups[0]"})
	tl.run(t, s, attempt{what: "an update of resident 1 declaring a family and children under 3 (derived, not declarable)", method: http.MethodPatch,
		path: "/v1/" + w.resident1 + "?updateMask=declared_target_groups", body: `{"declaredTargetGroups":["TARGET_GROUP_CARERS","TARGET_GROUP_CHILDREN_UNDER_3"]}`,
		hdr: w.coord, status: 400, reason: "INVALID_FIELDS", violation: "resident.declared_target_groups[1]"})
	for _, m := range []struct{ what, path, mask, body string }{
		{"resident's create_time", w.resident1, "create_time", `{"createTime":"2001-01-01T00:00:00Z"}`},
		{"resident's update_time", w.resident1, "update_time", `{"updateTime":"2001-01-01T00:00:00Z"}`},
		{"case's resident", w.case1, "resident", jsonBody(t, map[string]string{"resident": w.resident2})},
		{"case's document reference", w.case1, "document_reference", `{"documentReference":"CUS.X.1.2026"}`},
		{"case's receive time", w.case1, "receive_time", `{"receiveTime":"2001-01-01T00:00:00Z"}`},
		{"plan's status", w.plan1, "status", `{"status":"PLAN_STATUS_APPROVED"}`},
		{"plan's approver", w.plan1, "approver", `{"approver":"mallory"}`},
		{"plan's due date", w.plan1, "due_date", `{"dueDate":"2099-01-01"}`},
	} {
		tl.run(t, s, attempt{what: "an update mask naming the " + m.what, method: http.MethodPatch,
			path: "/v1/" + m.path + "?updateMask=" + m.mask, body: m.body, hdr: w.coord, status: 400, reason: "INVALID_FIELDS", violation: "update_mask"})
	}
	for _, f := range []struct{ mask, body string }{
		{"display_name", `{"displayName":"Przejęty"}`},
		{"status", `{"status":"PROVIDER_STATUS_SUSPENDED"}`},
		{"nip", `{"nip":"5260250274"}`},
	} {
		tl.run(t, s, attempt{what: "provider B writes its own record's " + f.mask + " (not a contact field)", method: http.MethodPatch,
			path: "/v1/" + w.providerB + "?updateMask=" + f.mask, body: f.body, hdr: w.staffB, status: 403, reason: "FIELD_NOT_WRITABLE"})
	}
	income := []string{"incomePerPersonGrosze", "criterionGrosze", "householdSize", "98765", "birthDate", "monthlyIncome"}
	tl.run(t, s, attempt{what: "provider A reads its referral: no income, household, birth date, PESEL, name or street",
		method: http.MethodGet, path: "/v1/" + w.refA, hdr: w.staffA, status: 200, forbid: income})
	tl.run(t, s, attempt{what: "provider A lists its referrals: no income, household, birth date, PESEL, name or street",
		method: http.MethodGet, path: "/v1/referrals?pageSize=500", hdr: w.staffA, status: 200, forbid: income})
	// The watch (gRPC, as the gateway sees it): the provider's copy of the referral has no income basis either.
	client := referralv1.NewReferralServiceClient(dialGRPC(t, s.referralAddr))
	ctx, cancel := context.WithTimeout(withToken(context.Background(), strings.TrimPrefix(w.staffA["Authorization"], "Bearer ")), startTimeout)
	problem, leak := "", ""
	var seen *referralv1.Referral
	if st, err := client.WatchReferrals(ctx, &referralv1.WatchReferralsRequest{AfterRevision: w.revision}); err != nil {
		problem = err.Error()
	} else {
		for seen == nil {
			ev, err := st.Recv()
			if err != nil {
				problem = "the watch ended before provider A's referral: " + err.Error()
				break
			}
			if ev.GetReferral().GetName() == w.refA {
				seen = ev.GetReferral()
			}
		}
	}
	cancel()
	if seen != nil {
		f := seen.GetFee()
		if f.GetIncomePerPersonGrosze() != 0 || f.GetCriterionGrosze() != 0 || f.GetCriterionKind() != 0 || f.GetCriterionFrom() != "" {
			leak = fmt.Sprintf("the income basis of the fee: %v", f)
		}
		text := fmt.Sprint(seen)
		for _, p := range w.pii {
			if strings.Contains(text, p) {
				leak = "personal data " + redact(p)
			}
		}
	}
	tl.outcome(t, "provider A watches its referrals (gRPC): the fee carries no income basis, the summary no PESEL, name or street", false, problem, leak)
	tl.run(t, s, attempt{what: "a coordinator lists residents: no PESEL in the list",
		method: http.MethodGet, path: "/v1/residents?pageSize=1000", hdr: w.coord, status: 200, piiOK: true,
		forbid: []string{w.pesel1, w.pesel2, w.pesel3, `"pesel"`}})
	tl.run(t, s, attempt{what: "a director reads statistics: no personal data", method: http.MethodGet, path: "/v1/statistics",
		hdr: w.director, status: 200})
	tl.run(t, s, attempt{what: "the admin reads the audit log of resident 1: names of records, no personal values", method: http.MethodGet,
		path: "/v1/auditEntries?pageSize=1000&resource=" + url.QueryEscape(w.resident1), hdr: w.admin, status: 200})
	tl.run(t, s, attempt{what: "a duplicate PESEL: the conflict names no PESEL", method: http.MethodPost, path: "/v1/residents",
		body: jsonBody(t, map[string]any{"givenName": "Dubel", "familyName": "Dublowany", "pesel": w.pesel1, "householdSize": 1}),
		hdr:  w.coord, status: 409, reason: "RESIDENT_EXISTS"})
	tl.run(t, s, attempt{what: "a lookup of an unknown PESEL: not found, the number not echoed", method: http.MethodPost,
		path: "/v1/residents:lookup", body: jsonBody(t, map[string]string{"pesel": w.unknownPESEL}), hdr: w.coord, status: 404, reason: "RESIDENT_NOT_FOUND"})
	bad := w.pesel2[:10] + string('0'+(w.pesel2[10]-'0'+1)%10)
	tl.run(t, s, attempt{what: "a PESEL with a wrong check digit: refused naming the field, not echoing the number", method: http.MethodPost,
		path: "/v1/residents", body: jsonBody(t, map[string]any{"givenName": "Zły", "familyName": "Numer", "pesel": bad, "householdSize": 1}),
		hdr: w.coord, status: 400, reason: "INVALID_FIELDS", violation: "resident.pesel", forbid: []string{bad}})
	tl.run(t, s, attempt{what: "CreateService with forged origin TERC, create time and etag (ignored)", method: http.MethodPost,
		path: "/v1/services", body: `{"displayName":"Usługa OWASP","areas":["AREA_CULTURE"],"originTerc":"9999999","createTime":"2001-01-01T00:00:00Z","etag":"forged"}`,
		hdr: w.organiser, status: 200, check: func(r httpResult) string {
			var m map[string]any
			_ = json.Unmarshal(r.Body, &m)
			if optStr(m, "originTerc") == "9999999" || optStr(m, "etag") == "forged" || strings.HasPrefix(optStr(m, "createTime"), "2001") {
				return fmt.Sprintf("output-only fields stored: %v", m)
			}
			return ""
		}})
}

// ---- API4 ----

func owaspAPI4(t *testing.T, s *suite, w *owaspWorld, tl *tally, addProc func(*proc)) {
	atMost := func(key string, n int) func(r httpResult) string {
		return func(r httpResult) string {
			var m map[string]any
			if err := json.Unmarshal(r.Body, &m); err != nil {
				return err.Error()
			}
			if l, _ := m[key].([]any); len(l) > n {
				return fmt.Sprintf("%d %s in one page, want at most %d", len(l), key, n)
			}
			return ""
		}
	}
	tl.run(t, s, attempt{what: "ListReferrals with pageSize=1000000 (clamped to 500)", method: http.MethodGet,
		path: "/v1/referrals?pageSize=1000000", hdr: w.coord, status: 200, piiOK: true, check: atMost("referrals", 500)})
	tl.run(t, s, attempt{what: "ListResidents with pageSize=1000000 (clamped)", method: http.MethodGet,
		path: "/v1/residents?pageSize=1000000", hdr: w.coord, status: 200, piiOK: true, check: atMost("residents", 1000)})
	tl.run(t, s, attempt{what: "ListServices with pageSize=1000000 (clamped)", method: http.MethodGet,
		path: "/v1/services?pageSize=1000000", status: 200, check: atMost("services", 1000)})
	tl.run(t, s, attempt{what: "ListAuditEntries with pageSize=1000000 (clamped)", method: http.MethodGet,
		path: "/v1/auditEntries?pageSize=1000000", hdr: w.admin, status: 200, check: atMost("entries", 1000)})
	tl.run(t, s, attempt{what: "ListReferrals with a negative page size", method: http.MethodGet,
		path: "/v1/referrals?pageSize=-1", hdr: w.coord, status: 400, reason: "INVALID_FIELDS"})
	tl.run(t, s, attempt{what: "ListReferrals with a forged page token", method: http.MethodGet,
		path: "/v1/referrals?pageToken=" + url.QueryEscape(strings.Repeat("QUFB", 500)), hdr: w.coord, status: 400, reason: "INVALID_PAGE_TOKEN"})
	// order_by: at most 5 keys, each field once (INVALID_ARGUMENT naming order_by, with the violation's reason).
	six := url.QueryEscape("display_name, create_time, update_time, display_name desc, create_time desc, update_time desc")
	many := url.QueryEscape(strings.Repeat("display_name,", 3000) + "display_name")
	twice := url.QueryEscape("display_name, display_name desc")
	for _, o := range []struct{ what, path, orderBy, reason string }{
		{"ListServices ordered by 6 keys", "/v1/services", six, "TOO_MANY_ORDER_KEYS"},
		{"ListServices ordered by 3,001 keys", "/v1/services", many, "TOO_MANY_ORDER_KEYS"},
		{"ListServices ordered by one field twice", "/v1/services", twice, "REPEATED_ORDER_KEY"},
		{"ListProviders ordered by 6 keys", "/v1/providers", six, "TOO_MANY_ORDER_KEYS"},
		{"ListProviders ordered by 3,001 keys", "/v1/providers", many, "TOO_MANY_ORDER_KEYS"},
		{"ListProviders ordered by one field twice", "/v1/providers", twice, "REPEATED_ORDER_KEY"},
		{"ListAgreements ordered by 6 keys", "/v1/providers/-/agreements", url.QueryEscape(strings.Repeat("start_date, ", 5) + "start_date"), "TOO_MANY_ORDER_KEYS"},
		{"ListAgreements ordered by one field twice", "/v1/providers/-/agreements", url.QueryEscape("start_date, start_date desc"), "REPEATED_ORDER_KEY"},
	} {
		tl.run(t, s, attempt{what: o.what + " (at most 5 keys, each once)", method: http.MethodGet, path: o.path + "?orderBy=" + o.orderBy,
			hdr: w.organiser, status: 400, reason: "INVALID_FIELDS", violation: "order_by", violationReason: o.reason})
	}
	tl.run(t, s, attempt{what: "ListServices ordered by its 3 orderable fields (control)", method: http.MethodGet,
		path: "/v1/services?pageSize=5&orderBy=" + url.QueryEscape("update_time desc, create_time, display_name"), status: 200})
	tl.run(t, s, attempt{what: "ListServices ordered by an unknown field", method: http.MethodGet,
		path: "/v1/services?orderBy=" + url.QueryEscape("pg_sleep(10)"), status: 400, reason: "INVALID_FIELDS", violation: "order_by"})
	big := strings.Repeat(" ", maxBodyBytes+1)
	for _, p := range []string{"/v1/referrals", "/v1/residents", "/v1/residents:lookup"} {
		tl.run(t, s, attempt{what: "a body above the limit to POST " + p, method: http.MethodPost, path: p, body: big,
			hdr: w.coord, status: 413, reason: "BODY_TOO_LARGE"})
	}
	tl.run(t, s, attempt{what: "a referral note of 2,001 characters", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, map[string]any{"note": strings.Repeat("x", 2001), "status": "REFERRAL_STATUS_DRAFT"}), hdr: w.coord,
		status: 400, reason: "INVALID_FIELDS", violation: "referral.note"})
	tl.run(t, s, attempt{what: "a referral of 1,000,000 units", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, map[string]any{"units": 1000000, "status": "REFERRAL_STATUS_DRAFT"}), hdr: w.coord,
		status: 400, reason: "INVALID_FIELDS", violation: "referral.units"})

	// Too many watches by one principal.
	watcher := s.mint(t, "owasp-watcher", "--role", "coordinator", "--subject", "owasp-watcher")
	client := referralv1.NewReferralServiceClient(dialGRPC(t, s.referralAddr))
	ctx, cancel := context.WithCancel(withToken(context.Background(), watcher))
	const watches = 64
	results := make(chan error, watches)
	var wg sync.WaitGroup
	for range watches {
		wg.Go(func() {
			st, err := client.WatchReferrals(ctx, &referralv1.WatchReferralsRequest{})
			if err == nil {
				_, err = st.Recv()
			}
			results <- err
		})
	}
	deadline := time.After(10 * time.Second)
	var refused, other []string
	for i := 0; i < watches; i++ {
		select {
		case err := <-results:
			switch {
			case err == nil:
			case grpcReason(err) == "TOO_MANY_WATCHES" && status.Code(err) == codes.ResourceExhausted:
				refused = append(refused, err.Error())
			default:
				other = append(other, err.Error())
			}
		case <-deadline:
			i = watches
		}
	}
	cancel()
	wg.Wait()
	// The suite runs the referral service with the default --max-watches-per-caller 8.
	const perCaller = 8
	problem := ""
	if len(refused) != watches-perCaller || len(other) > 0 {
		problem = fmt.Sprintf("%d of %d watches by one principal refused TOO_MANY_WATCHES, want %d (the limit is %d); other errors: %v",
			len(refused), watches, watches-perCaller, perCaller, other)
	}
	tl.outcome(t, fmt.Sprintf("one principal opens %d referral watches: %d held, the rest refused RESOURCE_EXHAUSTED TOO_MANY_WATCHES", watches, perCaller), true, problem, "")

	// A watch from revision 0 starts at the head: it does not replay the whole history to whoever opens it.
	func() {
		ctx, cancel := context.WithTimeout(withToken(context.Background(), strings.TrimPrefix(w.staffA["Authorization"], "Bearer ")), 3*time.Second)
		defer cancel()
		problem, replayed := "", 0
		st, err := client.WatchReferrals(ctx, &referralv1.WatchReferralsRequest{})
		for err == nil {
			var ev *referralv1.ReferralEvent
			if ev, err = st.Recv(); err == nil && ev.GetReferral().GetName() != "" {
				replayed++
				if ev.GetReferral().GetName() == w.refA {
					problem = "the watch replayed " + w.refA + ", created before it was opened"
				}
			}
		}
		if c := status.Code(err); c != codes.DeadlineExceeded && c != codes.Canceled { // its 3 s are up, nothing else
			problem = strings.TrimPrefix(problem+fmt.Sprintf("; the watch ended early: %v", err), "; ")
		}
		tl.outcome(t, fmt.Sprintf("provider A watches from revision 0: it starts at the head, no history replayed (%d referrals seen in 3 s)", replayed), false, problem, "")
	}()

	// A flood of anonymous and bad-token calls from one address is limited before authentication.
	t.Run("flood", func(t *testing.T) {
		c := loopbackClient(t, "127.0.0.9")
		for _, hdr := range []map[string]string{nil, bearer("not-a-jwt")} {
			what := "an anonymous flood of GET /v1/referrals from one address"
			if hdr != nil {
				what = "a flood of GET /v1/referrals with a garbage token from one address"
			}
			got := floodUntil429(c, s.baseURL+"/v1/referrals", hdr, 1500)
			problem := ""
			if got.Status != http.StatusTooManyRequests {
				problem = fmt.Sprintf("no 429 within 1500 calls; last answer %s", got)
			} else if st, err := parseStatus(got); err != nil || st.Reason != "RATE_LIMITED" {
				problem = fmt.Sprintf("429 without reason RATE_LIMITED: %s", got)
			}
			tl.outcome(t, what+": 429 RATE_LIMITED", true, problem, "")
			time.Sleep(3 * time.Second) // let the bucket refill a little for the next flood
		}
	})

	// The client's Grpc-Timeout cannot raise the gateway's deadline: a gateway whose --request-timeout is
	// 1µs answers 504 however long a deadline the client asks for.
	addr := freeAddrs(t, 1)[0]
	gw := startProc(t, "gateway-1us", gatewayBin, append(gatewayArgs(addr, s.grpcAddr), "--request-timeout", "1us"), nil)
	addProc(gw)
	if err := waitListening(gw, "http", addr); err != nil {
		t.Errorf("second gateway: %v", err)
		return
	}
	defer gw.stop(t)
	tl.run(t, s, attempt{what: "GET /v1/areas through a gateway with a 1µs deadline (control: 504)", method: http.MethodGet,
		url: "http://" + addr + "/v1/areas", status: 504, reason: "DEADLINE_EXCEEDED"})
	tl.run(t, s, attempt{what: "GET /v1/areas with Grpc-Timeout: 60S through a gateway with a 1µs deadline",
		method: http.MethodGet, url: "http://" + addr + "/v1/areas", hdr: map[string]string{"Grpc-Timeout": "60S"}, status: 504, reason: "DEADLINE_EXCEEDED"})

	owaspStreamPool(t, s, w, tl, addProc)
}

// owaspStreamPool: a gateway holds a bounded pool of streams to each service; when it is full a new watch is
// refused at once (429 TOO_MANY_STREAMS) and unary calls still answer, as they go on their own connection.
func owaspStreamPool(t *testing.T, s *suite, w *owaspWorld, tl *tally, addProc func(*proc)) {
	addr := freeAddrs(t, 1)[0]
	gw := startProc(t, "gateway-1-stream", gatewayBin, append(gatewayArgs(addr, s.grpcAddr), "--provider-addr", s.providerAddr,
		"--referral-addr", s.referralAddr, "--streams-per-conn", "1", "--max-stream-conns", "1"), nil)
	addProc(gw)
	if err := waitListening(gw, "http", addr); err != nil {
		t.Errorf("stream-pool gateway: %v", err)
		return
	}
	defer gw.stop(t)
	base := "http://" + addr
	ctx, cancel := context.WithCancel(context.Background())
	held := make(chan struct{})
	go func() {
		defer close(held)
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/referrals:watch", nil)
		if err != nil {
			return
		}
		for k, v := range w.coord {
			req.Header.Set(k, v)
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	defer func() { cancel(); <-held }()
	// The coordinator's watch holds the pool's one stream once the gauge says so.
	open := ""
	for deadline := time.Now().Add(startTimeout); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if open = streamsOpen(base, "referral"); open == "1" {
			break
		}
	}
	if open != "1" {
		tl.outcome(t, "a gateway with a pool of one stream holds a coordinator's watch (control)", false, "streams open to the referral service: "+open, "")
		return
	}
	tl.run(t, s, attempt{what: "provider A opens a watch while the gateway's stream pool is full", method: http.MethodGet,
		url: base + "/v1/referrals:watch", hdr: w.staffA, status: 429, reason: "TOO_MANY_STREAMS"})
	tl.run(t, s, attempt{what: "the coordinator lists referrals while the stream pool is full (control: unary calls have their own connection)",
		method: http.MethodGet, url: base + "/v1/referrals?pageSize=1", hdr: w.coord, status: 200, piiOK: true})
}

// streamsOpen reads a gateway's cus_gateway_backend_streams_open gauge of a backend ("?" when absent).
func streamsOpen(base, backend string) string {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return "?"
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	prefix := `cus_gateway_backend_streams_open{backend="` + backend + `"} `
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, prefix); ok {
			return v
		}
	}
	return "?"
}

// floodUntil429 GETs u with 8 workers until one answer is 429 or max calls were made; it returns the 429
// (or the last answer).
func floodUntil429(c *http.Client, u string, hdr map[string]string, max int) httpResult {
	var mu sync.Mutex
	var last, hit httpResult
	calls := 0
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				mu.Lock()
				if hit.Status != 0 || calls >= max {
					mu.Unlock()
					return
				}
				calls++
				mu.Unlock()
				req, _ := http.NewRequest(http.MethodGet, u, nil)
				for k, v := range hdr {
					req.Header.Set(k, v)
				}
				resp, err := c.Do(req)
				if err != nil {
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				r := httpResult{Method: http.MethodGet, URL: u, Status: resp.StatusCode, Header: resp.Header, Body: b}
				mu.Lock()
				last = r
				if r.Status == http.StatusTooManyRequests && hit.Status == 0 {
					hit = r
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if hit.Status != 0 {
		return hit
	}
	return last
}

// ---- API5 ----

func owaspAPI5(t *testing.T, s *suite, w *owaspWorld, tl *tally) {
	roles := map[string]map[string]string{
		"coordinator": w.coord, "organiser": w.organiser, "director": w.director, "provider": w.staffA,
		"integration": w.integration, "peer": w.peer,
	}
	names := []string{"coordinator", "organiser", "director", "provider", "integration", "peer"}
	for _, role := range names {
		tl.run(t, s, attempt{what: role + " lists the audit log", method: http.MethodGet, path: "/v1/auditEntries",
			hdr: roles[role], status: 403, reason: "ROLE_NOT_ALLOWED"})
		tl.run(t, s, attempt{what: role + " verifies the audit chain", method: http.MethodPost, path: "/v1/auditEntries:verify",
			body: `{}`, hdr: roles[role], status: 403, reason: "ROLE_NOT_ALLOWED"})
		if role != "director" {
			tl.run(t, s, attempt{what: role + " erases resident 2", method: http.MethodPost, path: "/v1/" + w.resident2 + ":erase",
				body: `{"reason":"test OWASP"}`, hdr: roles[role], status: 403, reason: "ROLE_NOT_ALLOWED"})
		}
	}
	for _, c := range []struct{ what, method, path, body string }{
		{"lists the audit log", http.MethodGet, "/v1/auditEntries", ""},
		{"verifies the audit chain", http.MethodPost, "/v1/auditEntries:verify", `{}`},
		{"erases resident 2", http.MethodPost, "/v1/" + w.resident2 + ":erase", `{"reason":"test OWASP"}`},
		{"exports resident 1", http.MethodGet, "/v1/" + w.resident1 + ":export", ""},
	} {
		tl.run(t, s, attempt{what: "anonymous " + c.what, method: c.method, path: c.path, body: c.body,
			status: 401, reason: "AUTHENTICATION_REQUIRED"})
	}
	tl.run(t, s, attempt{what: "the admin verifies the audit chain (control)", method: http.MethodPost, path: "/v1/auditEntries:verify",
		body: `{}`, hdr: w.admin, status: 200})
	for _, c := range []struct{ what, method, path, body string }{
		{"creates a resident", http.MethodPost, "/v1/residents", `{"givenName":"A","familyName":"B","birthDate":"1990-01-01","householdSize":1}`},
		{"lists residents", http.MethodGet, "/v1/residents", ""},
		{"looks a resident up by PESEL", http.MethodPost, "/v1/residents:lookup", jsonBody(t, map[string]string{"pesel": w.pesel1})},
		{"opens a case", http.MethodPost, "/v1/cases", jsonBody(t, map[string]any{"resident": w.resident1, "documentReference": "X.1"})},
		{"creates a referral to itself", http.MethodPost, "/v1/referrals", w.referralBody(t, nil)},
		{"sends a draft", http.MethodPost, "/v1/" + w.refDraft + ":send", `{}`},
		{"cancels its referral", http.MethodPost, "/v1/" + w.refA + ":cancel", `{"reason":"x"}`},
		{"marks its referral entered in error", http.MethodPost, "/v1/" + w.refA + ":markEnteredInError", `{}`},
		{"reads statistics", http.MethodGet, "/v1/statistics", ""},
		{"approves a plan", http.MethodPost, "/v1/" + w.plan1 + ":approve", `{}`},
		{"creates a catalogue service", http.MethodPost, "/v1/services", `{"displayName":"X","areas":["AREA_CULTURE"]}`},
		{"reads the catalogue change feed", http.MethodGet, "/v1/changes", ""},
		{"creates an agreement", http.MethodPost, "/v1/" + w.providerA + "/agreements", `{}`},
		{"imports providers", http.MethodPost, "/v1/providers:import", `{"csv":"a,b","dryRun":true}`},
	} {
		tl.run(t, s, attempt{what: "provider A staff " + c.what, method: c.method, path: c.path, body: c.body, hdr: w.staffA,
			status: 403, reason: "ROLE_NOT_ALLOWED"})
	}
	for _, c := range []struct{ who, what, method, path, body string }{
		{"coordinator", "accepts a referral for the provider", http.MethodPost, "/v1/" + w.refA + ":accept", `{}`},
		{"director", "completes a referral for the provider", http.MethodPost, "/v1/" + w.refA + ":complete", `{"outcome":{"code":"OUTCOME_CODE_GOT_HELP"}}`},
		{"organiser", "reads resident 1", http.MethodGet, "/v1/" + w.resident1, ""},
		{"integration", "reads a referral", http.MethodGet, "/v1/" + w.refA, ""},
		{"peer", "lists referrals", http.MethodGet, "/v1/referrals", ""},
		{"coordinator", "approves a plan", http.MethodPost, "/v1/" + w.plan1 + ":approve", `{}`},
		{"coordinator", "creates a catalogue service", http.MethodPost, "/v1/services", `{"displayName":"X","areas":["AREA_CULTURE"]}`},
		{"coordinator", "deletes a provider", http.MethodDelete, "/v1/" + w.providerB, ""},
		{"director", "reads the audit log of a referral", http.MethodGet, "/v1/auditEntries?resource=" + url.QueryEscape(w.refA), ""},
	} {
		tl.run(t, s, attempt{what: c.who + " " + c.what, method: c.method, path: c.path, body: c.body, hdr: roles[c.who],
			status: 403, reason: "ROLE_NOT_ALLOWED"})
	}
	// The admin ports: /backup is the whole data file, for the admin only; the refusals are JSON
	// google.rpc.Status as on the REST API.
	backups := []struct{ name, addr string }{{"referral", s.referralAdmin}, {"provider", s.providerAdmin}, {"catalogue", s.adminAddr}}
	for _, p := range backups {
		u := "http://" + p.addr + "/backup"
		tl.run(t, s, attempt{what: "GET /backup of the " + p.name + " admin port without a token",
			method: http.MethodGet, url: u, status: 401, reason: "AUTHENTICATION_REQUIRED"})
		tl.run(t, s, attempt{what: "GET /backup of the " + p.name + " admin port as a coordinator",
			method: http.MethodGet, url: u, hdr: w.coord, status: 403, reason: "ADMIN_REQUIRED"})
		tl.run(t, s, attempt{what: "GET /backup of the " + p.name + " admin port with a garbage token",
			method: http.MethodGet, url: u, hdr: bearer("not-a-jwt"), status: 401, reason: "TOKEN_MALFORMED"})
	}
	for _, who := range []struct {
		name string
		hdr  map[string]string
	}{{"provider staff", w.staffA}, {"the director", w.director}, {"an integration", w.integration}, {"a federation peer", w.peer}} {
		tl.run(t, s, attempt{what: "GET /backup of the referral admin port as " + who.name,
			method: http.MethodGet, url: "http://" + s.referralAdmin + "/backup", hdr: who.hdr, status: 403, reason: "ADMIN_REQUIRED"})
	}
	tl.run(t, s, attempt{what: "GET /backup of the referral admin port with an expired admin token",
		method: http.MethodGet, url: "http://" + s.referralAdmin + "/backup", hdr: bearer(expiredAdmin(t, s)), status: 401, reason: "TOKEN_EXPIRED"})
	tl.run(t, s, attempt{what: "GET /backup of the referral admin port with an admin token of another key",
		method: http.MethodGet, url: "http://" + s.referralAdmin + "/backup",
		hdr: bearer(mintToken(t, filepath.Join(t.TempDir(), "other-dev"), "--role", "admin")), status: 401, reason: "TOKEN_UNKNOWN_KEY"})
	for _, p := range backups[1:] {
		tl.run(t, s, attempt{what: "GET /backup of the " + p.name + " admin port as the admin (control)",
			method: http.MethodGet, url: "http://" + p.addr + "/backup", hdr: w.admin, status: 200})
	}
	// Outside the API the residents' pages answer: a Polish 404 page, not the admin handler.
	tl.run(t, s, attempt{what: "GET /backup on the public gateway (the admin handler is not exposed: the pages' 404)", method: http.MethodGet,
		path: "/backup", status: 404, raw: true})
	client := referralv1.NewReferralServiceClient(dialGRPC(t, s.referralAddr))
	for _, role := range []string{"coordinator", "provider", "peer"} {
		tok := strings.TrimPrefix(roles[role]["Authorization"], "Bearer ")
		tl.runGRPC(t, role+" ListAuditEntries", codes.PermissionDenied, "ROLE_NOT_ALLOWED", func(ctx context.Context) error {
			_, err := client.ListAuditEntries(withToken(ctx, tok), &referralv1.ListAuditEntriesRequest{})
			return err
		})
	}
}

// ---- API6 ----

func owaspAPI6(t *testing.T, s *suite, w *owaspWorld, tl *tally) {
	today := time.Now().UTC()
	// Catalogue services the referral service must refuse to refer to, each with an agreement of provider A,
	// so only the service's own rule can stop the referral.
	newService := func(extra map[string]any) (service, agreement string) {
		body := map[string]any{"displayName": "Usługa OWASP " + fmt.Sprint(len(extra)) + fmt.Sprint(time.Now().UnixNano()), "areas": []string{"AREA_SOCIAL_ASSISTANCE"}}
		for k, v := range extra {
			body[k] = v
		}
		svc := str(t, s.createService(t, jsonBody(t, body)), "name")
		return svc, w.newAgreement(t, s, svc)
	}
	inactive, inactiveAg := newService(map[string]any{"status": "SERVICE_STATUS_INACTIVE"})
	children, childrenAg := newService(map[string]any{"minimumAge": 0, "maximumAge": 17})
	decision, decisionAg := newService(map[string]any{"requiresDecision": true})
	plain, plainAg := newService(nil)
	unemployed, unemployedAg := newService(map[string]any{"targetGroups": []string{"TARGET_GROUP_UNEMPLOYED"}})
	youth, youthAg := newService(map[string]any{"targetGroups": []string{"TARGET_GROUP_CHILDREN_AND_YOUTH"}})
	seniors, seniorsAg := newService(map[string]any{"targetGroups": []string{"TARGET_GROUP_SENIORS"}, "minimumAge": 60})
	birth1 := owaspResidents[0].birth.Format(time.DateOnly)
	ref := func(svc, ag string, extra map[string]any) string {
		m := map[string]any{"service": svc, "agreement": ag, "status": "REFERRAL_STATUS_DRAFT"}
		for k, v := range extra {
			m[k] = v
		}
		return w.referralBody(t, m)
	}
	tl.run(t, s, attempt{what: "a referral to a service that is not ACTIVE",
		method: http.MethodPost, path: "/v1/referrals", body: ref(inactive, inactiveAg, nil), hdr: w.coord, status: 400, reason: "SERVICE_NOT_ACTIVE",
		violation: "referral.service"})
	tl.run(t, s, attempt{what: fmt.Sprintf("a referral of a %d-year-old to a service for ages 0-17 (the refusal names the range, not her birth date)", ageOn(owaspResidents[0].birth, today)),
		method: http.MethodPost, path: "/v1/referrals", body: ref(children, childrenAg, nil), hdr: w.coord, status: 400, reason: "RESIDENT_AGE_OUTSIDE_SERVICE",
		violation: "referral.resident", forbid: []string{birth1}})
	tl.run(t, s, attempt{what: "a referral of a resident who declared no group to a service for the unemployed only",
		method: http.MethodPost, path: "/v1/referrals", body: ref(unemployed, unemployedAg, nil), hdr: w.coord, status: 400, reason: "RESIDENT_NOT_IN_TARGET_GROUPS",
		violation: "referral.resident", forbid: []string{birth1}})
	tl.run(t, s, attempt{what: "a referral of a senior to a service for children and youth (no age bound: the group alone refuses)",
		method: http.MethodPost, path: "/v1/referrals", body: ref(youth, youthAg, nil), hdr: w.coord, status: 400, reason: "RESIDENT_NOT_IN_TARGET_GROUPS",
		violation: "referral.resident", forbid: []string{birth1}})
	tl.run(t, s, attempt{what: "a referral of a senior to a service for seniors from 60 (control)",
		method: http.MethodPost, path: "/v1/referrals", body: ref(seniors, seniorsAg, nil), hdr: w.coord, status: 200, piiOK: true})
	// Bypassing the gateway: the rule is FAILED_PRECONDITION (the request is well formed), not INVALID_ARGUMENT.
	var children17 referralv1.Referral
	if err := protojson.Unmarshal([]byte(ref(children, childrenAg, nil)), &children17); err != nil {
		t.Fatalf("referral body: %v", err)
	}
	referrals := referralv1.NewReferralServiceClient(dialGRPC(t, s.referralAddr))
	coordTok := strings.TrimPrefix(w.coord["Authorization"], "Bearer ")
	tl.runGRPC(t, "CreateReferral of a senior to a service for ages 0-17", codes.FailedPrecondition, "RESIDENT_AGE_OUTSIDE_SERVICE", func(ctx context.Context) error {
		_, err := referrals.CreateReferral(withToken(ctx, coordTok), &referralv1.CreateReferralRequest{Referral: &children17})
		return err
	})
	tl.run(t, s, attempt{what: "a referral to a service requiring an administrative decision, without decision_reference",
		method: http.MethodPost, path: "/v1/referrals", body: ref(decision, decisionAg, nil), hdr: w.coord, status: 400, reason: "DECISION_REQUIRED",
		violation: "referral.decision_reference"})
	tl.run(t, s, attempt{what: "a referral to a service requiring a decision, with decision_reference (control)",
		method: http.MethodPost, path: "/v1/referrals", body: ref(decision, decisionAg, map[string]any{"decisionReference": "CUS.4101.77.2026"}), hdr: w.coord, status: 200, piiOK: true})
	tl.run(t, s, attempt{what: "a referral with a decision_reference to a service that needs no decision",
		method: http.MethodPost, path: "/v1/referrals", body: ref(plain, plainAg, map[string]any{"decisionReference": "CUS.4101.78.2026"}), hdr: w.coord, status: 400,
		reason: "DECISION_NOT_REQUIRED", violation: "referral.decision_reference"})

	// Consent withdrawn, or for another provider.
	withdrawn := str(t, s.call(t, http.MethodPost, "/v1/"+w.resident1+"/consents", jsonBody(t, map[string]any{
		"basis": "LEGAL_BASIS_CONSENT", "purpose": "wycofana", "scope": []string{"DATA_SCOPE_CONTACT"}, "givenDate": today.Format(time.DateOnly),
	}), w.coord).wantOK(t), "name")
	s.call(t, http.MethodPost, "/v1/"+withdrawn+":withdraw", `{}`, w.coord).wantOK(t)
	tl.run(t, s, attempt{what: "a referral under a withdrawn consent", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, map[string]any{"consent": withdrawn}), hdr: w.coord, status: 400, reason: "CONSENT_WITHDRAWN"})
	forB := str(t, s.call(t, http.MethodPost, "/v1/"+w.resident1+"/consents", jsonBody(t, map[string]any{
		"basis": "LEGAL_BASIS_CONSENT", "purpose": "tylko B", "scope": []string{"DATA_SCOPE_CONTACT"}, "givenDate": today.Format(time.DateOnly),
		"provider": w.providerB,
	}), w.coord).wantOK(t), "name")
	tl.run(t, s, attempt{what: "a referral to provider A under a consent for provider B only", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, map[string]any{"consent": forB}), hdr: w.coord, status: 400, reason: "CONSENT_NOT_FOR_PROVIDER"})
	tl.run(t, s, attempt{what: "a referral of resident 1 under resident 2's consent", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, map[string]any{"consent": w.consent2}), hdr: w.coord, status: 400, reason: "INVALID_FIELDS", violation: "referral.consent"})
	tl.run(t, s, attempt{what: "a referral of resident 1 in resident 2's case", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, map[string]any{"case": w.case2}), hdr: w.coord, status: 400, reason: "INVALID_FIELDS", violation: "referral.case"})
	if w.agreementB != "" {
		tl.run(t, s, attempt{what: "a referral to provider A on provider B's agreement", method: http.MethodPost, path: "/v1/referrals",
			body: w.referralBody(t, map[string]any{"agreement": w.agreementB}), hdr: w.coord, status: 400, reason: "INVALID_FIELDS", violation: "referral.agreement"})
	}
	tl.run(t, s, attempt{what: "a referral of -5 units", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, map[string]any{"units": -5}), hdr: w.coord, status: 400, reason: "INVALID_FIELDS", violation: "referral.units"})

	// Replays: the same request id and body returns the first result; another body is refused.
	rid := "0194c050-0a5b-7000-8000-" + fmt.Sprintf("%012x", time.Now().UnixNano()&0xffffffffffff)
	first := s.call(t, http.MethodPost, "/v1/referrals?requestId="+rid, w.referralBody(t, map[string]any{"status": "REFERRAL_STATUS_DRAFT"}), w.coord).wantOK(t)
	tl.run(t, s, attempt{what: "the same request id with the same body (returns the first referral)", method: http.MethodPost,
		path: "/v1/referrals?requestId=" + rid, body: w.referralBody(t, map[string]any{"status": "REFERRAL_STATUS_DRAFT"}), hdr: w.coord,
		status: 200, piiOK: true, check: func(r httpResult) string {
			var m map[string]any
			_ = json.Unmarshal(r.Body, &m)
			if optStr(m, "name") != str(t, first, "name") {
				return fmt.Sprintf("a second referral %s, want the first %s", optStr(m, "name"), str(t, first, "name"))
			}
			return ""
		}})
	tl.run(t, s, attempt{what: "the same request id with a different body", method: http.MethodPost,
		path: "/v1/referrals?requestId=" + rid, body: w.referralBody(t, map[string]any{"status": "REFERRAL_STATUS_DRAFT", "units": 7}), hdr: w.coord,
		status: 400, reason: "REQUEST_ID_REUSED"})
	tl.run(t, s, attempt{what: "a client-chosen referral id that is taken", method: http.MethodPost,
		path: "/v1/referrals?referralId=" + lastID(w.refA), body: w.referralBody(t, nil), hdr: w.coord, status: 409, reason: "REFERRAL_EXISTS"})

	// The status machine.
	c := w.newReferral(t, s, nil)
	tl.run(t, s, attempt{what: "provider A accepts a requested referral (control)", method: http.MethodPost,
		path: "/v1/" + str(t, c, "name") + ":accept", body: `{}`, hdr: w.staffA, status: 200})
	tl.run(t, s, attempt{what: "provider A accepts the same referral again (double accept)", method: http.MethodPost,
		path: "/v1/" + str(t, c, "name") + ":accept", body: `{}`, hdr: w.staffA, status: 400, reason: "TRANSITION_NOT_ALLOWED"})
	tl.run(t, s, attempt{what: "provider A completes a referral it never started", method: http.MethodPost,
		path: "/v1/" + w.refA + ":complete", body: `{"outcome":{"code":"OUTCOME_CODE_GOT_HELP"}}`, hdr: w.staffA, status: 400, reason: "TRANSITION_NOT_ALLOWED"})
	tl.run(t, s, attempt{what: "the coordinator sends a referral that is already requested", method: http.MethodPost,
		path: "/v1/" + w.refA + ":send", body: `{}`, hdr: w.coord, status: 400, reason: "TRANSITION_NOT_ALLOWED"})
	d := w.newReferral(t, s, nil)
	s.call(t, http.MethodPost, "/v1/"+str(t, d, "name")+":receive", `{}`, w.staffA).wantOK(t)
	tl.run(t, s, attempt{what: "provider A rejects with the etag from before it received (stale)", method: http.MethodPost,
		path: "/v1/" + str(t, d, "name") + ":reject", body: jsonBody(t, map[string]string{"reason": "brak miejsc", "etag": str(t, d, "etag")}),
		hdr: w.staffA, status: 409, reason: "STALE_ETAG"})
	tl.run(t, s, attempt{what: "a reject without a reason", method: http.MethodPost,
		path: "/v1/" + str(t, d, "name") + ":reject", body: `{}`, hdr: w.staffA, status: 400, reason: "INVALID_FIELDS"})
	// Accept and reject at once with the same etag: exactly one wins.
	e := w.newReferral(t, s, nil)
	var wg sync.WaitGroup
	answers := make([]httpResult, 2)
	for i, verb := range []string{"accept", "reject"} {
		wg.Go(func() {
			answers[i], _ = tl.send(t, s, attempt{method: http.MethodPost, path: "/v1/" + str(t, e, "name") + ":" + verb,
				body: jsonBody(t, map[string]string{"etag": str(t, e, "etag"), "reason": "równolegle"}), hdr: w.staffA, status: 200})
		})
	}
	wg.Wait()
	ok := 0
	for _, a := range answers {
		if a.Status == http.StatusOK {
			ok++
		}
	}
	problem := ""
	if ok != 1 || (answers[0].Status != 200 && answers[0].Status != 409 && answers[0].Status != 400) ||
		(answers[1].Status != 200 && answers[1].Status != 409 && answers[1].Status != 400) {
		problem = fmt.Sprintf("accept %d, reject %d: want exactly one 200 and one 409/400", answers[0].Status, answers[1].Status)
	}
	tl.outcome(t, "provider A accepts and rejects one referral at the same time with the same etag: exactly one wins", true, problem, "")
	tl.run(t, s, attempt{what: "the director erases resident 3 without a reason", method: http.MethodPost, path: "/v1/" + w.resident3 + ":erase",
		body: `{}`, hdr: w.director, status: 400, reason: "INVALID_FIELDS"})
	tl.run(t, s, attempt{what: "the coordinator cancels the accepted referral (control; frees the capacity)", method: http.MethodPost,
		path: "/v1/" + str(t, c, "name") + ":cancel", body: `{"reason":"test OWASP"}`, hdr: w.coord, status: 200, piiOK: true})
}

// ---- API7 ----

func owaspAPI7(t *testing.T, s *suite, w *owaspWorld, tl *tally) {
	for _, u := range []string{"file:///etc/passwd", "gopher://127.0.0.1:6379/_INFO", "javascript:alert(1)", "/etc/passwd",
		"dict://127.0.0.1:11211/stats", "ftp://example.org/x", "http//no-scheme.example"} {
		tl.run(t, s, attempt{what: "a catalogue service whose url is " + u, method: http.MethodPost, path: "/v1/services",
			body: jsonBody(t, map[string]any{"displayName": "SSRF", "areas": []string{"AREA_CULTURE"}, "url": u}), hdr: w.organiser,
			status: 400, reason: "INVALID_FIELDS", violation: "service.url"})
	}
	tl.run(t, s, attempt{what: "provider B's website set to file:///etc/passwd", method: http.MethodPatch,
		path: "/v1/" + w.providerB + "?updateMask=website", body: `{"website":"file:///etc/passwd"}`, hdr: w.organiser,
		status: 400, reason: "INVALID_FIELDS", violation: "provider.website"})
	tl.run(t, s, attempt{what: "an import of providers from a URL instead of CSV content", method: http.MethodPost,
		path: "/v1/providers:import", body: `{"url":"http://169.254.169.254/latest/meta-data/","dryRun":true}`, hdr: w.organiser,
		status: 400, reason: "MALFORMED_REQUEST"})
	tl.run(t, s, attempt{what: "adding a federation peer through the API (peers come from an allowlist file)", method: http.MethodPost,
		path: "/v1/peers", body: `{"url":"http://169.254.169.254/"}`, hdr: w.organiser, status: 405, alt: []int{404}})
	tl.run(t, s, attempt{what: "the organiser lists federation peers (control: none configured)", method: http.MethodGet,
		path: "/v1/peers", hdr: w.organiser, status: 200})
	tl.run(t, s, attempt{what: "an HSDS query with a url parameter (no fetching)", method: http.MethodGet,
		path: "/hsds/services?url=" + url.QueryEscape("http://169.254.169.254/"), status: 200, alt: []int{400}, raw: true})
	// Webhooks are the one place the suite calls a URL a caller gives: only inside the operator's allowlist
	// (--webhook-allow), checked again on the address dialled. The e2e suite allows http://127.0.0.1 only.
	for _, target := range []string{"http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/", "http://localhost:9/",
		"file:///etc/passwd", "gopher://127.0.0.1:6379/", "https://metadata.google.internal/"} {
		tl.run(t, s, attempt{what: "a webhook to " + target + " (outside the allowlist)", method: http.MethodPost, path: "/v1/webhooks",
			body: fmt.Sprintf(`{"url":%q,"eventTypes":["referral.created"]}`, target), hdr: w.coord,
			status: 400, reason: "INVALID_FIELDS", violation: "webhook.url"})
	}
	// No other operation takes a URL to fetch: no parameter of /openapi.json names a URL, callback or webhook
	// outside the webhooks collection.
	doc := s.get(t, "/openapi.json").wantOK(t)
	var found []string
	paths, _ := doc["paths"].(map[string]any)
	for p, item := range paths {
		for m, op := range item.(map[string]any) {
			o, _ := op.(map[string]any)
			params, _ := o["parameters"].([]any)
			for _, pa := range params {
				pm, _ := pa.(map[string]any)
				n := strings.ToLower(fmt.Sprint(pm["name"]))
				if pm["in"] != "body" && !strings.HasPrefix(p, "/v1/webhooks") && regexp.MustCompile(`url|uri|callback|webhook|endpoint|fetch`).MatchString(n) {
					found = append(found, m+" "+p+" "+n)
				}
			}
		}
	}
	problem := ""
	if len(found) > 0 {
		problem = fmt.Sprintf("operations take a URL parameter: %v", found)
	}
	tl.outcome(t, "no operation of /openapi.json but the webhooks takes a URL, callback or webhook to fetch", true, problem, "")
}

// ---- API8 ----

func owaspAPI8(t *testing.T, s *suite, w *owaspWorld, tl *tally, addProc func(*proc)) {
	noACAO := func(r httpResult) string {
		if v := r.Header.Get("Access-Control-Allow-Origin"); v != "" {
			return "Access-Control-Allow-Origin: " + v
		}
		if v := r.Header.Get("Access-Control-Allow-Credentials"); v != "" {
			return "Access-Control-Allow-Credentials: " + v
		}
		return ""
	}
	for _, origin := range []string{"https://evil.example", "null", "https://app.example.evil.example", "http://app.example"} {
		tl.run(t, s, attempt{what: "GET /v1/areas from Origin " + origin + " (not reflected)", method: http.MethodGet, path: "/v1/areas",
			hdr: map[string]string{"Origin": origin}, status: 200, check: noACAO})
		tl.run(t, s, attempt{what: "a CORS preflight of POST /v1/referrals from Origin " + origin, method: http.MethodOptions,
			path: "/v1/referrals", hdr: map[string]string{"Origin": origin, "Access-Control-Request-Method": "POST",
				"Access-Control-Request-Headers": "authorization"}, status: 204, alt: []int{200, 400, 403, 404, 405}, raw: true, check: noACAO})
	}
	tl.run(t, s, attempt{what: "GET /v1/areas from the configured origin (control: allowed)", method: http.MethodGet, path: "/v1/areas",
		hdr: map[string]string{"Origin": allowedCORS}, status: 200, check: func(r httpResult) string {
			if r.Header.Get("Access-Control-Allow-Origin") != allowedCORS {
				return "the configured origin is not allowed"
			}
			return ""
		}})
	// Errors show no internals (judge checks every error body for stack traces, paths, wrapped errors).
	for _, b := range []struct{ what, body string }{
		{"malformed JSON", `{"resident": `},
		{"a string where a number goes", w.referralBody(t, map[string]any{"units": "many"})},
		{"an unknown field", `{"resident":"x","hacker":true}`},
		{"an unknown enum value", w.referralBody(t, map[string]any{"priority": "PRIORITY_GODMODE"})},
		{"a number that overflows int32", w.referralBody(t, map[string]any{"units": 99999999999999})},
		{"JSON nested 5000 levels deep", strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000)},
		{"invalid UTF-8", "{\"note\":\"\xff\xfe\"}"},
	} {
		tl.run(t, s, attempt{what: "POST /v1/referrals with " + b.what + " (a clean 400, no internals)", method: http.MethodPost,
			path: "/v1/referrals", body: b.body, hdr: w.coord, status: 400, reason: "MALFORMED_REQUEST"})
	}
	tl.run(t, s, attempt{what: "GET a referral whose id is not a uuid", method: http.MethodGet, path: "/v1/referrals/%27%20OR%201=1--",
		hdr: w.coord, status: 400, reason: "INVALID_FIELDS"})
	for _, p := range []string{"/v1/admin", "/v1/referrals/" + lastID(w.refA) + "/history", "/v1/residents/-/consents/-/x"} {
		tl.run(t, s, attempt{what: "GET " + p + " (no such route)", method: http.MethodGet, path: p, hdr: w.coord, status: 404, reason: "ROUTE_NOT_FOUND"})
	}
	// Outside /v1 the residents' pages answer their 404 page (HTML); nothing else is served there.
	for _, p := range []string{"/debug/pprof/", "/.env", "/server-status"} {
		tl.run(t, s, attempt{what: "GET " + p + " (no such page: the pages' 404)", method: http.MethodGet, path: p, hdr: w.coord, status: 404, raw: true})
	}
	for _, m := range []struct{ method, path string }{
		{http.MethodPut, "/v1/referrals"}, {http.MethodDelete, "/v1/" + w.refA}, {http.MethodPatch, "/v1/" + w.refA},
		{"TRACE", "/v1/referrals"}, {http.MethodDelete, "/v1/" + w.resident1},
	} {
		tl.run(t, s, attempt{what: m.method + " " + m.path + " (no such method)", method: m.method, path: m.path, hdr: w.coord,
			status: 405, alt: []int{404}, check: func(r httpResult) string {
				if st, err := parseStatus(r); err != nil || (st.Reason != "METHOD_NOT_ALLOWED" && st.Reason != "ROUTE_NOT_FOUND") {
					return fmt.Sprintf("reason %q (%v), want METHOD_NOT_ALLOWED or ROUTE_NOT_FOUND", st.Reason, err)
				}
				return ""
			}})
	}
	// Metadata a client must not set.
	tl.run(t, s, attempt{what: "a coordinator token in Grpc-Metadata-Authorization on GET /v1/referrals", method: http.MethodGet,
		path: "/v1/referrals", hdr: map[string]string{"Grpc-Metadata-Authorization": w.coord["Authorization"]}, status: 401, reason: "AUTHENTICATION_REQUIRED"})
	tl.run(t, s, attempt{what: "provider B claims provider A by Grpc-Metadata-Cus-Provider-Id", method: http.MethodGet,
		path: "/v1/" + w.refA, hdr: map[string]string{"Authorization": w.staffB["Authorization"], "Grpc-Metadata-Cus-Provider-Id": lastID(w.providerA)},
		status: 404, reason: "REFERRAL_NOT_FOUND"})
	tl.run(t, s, attempt{what: "an error answer carries no server version banner", method: http.MethodGet, path: "/v1/nope",
		status: 404, reason: "ROUTE_NOT_FOUND", check: func(r httpResult) string {
			if v := r.Header.Get("Server"); v != "" || r.Header.Get("X-Powered-By") != "" {
				return "Server/X-Powered-By: " + v + r.Header.Get("X-Powered-By")
			}
			return ""
		}})

	// Binaries refuse insecure configurations before doing anything: each row has everything else valid (private
	// addresses, data directory, a JWKS file that exists), so the named setting is the only reason to refuse.
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if b, err := os.ReadFile(filepath.Join(s.keysDir, "dev-jwks.json")); err != nil {
		t.Fatal(err)
	} else if err := os.WriteFile(jwks, b, 0o600); err != nil {
		t.Fatal(err)
	}
	tls := []string{"--tls-cert", "/nonexistent/cus-owasp/server.pem", "--tls-key", "/nonexistent/cus-owasp/server.key"}
	cases := []struct {
		what  string
		args  []string
		names []string // what the message must name
		not   []string // failures of other settings the message must not hold
	}{
		{"on 0.0.0.0 without TLS", []string{"--listen", "0.0.0.0:0"}, []string{"--tls-cert", "plaintext"}, []string{"--dev-keys-dir ("}},
		{"with development keys off loopback (--dev-mode and a certificate given)", append([]string{"--dev-mode", "--dev-keys-dir", "DEVKEYS", "--listen", "0.0.0.0:0"}, tls...),
			[]string{"--dev-keys-dir", "loopback"}, []string{"--tls-cert (", "--dev-mode ("}},
		// A loopback listen address is also the single-VM production layout: development keys need --dev-mode.
		{"with --dev-keys-dir without --dev-mode, on loopback", []string{"--dev-keys-dir", "DEVKEYS"}, []string{"--dev-keys-dir", "--dev-mode"}, []string{"loopback", "--tls-cert ("}},
		{"with --jwks-file without --oidc-issuer", []string{"--jwks-file", jwks}, []string{"--jwks-file", "--oidc-issuer"}, []string{"--dev-keys-dir (", "--dev-mode ("}},
		{"with --dev-mode beside --oidc-issuer", []string{"--dev-mode", "--oidc-issuer", "https://sso.example/realms/cus"}, []string{"--dev-mode", "--oidc-issuer"}, []string{"--dev-keys-dir ("}},
	}
	for _, bin := range []struct{ name, path string }{{"referral", referralBin}, {"provider", providerBin}, {"catalogue", catalogueBin}} {
		for _, c := range cases {
			tmp := t.TempDir()
			dev, data := filepath.Join(tmp, "dev"), filepath.Join(tmp, "data")
			addrs := freeAddrs(t, 4)
			args := []string{"serve", "--listen", addrs[0], "--admin-listen", addrs[1], "--data-dir", data, "--log-format", "json"}
			switch bin.name {
			case "referral":
				args = append(args, "--catalogue-addr", addrs[2], "--provider-addr", addrs[3])
			case "provider":
				args = append(args, "--catalogue-addr", addrs[2])
			}
			for _, a := range c.args { // later flags win
				args = append(args, strings.ReplaceAll(a, "DEVKEYS", dev))
			}
			p := startProc(t, bin.name+"-misconfigured", bin.path, args, []string{"CUS_LOG_FORMAT=json"})
			addProc(p)
			problem := ""
			if !p.waitExit(callTimeout) {
				p.kill(t)
				problem = "still running"
			} else {
				p.markEnded()
				msg := p.stderr.String()
				switch {
				case p.exitCode() == 0:
					problem = "exited 0"
				case !containsAll(msg, c.names):
					problem = fmt.Sprintf("the message does not name %v: %s", c.names, msg)
				case containsAny(msg, c.not) != "":
					problem = fmt.Sprintf("the message names %q too: another setting failed, so this row proves nothing: %s", containsAny(msg, c.not), msg)
				}
				for _, d := range []string{dev, data} {
					if _, err := os.Stat(d); err == nil {
						problem += "; the refused configuration still created " + d
					}
				}
			}
			tl.outcome(t, fmt.Sprintf("starting the %s service %s is refused naming %s", bin.name, c.what, strings.Join(c.names, " and ")), true, problem, "")
		}
	}
}

// ---- API9 ----

func owaspAPI9(t *testing.T, s *suite, w *owaspWorld, tl *tally) {
	doc := s.get(t, "/openapi.json").wantOK(t)
	paths, _ := doc["paths"].(map[string]any)
	var keys []string
	for p := range paths {
		keys = append(keys, p)
	}
	sort.Strings(keys)
	sample := regexp.MustCompile(`\[\^/\]\+`)
	documented := 0
	for _, p := range keys {
		for method, op := range paths[p].(map[string]any) {
			o, _ := op.(map[string]any)
			concrete := p
			params, _ := o["parameters"].([]any)
			for _, pa := range params {
				pm, _ := pa.(map[string]any)
				if pm["in"] != "path" {
					continue
				}
				pattern, _ := pm["pattern"].(string)
				if pattern == "" {
					pattern = "x"
				}
				concrete = strings.Replace(concrete, "{"+fmt.Sprint(pm["name"])+"}", sample.ReplaceAllString(pattern, "0194c050-0a5b-7000-8000-00000000dead"), 1)
			}
			body := ""
			if method != "get" && method != "delete" {
				body = `{}`
			}
			r, err := tl.send(t, s, attempt{method: strings.ToUpper(method), path: concrete, body: body, status: 401})
			problem := ""
			if err != nil {
				problem = err.Error()
			} else if st, _ := parseStatus(r); r.Status == 405 || (r.Status == 404 && st.Reason == "ROUTE_NOT_FOUND") {
				problem = "a documented route is not served: " + r.String()
			}
			documented++
			tl.outcome(t, fmt.Sprintf("documented %s %s answers (anonymously) without a routing error", strings.ToUpper(method), concrete), false, problem, tl.leakOf(r, err, attempt{}))
		}
	}
	t.Logf("%d documented operations answered", documented)
	for _, u := range []struct{ method, path string }{
		{"GET", "/v1/users"}, {"GET", "/v1/admin/backup"}, {"GET", "/v1/residents/" + lastID(w.resident1) + "/referrals"},
		{"POST", "/v1/referrals:export"}, {"GET", "/v1/auditEntries/1"}, {"GET", "/v2/referrals"}, {"POST", "/v1/peers:add"},
		{"GET", "/v1/tokens"}, {"GET", "/v1/config"}, {"POST", "/v1/residents:search"}, {"GET", "/v1beta/referrals"},
	} {
		body := ""
		if u.method == "POST" {
			body = `{}`
		}
		tl.run(t, s, attempt{what: "undocumented " + u.method + " " + u.path + " is not served", method: u.method, path: u.path,
			body: body, hdr: w.coord, status: 404, reason: "ROUTE_NOT_FOUND"})
	}
	// gRPC reflection lists only the documented services.
	infra := []string{"grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection", "grpc.reflection.v1alpha.ServerReflection"}
	for _, svc := range []struct{ name, addr, want string }{
		{"catalogue", s.grpcAddr, "cus.catalogue.v1.CatalogueService"},
		{"provider", s.providerAddr, "cus.provider.v1.ProviderService"},
		{"referral", s.referralAddr, "cus.referral.v1.ReferralService"},
	} {
		listed, err := reflectServices(dialGRPC(t, svc.addr))
		problem := ""
		if err != nil {
			problem = err.Error()
		}
		for _, l := range listed {
			if l != svc.want && !containsString(infra, l) {
				problem += "undocumented service " + l + "; "
			}
		}
		if !containsString(listed, svc.want) {
			problem += "the service itself is not listed"
		}
		tl.outcome(t, fmt.Sprintf("gRPC reflection of the %s service lists %v only", svc.name, append([]string{svc.want}, infra...)), false, problem, "")
	}
}

func reflectServices(conn *grpc.ClientConn) ([]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	st, err := reflectionv1.NewServerReflectionClient(conn).ServerReflectionInfo(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&reflectionv1.ServerReflectionRequest{MessageRequest: &reflectionv1.ServerReflectionRequest_ListServices{}}); err != nil {
		return nil, err
	}
	resp, err := st.Recv()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		out = append(out, s.GetName())
	}
	return out, st.CloseSend()
}

// ---- API10 ----

func owaspAPI10(t *testing.T, s *suite, w *owaspWorld, tl *tally) {
	// What a federation peer consumes: the catalogue's change feed, published data only.
	tl.run(t, s, attempt{what: "a peer reads the federation feed: catalogue resources only, no personal data", method: http.MethodGet,
		path: "/v1/changes?pageSize=1000", hdr: w.peer, status: 200, forbid: []string{"residents/", "referrals/", "cases/"},
		check: func(r httpResult) string {
			var m struct {
				Changes []struct {
					ResourceName string `json:"resourceName"`
				} `json:"changes"`
			}
			if err := json.Unmarshal(r.Body, &m); err != nil {
				return err.Error()
			}
			for _, c := range m.Changes {
				if !strings.HasPrefix(c.ResourceName, "services/") && !strings.HasPrefix(c.ResourceName, "programmes/") {
					return "the feed carries " + c.ResourceName
				}
			}
			return ""
		}})
	for _, p := range []struct{ what, method, path, body string }{
		{"lists referrals", http.MethodGet, "/v1/referrals", ""},
		{"reads a referral", http.MethodGet, "/v1/" + w.refA, ""},
		{"reads resident 1", http.MethodGet, "/v1/" + w.resident1, ""},
		{"looks up a PESEL", http.MethodPost, "/v1/residents:lookup", jsonBody(t, map[string]string{"pesel": w.pesel1})},
		{"reads statistics", http.MethodGet, "/v1/statistics", ""},
		{"reads the provider change feed", http.MethodGet, "/v1/providerChanges", ""},
		{"lists the federation state of peers", http.MethodGet, "/v1/peers", ""},
		{"reads availability", http.MethodGet, "/v1/" + w.agreementA + "/availability", ""},
		{"edits a catalogue service", http.MethodPatch, "/v1/" + demoServiceName + "?updateMask=display_name", `{"displayName":"Przejęta"}`},
	} {
		tl.run(t, s, attempt{what: "a peer " + p.what, method: p.method, path: p.path, body: p.body, hdr: w.peer,
			status: 403, reason: "ROLE_NOT_ALLOWED"})
	}
	peerTok := strings.TrimPrefix(w.peer["Authorization"], "Bearer ")
	client := referralv1.NewReferralServiceClient(dialGRPC(t, s.referralAddr))
	tl.runGRPC(t, "a peer watches referrals", codes.PermissionDenied, "ROLE_NOT_ALLOWED", func(ctx context.Context) error {
		st, err := client.WatchReferrals(withToken(ctx, peerTok), &referralv1.WatchReferralsRequest{})
		if err != nil {
			return err
		}
		_, err = st.Recv()
		return err
	})
	foreignPeer := mintToken(t, filepath.Join(t.TempDir(), "other-instance"), "--role", "peer", "--terc", "1465011")
	tl.run(t, s, attempt{what: "a peer token of another instance's key reads the feed", method: http.MethodGet,
		path: "/v1/changes?pageSize=1", hdr: bearer(foreignPeer), status: 401})
	tl.run(t, s, attempt{what: "the public HSDS services: no personal data", method: http.MethodGet, path: "/hsds/services?per_page=50", status: 200})
	tl.run(t, s, attempt{what: "the public HSDS organizations: no personal data", method: http.MethodGet, path: "/hsds/organizations?per_page=50", status: 200, alt: []int{404}, raw: true})

	owaspFederationGarbage(t, s, tl)

	// The referral service consumes the catalogue and the registry: their answers are checked.
	gone := str(t, s.createService(t, `{"displayName":"Usługa do usunięcia OWASP","areas":["AREA_CULTURE"]}`), "name")
	goneAg := w.newAgreement(t, s, gone)
	s.edit(t, http.MethodDelete, "/v1/"+gone, "").wantOK(t)
	tl.run(t, s, attempt{what: "a referral to a service the catalogue has deleted", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, map[string]any{"service": gone, "agreement": goneAg}), hdr: w.coord, status: 400, reason: "SERVICE_NOT_FOUND"})
	tl.run(t, s, attempt{what: "a referral on an agreement the registry does not have", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, map[string]any{"agreement": w.providerA + "/agreements/0194c050-0a5b-7000-8000-00000000beef"}), hdr: w.coord,
		status: 400, reason: "AGREEMENT_NOT_FOUND"})
	tl.run(t, s, attempt{what: "a referral naming a service that is not a catalogue name", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, map[string]any{"service": "http://169.254.169.254/services/x"}), hdr: w.coord, status: 400})

	// Dependencies down: nothing is written, the caller learns UNAVAILABLE.
	pending := w.newReferral(t, s, nil)
	count := func() int {
		return len(objects(t, s.call(t, http.MethodGet, "/v1/referrals?pageSize=500&resident="+url.QueryEscape(w.resident1), "", w.coord).wantOK(t), "referrals"))
	}
	before := count()
	s.catalogue.stop(t)
	tl.run(t, s, attempt{what: "a referral while the catalogue is down", method: http.MethodPost, path: "/v1/referrals",
		body: w.referralBody(t, nil), hdr: w.coord, status: 503, reason: "CATALOGUE_UNAVAILABLE"})
	problem := ""
	if after := count(); after != before {
		problem = fmt.Sprintf("%d referrals of resident 1 before, %d after", before, after)
	}
	tl.outcome(t, "the refused referral wrote nothing", false, problem, "")
	s.provider.stop(t)
	tl.run(t, s, attempt{what: "provider A accepts while the provider registry is down", method: http.MethodPost,
		path: "/v1/" + str(t, pending, "name") + ":accept", body: `{}`, hdr: w.staffA, status: 503, reason: "PROVIDER_SERVICE_UNAVAILABLE"})
	got := s.call(t, http.MethodGet, "/v1/"+str(t, pending, "name"), "", w.coord).wantOK(t)
	problem = ""
	if optStr(got, "status") != "REFERRAL_STATUS_REQUESTED" {
		problem = "status " + optStr(got, "status") + " after the refused accept"
	}
	tl.outcome(t, "the refused accept changed nothing", false, problem, "")
}

// owaspFakePeer serves a fixed change feed: what a compromised or broken peer instance could send.
type owaspFakePeer struct {
	cataloguev1.UnimplementedCatalogueServiceServer
	changes []*cataloguev1.Change
}

func (f *owaspFakePeer) ListChanges(_ context.Context, req *cataloguev1.ListChangesRequest) (*cataloguev1.ListChangesResponse, error) {
	var out []*cataloguev1.Change
	for _, c := range f.changes {
		if c.GetRevision() > req.GetAfterRevision() {
			out = append(out, c)
		}
	}
	last := req.GetAfterRevision()
	if len(out) > 0 {
		last = out[len(out)-1].GetRevision()
	}
	return &cataloguev1.ListChangesResponse{Changes: out, NextAfterRevision: last, LatestRevision: last, FeedId: "owasp-fake"}, nil
}

func (f *owaspFakePeer) WatchChanges(_ *cataloguev1.WatchChangesRequest, s cataloguev1.CatalogueService_WatchChangesServer) error {
	<-s.Context().Done()
	return nil
}

// owaspFederationGarbage starts a catalogue that follows a fake peer (CUS Jarocin, 3006023) whose feed carries
// one valid service and entries that must each be refused: validated like user input, the peer's own origin,
// no overwriting of local entries, catalogue resources only.
func owaspFederationGarbage(t *testing.T, s *suite, tl *tally) {
	const jarocin, rawicz = "3006023", "3022053"
	svc := func(name string) *cataloguev1.Service {
		return &cataloguev1.Service{DisplayName: name, Description: "Usługa z federacji (test OWASP).", OriginTerc: jarocin,
			Areas: []cataloguev1.Area{cataloguev1.Area_AREA_SOCIAL_ASSISTANCE}}
	}
	upsert := func(rev int64, name string, sv *cataloguev1.Service) *cataloguev1.Change {
		if sv != nil {
			sv.Name = name
		}
		c := &cataloguev1.Change{Revision: rev, Type: cataloguev1.ChangeType_CHANGE_TYPE_UPSERT, ResourceName: name}
		if sv != nil {
			c.Resource = &cataloguev1.Change_Service{Service: sv}
		}
		return c
	}
	id := func(n int) string { return fmt.Sprintf("services/0194c050-3006-7023-8000-%012d", n) }
	badURL := svc("Z adresem pliku")
	badURL.Url = "file:///etc/passwd"
	foreign := svc("Podszywa się pod Rawicz")
	foreign.OriginTerc = rawicz
	huge := svc(strings.Repeat("x", 5000))
	overwrite := svc("Nadpisuje lokalną usługę")
	garbage := []struct {
		what   string
		change *cataloguev1.Change
		name   string // a name that must not be stored ("" when the change has no usable name)
	}{
		{"a service whose url is file:///etc/passwd", upsert(2, id(2), badURL), id(2)},
		{"a service claiming this instance's own origin", upsert(3, id(3), foreign), id(3)},
		{"a service with a 5,000-character name", upsert(4, id(4), huge), id(4)},
		{"a service overwriting a local entry", upsert(5, demoServiceName, overwrite), ""},
		{"a change naming services/not-a-uuid", upsert(6, "services/not-a-uuid", svc("Zła nazwa")), ""},
		{"a change naming a resident, with a service inside", upsert(7, "residents/0194c050-3006-7023-8000-000000000007", svc("Mieszkaniec")), ""},
		{"an upsert without its resource", upsert(8, id(8), nil), id(8)},
		{"a service without a name or areas", upsert(9, id(9), &cataloguev1.Service{OriginTerc: jarocin}), id(9)},
	}
	fake := &owaspFakePeer{changes: []*cataloguev1.Change{upsert(1, id(1), svc("Poprawna usługa Jarocina"))}}
	for _, g := range garbage {
		fake.changes = append(fake.changes, g.change)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	cataloguev1.RegisterCatalogueServiceServer(g, fake)
	served := make(chan struct{})
	go func() { defer close(served); _ = g.Serve(ln) }()
	defer func() { g.Stop(); <-served }()

	dir := t.TempDir()
	peers := filepath.Join(dir, "peers.json")
	if err := os.WriteFile(peers, []byte(fmt.Sprintf(`{"peers":[{"terc":%q,"name":"Fałszywy Jarocin","address":%q}]}`, jarocin, ln.Addr().String())), 0o600); err != nil {
		t.Fatal(err)
	}
	addrs := freeAddrs(t, 2)
	follower := startProc(t, "catalogue-follower", catalogueBin,
		append(catalogueArgs(filepath.Join(dir, "data"), s.keysDir, addrs[0], addrs[1], true), "--peers-file", peers), nil)
	defer follower.stop(t)
	if err := waitListening(follower, "grpc", addrs[0]); err != nil {
		t.Errorf("follower: %v", err)
		return
	}
	client := cataloguev1.NewCatalogueServiceClient(dialGRPC(t, addrs[0]))
	organiser := strings.TrimPrefix(s.as(t, roleEditor)["Authorization"], "Bearer ")
	var peer *cataloguev1.PeerStatus
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(withToken(context.Background(), organiser), 5*time.Second)
		resp, err := client.ListPeers(ctx, &cataloguev1.ListPeersRequest{})
		cancel()
		if err == nil && len(resp.GetPeers()) == 1 && resp.GetPeers()[0].GetCursor() >= int64(len(fake.changes)) {
			peer = resp.GetPeers()[0]
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if peer == nil {
		tl.outcome(t, "a catalogue follows a fake peer to the end of its feed", false, "the follower did not reach the end of the fake feed", "")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	list, err := client.ListServices(ctx, &cataloguev1.ListServicesRequest{PageSize: 1000, Filter: `origin_terc = "` + jarocin + `"`})
	problem := ""
	if err != nil || len(list.GetServices()) != 1 || list.GetServices()[0].GetName() != id(1) {
		problem = fmt.Sprintf("services of the peer's origin: %v (%v), want only %s", names(list.GetServices()), err, id(1))
	}
	tl.outcome(t, "the fake peer's one valid service is federated (control)", false, problem, "")
	problem = ""
	if peer.GetRejectedCount() < int64(len(garbage)-1) {
		problem = fmt.Sprintf("rejected_count %d, want at least %d", peer.GetRejectedCount(), len(garbage)-1)
	}
	tl.outcome(t, fmt.Sprintf("the follower reports the peer's refused entries (rejected_count %d)", peer.GetRejectedCount()), true, problem, "")
	for _, gb := range garbage {
		problem := ""
		if gb.name != "" {
			if _, err := client.GetService(ctx, &cataloguev1.GetServiceRequest{Name: gb.name}); status.Code(err) != codes.NotFound {
				problem = fmt.Sprintf("GetService %s: %v, want NotFound", gb.name, err)
			}
		}
		if strings.Contains(gb.what, "overwriting") {
			local, err := client.GetService(ctx, &cataloguev1.GetServiceRequest{Name: demoServiceName})
			if err != nil || local.GetDisplayName() == "Nadpisuje lokalną usługę" || local.GetOriginTerc() != rawicz {
				problem = fmt.Sprintf("the local entry was overwritten: %v %v", local, err)
			}
		}
		tl.outcome(t, "a peer's feed entry with "+gb.what+" is refused, never stored", true, problem, "")
	}
}

func names(l []*cataloguev1.Service) []string {
	var out []string
	for _, s := range l {
		out = append(out, s.GetName())
	}
	return out
}

// ---- leaks at rest and in logs ----

func owaspLeaks(t *testing.T, s *suite, w *owaspWorld, tl *tally, extra []*proc) {
	// A backup as the admin takes it.
	backup := filepath.Join(t.TempDir(), "referral.bak")
	r, err := tl.send(t, s, attempt{method: http.MethodGet, url: "http://" + s.referralAdmin + "/backup", hdr: w.admin, status: 200})
	problem := ""
	if err != nil || r.Status != http.StatusOK || len(r.Body) == 0 {
		problem = fmt.Sprintf("no backup: %v %s", err, r)
	} else if err := os.WriteFile(backup, r.Body, 0o600); err != nil {
		problem = err.Error()
	}
	tl.outcome(t, "the admin takes a backup of the referral service (control)", false, problem, "")
	if problem == "" {
		// The backup is the real data: it holds the test residents' records (their keys are their ids, which
		// are no personal data), so finding no PESEL, name or street in it means they are sealed.
		missing := ""
		for _, res := range []string{w.resident1, w.resident2, w.resident3} {
			if !strings.Contains(string(r.Body), lastID(res)) {
				missing += " " + res
			}
		}
		if missing != "" {
			missing = "the backup does not hold the test residents' records:" + missing
		}
		tl.outcome(t, fmt.Sprintf("the backup (%d bytes) holds the test residents' records (control)", len(r.Body)), false, missing, "")
		found, _, err := scanTree(filepath.Dir(backup), w.pii)
		leak := ""
		if err != nil {
			problem = err.Error()
		}
		if len(found) > 0 {
			leak = strings.Join(found, "; ")
		}
		tl.outcome(t, "the backup holds no PESEL, name or street of a test resident in the clear", true, problem, leak)
	}

	s.stop(t) // flush every log
	for _, p := range append(s.procs(), extra...) {
		out := p.output()
		var hits []string
		for _, n := range w.pii {
			if strings.Contains(out, n) {
				hits = append(hits, redact(n))
			}
		}
		leak := ""
		if len(hits) > 0 {
			leak = strings.Join(hits, ", ")
		}
		tl.outcome(t, "the logs of "+p.name+" hold no PESEL, name or street of a test resident", true, "", leak)
	}
	for _, dir := range []struct{ name, path string }{
		{"catalogue", s.dataDir},
		{"provider", flagValue(s.provider, "data-dir")},
		{"referral", flagValue(s.referral, "data-dir")},
	} {
		if dir.path == "" {
			tl.outcome(t, "the data files of "+dir.name, true, "no data directory found", "")
			continue
		}
		found, files, err := scanTree(dir.path, w.pii)
		problem, leak := "", ""
		if err != nil {
			problem = err.Error()
		} else if files == 0 {
			problem = "no files under " + dir.path
		} else if _, err := os.Stat(filepath.Join(dir.path, dir.name+".db")); err != nil {
			problem = "no " + dir.name + ".db under " + dir.path + " (the scan missed the data file)"
		}
		if len(found) > 0 {
			leak = strings.Join(found, "; ")
		}
		tl.outcome(t, fmt.Sprintf("the %d data files of the %s service hold no PESEL, name or street of a test resident in the clear", files, dir.name), true, problem, leak)
	}
}
