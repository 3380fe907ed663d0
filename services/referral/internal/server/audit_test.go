package server_test

import (
	"context"
	"errors"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/cus-suite/cus/platform/auth"
	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/server"
	"github.com/cus-suite/cus/services/referral/internal/store"
)

// errReason is the ErrorInfo reason of a gRPC error.
func errReason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetReason()
		}
	}
	return ""
}

func errMetadata(err error, key string) string {
	for _, d := range status.Convert(err).Details() {
		if ei, ok := d.(*errdetails.ErrorInfo); ok {
			return ei.GetMetadata()[key]
		}
	}
	return ""
}

// auditLog reads the whole audit log of a store (the service may be stopped).
func auditLog(t testing.TB, st *store.Store) []*referralv1.AuditEntry {
	t.Helper()
	var all []*referralv1.AuditEntry
	var after int64
	for {
		list, last, more, err := st.ListAudit(after, 1000, "")
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, list...)
		if !more {
			return all
		}
		after = last
	}
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// Finding 1: 1,200 anonymous GET /v1/residents/<6,000 characters> grew referral.db from 128 KB to 16 MB, each
// refusal written and synced into the audit chain with the raw name copied in. Anonymous and invalid-token
// refusals are now counted and summarised: 10,000 of them grow the file by less than 64 KB.
func TestAnonymousRefusalsAreSummarisedNotWrittenOneByOne(t *testing.T) {
	enginetest.BboltOnly(t, "measures the growth of the data file")
	h := start(t)
	long := "residents/" + strings.Repeat("x", 6000)
	before := fileSize(t, h.store.Path())
	const anonymous, invalid = 10000, 200
	var wg sync.WaitGroup
	calls := make(chan context.Context)
	for range 16 {
		wg.Go(func() {
			for ctx := range calls {
				if _, err := h.client.GetResident(ctx, &referralv1.GetResidentRequest{Name: long}); status.Code(err) != codes.Unauthenticated {
					t.Errorf("refused call: %v", err)
				}
			}
		})
	}
	bg, cancel := context.WithTimeout(context.Background(), 5*60e9)
	defer cancel()
	for range anonymous {
		calls <- bg
	}
	bad := metadata.AppendToOutgoingContext(bg, "authorization", "Bearer not-a-token")
	for range invalid {
		calls <- bad
	}
	close(calls)
	wg.Wait()
	h.stop() // the workers write the last summary at shutdown
	grown := fileSize(t, h.store.Path()) - before
	t.Logf("%d refused calls grew the data file by %d bytes (limit 64 KB)", anonymous+invalid, grown)
	if grown >= 64<<10 {
		t.Fatalf("%d refused calls grew the data file by %d bytes (limit 64 KB)", anonymous+invalid, grown)
	}
	st, err := store.Open(h.store.Path(), testKey, nil, store.WithDataKeys(testRing))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	counted := map[string]int64{}
	for _, e := range auditLog(t, st) {
		if strings.Contains(e.GetResource(), "xxxx") {
			t.Fatalf("the raw name of a refused request is in the audit log: entry %d", e.GetSequence())
		}
		if e.GetDecision() == referralv1.AuditDecision_AUDIT_DECISION_DENIED {
			counted[e.GetSubject()+" "+e.GetAction()] += max(e.GetCount(), 1)
		}
	}
	if counted["anonymous GetResident"] != anonymous || counted["invalid-token GetResident"] != invalid {
		t.Fatalf("summaries count %v, want %d anonymous and %d invalid-token refusals", counted, anonymous, invalid)
	}
	if n, broken, err := st.VerifyAudit(); err != nil || broken != 0 || n == 0 {
		t.Fatalf("chain after summaries: %d entries, broken at %d, %v", n, broken, err)
	}
}

