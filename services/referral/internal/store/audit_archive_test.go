package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/cus-suite/cus/platform/storage/enginetest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
)

// archiveNow is the time the tests' retention is counted to.
var archiveNow = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func ago(years float64) time.Time {
	return archiveNow.Add(-time.Duration(years * 365 * 24 * float64(time.Hour)))
}

func openAuditStore(t *testing.T) *Store {
	t.Helper()
	st, err := Open(filepath.Join(t.TempDir(), "referral.db"), testPESELKey, nil, WithDataKeys(testRing(t, "k1")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// auditAt appends n entries of action at time at.
func auditAt(t *testing.T, st *Store, at time.Time, action string, n int) {
	t.Helper()
	for i := range n {
		e := &referralv1.AuditEntry{Time: timestamppb.New(at.Add(time.Duration(i) * time.Second)), Subject: "u-coordinator", Role: "coordinator",
			Action: action, Resource: fmt.Sprintf("residents/0194c050-aaaa-7000-8000-%012d", i), Decision: referralv1.AuditDecision_AUDIT_DECISION_ALLOWED, Reason: "read"}
		if err := st.Audit(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
}

func archive(t *testing.T, st *Store, dir string, before time.Time) (ArchiveResult, string) {
	t.Helper()
	out := filepath.Join(dir, fmt.Sprintf("audit-%s.ndjson", before.Format("20060102T150405")))
	res, err := st.ArchiveAudit(context.Background(), ArchiveOptions{Out: out, Before: before, Now: archiveNow})
	if err != nil {
		t.Fatal(err)
	}
	return res, out
}

func liveSequences(t *testing.T, st *Store) []int64 {
	t.Helper()
	list, _, _, err := st.ListAudit(0, 1000, "")
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, e := range list {
		out = append(out, e.GetSequence())
	}
	return out
}

// threeArchives makes 20 entries (5 each 4, 3.5, 3 and 1 years old) and archives the first 15 in three files.
func threeArchives(t *testing.T) (st *Store, files []string, anchors []Anchor) {
	t.Helper()
	st = openAuditStore(t)
	dir := t.TempDir()
	for _, age := range []float64{4, 3.5, 3, 1} {
		auditAt(t, st, ago(age), "GetResident", 5)
	}
	// Anchors taken before archiving, as the service writes them: one in each archive and one live.
	for _, seq := range []int64{3, 10, 15, 18} {
		list, _, _, err := st.ListAudit(seq-1, 1, "")
		if err != nil {
			t.Fatal(err)
		}
		anchors = append(anchors, Anchor{Sequence: seq, Hash: list[0].GetHash()})
	}
	for i, before := range []time.Time{ago(3.75), ago(3.25), archiveNow} {
		res, out := archive(t, st, dir, before)
		if res.Entries != 5 || res.First != int64(5*i+1) || res.Last != int64(5*i+5) {
			t.Fatalf("archive %d: %+v", i, res)
		}
		files = append(files, out)
	}
	return st, files, anchors
}

// The audit log rotates: entries past their retention move to archives and are gone from the data file, and
// the live chain, the archives and the anchors still verify as one chain.
func TestArchivedAuditChainVerifiesAcrossArchives(t *testing.T) {
	st, files, anchors := threeArchives(t)
	if got := liveSequences(t, st); len(got) != 5 || got[0] != 16 || got[4] != 20 {
		t.Fatalf("live entries after archiving: %v, want 16..20 (the year-old ones stay)", got)
	}
	base, baseHash, err := st.AuditBase()
	if err != nil || base != 15 || len(baseHash) != 64 {
		t.Fatalf("base %d %q %v", base, baseHash, err)
	}
	// Only the live data, as the RPC does: from the base; the anchors older than the base are skipped.
	r, err := st.VerifyAuditChain(nil, anchors)
	if err != nil || !r.OK() || r.BaseSequence != 15 || r.FirstSequence != 16 || r.Entries != 5 || r.HeadSequence != 20 {
		t.Fatalf("live chain: %+v %v", r, err)
	}
	if r.AnchorsChecked != 2 || r.AnchorsSkipped != 2 { // 15 (the base) and 18; 3 and 10 are archived
		t.Fatalf("anchors checked %d, skipped %d", r.AnchorsChecked, r.AnchorsSkipped)
	}
	// Everything, archives in any order.
	r, err = st.VerifyAuditChain([]string{files[2], files[0], files[1]}, anchors)
	if err != nil || !r.OK() || r.Archived != 15 || r.Archives != 3 || r.FirstSequence != 1 || r.Entries != 5 || r.AnchorsChecked != 4 {
		t.Fatalf("archives and live chain: %+v %v", r, err)
	}
	// New entries chain on after the base as before.
	auditAt(t, st, archiveNow, "GetCase", 2)
	if r, err := st.VerifyAuditChain(files, anchors); err != nil || !r.OK() || r.Entries != 7 {
		t.Fatalf("after new entries: %+v %v", r, err)
	}
	// An anchor of an archived entry that the archive contradicts is caught with the archives.
	wrong := append([]Anchor{{Sequence: 4, Hash: strings.Repeat("0", 64)}}, anchors...)
	if r, _ := st.VerifyAuditChain(files, wrong); r.OK() || r.Problem.Sequence != 4 || r.Problem.Why != "anchor" {
		t.Fatalf("a contradicted anchor of an archived entry: %+v", r.Problem)
	}
}

// rewriteArchive edits an archive file's lines (0 is the header; the trailer is not passed) and, when
// resum, writes a checksum that matches the edit.
func rewriteArchive(t *testing.T, path string, resum bool, edit func(lines [][]byte) [][]byte) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := bytes.SplitAfter(b, []byte("\n"))
	lines = lines[:len(lines)-1] // the empty tail after the last newline
	trailer := lines[len(lines)-1]
	body := edit(lines[:len(lines)-1])
	joined := bytes.Join(body, nil)
	if resum {
		s := sha256.Sum256(joined)
		trailer = []byte(`{"sha256":"` + hex.EncodeToString(s[:]) + "\"}\n")
	}
	if err := os.WriteFile(path, append(joined, trailer...), 0o600); err != nil {
		t.Fatal(err)
	}
}

func editEntry(t *testing.T, line []byte, f func(m map[string]any)) []byte {
	t.Helper()
	m := map[string]any{}
	if err := json.Unmarshal(line, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func TestTamperedOrMissingArchivesAreDetected(t *testing.T) {
	cases := []struct {
		name string
		// change alters the archive files (0..2, sequences 1-5, 6-10, 11-15) and returns those to verify.
		change   func(t *testing.T, files []string) []string
		sequence int64
		why      string
	}{
		{"entry changed", func(t *testing.T, f []string) []string {
			rewriteArchive(t, f[1], false, func(l [][]byte) [][]byte {
				l[2] = editEntry(t, l[2], func(m map[string]any) { m["subject"] = "someone-else" }) // sequence 7
				return l
			})
			return f
		}, 7, "hash"},
		{"entry changed, checksum recomputed", func(t *testing.T, f []string) []string {
			rewriteArchive(t, f[1], true, func(l [][]byte) [][]byte {
				l[2] = editEntry(t, l[2], func(m map[string]any) { m["resource"] = "residents/other" })
				return l
			})
			return f
		}, 7, "hash"},
		{"entry deleted, checksum recomputed", func(t *testing.T, f []string) []string {
			rewriteArchive(t, f[0], true, func(l [][]byte) [][]byte { return append(l[:3:3], l[4:]...) }) // drops sequence 3
			return f
		}, 3, "order"},
		{"header changed", func(t *testing.T, f []string) []string {
			rewriteArchive(t, f[2], false, func(l [][]byte) [][]byte {
				l[0] = editEntry(t, l[0], func(m map[string]any) { m["created"] = "2020-01-01T00:00:00Z" })
				return l
			})
			return f
		}, 11, "archive checksum"},
		{"trailer cut off", func(t *testing.T, f []string) []string {
			b, _ := os.ReadFile(f[2])
			_ = os.WriteFile(f[2], b[:bytes.LastIndexByte(b[:len(b)-1], '\n')+1], 0o600)
			return f
		}, 15, "archive malformed"}, // the last entry line is taken for the trailer
		{"first archive dropped", func(_ *testing.T, f []string) []string { return f[1:] }, 1, "archive missing"},
		{"middle archive dropped", func(_ *testing.T, f []string) []string { return []string{f[0], f[2]} }, 6, "archive missing"},
		{"last archive dropped", func(_ *testing.T, f []string) []string { return f[:2] }, 11, "archive missing"},
		{"archive given twice", func(_ *testing.T, f []string) []string { return append(f, f[1]) }, 6, "archives overlap"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, files, anchors := threeArchives(t)
			if r, err := st.VerifyAuditChain(files, anchors); err != nil || !r.OK() {
				t.Fatalf("untouched: %+v %v", r, err)
			}
			r, err := st.VerifyAuditChain(tc.change(t, files), anchors)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || r.Problem.Sequence != tc.sequence || r.Problem.Why != tc.why {
				t.Fatalf("got problem %+v, want sequence %d (%s)", r.Problem, tc.sequence, tc.why)
			}
			// The live data alone still verifies from its base: the archives are checked apart.
			if r, err := st.VerifyAuditChain(nil, anchors); err != nil || !r.OK() {
				t.Fatalf("live chain: %+v %v", r, err)
			}
		})
	}
}

// Entries are archived only past the retention of their legal basis and before the date given, and only as
// a run from the chain's base: one entry still to be kept holds back every entry after it.
func TestEntriesWithinTheirRetentionAreNeverArchived(t *testing.T) {
	type batch struct {
		years  float64
		action string
	}
	cases := []struct {
		name      string
		batches   []batch
		retention time.Duration
		before    time.Time
		archived  int64
	}{
		{"younger than 2 years", []batch{{1.9, "GetResident"}, {0.5, "GetCase"}}, 0, archiveNow, 0},
		{"old ones up to the first young one", []batch{{3, "GetResident"}, {1, "GetCase"}, {3, "GetPlan"}}, 0, archiveNow, 5},
		{"longer retention by flag", []batch{{3, "GetResident"}}, 4 * 365 * 24 * time.Hour, archiveNow, 0},
		{"before date limits", []batch{{4, "GetResident"}, {3, "GetCase"}}, 0, ago(3.5), 5},
		{"erasure kept 3 years (data-subject request)", []batch{{5, "GetResident"}, {2.5, "EraseResident"}, {2.5, "GetCase"}}, 0, archiveNow, 5},
		{"erasure past 3 years", []batch{{3.1, "EraseResident"}, {2.5, "ExportResident"}}, 0, archiveNow, 5},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openAuditStore(t)
			for _, b := range tc.batches {
				auditAt(t, st, ago(b.years), b.action, 5)
			}
			out := filepath.Join(t.TempDir(), "audit.ndjson")
			res, err := st.ArchiveAudit(context.Background(), ArchiveOptions{Out: out, Before: tc.before, Now: archiveNow, Retention: tc.retention})
			if err != nil {
				t.Fatal(err)
			}
			if res.Entries != tc.archived {
				t.Fatalf("archived %d, want %d", res.Entries, tc.archived)
			}
			live := liveSequences(t, st)
			if want := 5*len(tc.batches) - int(tc.archived); len(live) != want || len(live) > 0 && live[0] != tc.archived+1 {
				t.Fatalf("live entries %v, want %d from %d", live, want, tc.archived+1)
			}
			if _, err := os.Stat(out); (err == nil) != (tc.archived > 0) {
				t.Fatalf("archive file exists: %v, want %v", err == nil, tc.archived > 0)
			}
			if tc.archived > 0 {
				if r, err := st.VerifyAuditChain([]string{out}, nil); err != nil || !r.OK() || r.Archived != tc.archived {
					t.Fatalf("verify: %+v %v", r, err)
				}
			}
		})
	}
}

func TestArchiveRefusesShortRetentionAndBrokenChains(t *testing.T) {
	st := openAuditStore(t)
	auditAt(t, st, ago(3), "GetResident", 5)
	out := filepath.Join(t.TempDir(), "audit.ndjson")
	_, err := st.ArchiveAudit(context.Background(), ArchiveOptions{Out: out, Now: archiveNow, Retention: MinAuditRetention - time.Hour})
	if err == nil || !strings.Contains(err.Error(), "legal minimum of 2 years") {
		t.Fatalf("retention below 2 years: %v", err)
	}
	// A changed entry in the data file: archiving it would move the evidence out; refused, nothing written.
	path := st.Path()
	st.Close()
	enginetest.BboltOnly(t, "tampers with the data file through bbolt")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		k, v := b.Cursor().First()
		e := &referralv1.AuditEntry{}
		if err := proto.Unmarshal(v, e); err != nil {
			return err
		}
		e.Subject = "someone-else"
		v, _ = proto.Marshal(e)
		return b.Put(append([]byte(nil), k...), v)
	}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err = Open(path, testPESELKey, nil, WithDataKeys(testRing(t, "k1")))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.ArchiveAudit(context.Background(), ArchiveOptions{Out: out, Now: archiveNow})
	if !errors.Is(err, ErrAuditChainBroken) {
		t.Fatalf("broken chain archived: %v", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("an archive was written")
	}
	if got := liveSequences(t, st); len(got) != 5 {
		t.Fatalf("entries deleted: %v", got)
	}
}
