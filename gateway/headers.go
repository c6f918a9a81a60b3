package gateway

import (
	"context"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/metadata"
)

// forwardedHeaders maps the gRPC header metadata the service sets to the HTTP
// headers REST clients get, spelled as the seed spells them. Nothing else
// crosses: no Grpc-Metadata- headers, no trailers.
var forwardedHeaders = []struct{ md, http string }{
	{"x-request-id", "X-Request-Id"},
	{"x-ratelimit-limit", "X-RateLimit-Limit"},
	{"x-ratelimit-remaining", "X-RateLimit-Remaining"},
	{"x-ratelimit-reset", "X-RateLimit-Reset"},
	{"retry-after", "Retry-After"},
	{"cache-control", "Cache-Control"},
	{"idempotent-replayed", "Idempotent-Replayed"},
}

// copyHeaders writes the forwarded headers found in the call's header or
// trailer metadata (grpc-go may deliver an error's headers in either).
func copyHeaders(ctx context.Context, w http.ResponseWriter) {
	if md, ok := runtime.ServerMetadataFromContext(ctx); ok {
		writeHeaders(w, md.HeaderMD, md.TrailerMD)
	}
}

// writeHeaders sets each forwarded header from the first metadata that has it.
func writeHeaders(w http.ResponseWriter, mds ...metadata.MD) {
	h := w.Header()
	for _, f := range forwardedHeaders {
		for _, md := range mds {
			if v := first(md, f.md); v != "" {
				// Direct assignment keeps the seed's spelling (X-RateLimit-Limit);
				// Set would canonicalise it to X-Ratelimit-Limit.
				delete(h, http.CanonicalHeaderKey(f.http))
				h[f.http] = []string{v}
				break
			}
		}
	}
}

func first(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// incomingHeader passes the client's request id and Idempotency-Key to gRPC;
// Authorization is always passed by grpc-gateway itself. Other headers stay at
// the edge.
func incomingHeader(key string) (string, bool) {
	switch key {
	case "X-Request-Id":
		return "x-request-id", true
	case "Idempotency-Key":
		return "idempotency-key", true
	}
	return "", false
}

func dropHeader(string) (string, bool) { return "", false }
