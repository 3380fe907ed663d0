package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/plid"
)

// This file drives the provider registry and the referral service through the REST gateway of a full suite
// (suiteOptions.full), the way an integrator of docs/provider.md and docs/referral.md would.

// call sends a JSON body (none when empty) with the given headers (nil: anonymous).
func (s *suite) call(t testing.TB, method, path, body string, hdr map[string]string) httpResult {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	return s.do(t, method, path, r, hdr)
}

// jsonBody marshals v for a request body.
func jsonBody(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// objects reads a JSON array of objects at key ([] when absent).
func objects(t testing.TB, m map[string]any, key string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for i, v := range list(t, m, key) {
		o, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s[%d] is %T, want an object", key, i, v)
		}
		out = append(out, o)
	}
	return out
}

// optStr reads a top-level string field; "" when absent (proto JSON leaves out default values).
func optStr(m map[string]any, key string) string {
	v, _ := m[key].(string)
	return v
}

// mapCount reads a map<string, int32> entry of a proto JSON object (absent: 0).
func mapCount(t testing.TB, m map[string]any, mapKey, key string) int64 {
	t.Helper()
	sub, ok := m[mapKey].(map[string]any)
	if !ok {
		return 0
	}
	return int64Field(t, sub, key)
}

// lastID is the last segment of a resource name.
func lastID(name string) string { return name[strings.LastIndexByte(name, '/')+1:] }

// fictionalPESEL computes a valid-format PESEL of someone born on birth: a serial (its last digit even for a
// woman, odd for a man) and the check digit from platform/plid. The serial 9xx is unlikely among the demo's.
func fictionalPESEL(t testing.TB, birth time.Time, serial string) string {
	t.Helper()
	y, m, d := birth.Date()
	month := int(m)
	switch {
	case y >= 2000 && y < 2100:
		month += 20
	case y < 1900 || y >= 2100:
		t.Fatalf("birth year %d out of the test's range", y)
	}
	first10 := fmt.Sprintf("%02d%02d%02d%s", y%100, month, d, serial)
	c, err := plid.PESELCheckDigit(first10)
	if err != nil {
		t.Fatalf("PESEL check digit of %s: %v", first10, err)
	}
	p := first10 + string(c)
	if err := plid.ValidatePESEL(p); err != nil {
		t.Fatalf("computed PESEL %s is invalid: %v", p, err)
	}
	return p
}

// openStream opens a REST server stream (newline-delimited JSON) with the given headers and delivers its
// non-empty lines; the stream ends with ctx.
func (s *suite) openStream(ctx context.Context, t testing.TB, path string, hdr map[string]string) (<-chan string, <-chan error) {
	t.Helper()
	lines := make(chan string, 1000)
	errc := make(chan error, 1)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.baseURL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	go func() {
		defer close(lines)
		resp, err := (&http.Client{}).Do(req) // no client timeout: the stream lives as long as ctx
		if err != nil {
			errc <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b, _ := io.ReadAll(resp.Body)
			errc <- fmt.Errorf("%s answered %d: %s", path, resp.StatusCode, b)
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				lines <- line
			}
		}
		errc <- sc.Err()
	}()
	return lines, errc
}

// fitsTheTestResident says whether the referral service lets the loop's resident (a woman of 1957 living alone)
// be referred to a catalogue service without a decyzja: active, no age bound she is outside, and a target group
// she is in (seniors or all residents; none listed means everyone).
func fitsTheTestResident(svc map[string]any) bool {
	if st, _ := svc["status"].(string); st != "" && st != "SERVICE_STATUS_ACTIVE" {
		return false
	}
	if d, _ := svc["requiresDecision"].(bool); d {
		return false
	}
	now := time.Now().UTC()
	age := int64(now.Year() - 1957)
	if now.Before(time.Date(now.Year(), time.October, 23, 0, 0, 0, 0, time.UTC)) {
		age--
	}
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
	for _, g := range groups {
		if g == "TARGET_GROUP_SENIORS" || g == "TARGET_GROUP_ALL_RESIDENTS" {
			return true
		}
	}
	return len(groups) == 0
}

