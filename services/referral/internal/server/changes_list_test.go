package server_test

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// poll reads every page of the feed after a revision and returns the changes and the cursor to keep.
func poll(t *testing.T, h *harness, ctx context.Context, after int64, size int32) ([]*referralv1.ReferralChange, int64) {
	t.Helper()
	var out []*referralv1.ReferralChange
	req := &referralv1.ListReferralChangesRequest{AfterRevision: after, PageSize: size}
	for pages := 0; ; pages++ {
		resp, err := h.client.ListReferralChanges(ctx, req)
		if err != nil {
			t.Fatalf("ListReferralChanges: %v", err)
		}
		if len(resp.GetChanges()) > int(size) || pages > 100 {
			t.Fatalf("page of %d changes for a page size of %d (page %d)", len(resp.GetChanges()), size, pages)
		}
		out = append(out, resp.GetChanges()...)
		if resp.GetNextPageToken() == "" {
			return out, resp.GetNextAfterRevision()
		}
		req = &referralv1.ListReferralChangesRequest{PageToken: resp.GetNextPageToken(), PageSize: size}
	}
}

func namesOf(cs []*referralv1.ReferralChange) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.GetName()
	}
	return out
}

// The flow of a client without streams: list, keep the list's revision, poll the changes after it page by
// page, keep next_after_revision, poll again: every change once, in order, nothing twice.
func TestListReferralChangesPagesAndPolls(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "800808", 1122), 0, 1)
	old := h.refer(t, res, con, kase, 0)
	coord := h.coord(t)
	list, err := h.client.ListReferrals(coord, &referralv1.ListReferralsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var made []string
	for range 3 {
		made = append(made, h.refer(t, res, con, kase, 0).GetName())
	}
	got, cursor := poll(t, h, coord, list.GetRevision(), 2)
	if !slices.Equal(namesOf(got), made) {
		t.Fatalf("changes after the list: %v, want %v (and not %s)", namesOf(got), made, old.GetName())
	}
	for i, c := range got {
		if c.GetType() != referralv1.ReferralChangeType_REFERRAL_CHANGE_TYPE_CREATED || c.GetReferral().GetName() != c.GetName() ||
			c.GetReferral().GetEtag() == "" || (i > 0 && c.GetRevision() <= got[i-1].GetRevision()) {
			t.Fatalf("change %d: %v", i, c)
		}
	}
	if cursor != h.store.Revision() {
		t.Fatalf("cursor %d, head %d", cursor, h.store.Revision())
	}
	// Caught up: an empty page, the cursor unchanged.
	if again, c2 := poll(t, h, coord, cursor, 2); len(again) != 0 || c2 != cursor {
		t.Fatalf("poll when caught up: %v, cursor %d (was %d)", namesOf(again), c2, cursor)
	}
	// A status change comes as an update, with the referral as it is now.
	if _, err := h.client.ReceiveReferral(h.prov(t), &referralv1.ReceiveReferralRequest{Name: made[1]}); err != nil {
		t.Fatal(err)
	}
	upd, c3 := poll(t, h, coord, cursor, 2)
	if len(upd) != 1 || upd[0].GetName() != made[1] || upd[0].GetType() != referralv1.ReferralChangeType_REFERRAL_CHANGE_TYPE_UPDATED ||
		upd[0].GetReferral().GetStatus() != referralv1.ReferralStatus_REFERRAL_STATUS_RECEIVED || c3 <= cursor {
		t.Fatalf("after a transition: %v, cursor %d", upd, c3)
	}
	// From 0 the whole feed, the first referral included.
	if all, _ := poll(t, h, coord, 0, 1000); len(all) != 5 || all[0].GetName() != old.GetName() {
		t.Fatalf("whole feed: %v", namesOf(all))
	}
}

func TestListReferralChangesRefusesBadCursors(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "800808", 1122), 0, 1)
	h.refer(t, res, con, kase, 0)
	coord := h.coord(t)
	for _, c := range []struct {
		name   string
		req    *referralv1.ListReferralChangesRequest
		code   codes.Code
		reason string
	}{
		{"negative revision", &referralv1.ListReferralChangesRequest{AfterRevision: -1}, codes.InvalidArgument, "INVALID_FIELDS"},
		{"negative page size", &referralv1.ListReferralChangesRequest{PageSize: -1}, codes.InvalidArgument, "INVALID_FIELDS"},
		{"revision from the future", &referralv1.ListReferralChangesRequest{AfterRevision: h.store.Revision() + 100}, codes.OutOfRange, "REVISION_IN_FUTURE"},
		{"hand-made token", &referralv1.ListReferralChangesRequest{PageToken: "eyJvIjo1fQ"}, codes.InvalidArgument, "INVALID_PAGE_TOKEN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.client.ListReferralChanges(coord, c.req)
			if status.Code(err) != c.code || errReason(err) != c.reason {
				t.Fatalf("got %v, want %v %s", err, c.code, c.reason)
			}
		})
	}
}

