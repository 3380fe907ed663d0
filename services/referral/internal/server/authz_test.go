package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	referralv1 "github.com/cus-suite/cus/proto/cus/referral/v1"
	"github.com/cus-suite/cus/services/referral/internal/server"
)

// TestPolicyCoversEveryRPC: a method missing from the Policy would be refused to everyone; a name in the
// Policy that is no method is a typo.
func TestPolicyCoversEveryRPC(t *testing.T) {
	rpcs := map[string]bool{}
	for _, m := range referralv1.ReferralService_ServiceDesc.Methods {
		rpcs[m.MethodName] = true
	}
	for _, s := range referralv1.ReferralService_ServiceDesc.Streams {
		rpcs[s.StreamName] = true
	}
	for m := range rpcs {
		if len(server.Policy.Methods[m]) == 0 {
			t.Errorf("%s is not in the Policy", m)
		}
	}
	for m := range server.Policy.Methods {
		if !rpcs[m] {
			t.Errorf("the Policy names %s, which is not a method of the service", m)
		}
	}
	for m := range server.Policy.Notes {
		if !rpcs[m] {
			t.Errorf("a note for %s, which is not a method of the service", m)
		}
	}
}

func TestAuthorizationDocMatchesPolicy(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "docs", "authorization.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := server.Policy.Markdown()
	if !strings.Contains(string(b), want) {
		if os.Getenv("UPDATE_DOCS") == "1" {
			t.Logf("paste into docs/authorization.md:\n%s", want)
		}
		t.Fatalf("docs/authorization.md does not contain the referral service's table; it must read:\n%s", want)
	}
}
