package webhook

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// Guard is the operator's allowlist of webhook targets (--webhook-allow) and the SSRF guard of deliveries. A
// subscription's URL must match an entry; and every connection a delivery makes is checked again at connect
// time, on the IP address actually dialled (a net.Dialer Control hook), so a name that resolves, or is
// re-bound, to a private or loopback address does not reach it unless the operator allowed that address.
//
// Entries, one per flag value or comma-separated:
//
//	hooks.example.org              https to that host, any port and path
//	*.example.org                  https to any subdomain of example.org
//	https://crm.gmina.pl/cus/      https URLs under that prefix (port optional: then any; path: a prefix)
//	http://127.0.0.1:8085          plain http, only to a loopback IP literal (development, a local relay)
//	10.20.0.0/16                   private addresses a target may resolve to (an internal receiver); also
//	                               https URLs whose host is an IP literal in the range
//
// A name never makes a private address reachable by itself: the address must be public, in a range entry, or
// a loopback literal the URL names and an entry allows.
type Guard struct {
	rules []rule
	nets  []netip.Prefix
	// tlsConfig is used by the client (tests give a CA of their own).
	tlsConfig *tls.Config
}

type rule struct {
	scheme   string
	host     string // lower case; without the "*." of a wildcard
	wildcard bool
	port     string // "" any
	path     string // "" any
}

// ParseAllowlist builds a Guard from entries (each may hold several, comma-separated). An empty list allows
// nothing: webhooks are then refused until the operator names where they may go.
func ParseAllowlist(entries []string) (*Guard, error) {
	g := &Guard{}
	for _, raw := range entries {
		for e := range strings.SplitSeq(raw, ",") {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if err := g.add(e); err != nil {
				return nil, fmt.Errorf("webhook allowlist entry %q: %w", e, err)
			}
		}
	}
	return g, nil
}

func (g *Guard) add(e string) error {
	if p, err := netip.ParsePrefix(e); err == nil {
		g.nets = append(g.nets, p.Masked())
		return nil
	}
	if !strings.Contains(e, "://") {
		if strings.ContainsAny(e, "/:?#@") {
			return errors.New("a host pattern is a name like hooks.example.org or *.example.org; give a URL prefix with https://")
		}
		r := rule{scheme: "https", host: strings.ToLower(e)}
		if h, ok := strings.CutPrefix(r.host, "*."); ok {
			r.host, r.wildcard = h, true
		}
		if r.host == "" || strings.Contains(r.host, "*") {
			return errors.New("a wildcard is only a leading \"*.\"")
		}
		g.rules = append(g.rules, r)
		return nil
	}
	u, err := url.Parse(e)
	if err != nil {
		return err
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("a URL prefix has no user, query or fragment")
	}
	r := rule{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname()), port: u.Port(), path: u.EscapedPath()}
	if h, ok := strings.CutPrefix(r.host, "*."); ok {
		r.host, r.wildcard = h, true
	}
	if r.host == "" || strings.Contains(r.host, "*") {
		return errors.New("the host is missing, or a wildcard is not a leading \"*.\"")
	}
	switch r.scheme {
	case "https":
	case "http":
		if !isLoopbackLiteral(r.host) || r.wildcard {
			return errors.New("plain http is allowed only to a loopback IP literal (127.0.0.1, [::1]); use https")
		}
	default:
		return fmt.Errorf("scheme %q: only https (or http to loopback)", r.scheme)
	}
	g.rules = append(g.rules, r)
	return nil
}

func isLoopbackLiteral(host string) bool {
	a, err := netip.ParseAddr(strings.Trim(host, "[]"))
	return err == nil && a.Unmap().IsLoopback()
}

// Empty says whether the allowlist allows nothing.
func (g *Guard) Empty() bool { return g == nil || len(g.rules) == 0 && len(g.nets) == 0 }

