package gateway

import (
	"encoding/json"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// The envelope is the same whichever encoder writes the message: pbjson for
// the API's responses, protojson for what pbjson leaves to it.
func TestEnvelopes(t *testing.T) {
	m := newEnvelopeMarshaler()
	created := timestamppb.New(timestamppb.Now().AsTime().Truncate(1e9))
	for name, tc := range map[string]struct {
		msg  any
		want string
	}{
		"single (pbjson)": {
			&workspacev1.GetProjectResponse{Project: &workspacev1.Project{Id: "proj_1", Name: "Launch", CreatedAt: created}},
			`{"success":true,"data":{"project":{"id":"proj_1","name":"Launch","description":"","created_at":"` + created.AsTime().Format("2006-01-02T15:04:05Z") + `","updated_at":null,"etag":""}}}`,
		},
		"list (pbjson)": {
			&workspacev1.ListTasksResponse{Pagination: &workspacev1.Pagination{Total: 0, Limit: 20}},
			`{"success":true,"data":[],"pagination":{"total":0,"limit":20,"offset":0,"has_more":false}}`,
		},
		"list with a next page": {
			&workspacev1.ListTasksResponse{Data: []*workspacev1.Task{{Id: "task_1", Title: "t", Status: "todo", CreatedAt: created, UpdatedAt: created}},
				Pagination: &workspacev1.Pagination{Total: 2, Limit: 1, HasMore: true}, NextPageToken: proto.String("tok")},
			`{"success":true,"data":[{"id":"task_1","project_id":"","title":"t","description":"","status":"todo","due_at":null,"completed_at":null,"created_at":"` +
				created.AsTime().Format("2006-01-02T15:04:05Z") + `","updated_at":"` + created.AsTime().Format("2006-01-02T15:04:05Z") +
				`","etag":""}],"pagination":{"total":2,"limit":1,"offset":0,"has_more":true,"next_cursor":"tok"}}`,
		},
		"protojson's": {&emptypb.Empty{}, `{"success":true,"data":{}}`},
	} {
		out, err := m.Marshal(tc.msg)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := mustCanon(t, string(out)); got != mustCanon(t, tc.want) {
			t.Errorf("%s:\n got %s\nwant %s", name, out, tc.want)
		}
	}
	// The response itself is left alone: gRPC answers with it as it is.
	resp := &workspacev1.ListProjectsResponse{Pagination: &workspacev1.Pagination{Limit: 1}, NextPageToken: proto.String("tok")}
	if _, err := m.Marshal(resp); err != nil || resp.GetPagination().NextCursor != nil || resp.GetNextPageToken() != "tok" {
		t.Errorf("Marshal changed the response: %v, %v", resp, err)
	}
	// What neither can write is an error, not a broken body.
	if out, err := m.Marshal(&workspacev1.GetProjectResponse{Project: &workspacev1.Project{Name: "bad \xff"}}); err == nil {
		t.Errorf("invalid UTF-8 marshalled as %s", out)
	}
}

// mustCanon is s as encoding/json writes it back: object keys sorted, no
// insignificant space.
func mustCanon(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("invalid JSON %s: %v", s, err)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
