package gateway

import (
	"net/http"
	"strings"

	"github.com/example/workspace/apierror"
)

// realm names the protection space in the challenge.
const realm = "workspace"

// challenge gives a 401 RFC 6750's WWW-Authenticate: Bearer, the scheme the
// API takes, and error="invalid_token" when a bearer token was sent and
// refused (missing, revoked, expired, malformed alike: which one stays in the
// body's message, never in the header). Without a token, or with another
// scheme, the challenge has no error code (RFC 6750 §3.1). Other answers get
// no challenge. gRPC has no such header: its UNAUTHENTICATED is the answer.
func challenge(w http.ResponseWriter, r *http.Request, e *apierror.Error) {
	if e.Code != apierror.CodeUnauthorized {
		return
	}
	v := `Bearer realm="` + realm + `"`
	if values := r.Header.Values("Authorization"); len(values) == 1 {
		if scheme, _, ok := strings.Cut(values[0], " "); ok && strings.EqualFold(scheme, "Bearer") {
			v += `, error="invalid_token"`
		}
	}
	w.Header().Set("WWW-Authenticate", v)
}