// CheckURL says whether a subscription may target raw; the error is a description for the field.
func (g *Guard) CheckURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("required")
	}
	if len(raw) > 2000 {
		return nil, errors.New("at most 2,000 characters")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return nil, errors.New("must be an absolute URL, https://host/path")
	}
	if u.User != nil {
		return nil, errors.New("must not carry a user or password (it would be shown wherever the subscription is)")
	}
	if u.Fragment != "" {
		return nil, errors.New("must not have a fragment")
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if scheme != "https" && scheme != "http" {
		return nil, errors.New("must be https")
	}
	if port == "" {
		port = map[string]string{"https": "443", "http": "80"}[scheme]
	}
	if g.Empty() {
		return nil, errors.New("webhooks are not enabled on this instance: the operator has allowed no target (--webhook-allow)")
	}
	for _, r := range g.rules {
		if r.scheme != scheme || r.port != "" && r.port != port {
			continue
		}
		if r.wildcard && !strings.HasSuffix(host, "."+r.host) || !r.wildcard && host != r.host {
			continue
		}
		if p := u.EscapedPath(); r.path != "" && dotSegments(p) {
			continue // /cus/../admin would leave the allowed prefix once the receiver normalises the path
		} else if r.path != "" && r.path != "/" && p != strings.TrimSuffix(r.path, "/") && !strings.HasPrefix(p, strings.TrimSuffix(r.path, "/")+"/") {
			continue
		}
		return u, nil
	}
	if a, err := netip.ParseAddr(host); err == nil && scheme == "https" && g.inNets(a.Unmap()) {
		return u, nil
	}
	if scheme == "http" {
		return nil, fmt.Errorf("must be https (plain http only to a loopback address the operator allows); %s is not in the allowlist (--webhook-allow)", u.Host)
	}
	return nil, fmt.Errorf("%s is not in the operator's allowlist of webhook targets (--webhook-allow)", u.Host)
}

// dotSegments reports whether an escaped URL path has a "." or ".." segment, or an escaped slash, once unescaped:
// such a path can leave a path prefix of the allowlist after the receiving server normalises it.
func dotSegments(escaped string) bool {
	if strings.Contains(strings.ToLower(escaped), "%2f") || strings.Contains(strings.ToLower(escaped), "%5c") {
		return true
	}
	p, err := url.PathUnescape(escaped)
	if err != nil {
		return true
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func (g *Guard) inNets(a netip.Addr) bool {
	for _, p := range g.nets {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// special are ranges that are not public although netip does not call them private.
var special = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64: would reach any IPv4 address, private ones included
	netip.MustParsePrefix("64:ff9b:1::/48"),
	netip.MustParsePrefix("2002::/16"), // 6to4
	netip.MustParsePrefix("::/96"),     // IPv4-compatible (::127.0.0.1): routed to the IPv4 address over sit tunnels
	netip.MustParsePrefix("2001::/32"), // Teredo
	netip.MustParsePrefix("fec0::/10"), // site-local (deprecated, still routed privately)
}

// ErrAddressRefused is the error of a connection to an address the allowlist does not allow.
var ErrAddressRefused = errors.New("webhook: address not allowed")

// CheckAddr says whether a delivery to host (the URL's host) may connect to addr.
func (g *Guard) CheckAddr(host string, addr netip.Addr) error {
	a := addr.Unmap()
	if g.inNets(a) {
		return nil
	}
	if a.IsLoopback() {
		// Only when the URL itself names this loopback literal (and CheckURL allowed it): never through a name.
		if h, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil && h.Unmap() == a {
			return nil
		}
		return fmt.Errorf("%w: %s is a loopback address", ErrAddressRefused, a)
	}
	public := a.IsGlobalUnicast() && !a.IsPrivate()
	for _, p := range special {
		if p.Contains(a) {
			public = false
		}
	}
	if !public {
		return fmt.Errorf("%w: %s is not a public address and no --webhook-allow range holds it", ErrAddressRefused, a)
	}
	return nil
}

type hostKey struct{}

// Client returns the HTTP client of deliveries: every connection checked by CheckAddr, no proxy (a proxy would
// dial for us, unchecked), redirects not followed (a 3xx is a failed delivery), the whole exchange bounded by
// timeout.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{
		Timeout: timeout,
		ControlContext: func(ctx context.Context, _, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("%w: %s", ErrAddressRefused, address)
			}
			host, _ := ctx.Value(hostKey{}).(string)
			return g.CheckAddr(host, ap.Addr())
		},
	}
	tr := &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			return d.DialContext(context.WithValue(ctx, hostKey{}, host), network, addr)
		},
		TLSClientConfig:       g.tlsConfig,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport:     tr,
		Timeout:       timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// WithTLS returns a copy of g whose client trusts cfg's roots (tests, a private CA of the gmina).
func (g *Guard) WithTLS(cfg *tls.Config) *Guard {
	c := *g
	c.tlsConfig = cfg
	return &c
}
