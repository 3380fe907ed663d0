package storage

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// A journal keeps its records in the order appended on both engines, outside the store's data: a backup does
// not carry it and a restore leaves it.
func TestJournalLivesOutsideTheData(t *testing.T) {
	for _, kind := range []EngineKind{EngineBolt, EngineEtcd} {
		t.Run(string(kind), func(t *testing.T) {
			p := newPlace(t, kind)
			if kind == EngineBolt {
				p.path = filepath.Join(t.TempDir(), "d.db")
			}
			b := p.open(t)
			defer b.Close()
			if got, err := b.Journal("erasures"); err != nil || len(got) != 0 {
				t.Fatalf("a journal never appended to: %q, %v", got, err)
			}
			want := []string{"2026-06-15T10:00:00Z a", "2026-06-15T10:00:01Z b", "2026-06-15T10:00:02Z c"}
			for _, r := range want {
				if err := b.AppendJournal("erasures", r); err != nil {
					t.Fatal(err)
				}
			}
			if err := b.AppendJournal("erasures", "two\nlines"); err == nil {
				t.Fatal("a record with a line break was appended")
			}
			if err := put(b, "data"); err != nil {
				t.Fatal(err)
			}
			var backup bytes.Buffer
			if _, err := b.Backup(&backup); err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(backup.Bytes(), []byte("10:00:01Z b")) {
				t.Fatal("the backup carries the journal")
			}
			got, err := b.Journal("erasures")
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("journal = %q, %v; want %q", got, err, want)
			}
			if loc := b.JournalLocation("erasures"); kind == EngineEtcd && !strings.HasSuffix(loc, "/.journal/"+lastSegment(p.etcd.Prefix)+"/erasures/") {
				t.Fatalf("JournalLocation = %q", loc)
			}
		})
	}
}

func lastSegment(prefix string) string {
	s := strings.TrimSuffix(prefix, "/")
	return s[strings.LastIndexByte(s, '/')+1:]
}

