package e2e

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// with returns hdr plus the extra header pairs.
func with(hdr map[string]string, kv ...string) map[string]string {
	out := maps.Clone(hdr)
	if out == nil {
		out = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestPollReferralChangesThroughREST is the integrator's flow without streams: list the referrals (filtered),
// remember the list's revision, let the provider act on one (with If-Match), poll the changes after the
// revision, keep next_after_revision, poll again and get nothing twice. Along the way: ETag and 304 on the
// referral and on the list, 412 for a stale If-Match.
func TestPollReferralChangesThroughREST(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{full: true})
	coord := s.as(t, "coordinator")

	listed := s.call(t, http.MethodGet, "/v1/referrals?pageSize=500&status=REFERRAL_STATUS_REQUESTED", "", coord).wantOK(t)
	requested := objects(t, listed, "referrals")
	if len(requested) == 0 {
		t.Fatal("the demo data has no REQUESTED referral")
	}
	for _, r := range requested {
		if str(t, r, "status") != "REFERRAL_STATUS_REQUESTED" {
			t.Fatalf("the status filter let through %v", r)
		}
	}
	rev := int64Field(t, listed, "revision")
	ref := requested[0]
	name, service, provider := str(t, ref, "name"), str(t, ref, "service"), str(t, ref, "provider")
	// The other filters, over REST.
	byService := objects(t, s.call(t, http.MethodGet, "/v1/referrals?pageSize=500&service="+url.QueryEscape(service), "", coord).wantOK(t), "referrals")
	found := false
	for _, r := range byService {
		if str(t, r, "service") != service {
			t.Fatalf("the service filter let through %v", r)
		}
		found = found || str(t, r, "name") == name
	}
	if !found {
		t.Fatalf("the service filter lost %s", name)
	}
	if st := s.call(t, http.MethodGet, "/v1/referrals?responseDueBefore=1.03.2026", "", coord).wantStatus(t, http.StatusBadRequest, "INVALID_FIELDS"); !st.hasViolation("response_due_before") {
		t.Errorf("a bad due date: violations %v", st.Violations)
	}
	s.call(t, http.MethodGet, "/v1/referrals?updateTimeAfter=wczoraj", "", coord).wantStatus(t, http.StatusBadRequest, "MALFORMED_REQUEST")
	if got := objects(t, s.call(t, http.MethodGet, "/v1/referrals?updateTimeAfter=2999-01-01T00:00:00Z", "", coord).wantOK(t), "referrals"); len(got) != 0 {
		t.Errorf("referrals updated after 2999: %v", got)
	}

	// The provider's staff read the referral: ETag, then 304 while it is unchanged.
	staff := s.asProvider(t, lastID(provider))
	got := s.call(t, http.MethodGet, "/v1/"+name, "", staff)
	etag := str(t, got.wantOK(t), "etag")
	if got.Header.Get("ETag") != `"`+etag+`"` {
		t.Fatalf("ETag %q, want %q", got.Header.Get("ETag"), `"`+etag+`"`)
	}
	if nm := s.call(t, http.MethodGet, "/v1/"+name, "", with(staff, "If-None-Match", got.Header.Get("ETag"))); nm.Status != http.StatusNotModified || len(nm.Body) != 0 {
		t.Fatalf("If-None-Match of the current version: %s", nm)
	}
	// A stale If-Match is 412 and changes nothing; the current one goes through.
	s.call(t, http.MethodPost, "/v1/"+name+":receive", "{}", with(staff, "If-Match", `"r1"`)).wantStatus(t, http.StatusPreconditionFailed, "STALE_ETAG")
	received := s.call(t, http.MethodPost, "/v1/"+name+":receive", "{}", with(staff, "If-Match", got.Header.Get("ETag"))).wantOK(t)
	if str(t, received, "status") != "REFERRAL_STATUS_RECEIVED" {
		t.Fatalf("after :receive: %v", received)
	}
	s.call(t, http.MethodPost, "/v1/"+name+":accept", "{}", with(staff, "If-Match", got.Header.Get("ETag"))).wantStatus(t, http.StatusPreconditionFailed, "STALE_ETAG")
	if again := s.call(t, http.MethodGet, "/v1/"+name, "", with(staff, "If-None-Match", got.Header.Get("ETag"))); again.Status != http.StatusOK {
		t.Fatalf("If-None-Match of the old version after a change: %s", again)
	}

	// Poll the changes after the list's revision: the receipt, once.
	poll := func(hdr map[string]string, after int64) ([]map[string]any, int64) {
		t.Helper()
		var out []map[string]any
		path := fmt.Sprintf("/v1/referrals:changes?afterRevision=%d&pageSize=2", after)
		for pages := 0; pages < 100; pages++ {
			page := s.call(t, http.MethodGet, path, "", hdr).wantOK(t)
			out = append(out, objects(t, page, "changes")...)
			tok := optStr(page, "nextPageToken")
			if tok == "" {
				return out, int64Field(t, page, "nextAfterRevision")
			}
			path = "/v1/referrals:changes?pageSize=2&pageToken=" + url.QueryEscape(tok)
		}
		t.Fatal("the pages never end")
		return nil, 0
	}
	changes, cursor := poll(coord, rev)
	var mine []map[string]any
	for _, c := range changes {
		if str(t, c, "name") == name {
			mine = append(mine, c)
		}
	}
	if len(mine) != 1 || str(t, mine[0], "type") != "REFERRAL_CHANGE_TYPE_UPDATED" || str(t, mine[0], "referral", "status") != "REFERRAL_STATUS_RECEIVED" {
		t.Fatalf("changes of %s after revision %d: %v (all: %v)", name, rev, mine, changes)
	}
	if cursor <= rev {
		t.Fatalf("cursor %d did not move past %d", cursor, rev)
	}
	if more, c2 := poll(coord, cursor); len(more) != 0 || c2 != cursor {
		t.Fatalf("second poll: %v, cursor %d (was %d)", more, c2, cursor)
	}
	// The provider's staff see it too; another provider's do not.
	if theirs, _ := poll(staff, rev); len(theirs) != 1 || str(t, theirs[0], "name") != name {
		t.Fatalf("the provider polled %v", theirs)
	}
	for _, p := range objects(t, s.call(t, http.MethodGet, "/v1/providers?pageSize=50", "", nil).wantOK(t), "providers") {
		if other := str(t, p, "name"); other != provider {
			if theirs, _ := poll(s.asProvider(t, lastID(other)), rev); len(theirs) != 0 {
				t.Fatalf("provider %s polled another's referral: %v", other, theirs)
			}
			break
		}
	}

	// A list has an ETag too (a hash of the body): 304 while nothing changed.
	l1 := s.call(t, http.MethodGet, "/v1/referrals?pageSize=5", "", coord)
	l1.wantOK(t)
	if tag := l1.Header.Get("ETag"); tag == "" || s.call(t, http.MethodGet, "/v1/referrals?pageSize=5", "", with(coord, "If-None-Match", tag)).Status != http.StatusNotModified {
		t.Fatalf("list ETag %q: no 304 for it", tag)
	}
}

// TestConditionalRequestsOnTheCatalogue: anonymous reads of a service (through the public cache) revalidate
// with If-None-Match; editors update and delete with If-Match, 412 when someone else wrote first.
func TestConditionalRequestsOnTheCatalogue(t *testing.T) {
	t.Parallel()
	s := startSuite(t, suiteOptions{})
	created := s.createService(t, `{"displayName":"Klub Szachowy","areas":["AREA_CULTURE"]}`)
	name := str(t, created, "name")
	first := s.get(t, "/v1/"+name)
	tag := first.Header.Get("ETag")
	if first.Status != http.StatusOK || tag != `"`+str(t, created, "etag")+`"` {
		t.Fatalf("GET: %s ETag %q", first, tag)
	}
	for range 2 { // the second answer comes from the public cache
		if nm := s.do(t, http.MethodGet, "/v1/"+name, nil, map[string]string{"If-None-Match": tag}); nm.Status != http.StatusNotModified || len(nm.Body) != 0 {
			t.Fatalf("If-None-Match: %s", nm)
		}
	}
	editor := s.as(t, roleEditor)
	upd := s.call(t, http.MethodPatch, "/v1/"+name+"?updateMask=display_name", `{"displayName":"Klub Szachowy „Hetman”"}`, with(editor, "If-Match", tag))
	upd.wantOK(t)
	newTag := upd.Header.Get("ETag")
	if newTag == "" || newTag == tag {
		t.Fatalf("PATCH answered ETag %q (was %q)", newTag, tag)
	}
	lost := s.call(t, http.MethodPatch, "/v1/"+name+"?updateMask=display_name", `{"displayName":"Zgubiona zmiana"}`, with(editor, "If-Match", tag))
	if st := lost.wantStatus(t, http.StatusPreconditionFailed, "STALE_ETAG"); st.Code != 10 {
		t.Errorf("stale If-Match: code %d, want 10 (ABORTED) in the body", st.Code)
	}
	s.call(t, http.MethodPatch, "/v1/"+name, `{"displayName":"X","etag":"r1"}`, with(editor, "If-Match", newTag)).wantStatus(t, http.StatusBadRequest, "INVALID_FIELDS")
	s.call(t, http.MethodDelete, "/v1/"+name, "", with(editor, "If-Match", tag)).wantStatus(t, http.StatusPreconditionFailed, "STALE_ETAG")
	if !strings.Contains(string(s.get(t, "/v1/"+name).Body), "Hetman") {
		t.Fatal("a refused write changed the service")
	}
	s.call(t, http.MethodDelete, "/v1/"+name, "", with(editor, "If-Match", newTag)).wantOK(t)
	s.get(t, "/v1/"+name).wantStatus(t, http.StatusNotFound, "SERVICE_NOT_FOUND")
}