// Denials of authenticated principals stay in the audit trail one by one, with a bounded resource name.
func TestAuthenticatedRefusalsAreWrittenWithWellFormedNamesOnly(t *testing.T) {
	h := start(t)
	res, _, _ := h.seed(t, pesel(t, "620304", 5511), 0, 1)
	organiser := h.as(t, auth.RoleOrganiser, "")
	long := "residents/" + strings.Repeat("9", 6000)
	for _, name := range []string{res, long, "residents/44051401359"} {
		if _, err := h.client.GetResident(organiser, &referralv1.GetResidentRequest{Name: name}); status.Code(err) != codes.PermissionDenied {
			t.Fatalf("organiser reads a resident: %v", err)
		}
	}
	// A call the policy lets through but the handler refuses records a bounded name too.
	if _, err := h.client.ReceiveReferral(h.prov(t), &referralv1.ReceiveReferralRequest{Name: "referrals/" + strings.Repeat("9", 6000)}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("receive with a malformed name: %v", err)
	}
	var got, failed []string
	for _, e := range auditLog(t, h.store) {
		if e.GetSubject() == "u-organiser" && e.GetDecision() == referralv1.AuditDecision_AUDIT_DECISION_DENIED {
			got = append(got, e.GetResource())
		}
		if e.GetSubject() == "u-provider" && e.GetAction() == "ReceiveReferral" {
			failed = append(failed, e.GetResource())
		}
	}
	if want := []string{res, "invalid-name", "invalid-name"}; !slices.Equal(got, want) {
		t.Fatalf("denials of an authenticated principal recorded %q, want %q", got, want)
	}
	if !slices.Equal(failed, []string{"invalid-name"}) {
		t.Fatalf("a failed call recorded %q", failed)
	}
}

func deleteTail(t *testing.T, tx *bolt.Tx, n int) {
	t.Helper()
	c := tx.Bucket([]byte("audit")).Cursor()
	if k, _ := c.Last(); k == nil {
		t.Fatal("the log is empty")
	}
	for range n {
		if err := c.Delete(); err != nil {
			t.Fatal(err)
		}
		if k, _ := c.Last(); k == nil {
			t.Fatal("the log is too short")
		}
	}
}

// Finding 2: VerifyAuditChain said ok after its tail was deleted. The stored head is verified, and anchors kept
// outside the data file catch a rewrite that recomputed the chain and its head.
func TestAuditChainTamperingIsDetected(t *testing.T) {
	cases := []struct {
		name string
		// tamper changes the closed data file.
		tamper func(t *testing.T, tx *bolt.Tx)
		// headCatches: the stored head alone detects it (no anchors needed).
		headCatches bool
	}{
		{"tail deleted", func(t *testing.T, tx *bolt.Tx) { deleteTail(t, tx, 2) }, true},
		{"tail deleted and head recomputed", func(t *testing.T, tx *bolt.Tx) {
			deleteTail(t, tx, 2)
			rewriteLiveChain(t, tx, func(int64, *referralv1.AuditEntry) {})
		}, false},
		{"entry rewritten, chain and head recomputed", func(t *testing.T, tx *bolt.Tx) {
			rewriteLiveChain(t, tx, func(seq int64, e *referralv1.AuditEntry) {
				if seq == 2 {
					e.Subject = "someone-else"
				}
			})
		}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			anchors := filepath.Join(t.TempDir(), "audit.anchors")
			h := start(t, func(o *server.Options) { o.AuditAnchorFile = anchors })
			res, _, _ := h.seed(t, pesel(t, "710203", 2233), 0, 1)
			for range 3 {
				if _, err := h.client.GetResident(h.coord(t), &referralv1.GetResidentRequest{Name: res}); err != nil {
					t.Fatal(err)
				}
			}
			h.stop() // anchors the head at shutdown
			if b, err := os.ReadFile(anchors); err != nil || len(strings.Fields(string(b))) != 3 {
				t.Fatalf("anchor file: %q %v", b, err)
			}
			verify := func() (*referralv1.VerifyAuditChainResponse, int64) {
				st, err := store.Open(h.store.Path(), testKey, nil, store.WithDataKeys(testRing))
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
				_, broken, err := st.VerifyAudit()
				if err != nil {
					t.Fatal(err)
				}
				srv := server.New(st, nil, nil, zap.NewNop(), server.Options{AuditAnchorFile: anchors})
				v, err := srv.VerifyAuditChain(context.Background(), &referralv1.VerifyAuditChainRequest{})
				if err != nil {
					t.Fatal(err)
				}
				return v, broken
			}
			if v, broken := verify(); !v.GetOk() || broken != 0 {
				t.Fatalf("untouched chain: %v, head check broken at %d", v, broken)
			}
			enginetest.BboltOnly(t, "tampers with the data file through bbolt")
			db, err := bolt.Open(h.store.Path(), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Update(func(tx *bolt.Tx) error { tc.tamper(t, tx); return nil }); err != nil {
				t.Fatal(err)
			}
			db.Close()
			v, broken := verify()
			if v.GetOk() || v.GetFirstBrokenSequence() == 0 {
				t.Fatalf("tampering not detected: %v", v)
			}
			if (broken != 0) != tc.headCatches {
				t.Fatalf("the stored head alone reports %d (want detection: %v)", broken, tc.headCatches)
			}
		})
	}
}

