package gateway

import (
	"context"
	"errors"
	"net/http"
	"net/url"

	"google.golang.org/protobuf/proto"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/service/etag"
)

// Conditional requests (RFC 9110 §13) on REST. The entity-tag is the
// resource's etag field, which the service sets from the record's version:
// the gateway copies it to the ETag header of every answer that carries one
// resource (get, create, update), and answers a GET whose If-None-Match
// matches it with 304 and no body. If-Match is the service's: forwarded as
// metadata (headers.go), checked in the write's transaction.

// errNotModified is what forwardResponse returns to have handleError answer
// 304 instead of the body.
var errNotModified = errors.New("gateway: not modified")

// resourceTag is the etag of the one resource a response carries (its
// response_body, as the generated handlers expose it), or "".
func resourceTag(msg proto.Message) string {
	rb, ok := msg.(interface{ XXX_ResponseBody() interface{} })
	if !ok {
		return ""
	}
	if r, ok := rb.XXX_ResponseBody().(interface{ GetEtag() string }); ok {
		return r.GetEtag()
	}
	return ""
}

// checkConditionalHeaders refuses a malformed If-Match or If-None-Match (RFC
// 9110 gives no status for one; a 400 says what is wrong, where a 412 or a
// silent 200 would leave the client guessing) and an etag query parameter,
// the gRPC request field that REST spells If-Match. It returns the parsed
// If-None-Match, if any.
func checkConditionalHeaders(r *http.Request) (*etag.Condition, *apierror.Error) {
	if values := r.Header.Values("If-Match"); len(values) > 0 {
		// Printable ASCII too: the values travel as gRPC metadata, which
		// refuses anything else (a tab is whitespace to RFC 9110).
		if _, ok := etag.Parse(values...); !ok || !printable(values) {
			return nil, apierror.Validation("If-Match", `If-Match must be an entity-tag as the ETag header gives it ("3", quotes included), a comma-separated list of them, or *`)
		}
	}
	if r.URL.RawQuery != "" {
		if q, err := url.ParseQuery(r.URL.RawQuery); err == nil && q.Has("etag") {
			return nil, apierror.Validation("etag", "Send the ETag in the If-Match header, not in the URL")
		}
	}
	values := r.Header.Values("If-None-Match")
	if len(values) == 0 {
		return nil, nil
	}
	c, ok := etag.Parse(values...)
	if !ok {
		return nil, apierror.Validation("If-None-Match", `If-None-Match must be an entity-tag as the ETag header gives it ("3", quotes included), a comma-separated list of them, or *`)
	}
	return &c, nil
}

// conditionalResponse sets the ETag header of an answer that carries a
// resource and reports whether a GET's If-None-Match makes it a 304. Writes
// ignore If-None-Match (only If-Match guards them).
func conditionalResponse(ctx context.Context, w http.ResponseWriter, msg proto.Message) error {
	tag := resourceTag(msg)
	if tag == "" {
		return nil
	}
	// Assigned, not Set, to keep RFC 9110's spelling (Set would write Etag).
	w.Header()["ETag"] = []string{tag}
	cr := clientRequestFrom(ctx)
	if cr.ifNoneMatch != nil && (cr.method == http.MethodGet || cr.method == http.MethodHead) && cr.ifNoneMatch.MatchWeak(tag) {
		return errNotModified
	}
	return nil
}

// writeNotModified answers 304 (RFC 9110 §15.4.5): the headers a 200 would
// have had that describe the request and the resource (ETag, X-Request-Id,
// the rate limit) and no body, hence no Content-Type.
func writeNotModified(ctx context.Context, w http.ResponseWriter) {
	copyHeaders(ctx, w)
	h := w.Header()
	h.Del("Content-Type")
	h.Del("Content-Length")
	w.WriteHeader(http.StatusNotModified)
}

func printable(values []string) bool {
	for _, v := range values {
		for i := 0; i < len(v); i++ {
			if v[i] < 0x20 || v[i] > 0x7e {
				return false
			}
		}
	}
	return true
}
