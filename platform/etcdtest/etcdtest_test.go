package etcdtest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/cus-suite/cus/platform/etcdtest"
)

func TestStartOneServesReadsAndWrites(t *testing.T) {
	c := etcdtest.StartOne(t)
	if got := c.Leader(); got != 0 {
		t.Fatalf("Leader() = %d, want 0 (the only member)", got)
	}
	cli := c.Client(t)
	ctx := t.Context()
	put, err := cli.Put(ctx, "/cus/test/a", "1")
	if err != nil {
		t.Fatal(err)
	}
	get, err := cli.Get(ctx, "/cus/test/a")
	if err != nil {
		t.Fatal(err)
	}
	if len(get.Kvs) != 1 || string(get.Kvs[0].Value) != "1" || get.Kvs[0].ModRevision != put.Header.Revision {
		t.Fatalf("Get after Put = %v, want value 1 at revision %d", get.Kvs, put.Header.Revision)
	}
}

// The cluster the storage engine's failover tests stand on: it elects, a write succeeds once a new leader is
// elected after the old one is killed, and the killed member comes back with every write it missed.
func TestThreeMembersSurviveTheLeaderKilledAndCatchUp(t *testing.T) {
	c := etcdtest.Start(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Leader(); got != leader {
		t.Fatalf("Leader() = %d, WaitLeader = %d", got, leader)
	}
	if len(c.Endpoints()) != 3 {
		t.Fatalf("Endpoints() = %v, want 3", c.Endpoints())
	}
	cli := c.Client(t)
	if _, err := cli.Put(ctx, "/cus/test/before", "x"); err != nil {
		t.Fatal(err)
	}

	c.Kill(leader)
	if c.Running(leader) {
		t.Fatalf("member %d still running after Kill", leader)
	}
	// Puts are retried the way a store would retry an UNAVAILABLE: each attempt bounded, until one lands.
	var missed []string
	for i := range 20 {
		key := fmt.Sprintf("/cus/test/after/%02d", i)
		if err := putUntil(ctx, cli, key); err != nil {
			t.Fatalf("put %s after killing the leader: %v", key, err)
		}
		missed = append(missed, key)
	}
	next, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if next == leader {
		t.Fatalf("the killed member %d is reported as leader", leader)
	}

	c.Restart(leader)
	if !c.Running(leader) {
		t.Fatalf("member %d not running after Restart", leader)
	}
	// A serializable read answers from the member's own store, so it shows what this member has applied.
	only := c.MemberClient(t, leader)
	for _, key := range missed {
		waitForKey(ctx, t, only, key)
	}
	if _, err := c.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestGracefulStopHandsLeadershipOver(t *testing.T) {
	c := etcdtest.Start(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.Stop(leader)
	next, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if next == leader || !c.Running(next) {
		t.Fatalf("leader after a graceful stop of %d is %d", leader, next)
	}
	if err := putUntil(ctx, c.Client(t), "/cus/test/after-stop"); err != nil {
		t.Fatal(err)
	}
}

func TestLimitsAreThoseAsked(t *testing.T) {
	c := etcdtest.StartWith(t, 1, etcdtest.Options{MaxRequestBytes: 4096, MaxTxnOps: 4})
	cli := c.Client(t)
	ctx := t.Context()
	if _, err := cli.Put(ctx, "/cus/test/big", string(make([]byte, 8192))); err == nil {
		t.Fatal("a put of 8 KiB passed a 4 KiB request limit")
	}
	ops := make([]clientv3.Op, 5)
	for i := range ops {
		ops[i] = clientv3.OpPut(fmt.Sprintf("/cus/test/op%d", i), "v")
	}
	if _, err := cli.Txn(ctx).Then(ops...).Commit(); err == nil {
		t.Fatal("a transaction of 5 operations passed a limit of 4")
	}
	if _, err := cli.Txn(ctx).Then(ops[:4]...).Commit(); err != nil {
		t.Fatalf("a transaction of 4 operations under a limit of 4: %v", err)
	}
}

func putUntil(ctx context.Context, cli *clientv3.Client, key string) error {
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := cli.Put(attempt, key, "v")
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%w (last: %w)", ctx.Err(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitForKey(ctx context.Context, t *testing.T, cli *clientv3.Client, key string) {
	t.Helper()
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		get, err := cli.Get(attempt, key, clientv3.WithSerializable())
		cancel()
		if err == nil && len(get.Kvs) == 1 {
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("the restarted member never had %s (last error %v)", key, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
