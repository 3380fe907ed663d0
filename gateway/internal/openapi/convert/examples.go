package convert

// Examples of the main request and response bodies, by operation id. The data is invented (no real person,
// no real PESEL). `make lint-openapi` checks each example against its schema (no-invalid-media-type-examples
// is an error there), and TestExamplesUseDocumentedFields checks the keys here, so an example cannot drift
// from the API.
var requestExamples = map[string]string{
	"CatalogueService_CreateService": `{"displayName":"Kawiarenka Obywatelska",
		"description":"Spotkania mieszkańców przy kawie, w środy od 17:00.",
		"areas":["AREA_CIVIC_ACTIVITY"],"targetGroups":["TARGET_GROUP_ALL_RESIDENTS"],
		"email":"kawiarenka@example.org"}`,
	"CatalogueService_SearchServices": `{"query":"żłobek","areas":["AREA_FAMILY_SUPPORT"],
		"near":{"center":{"latitude":51.6094,"longitude":16.8583},"radiusMeters":3000},"pageSize":10}`,
	"ProviderService_CreateProvider": `{"displayName":"Fundacja Przykładowa","kind":"PROVIDER_KIND_FOUNDATION_OR_ASSOCIATION",
		"email":"biuro@example.org","address":{"address1":"ul. Przykładowa 1","city":"Rawicz","postalCode":"63-900","country":"PL"}}`,
	"ReferralService_CreateReferral": `{"resident":"residents/0194c050-0000-7000-8000-0000000000a1",
		"consent":"residents/0194c050-0000-7000-8000-0000000000a1/consents/0194c050-0000-7000-8000-0000000000c1",
		"service":"services/0194c050-3022-7053-8000-000000000001",
		"provider":"providers/0194c050-0000-7000-8000-0000000000b1",
		"agreement":"providers/0194c050-0000-7000-8000-0000000000b1/agreements/0194c050-0000-7000-8000-0000000000d1",
		"units":1,"priority":"PRIORITY_ROUTINE","note":"Pilne przyjęcie po zakończeniu leczenia szpitalnego."}`,
}

const exampleService = `{"name":"services/0194c050-3022-7053-8000-000000000001",
	"displayName":"Żłobek Miejski Słoneczko","description":"Opieka nad dziećmi do lat 3, od 6:30 do 16:30.",
	"status":"SERVICE_STATUS_ACTIVE","areas":["AREA_FAMILY_SUPPORT"],"targetGroups":["TARGET_GROUP_CHILDREN_UNDER_3"],
	"locations":[{"name":"Żłobek Słoneczko","address":{"address1":"ul. Przykładowa 1","city":"Rawicz","postalCode":"63-900","country":"PL"},
		"coordinates":{"latitude":51.6094,"longitude":16.8583}}],
	"fee":{"priceGrosze":35000,"currency":"PLN","unit":"FEE_UNIT_MONTH"},
	"originTerc":"3022053","createTime":"2026-01-05T08:00:00Z","updateTime":"2026-03-02T10:15:00Z","etag":"7f3a9c1e"}`

var responseExamples = map[string]string{
	"CatalogueService_GetService":    exampleService,
	"CatalogueService_CreateService": exampleService,
	"CatalogueService_ListServices":  `{"services":[` + exampleService + `],"nextPageToken":"CgJ4eA","totalSize":41}`,
	"CatalogueService_SearchServices": `{"results":[{"service":` + exampleService + `,"score":0.92,"distanceMeters":420}],
		"totalSize":1,"areaFacets":[{"area":"AREA_FAMILY_SUPPORT","count":1}]}`,
	"ReferralService_GetStatistics": `{"byStatus":{"REFERRAL_STATUS_SENT":3,"REFERRAL_STATUS_ACCEPTED":5},
		"acknowledgeSecondsMedian":5400,"overdueResponses":1,"total":8}`,
}

// statusExamples are the error bodies shown with the shared error responses, by HTTP status.
var statusExamples = map[string]string{
	"400": `{"code":3,"message":"invalid request: displayName: must not be empty",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"INVALID_FIELDS","domain":"cus.gov.pl"},
		{"@type":"type.googleapis.com/google.rpc.BadRequest","fieldViolations":[{"field":"service.display_name","description":"must not be empty"}]}]}`,
	"401": `{"code":16,"message":"this method needs a bearer token",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"AUTHENTICATION_REQUIRED","domain":"cus.gov.pl"}]}`,
	"403": `{"code":7,"message":"the role organiser may not call this method",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"PERMISSION_DENIED","domain":"cus.gov.pl"}]}`,
	"404": `{"code":5,"message":"no service services/0194c050-3022-7053-8000-00000000ffff",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"SERVICE_NOT_FOUND","domain":"cus.gov.pl"}]}`,
	"409": `{"code":10,"message":"the etag is stale: read the resource again and retry",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"STALE_ETAG","domain":"cus.gov.pl"}]}`,
	"413": `{"code":3,"message":"the request body is too large",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"BODY_TOO_LARGE","domain":"cus.gov.pl"}]}`,
	"429": `{"code":8,"message":"too many requests; retry later",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"RATE_LIMITED","domain":"cus.gov.pl"}]}`,
	"500": `{"code":13,"message":"internal error (request id 0194c050-6a1b-7000-8000-00000000beef)",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"INTERNAL","domain":"cus.gov.pl"}]}`,
	"503": `{"code":14,"message":"the service behind this route is unavailable; retry later",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"BACKEND_UNAVAILABLE","domain":"cus.gov.pl"}]}`,
	"504": `{"code":4,"message":"the service did not answer within the gateway's request deadline; retry later or ask for less",
		"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"DEADLINE_EXCEEDED","domain":"cus.gov.pl"}]}`,
}
