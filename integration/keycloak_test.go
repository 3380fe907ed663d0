package integration

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/cus-suite/cus/platform/auth"
	"github.com/cus-suite/cus/platform/grpcserver"
	"github.com/cus-suite/cus/platform/plid"
)

// realm is the part of a Keycloak realm export the suite depends on.
type realm struct {
	Realm string `json:"realm"`
	Roles struct {
		Realm []struct {
			Name string `json:"name"`
		} `json:"realm"`
	} `json:"roles"`
	Groups  []group `json:"groups"`
	Clients []struct {
		ClientID               string   `json:"clientId"`
		PublicClient           bool     `json:"publicClient"`
		ServiceAccountsEnabled bool     `json:"serviceAccountsEnabled"`
		ProtocolMappers        []mapper `json:"protocolMappers"`
	} `json:"clients"`
	Users []struct {
		Username               string   `json:"username"`
		ServiceAccountClientID string   `json:"serviceAccountClientId"`
		RealmRoles             []string `json:"realmRoles"`
		Groups                 []string `json:"groups"`
	} `json:"users"`
}

type group struct {
	Path       string              `json:"path"`
	Attributes map[string][]string `json:"attributes"`
	RealmRoles []string            `json:"realmRoles"`
	SubGroups  []group             `json:"subGroups"`
}

type mapper struct {
	Name           string            `json:"name"`
	Protocol       string            `json:"protocol"`
	ProtocolMapper string            `json:"protocolMapper"`
	Config         map[string]string `json:"config"`
}

func readRealm(t *testing.T) *realm {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "integration/keycloak/cus-realm.json"))
	if err != nil {
		t.Fatal(err)
	}
	var r realm
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("cus-realm.json: %v", err)
	}
	return &r
}

// suiteExpects is what the services accept with their default flags, read from the flags themselves
// (platform/grpcserver) so that a changed default fails this test instead of silently breaking the realm.
func suiteExpects(t *testing.T) (flags grpcserver.SecurityFlags, roles []string) {
	t.Helper()
	fs := flag.NewFlagSet("service", flag.ContinueOnError)
	flags.RegisterFlags(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range auth.Roles {
		if r != auth.RoleAnonymous { // nobody is granted "anonymous": it is the absence of a token
			roles = append(roles, string(r))
		}
	}
	return flags, roles
}

// keycloakBuiltinRoles are created by Keycloak in every realm; they mean nothing to the suite.
var keycloakBuiltinRoles = []string{"offline_access", "uma_authorization", "default-roles-cus"}

func TestKeycloakRealmMatchesTheSuite(t *testing.T) {
	r := readRealm(t)
	flags, roles := suiteExpects(t)

	var realmRoles []string
	for _, role := range r.Roles.Realm {
		realmRoles = append(realmRoles, role.Name)
		if !slices.Contains(roles, role.Name) && !slices.Contains(keycloakBuiltinRoles, role.Name) {
			t.Errorf("realm role %q is no role of the suite (platform/auth.Roles): tokens carrying it grant nothing", role.Name)
		}
	}
	for _, want := range roles {
		if !slices.Contains(realmRoles, want) {
			t.Errorf("the realm has no role %q of the suite", want)
		}
	}

	if len(r.Clients) == 0 {
		t.Fatal("the realm has no clients")
	}
	for _, c := range r.Clients {
		t.Run(c.ClientID, func(t *testing.T) {
			byKind := map[string]mapper{}
			for _, m := range c.ProtocolMappers {
				if m.Protocol != "openid-connect" {
					t.Errorf("mapper %q: protocol %q, want openid-connect", m.Name, m.Protocol)
				}
				if m.Config["access.token.claim"] != "true" {
					t.Errorf("mapper %q does not write the access token, the token the suite reads", m.Name)
				}
				byKind[m.ProtocolMapper+"/"+m.Config["claim.name"]] = m
				if m.ProtocolMapper == "oidc-audience-mapper" {
					byKind["audience"] = m
				}
			}
			if aud := byKind["audience"].Config["included.custom.audience"]; aud != flags.OIDCAudience {
				t.Errorf("audience mapper adds %q, the services' --oidc-audience default is %q", aud, flags.OIDCAudience)
			}
			if m, ok := byKind["oidc-usermodel-realm-role-mapper/"+flags.RolesClaim]; !ok || m.Config["multivalued"] != "true" {
				t.Errorf("no multivalued realm-role mapper to the claim %q (--roles-claim default)", flags.RolesClaim)
			}
			if m, ok := byKind["oidc-usermodel-attribute-mapper/"+flags.ProviderClaim]; !ok || m.Config["user.attribute"] != flags.ProviderClaim {
				t.Errorf("no attribute mapper from the attribute %[1]q to the claim %[1]q (--provider-claim default)", flags.ProviderClaim)
			}
			if m, ok := byKind["oidc-hardcoded-claim-mapper/"+flags.TERCClaim]; ok {
				if err := plid.ValidateTERC(m.Config["claim.value"]); err != nil {
					t.Errorf("the %s claim of a peer: %v", flags.TERCClaim, err)
				}
			}
		})
	}
}

// keycloak stands in for a Keycloak server at /realms/<realm>: OIDC discovery and the JWKS, as Keycloak
// publishes them, and tokens shaped like Keycloak's access tokens, with the claims the realm export's mappers
// produce for a user or a client's service account.
type keycloak struct {
	r      *realm
	srv    *httptest.Server
	key    *rsa.PrivateKey
	kid    string
	issuer string
}

func newKeycloak(t *testing.T, r *realm) *keycloak {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	kc := &keycloak{r: r, key: key, kid: "kc-rs256-Z3x0YmFr"}
	mux := http.NewServeMux()
	base := "/realms/" + r.Realm
	mux.HandleFunc(base+"/.well-known/openid-configuration", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                kc.issuer,
			"jwks_uri":                              kc.issuer + "/protocol/openid-connect/certs",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc(base+"/protocol/openid-connect/certs", func(w http.ResponseWriter, _ *http.Request) {
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
			{Key: &key.PublicKey, KeyID: kc.kid, Algorithm: "RS256", Use: "sig"},
		}})
	})
	kc.srv = httptest.NewServer(mux)
	t.Cleanup(kc.srv.Close)
	kc.issuer = kc.srv.URL + base
	return kc
}