// Finding 3: personal data was served when its audit entry could not be written. Reads fail closed.
func TestReadsFailClosedWhenTheAuditLogCannotBeWritten(t *testing.T) {
	h := start(t)
	p := pesel(t, "530917", 8642)
	res, con, kase := h.seed(t, p, 0, 1)
	ref := h.refer(t, res, con, kase, 0)
	h.store.SetAuditFault(errors.New("no space left on device"))
	coord := h.coord(t)
	reads := map[string]func() (proto.Message, error){
		"GetResident": func() (proto.Message, error) {
			return h.client.GetResident(coord, &referralv1.GetResidentRequest{Name: res})
		},
		"LookupResident": func() (proto.Message, error) {
			return h.client.LookupResident(coord, &referralv1.LookupResidentRequest{Pesel: p})
		},
		"ListResidents": func() (proto.Message, error) {
			return h.client.ListResidents(coord, &referralv1.ListResidentsRequest{})
		},
		"ExportResident": func() (proto.Message, error) {
			return h.client.ExportResident(coord, &referralv1.ExportResidentRequest{Name: res})
		},
		"GetCase": func() (proto.Message, error) { return h.client.GetCase(coord, &referralv1.GetCaseRequest{Name: kase}) },
		"ListCases": func() (proto.Message, error) {
			return h.client.ListCases(coord, &referralv1.ListCasesRequest{})
		},
		"GetReferral": func() (proto.Message, error) {
			return h.client.GetReferral(h.prov(t), &referralv1.GetReferralRequest{Name: ref.GetName()})
		},
		"ListReferrals": func() (proto.Message, error) {
			return h.client.ListReferrals(h.prov(t), &referralv1.ListReferralsRequest{})
		},
		"ListReferralChanges": func() (proto.Message, error) {
			return h.client.ListReferralChanges(h.prov(t), &referralv1.ListReferralChangesRequest{})
		},
		"WatchReferrals": func() (proto.Message, error) {
			s, err := h.client.WatchReferrals(h.prov(t), &referralv1.WatchReferralsRequest{AfterRevision: 1})
			if err != nil {
				return nil, err
			}
			return s.Recv()
		},
	}
	for name, read := range reads {
		t.Run(name, func(t *testing.T) {
			got, err := read()
			if status.Code(err) != codes.Unavailable || errReason(err) != "AUDIT_UNAVAILABLE" {
				t.Fatalf("read without its audit entry: %v, %v", got, err)
			}
			if got != nil && got.ProtoReflect().IsValid() {
				t.Fatalf("data returned with the error: %v", got)
			}
		})
	}
	if n := h.logs.FilterMessage("audit entry not written: read refused").Len(); n != len(reads) {
		t.Fatalf("%d log lines for %d refused reads", n, len(reads))
	}
	for _, l := range h.logs.FilterMessage("audit entry not written: read refused").All() {
		if _, ok := l.ContextMap()["request_id"]; !ok {
			t.Fatalf("log without request id: %v", l.ContextMap())
		}
		if strings.Contains(l.Message+l.ContextMap()["error"].(string), p) {
			t.Fatal("the PESEL in a log line")
		}
	}
	h.store.SetAuditFault(nil)
	if _, err := h.client.GetResident(coord, &referralv1.GetResidentRequest{Name: res}); err != nil {
		t.Fatalf("read once the audit log works again: %v", err)
	}
}

// entriesOf returns the audit entries of an action.
func entriesOf(t testing.TB, h *harness, action string) []*referralv1.AuditEntry {
	var out []*referralv1.AuditEntry
	for _, e := range auditLog(t, h.store) {
		if e.GetAction() == action {
			out = append(out, e)
		}
	}
	return out
}

