// Package integration holds the integration kit's checks: the Bruno collection's requests exist in the
// gateway's OpenAPI document, the Keycloak realm export grants the roles, claims and audience the suite's
// verifier expects, and a token shaped like Keycloak's passes that verifier. The kit itself (README.md,
// bruno/, keycloak/, examples/) is for integrators; nothing here is imported by the services.
package integration
