package auth

import (
	"encoding/json"
	"net/http"
	"strings"

	"google.golang.org/grpc/codes"

	"github.com/cus-suite/cus/platform/apierr"
)

// ErrAdminRequired refuses an authenticated caller without the admin role on an admin endpoint.
var ErrAdminRequired = apierr.New(apierr.KindPermissionDenied, "ADMIN_REQUIRED", "this endpoint needs a token with the admin role")

// RequireAdmin guards an HTTP handler of the admin listener (e.g. /backup, whose copy holds everything the
// service stores) with the same bearer tokens the service verifies over gRPC: no or a bad token is 401, a
// token without the admin role 403, both as a JSON google.rpc.Status like the REST API's errors. A service
// without a verifier (no token issuer configured) refuses everyone. Reaching the admin address is not enough:
// it is also reachable by every local process and, in Kubernetes, by the monitoring namespace.
func RequireAdmin(v *Verifier, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := httpPrincipal(v, r)
		if err != nil {
			writeHTTPError(w, err)
			return
		}
		if !p.Has(RoleAdmin) {
			writeHTTPError(w, ErrAdminRequired)
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

func httpPrincipal(v *Verifier, r *http.Request) (*Principal, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return nil, ErrAuthenticationRequired
	}
	if len(vals) > 1 {
		return nil, ErrMalformedAuthorization
	}
	scheme, token, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "bearer") || strings.TrimSpace(token) == "" {
		return nil, ErrMalformedAuthorization
	}
	if v == nil {
		return nil, ErrTokensNotAccepted
	}
	return v.Verify(r.Context(), strings.TrimSpace(token))
}

// writeHTTPError writes err as the REST API writes errors: a google.rpc.Status with an ErrorInfo.
func writeHTTPError(w http.ResponseWriter, err error) {
	e, ok := apierr.As(err)
	if !ok {
		// Not a verdict on the token: the keys could not be had in time (the request's context ended).
		e = ErrKeysUnavailable
	}
	code, status := codes.Unauthenticated, http.StatusUnauthorized
	switch e.Kind {
	case apierr.KindPermissionDenied:
		code, status = codes.PermissionDenied, http.StatusForbidden
	case apierr.KindUnavailable:
		code, status = codes.Unavailable, http.StatusServiceUnavailable
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="cus-admin"`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"code":    int(code),
		"message": e.Message,
		"details": []map[string]any{{
			"@type":  "type.googleapis.com/google.rpc.ErrorInfo",
			"reason": e.Reason,
			"domain": apierr.Domain,
		}},
	})
}
