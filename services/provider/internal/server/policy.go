package server

import (
	"github.com/cus-suite/cus/platform/auth"
	providerv1 "github.com/cus-suite/cus/proto/cus/provider/v1"
)

var (
	public   = []auth.Role{auth.RoleAnonymous}
	editors  = []auth.Role{auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration}
	bookers  = []auth.Role{auth.RoleCoordinator, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration}
	capacity = []auth.Role{auth.RoleCoordinator, auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration, auth.RoleProvider}
)

func with(roles []auth.Role, more ...auth.Role) []auth.Role {
	return append(append([]auth.Role(nil), roles...), more...)
}

// Policy says which role may call which method of the provider registry. Providers and agreements are public
// organisation data (HSDS organization, agreements published in the BIP); editing them is for the CUS's
// organisers, the director, the admin and integration clients, and provider staff may keep their own contact
// details and accreditations up to date. Holding and releasing capacity is for coordinators (who send
// referrals), the director, the admin and integrations; the referral service calls with its caller's token, and
// since a provider accepts or rejects a referral, provider staff hold and release capacity too, on their own
// agreements only (the handlers check the owner). Availability and reservations are not public; provider staff
// see only their own. docs/authorization.md is generated from this table.
var Policy = auth.Policy{
	Service: providerv1.ProviderService_ServiceDesc.ServiceName,
	Methods: map[string][]auth.Role{
		"GetProvider":      public,
		"ListProviders":    public,
		"GetAgreement":     public,
		"ListAgreements":   public,
		"CreateProvider":   editors,
		"UpdateProvider":   with(editors, auth.RoleProvider),
		"DeleteProvider":   editors,
		"ImportProviders":  editors,
		"CreateAgreement":  editors,
		"UpdateAgreement":  editors,
		"DeleteAgreement":  editors,
		"ReserveCapacity":  with(bookers, auth.RoleProvider),
		"ReleaseCapacity":  with(bookers, auth.RoleProvider),
		"GetAvailability":  capacity,
		"ListAvailability": capacity,
		"ListReservations": with(bookers, auth.RoleProvider),
		"ListChanges":      editors,
		"ExportProviders":  public,
		"ExportAgreements": public,
	},
	Notes: map[string]string{
		"UpdateProvider":   "provider staff: only their own provider, and only address, teryt_code, phones, email, website, description, accreditations",
		"ReserveCapacity":  "provider staff: only on their own agreements (when they accept a referral)",
		"ReleaseCapacity":  "provider staff: only on their own agreements",
		"GetAvailability":  "provider staff: only their own agreements",
		"ListAvailability": "provider staff: only their own agreements",
		"ListReservations": "provider staff: only their own agreements",
		"ListChanges":      "providers and agreements only; reservations are not in the feed",
	},
}