// watchReferralsUntil reads GET /v1/referrals:watch?afterRevision=after as hdr until an event satisfies
// match, and returns every event read (each the "result" object: revision and referral). Bounded by
// startTimeout overall, so a loaded machine does not flake while a missing event still fails.
func (s *suite) watchReferralsUntil(t testing.TB, after int64, hdr map[string]string, match func(ev map[string]any) bool) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	lines, errc := s.openStream(ctx, t, fmt.Sprintf("/v1/referrals:watch?afterRevision=%d", after), hdr)
	var events []map[string]any
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("referral watch ended before the expected event (%d events read): %v", len(events), <-errc)
			}
			var m map[string]any
			dec := json.NewDecoder(strings.NewReader(line))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("watch line is not JSON (%v): %s", err, line)
			}
			res, ok := m["result"].(map[string]any)
			if len(m) != 1 || !ok {
				t.Fatalf(`watch line is not {"result":...}: %s`, line)
			}
			events = append(events, res)
			if match(res) {
				return events
			}
		case <-ctx.Done():
			t.Fatalf("the expected referral event did not come within %s (%d events read)", startTimeout, len(events))
		}
	}
}

// TestReferralLoopThroughREST is the acceptance test of issue 5, entirely through the REST gateway: a
// coordinator records a resident, a consent, a case and a plan, a director approves the plan, the coordinator
// refers the resident to a demo provider with an agreement for a demo service, the provider's staff receive,
// accept (capacity is reserved in the provider registry), start and complete the referral with an outcome;
// statistics and the audit log show it. Another provider's staff cannot see or touch it, anonymous callers get
// 401, and the resident's PESEL appears in no process's log.
func TestReferralLoopThroughREST(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{full: true})
	coord, director, admin := s.as(t, "coordinator"), s.as(t, "director"), s.as(t, "admin")
	today := time.Now().UTC().Format(time.DateOnly)

	// Anonymous callers are refused everywhere in this flow; collected as we go and checked at the end.
	var anonymous [][3]string // method, path, body
	anon := func(method, path, body string) { anonymous = append(anonymous, [3]string{method, path, body}) }

	// ---- a provider with an agreement for a demo catalogue service, found through the public registry ----
	providers := objects(t, s.call(t, http.MethodGet, "/v1/providers?pageSize=1000", "", nil).wantOK(t), "providers")
	if len(providers) < 2 {
		t.Fatalf("the demo registry has %d providers, want several", len(providers))
	}
	activeProvider := map[string]bool{}
	for _, p := range providers {
		if optStr(p, "status") == "PROVIDER_STATUS_ACTIVE" {
			activeProvider[str(t, p, "name")] = true
		}
	}
	agreements := objects(t, s.call(t, http.MethodGet, "/v1/providers/-/agreements?pageSize=1000&filter="+
		url.QueryEscape("status = AGREEMENT_STATUS_ACTIVE AND active_on = \""+today+"\""), "", nil).wantOK(t), "agreements")
	var agreement, providerName, service string
	var before int64
	for _, a := range agreements {
		name := str(t, a, "name")
		prov := name[:strings.Index(name, "/agreements/")]
		if !activeProvider[prov] {
			continue
		}
		svc := str(t, a, "service")
		got := s.get(t, "/v1/"+svc)
		if got.Status != http.StatusOK || !fitsTheTestResident(got.jsonObject(t)) { // a demo service she may be referred to
			continue
		}
		av := s.call(t, http.MethodGet, "/v1/"+name+"/availability", "", coord).wantOK(t)
		if av["accepting"] != true || int64Field(t, av, "available") < 1 {
			continue
		}
		agreement, providerName, service, before = name, prov, svc, int64Field(t, av, "available")
		break
	}
	if agreement == "" {
		t.Fatalf("no active agreement of an active demo provider for a demo catalogue service accepts referrals; agreements: %v", agreements)
	}
	providerID := lastID(providerName)
	var otherID string
	for _, p := range providers {
		if n := str(t, p, "name"); n != providerName {
			otherID = lastID(n)
			break
		}
	}
	staff, otherStaff := s.asProvider(t, providerID), s.asProvider(t, otherID)
	t.Logf("referring to %s (%s, %d units available) for %s; other provider %s", agreement, providerName, before, service, otherID)
	anon(http.MethodGet, "/v1/"+agreement+"/availability", "")

	statsBefore := s.call(t, http.MethodGet, "/v1/statistics", "", director).wantOK(t)

	// ---- resident, consent, case, plan ----
	pesel := fictionalPESEL(t, time.Date(1957, time.October, 23, 0, 0, 0, 0, time.UTC), "9274") // a woman
	residentBody := jsonBody(t, map[string]any{
		"givenName": "Bożenna", "familyName": "Wymyślona-Testowa", "pesel": pesel,
		"phone": "+48 65 000 00 00", "email": "bozenna.e2e@example.org", "terytCode": "3022053",
		"householdSize": 1, "monthlyIncomePerPersonGrosze": 123456,
	})
	resident := s.call(t, http.MethodPost, "/v1/residents", residentBody, coord).wantOK(t)
	residentName := str(t, resident, "name")
	if !strings.HasPrefix(residentName, "residents/") {
		t.Fatalf("resident name %q", residentName)
	}
	if got := optStr(resident, "birthDate"); got != "1957-10-23" {
		t.Errorf("birthDate %q, want 1957-10-23 derived from the PESEL", got)
	}
	if got := optStr(resident, "sex"); got != "SEX_FEMALE" {
		t.Errorf("sex %q, want SEX_FEMALE derived from the PESEL", got)
	}
	anon(http.MethodPost, "/v1/residents", residentBody)
	anon(http.MethodGet, "/v1/"+residentName, "")
	anon(http.MethodGet, "/v1/residents", "")
	anon(http.MethodPost, "/v1/residents:lookup", jsonBody(t, map[string]string{"pesel": pesel}))

	// The same PESEL again is ALREADY_EXISTS naming the resident, never the PESEL.
	dup := s.call(t, http.MethodPost, "/v1/residents", residentBody, coord)
	dup.wantStatus(t, http.StatusConflict, "")
	if strings.Contains(string(dup.Body), pesel) {
		t.Errorf("the duplicate-PESEL error shows the PESEL: %s", dup)
	}
	// A PESEL with a wrong check digit is refused naming the field, without echoing the number.
	badPESEL := pesel[:10] + string('0'+(pesel[10]-'0'+1)%10)
	badBody := strings.Replace(residentBody, pesel, badPESEL, 1)
	bad := s.call(t, http.MethodPost, "/v1/residents", badBody, coord)
	if st := bad.wantStatus(t, http.StatusBadRequest, ""); !st.hasViolation("resident.pesel") {
		t.Errorf("bad PESEL: violations %v, want resident.pesel: %s", st.Violations, bad)
	}
	if strings.Contains(string(bad.Body), badPESEL) {
		t.Errorf("the bad-PESEL error echoes the number: %s", bad)
	}
	// An unknown PESEL is NOT_FOUND, again without echoing it.
	unknownPESEL := fictionalPESEL(t, time.Date(1961, time.February, 2, 0, 0, 0, 0, time.UTC), "9273")
	unknown := s.call(t, http.MethodPost, "/v1/residents:lookup", jsonBody(t, map[string]string{"pesel": unknownPESEL}), coord)
	unknown.wantStatus(t, http.StatusNotFound, "")
	if strings.Contains(string(unknown.Body), unknownPESEL) {
		t.Errorf("the lookup error echoes the PESEL: %s", unknown)
	}
	// The keyed-hash lookup finds her; the PESEL travels in the body.
	found := s.call(t, http.MethodPost, "/v1/residents:lookup", jsonBody(t, map[string]string{"pesel": pesel}), coord).wantOK(t)
	if str(t, found, "name") != residentName {
		t.Errorf("lookup by PESEL found %v, want %s", found["name"], residentName)
	}

	consentBody := jsonBody(t, map[string]any{
		"basis": "LEGAL_BASIS_CONSENT", "purpose": "skierowanie do usług społecznych (test e2e)",
		"scope": []string{"DATA_SCOPE_NAME", "DATA_SCOPE_CONTACT"}, "givenDate": today,
	})
	consent := s.call(t, http.MethodPost, "/v1/"+residentName+"/consents", consentBody, coord).wantOK(t)
	consentName := str(t, consent, "name")
	if !strings.HasPrefix(consentName, residentName+"/consents/") {
		t.Fatalf("consent name %q is not under %s", consentName, residentName)
	}
	anon(http.MethodPost, "/v1/"+residentName+"/consents", consentBody)
	anon(http.MethodGet, "/v1/"+residentName+"/consents", "")

	const docRef = "CUS.ZO.0001.977.2026"
	caseBody := jsonBody(t, map[string]any{
		"resident": residentName, "documentReference": docRef,
		"needs": []map[string]any{{"area": "AREA_SOCIAL_ASSISTANCE", "description": "wsparcie w codziennych czynnościach"}},
	})
	caseObj := s.call(t, http.MethodPost, "/v1/cases", caseBody, coord).wantOK(t)
	caseName := str(t, caseObj, "name")
	if got := optStr(caseObj, "documentReference"); got != docRef {
		t.Errorf("documentReference %q, want %q", got, docRef)
	}
	if got := optStr(caseObj, "status"); got != "CASE_STATUS_OPEN" {
		t.Errorf("a new case's status %q, want CASE_STATUS_OPEN", got)
	}
	anon(http.MethodPost, "/v1/cases", caseBody)
	anon(http.MethodGet, "/v1/"+caseName, "")

	planBody := jsonBody(t, map[string]any{
		"goals": []string{"samodzielne funkcjonowanie w domu"}, "plannedServices": []string{service},
		"startDate": today, "reviewDates": []string{time.Now().UTC().AddDate(0, 3, 0).Format(time.DateOnly)},
	})
	plan := s.call(t, http.MethodPost, "/v1/"+caseName+"/plans", planBody, coord).wantOK(t)
	planName := str(t, plan, "name")
	if got := optStr(plan, "status"); got != "PLAN_STATUS_DRAFT" {
		t.Errorf("a new plan's status %q, want PLAN_STATUS_DRAFT", got)
	}
	if optStr(plan, "dueDate") == "" {
		t.Errorf("a draft plan has no dueDate: %v", plan)
	}
	// A coordinator may not approve; a director may.
	s.call(t, http.MethodPost, "/v1/"+planName+":approve", `{}`, coord).wantStatus(t, http.StatusForbidden, "")
	approved := s.call(t, http.MethodPost, "/v1/"+planName+":approve", jsonBody(t, map[string]string{"etag": str(t, plan, "etag")}), director).wantOK(t)
	if got := optStr(approved, "status"); got != "PLAN_STATUS_APPROVED" {
		t.Errorf("status after approval %q, want PLAN_STATUS_APPROVED", got)
	}
	if optStr(approved, "approver") == "" || optStr(approved, "approveTime") == "" {
		t.Errorf("an approved plan names no approver or time: %v", approved)
	}
	anon(http.MethodPost, "/v1/"+caseName+"/plans", planBody)
	anon(http.MethodPost, "/v1/"+planName+":approve", `{}`)
	anon(http.MethodGet, "/v1/"+planName, "")

	// ---- the referral: drafted and sent by the coordinator ----
	referralBody := jsonBody(t, map[string]any{
		"resident": residentName, "case": caseName, "consent": consentName, "service": service,
		"provider": providerName, "agreement": agreement, "units": 1, "priority": "PRIORITY_URGENT",
		"status": "REFERRAL_STATUS_DRAFT", "note": "Proszę o kontakt telefoniczny przed pierwszą wizytą.",
	})
	draft := s.call(t, http.MethodPost, "/v1/referrals", referralBody, coord).wantOK(t)
	ref := str(t, draft, "name")
	if got := optStr(draft, "status"); got != "REFERRAL_STATUS_DRAFT" {
		t.Fatalf("created referral status %q, want REFERRAL_STATUS_DRAFT", got)
	}
	if _, ok := draft["fee"].(map[string]any); !ok {
		t.Errorf("a created referral carries no fee snapshot: %v", draft)
	}
	anon(http.MethodPost, "/v1/referrals", referralBody)
	// Provider staff never see drafts, not even their own provider's.
	s.call(t, http.MethodGet, "/v1/"+ref, "", staff).wantStatus(t, http.StatusNotFound, "")

	// Watching from 0 starts at the head and replays nothing: list first, then watch from the list's revision.
	watchFrom := int64Field(t, s.call(t, http.MethodGet, "/v1/referrals?pageSize=1", "", staff).wantOK(t), "revision")
	if watchFrom == 0 {
		t.Fatal("the referral list carries no revision to watch from")
	}
	sent := s.call(t, http.MethodPost, "/v1/"+ref+":send", jsonBody(t, map[string]string{"etag": str(t, draft, "etag")}), coord).wantOK(t)
	if got := optStr(sent, "status"); got != "REFERRAL_STATUS_REQUESTED" {
		t.Fatalf("status after send %q, want REFERRAL_STATUS_REQUESTED", got)
	}

	// ---- the provider's staff: list and watch their referrals ----
	mine := objects(t, s.call(t, http.MethodGet, "/v1/referrals?pageSize=500", "", staff).wantOK(t), "referrals")
	var seen map[string]any
	for _, r := range mine {
		if p := optStr(r, "provider"); p != providerName {
			t.Errorf("provider staff of %s listed a referral of %s: %s", providerName, p, optStr(r, "name"))
		}
		if optStr(r, "status") == "REFERRAL_STATUS_DRAFT" {
			t.Errorf("provider staff listed a draft: %s", optStr(r, "name"))
		}
		if optStr(r, "name") == ref {
			seen = r
		}
	}
	if seen == nil {
		t.Fatalf("provider staff's list of %d referrals lacks %s", len(mine), ref)
	}
	if sum, ok := seen["residentSummary"].(map[string]any); !ok || optStr(sum, "givenName") != "Bożenna" || optStr(sum, "phone") == "" {
		t.Errorf("the provider sees no name and contact of the resident (consent scope NAME, CONTACT): %v", seen["residentSummary"])
	}
	// The provider sees the minimum: no PESEL, birth date, income or household behind the fee.
	providerView := s.call(t, http.MethodGet, "/v1/"+ref, "", staff)
	providerView.wantOK(t)
	for _, private := range []string{pesel, "1957-10-23", "123456", "householdSize", "incomePerPersonGrosze"} {
		if strings.Contains(string(providerView.Body), private) || strings.Contains(string(s.call(t, http.MethodGet, "/v1/referrals?pageSize=500", "", staff).Body), private) {
			t.Errorf("provider staff read %q on the referral: %s", private, providerView)
		}
	}
	events := s.watchReferralsUntil(t, watchFrom, staff, func(ev map[string]any) bool {
		r, _ := ev["referral"].(map[string]any)
		return r != nil && optStr(r, "name") == ref && optStr(r, "status") == "REFERRAL_STATUS_REQUESTED"
	})
	var lastRev int64
	for _, ev := range events {
		rev := int64Field(t, ev, "revision")
		if ev["heartbeat"] == true {
			// A heartbeat carries the revision reached: never behind an event already sent.
			if rev < lastRev {
				t.Errorf("heartbeat at %d after an event at %d", rev, lastRev)
			}
			lastRev = rev
			continue
		}
		if rev <= lastRev {
			t.Errorf("watch revisions not increasing: %d after %d", rev, lastRev)
		}
		lastRev = rev
		r, _ := ev["referral"].(map[string]any)
		if r == nil || optStr(r, "provider") != providerName {
			t.Errorf("provider staff of %s watched an event of another provider: %v", providerName, ev)
		}
		if r != nil && optStr(r, "status") == "REFERRAL_STATUS_DRAFT" {
			t.Errorf("provider staff watched a draft: %v", ev)
		}
		if b, _ := json.Marshal(ev); strings.Contains(string(b), "incomePerPersonGrosze") || strings.Contains(string(b), pesel) {
			t.Errorf("provider staff watched the resident's income or PESEL: %s", b)
		}
	}
	anon(http.MethodGet, "/v1/referrals", "")
	anon(http.MethodGet, "/v1/"+ref, "")

	// ---- another provider's staff: NOT_FOUND exactly as if the referral did not exist ----
	s.call(t, http.MethodGet, "/v1/"+ref, "", otherStaff).wantStatus(t, http.StatusNotFound, "")
	for _, r := range objects(t, s.call(t, http.MethodGet, "/v1/referrals?pageSize=500", "", otherStaff).wantOK(t), "referrals") {
		if optStr(r, "name") == ref || optStr(r, "provider") != "providers/"+otherID {
			t.Errorf("staff of providers/%s listed %s of %s", otherID, optStr(r, "name"), optStr(r, "provider"))
		}
	}
	missing := "referrals/0194c050-e2e0-7000-8000-0000000000aa"
	for verb, body := range map[string]string{
		"receive": `{}`, "accept": `{}`, "reject": `{"reason":"nie nasz"}`, "start": `{}`,
		"complete": `{"outcome":{"code":"OUTCOME_CODE_GOT_HELP"}}`,
	} {
		got := s.call(t, http.MethodPost, "/v1/"+ref+":"+verb, body, otherStaff)
		got.wantStatus(t, http.StatusNotFound, "")
		absent := s.call(t, http.MethodPost, "/v1/"+missing+":"+verb, body, otherStaff)
		if absent.Status != http.StatusNotFound || absent.status(t).Reason != got.status(t).Reason {
			t.Errorf("another provider's referral must answer exactly like a missing one: %s vs %s", got, absent)
		}
	}

	// ---- receive, accept (capacity reserved), start, complete ----
	received := s.call(t, http.MethodPost, "/v1/"+ref+":receive", `{}`, staff).wantOK(t)
	if got := optStr(received, "status"); got != "REFERRAL_STATUS_RECEIVED" {
		t.Fatalf("status after receive %q", got)
	}
	// The requester may not accept on the provider's behalf.
	s.call(t, http.MethodPost, "/v1/"+ref+":accept", `{}`, coord).wantStatus(t, http.StatusForbidden, "")
	accepted := s.call(t, http.MethodPost, "/v1/"+ref+":accept", jsonBody(t, map[string]string{"etag": str(t, received, "etag")}), staff).wantOK(t)
	if got := optStr(accepted, "status"); got != "REFERRAL_STATUS_ACCEPTED" {
		t.Fatalf("status after accept %q", got)
	}
	availability := func(hdr map[string]string) int64 {
		return int64Field(t, s.call(t, http.MethodGet, "/v1/"+agreement+"/availability", "", hdr).wantOK(t), "available")
	}
	if got := availability(staff); got != before-1 {
		t.Errorf("available units after accepting a 1-unit referral: %d, want %d", got, before-1)
	}
	if got := availability(coord); got != before-1 {
		t.Errorf("available units (as the coordinator) after accepting: %d, want %d", got, before-1)
	}
	reservations := objects(t, s.call(t, http.MethodGet, "/v1/"+agreement+"/reservations", "", staff).wantOK(t), "reservations")
	if !slices.ContainsFunc(reservations, func(r map[string]any) bool { return optStr(r, "referralId") == lastID(ref) }) {
		t.Errorf("the agreement's reservations %v hold nothing for %s", reservations, ref)
	}
	// Another provider's staff do not see this agreement's availability.
	s.call(t, http.MethodGet, "/v1/"+agreement+"/availability", "", otherStaff).wantStatus(t, http.StatusNotFound, "")

	started := s.call(t, http.MethodPost, "/v1/"+ref+":start", `{}`, staff).wantOK(t)
	if got := optStr(started, "status"); got != "REFERRAL_STATUS_IN_PROGRESS" {
		t.Fatalf("status after start %q", got)
	}
	// Completing needs an outcome.
	s.call(t, http.MethodPost, "/v1/"+ref+":complete", `{}`, staff).wantStatus(t, http.StatusBadRequest, "")
	completed := s.call(t, http.MethodPost, "/v1/"+ref+":complete",
		`{"outcome":{"code":"OUTCOME_CODE_GOT_HELP","note":"Usługa zrealizowana w całości."}}`, staff).wantOK(t)
	if got := optStr(completed, "status"); got != "REFERRAL_STATUS_COMPLETED" {
		t.Fatalf("status after complete %q", got)
	}
	if oc, _ := completed["outcome"].(map[string]any); oc == nil || optStr(oc, "code") != "OUTCOME_CODE_GOT_HELP" {
		t.Errorf("completed referral outcome %v", completed["outcome"])
	}
	var path []string
	for _, h := range objects(t, completed, "history") {
		path = append(path, strings.TrimPrefix(optStr(h, "to"), "REFERRAL_STATUS_"))
	}
	if want := []string{"DRAFT", "REQUESTED", "RECEIVED", "ACCEPTED", "IN_PROGRESS", "COMPLETED"}; !slices.Equal(path, want) {
		t.Errorf("history %v, want %v", path, want)
	}
	// A terminal status releases the capacity (possibly retried in the background: poll).
	eventually(t, "the capacity released after completion", func() bool { return availability(coord) == before })
	for _, verb := range []string{"receive", "accept", "start", "complete"} {
		anon(http.MethodPost, "/v1/"+ref+":"+verb, `{}`)
	}
	anon(http.MethodGet, "/v1/referrals:watch?afterRevision=0", "")

	// ---- statistics (no personal data) ----
	stats := s.call(t, http.MethodGet, "/v1/statistics", "", director)
	statsObj := stats.wantOK(t)
	if strings.Contains(string(stats.Body), pesel) || strings.Contains(string(stats.Body), "Wymyślona") {
		t.Errorf("statistics carry personal data: %s", stats)
	}
	for _, c := range []struct{ mapKey, key string }{
		{"byStatus", "REFERRAL_STATUS_COMPLETED"},
		{"byProvider", providerName},
		{"byOutcome", "OUTCOME_CODE_GOT_HELP"},
	} {
		if got, was := mapCount(t, statsObj, c.mapKey, c.key), mapCount(t, statsBefore, c.mapKey, c.key); got != was+1 {
			t.Errorf("statistics %s[%s] = %d, want %d (one more than before the flow)", c.mapKey, c.key, got, was+1)
		}
	}
	if got, was := int64Field(t, statsObj, "total"), int64Field(t, statsBefore, "total"); got != was+1 {
		t.Errorf("statistics total %d, want %d", got, was+1)
	}
	anon(http.MethodGet, "/v1/statistics", "")

	// ---- the audit log ----
	auditOf := func(resource string) []map[string]any {
		var all []map[string]any
		tok := ""
		for {
			q := "/v1/auditEntries?pageSize=1000&resource=" + url.QueryEscape(resource)
			if tok != "" {
				q += "&pageToken=" + url.QueryEscape(tok)
			}
			page := s.call(t, http.MethodGet, q, "", admin)
			if strings.Contains(string(page.Body), pesel) {
				t.Errorf("the audit log shows the PESEL: %s", page)
			}
			m := page.wantOK(t)
			all = append(all, objects(t, m, "entries")...)
			if tok = optStr(m, "nextPageToken"); tok == "" {
				return all
			}
		}
	}
	wantAudit := func(resource string, actions ...string) {
		t.Helper()
		entries := auditOf(resource)
		for _, a := range actions {
			if !slices.ContainsFunc(entries, func(e map[string]any) bool {
				return optStr(e, "action") == a && optStr(e, "decision") == "AUDIT_DECISION_ALLOWED"
			}) {
				t.Errorf("no allowed %s entry about %s in the audit log (%d entries)", a, resource, len(entries))
			}
		}
	}
	wantAudit(residentName, "CreateResident", "LookupResident")
	wantAudit(caseName, "CreateCase")
	wantAudit(planName, "CreatePlan", "ApprovePlan")
	wantAudit(ref, "CreateReferral", "SendReferral", "ReceiveReferral", "AcceptReferral", "StartReferral", "CompleteReferral")
	if !slices.ContainsFunc(auditOf(ref), func(e map[string]any) bool {
		return optStr(e, "decision") == "AUDIT_DECISION_DENIED" && strings.Contains(optStr(e, "role"), "provider")
	}) {
		t.Errorf("the other provider's refused attempts on %s are not in the audit log as denials", ref)
	}
	verify := s.call(t, http.MethodPost, "/v1/auditEntries:verify", `{}`, admin).wantOK(t)
	if verify["ok"] != true || int64Field(t, verify, "entries") == 0 || int64Field(t, verify, "firstBrokenSequence") != 0 {
		t.Errorf("audit chain verification: %v", verify)
	}
	// Only the admin reads the audit log.
	s.call(t, http.MethodGet, "/v1/auditEntries", "", director).wantStatus(t, http.StatusForbidden, "")
	anon(http.MethodGet, "/v1/auditEntries", "")
	anon(http.MethodPost, "/v1/auditEntries:verify", `{}`)

	// ---- anonymous: 401 everywhere ----
	for _, a := range anonymous {
		got := s.call(t, a[0], a[1], a[2], nil)
		if got.Status != http.StatusUnauthorized {
			t.Errorf("anonymous %s %s: %d, want 401: %s", a[0], a[1], got.Status, got)
			continue
		}
		got.status(t)
	}

	// ---- the PESEL never appears in any process's log ----
	s.stop(t) // flush every log
	for _, p := range s.procs() {
		for _, p2 := range []string{pesel, badPESEL, unknownPESEL} {
			if out := p.output(); strings.Contains(out, p2) {
				t.Errorf("%s logged the PESEL %s", p.name, p2)
			}
		}
	}
}