// A crash in the middle of an append leaves a last line without its line break. The next append ends that line
// first, so the record it appends is not merged into the torn one; and a complete last line without a line
// break (a copy restored by hand) is read as a record.
func TestJournalFileAppendAfterATornLine(t *testing.T) {
	p := newPlace(t, EngineBolt)
	b := p.open(t)
	defer b.Close()
	file := JournalFile(p.path, "erasures")
	if err := os.WriteFile(file, []byte("2026-06-15T10:00:00Z a\n2026-06-15T10:00:03Z d-cut-sh"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := b.AppendJournal("erasures", "2026-06-15T10:00:04Z e"); err != nil {
		t.Fatal(err)
	}
	got, err := b.Journal("erasures")
	want := []string{"2026-06-15T10:00:00Z a", "2026-06-15T10:00:03Z d-cut-sh", "2026-06-15T10:00:04Z e"}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("journal = %q, %v; want %q", got, err, want)
	}
	// A copy put back by hand, its last record complete but without a line break.
	if err := os.WriteFile(file, []byte("2026-06-15T10:00:00Z a\n2026-06-15T10:00:05Z f"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err = b.Journal("erasures")
	if err != nil || fmt.Sprint(got) != fmt.Sprint([]string{"2026-06-15T10:00:00Z a", "2026-06-15T10:00:05Z f"}) {
		t.Fatalf("journal of a copy without its last line break = %q, %v", got, err)
	}
}

// On etcd the journal is kept under the prefix's parent, in .journal/<last segment>/, which needs a prefix
// ending with "/" after a name; the error names the flag.
func TestJournalNeedsAPrefixEndingWithSlash(t *testing.T) {
	for _, bad := range []func(string) string{
		func(p string) string { return strings.TrimSuffix(p, "/") },
		func(p string) string { return p + ".journal/" },
	} {
		p := newPlace(t, EngineEtcd)
		prefix := bad(p.etcd.Prefix)
		p.etcd.Prefix = prefix
		b := p.open(t)
		err := b.AppendJournal("erasures", "x")
		if err == nil || !strings.Contains(err.Error(), "--etcd-prefix") {
			t.Fatalf("AppendJournal under prefix %q: %v", p.etcd.Prefix, err)
		}
		if _, err := b.Journal("erasures"); err == nil {
			t.Fatalf("Journal under prefix %q succeeded", prefix)
		}
		b.Close()
	}
	for prefix, want := range map[string]string{"/cus/referral/": "/cus/.journal/referral/erasures/",
		"gmina/referral/": "gmina/.journal/referral/erasures/", "/": "", "/cus//": "", "/cus/../": ""} {
		got, err := (&etcdEngine{prefix: prefix}).journalPrefix("erasures")
		if got != want || (want == "") != (err != nil) {
			t.Fatalf("journalPrefix of %q = %q, %v; want %q", prefix, got, err, want)
		}
	}
}

// "etcdctl del --prefix /cus/referral" (the prefix without its /) leaves the journal of /cus/referral/.
func TestEtcdJournalIsNotUnderThePrefixWithoutItsSlash(t *testing.T) {
	p := newPlace(t, EngineEtcd)
	b := p.open(t)
	defer b.Close()
	if err := b.AppendJournal("erasures", "2026-06-15T10:00:00Z a"); err != nil {
		t.Fatal(err)
	}
	cli := clusterFor(t).Client(t)
	if _, err := cli.Delete(context.Background(), strings.TrimSuffix(p.etcd.Prefix, "/"), clientv3.WithPrefix()); err != nil {
		t.Fatal(err)
	}
	if got, err := b.Journal("erasures"); err != nil || len(got) != 1 {
		t.Fatalf("journal after deleting the prefix without its /: %q, %v", got, err)
	}
}

// A store that kept its journal in a file beside its path while on etcd (an older release) hands the file's
// records to the etcd journal at Open, once: the file is renamed, and a second Open (or the same file put back)
// adds nothing.
func TestEtcdOpenImportsAnOldJournalFileOnce(t *testing.T) {
	p := newPlace(t, EngineEtcd)
	p.path = filepath.Join(t.TempDir(), "referral.db")
	file := JournalFile(p.path, "erasures")
	if err := os.WriteFile(file, []byte("2026-06-15T10:00:00Z a\n2026-06-15T10:00:01Z b\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := p.openWith(Options{Journals: []string{"erasures"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AppendJournal("erasures", "2026-06-15T10:00:02Z c"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("the journal file is still there after its import: %v", err)
	}
	// The renamed file put back (a second import of the same records) adds nothing.
	if err := os.Rename(file+importedSuffix, file); err != nil {
		t.Fatal(err)
	}
	b, err = p.openWith(Options{Journals: []string{"erasures"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.Journal("erasures")
	want := []string{"2026-06-15T10:00:00Z a", "2026-06-15T10:00:01Z b", "2026-06-15T10:00:02Z c"}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("journal = %q, %v; want %q", got, err, want)
	}
	if _, err := os.Stat(file + importedSuffix); err != nil {
		t.Fatalf("the imported file: %v", err)
	}
}

// MigrateToEtcd copies the journal file beside its source into the etcd journal; a copy cut short and run again
// (the prefix emptied with its /) adds no record twice.
func TestMigrateToEtcdCopiesTheJournalOnce(t *testing.T) {
	src := newPlace(t, EngineBolt)
	b := src.open(t)
	for _, r := range []string{"2026-06-15T10:00:00Z a", "2026-06-15T10:00:01Z b"} {
		if err := b.AppendJournal("erasures", r); err != nil {
			t.Fatal(err)
		}
	}
	if err := put(b, "data"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	dst := newPlace(t, EngineEtcd)
	for run := 0; run < 2; run++ {
		if _, err := MigrateToEtcd(context.Background(), src.path, dst.options(Options{Journals: []string{"erasures"}})); err != nil {
			t.Fatal(err)
		}
		if run == 0 {
			if _, err := clusterFor(t).Client(t).Delete(context.Background(), dst.etcd.Prefix, clientv3.WithPrefix()); err != nil {
				t.Fatal(err)
			}
		}
	}
	e := dst.open(t)
	defer e.Close()
	got, err := e.Journal("erasures")
	if err != nil || fmt.Sprint(got) != fmt.Sprint([]string{"2026-06-15T10:00:00Z a", "2026-06-15T10:00:01Z b"}) {
		t.Fatalf("etcd journal after two copies = %q, %v", got, err)
	}
	if _, err := os.Stat(JournalFile(src.path, "erasures")); err != nil {
		t.Fatalf("the copy touched the source's journal file: %v", err)
	}
}
