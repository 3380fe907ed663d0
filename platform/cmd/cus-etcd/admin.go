package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"go.etcd.io/etcd/client/pkg/v3/transport"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/cus-suite/cus/platform/config"
)

// The operator's commands on a running cluster, so that no etcdctl has to be installed beside the suite:
//
//	cus-etcd status --endpoints URL,...   each member: leader or follower, database size and in use, alarms
//	cus-etcd defrag --endpoints URL,...   defragment the members one at a time (each answers nothing meanwhile)
//	cus-etcd disarm --endpoints URL,...   clear a NOSPACE alarm once space is freed (compaction, defragmentation)
type adminFlags struct {
	Endpoints     string
	Cert, Key, CA string
	Timeout       time.Duration
}

func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.Endpoints, "endpoints", "http://127.0.0.1:2379", "comma-separated client URLs of the members")
	fs.StringVar(&a.Cert, "cert", "", "TLS client certificate (PEM)")
	fs.StringVar(&a.Key, "key", "", "TLS client key (PEM)")
	fs.StringVar(&a.CA, "ca", "", "CA (PEM) of the members' certificates")
	fs.DurationVar(&a.Timeout, "timeout", time.Minute, "deadline of each request (a defragmentation of a large member takes a while)")
}

func (a *adminFlags) endpoints() []string {
	var eps []string
	for _, ep := range strings.Split(a.Endpoints, ",") {
		if ep = strings.TrimSpace(ep); ep != "" {
			eps = append(eps, ep)
		}
	}
	return eps
}

func (a *adminFlags) client() (*clientv3.Client, error) {
	cfg := clientv3.Config{Endpoints: a.endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()}
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("--endpoints (%s): no member given", config.EnvName("endpoints"))
	}
	if a.Cert != "" || a.Key != "" || a.CA != "" {
		info := transport.TLSInfo{CertFile: a.Cert, KeyFile: a.Key, TrustedCAFile: a.CA}
		tc, err := info.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("TLS: %w", err)
		}
		tc.MinVersion = tls.VersionTLS12
		cfg.TLS = tc
	}
	return clientv3.New(cfg)
}

// admin runs one of the operator's commands, writing its report to out.
func admin(ctx context.Context, cmd string, args []string, getenv func(string) string, out io.Writer) error {
	var a adminFlags
	fs := flag.NewFlagSet("cus-etcd "+cmd, flag.ContinueOnError)
	a.register(fs)
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	cli, err := a.client()
	if err != nil {
		return err
	}
	defer func() { _ = cli.Close() }()
	call := func() (context.Context, context.CancelFunc) { return context.WithTimeout(ctx, a.Timeout) }
	switch cmd {
	case "status":
		var failed int
		for _, ep := range a.endpoints() {
			c, cancel := call()
			st, err := cli.Status(c, ep)
			cancel()
			if err != nil {
				failed++
				_, _ = fmt.Fprintf(out, "%s\tunreachable: %v\n", ep, err)
				continue
			}
			role := "follower"
			if st.Header.MemberId == st.Leader {
				role = "leader"
			} else if st.Leader == 0 {
				role = "no leader"
			}
			_, _ = fmt.Fprintf(out, "%s\t%s\tdb %s, in use %s\traft term %d, index %d\t%s\n", ep, role, mibs(st.DbSize), mibs(st.DbSizeInUse),
				st.RaftTerm, st.RaftIndex, strings.Join(st.Errors, "; "))
		}
		c, cancel := call()
		alarms, err := cli.AlarmList(c)
		cancel()
		if err != nil {
			return fmt.Errorf("alarms: %w", err)
		}
		for _, al := range alarms.Alarms {
			_, _ = fmt.Fprintf(out, "ALARM %s on member %x\n", al.Alarm, al.MemberID)
		}
		if failed > 0 {
			return fmt.Errorf("%d of %d members unreachable", failed, len(a.endpoints()))
		}
		return nil
	case "defrag":
		// One member at a time: a member defragmenting answers nothing, the others serve meanwhile.
		for _, ep := range a.endpoints() {
			c, cancel := call()
			before, err := cli.Status(c, ep)
			if err == nil {
				start := time.Now()
				if _, err = cli.Defragment(c, ep); err == nil {
					var after *clientv3.StatusResponse
					if after, err = cli.Status(c, ep); err == nil {
						_, _ = fmt.Fprintf(out, "%s\tdefragmented in %s: db %s -> %s\n", ep, time.Since(start).Round(time.Millisecond), mibs(before.DbSize), mibs(after.DbSize))
					}
				}
			}
			cancel()
			if err != nil {
				return fmt.Errorf("defragment %s: %w", ep, err)
			}
		}
		return nil
	case "disarm":
		c, cancel := call()
		defer cancel()
		resp, err := cli.AlarmDisarm(c, &clientv3.AlarmMember{})
		if err != nil {
			return fmt.Errorf("disarm: %w", err)
		}
		for _, al := range resp.Alarms {
			_, _ = fmt.Fprintf(out, "disarmed %s on member %x\n", al.Alarm, al.MemberID)
		}
		if len(resp.Alarms) == 0 {
			_, _ = fmt.Fprintln(out, "no alarm was raised")
		}
		return nil
	}
	return fmt.Errorf("unknown command %q", cmd)
}

func mibs(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
