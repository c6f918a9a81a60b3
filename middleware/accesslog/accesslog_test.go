package accesslog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"google.golang.org/grpc"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/middleware/accesslog"
)

func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("not JSON: %q", l)
		}
		out = append(out, m)
	}
	return out
}

// The HTTP line has the status really written, the client's method with the
// route pattern recorded below, and the attributes added through the context.
func TestHTTPLineHasTheStatusWritten(t *testing.T) {
	var buf bytes.Buffer
	h := accesslog.HTTP(slog.New(slog.NewJSONHandler(&buf, nil)), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Method = http.MethodPatch // as the gateway serves a PUT
		accesslog.SetRoutePattern(r.Context(), "/v1/things/{id}")
		accesslog.AddAttrs(r.Context(), slog.String("workspace_id", "ws_1"))
		w.WriteHeader(http.StatusTeapot)
		w.WriteHeader(http.StatusOK) // ignored by net/http, and by the line
	}))
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPut, "/v1/things/t_1", nil))
	ls := lines(t, &buf)
	if len(ls) != 1 {
		t.Fatalf("%d lines, want 1: %v", len(ls), ls)
	}
	l := ls[0]
	for k, v := range map[string]any{"http_status": float64(418), "http_route": "PUT /v1/things/{id}", "workspace_id": "ws_1", "request_id": w.Header().Get("X-Request-Id")} {
		if l[k] != v {
			t.Errorf("%s = %v, want %v (line %v)", k, l[k], v, l)
		}
	}
	if _, ok := l["code"]; ok {
		t.Errorf("no outcome was recorded, yet the line has a code: %v", l)
	}
}

// A call made for a REST request adds its rpc and outcome to the request's
// line and writes none of its own; a native call writes its own.
func TestCallsOfRESTRequestsShareTheirLine(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	interceptor := accesslog.UnaryServerInterceptor(logger)
	info := &grpc.UnaryServerInfo{FullMethod: "/workspace.v1.ThingService/GetThing"}
	notFound := func(context.Context, any) (any, error) {
		return nil, apierror.New(apierror.CodeNotFound, "no such thing", nil)
	}
	h := accesslog.HTTP(logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = interceptor(r.Context(), nil, info, notFound)
		w.WriteHeader(http.StatusNotFound)
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/v1/things/t_1", nil))
	ls := lines(t, &buf)
	if len(ls) != 1 || ls[0]["rpc"] != info.FullMethod || ls[0]["code"] != "NotFound" || ls[0]["http_status"] != float64(404) || ls[0]["error"] == nil {
		t.Fatalf("lines %v, want one with the call's rpc, code NotFound, its error and http_status 404", ls)
	}

	buf.Reset()
	_, _ = interceptor(context.Background(), nil, info, notFound)
	ls = lines(t, &buf)
	if len(ls) != 1 || ls[0]["rpc"] != info.FullMethod || ls[0]["code"] != "NotFound" || ls[0]["http_route"] != nil {
		t.Fatalf("native call: lines %v, want one with rpc and code, without http_route", ls)
	}
}