// Provider staff poll exactly what they would watch: referrals addressed to their provider, never drafts; the
// cursor still moves past the others'. Each page that discloses referrals is audited naming them; an empty
// poll writes nothing.
func TestListReferralChangesShowsProvidersOnlyTheirs(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "800808", 1122), 150000, 1)
	start := h.store.Revision()
	toA := h.refer(t, res, con, kase, 0)
	draftA := h.refer(t, res, con, kase, referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT)
	toB, err := h.client.CreateReferral(h.coord(t), &referralv1.CreateReferralRequest{Referral: &referralv1.Referral{
		Resident: res, Consent: con, Case: kase, Service: serviceName, Provider: "providers/" + providerB, Agreement: agreementOfB}})
	if err != nil {
		t.Fatal(err)
	}
	provA := h.prov(t)
	provB := h.as(t, auth.RoleProvider, providerB)
	gotA, cursorA := poll(t, h, provA, start, 1)
	if !slices.Equal(namesOf(gotA), []string{toA.GetName()}) || cursorA != h.store.Revision() {
		t.Fatalf("provider A: %v cursor %d (head %d), want only %s (not the draft %s)", namesOf(gotA), cursorA, h.store.Revision(), toA.GetName(), draftA.GetName())
	}
	if gotA[0].GetReferral().GetFee().GetIncomePerPersonGrosze() != 0 || gotA[0].GetReferral().GetResidentSummary() != nil {
		t.Fatalf("provider A sees the income or the summary: %v", gotA[0].GetReferral())
	}
	gotB, _ := poll(t, h, provB, start, 10)
	if !slices.Equal(namesOf(gotB), []string{toB.GetName()}) {
		t.Fatalf("provider B: %v, want %s", namesOf(gotB), toB.GetName())
	}
	gotCoord, _ := poll(t, h, h.coord(t), start, 10)
	if len(gotCoord) != 3 || gotCoord[0].GetReferral().GetFee().GetIncomePerPersonGrosze() == 0 {
		t.Fatalf("coordinator: %v, want all three, with the income the fee was computed from", gotCoord)
	}
	var disclosed [][]string
	for _, e := range entriesOf(t, h, "ListReferralChanges") {
		disclosed = append(disclosed, e.GetDisclosed())
		if e.GetResource() != "referrals" {
			t.Errorf("entry about %q", e.GetResource())
		}
	}
	// Provider A (one page), provider B, the coordinator.
	want := [][]string{{toA.GetName()}, {toB.GetName()}, {toA.GetName(), draftA.GetName(), toB.GetName()}}
	if !slices.EqualFunc(disclosed, want, slices.Equal[[]string]) {
		t.Fatalf("audit entries disclosed %v, want %v", disclosed, want)
	}
	if again, _ := poll(t, h, provA, cursorA, 10); len(again) != 0 || len(entriesOf(t, h, "ListReferralChanges")) != 3 {
		t.Fatal("an empty poll was audited or returned changes")
	}
}

// A cursor older than the change retention answers like the catalogue's feed: OUT_OF_RANGE CHANGES_COMPACTED
// naming the compaction point; a list's revision after it is served.
func TestListReferralChangesBelowTheCompactionPoint(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "800808", 1122), 0, 1)
	h.refer(t, res, con, kase, 0)
	point := h.store.Revision()
	later := h.refer(t, res, con, kase, 0)
	if _, err := h.store.CompactChanges(context.Background(), point); err != nil {
		t.Fatal(err)
	}
	_, err := h.client.ListReferralChanges(h.coord(t), &referralv1.ListReferralChangesRequest{AfterRevision: 1})
	if status.Code(err) != codes.OutOfRange || errReason(err) != "CHANGES_COMPACTED" {
		t.Fatalf("cursor below the point: %v", err)
	}
	var meta map[string]string
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			meta = ei.GetMetadata()
		}
	}
	if meta["compacted_revision"] != strconv.FormatInt(point, 10) {
		t.Fatalf("metadata %v, want compacted_revision %d", meta, point)
	}
	list, err := h.client.ListReferrals(h.coord(t), &referralv1.ListReferralsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := poll(t, h, h.coord(t), point, 10); !slices.Equal(namesOf(got), []string{later.GetName()}) {
		t.Fatalf("from the point: %v", namesOf(got))
	}
	if got, _ := poll(t, h, h.coord(t), list.GetRevision(), 10); len(got) != 0 {
		t.Fatalf("from the list's revision: %v", namesOf(got))
	}
}

