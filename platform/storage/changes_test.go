package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/apierr"
)

func revs(t *testing.T, b *Backend, after int64) ([]int64, error) {
	t.Helper()
	var out []int64
	err := b.Changes(after, 0, func(rev int64, _ []byte) (bool, error) {
		out = append(out, rev)
		return true, nil
	})
	return out, err
}

func TestCompactChangesDeletesInBatchesAndRefusesOlderCursors(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		const n = 2*compactBatch + 17 // more than one batch
		for i := 0; i < n; i++ {
			if err := put(b, fmt.Sprint("k", i)); err != nil {
				t.Fatal(err)
			}
		}
		const upTo = 2*compactBatch + 5
		deleted, err := b.CompactChanges(context.Background(), upTo)
		if err != nil || deleted != upTo {
			t.Fatalf("CompactChanges = %d, %v; want %d deleted", deleted, err, upTo)
		}
		for _, tc := range []struct {
			after   int64
			wantErr bool
			first   int64
		}{
			{0, true, 0},
			{upTo - 1, true, 0},
			{upTo, false, upTo + 1},
			{n - 1, false, n},
		} {
			got, err := revs(t, b, tc.after)
			if tc.wantErr {
				if !errors.Is(err, ErrCompacted) {
					t.Errorf("after %d: err = %v, want ErrCompacted", tc.after, err)
					continue
				}
				e, _ := apierr.As(err)
				if e.Kind != apierr.KindOutOfRange || e.Metadata["compacted_revision"] != fmt.Sprint(upTo) {
					t.Errorf("after %d: error %+v lacks OUT_OF_RANGE or the compaction point", tc.after, e)
				}
				continue
			}
			if err != nil || len(got) == 0 || got[0] != tc.first {
				t.Errorf("after %d: got %v, %v; want first %d", tc.after, got, err, tc.first)
			}
		}
		// The point survives a restart and never goes down.
		b.Close()
		b = p.open(t)
		defer b.Close()
		if got := b.CompactedRevision(); got != upTo {
			t.Fatalf("compaction point after reopen = %d, want %d", got, upTo)
		}
		if d, err := b.CompactChanges(context.Background(), 3); err != nil || d != 0 || b.CompactedRevision() != upTo {
			t.Fatalf("lower compaction: %d, %v, point %d", d, err, b.CompactedRevision())
		}
	})
}

func TestKeyCompactedLogKeepsLiveEntriesAndServesAFullListingFromZero(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		defer b.Close()
		// Entries named "live" are kept, others may go.
		b.SetChangeKeeper(func(_ ReadTx, _ int64, v []byte) bool { return string(v) == "live" })
		for _, v := range []string{"live", "gone", "live", "gone"} {
			if err := b.Update(context.Background(), func(tx Tx) error { return tx.AppendChange(tx.NextRevision(), []byte(v)) }); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := b.CompactChanges(context.Background(), 4); err != nil {
			t.Fatal(err)
		}
		got, err := revs(t, b, 0)
		if err != nil || fmt.Sprint(got) != "[1 3]" {
			t.Fatalf("from 0: %v, %v; want [1 3]", got, err)
		}
		if _, err := revs(t, b, 2); !errors.Is(err, ErrCompacted) {
			t.Fatalf("from 2: err = %v, want ErrCompacted", err)
		}
	})
}

func TestMaintenanceCompactsByTimeThroughCheckpoints(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		defer b.Close()
		now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		clock = func() time.Time { return now }
		defer func() { clock = time.Now }()
		m := Maintenance{ChangeRetention: time.Hour, RequestTTL: 24 * time.Hour}
		for i := 0; i < 3; i++ {
			if err := put(b, fmt.Sprint("old", i)); err != nil {
				t.Fatal(err)
			}
		}
		b.Maintain(context.Background(), m) // checkpoint (00:00, 3)
		now = now.Add(30 * time.Minute)
		if err := put(b, "newer"); err != nil {
			t.Fatal(err)
		}
		b.Maintain(context.Background(), m) // checkpoint (00:30, 4); nothing is an hour old yet
		if got := b.CompactedRevision(); got != 0 {
			t.Fatalf("compacted to %d before anything left the window", got)
		}
		now = now.Add(45 * time.Minute) // 01:15: the 00:00 checkpoint is older than the window, 00:30 is not
		b.Maintain(context.Background(), m)
		if got := b.CompactedRevision(); got != 3 {
			t.Fatalf("compaction point = %d, want 3 (the revision an hour ago)", got)
		}
		got, err := revs(t, b, 3)
		if err != nil || fmt.Sprint(got) != "[4]" {
			t.Fatalf("changes after 3: %v, %v", got, err)
		}
	})
}

