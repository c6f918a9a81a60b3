// Package gateway is the REST surface: grpc-gateway transcoding JSON under /v1
// onto the gRPC service through a client connection, so every call runs the
// server's interceptors, with CONTRACT §5's envelopes, §6's statuses and the
// rate-limit and request-id headers.
package gateway

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/apimethod"
	"github.com/example/workspace/gen/openapi"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/middleware/accesslog"
	"github.com/example/workspace/service/admission"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/etag"
	"github.com/example/workspace/service/idempotency"
)

// SpecPath serves the OpenAPI 3 document of this surface, without a key.
const SpecPath = "/v1/openapi.json"

// DefaultMaxBodyBytes is CONTRACT §6's default body limit.
const DefaultMaxBodyBytes = 1 << 20

// Options configure the gateway.
type Options struct {
	// MaxBodyBytes is the body limit; ≤ 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Admission, if set, lets in or refuses the requests under /v1 that fail
	// before reaching the service, as the interceptor chain does for calls.
	Admission *admission.Admission
	// Methods is the API's method table: every service in it is served, and
	// its creates answer 201. Required.
	Methods *apimethod.Table
	// KeepAlive is the event stream's comment interval (0:
	// DefaultKeepAlive); StreamWriteTimeout bounds each of its writes (0:
	// DefaultStreamWriteTimeout).
	KeepAlive          time.Duration
	StreamWriteTimeout time.Duration
}

// Gateway is an http.Handler for the REST API. Its requests' log lines are
// written by accesslog.HTTP in front of it, with the route and outcome it
// records.
type Gateway struct {
	mux       *runtime.ServeMux
	maxBody   int64
	admission *admission.Admission
	methods   *apimethod.Table
	routes    routes     // for the Allow header of a 405
	queries   queryRules // what each route takes in its query string
	// conn, marshaler, keepAlive and streamWriteTimeout serve the event
	// stream (sse.go).
	conn               grpc.ClientConnInterface
	marshaler          *envelopeMarshaler
	keepAlive          time.Duration
	streamWriteTimeout time.Duration
	eventJSON          eventJSONCache
}

// New returns the REST handler calling the API over conn.
func New(ctx context.Context, conn grpc.ClientConnInterface, opts Options) (*Gateway, error) {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.Methods == nil {
		return nil, errors.New("gateway: no method table")
	}
	if opts.KeepAlive <= 0 {
		opts.KeepAlive = DefaultKeepAlive
	}
	if opts.StreamWriteTimeout <= 0 {
		opts.StreamWriteTimeout = DefaultStreamWriteTimeout
	}
	g := &Gateway{maxBody: opts.MaxBodyBytes, admission: opts.Admission, methods: opts.Methods, routes: newRoutes(opts.Methods.Services()), queries: newQueryRules(opts.Methods.Services()),
		conn: conn, marshaler: newEnvelopeMarshaler(), keepAlive: opts.KeepAlive, streamWriteTimeout: opts.StreamWriteTimeout}
	g.mux = runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, g.marshaler),
		runtime.WithErrorHandler(g.handleError),
		runtime.WithRoutingErrorHandler(g.handleRoutingError),
		runtime.WithForwardResponseOption(g.forwardResponse),
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(dropHeader),
		runtime.WithOutgoingTrailerMatcher(dropHeader),
		runtime.WithMetadata(recordRoute),
		// Once a route has matched: its query string, strictly.
		runtime.WithMiddlewares(g.strictQuery),
		// No method games: a form-encoded POST is not a GET, and
		// X-HTTP-Method-Override does not turn a GET into a DELETE.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
		// A HEAD gets the length of the GET it stands for, however long.
		runtime.WithWriteContentLength(),
	)
	for _, sd := range opts.Methods.Services() {
		register, ok := registrations[sd.FullName()]
		if !ok {
			return nil, fmt.Errorf("gateway: service %s has no REST handlers: add it to registrations", sd.FullName())
		}
		if err := register(ctx, g.mux, conn); err != nil {
			return nil, err
		}
	}
	// The event stream's own handler takes the place of grpc-gateway's
	// (newline-delimited JSON) for its binding: registered last, it wins.
	if err := g.mux.HandlePath(http.MethodGet, StreamPath, g.serveEvents); err != nil {
		return nil, err
	}
	return g, nil
}

