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
var forwardedHeaders = func() []forwardedHeader {
	hs := []forwardedHeader{
		{md: "x-request-id", http: "X-Request-Id"},
		{md: "x-ratelimit-limit", http: "X-RateLimit-Limit"},
		{md: "x-ratelimit-remaining", http: "X-RateLimit-Remaining"},
		{md: "x-ratelimit-reset", http: "X-RateLimit-Reset"},
		{md: "retry-after", http: "Retry-After"},
		{md: "cache-control", http: "Cache-Control"},
		{md: "idempotent-replayed", http: "Idempotent-Replayed"},
		{md: "x-event-seq", http: "X-Event-Seq"},
	}
	for i := range hs {
		hs[i].canonical = http.CanonicalHeaderKey(hs[i].http)
	}
	return hs
}()

type forwardedHeader struct {
	md        string // lower case, as metadata keys are
	http      string // as the seed spells it
	canonical string // as net/http would store it, to replace a value set that way
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
				if f.canonical != f.http {
					delete(h, f.canonical)
				}
				h[f.http] = []string{v}
				break
			}
		}
	}
}

// first looks key up as given: metadata keys are lower case, and so are the
// table's, so md.Get's lower-casing is not needed.
func first(md metadata.MD, key string) string {
	if v := md[key]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// incomingHeader passes the client's request id, Idempotency-Key and If-Match
// to gRPC (the service checks If-Match in the write's transaction; it is the
// etag field of a gRPC request); Authorization is always passed by
// grpc-gateway itself. Other headers stay at the edge: If-None-Match is
// answered here (see conditional.go).
func incomingHeader(key string) (string, bool) {
	switch key {
	case "X-Request-Id":
		return "x-request-id", true
	case "Idempotency-Key":
		return "idempotency-key", true
	case "If-Match":
		return "if-match", true
	}
	return "", false
}

func dropHeader(string) (string, bool) { return "", false }
