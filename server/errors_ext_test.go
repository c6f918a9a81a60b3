package server_test

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/store"
)

// errorCase is one row of CONTRACT §6, reached the same way on both surfaces.
type errorCase struct {
	code     string
	http     int
	grpc     codes.Code // 0: the row has no gRPC form (the gateway decides it)
	details  map[string]string
	setup    func()
	rest     func() *servertest.Response
	call     func(ctx context.Context, opts ...grpc.CallOption) error
	key      string
	teardown func()
}

func TestErrorTable(t *testing.T) {
	var spy *servertest.Spy
	env := servertest.Start(t, servertest.WithSpy(&spy))
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	projects := workspacev1.NewProjectServiceClient(env.Conn)
	_, readKey := env.NewWorkspace("enterprise", "read")
	limitedWS, limitedKey := env.NewWorkspace("free", "admin")
	createProject := func(body string) func() *servertest.Response {
		return func() *servertest.Response { return env.REST("POST", "/v1/projects", env.AdminKey, body) }
	}
	grpcCreate := func(name string) func(ctx context.Context, opts ...grpc.CallOption) error {
		return func(ctx context.Context, opts ...grpc.CallOption) error {
			_, err := projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: name}, opts...)
			return err
		}
	}
	fail := func(err error) func() { return func() { spy.FailCreateProject(err) } }
	heal := func() { spy.FailCreateProject(nil) }
	var guarded string // the project of the PRECONDITION_FAILED row

	cases := []errorCase{{
		code: "VALIDATION_ERROR", http: 400, grpc: codes.InvalidArgument, details: map[string]string{"field": "name"},
		rest: createProject(`{"name": "   "}`), call: grpcCreate("   "),
	}, {
		code: "UNAUTHORIZED", http: 401, grpc: codes.Unauthenticated, details: map[string]string{}, key: "none",
		rest: func() *servertest.Response { return env.REST("GET", "/v1/projects", "", "") },
		call: func(ctx context.Context, opts ...grpc.CallOption) error {
			_, err := projects.ListProjects(context.Background(), &workspacev1.ListProjectsRequest{}, opts...)
			return err
		},
	}, {
		code: "FORBIDDEN", http: 403, grpc: codes.PermissionDenied, details: map[string]string{"required_scope": "write"}, key: readKey,
		rest: func() *servertest.Response { return env.REST("POST", "/v1/projects", readKey, `{"name":"x"}`) },
		call: grpcCreate("x"),
	}, {
		code: "NOT_FOUND", http: 404, grpc: codes.NotFound, details: map[string]string{},
		rest: func() *servertest.Response {
			return env.REST("GET", "/v1/projects/proj_00000000000000000000", env.AdminKey, "")
		},
		call: func(ctx context.Context, opts ...grpc.CallOption) error {
			_, err := projects.GetProject(ctx, &workspacev1.GetProjectRequest{Id: "proj_00000000000000000000"}, opts...)
			return err
		},
	}, {
		code: "METHOD_NOT_ALLOWED", http: 405, details: map[string]string{},
		rest: func() *servertest.Response { return env.REST("DELETE", "/v1/projects", env.AdminKey, "") },
	}, {
		code: "CONFLICT", http: 409, grpc: codes.AlreadyExists, details: map[string]string{},
		setup: fail(store.ErrConflict), teardown: heal,
		rest: createProject(`{"name":"x"}`), call: grpcCreate("x"),
	}, {
		code: "IDEMPOTENCY_KEY_REUSED", http: 422, grpc: codes.FailedPrecondition, details: map[string]string{},
		setup: func() {
			if r := env.REST("POST", "/v1/projects", env.AdminKey, `{"name":"first"}`, "Idempotency-Key", "table-422"); r.Status != 201 {
				t.Fatalf("first use of the key: %d %s", r.Status, r.Body)
			}
		},
		rest: func() *servertest.Response {
			return env.REST("POST", "/v1/projects", env.AdminKey, `{"name":"second"}`, "Idempotency-Key", "table-422")
		},
		call: func(ctx context.Context, opts ...grpc.CallOption) error {
			ctx = metadata.AppendToOutgoingContext(ctx, "idempotency-key", "table-422")
			_, err := projects.CreateProject(ctx, &workspacev1.CreateProjectRequest{Name: "second"}, opts...)
			return err
		},
	}, {
		// A stale If-Match (REST) or etag (gRPC): the project is at "1".
		code: "PRECONDITION_FAILED", http: 412, grpc: codes.FailedPrecondition, details: map[string]string{},
		setup: func() {
			r := env.REST("POST", "/v1/projects", env.AdminKey, `{"name":"guarded"}`)
			if r.Status != 201 {
				t.Fatalf("create the guarded project: %d %s", r.Status, r.Body)
			}
			guarded = r.JSON(t)["data"].(map[string]any)["id"].(string)
		},
		rest: func() *servertest.Response {
			return env.REST("PATCH", "/v1/projects/"+guarded, env.AdminKey, `{"name":"x"}`, "If-Match", `"0"`)
		},
		call: func(ctx context.Context, opts ...grpc.CallOption) error {
			name := "x"
			_, err := projects.UpdateProject(ctx, &workspacev1.UpdateProjectRequest{Id: guarded, Project: &workspacev1.ProjectUpdate{Name: &name}, Etag: `"0"`}, opts...)
			return err
		},
	}, {
		code: "PAYLOAD_TOO_LARGE", http: 413, details: map[string]string{"limit": "1048576"},
		rest: createProject(`{"name":"x","description":"` + strings.Repeat("a", 1<<20) + `"}`),
	}, {
		code: "RATE_LIMITED", http: 429, grpc: codes.ResourceExhausted, details: map[string]string{"window": "minute"}, key: limitedKey,
		setup: func() {
			for i := 0; i < ratelimit.Free.PerMinute; i++ {
				if r := env.REST("GET", "/v1/workspace", limitedKey, ""); r.Status != 200 {
					t.Fatalf("spending quota of %s: %d %s", limitedWS, r.Status, r.Body)
				}
			}
		},
		rest: func() *servertest.Response { return env.REST("GET", "/v1/projects", limitedKey, "") },
		call: func(ctx context.Context, opts ...grpc.CallOption) error {
			_, err := projects.ListProjects(ctx, &workspacev1.ListProjectsRequest{}, opts...)
			return err
		},
	}, {
		code: "INTERNAL_ERROR", http: 500, grpc: codes.Internal, details: map[string]string{"request_id": "*"},
		setup: fail(servertest.ErrInjected), teardown: heal,
		rest: createProject(`{"name":"x"}`), call: grpcCreate("x"),
	}, {
		code: "UNAVAILABLE", http: 503, grpc: codes.Unavailable, details: map[string]string{},
		setup: fail(store.ErrUnavailable), teardown: heal,
		rest: createProject(`{"name":"x"}`), call: grpcCreate("x"),
	}}

	for _, c := range cases {
		t.Run(c.code, func(t *testing.T) {
			if c.setup != nil {
				c.setup()
			}
			if c.teardown != nil {
				defer c.teardown()
			}
			r := c.rest()
			if r.Status != c.http {
				t.Fatalf("REST status = %d, want %d; body %s", r.Status, c.http, r.Body)
			}
			body := r.JSON(t)
			e, _ := body["error"].(map[string]any)
			if body["success"] != false || len(body) != 2 || e == nil || e["code"] != c.code || e["message"] == "" {
				t.Errorf("REST body = %s, want the error envelope with code %s", r.Body, c.code)
			}
			checkDetails(t, "REST", toStrings(e["details"]), c.details, r.Header.Get("X-Request-Id"))
			if strings.Contains(string(r.Body), "disk on fire") || strings.Contains(string(r.Body), "/var/lib") {
				t.Errorf("REST body leaks the internal cause: %s", r.Body)
			}
			// Only a 401 challenges (RFC 6750; issue 15 item 10, which
			// changed this row from "none").
			want := ""
			if c.http == 401 {
				want = `Bearer realm="workspace"` // no key was sent
			}
			if r.Header.Get("WWW-Authenticate") != want {
				t.Errorf("WWW-Authenticate = %q, want %q", r.Header.Get("WWW-Authenticate"), want)
			}
			if c.key != "none" && c.code != "PAYLOAD_TOO_LARGE" && r.Header.Get("X-RateLimit-Limit") == "" {
				t.Errorf("REST %d lacks rate-limit headers: %v", c.http, r.Header)
			}

			if c.call == nil {
				return
			}
			key := env.AdminKey
			if c.key != "" {
				key = c.key
			}
			var header metadata.MD
			err := c.call(env.Ctx(key), grpc.Header(&header))
			st := status.Convert(err)
			if st.Code() != c.grpc {
				t.Fatalf("gRPC code = %v (%v), want %v", st.Code(), err, c.grpc)
			}
			var info *errdetails.ErrorInfo
			for _, d := range st.Details() {
				if i, ok := d.(*errdetails.ErrorInfo); ok {
					info = i
				}
			}
			if info == nil || info.GetReason() != c.code {
				t.Fatalf("gRPC ErrorInfo = %v, want reason %s", info, c.code)
			}
			var id string
			if v := header.Get("x-request-id"); len(v) == 1 {
				id = v[0]
			}
			checkDetails(t, "gRPC", info.GetMetadata(), c.details, id)
			if strings.Contains(st.Message(), "disk on fire") {
				t.Errorf("gRPC message leaks the internal cause: %q", st.Message())
			}
		})
	}

	// The cause of the internal error went to the log, with its request id.
	if !strings.Contains(env.Logs.String(), "disk on fire") {
		t.Errorf("the internal error's cause was not logged")
	}
}

func checkDetails(t *testing.T, surface string, got, want map[string]string, requestID string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s details = %v, want %v", surface, got, want)
		return
	}
	for k, v := range want {
		if v == "*" {
			v = requestID
		}
		if got[k] != v || v == "" {
			t.Errorf("%s details[%s] = %q, want %q", surface, k, got[k], v)
		}
	}
}

func toStrings(v any) map[string]string {
	m, _ := v.(map[string]any)
	out := map[string]string{}
	for k, x := range m {
		s, _ := x.(string)
		out[k] = s
	}
	return out
}
