package webhook

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestAllowlistURLs(t *testing.T) {
	g, err := ParseAllowlist([]string{"hooks.example.org, *.gmina.pl", "https://crm.example.com:8443/cus/", "http://127.0.0.1:8085", "10.20.0.0/16"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		url  string
		want string // "" allowed, else part of the refusal
	}{
		{"https://hooks.example.org/in", ""},
		{"https://hooks.example.org:9443/in", ""},
		{"https://a.gmina.pl/x", ""},
		{"https://gmina.pl/x", "not in the operator's allowlist"},
		{"https://hooks.example.org.evil.com/", "not in the operator's allowlist"},
		{"https://crm.example.com:8443/cus/hook", ""},
		{"https://crm.example.com:8443/cus", ""},
		{"https://crm.example.com:8443/cusX", "not in the operator's allowlist"},
		{"https://crm.example.com:8443/cus/../admin", "not in the operator's allowlist"},     // normalised by the receiver
		{"https://crm.example.com:8443/cus/%2e%2e/admin", "not in the operator's allowlist"}, // the same, escaped
		{"https://crm.example.com:8443/cus%2f..%2fadmin", "not in the operator's allowlist"}, // an escaped slash
		{"https://crm.example.com/cus/hook", "not in the operator's allowlist"},
		{"http://hooks.example.org/in", "must be https"},
		{"http://127.0.0.1:8085/hook", ""},
		{"http://127.0.0.1:9999/hook", "must be https"},
		{"https://10.20.3.4/hook", ""},
		{"https://10.21.3.4/hook", "not in the operator's allowlist"},
		{"https://user:pw@hooks.example.org/", "user or password"},
		{"ftp://hooks.example.org/", "must be https"},
		{"/relative", "absolute"},
		{"", "required"},
	} {
		_, err := g.CheckURL(c.url)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s refused: %v", c.url, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%s: %v, want a refusal saying %q", c.url, err, c.want)
		}
	}
	for _, bad := range []string{"http://hooks.example.org", "https://*bad.org", "gopher://x", "host/with/path", "https://a.org/?q=1"} {
		if _, err := ParseAllowlist([]string{bad}); err == nil {
			t.Errorf("entry %q accepted", bad)
		}
	}
	empty, _ := ParseAllowlist(nil)
	if _, err := empty.CheckURL("https://hooks.example.org/"); err == nil || !strings.Contains(err.Error(), "--webhook-allow") {
		t.Errorf("an empty allowlist allowed a target: %v", err)
	}
}

func TestCheckAddr(t *testing.T) {
	g, _ := ParseAllowlist([]string{"hooks.example.org", "http://127.0.0.1:8085", "10.20.0.0/16"})
	for _, c := range []struct {
		host, addr string
		ok         bool
	}{
		{"hooks.example.org", "93.184.216.34", true},
		{"hooks.example.org", "10.20.1.1", true},
		{"hooks.example.org", "10.21.1.1", false},
		{"hooks.example.org", "192.168.1.1", false},
		{"hooks.example.org", "169.254.169.254", false}, // cloud metadata
		{"hooks.example.org", "127.0.0.1", false},       // a name re-bound to loopback
		{"hooks.example.org", "::ffff:127.0.0.1", false},
		{"hooks.example.org", "100.64.0.1", false},
		{"hooks.example.org", "::1", false},
		{"hooks.example.org", "fd00::1", false},
		{"hooks.example.org", "64:ff9b::a00:1", false},
		{"hooks.example.org", "0.0.0.0", false},
		{"hooks.example.org", "::127.0.0.1", false},         // IPv4-compatible: a sit tunnel routes it to loopback
		{"hooks.example.org", "::a00:1", false},             // ... or to 10.0.0.1
		{"hooks.example.org", "2001:0:4136:e378::1", false}, // Teredo
		{"127.0.0.1", "127.0.0.1", true},                    // the URL names the loopback literal itself
		{"127.0.0.1", "127.0.0.2", false},
	} {
		err := g.CheckAddr(c.host, netip.MustParseAddr(c.addr))
		if (err == nil) != c.ok {
			t.Errorf("%s -> %s: %v, want allowed=%v", c.host, c.addr, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrAddressRefused) {
			t.Errorf("%s: error %v is not ErrAddressRefused", c.addr, err)
		}
	}
}

// A URL the allowlist accepts by name is still refused at connect time when the name resolves to an address
// that is not allowed: "localhost" resolves to loopback, which only a loopback literal entry opens.
func TestClientRefusesDisallowedAddressAtDial(t *testing.T) {
	hits := 0
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { hits++ }))
	defer srv.Close()
	port := srv.Listener.Addr().(interface{ AddrPort() netip.AddrPort }).AddrPort().Port()
	target := "https://localhost:" + itoa(int(port)) + "/hook"
	// The test server's certificate names example.com: verify it under that name while dialling localhost.
	tlsCfg := srv.Client().Transport.(*http.Transport).TLSClientConfig.Clone()
	tlsCfg.ServerName = "example.com"

	g, _ := ParseAllowlist([]string{"localhost"})
	if _, err := g.CheckURL(target); err != nil {
		t.Fatalf("the URL itself is allowed by name: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	_, err := g.WithTLS(tlsCfg).Client(2 * time.Second).Do(req)
	if !errors.Is(err, ErrAddressRefused) {
		t.Fatalf("dial to loopback through a name: %v, want ErrAddressRefused", err)
	}
	// The operator opens the range: the same URL now connects.
	g2, _ := ParseAllowlist([]string{"localhost", "127.0.0.0/8", "::1/128"})
	req, _ = http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	resp, err := g2.WithTLS(tlsCfg).Client(2 * time.Second).Do(req)
	if err != nil {
		t.Fatalf("with the range allowed: %v", err)
	}
	resp.Body.Close()
	if hits != 1 {
		t.Fatalf("receiver hit %d times, want 1", hits)
	}
}

func TestClientDoesNotFollowRedirects(t *testing.T) {
	followed := false
	mux := http.NewServeMux()
	mux.HandleFunc("/hook", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/elsewhere", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/elsewhere", func(http.ResponseWriter, *http.Request) { followed = true })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	g, _ := ParseAllowlist([]string{"http://127.0.0.1"})
	resp, err := g.Client(2*time.Second).Post(srv.URL+"/hook", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || followed {
		t.Fatalf("status %d, followed=%v: a redirect must come back as the answer", resp.StatusCode, followed)
	}
}
