// Command cus-etcd runs one member of an etcd cluster for the suite's etcd storage engine: etcd's own server
// (go.etcd.io/etcd/server/v3/embed, built from its Go module with the rest of the suite, so nothing is
// downloaded as a binary), with the suite's flags, environment variables and zap logs. Three of them make the
// cluster of `make run-ha`:
//
//	cus-etcd --name e0 --data-dir var/ha/etcd/e0 --listen-client 127.0.0.1:2479 --listen-peer 127.0.0.1:2480 \
//	  --initial-cluster e0=http://127.0.0.1:2480,e1=http://127.0.0.1:2482,e2=http://127.0.0.1:2484
//
// A member serves etcd's API, /health and /metrics on its client address. SIGTERM or SIGINT stops it
// gracefully: a leader hands leadership to a follower first, so writes pause for one round trip, not an
// election. Every flag also reads from an environment variable: --data-dir is CUS_DATA_DIR.
//
//	cus-etcd [serve] [flags]              run a member
//	cus-etcd status --endpoints URL,...   each member: leader or follower, database size and in use, alarms
//	cus-etcd defrag --endpoints URL,...   defragment the members one at a time (each answers nothing meanwhile)
//	cus-etcd disarm --endpoints URL,...   clear a NOSPACE alarm once space is freed
//	cus-etcd members | add-member --name N --peer-url URL | remove-member --name N|--id ID   (--endpoints URL,...)
//
// The commands after serve spare an operator installing etcdctl beside the suite.
package main

import (
	"context"
	"os"

	"github.com/cus-suite/cus/platform/config"
	"github.com/cus-suite/cus/platform/logging"
)

func main() {
	adminCmd := func(cmd string) config.Command {
		return config.Command{Name: cmd, Run: func(ctx context.Context, args []string) error {
			return admin(ctx, cmd, args, os.Getenv, os.Stdout)
		}}
	}
	config.Main("cus-etcd",
		config.Command{Name: "serve", Run: func(ctx context.Context, args []string) error {
			return run(ctx, args, os.Getenv, logging.RouteGRPCLogs, nil)
		}},
		adminCmd("status"), adminCmd("defrag"), adminCmd("disarm"), adminCmd("members"), adminCmd("add-member"), adminCmd("remove-member"),
	)
}