// accessToken issues what Keycloak would issue to subject (a username; for a service account, the
// "service-account-<client>" user) through client.
func (kc *keycloak) accessToken(t *testing.T, clientID, username string) string {
	t.Helper()
	var roles []string
	attrs := map[string]string{}
	for _, u := range kc.r.Users {
		if u.Username != username {
			continue
		}
		roles = append(roles, u.RealmRoles...)
		for _, path := range u.Groups {
			g := findGroup(kc.r.Groups, path)
			if g == nil {
				t.Fatalf("user %s is in the group %s, which the realm lacks", username, path)
			}
			roles = append(roles, g.RealmRoles...)
			for k, v := range g.Attributes {
				attrs[k] = v[0]
			}
		}
	}
	if len(roles) == 0 {
		t.Fatalf("user %s has no roles in the realm", username)
	}
	now := time.Now()
	claims := map[string]any{
		"exp": now.Add(5 * time.Minute).Unix(), "iat": now.Unix(), "jti": "onrtac:" + username,
		"iss": kc.issuer, "sub": "f:" + username, "typ": "Bearer", "azp": clientID,
		"aud":                []string{"account"}, // Keycloak's own, from the default "roles" scope
		"realm_access":       map[string]any{"roles": append([]string{"offline_access", "default-roles-" + kc.r.Realm}, roles...)},
		"scope":              "profile email",
		"preferred_username": username,
	}
	found := false
	for _, c := range kc.r.Clients {
		if c.ClientID != clientID {
			continue
		}
		found = true
		for _, m := range c.ProtocolMappers {
			if m.Config["access.token.claim"] != "true" {
				continue
			}
			switch m.ProtocolMapper {
			case "oidc-audience-mapper":
				claims["aud"] = append(claims["aud"].([]string), m.Config["included.custom.audience"])
			case "oidc-usermodel-realm-role-mapper":
				claims[m.Config["claim.name"]] = roles
			case "oidc-usermodel-attribute-mapper":
				if v, ok := attrs[m.Config["user.attribute"]]; ok {
					claims[m.Config["claim.name"]] = v
				}
			case "oidc-hardcoded-claim-mapper":
				claims[m.Config["claim.name"]] = m.Config["claim.value"]
			default:
				t.Fatalf("client %s: mapper type %s is not emulated by this test", clientID, m.ProtocolMapper)
			}
		}
	}
	if !found {
		t.Fatalf("no client %s in the realm", clientID)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: kc.key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kc.kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func findGroup(groups []group, path string) *group {
	for i := range groups {
		if groups[i].Path == path {
			return &groups[i]
		}
		if g := findGroup(groups[i].SubGroups, path); g != nil {
			return g
		}
	}
	return nil
}

// verifierFor builds the services' token verifier exactly as a service started with
// `--oidc-issuer <issuer>` and otherwise default flags does: keys by OIDC discovery, then the JWKS.
func verifierFor(t *testing.T, issuer string, override func(*grpcserver.SecurityFlags)) *auth.Verifier {
	t.Helper()
	flags, _ := suiteExpects(t)
	flags.OIDCIssuer = issuer
	if override != nil {
		override(&flags)
	}
	sec, err := flags.Build(auth.Policy{Service: "cus.test.v1.TestService"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sec.Auth.Close)
	if sec.Auth.Verifier == nil {
		t.Fatal("no verifier built for --oidc-issuer")
	}
	return sec.Auth.Verifier
}

// TestKeycloakTokensPassTheVerifier: tokens carrying the realm's mappers, signed by a key published the way
// Keycloak publishes it, are accepted by the services' verifier with default flags, with the right roles and
// bindings.
func TestKeycloakTokensPassTheVerifier(t *testing.T) {
	r := readRealm(t)
	kc := newKeycloak(t, r)
	v := verifierFor(t, kc.issuer, nil)
	cases := []struct {
		client, user string
		role         auth.Role
		providerID   string
		terc         string
	}{
		{"cus-staff", "koordynator", auth.RoleCoordinator, "", ""},
		{"cus-staff", "organizator", auth.RoleOrganiser, "", ""},
		{"cus-staff", "dyrektor", auth.RoleDirector, "", ""},
		{"cus-staff", "administrator", auth.RoleAdmin, "", ""},
		{"cus-staff", "smaki-rawicza", auth.RoleProvider, "0194c050-3022-7053-b000-000000000005", ""},
		{"cus-integration-ezd", "service-account-cus-integration-ezd", auth.RoleIntegration, "", ""},
		{"cus-referral-service", "service-account-cus-referral-service", auth.RoleIntegration, "", ""},
		{"cus-peer-3006023", "service-account-cus-peer-3006023", auth.RolePeer, "", "3006023"},
	}
	for _, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			p, err := v.Verify(context.Background(), kc.accessToken(t, tc.client, tc.user))
			if err != nil {
				t.Fatalf("the suite refuses the token: %v", err)
			}
			if !slices.Equal(p.Roles, []auth.Role{tc.role}) || p.ProviderID != tc.providerID || p.TERC != tc.terc || p.Via != "jwt" {
				t.Errorf("principal %+v, want role %s, provider %q, TERC %q", p, tc.role, tc.providerID, tc.terc)
			}
		})
	}
}

