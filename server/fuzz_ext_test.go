package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// fzStatuses are the HTTP statuses of CONTRACT §4 and §6 (and the README's 422).
var fzStatuses = map[int]bool{200: true, 201: true, 400: true, 401: true, 403: true, 404: true, 405: true, 409: true, 413: true, 422: true, 429: true, 503: true}

// fzCheckEnvelope fails unless body is exactly one of CONTRACT §5's three
// envelopes, matching status.
func fzCheckEnvelope(t *testing.T, status int, body []byte) {
	t.Helper()
	var env map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil || dec.More() {
		t.Fatalf("%d: body is not one JSON object: %v %q", status, err, body)
	}
	switch string(env["success"]) {
	case "true":
		if status >= 300 {
			t.Fatalf("%d with a success envelope: %s", status, body)
		}
		data := env["data"]
		switch {
		case len(env) == 2 && len(data) > 0 && data[0] == '{':
		case len(env) == 3 && len(data) > 0 && data[0] == '[':
			var p map[string]json.RawMessage
			// The seed's four fields, and next_cursor on a page with a next one.
			if err := json.Unmarshal(env["pagination"], &p); err != nil ||
				len(p) != 4 && !(len(p) == 5 && p["next_cursor"] != nil && string(p["has_more"]) == "true") {
				t.Fatalf("list envelope with pagination %s", env["pagination"])
			}
		default:
			t.Fatalf("%d: not a single or list envelope: %s", status, body)
		}
	case "false":
		if status < 400 || len(env) != 2 {
			t.Fatalf("%d with an error envelope: %s", status, body)
		}
		var e struct {
			Code    string            `json:"code"`
			Message string            `json:"message"`
			Details map[string]string `json:"details"`
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(env["error"], &raw); err != nil || len(raw) != 3 {
			t.Fatalf("error is not {code,message,details}: %s", body)
		}
		if err := json.Unmarshal(env["error"], &e); err != nil || e.Code == "" || e.Message == "" || e.Details == nil {
			t.Fatalf("malformed error: %s", body)
		}
	default:
		t.Fatalf("%d: no success member: %s", status, body)
	}
}

// FuzzREST sends arbitrary method, path, query, body and Idempotency-Key to
// the real gateway and service on a SQLite store. Whatever the input, the
// answer is one of the three envelopes with a status of the contract, and
// never a 500.
func FuzzREST(f *testing.F) {
	env := servertest.Start(f)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	proj := env.REST("POST", "/v1/projects", env.AdminKey, `{"name":"fuzz"}`)
	var created struct {
		Data struct{ ID string } `json:"data"`
	}
	_ = json.Unmarshal(proj.Body, &created)
	pid := created.Data.ID
	// auth "" sends the admin key; anything else is sent as the header.
	seeds := []struct{ method, path, query, body, idem, auth string }{
		{"GET", "/v1/projects", "limit=5&offset=1", "", "", ""},
		{"POST", "/v1/projects", "", `{"name":"a","description":"b"}`, "k1", ""},
		{"POST", "/v1/projects", "", `{"name":"a","id":"proj_x"}`, "", ""},
		{"PUT", "/v1/projects/" + pid, "", `{"name":"renamed"}`, "", ""},
		{"PATCH", "/v1/projects/" + pid, "", `{"description":null}`, "", ""},
		{"DELETE", "/v1/projects/proj_missing", "", "", "", ""},
		{"GET", "/v1/tasks", "project_id=" + pid + "&status=todo", "", "", ""},
		{"GET", "/v1/tasks", "q=%22a%25_b%FF&order_by=due_at+desc&status=todo,completed&due_before=2026-01-01T00:00:00Z", "", "", ""},
		{"GET", "/v1/tasks", "cursor=AQ&limit=1&updated_after=2026-01-01T00:00:00Z", "", "", ""},
		{"GET", "/v1/projects", "q=abc&order_by=updated_at&cursor=%00", "", "", ""},
		{"POST", "/v1/tasks", "", `{"project_id":"` + pid + `","title":"t","due_at":"2026-01-01T00:00:00Z"}`, "", ""},
		{"PATCH", "/v1/tasks/task_x", "", `{"status":"completed","due_at":null}`, "", ""},
		{"POST", "/v1/api-keys", "", `{"name":"k","scopes":["read"],"expires_at":"2099-01-01T00:00:00Z"}`, "", ""},
		{"GET", "/v1/workspace", "", "", "", ""},
		{"GET", "/v1/projects", "limit=-1", "", "", ""},
		{"POST", "/v1/projects", "", `{"name":`, "", ""},
		{"POST", "/v1/projects", "", `[1,2]`, "", ""},
		{"GET", "/v1/projects/%zz", "", "", "", ""},
		{"OPTIONS", "/v1", "", "", "", ""},
		{"GET", "/v2/x", "", "", "", ""},
		{"POST", "/v1/tasks", "", `{"title":"\u0000\ud800","project_id":1e400}`, "k2", ""},
		{"GET", "/v1/projects", "", "", "", "Bearer wsk_short"},
		{"GET", "/v1/projects", "", "", "", "Basic dXNlcjpwYXNz"},
		{"GET", "/v1/nowhere", "", "", "", "Bearer é"},
		{"POST", "/v1/projects", "", `{"name":"x"}`, "", "bearer  "},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, s.query, s.body, s.idem, s.auth)
	}
	var calls atomic.Int64
	client := &http.Client{Timeout: 30 * time.Second}
	f.Fuzz(func(t *testing.T, method, path, query, body, idem, auth string) {
		if calls.Add(1)%500 == 0 {
			env.Clock.Advance(time.Minute) // keep clear of the minute quota
		}
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		u, err := url.Parse(env.BaseURL + path)
		if err != nil {
			t.Skip("not a URL the client can send")
		}
		// A space or control character in the query would go onto the request
		// line as it is: net/http refuses such a line before any handler runs,
		// since it is not a request at all (TestNetHTTPRefusalsInTheEnvelope
		// checks those answers).
		if strings.ContainsFunc(query, func(r rune) bool { return r <= ' ' || r == 0x7f || r == '#' }) {
			t.Skip("not a query an HTTP client can send")
		}
		u.RawQuery = query
		req, err := http.NewRequest(method, u.String(), strings.NewReader(body))
		if err != nil {
			t.Skip("not a request the client can send")
		}
		if auth == "" {
			auth = "Bearer " + env.AdminKey
		}
		req.Header.Set("Authorization", auth)
		req.Header.Set("Content-Type", "application/json")
		if idem != "" {
			req.Header.Set("Idempotency-Key", idem)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Skipf("the client refused to send it: %v", err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("reading the answer: %v", err)
		}
		if resp.StatusCode == 500 || !fzStatuses[resp.StatusCode] {
			t.Fatalf("%s %s?%s %q: status %d is not a client-input status of the contract: %s", method, path, query, body, resp.StatusCode, b)
		}
		if method == "HEAD" {
			return // no body by definition
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("Content-Type %q", ct)
		}
		fzCheckEnvelope(t, resp.StatusCode, b)
	})
}

// fzRaw is a gRPC codec that sends the fuzzer's bytes as the request as they
// are and keeps the answer's bytes.
type fzRaw struct{}

func (fzRaw) Marshal(v any) ([]byte, error) { return *(v.(*[]byte)), nil }
func (fzRaw) Unmarshal(data []byte, v any) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (fzRaw) Name() string { return "proto" }

// fzCodes are the gRPC codes of CONTRACT §6.
var fzCodes = map[codes.Code]bool{
	codes.OK: true, codes.InvalidArgument: true, codes.Unauthenticated: true, codes.PermissionDenied: true,
	codes.NotFound: true, codes.AlreadyExists: true, codes.Aborted: true, codes.FailedPrecondition: true,
	codes.ResourceExhausted: true, codes.Unavailable: true,
}

// FuzzGRPCDecode sends arbitrary bytes as the request of every RPC of the
// descriptors. The server decodes them and runs the chain and the handler:
// never a panic or an INTERNAL, only the contract's codes, and every error
// carries its ErrorInfo; a success decodes as the RPC's response.
func FuzzGRPCDecode(f *testing.F) {
	env := servertest.Start(f)
	env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
	type rpc struct {
		name string
		out  proto.Message
	}
	var rpcs []rpc
	for _, sd := range extServices() {
		for i := 0; i < sd.Methods().Len(); i++ {
			md := sd.Methods().Get(i)
			if md.IsStreamingServer() {
				// Invoke is a unary call; the stream's request decoding is
				// the stream's tests'.
				continue
			}
			rpcs = append(rpcs, rpc{fmt.Sprintf("/%s/%s", sd.FullName(), md.Name()), nil})
		}
	}
	// Seeds: a valid request of each RPC, and a few broken encodings.
	for i := range rpcs {
		f.Add(uint8(i), []byte{})
		f.Add(uint8(i), []byte{0x0a, 0x03, 'a', 'b', 'c'})           // field 1, "abc"
		f.Add(uint8(i), []byte{0x0a, 0x05, 'p', 'r', 'o', 'j', '_'}) // field 1, truncated
		f.Add(uint8(i), []byte{0x10, 0xff, 0xff, 0xff, 0xff, 0x0f})  // field 2, varint
		f.Add(uint8(i), []byte{0x12, 0x02, 0x08, 0x01})              // field 2, nested
		f.Add(uint8(i), []byte{0x0a, 0x10, 'a'})                     // length past the end
		f.Add(uint8(i), []byte{0x0a, 0x02, 0xff, 0xfe})              // invalid UTF-8 in a string
	}
	var calls atomic.Int64
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		if calls.Add(1)%500 == 0 {
			env.Clock.Advance(time.Minute)
		}
		r := rpcs[int(which)%len(rpcs)]
		var reply []byte
		ctx, cancel := context.WithTimeout(env.Ctx(env.AdminKey), 30*time.Second)
		defer cancel()
		err := env.Conn.Invoke(ctx, r.name, &payload, &reply, grpc.ForceCodec(fzRaw{}))
		st := status.Convert(err)
		if !fzCodes[st.Code()] {
			t.Fatalf("%s with %x: code %v (%s), not one of the contract's", r.name, payload, st.Code(), st.Message())
		}
		if err == nil {
			return
		}
		var info *errdetails.ErrorInfo
		for _, d := range st.Details() {
			if i, ok := d.(*errdetails.ErrorInfo); ok {
				info = i
			}
		}
		if info == nil {
			t.Fatalf("%s with %x: %v without ErrorInfo", r.name, payload, st)
		}
	})
}
