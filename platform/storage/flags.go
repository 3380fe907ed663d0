package storage

import (
	"flag"
	"fmt"
	"strings"
	"time"
)

// GrowthFlags are the flags every service has for the data that would otherwise only grow: how long the change
// log keeps changes and how long request ids are remembered.
type GrowthFlags struct {
	ChangeRetention time.Duration
	RequestIDTTL    time.Duration
}

// Default windows: a month of changes (a follower or harvester away longer resyncs from a full listing) and a
// day of request ids (a client retries a request within minutes, not days).
const (
	DefaultChangeRetention = 720 * time.Hour
	DefaultRequestIDTTL    = 24 * time.Hour
)

// RegisterFlags declares --change-retention and --request-id-ttl on fs.
func (g *GrowthFlags) RegisterFlags(fs *flag.FlagSet) {
	fs.DurationVar(&g.ChangeRetention, "change-retention", DefaultChangeRetention,
		"how long the change log keeps changes; consumers further behind get OUT_OF_RANGE CHANGES_COMPACTED and resync (0 keeps every change)")
	fs.DurationVar(&g.RequestIDTTL, "request-id-ttl", DefaultRequestIDTTL,
		"how long a request id is remembered for idempotent retries (0 remembers it forever)")
}

// Maintenance is the worker's configuration for these flags.
func (g GrowthFlags) Maintenance() Maintenance {
	return Maintenance{ChangeRetention: max(g.ChangeRetention, 0), RequestTTL: max(g.RequestIDTTL, 0)}
}

// EngineFlags are the flags choosing the storage engine (package doc): --storage-engine, and for etcd
// --etcd-endpoints, --etcd-prefix and the TLS client files. Their environment variables follow the suite's
// rule (CUS_STORAGE_ENGINE, CUS_ETCD_ENDPOINTS, ...).
type EngineFlags struct {
	Kind      string
	Endpoints string
	Prefix    string
	Cert      string
	Key       string
	CA        string
	// MaxTxnOps and MaxRequestBytes: the cluster's --max-txn-ops and --max-request-bytes (0: etcd's defaults).
	MaxTxnOps       int
	MaxRequestBytes int
}

// RegisterFlags declares the engine flags on fs; service names the default prefix (/cus/<service>/).
func (f *EngineFlags) RegisterFlags(fs *flag.FlagSet, service string) {
	fs.StringVar(&f.Kind, "storage-engine", string(EngineBolt),
		"storage engine: bbolt (one data file on local disk, one process) or etcd (an etcd cluster shared by every replica of the service)")
	fs.StringVar(&f.Endpoints, "etcd-endpoints", "",
		"comma-separated etcd client URLs, e.g. https://etcd-0:2379,https://etcd-1:2379 (with --storage-engine=etcd)")
	fs.StringVar(&f.Prefix, "etcd-prefix", "/cus/"+service+"/",
		"key prefix of this service's data in etcd; a CUS serving several gminas gives each its own")
	fs.StringVar(&f.Cert, "etcd-cert", "", "TLS client certificate (PEM) for etcd")
	fs.StringVar(&f.Key, "etcd-key", "", "TLS client key (PEM) for etcd")
	fs.StringVar(&f.CA, "etcd-ca", "", "CA certificate (PEM) that signed the etcd members' certificates")
	fs.IntVar(&f.MaxTxnOps, "etcd-max-txn-ops", DefaultEtcdMaxTxnOps,
		"the etcd cluster's --max-txn-ops: keys one write may change (raise both together for large imports)")
	fs.IntVar(&f.MaxRequestBytes, "etcd-max-request-bytes", DefaultEtcdMaxRequestBytes,
		"the etcd cluster's --max-request-bytes: bytes one write may send")
}

// Engine checks the flags and returns the engine they choose.
func (f EngineFlags) Engine() (Engine, error) {
	switch EngineKind(f.Kind) {
	case EngineBolt, "":
		return Engine{Kind: EngineBolt}, nil
	case EngineEtcd:
		var eps []string
		for _, ep := range strings.Split(f.Endpoints, ",") {
			if ep = strings.TrimSpace(ep); ep != "" {
				eps = append(eps, ep)
			}
		}
		e := Engine{Kind: EngineEtcd, Etcd: EtcdOptions{Endpoints: eps, Prefix: f.Prefix, CertFile: f.Cert, KeyFile: f.Key, CAFile: f.CA,
			MaxTxnOps: f.MaxTxnOps, MaxRequestBytes: f.MaxRequestBytes}}
		if err := e.Etcd.validate(); err != nil {
			return Engine{}, err
		}
		return e, nil
	default:
		return Engine{}, fmt.Errorf("--storage-engine %q: want %q or %q", f.Kind, EngineBolt, EngineEtcd)
	}
}

// Location is Engine().Location(path): the key of Supervise for the store these flags choose (path when they
// are invalid: Open refuses them anyway).
func (f EngineFlags) Location(path string) string {
	e, err := f.Engine()
	if err != nil {
		return path
	}
	return e.Location(path)
}
