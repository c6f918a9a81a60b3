package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	"google.golang.org/grpc"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// cursorPageSize is the page of the list-tasks-cursor scenario: half of the
// 20 tasks seed gives each tenant, so that the page after the first has rows.
const cursorPageSize = 10

// cursorAt returns the cursor of the page of path's list that starts after
// depth rows, walking there by cursor pages of up to 100 (one request per
// 100 rows, each as cheap as the first): how a benchmark reaches a deep page
// without paying for the offset it measures against. "" if the list has no
// row past depth.
func cursorAt(ctx context.Context, client *http.Client, baseURL, key, path string, depth int) (string, error) {
	cursor := ""
	for left := depth; left > 0; {
		q := url.Values{"limit": {fmt.Sprint(min(left, 100))}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+path+"?"+q.Encode(), nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := client.Do(req)
		if err != nil {
			return "", err
		}
		var env struct {
			Data       []json.RawMessage `json:"data"`
			Pagination struct {
				NextCursor string `json:"next_cursor"`
			} `json:"pagination"`
		}
		err = json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("GET %s: %d %v", path, resp.StatusCode, err)
		}
		left -= len(env.Data)
		cursor = env.Pagination.NextCursor
		if cursor == "" {
			return "", nil
		}
	}
	return cursor, nil
}

// seedCursors gives every tenant the cursor of its second page of tasks, for
// the list-tasks-cursor scenario.
func (b *bench) seedCursors(ctx context.Context) error {
	client := newHTTPClient(b.o.concurrency)
	return parallel(b.o.concurrency, len(b.tenants), func(i int) error {
		t := &b.tenants[i]
		c, err := cursorAt(ctx, client, b.httpURL, t.key, "/v1/tasks", cursorPageSize)
		if err != nil {
			return err
		}
		if c == "" {
			return fmt.Errorf("tenant %d: no page after the first %d tasks", i, cursorPageSize)
		}
		t.cursor = c
		return nil
	})
}

// cursorRequest is the list-tasks-cursor scenario's request: the page after
// the tenant's cursor, on either surface (a REST cursor is the gRPC
// page_token).
func cursorRequest(t *tenant) request {
	return request{
		method: "GET",
		path:   "/v1/tasks?" + url.Values{"limit": {fmt.Sprint(cursorPageSize)}, "cursor": {t.cursor}}.Encode(),
		grpc: func(ctx context.Context, cc grpc.ClientConnInterface, t *tenant) error {
			limit := int32(cursorPageSize)
			_, err := workspacev1.NewTaskServiceClient(cc).ListTasks(ctx, &workspacev1.ListTasksRequest{Limit: &limit, PageToken: t.cursor})
			return err
		},
	}
}
