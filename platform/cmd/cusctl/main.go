// Command cusctl is the suite's operator tool. In development it mints bearer tokens signed with the local
// development key, so every role can be tried without an identity server:
//
//	cusctl token --role organiser                      # prints a token for the REST gateway or grpcurl
//	cusctl token --role provider --provider-id <uuid>
//	cusctl token --role peer --terc 3006023
//
// Use it as: curl -H "Authorization: Bearer $(bin/cusctl token --role organiser)" ...
//
// It also moves a service's data from its bbolt file to an etcd cluster (migrate.go):
//
//	cusctl migrate-to-etcd --from var/provider/provider.db --etcd-endpoints https://etcd-0:2379 --etcd-prefix /cus/provider/
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/config"
)

func main() {
	if err := run(os.Args[1:]); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "cusctl:", err)
		os.Exit(1)
	}
}

type roleList []auth.Role

func (r *roleList) String() string { return fmt.Sprint(*r) }
func (r *roleList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		role := auth.Role(strings.TrimSpace(s))
		if !auth.ValidRole(role) || role == auth.RoleAnonymous {
			return fmt.Errorf("unknown role %q (want one of coordinator, organiser, director, admin, provider, integration, peer)", s)
		}
		*r = append(*r, role)
	}
	return nil
}

func run(args []string) error {
	if len(args) > 0 && args[0] == "migrate-to-etcd" {
		return migrateToEtcd(args[1:], os.Stdout)
	}
	if len(args) == 0 || args[0] != "token" {
		return errors.New("usage: cusctl token --role ROLE [--subject S] [--provider-id UUID] [--terc CODE] [--ttl 12h] [--keys-dir var/dev]\n" +
			"       cusctl migrate-to-etcd --from FILE --etcd-endpoints URLS --etcd-prefix /cus/SERVICE/ [--etcd-cert/--etcd-key/--etcd-ca] [--new-feed-id]")
	}
	fs := flag.NewFlagSet("cusctl token", flag.ContinueOnError)
	var req auth.TokenRequest
	var roles roleList
	fs.Var(&roles, "role", "role to grant (repeat or comma-separate)")
	fs.StringVar(&req.Subject, "subject", "", "subject (default: dev-<role>)")
	fs.StringVar(&req.ProviderID, "provider-id", "", "provider id, for the provider role")
	fs.StringVar(&req.TERC, "terc", "", "TERC code, for the peer role")
	fs.DurationVar(&req.TTL, "ttl", 12*time.Hour, "lifetime of the token")
	dir := fs.String("keys-dir", "var/dev", "directory of the development key (the services' --dev-keys-dir)")
	fs.Usage = config.Usage(fs)
	if err := config.Parse(fs, args[1:], os.Getenv); err != nil {
		return err
	}
	if len(roles) == 0 {
		return errors.New("--role is required")
	}
	req.Roles = roles
	if req.Subject == "" {
		req.Subject = "dev-" + string(roles[0])
	}
	key, err := auth.EnsureDevKey(*dir)
	if err != nil {
		return err
	}
	tok, err := auth.Mint(key, req)
	if err != nil {
		return err
	}
	fmt.Println(tok)
	return nil
}
