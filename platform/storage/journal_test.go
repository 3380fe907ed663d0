package storage

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A journal keeps its records in the order appended on both engines, outside the store's data: a backup does
// not carry it and a restore leaves it. On bbolt a last line cut short by a crash is left out.
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
			if kind == EngineBolt {
				// A crash in the middle of an append.
				f, err := os.OpenFile(JournalFile(p.path, "erasures"), os.O_APPEND|os.O_WRONLY, 0)
				if err != nil {
					t.Fatal(err)
				}
				_, _ = f.WriteString("2026-06-15T10:00:03Z d-cut-sh")
				f.Close()
			}
			got, err := b.Journal("erasures")
			if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("journal = %q, %v; want %q", got, err, want)
			}
			if loc := b.JournalLocation("erasures"); kind == EngineEtcd && !strings.HasSuffix(loc, ".journal/erasures/") {
				t.Fatalf("JournalLocation = %q", loc)
			}
		})
	}
}

// On etcd the journal is a sibling of the prefix, which needs a prefix ending with "/": every other key beside
// a prefix without it would start with the prefix, inside what a restore empties.
func TestJournalNeedsAPrefixEndingWithSlash(t *testing.T) {
	p := newPlace(t, EngineEtcd)
	p.etcd.Prefix = strings.TrimSuffix(p.etcd.Prefix, "/")
	b := p.open(t)
	defer b.Close()
	err := b.AppendJournal("erasures", "x")
	if err == nil || !strings.Contains(err.Error(), "needs it to end with /") {
		t.Fatalf("AppendJournal under prefix %q: %v", p.etcd.Prefix, err)
	}
	if _, err := b.Journal("erasures"); err == nil {
		t.Fatal("Journal under a prefix without a trailing / succeeded")
	}
}