// ListReferrals filters by status, service, provider, due date and update time; a bad value is refused naming
// its field.
func TestListReferralsFilters(t *testing.T) {
	h := start(t)
	res, con, kase := h.seed(t, pesel(t, "800808", 1122), 0, 1)
	res2, con2, kase2 := h.seed(t, pesel(t, "750101", 3344), 0, 1)
	coord := h.coord(t)
	mk := func(resident, consent, kase, due string, st referralv1.ReferralStatus) string {
		r, err := h.client.CreateReferral(coord, &referralv1.CreateReferralRequest{Referral: &referralv1.Referral{
			Resident: resident, Consent: consent, Case: kase, Service: serviceName, Provider: "providers/" + providerA, Agreement: agreementName,
			Status: st, ResponseDueDate: due}})
		if err != nil {
			t.Fatal(err)
		}
		return r.GetName()
	}
	early := mk(res, con, kase, "2026-03-01", 0)
	late := mk(res, con, kase, "2026-09-01", 0)
	draft := mk(res2, con2, kase2, "2026-04-01", referralv1.ReferralStatus_REFERRAL_STATUS_DRAFT)
	toB, err := h.client.CreateReferral(coord, &referralv1.CreateReferralRequest{Referral: &referralv1.Referral{
		Resident: res2, Consent: con2, Case: kase2, Service: serviceName, Provider: "providers/" + providerB, Agreement: agreementOfB, ResponseDueDate: "2026-05-01"}})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // update times must differ from the creations' (a clock of ms precision at worst)
	mark := timestamppb.Now()
	time.Sleep(10 * time.Millisecond)
	if _, err := h.client.ReceiveReferral(h.prov(t), &referralv1.ReceiveReferralRequest{Name: late}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		req  *referralv1.ListReferralsRequest
		ctx  context.Context
		want []string // newest first
	}{
		{"no filter", &referralv1.ListReferralsRequest{}, coord, []string{toB.GetName(), draft, late, early}},
		{"status", &referralv1.ListReferralsRequest{Status: referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED}, coord, []string{toB.GetName(), early}},
		{"service", &referralv1.ListReferralsRequest{Service: serviceName}, coord, []string{toB.GetName(), draft, late, early}},
		{"another service", &referralv1.ListReferralsRequest{Service: "services/0194c050-3022-7053-8000-00000000dead"}, coord, nil},
		{"provider", &referralv1.ListReferralsRequest{Provider: "providers/" + providerB}, coord, []string{toB.GetName()}},
		{"due before", &referralv1.ListReferralsRequest{ResponseDueBefore: "2026-04-15"}, coord, []string{draft, early}},
		{"due before and status", &referralv1.ListReferralsRequest{ResponseDueBefore: "2026-06-01", Status: referralv1.ReferralStatus_REFERRAL_STATUS_REQUESTED}, coord, []string{toB.GetName(), early}},
		{"updated after", &referralv1.ListReferralsRequest{UpdateTimeAfter: mark}, coord, []string{late}},
		{"provider staff, through the index", &referralv1.ListReferralsRequest{}, h.prov(t), []string{late, early}},
		{"provider staff asking for another provider", &referralv1.ListReferralsRequest{Provider: "providers/" + providerB}, h.prov(t), nil},
		{"provider staff, due before", &referralv1.ListReferralsRequest{ResponseDueBefore: "2026-04-15"}, h.prov(t), []string{early}},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, err := h.client.ListReferrals(c.ctx, c.req)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, r := range resp.GetReferrals() {
				got = append(got, r.GetName())
			}
			if !slices.Equal(got, c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
		})
	}
	for _, c := range []struct {
		name, field string
		req         *referralv1.ListReferralsRequest
	}{
		{"service not a name", "service", &referralv1.ListReferralsRequest{Service: "opieka"}},
		{"service of another kind", "service", &referralv1.ListReferralsRequest{Service: "providers/" + providerA}},
		{"provider not a name", "provider", &referralv1.ListReferralsRequest{Provider: "providers/abc"}},
		{"resident not a name", "resident", &referralv1.ListReferralsRequest{Resident: "Anna Testowa"}},
		{"due date not a date", "response_due_before", &referralv1.ListReferralsRequest{ResponseDueBefore: "2026-13-01"}},
		{"due date in another format", "response_due_before", &referralv1.ListReferralsRequest{ResponseDueBefore: "01.03.2026"}},
		{"time out of range", "update_time_after", &referralv1.ListReferralsRequest{UpdateTimeAfter: &timestamppb.Timestamp{Seconds: 1, Nanos: -5}}},
		{"unknown status", "status", &referralv1.ListReferralsRequest{Status: 99}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := h.client.ListReferrals(coord, c.req)
			if status.Code(err) != codes.InvalidArgument || !slices.Contains(violationFields(err), c.field) {
				t.Fatalf("got %v (fields %v), want INVALID_ARGUMENT naming %s", err, violationFields(err), c.field)
			}
		})
	}
}

func violationFields(err error) []string {
	var out []string
	for _, d := range status.Convert(err).Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}