// Finding 4: lists and watches recorded one entry for the collection, and replayed responses were unaudited.
func TestListsAndWatchesNameTheRecordsTheyDisclose(t *testing.T) {
	h := start(t)
	res1, con1, kase1 := h.seed(t, pesel(t, "480101", 1357), 0, 1)
	res2, _, _ := h.seed(t, pesel(t, "490202", 2468), 0, 1)
	ref := h.refer(t, res1, con1, kase1, 0)
	coord := h.coord(t)
	if _, err := h.client.ListResidents(coord, &referralv1.ListResidentsRequest{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.ListCases(coord, &referralv1.ListCasesRequest{PageSize: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.ListReferrals(h.prov(t), &referralv1.ListReferralsRequest{}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(h.prov(t))
	defer cancel()
	w, err := h.client.WatchReferrals(ctx, &referralv1.WatchReferralsRequest{AfterRevision: 1})
	if err != nil {
		t.Fatal(err)
	}
	if ev := nextChange(t, w); ev.GetReferral().GetName() != ref.GetName() {
		t.Fatalf("watch event %v", ev)
	}
	cancel()
	want := map[string][]string{
		"ListResidents":  {res1, res2},
		"ListCases":      {kase1},               // the page of one case, in queue order
		"ListReferrals":  {ref.GetName(), res1}, // the referral and the resident its summary shows
		"WatchReferrals": {ref.GetName()},       // the batch sent
	}
	for action, names := range want {
		var got [][]string
		for _, e := range entriesOf(t, h, action) {
			if len(e.GetDisclosed()) > 0 {
				got = append(got, e.GetDisclosed())
			}
		}
		if len(got) != 1 || !slices.Equal(got[0], names) {
			t.Errorf("%s disclosed %v, want one entry naming %v", action, got, names)
		}
	}
	// "Who saw this resident" finds the list that showed them.
	list, err := h.client.ListAuditEntries(h.as(t, auth.RoleAdmin, ""), &referralv1.ListAuditEntriesRequest{Resource: res2, PageSize: 100})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range list.GetEntries() {
		found = found || e.GetAction() == "ListResidents"
	}
	if !found {
		t.Fatalf("the audit entries of %s do not include the list that disclosed it: %v", res2, list.GetEntries())
	}
}

func TestReplayedResponsesAreAudited(t *testing.T) {
	h := start(t)
	coord := h.coord(t)
	const rid = "0194c050-3022-7053-9000-0000000000a1"
	mk := &referralv1.CreateResidentRequest{RequestId: rid, Resident: &referralv1.Resident{GivenName: "Jan", FamilyName: "Replay", HouseholdSize: 1, BirthDate: "1950-01-01"}}
	first, err := h.client.CreateResident(coord, mk)
	if err != nil {
		t.Fatal(err)
	}
	again, err := h.client.CreateResident(coord, mk)
	if err != nil || again.GetName() != first.GetName() {
		t.Fatalf("replay: %v %v", again, err)
	}
	res, con, kase := h.seed(t, pesel(t, "600606", 1111), 0, 1)
	mkRef := &referralv1.CreateReferralRequest{RequestId: "0194c050-3022-7053-9000-0000000000a2", Referral: &referralv1.Referral{
		Resident: res, Consent: con, Case: kase, Service: serviceName, Provider: "providers/" + providerA, Agreement: agreementName}}
	ref, err := h.client.CreateReferral(coord, mkRef)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.client.CreateReferral(coord, mkRef); err != nil {
		t.Fatal(err)
	}
	recv := &referralv1.ReceiveReferralRequest{Name: ref.GetName(), RequestId: "0194c050-3022-7053-9000-0000000000a3"}
	for range 2 {
		if _, err := h.client.ReceiveReferral(h.prov(t), recv); err != nil {
			t.Fatal(err)
		}
	}
	for action, name := range map[string]string{"CreateResident": first.GetName(), "CreateReferral": ref.GetName(), "ReceiveReferral": ref.GetName()} {
		var replays int
		for _, e := range entriesOf(t, h, action) {
			if e.GetReason() == "replayed" && e.GetResource() == name && e.GetDecision() == referralv1.AuditDecision_AUDIT_DECISION_ALLOWED {
				replays++
			}
		}
		if replays != 1 {
			t.Errorf("%s: %d replayed entries for %s, want 1", action, replays, name)
		}
	}
}

// Finding 5: any coordinator listed every resident's PESEL.
func TestResidentListsCarryNoPESEL(t *testing.T) {
	h := start(t)
	p := pesel(t, "330303", 3030)
	res, _, _ := h.seed(t, p, 0, 1)
	list, err := h.client.ListResidents(h.coord(t), &referralv1.ListResidentsRequest{})
	if err != nil || len(list.GetResidents()) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	if got := list.GetResidents()[0]; got.GetPesel() != "" || strings.Contains(got.String(), p) || got.GetBirthDate() == "" {
		t.Fatalf("a listed resident: %v", got)
	}
	one, err := h.client.GetResident(h.coord(t), &referralv1.GetResidentRequest{Name: res})
	if err != nil || one.GetPesel() != p {
		t.Fatalf("the PESEL is read one resident at a time: %v %v", one, err)
	}
}
