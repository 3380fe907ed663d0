package storage

import (
	"fmt"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// EngineKind names a storage engine.
type EngineKind string

// The engines (package doc).
const (
	// EngineBolt is one bbolt file per service on local disk: one process per data file, the default.
	EngineBolt EngineKind = "bbolt"
	// EngineEtcd is a prefix per service on an etcd cluster, shared by every replica of the service.
	EngineEtcd EngineKind = "etcd"
)

// Engine chooses the engine of Open. The zero value is bbolt.
type Engine struct {
	Kind EngineKind
	Etcd EtcdOptions
}

// etcd's own defaults for --max-txn-ops and --max-request-bytes: a cluster started with larger values lets a
// service write larger groups when EtcdOptions says so too.
const (
	DefaultEtcdMaxTxnOps       = 128
	DefaultEtcdMaxRequestBytes = 1536 * 1024
)

// EtcdOptions configure the etcd engine.
type EtcdOptions struct {
	// Endpoints of the cluster's members ("https://10.0.0.1:2379").
	Endpoints []string
	// Prefix of every key of the service, e.g. "/cus/catalogue/"; each service (each gmina's service) has its
	// own. Required.
	Prefix string
	// DialTimeout bounds connecting and the first read at Open. Default 5 s.
	DialTimeout time.Duration
	// CertFile, KeyFile: a TLS client certificate; CAFile: the CA of the members' certificates. All optional;
	// any of them set means TLS.
	CertFile, KeyFile, CAFile string
	// Client, when set, is used instead of dialling Endpoints (tests; a process sharing one client); Close
	// does not close it.
	Client *clientv3.Client
	// MaxTxnOps and MaxRequestBytes bound one etcd Txn; they must not exceed the cluster's --max-txn-ops and
	// --max-request-bytes. Defaults: etcd's (128 operations, 1.5 MiB).
	MaxTxnOps       int
	MaxRequestBytes int
	// RequestTimeout bounds one request to etcd. Default 2 s: a request stuck on a member that just lost its
	// leader is given up early (a read is tried again, a commit's outcome resolved) rather than waiting for
	// the server's own timeout (5 s and more).
	RequestTimeout time.Duration
	// ResolveTimeout bounds learning the outcome of a commit whose reply was lost; past it the backend fails
	// (ErrFailed) and the process restarts. Default 30 s.
	ResolveTimeout time.Duration
	// HistoryRetention: Maintain compacts etcd's history to the revision it saw this long ago. Default 1 h.
	HistoryRetention time.Duration
	// DefragInterval: Maintain defragments, at most this often, members whose database is less than half in
	// use. Default 24 h; negative: never.
	DefragInterval time.Duration
	// ScratchDir holds the bbolt file a backup is assembled in before it is streamed. Default os.TempDir().
	ScratchDir string
}

func (o EtcdOptions) withDefaults() EtcdOptions {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 5 * time.Second
	}
	if o.MaxTxnOps <= 0 {
		o.MaxTxnOps = DefaultEtcdMaxTxnOps
	}
	if o.MaxRequestBytes <= 0 {
		o.MaxRequestBytes = DefaultEtcdMaxRequestBytes
	}
	if o.RequestTimeout <= 0 {
		o.RequestTimeout = 2 * time.Second
	}
	if o.ResolveTimeout <= 0 {
		o.ResolveTimeout = 30 * time.Second
	}
	if o.HistoryRetention <= 0 {
		o.HistoryRetention = time.Hour
	}
	if o.DefragInterval == 0 {
		o.DefragInterval = 24 * time.Hour
	}
	return o
}

func (o EtcdOptions) validate() error {
	if o.MaxTxnOps < 0 || (o.MaxTxnOps > 0 && o.MaxTxnOps < 16) {
		return fmt.Errorf("storage engine etcd: --etcd-max-txn-ops %d is below 16 (etcd's default is %d)", o.MaxTxnOps, DefaultEtcdMaxTxnOps)
	}
	if o.MaxRequestBytes < 0 || (o.MaxRequestBytes > 0 && o.MaxRequestBytes < 64<<10) {
		return fmt.Errorf("storage engine etcd: --etcd-max-request-bytes %d is below 64 KiB (etcd's default is %d)", o.MaxRequestBytes, DefaultEtcdMaxRequestBytes)
	}
	if o.Prefix == "" {
		return fmt.Errorf("storage engine etcd: a key prefix is required (--etcd-prefix, e.g. /cus/catalogue/)")
	}
	if strings.ContainsRune(o.Prefix, 0) {
		return fmt.Errorf("storage engine etcd: the key prefix %q holds a NUL byte", o.Prefix)
	}
	if o.Client == nil && len(o.Endpoints) == 0 {
		return fmt.Errorf("storage engine etcd: no endpoints (--etcd-endpoints, e.g. https://etcd-0:2379,https://etcd-1:2379)")
	}
	if (o.CertFile == "") != (o.KeyFile == "") {
		return fmt.Errorf("storage engine etcd: a client certificate needs both --etcd-cert and --etcd-key")
	}
	return nil
}

// Location names the store Open(path, Options{Engine: e}) opens: path on bbolt, "etcd:" + prefix on etcd. It
// is the key of Supervise and InjectFault.
func (e Engine) Location(path string) string {
	if e.Kind == EngineEtcd {
		return etcdLocation(e.Etcd.Prefix)
	}
	return path
}

func etcdLocation(prefix string) string { return "etcd:" + prefix }
