package server

import (
	"github.com/cus-suite/cus/platform/auth"
	cataloguev1 "github.com/cus-suite/cus/proto/cus/catalogue/v1"
)

var (
	public  = []auth.Role{auth.RoleAnonymous}
	editors = []auth.Role{auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration}
	feed    = []auth.Role{auth.RolePeer, auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin, auth.RoleIntegration}
	staff   = []auth.Role{auth.RoleOrganiser, auth.RoleDirector, auth.RoleAdmin}
)

// Policy says which role may call which method of the catalogue. The published catalogue is public; editing it
// is for the CUS's organisers (organizator usług), the director, the admin and integration clients; the change
// feed is for peers (federation) and staff. docs/authorization.md is generated from this table.
var Policy = auth.Policy{
	Service: cataloguev1.CatalogueService_ServiceDesc.ServiceName,
	Methods: map[string][]auth.Role{
		"GetService":       public,
		"ListServices":     public,
		"SearchServices":   public,
		"GetProgramme":     public,
		"ListProgrammes":   public,
		"ListAreas":        public,
		"ListTargetGroups": public,
		"CreateService":    editors,
		"UpdateService":    editors,
		"DeleteService":    editors,
		"CreateProgramme":  editors,
		"UpdateProgramme":  editors,
		"DeleteProgramme":  editors,
		"ListChanges":      feed,
		"WatchChanges":     feed,
		"ListPeers":        staff,
		"ExportServices":   public,
		"ImportServices":   editors,
	},
	Notes: map[string]string{
		"ListChanges":    "the federation feed: published catalogue data only",
		"WatchChanges":   "the federation feed: published catalogue data only",
		"UpdateService":  "entries federated from another instance are read-only",
		"DeleteService":  "entries federated from another instance are read-only",
		"ListPeers":      "federation state: cursors, lag, last errors",
		"ExportServices": "the published catalogue, as ListServices",
		"ImportServices": "rows naming an entry federated from another instance are refused",
	},
}