// registrations are grpc-gateway's generated handlers of each service, by the
// service's full name. The generated code has one function per service, with
// its own client type, so this map is the one place that names them; New
// serves every service of the method table from it and fails for one it
// lacks, and a test fails if the two differ.
var registrations = map[protoreflect.FullName]func(context.Context, *runtime.ServeMux, grpc.ClientConnInterface) error{
	"workspace.v1.ProjectService": func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return workspacev1.RegisterProjectServiceHandlerClient(ctx, m, workspacev1.NewProjectServiceClient(c))
	},
	"workspace.v1.TaskService": func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return workspacev1.RegisterTaskServiceHandlerClient(ctx, m, workspacev1.NewTaskServiceClient(c))
	},
	"workspace.v1.ApiKeyService": func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return workspacev1.RegisterApiKeyServiceHandlerClient(ctx, m, workspacev1.NewApiKeyServiceClient(c))
	},
	"workspace.v1.WorkspaceService": func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return workspacev1.RegisterWorkspaceServiceHandlerClient(ctx, m, workspacev1.NewWorkspaceServiceClient(c))
	},
	"workspace.v1.EventService": func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return workspacev1.RegisterEventServiceHandlerClient(ctx, m, workspacev1.NewEventServiceClient(c))
	},
	"workspace.v1.WebhookService": func(ctx context.Context, m *runtime.ServeMux, c grpc.ClientConnInterface) error {
		return workspacev1.RegisterWebhookServiceHandlerClient(ctx, m, workspacev1.NewWebhookServiceClient(c))
	},
}

// requestKey carries what the gateway knows of the client's request past
// grpc-gateway.
type requestKey struct{}

type clientRequest struct {
	body        []byte          // the body as read, to name a field that failed to decode
	method      string          // the client's method (a PUT is served as PATCH, a HEAD as GET)
	ifNoneMatch *etag.Condition // the request's If-None-Match, if any
}

func clientRequestFrom(ctx context.Context) clientRequest {
	c, _ := ctx.Value(requestKey{}).(*clientRequest)
	if c == nil {
		return clientRequest{}
	}
	return *c
}

func bodyFrom(ctx context.Context) []byte { return clientRequestFrom(ctx).body }

// recordRoute gives the request's log line the pattern of the route that
// matched; it runs once the route is known, before the body is decoded.
func recordRoute(ctx context.Context, _ *http.Request) metadata.MD {
	if pattern, ok := runtime.HTTPPathPattern(ctx); ok {
		accesslog.SetRoutePattern(ctx, pattern)
	}
	return nil
}

// ServeHTTP answers what is not the API's, enforces the body's type and limit
// before any decoding, and hands the rest to grpc-gateway (a HEAD as its GET).
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// The request id is settled in front of the gateway, by accesslog.HTTP,
	// which writes the request's one log line.
	w.Header().Set("Content-Type", "application/json")

	if r.URL.Path != "/v1" && !strings.HasPrefix(r.URL.Path, "/v1/") {
		// Not the API's, but a request that sends a key is admitted as
		// under /v1: a known key is counted and gets its rate-limit headers
		// on every answer, a bad one its 401. Without a key (probes,
		// browsers) it is a plain 404.
		g.refuse(w, r, notFoundRoute(r), len(r.Header.Values("Authorization")) > 0)
		return
	}
	// The API's own description is public and counts against no limit, so it
	// is answered here, before grpc-gateway and the interceptors that would
	// ask for a key. Other methods on it are 405, also without a key. Its
	// query string is ignored, as a file server's would be: the document is
	// the same whatever it says (a cache-buster such as ?v=2 is common), and
	// the document describes it as taking no parameters and always answering
	// 200, which refusing them would make untrue.
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
	if values := r.Header.Values("Authorization"); len(values) > 1 {
		// Refused here, before grpc-gateway forwards only the values that
		// are valid gRPC metadata: admission must see every one.
		g.reject(w, r, admission.CheckAuthorization(values))
		return
	}
	ifNoneMatch, e := checkConditionalHeaders(r)
	if e != nil {
		g.reject(w, r, e)
		return
	}
	if e := unsupportedMediaType(r); e != nil {
		g.reject(w, r, e)
		return
	}
	if r.ContentLength > g.maxBody {
		g.reject(w, r, tooLarge(g.maxBody))
		return
	}
	cr := &clientRequest{method: r.Method, ifNoneMatch: ifNoneMatch}
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

// Allow is the methods the API takes on path (as a 405's Allow header names
// them), "" for a path it does not have: read from the HTTP bindings, for
// CORS preflights (middleware/cors).
func (g *Gateway) Allow(path string) string { return g.routes.allow(path) }

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

// forwardResponse copies the service's headers, sets the ETag of a resource
// (or answers 304, see conditional.go) and answers 201 to creates.
func (g *Gateway) forwardResponse(ctx context.Context, w http.ResponseWriter, msg proto.Message) error {
	copyHeaders(ctx, w)
	if err := conditionalResponse(ctx, w, msg); err != nil {
		return err
	}
	if method, ok := runtime.RPCMethod(ctx); ok && g.methods.IsCreate(method) {
		w.WriteHeader(http.StatusCreated)
	}
	return nil
}
