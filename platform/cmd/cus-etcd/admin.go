package main

import (
	"context"
	"crypto/tls"
	"flag"
	"fmt"
	"io"
	"strconv"
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
//	cus-etcd members --endpoints URL,...  the members: id, name, peer and client URLs
//	cus-etcd add-member --name N --peer-url URL --endpoints URL,...   announce a new member before starting it
//	cus-etcd remove-member --name N --endpoints URL,...               drop a member that is gone for good
//	cus-etcd remove-member --id ID --endpoints URL,...                the same by id (a member added but never started has no name)
type adminFlags struct {
	Endpoints     string
	Cert, Key, CA string
	Timeout       time.Duration
	Name, PeerURL string // add-member, remove-member
	ID            string // remove-member
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
	switch cmd {
	case "add-member":
		fs.StringVar(&a.PeerURL, "peer-url", "", "peer URL of the new member (its --listen-peer or --advertise-peer, as http:// or https://)")
		fallthrough
	case "remove-member":
		fs.StringVar(&a.Name, "name", "", "name of the member (its --name)")
	}
	if cmd == "remove-member" {
		fs.StringVar(&a.ID, "id", "", "id of the member in hex, as members prints it (instead of --name, for a member added but never started)")
	}
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args, getenv); err != nil {
		return err
	}
	var removeID uint64
	switch {
	case cmd == "remove-member" && a.ID != "":
		if a.Name != "" {
			return fmt.Errorf("--id (%s): give --name or --id, not both", config.EnvName("id"))
		}
		id, err := strconv.ParseUint(a.ID, 16, 64)
		if err != nil || id == 0 {
			return fmt.Errorf("--id (%s): %q is not a member id such as 8e9e05c52164694d", config.EnvName("id"), a.ID)
		}
		removeID = id
	case (cmd == "add-member" || cmd == "remove-member") && a.Name == "":
		return fmt.Errorf("--name (%s): which member?", config.EnvName("name"))
	}
	if cmd == "add-member" {
		if _, err := parseInitialCluster(a.Name+"="+a.PeerURL, a.Name); err != nil {
			return fmt.Errorf("--peer-url (%s): %w", config.EnvName("peer-url"), err)
		}
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
	case "members":
		c, cancel := call()
		defer cancel()
		resp, err := cli.MemberList(c)
		if err != nil {
			return fmt.Errorf("members: %w", err)
		}
		for _, m := range resp.Members {
			name := m.Name
			if name == "" {
				name = "(not started yet)"
			}
			_, _ = fmt.Fprintf(out, "%x\t%s\tpeer %s\tclient %s\n", m.ID, name, strings.Join(m.PeerURLs, ","), strings.Join(m.ClientURLs, ","))
		}
		return nil
	case "add-member":
		c, cancel := call()
		defer cancel()
		// A member added but not started has no name yet, so the new member's --initial-cluster could not list
		// it (and etcd would refuse the list without it): one member at a time, as etcd's own guide says.
		list, err := cli.MemberList(c)
		if err != nil {
			return fmt.Errorf("members: %w", err)
		}
		for _, m := range list.Members {
			if m.Name == "" {
				return fmt.Errorf("member %x (peer %s) was added but has not started yet: start it first, or drop it with remove-member --id %x",
					m.ID, strings.Join(m.PeerURLs, ","), m.ID)
			}
		}
		resp, err := cli.MemberAdd(c, []string{a.PeerURL})
		if err != nil {
			return fmt.Errorf("add member %s: %w", a.Name, err)
		}
		// The new member starts with every member listed, itself included, and joins the running cluster.
		var initial []string
		for _, m := range resp.Members {
			name := m.Name
			if m.ID == resp.Member.ID {
				name = a.Name
			}
			for _, u := range m.PeerURLs {
				initial = append(initial, name+"="+u)
			}
		}
		_, _ = fmt.Fprintf(out, "added member %s (%x); start it with:\n  --name %s --initial-cluster %s --initial-cluster-state existing\n",
			a.Name, resp.Member.ID, a.Name, strings.Join(initial, ","))
		return nil
	case "remove-member":
		c, cancel := call()
		defer cancel()
		list, err := cli.MemberList(c)
		if err != nil {
			return fmt.Errorf("members: %w", err)
		}
		for _, m := range list.Members {
			if (removeID != 0 && m.ID == removeID) || (removeID == 0 && m.Name == a.Name) {
				if _, err := cli.MemberRemove(c, m.ID); err != nil {
					return fmt.Errorf("remove member %x: %w", m.ID, err)
				}
				name := m.Name
				if name == "" {
					name = "(not started yet, peer " + strings.Join(m.PeerURLs, ",") + ")"
				}
				_, _ = fmt.Fprintf(out, "removed member %s (%x)\n", name, m.ID)
				return nil
			}
		}
		if removeID != 0 {
			return fmt.Errorf("no member with id %x", removeID)
		}
		return fmt.Errorf("no member named %q", a.Name)
	}
	return fmt.Errorf("unknown command %q", cmd)
}

func mibs(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
