package hsds

// The OpenAPI document of this API, served at /hsds/openapi.json (the openapi_url of `/`). HSDS's own
// openapi.json is a template with placeholders and endpoints this API does not serve (service_at_locations,
// and organizations without the provider registry); this one describes exactly what is served and refers to
// HSDS's published schemas for the objects, as the template does.

const hsdsSchemaBase = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"

type obj = map[string]any

// openAPIDocument describes the API; orgs says whether organizations are served (Options.Providers).
func openAPIDocument(baseURL, publisher string, orgs bool) obj {
	title := "HSDS 3.0 API of the CUS social-services catalogue"
	if publisher != "" {
		title += " (" + publisher + ")"
	}
	ref := func(name string) obj { return obj{"$ref": "#/components/parameters/" + name} }
	listParams := []any{ref("page"), ref("per_page"), ref("search"), ref("format")}
	idParam := []any{obj{
		"name": "id", "in": "path", "required": true,
		"description": "The object's id.", "schema": obj{"type": "string", "format": "uuid"},
	}}
	paths := obj{
		"/": get("getAPIMetaInformation", "Information about this API and its relationship with HSDS.", nil,
			obj{"$ref": "#/components/schemas/Root"}),
		"/services": get("getPaginatedListOfServices",
			"Services, paginated. Without full=true each has only its one-to-one fields.",
			append(append([]any{}, listParams...), ref("taxonomy_term_id"), ref("taxonomy_id"),
				ref("organization_id"), ref("modified_after"), ref("full")),
			pageSchema(hsdsSchemaBase+"compiled/service.json")),
		"/services/{id}": get("getFullyNestedServiceById", "One fully nested service.", idParam,
			obj{"$ref": hsdsSchemaBase + "compiled/service.json"}),
		"/taxonomies": get("getPaginatedListOfTaxonomies", "The taxonomies, paginated.", listParams,
			pageSchema(hsdsSchemaBase+"taxonomy.json")),
		"/taxonomies/{id}": get("getTaxonomyById", "One taxonomy.", idParam,
			obj{"$ref": hsdsSchemaBase + "taxonomy.json"}),
		"/taxonomy_terms": get("getPaginatedListOfTaxonomyTerms", "Taxonomy terms, paginated.",
			append(append([]any{}, listParams...), ref("taxonomy_id"),
				obj{"name": "top_only", "in": "query", "description": "Only terms without a parent (all are).",
					"schema": obj{"type": "boolean"}},
				obj{"name": "parent_id", "in": "query", "description": "Only children of this term (none have a parent).",
					"schema": obj{"type": "string", "format": "uuid"}}),
			pageSchema(hsdsSchemaBase+"taxonomy_term.json")),
		"/taxonomy_terms/{id}": get("getTaxonomyTermById", "One taxonomy term.", idParam,
			obj{"$ref": hsdsSchemaBase + "taxonomy_term.json"}),
	}
	orgFilter := "Only services of this organization. No organizations are published, so no service matches."
	if orgs {
		orgFilter = "Only services this organization provides: it is one of the service's providers (the " +
			"service's organization is its first provider)."
		paths["/organizations"] = get("getPaginatedListOfOrganizations",
			"The organizations (providers of the registry that are not closed) by name, paginated. Without "+
				"full=true each has only its one-to-one fields; with it, phones, seat and identifiers too. search "+
				"matches names, description and town (diacritics optional) or a NIP, REGON or KRS number.",
			append(append([]any{}, listParams...),
				query("full", "Fully nested organizations (without services and funding).", obj{"type": "boolean"})),
			pageSchema(hsdsSchemaBase+"compiled/organization_list.json"))
		paths["/organizations/{id}"] = get("getOrganizationById",
			"One fully nested organization, with the funding of its agreements in force and the services it "+
				"provides (one-to-one fields, or fully nested with full_service=true).",
			append(append([]any{}, idParam...), ref("format"),
				query("full_service", "Fully nested services instead of their one-to-one fields.", obj{"type": "boolean"})),
			obj{"$ref": hsdsSchemaBase + "compiled/organization.json"})
	}
	description := "Read-only Open Referral HSDS 3.0 view of the social services a Centrum Usług " +
		"Społecznych offers. Services are classified by the areas of art. 2 ust. 1 of the act on social " +
		"services (taxonomy \"" + AreaTaxonomyName + "\") and by target groups (\"" +
		TargetGroupTaxonomyName + "\")."
	if orgs {
		description += " Organizations are the providers (realizatorzy usług) of the CUS's registry; a " +
			"service's organization is its first provider."
	}
	description += " Errors are google.rpc.Status objects."
	return obj{
		"openapi":           "3.1.0",
		"jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
		"info": obj{
			"title":       title,
			"version":     Version,
			"description": description,
			"license":     obj{"name": "Apache-2.0", "identifier": "Apache-2.0"},
		},
		"servers": []any{obj{"url": baseURL}},
		"paths":   paths,
		"components": obj{
			"schemas": obj{
				"Root": obj{"type": "object", "properties": obj{
					"version":     obj{"type": "string", "description": "HSDS version of this API."},
					"profile":     obj{"type": "string", "format": "uri", "description": "URL of the HSDS profile of this API."},
					"openapi_url": obj{"type": "string", "format": "uri", "description": "URL of this document."},
					"publisher":   obj{"type": "string", "description": "Who publishes the data."},
				}},
				"Page": obj{"type": "object", "properties": obj{
					"total_items": obj{"type": "integer", "description": "Number of matching entities over all pages."},
					"total_pages": obj{"type": "integer", "description": "Number of pages."},
					"page_number": obj{"type": "integer", "description": "Number of this page, from 1."},
					"size":        obj{"type": "integer", "description": "Number of entities on this page."},
					"first_page":  obj{"type": "boolean", "description": "Whether this is the first page."},
					"last_page":   obj{"type": "boolean", "description": "Whether no page follows this one."},
					"empty":       obj{"type": "boolean", "description": "Whether this page has no entities."},
				}},
				"Status": obj{"type": "object", "description": "google.rpc.Status", "properties": obj{
					"code":    obj{"type": "integer", "description": "gRPC status code, e.g. 3 (INVALID_ARGUMENT)."},
					"message": obj{"type": "string"},
					"details": obj{"type": "array", "items": obj{"type": "object"},
						"description": "google.rpc.ErrorInfo (domain cus.gov.pl) and, for bad parameters, google.rpc.BadRequest."},
				}},
			},
			"parameters": obj{
				"page": query("page", "Page number, from 1 (default 1).", obj{"type": "integer", "minimum": 1}),
				"per_page": query("per_page", "Entities per page, 1 to 200 (default 50).",
					obj{"type": "integer", "minimum": 1, "maximum": maxPerPage}),
				"search": query("search", "Free text; Polish diacritics optional.", obj{"type": "string"}),
				"format": query("format", "Only json is served.", obj{"type": "string", "enum": []any{"json"}}),
				"taxonomy_term_id": query("taxonomy_term_id", "Only services with this taxonomy term.",
					obj{"type": "string", "format": "uuid"}),
				"taxonomy_id": query("taxonomy_id", "Only services with a term of this taxonomy.",
					obj{"type": "string", "format": "uuid"}),
				"organization_id": query("organization_id", orgFilter, obj{"type": "string", "format": "uuid"}),
				"modified_after": query("modified_after", "Only services modified on or after this RFC 3339 date-time.",
					obj{"type": "string", "format": "date-time"}),
				"full": query("full", "Fully nested services instead of their one-to-one fields.", obj{"type": "boolean"}),
			},
		},
	}
}

func query(name, description string, schema obj) obj {
	return obj{"name": name, "in": "query", "required": false, "description": description, "schema": schema}
}

func pageSchema(itemSchema string) obj {
	return obj{
		"allOf": []any{obj{"$ref": "#/components/schemas/Page"}},
		"properties": obj{
			"contents": obj{"type": "array", "items": obj{"$ref": itemSchema}},
		},
	}
}

func get(operationID, summary string, params []any, schema obj) obj {
	op := obj{
		"operationId": operationID,
		"summary":     summary,
		"responses": obj{
			"200": obj{"description": "OK", "content": obj{"application/json": obj{"schema": schema}}},
			"default": obj{"description": "Error", "content": obj{"application/json": obj{
				"schema": obj{"$ref": "#/components/schemas/Status"}}}},
		},
	}
	if params != nil {
		op["parameters"] = params
	}
	return obj{"get": op}
}
