// Package gateway is the REST surface: grpc-gateway transcoding JSON under /v1
// onto the gRPC service through a client connection, so every call runs the
// server's interceptors, with CONTRACT §5's envelopes, §6's statuses and the
// rate-limit and request-id headers.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/gen/openapi"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/middleware/accesslog"
	"github.com/example/workspace/middleware/requestid"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/idempotency"
	"github.com/example/workspace/service/rpcmethod"
)

// SpecPath serves the OpenAPI 3 document of this surface, without a key.
const SpecPath = "/v1/openapi.json"

// DefaultMaxBodyBytes is CONTRACT §6's default body limit.
const DefaultMaxBodyBytes = 1 << 20

// Preflight authenticates a request that will not reach the service and
// counts it against the rate limit, returning the header metadata to send and
// the error (UNAUTHORIZED, RATE_LIMITED…) that takes precedence, if any.
type Preflight func(ctx context.Context, authorization string) (metadata.MD, error)

// Options configure the gateway.
type Options struct {
	// MaxBodyBytes is the body limit; ≤ 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Preflight, if set, runs for requests under /v1 that fail before reaching
	// the service.
	Preflight Preflight
	// Logger receives one access-log line for each request the gateway answers
	// itself (the calls it makes are logged by the server's interceptor);
	// nil discards them.
	Logger *slog.Logger
}

// Gateway is an http.Handler for the REST API.
type Gateway struct {
	mux       *runtime.ServeMux
	maxBody   int64
	preflight Preflight
	log       *slog.Logger
	routes    routes // for the Allow header of a 405
}

// New returns the REST handler calling the API over conn.
func New(ctx context.Context, conn grpc.ClientConnInterface, opts Options) (*Gateway, error) {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{maxBody: opts.MaxBodyBytes, preflight: opts.Preflight, log: opts.Logger, routes: newRoutes()}
	g.mux = runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, newEnvelopeMarshaler()),
		runtime.WithErrorHandler(g.handleError),
		runtime.WithRoutingErrorHandler(g.handleRoutingError),
		runtime.WithForwardResponseOption(forwardResponse),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(dropHeader),
		runtime.WithOutgoingTrailerMatcher(dropHeader),
		runtime.WithMetadata(routeMetadata),
		// No method games: a form-encoded POST is not a GET, and
		// X-HTTP-Method-Override does not turn a GET into a DELETE.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
		// A HEAD gets the length of the GET it stands for, however long.
		runtime.WithWriteContentLength(),
	)
	for _, register := range []func(context.Context, *runtime.ServeMux, grpc.ClientConnInterface) error{
		func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return workspacev1.RegisterProjectServiceHandlerClient(ctx, m, workspacev1.NewProjectServiceClient(c))
		},
		func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return workspacev1.RegisterTaskServiceHandlerClient(ctx, m, workspacev1.NewTaskServiceClient(c))
		},
		func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return workspacev1.RegisterApiKeyServiceHandlerClient(ctx, m, workspacev1.NewApiKeyServiceClient(c))
		},
		func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
			return workspacev1.RegisterWorkspaceServiceHandlerClient(ctx, m, workspacev1.NewWorkspaceServiceClient(c))
		},
	} {
		if err := register(ctx, g.mux, conn); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// requestKey carries what the gateway knows of the client's request past
// grpc-gateway: one context value for both.
type requestKey struct{}

type clientRequest struct {
	body   []byte // the body as read, to name a field that failed to decode
	method string // the client's method (PUT is served as PATCH)
}

func clientRequestFrom(ctx context.Context) clientRequest {
	c, _ := ctx.Value(requestKey{}).(*clientRequest)
	if c == nil {
		return clientRequest{}
	}
	return *c
}

func bodyFrom(ctx context.Context) []byte { return clientRequestFrom(ctx).body }

// routeMetadata tells the call its REST route, "METHOD /v1/pattern", for the
// access log; the method is the client's (PUT is served as PATCH).
func routeMetadata(ctx context.Context, r *http.Request) metadata.MD {
	pattern, ok := runtime.HTTPPathPattern(ctx)
	if !ok {
		return nil
	}
	method := clientRequestFrom(ctx).method
	if method == "" {
		method = r.Method
	}
	return metadata.Pairs(accesslog.MetadataHTTPRoute, method+" "+pattern)
}

// ServeHTTP settles the request id, answers what is not the API's, enforces the
// body's type and limit before any decoding, and hands the rest to
// grpc-gateway (a HEAD as its GET).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := requestid.Ensure(r.Header.Get("X-Request-Id"))
	r.Header.Set("X-Request-Id", id)
	w.Header().Set("X-Request-Id", id)
	w.Header().Set("Content-Type", "application/json")

	if r.URL.Path != "/v1" && !strings.HasPrefix(r.URL.Path, "/v1/") {
		g.refuse(w, r, notFoundRoute(r), false)
		return
	}
	// The API's own description is public and counts against no limit, so it
	// is answered here, before grpc-gateway and the interceptors that would
	// ask for a key. Other methods on it are 405, also without a key.
	if r.URL.Path == SpecPath {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", g.routes.allow(SpecPath))
			writeError(w, apierror.New(apierror.CodeMethodNotAllowed, "Method "+r.Method+" is not allowed on "+r.URL.Path, nil))
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(openapi.JSON)))
		if r.Method == http.MethodGet {
			_, _ = w.Write(openapi.JSON)
		}
		return
	}
	if e := refuseKeyInQuery(r.URL.RawQuery); e != nil {
		g.reject(w, r, e)
		return
	}
	if values := r.Header.Values("Idempotency-Key"); len(values) > 0 {
		// Checked here as the interceptor would, because grpc-go refuses to
		// send metadata that is not printable ASCII (a 500 otherwise).
		if e := idempotency.CheckKeys(values); e != nil {
			g.reject(w, r, e)
			return
		}
	}
	if e := unsupportedMediaType(r); e != nil {
		g.reject(w, r, e)
		return
	}
	if r.ContentLength > g.maxBody {
		g.reject(w, r, tooLarge(g.maxBody))
		return
	}
	cr := &clientRequest{method: r.Method}
	// The body is read whole, within the limit, before grpc-gateway decodes it:
	// an oversized body never reaches a decoder, and the bytes stay at hand to
	// name the offending field if decoding fails. A request without one (every
	// GET) has nothing to read.
	if r.Body != nil && r.Body != http.NoBody {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, g.maxBody))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				g.reject(w, r, tooLarge(g.maxBody))
				return
			}
			g.reject(w, r, apierror.New(apierror.CodeValidation, "The request body could not be read", nil))
			return
		}
		cr.body = body
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	ctx := context.WithValue(r.Context(), requestKey{}, cr)
	// PUT and PATCH are the same partial update (CONTRACT §4). grpc-gateway
	// derives the update mask from the body's fields only for PATCH, so a PUT
	// is served by the PATCH binding of the same RPC.
	if r.Method == http.MethodPut {
		r.Method = http.MethodPatch
	}
	r = r.WithContext(ctx)
	if r.Method == http.MethodHead {
		// A HEAD is the GET without its body (RFC 9110 §9.3.2): the same call,
		// scope and count. Only this copy says GET: net/http still sees its
		// own request's HEAD, and drops the body.
		r.Method = http.MethodGet
	}
	g.mux.ServeHTTP(w, r)
}

