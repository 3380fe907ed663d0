package storage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A model-based test of the group commit: rounds of concurrent writers with random behaviours (committing,
// returning an error, panicking, slow, cancelled before their turn, some not bumping the revision, some
// deleting what earlier rounds wrote), and now and then a group refused by a full disk. A reference model
// applies exactly the writes acknowledged to their callers; after each round the file must hold the model's
// content, the revision must have moved by one per acknowledged revision-bumping writer, and the change log
// must name each of those once, at the revision its writer saw.

type behaviour int

const (
	bOK behaviour = iota
	bNoBump
	bFail
	bPanic
	bSlow
	bCancelled
	nBehaviours
)

func (b behaviour) String() string {
	return [...]string{"ok", "no-bump", "fail", "panic", "slow", "cancelled"}[b]
}

var errModelMember = errors.New("model: member refuses")

type member struct {
	id      string
	how     behaviour
	puts    map[string]string // key -> value prefix (the revision is appended when it bumps)
	deletes []string
	// outcome
	err error
	rev int64 // the revision the member's last run saw (bumping members)
}

func (m *member) fn(tx Tx) error {
	rev := tx.Revision()
	if m.how != bNoBump {
		rev = tx.NextRevision()
	}
	m.rev = rev
	for k, v := range m.puts {
		if err := tx.Put(bucketItems, []byte(k), []byte(fmt.Sprintf("%s@%d", v, rev))); err != nil {
			return err
		}
	}
	for _, k := range m.deletes {
		if err := tx.Delete(bucketItems, []byte(k)); err != nil {
			return err
		}
	}
	if m.how != bNoBump {
		if err := tx.AppendChange(rev, []byte(m.id)); err != nil {
			return err
		}
	}
	switch m.how {
	case bFail:
		return errModelMember
	case bPanic:
		panic("model: member panics")
	case bSlow:
		time.Sleep(time.Duration(200+len(m.puts)*100) * time.Microsecond)
	}
	return nil
}

func TestGroupCommitModel(t *testing.T) {
	const seed = 20261202
	rounds := 200
	if testing.Short() {
		rounds = 60
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	path := filepath.Join(t.TempDir(), "model.db")
	b := open(t, path)
	defer func() { _ = b.Close() }()

	model := map[string]string{} // the reference: key -> value
	var live []string            // keys of the model, candidates for deletion
	var rev int64
	stats := map[string]int{}
	for round := 0; round < rounds; round++ {
		n := 1 + rng.IntN(24)
		members := make([]*member, n)
		for i := range members {
			m := &member{id: fmt.Sprintf("r%03d-m%02d", round, i), how: behaviour(rng.IntN(int(nBehaviours))), puts: map[string]string{}}
			for j := rng.IntN(4); j >= 0; j-- {
				m.puts[fmt.Sprintf("k-%s-%d", m.id, j)] = m.id
			}
			// Deletions of keys from earlier rounds, each key given to one member only.
			if len(live) > 0 && rng.IntN(3) == 0 {
				i := rng.IntN(len(live))
				m.deletes = append(m.deletes, live[i])
				live = append(live[:i], live[i+1:]...)
			}
			members[i] = m
		}
		diskFull := rng.IntN(6) == 0
		remove := func() {}
		if diskFull {
			// One group of the round is refused (if any group gets to commit).
			remove = InjectFault(path, Fault{Stage: FaultBeforeCommit, Err: &os.PathError{Op: "write", Path: path, Err: syscall.ENOSPC}})
		}
		var wg sync.WaitGroup
		for _, m := range members {
			wg.Add(1)
			go func(m *member) {
				defer wg.Done()
				ctx := context.Background()
				if m.how == bCancelled {
					c, cancel := context.WithCancel(ctx)
					cancel()
					ctx = c
				}
				m.err = b.Update(ctx, m.fn)
			}(m)
		}
		wg.Wait()
		remove()

		// Check each answer against the behaviour and apply the acknowledged writes to the model.
		var bumped []*member
		for _, m := range members {
			stats[m.how.String()]++
			switch {
			case m.err == nil:
				if m.how != bOK && m.how != bNoBump && m.how != bSlow {
					t.Fatalf("round %d: %s (%s) acknowledged", round, m.id, m.how)
				}
				for k, v := range m.puts {
					model[k] = fmt.Sprintf("%s@%d", v, m.rev)
					live = append(live, k)
				}
				for _, k := range m.deletes {
					delete(model, k)
				}
				if m.how != bNoBump {
					bumped = append(bumped, m)
				}
				stats["acknowledged"]++
			case errors.Is(m.err, ErrDiskFull):
				if !diskFull || m.how == bFail || m.how == bPanic || m.how == bCancelled {
					t.Fatalf("round %d: %s (%s) refused for a full disk", round, m.id, m.how)
				}
				stats["refused: disk full"]++
			case m.how == bFail && errors.Is(m.err, errModelMember),
				m.how == bPanic && strings.Contains(m.err.Error(), "panicked"),
				m.how == bCancelled && errors.Is(m.err, context.Canceled):
				stats["refused: own error"]++
			default:
				t.Fatalf("round %d: %s (%s) got %v", round, m.id, m.how, m.err)
			}
			if m.err != nil {
				// A refused member's deletions did not happen: its keys stay candidates.
				for _, k := range m.deletes {
					if _, ok := model[k]; ok {
						live = append(live, k)
					}
				}
			}
		}
		if isFailed(b) {
			t.Fatalf("round %d: backend failed: %v", round, b.Err())
		}

		// Revision: one per acknowledged bumping member, and no two of them saw the same revision.
		want := rev + int64(len(bumped))
		if got := b.Revision(); got != want {
			t.Fatalf("round %d: revision %d, want %d (%d bumping members acknowledged)", round, got, want, len(bumped))
		}
		log := map[int64]string{}
		if err := b.Changes(rev, 0, func(r int64, v []byte) (bool, error) {
			log[r] = string(v)
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
		if len(log) != len(bumped) {
			t.Fatalf("round %d: %d changes logged, %d bumping members acknowledged", round, len(log), len(bumped))
		}
		for _, m := range bumped {
			if m.rev <= rev || m.rev > want || log[m.rev] != m.id {
				t.Fatalf("round %d: %s committed at revision %d, the change log has %q there", round, m.id, m.rev, log[m.rev])
			}
		}
		rev = want

		// Content: the file holds exactly the model.
		checkContent := func(when string) {
			got := map[string]string{}
			if err := b.View(func(tx ReadTx) error {
				return tx.Scan(bucketItems, nil, func(k, v []byte) (bool, error) {
					got[string(k)] = string(v)
					return true, nil
				})
			}); err != nil {
				t.Fatal(err)
			}
			if len(got) != len(model) {
				t.Fatalf("round %d %s: %d keys in the file, %d in the model", round, when, len(got), len(model))
			}
			for k, v := range model {
				if got[k] != v {
					t.Fatalf("round %d %s: %s = %q in the file, %q in the model", round, when, k, got[k], v)
				}
			}
		}
		checkContent("")
		// Now and then a restart: what was acknowledged is on disk.
		if round%40 == 39 {
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			b = open(t, path)
			if got := b.Revision(); got != rev {
				t.Fatalf("round %d: revision after reopen %d, want %d", round, got, rev)
			}
			checkContent("after reopen")
			stats["reopens"]++
		}
	}
	t.Logf("seed %d, %d rounds, revision %d, %d keys; %v", seed, rounds, rev, len(model), stats)
}
