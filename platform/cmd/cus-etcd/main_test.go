package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cus-suite/cus/platform/etcdtest"
)

func TestValidateNamesEachBadSetting(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // a fragment of the error, "" for a valid configuration
	}{
		{"defaults", nil, ""},
		{"a three-member cluster", []string{"--name", "e1", "--listen-peer", "127.0.0.1:2482", "--initial-cluster", "e0=http://127.0.0.1:2480,e1=http://127.0.0.1:2482,e2=http://127.0.0.1:2484"}, ""},
		{"a three-member cluster over TLS", []string{"--name", "e1", "--listen-peer", "10.0.0.2:2380", "--peer-cert-file", "c.pem", "--peer-key-file", "k.pem", "--peer-trusted-ca-file", "ca.pem",
			"--initial-cluster", "e0=https://10.0.0.1:2380,e1=https://10.0.0.2:2380,e2=https://10.0.0.3:2380"}, ""},
		{"an advertised peer address", []string{"--listen-peer", "127.0.0.1:2380", "--advertise-peer", "localhost:2380", "--initial-cluster", "e0=http://localhost:2380"}, ""},
		{"this member at another port", []string{"--name", "e1", "--initial-cluster", "e0=http://127.0.0.1:2480,e1=http://127.0.0.1:2482"}, "lists this member (--name e1) as http://127.0.0.1:2482, but it announces http://127.0.0.1:2380"},
		{"this member as http with a peer certificate", []string{"--peer-cert-file", "c.pem", "--peer-key-file", "k.pem", "--initial-cluster", "e0=http://127.0.0.1:2380"},
			"lists this member (--name e0) as http://127.0.0.1:2380, but it announces https://127.0.0.1:2380"},
		{"this member as https without a peer certificate", []string{"--initial-cluster", "e0=https://127.0.0.1:2380"}, "but it announces http://127.0.0.1:2380"},
		{"a peer in plaintext beyond loopback", []string{"--initial-cluster", "e0=http://127.0.0.1:2380,e1=http://10.0.0.2:2380"}, `--initial-cluster (CUS_INITIAL_CLUSTER): member e1: "http://10.0.0.2:2380" is plaintext beyond loopback`},
		{"revision compaction", []string{"--auto-compaction-mode", "revision", "--auto-compaction-retention", "100000"}, ""},
		{"initial cluster without this member", []string{"--name", "e9", "--initial-cluster", "e0=http://127.0.0.1:2480"}, "does not list this member (--name e9)"},
		{"initial cluster not name=url", []string{"--initial-cluster", "e0"}, `"e0" is not name=peer-URL`},
		{"initial cluster with a bad url", []string{"--initial-cluster", "e0=127.0.0.1:2480"}, "is not a peer URL"},
		{"initial cluster state", []string{"--initial-cluster-state", "joining"}, "--initial-cluster-state (CUS_INITIAL_CLUSTER_STATE): must be new or existing"},
		{"listen client", []string{"--listen-client", "2379"}, "--listen-client (CUS_LISTEN_CLIENT)"},
		{"plaintext beyond loopback", []string{"--listen-client", "0.0.0.0:2379"}, "plaintext is allowed only on loopback"},
		{"peer plaintext beyond loopback", []string{"--listen-peer", "10.0.0.5:2380"}, "--listen-peer (CUS_LISTEN_PEER): plaintext is allowed only on loopback"},
		{"cert without key", []string{"--cert-file", "a.pem"}, "--cert-file and --key-file go together"},
		{"client TLS on loopback without a CA", []string{"--cert-file", "c.pem", "--key-file", "k.pem"}, ""},
		{"client TLS beyond loopback with a CA", []string{"--listen-client", "10.0.0.5:2379", "--cert-file", "c.pem", "--key-file", "k.pem", "--trusted-ca-file", "ca.pem"}, ""},
		{"client TLS beyond loopback without a CA", []string{"--listen-client", "10.0.0.5:2379", "--cert-file", "c.pem", "--key-file", "k.pem"}, "--trusted-ca-file (CUS_TRUSTED_CA_FILE): required when --listen-client is beyond loopback"},
		{"client CA without a cert", []string{"--trusted-ca-file", "ca.pem"}, "--trusted-ca-file (CUS_TRUSTED_CA_FILE): client certificates are checked only over TLS"},
		{"peer TLS beyond loopback with a CA", []string{"--listen-peer", "10.0.0.5:2380", "--peer-cert-file", "c.pem", "--peer-key-file", "k.pem", "--peer-trusted-ca-file", "ca.pem"}, ""},
		{"peer TLS beyond loopback without a CA", []string{"--listen-peer", "10.0.0.5:2380", "--peer-cert-file", "c.pem", "--peer-key-file", "k.pem"}, "--peer-trusted-ca-file (CUS_PEER_TRUSTED_CA_FILE): required when --listen-peer is beyond loopback"},
		{"peer CA without a cert", []string{"--peer-trusted-ca-file", "ca.pem"}, "--peer-trusted-ca-file (CUS_PEER_TRUSTED_CA_FILE): peer certificates are checked only over TLS"},
		{"quota above etcd's recommended maximum", []string{"--quota-backend-bytes", fmt.Sprint(int64(9) << 30)}, "--quota-backend-bytes (CUS_QUOTA_BACKEND_BYTES): must be between 16 MiB and 8 GiB"},
		{"request limit", []string{"--max-request-bytes", "1024"}, "--max-request-bytes"},
		{"txn ops", []string{"--max-txn-ops", "2"}, "--max-txn-ops"},
		{"compaction mode", []string{"--auto-compaction-mode", "daily"}, "must be periodic or revision"},
		{"periodic retention", []string{"--auto-compaction-retention", "often"}, "periodic mode wants a duration"},
		{"revision retention", []string{"--auto-compaction-mode", "revision", "--auto-compaction-retention", "1h"}, "revision mode wants a count"},
		{"election against heartbeat", []string{"--heartbeat-interval", "100", "--election-timeout", "300"}, "at least 5 heartbeat intervals"},
		{"log format", []string{"--log-format", "xml"}, "--log-format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(t.Context(), append(tt.args, "--data-dir", ""), noEnv, nil, nil)
			// An empty data dir is always wrong, so every case fails; the case's own message must be there
			// too, and a valid case must name nothing else.
			if err == nil || !strings.Contains(err.Error(), "--data-dir (CUS_DATA_DIR): must not be empty") {
				t.Fatalf("run = %v, want the empty data dir named", err)
			}
			if tt.want == "" {
				if n := strings.Count(err.Error(), "\n--"); n != 1 {
					t.Fatalf("a valid configuration got more complaints: %v", err)
				}
				return
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestEnvironmentSetsFlags(t *testing.T) {
	env := map[string]string{"CUS_INITIAL_CLUSTER_STATE": "joining", "CUS_DATA_DIR": ""}
	err := run(t.Context(), []string{"--data-dir", ""}, func(k string) string { return env[k] }, nil, nil)
	if err == nil || !strings.Contains(err.Error(), `got "joining"`) {
		t.Fatalf("run = %v, want CUS_INITIAL_CLUSTER_STATE read", err)
	}
}

// One member serves, stops on its context (what SIGTERM does in main) and finds its data again on restart.
func TestMemberStopsGracefullyAndKeepsItsData(t *testing.T) {
	ports := freePorts(t, 2)
	args := []string{
		"--name", "e0", "--data-dir", filepath.Join(t.TempDir(), "e0"),
		"--listen-client", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--listen-peer", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--log-level", "error",
	}
	m := startMember(t, args)
	cli := client(t, m.url)
	if _, err := cli.Put(t.Context(), "/cus/test/kept", "yes"); err != nil {
		t.Fatal(err)
	}
	m.stop(t)

	m = startMember(t, args)
	get, err := client(t, m.url).Get(t.Context(), "/cus/test/kept")
	if err != nil {
		t.Fatal(err)
	}
	if len(get.Kvs) != 1 || string(get.Kvs[0].Value) != "yes" {
		t.Fatalf("after a restart the key is %v, want yes", get.Kvs)
	}
	m.stop(t)
}

// Three members started from --initial-cluster form one cluster: a write through one is read through another.
func TestThreeMembersFormOneCluster(t *testing.T) {
	ports := freePorts(t, 6)
	var initial []string
	for i := range 3 {
		initial = append(initial, fmt.Sprintf("e%d=http://127.0.0.1:%d", i, ports[2*i+1]))
	}
	dir := t.TempDir()
	members := make([]*runningMember, 3)
	started := make(chan *runningMember, 3)
	for i := range 3 {
		args := []string{
			"--name", fmt.Sprintf("e%d", i), "--data-dir", filepath.Join(dir, fmt.Sprintf("e%d", i)),
			"--listen-client", fmt.Sprintf("127.0.0.1:%d", ports[2*i]), "--listen-peer", fmt.Sprintf("127.0.0.1:%d", ports[2*i+1]),
			"--initial-cluster", strings.Join(initial, ","), "--heartbeat-interval", "25", "--election-timeout", "250",
			"--log-level", "error",
		}
		members[i] = launch(t, args)
		go func() { members[i].waitReady(t); started <- members[i] }()
	}
	for range 3 {
		<-started
	}
	if t.Failed() {
		t.FailNow()
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if _, err := client(t, members[0].url).Put(ctx, "/cus/test/shared", "1"); err != nil {
		t.Fatal(err)
	}
	get, err := client(t, members[2].url).Get(ctx, "/cus/test/shared")
	if err != nil {
		t.Fatal(err)
	}
	if len(get.Kvs) != 1 {
		t.Fatal("a key written through member 0 is not read through member 2")
	}
	status, err := client(t, members[1].url).Status(ctx, members[1].url)
	if err != nil {
		t.Fatal(err)
	}
	if status.Leader == 0 {
		t.Fatal("member 1 knows no leader")
	}
	for _, m := range members {
		m.cancel()
	}
	for _, m := range members {
		if err := m.wait(); err != nil {
			t.Errorf("member stopped with %v", err)
		}
	}
}

type runningMember struct {
	url    string
	ready  chan string
	cancel context.CancelFunc
	done   chan struct{} // closed when run has returned err
	err    error
}

func launch(t *testing.T, args []string) *runningMember {
	ctx, cancel := context.WithCancel(context.Background())
	m := &runningMember{ready: make(chan string, 1), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		m.err = run(ctx, args, noEnv, func(*zap.Logger) {}, m.ready)
	}()
	t.Cleanup(func() {
		cancel()
		<-m.done
	})
	return m
}

func (m *runningMember) wait() error {
	<-m.done
	return m.err
}

func (m *runningMember) waitReady(t *testing.T) {
	select {
	case m.url = <-m.ready:
	case <-m.done:
		t.Errorf("member ended before it was ready: %v", m.err)
	case <-time.After(60 * time.Second):
		t.Error("member not ready after 60s")
	}
}

func startMember(t *testing.T, args []string) *runningMember {
	t.Helper()
	m := launch(t, args)
	m.waitReady(t)
	if m.url == "" {
		t.FailNow()
	}
	return m
}

func (m *runningMember) stop(t *testing.T) {
	t.Helper()
	m.cancel()
	if err := m.wait(); err != nil {
		t.Fatalf("a member stopped by its context returned %v", err)
	}
}

func client(t *testing.T, url string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{url}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	return cli
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	ports, err := etcdtest.FreePorts(n)
	if err != nil {
		t.Fatal(err)
	}
	return ports
}

func noEnv(string) string { return "" }

// embed logs every listener Close shuts as a failure; those lines are dropped once the stop began, not before.
func TestQuietStopDropsOnlyTheClosingNoise(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	var stopping atomic.Bool
	log := zap.New(&quietStop{Core: core, stopping: &stopping}).With(zap.String("member", "e0"))
	log.Error(embedServeFailed, zap.String("error", "accept tcp: address already in use"))
	stopping.Store(true)
	log.Error(embedServeFailed, zap.String("error", "http: Server closed"))
	log.Info("closed etcd server")
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Message)
	}
	if want := []string{embedServeFailed, "closed etcd server"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("logged %q, want %q", got, want)
	}
}

// A cluster past its quota refuses writes (NOSPACE); status shows the alarm, defrag shrinks the file once the
// data is deleted and compacted, disarm clears the alarm, and writes are accepted again.
func TestAdminCommandsRecoverFromNoSpace(t *testing.T) {
	c := etcdtest.StartWith(t, 1, etcdtest.Options{QuotaBackendBytes: 4 << 20})
	cli := c.Client(t)
	ctx := t.Context()
	endpoints := "--endpoints=http://" + c.Endpoint(0)
	value := strings.Repeat("x", 256<<10)
	var full error
	for i := 0; i < 64 && full == nil; i++ {
		_, full = cli.Put(ctx, fmt.Sprintf("/cus/test/big/%02d", i), value)
	}
	if full == nil || !strings.Contains(full.Error(), "database space exceeded") {
		t.Fatalf("16 MiB of puts into a 4 MiB quota ended with %v, want database space exceeded", full)
	}

	var out strings.Builder
	if err := admin(ctx, "status", []string{endpoints}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "leader") || !strings.Contains(out.String(), "ALARM NOSPACE") {
		t.Fatalf("status:\n%s\nwant the leader and the NOSPACE alarm", out.String())
	}

	del, err := cli.Delete(ctx, "/cus/test/big/", clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Compact(ctx, del.Header.Revision, clientv3.WithCompactPhysical()); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := admin(ctx, "defrag", []string{endpoints}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "defragmented in") {
		t.Fatalf("defrag said %q", out.String())
	}
	out.Reset()
	if err := admin(ctx, "disarm", []string{endpoints}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "disarmed NOSPACE") {
		t.Fatalf("disarm said %q", out.String())
	}
	if _, err := cli.Put(ctx, "/cus/test/after", "v"); err != nil {
		t.Fatalf("a put after defrag and disarm: %v", err)
	}
	out.Reset()
	if err := admin(ctx, "disarm", []string{endpoints}, noEnv, &out); err != nil || !strings.Contains(out.String(), "no alarm") {
		t.Fatalf("a second disarm: %v, %q", err, out.String())
	}
}

func TestAdminStatusNamesAnUnreachableMember(t *testing.T) {
	c := etcdtest.StartOne(t)
	gone := freePorts(t, 1)[0]
	var out strings.Builder
	err := admin(t.Context(), "status", []string{fmt.Sprintf("--endpoints=http://%s,http://127.0.0.1:%d", c.Endpoint(0), gone), "--timeout=2s"}, noEnv, &out)
	if err == nil || !strings.Contains(err.Error(), "1 of 2 members unreachable") {
		t.Fatalf("status = %v, want one member unreachable\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), fmt.Sprintf("127.0.0.1:%d\tunreachable", gone)) {
		t.Fatalf("status does not name the unreachable member:\n%s", out.String())
	}
}

// A member lost for good is replaced: removed by name, a new one announced with add-member and started with
// the flags it printed; the new member catches up with what was written before it joined.
func TestAdminReplacesALostMember(t *testing.T) {
	c := etcdtest.Start(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lost := (leader + 1) % 3
	c.Kill(lost)
	cli := c.Client(t)
	if _, err := cli.Put(ctx, "/cus/test/before", "1"); err != nil {
		t.Fatal(err)
	}
	endpoints := "--endpoints=http://" + c.Endpoint(leader)
	var out strings.Builder
	if err := admin(ctx, "remove-member", []string{endpoints, "--name", fmt.Sprintf("m%d", lost)}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	if err := admin(ctx, "remove-member", []string{endpoints, "--name", "nobody"}, noEnv, &out); err == nil || !strings.Contains(err.Error(), `no member named "nobody"`) {
		t.Fatalf("removing an unknown member: %v", err)
	}

	ports := freePorts(t, 2)
	peer := fmt.Sprintf("http://127.0.0.1:%d", ports[1])
	// etcd refuses a new member until every voting member has been connected for 5 s (the cluster here is
	// only seconds old); an operator simply runs the command again.
	for {
		out.Reset()
		err := admin(ctx, "add-member", []string{endpoints, "--name", "e9", "--peer-url", peer}, noEnv, &out)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "unhealthy cluster") || ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	_, flags, ok := strings.Cut(out.String(), "start it with:\n")
	if !ok {
		t.Fatalf("add-member printed %q", out.String())
	}
	args := append(strings.Fields(flags), "--data-dir", filepath.Join(t.TempDir(), "e9"),
		"--listen-client", fmt.Sprintf("127.0.0.1:%d", ports[0]), "--listen-peer", fmt.Sprintf("127.0.0.1:%d", ports[1]),
		"--heartbeat-interval", "25", "--election-timeout", "250", "--log-level", "error")
	m := startMember(t, args)
	get, err := client(t, m.url).Get(ctx, "/cus/test/before", clientv3.WithSerializable())
	for err == nil && len(get.Kvs) == 0 && ctx.Err() == nil { // a serializable read shows what e9 has applied
		time.Sleep(50 * time.Millisecond)
		get, err = client(t, m.url).Get(ctx, "/cus/test/before", clientv3.WithSerializable())
	}
	if err != nil || len(get.Kvs) != 1 {
		t.Fatalf("the new member has not caught up: %v, %v", err, get)
	}
	out.Reset()
	if err := admin(ctx, "members", []string{endpoints}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 3 || !strings.Contains(out.String(), "\te9\t") || strings.Contains(out.String(), fmt.Sprintf("\tm%d\t", lost)) {
		t.Fatalf("members after the replacement:\n%s", out.String())
	}
}

// A member added but never started has no name: a second add-member says so instead of printing an
// --initial-cluster with a nameless entry (which cus-etcd refuses), and remove-member --id drops it.
func TestAdminHandlesAMemberNotStarted(t *testing.T) {
	c := etcdtest.Start(t, 3)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	leader, err := c.WaitLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	endpoints := "--endpoints=http://" + c.Endpoint(leader)
	ports := freePorts(t, 2)
	unstarted := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	var out strings.Builder
	for { // etcd refuses a new member until every voting member has been connected for 5 s
		out.Reset()
		err := admin(ctx, "add-member", []string{endpoints, "--name", "e8", "--peer-url", unstarted}, noEnv, &out)
		if err == nil {
			break
		}
		if !strings.Contains(err.Error(), "unhealthy cluster") || ctx.Err() != nil {
			t.Fatal(err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	out.Reset()
	err = admin(ctx, "add-member", []string{endpoints, "--name", "e9", "--peer-url", fmt.Sprintf("http://127.0.0.1:%d", ports[1])}, noEnv, &out)
	if err == nil || !strings.Contains(err.Error(), "(peer "+unstarted+") was added but has not started yet") {
		t.Fatalf("add-member beside an unstarted member = %v, printed %q", err, out.String())
	}
	out.Reset()
	if err := admin(ctx, "members", []string{endpoints}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	var id string
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, "(not started yet)\tpeer "+unstarted) {
			id, _, _ = strings.Cut(line, "\t")
		}
	}
	if id == "" {
		t.Fatalf("members does not show the unstarted member:\n%s", out.String())
	}
	out.Reset()
	if err := admin(ctx, "remove-member", []string{endpoints, "--id", id}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "removed member (not started yet, peer "+unstarted+")") {
		t.Fatalf("remove-member --id printed %q", out.String())
	}
	out.Reset()
	if err := admin(ctx, "members", []string{endpoints}, noEnv, &out); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "\n"); n != 3 || strings.Contains(out.String(), unstarted) {
		t.Fatalf("members after removing the unstarted one:\n%s", out.String())
	}
	if err := admin(ctx, "remove-member", []string{endpoints, "--id", id}, noEnv, &out); err == nil || !strings.Contains(err.Error(), "no member with id "+id) {
		t.Fatalf("removing it twice: %v", err)
	}
}

func TestAdminRefusesBadMemberFlags(t *testing.T) {
	for _, tt := range []struct {
		cmd  string
		args []string
		want string
	}{
		{"add-member", []string{"--peer-url", "http://127.0.0.1:2480"}, "--name (CUS_NAME): which member?"},
		{"add-member", []string{"--name", "e3", "--peer-url", "127.0.0.1:2480"}, "--peer-url (CUS_PEER_URL)"},
		{"add-member", []string{"--name", "e3", "--peer-url", "http://10.0.0.4:2380"}, "--peer-url (CUS_PEER_URL): member e3: \"http://10.0.0.4:2380\" is plaintext beyond loopback"},
		{"remove-member", nil, "--name (CUS_NAME)"},
		{"remove-member", []string{"--id", "zz"}, `--id (CUS_ID): "zz" is not a member id`},
		{"remove-member", []string{"--id", "8e9e05c52164694d", "--name", "e1"}, "--id (CUS_ID): give --name or --id, not both"},
		{"status", []string{"--name", "e3"}, "flag provided but not defined: -name"},
	} {
		err := admin(t.Context(), tt.cmd, tt.args, noEnv, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s %v = %v, want %q", tt.cmd, tt.args, err, tt.want)
		}
	}
}