// credentialParams are query parameters that clients and libraries use to
// pass credentials in a URL.
var credentialParams = map[string]bool{
	"key": true, "api_key": true, "apikey": true, "api-key": true, "access_token": true,
	"token": true, "auth": true, "authorization": true, "bearer": true,
}

// refuseKeyInQuery refuses a URL that carries an API key: URLs end up in
// proxy logs, browser history and Referer headers, so a key there is as good
// as leaked. The request is refused whether or not the key is valid, and the
// key is never used to authenticate it; the parameter is named, its value
// never repeated.
func refuseKeyInQuery(rawQuery string) *apierror.Error {
	if rawQuery == "" {
		return nil
	}
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		// Malformed pairs are dropped; check the raw text as well.
		values = url.Values{}
	}
	unescaped, _ := url.QueryUnescape(rawQuery)
	for name, vs := range values {
		bad := credentialParams[strings.ToLower(name)]
		for _, v := range vs {
			bad = bad || strings.Contains(v, auth.KeyPrefix)
		}
		if bad && !strings.Contains(name, auth.KeyPrefix) {
			return apierror.Validation(name, "API keys are not accepted in the URL: send them in the Authorization header")
		}
	}
	if strings.Contains(rawQuery, auth.KeyPrefix) || strings.Contains(unescaped, auth.KeyPrefix) {
		return apierror.New(apierror.CodeValidation, "API keys are not accepted in the URL: send them in the Authorization header", nil)
	}
	return nil
}

func tooLarge(limit int64) *apierror.Error {
	return apierror.New(apierror.CodePayloadTooLarge,
		"The request body is larger than "+strconv.FormatInt(limit, 10)+" bytes", map[string]string{"limit": strconv.FormatInt(limit, 10)})
}

// forwardResponse copies the service's headers and answers 201 to creates.
func forwardResponse(ctx context.Context, w http.ResponseWriter, _ proto.Message) error {
	copyHeaders(ctx, w)
	if method, ok := runtime.RPCMethod(ctx); ok && rpcmethod.IsCreate(method) {
		w.WriteHeader(http.StatusCreated)
	}
	return nil
}

// HTTPStatus is the status the gateway answers a call of fullMethod that
// ended with err: 201 for a successful create, 200 for other successes, and
// the contract's status for the error's code. The access log uses it, so
// that its http_status is the gateway's own mapping.
func HTTPStatus(fullMethod string, err error) int {
	if err == nil {
		if rpcmethod.IsCreate(fullMethod) {
			return http.StatusCreated
		}
		return http.StatusOK
	}
	return apierror.FromStatus(status.Convert(err)).Code.HTTPStatus()
}
