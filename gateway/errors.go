package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/middleware/accesslog"
)

// errorBody is CONTRACT §5's error envelope.
type errorBody struct {
	Success bool        `json:"success"`
	Error   errorObject `json:"error"`
}

type errorObject struct {
	Code    apierror.Code     `json:"code"`
	Message string            `json:"message"`
	Details map[string]string `json:"details"`
}

// writeError writes e as the error envelope with the status its code has in
// the contract's table.
func writeError(w http.ResponseWriter, e *apierror.Error) {
	body := errorJSON(e)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Code.HTTPStatus())
	_, _ = w.Write(body)
}

// errorJSON is e's error envelope, on one line (an SSE error event's data
// too).
func errorJSON(e *apierror.Error) []byte {
	details := e.Details
	if details == nil {
		details = map[string]string{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // messages are JSON for programs, not HTML
	err := enc.Encode(errorBody{Error: errorObject{Code: e.Code, Message: e.Message, Details: details}})
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	if err != nil {
		// A map of strings always marshals; keep the contract's shape regardless.
		body = []byte(`{"success":false,"error":{"code":"INTERNAL_ERROR","message":"Internal server error","details":{}}}`)
	}
	return body
}

// handleError turns whatever the gateway or the service returned into the
// envelope. Errors of the service carry their contract code; errors raised by
// generated code (bad JSON, bad query value) are bare InvalidArgument statuses,
// re-examined here to name the field.
func (g *Gateway) handleError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errNotModified) {
		writeNotModified(ctx, w)
		return
	}
	copyHeaders(ctx, w)
	var httpErr *runtime.HTTPStatusError
	if errors.As(err, &httpErr) {
		// Raised by the mux itself: a malformed path escape.
		g.reject(w, r, apierror.New(apierror.CodeValidation, "Malformed request path", nil))
		return
	}
	st := status.Convert(err)
	var e *apierror.Error
	switch {
	case apierror.HasInfo(st):
		e = apierror.FromStatus(st)
	case st.Code() == codes.InvalidArgument:
		// Generated code refused the request before calling the service.
		g.reject(w, r, diagnose(ctx, r))
		return
	default:
		e = apierror.FromStatus(st)
		if e.Code == apierror.CodeInternal {
			// A status from below the API (gRPC itself): never show its text.
			e = apierror.New(apierror.CodeInternal, "Internal server error", map[string]string{"request_id": w.Header().Get("X-Request-Id")})
		}
	}
	challenge(w, r, e)
	writeError(w, e)
}

// handleRoutingError answers paths the API does not have (404) and methods a
// path does not take (405).
func (g *Gateway) handleRoutingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusMethodNotAllowed:
		method := r.Method
		if m := clientRequestFrom(r.Context()).method; m != "" {
			method = m // the client's HEAD or PUT, served as GET or PATCH
		}
		w.Header().Set("Allow", g.routes.allow(r.URL.EscapedPath()))
		g.reject(w, r, apierror.New(apierror.CodeMethodNotAllowed, "Method "+method+" is not allowed on "+r.URL.Path, nil))
	case http.StatusBadRequest:
		g.reject(w, r, apierror.New(apierror.CodeValidation, "Malformed request path", nil))
	default:
		g.reject(w, r, notFoundRoute(r))
	}
}

func notFoundRoute(r *http.Request) *apierror.Error {
	return apierror.New(apierror.CodeNotFound, "No such route: "+r.Method+" "+r.URL.Path, nil)
}

// reject answers a request under /v1 that never became a call to the service
// (unknown route, wrong method, undecodable or oversized body). It first asks
// the admission a call would pass: an unknown key gets 401 as it would
// anywhere, and a known key's request is counted and carries the rate-limit
// headers like every other authenticated answer.
func (g *Gateway) reject(w http.ResponseWriter, r *http.Request, e *apierror.Error) {
	g.refuse(w, r, e, true)
}

// refuse answers e, after admission if asked (whose refusal takes
// precedence), and records the outcome on the request's log line.
func (g *Gateway) refuse(w http.ResponseWriter, r *http.Request, e *apierror.Error, admit bool) {
	if admit && g.admission != nil {
		_, md, err := g.admission.Admit(r.Context(), r.Header.Values("Authorization"))
		writeHeaders(w, md)
		if err != nil {
			e = apierror.FromStatus(status.Convert(apierror.From(err)))
		}
	}
	accesslog.SetOutcome(r.Context(), e)
	challenge(w, r, e)
	writeError(w, e)
}
