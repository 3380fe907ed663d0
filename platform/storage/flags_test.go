package storage

import (
	"flag"
	"reflect"
	"strings"
	"testing"

	"github.com/cus-suite/cus/platform/config"
)

func TestEngineFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		want    Engine
		wantErr string
	}{
		{name: "default is bbolt", want: Engine{Kind: EngineBolt}},
		{name: "etcd from the environment, prefix by service",
			env: map[string]string{"CUS_STORAGE_ENGINE": "etcd", "CUS_ETCD_ENDPOINTS": "https://e0:2379, https://e1:2379"},
			want: Engine{Kind: EngineEtcd, Etcd: EtcdOptions{Endpoints: []string{"https://e0:2379", "https://e1:2379"}, Prefix: "/cus/provider/",
				MaxTxnOps: DefaultEtcdMaxTxnOps, MaxRequestBytes: DefaultEtcdMaxRequestBytes}}},
		{name: "etcd with TLS and a gmina's prefix",
			args: []string{"--storage-engine=etcd", "--etcd-endpoints=https://e0:2379", "--etcd-prefix=/cus/gmina-0201011/provider/",
				"--etcd-cert=c.pem", "--etcd-key=k.pem", "--etcd-ca=ca.pem", "--etcd-max-txn-ops=10000", "--etcd-max-request-bytes=10485760"},
			want: Engine{Kind: EngineEtcd, Etcd: EtcdOptions{Endpoints: []string{"https://e0:2379"}, Prefix: "/cus/gmina-0201011/provider/",
				CertFile: "c.pem", KeyFile: "k.pem", CAFile: "ca.pem", MaxTxnOps: 10000, MaxRequestBytes: 10 << 20}}},
		{name: "etcd without endpoints", args: []string{"--storage-engine=etcd"}, wantErr: "no endpoints"},
		{name: "a certificate without its key", args: []string{"--storage-engine=etcd", "--etcd-endpoints=e0:2379", "--etcd-cert=c.pem"}, wantErr: "--etcd-key"},
		{name: "a txn limit below any use", args: []string{"--storage-engine=etcd", "--etcd-endpoints=e0:2379", "--etcd-max-txn-ops=3"}, wantErr: "--etcd-max-txn-ops 3"},
		{name: "unknown engine", args: []string{"--storage-engine=postgres"}, wantErr: `"postgres"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("x", flag.ContinueOnError)
			var f EngineFlags
			f.RegisterFlags(fs, "provider")
			if err := config.Parse(fs, tc.args, func(k string) string { return tc.env[k] }); err != nil {
				t.Fatal(err)
			}
			got, err := f.Engine()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to name %s", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Engine() = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}