// TestKeycloakTokensWithoutTheMappersAreRefused shows what the mappers are for: Keycloak's tokens as they come
// without them are refused by the default flags (no audience "cus", no top-level roles claim), and the
// documented --roles-claim realm_access.roles reads Keycloak's own roles claim instead.
func TestKeycloakTokensWithoutTheMappersAreRefused(t *testing.T) {
	strip := func(kind string) *realm {
		r := readRealm(t)
		for i := range r.Clients {
			r.Clients[i].ProtocolMappers = slices.DeleteFunc(r.Clients[i].ProtocolMappers, func(m mapper) bool { return m.ProtocolMapper == kind })
		}
		return r
	}
	t.Run("no audience mapper", func(t *testing.T) {
		kc := newKeycloak(t, strip("oidc-audience-mapper"))
		_, err := verifierFor(t, kc.issuer, nil).Verify(context.Background(), kc.accessToken(t, "cus-staff", "koordynator"))
		if !errors.Is(err, auth.ErrTokenAudience) {
			t.Fatalf("error %v, want %v", err, auth.ErrTokenAudience)
		}
	})
	t.Run("no roles mapper", func(t *testing.T) {
		kc := newKeycloak(t, strip("oidc-usermodel-realm-role-mapper"))
		tok := kc.accessToken(t, "cus-staff", "koordynator")
		if _, err := verifierFor(t, kc.issuer, nil).Verify(context.Background(), tok); !errors.Is(err, auth.ErrTokenNoRole) {
			t.Fatalf("default --roles-claim: error %v, want %v", err, auth.ErrTokenNoRole)
		}
		realmAccess := func(f *grpcserver.SecurityFlags) { f.RolesClaim = "realm_access.roles" }
		p, err := verifierFor(t, kc.issuer, realmAccess).Verify(context.Background(), tok)
		if err != nil || !p.Has(auth.RoleCoordinator) {
			t.Fatalf("--roles-claim realm_access.roles: principal %+v, error %v; want a coordinator", p, err)
		}
	})
	t.Run("no provider mapper", func(t *testing.T) {
		kc := newKeycloak(t, strip("oidc-usermodel-attribute-mapper"))
		_, err := verifierFor(t, kc.issuer, nil).Verify(context.Background(), kc.accessToken(t, "cus-staff", "smaki-rawicza"))
		if !errors.Is(err, auth.ErrTokenBinding) {
			t.Fatalf("error %v, want %v", err, auth.ErrTokenBinding)
		}
	})
}
