package server_test

import (
	"encoding/json"
	"strconv"
	"testing"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
)

// Both streams replay the log after their position, then follow it; the SSE
// event's data is the event exactly as GET /v1/events renders it.
func TestWatchReplaysThenFollows(t *testing.T) {
	servertest.OnEachBackend(t, func(t *testing.T, env *servertest.Env) {
		var seqs []int64
		for i := 0; i < 3; i++ {
			seqs = append(seqs, createProject(t, env, env.AdminKey, "p"+strconv.Itoa(i)))
		}
		from := seqs[0] // the replay starts after the first project
		q := "?after=" + strconv.FormatInt(from, 10)
		sse, refused := openSSE(t, env, env.AdminKey, q)
		if refused != nil {
			t.Fatalf("SSE: %d %s", refused.Status, refused.Body)
		}
		for name, want := range map[string]string{"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"} {
			if got := sse.Resp.Header.Get(name); got != want {
				t.Errorf("%s = %q, want %q", name, got, want)
			}
		}
		if sse.Resp.Header.Get("X-Request-Id") == "" || sse.Resp.Header.Get("X-RateLimit-Remaining") == "" {
			t.Errorf("stream headers lack the request id or rate limit: %v", sse.Resp.Header)
		}
		g, err := watchGRPC(t, env.Conn, env.Ctx(env.AdminKey), &workspacev1.WatchEventsRequest{AfterSeq: from})
		if err != nil {
			t.Fatal(err)
		}
		createProject(t, env, env.AdminKey, "live")
		list := env.REST("GET", "/v1/events"+q, env.AdminKey, "").JSON(t)["data"].([]any)
		if len(list) != 3 {
			t.Fatalf("GET /v1/events%s: %d events", q, len(list))
		}
		for i := from + 1; i <= from+3; i++ {
			ev := sse.Next(t)
			if ev.Seq(t) != i || ev.Event != "project.created" {
				t.Fatalf("SSE event %+v, want seq %d project.created", ev, i)
			}
			want, _ := json.Marshal(list[i-from-1])
			got, _ := json.Marshal(ev.JSON(t))
			if string(got) != string(want) {
				t.Errorf("SSE data %s, want the list's %s", got, want)
			}
			gev := g.Next(t)
			if gev.GetSeq() != i || gev.GetType() != "project.created" || gev.GetData().GetFields()["name"] == nil {
				t.Fatalf("gRPC event %v, want seq %d", gev, i)
			}
		}
	})
}