func TestRunMaintenanceStopsWithItsContext(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		defer b.Close()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- b.RunMaintenance(ctx, Maintenance{ChangeRetention: time.Hour, Interval: time.Millisecond})
		}()
		time.Sleep(20 * time.Millisecond)
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

// A compaction cut short after raising the point (a crash, a shutdown) is finished by the next one.
func TestCompactionCutShortIsFinishedByTheNext(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		defer b.Close()
		for i := 0; i < 10; i++ {
			if err := put(b, fmt.Sprint("k", i)); err != nil {
				t.Fatal(err)
			}
		}
		// The point is raised to 6, but nothing was deleted yet.
		if err := b.Update(context.Background(), func(tx Tx) error { return tx.Put(BucketMeta, keyCompacted, u64(6)) }); err != nil {
			t.Fatal(err)
		}
		if n, err := b.CompactChanges(context.Background(), 4); err != nil || n != 6 {
			t.Fatalf("CompactChanges = %d, %v; want the 6 left below the point deleted", n, err)
		}
		if n, err := b.CompactChanges(context.Background(), 8); err != nil || n != 2 {
			t.Fatalf("next CompactChanges = %d, %v; want 2 (only above the previous point)", n, err)
		}
	})
}

// A side log (the catalogue's log of federated entries) is compacted with the change log: its dead entries at or
// below the compaction point go, its live ones and anything above the point stay, a read from below the point is
// refused and a read from 0 lists what is left; the next compaction sweeps on from where the last one stopped.
func TestSideLogIsCompactedWithTheChangeLog(t *testing.T) {
	engines(t, func(t *testing.T, p *place) {
		b := p.open(t)
		defer b.Close()
		ctx := context.Background()
		b.DeclareSideLog(bucketItems, func(_ ReadTx, _ int64, v []byte) bool { return string(v) == "tombstone" })
		write := func(v string, change bool) {
			t.Helper()
			if err := b.Update(ctx, func(tx Tx) error {
				rev := tx.NextRevision()
				if change {
					return tx.AppendChange(rev, []byte(v))
				}
				return tx.Put(bucketItems, RevisionKey(rev), []byte(v))
			}); err != nil {
				t.Fatal(err)
			}
		}
		// Revisions 1-6: side entries at 1, 2, 4, 5, 6; a change at 3.
		write("live", false)
		write("tombstone", false)
		write("change", true)
		write("tombstone", false)
		write("live", false)
		write("tombstone", false)
		side := func(after int64) (string, error) {
			var got []string
			err := b.ViewSideLog(bucketItems, after, func(_ ReadTx, rev int64, v []byte) (bool, error) {
				got = append(got, fmt.Sprintf("%d:%s", rev, v))
				return true, nil
			})
			return fmt.Sprint(got), err
		}
		if got, err := side(0); err != nil || got != "[1:live 2:tombstone 4:tombstone 5:live 6:tombstone]" {
			t.Fatalf("before compaction: %s, %v", got, err)
		}
		if _, err := b.CompactChanges(ctx, 4); err != nil {
			t.Fatal(err)
		}
		if got, err := side(0); err != nil || got != "[1:live 5:live 6:tombstone]" {
			t.Fatalf("after compacting to 4, from 0: %s, %v; want the live entries and what is above the point", got, err)
		}
		if _, err := side(3); !errors.Is(err, ErrCompacted) {
			t.Fatalf("from 3, below the point 4: err = %v, want ErrCompacted", err)
		}
		if got, err := side(4); err != nil || got != "[5:live 6:tombstone]" {
			t.Fatalf("from 4: %s, %v", got, err)
		}
		write("tombstone", false) // 7
		if _, err := b.CompactChanges(ctx, 7); err != nil {
			t.Fatal(err)
		}
		if got, err := side(0); err != nil || got != "[1:live 5:live]" {
			t.Fatalf("after compacting to 7, from 0: %s, %v", got, err)
		}
	})
}
