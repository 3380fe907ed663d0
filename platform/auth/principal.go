// Package auth establishes who calls a service and whether they may: bearer tokens (JWT) verified against an
// OIDC issuer's keys or, in development, a local key; one declarative table of which role may call which RPC;
// and the gRPC interceptors that enforce both inside every service, so a client that bypasses the gateway meets
// the same checks.
package auth

import (
	"context"
	"slices"
	"time"
)

// Role is what a caller is to the CUS.
type Role string

// The roles of the suite.
const (
	// RoleAnonymous is any caller without credentials: the public web, mobile app backends.
	RoleAnonymous Role = "anonymous"
	// RoleCoordinator is CUS staff (koordynator): cases, plans, referrals.
	RoleCoordinator Role = "coordinator"
	// RoleOrganiser is CUS staff (organizator usług): the catalogue and programmes.
	RoleOrganiser Role = "organiser"
	// RoleDirector approves plans and sees everything of the CUS (dyrektor).
	RoleDirector Role = "director"
	// RoleAdmin configures the instance, federation peers, and reads the audit log.
	RoleAdmin Role = "admin"
	// RoleProvider is staff of one provider, bound to its provider id.
	RoleProvider Role = "provider"
	// RoleIntegration is a machine identity of a gmina system (document system, social-assistance software).
	RoleIntegration Role = "integration"
	// RolePeer is another CUS instance, bound to its TERC code; it reads only the federation feed.
	RolePeer Role = "peer"
)

// Roles lists every role, in a stable order (for the authorization table and tests).
var Roles = []Role{RoleAnonymous, RoleCoordinator, RoleOrganiser, RoleDirector, RoleAdmin, RoleProvider, RoleIntegration, RolePeer}

// ValidRole reports whether r is a role of the suite.
func ValidRole(r Role) bool { return slices.Contains(Roles, r) }

// Principal is an authenticated caller.
type Principal struct {
	// Subject is the identity's stable id (token "sub" or certificate name). Not personal data of residents.
	Subject string
	// Roles granted; an anonymous caller has exactly RoleAnonymous.
	Roles []Role
	// ProviderID binds provider staff to their provider (a UUID); empty otherwise.
	ProviderID string
	// TERC binds a peer to its gmina; empty otherwise.
	TERC string
	// Scopes of an integration client (e.g. "catalogue.write").
	Scopes []string
	// Via says how the caller was authenticated: "jwt", "mtls" or "none".
	Via string
	// Expiry is when the caller's token expires; zero when the credential does not expire with the call
	// (anonymous, mTLS). Long-lived streams end at it.
	Expiry time.Time
}

// Anonymous is the principal of a caller without credentials.
func Anonymous() *Principal {
	return &Principal{Subject: "anonymous", Roles: []Role{RoleAnonymous}, Via: "none"}
}

// Has reports whether the principal has role r.
func (p *Principal) Has(r Role) bool { return p != nil && slices.Contains(p.Roles, r) }

// IsAnonymous reports whether the caller presented no credentials.
func (p *Principal) IsAnonymous() bool {
	return p == nil || (len(p.Roles) == 1 && p.Roles[0] == RoleAnonymous)
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the caller of ctx; an unauthenticated context yields the anonymous principal.
func FromContext(ctx context.Context) *Principal {
	if p, ok := ctx.Value(principalKey{}).(*Principal); ok && p != nil {
		return p
	}
	return Anonymous()
}
