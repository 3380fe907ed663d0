package rest

import (
	"net/http"

	"github.com/cus-suite/cus/platform/i18n"
	"google.golang.org/grpc/status"
)

// Errors in the client's language. The services localize their own errors from the accept-language metadata
// the header matcher forwards (forwardedHeaders), and mark them with a google.rpc.LocalizedMessage; a status
// without one was made here (ROUTE_NOT_FOUND, MALFORMED_REQUEST, TOO_MANY_STREAMS, ...) or by a service that
// did not know the language, and is translated by its text from the same catalogue (platform/i18n). English
// stays the default; the code, the ErrorInfo reason and the field paths never change.

// localize gives st in the language r asks for, and tells caches that the body depends on Accept-Language.
func localize(w http.ResponseWriter, r *http.Request, st *status.Status) *status.Status {
	w.Header().Add("Vary", "Accept-Language")
	return i18n.LocalizeStatus(st, i18n.Negotiate(r.Header.Values("Accept-Language")...))
}
