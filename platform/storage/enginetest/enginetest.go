// Package enginetest runs a test binary's stores on the engine the environment variable
// CUS_TEST_STORAGE_ENGINE names: bbolt (unset, the default) or etcd. On etcd, Main starts one in-process etcd
// member for the whole binary and hooks storage.Open (storage.SetTestEngine) so that every store a test opens
// at a bbolt path (in t.TempDir()) is a prefix of its own on that member, derived from the path: the services'
// existing suites run unchanged on both engines (make test and make test-etcd). It is for tests only; a test
// about bbolt itself skips on etcd through BboltOnly.
package enginetest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cus-suite/cus/platform/etcdtest"
	"github.com/cus-suite/cus/platform/storage"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// EnvVar names the engine of the tests: "bbolt" (or unset) or "etcd".
const EnvVar = "CUS_TEST_STORAGE_ENGINE"

// Kind is the engine the tests run on.
func Kind() storage.EngineKind {
	if os.Getenv(EnvVar) == string(storage.EngineEtcd) {
		return storage.EngineEtcd
	}
	return storage.EngineBolt
}

// BboltOnly skips a test that is about bbolt itself (its file, its fsync, its lock) when the tests run on
// another engine, naming the engine and why.
func BboltOnly(tb testing.TB, why string) {
	tb.Helper()
	if k := Kind(); k != storage.EngineBolt {
		tb.Skipf("bbolt only (tests run on %s): %s", k, why)
	}
}

// The member's limits of one Txn are etcd's defaults (--max-txn-ops 128, --max-request-bytes 1.5 MiB), the
// limits a gmina's cluster has unless raised: every write the suites make (imports, federation pages, purges,
// the generator) must be sized to them, as in production, or be refused here too.
const (
	maxTxnOps       = 128
	maxRequestBytes = 1536 << 10
)

// Main is TestMain's body: it runs the tests on the engine EnvVar names and exits with their result.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run runs the tests on the engine EnvVar names and returns m.Run's exit code (2 when the engine is not known
// or etcd cannot start).
func Run(m *testing.M) int {
	switch v := os.Getenv(EnvVar); v {
	case "", string(storage.EngineBolt):
		return m.Run()
	case string(storage.EngineEtcd):
	default:
		fmt.Fprintf(os.Stderr, "%s=%q: want %q or %q\n", EnvVar, v, storage.EngineBolt, storage.EngineEtcd)
		return 2
	}
	member, err := etcdtest.StartShared(etcdtest.Options{MaxTxnOps: maxTxnOps, MaxRequestBytes: maxRequestBytes})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer member.Stop()
	// One client for every store: dialling one per Open would cost each test a connection.
	cli, err := clientv3.New(clientv3.Config{Endpoints: member.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop(),
		MaxCallSendMsgSize: 2 * maxRequestBytes, MaxCallRecvMsgSize: 2 * maxRequestBytes})
	if err != nil {
		fmt.Fprintln(os.Stderr, "enginetest: etcd client:", err)
		return 2
	}
	defer func() { _ = cli.Close() }()
	storage.SetTestEngine(func(path string) (storage.Engine, bool) {
		return storage.Engine{Kind: storage.EngineEtcd, Etcd: storage.EtcdOptions{
			Client: cli, Endpoints: member.Endpoints(), Prefix: Prefix(path),
			MaxTxnOps: maxTxnOps, MaxRequestBytes: maxRequestBytes}}, true
	})
	defer storage.SetTestEngine(nil)
	return m.Run()
}

// Prefix is the etcd prefix standing in for the bbolt file at path: the same path (a store reopened) gives
// the same prefix, two paths (two tests, two stores of one test) two prefixes.
func Prefix(path string) string {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	sum := sha256.Sum256([]byte(path))
	return "/test/" + hex.EncodeToString(sum[:8]) + "/"
}
