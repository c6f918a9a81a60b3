package server_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server/servertest"
)

func unix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func checkLimitHeaders(t *testing.T, what string, r *servertest.Response, limit, remaining int, reset time.Time) {
	t.Helper()
	want := map[string]string{
		"X-RateLimit-Limit":     strconv.Itoa(limit),
		"X-RateLimit-Remaining": strconv.Itoa(remaining),
		"X-RateLimit-Reset":     unix(reset),
	}
	for name, v := range want {
		if got := r.Header.Get(name); got != v {
			t.Fatalf("%s: %s = %q, want %q (status %d)", what, name, got, v, r.Status)
		}
	}
}

func TestRateLimitMinuteWindow(t *testing.T) {
	env := servertest.Start(t)
	nextMinute := servertest.Epoch.Truncate(time.Minute).Add(time.Minute)

	for i := 1; i <= 60; i++ {
		r := env.REST("GET", "/v1/projects", env.AdminKey, "")
		if r.Status != 200 {
			t.Fatalf("request %d: %d %s", i, r.Status, r.Body)
		}
		checkLimitHeaders(t, "request "+strconv.Itoa(i), r, 60, 60-i, nextMinute)
		if r.Header.Get("Retry-After") != "" {
			t.Fatalf("request %d: Retry-After on a success", i)
		}
	}
	// The 61st, and every one after it, is refused and counts nowhere.
	for i := 0; i < 5; i++ {
		r := env.REST("GET", "/v1/projects", env.AdminKey, "")
		if r.Status != 429 {
			t.Fatalf("request 61+%d: %d %s, want 429", i, r.Status, r.Body)
		}
		checkLimitHeaders(t, "429", r, 60, 0, nextMinute)
		if got := r.Header.Get("Retry-After"); got != "30" {
			t.Errorf("Retry-After = %q, want 30 (the clock is 30 s into the minute)", got)
		}
		if d := toStrings(r.JSON(t)["error"].(map[string]any)["details"]); d["window"] != "minute" {
			t.Errorf("details = %v, want window minute", d)
		}
	}

	// A different workspace has its own quota.
	_, other := env.NewWorkspace("free", "read")
	if r := env.REST("GET", "/v1/projects", other, ""); r.Status != 200 {
		t.Fatalf("another workspace: %d %s", r.Status, r.Body)
	} else {
		checkLimitHeaders(t, "other workspace", r, 60, 59, nextMinute)
	}

	// Keys of one workspace share its quota.
	second := env.NewKey(env.WorkspaceID, "read")
	if r := env.REST("GET", "/v1/projects", second, ""); r.Status != 429 {
		t.Fatalf("second key of a spent workspace: %d, want 429", r.Status)
	}

	// One nanosecond before the minute ends: still refused. On the minute: a
	// fresh window.
	env.Clock.Set(nextMinute.Add(-time.Nanosecond))
	if r := env.REST("GET", "/v1/projects", env.AdminKey, ""); r.Status != 429 {
		t.Fatalf("just before the minute: %d, want 429", r.Status)
	} else if got := r.Header.Get("Retry-After"); got != "1" {
		t.Errorf("Retry-After just before the minute = %q, want 1", got)
	}
	env.Clock.Set(nextMinute)
	r := env.REST("GET", "/v1/workspace", env.AdminKey, "")
	if r.Status != 200 {
		t.Fatalf("on the minute: %d %s", r.Status, r.Body)
	}
	checkLimitHeaders(t, "new minute", r, 60, 59, nextMinute.Add(time.Minute))
	// The 429s above consumed nothing in the day window: 60 + this one.
	usage := r.JSON(t)["data"].(map[string]any)["usage"].(map[string]any)
	if day := usage["day"].(map[string]any); day["used"] != 61.0 || day["remaining"] != 939.0 || day["limit"] != 1000.0 {
		t.Errorf("day usage = %v, want used 61, remaining 939 of 1000", day)
	}
}

func TestRateLimitDayWindowBinds(t *testing.T) {
	env := servertest.Start(t)
	projects := workspacev1.NewProjectServiceClient(env.Conn)
	ctx := env.Ctx(env.AdminKey)
	midnight := time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)

	// Spend 950 of the free plan's 1,000 a day, 50 per minute.
	for minute := 0; minute < 19; minute++ {
		for i := 0; i < 50; i++ {
			if _, err := projects.ListProjects(ctx, &workspacev1.ListProjectsRequest{}); err != nil {
				t.Fatalf("minute %d request %d: %v", minute, i, err)
			}
		}
		env.Clock.Advance(time.Minute)
	}
	// A fresh minute has 59 left after this request, the day only 49: the
	// headers describe the day.
	var header metadata.MD
	if _, err := projects.ListProjects(ctx, &workspacev1.ListProjectsRequest{}, grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"x-ratelimit-limit": "1000", "x-ratelimit-remaining": "49", "x-ratelimit-reset": unix(midnight)}
	for k, v := range want {
		if got := header.Get(k); len(got) != 1 || got[0] != v {
			t.Errorf("gRPC %s = %v, want %s", k, got, v)
		}
	}
	for i := 0; i < 49; i++ {
		if _, err := projects.ListProjects(ctx, &workspacev1.ListProjectsRequest{}); err != nil {
			t.Fatalf("request %d of the last 49: %v", i, err)
		}
	}
	// The day is spent: refused with the day window and its reset, on REST and gRPC.
	r := env.REST("GET", "/v1/projects", env.AdminKey, "")
	if r.Status != 429 {
		t.Fatalf("1,001st request of the day: %d, want 429", r.Status)
	}
	checkLimitHeaders(t, "day 429", r, 1000, 0, midnight)
	if d := toStrings(r.JSON(t)["error"].(map[string]any)["details"]); d["window"] != "day" {
		t.Errorf("details = %v, want window day", d)
	}
	if got, want := r.Header.Get("Retry-After"), strconv.Itoa(int(midnight.Sub(env.Clock.Now())/time.Second)); got != want {
		t.Errorf("Retry-After = %s, want %s", got, want)
	}
	header = nil
	_, err := projects.ListProjects(ctx, &workspacev1.ListProjectsRequest{}, grpc.Header(&header))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("gRPC after the day: %v, want RESOURCE_EXHAUSTED", err)
	}
	if got := header.Get("x-ratelimit-remaining"); len(got) != 1 || got[0] != "0" {
		t.Errorf("gRPC 429 x-ratelimit-remaining = %v, want 0", got)
	}
	if got := header.Get("retry-after"); len(got) != 1 || got[0] == "" {
		t.Errorf("gRPC 429 retry-after = %v", got)
	}
	// Midnight UTC starts a new day.
	env.Clock.Set(midnight)
	if r := env.REST("GET", "/v1/projects", env.AdminKey, ""); r.Status != 200 {
		t.Fatalf("after midnight: %d %s", r.Status, r.Body)
	}
}

func TestRateLimitConcurrentNeverOverAdmits(t *testing.T) {
	env := servertest.Start(t)
	const n = 200
	var wg sync.WaitGroup
	statuses := make([]int, n)
	remaining := make([]string, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			r := env.REST("GET", "/v1/projects", env.AdminKey, "")
			statuses[i], remaining[i] = r.Status, r.Header.Get("X-RateLimit-Remaining")
		}(i)
	}
	close(start)
	wg.Wait()
	admitted := 0
	seen := map[string]bool{}
	for i, s := range statuses {
		switch s {
		case 200:
			admitted++
			if seen[remaining[i]] {
				t.Errorf("two admitted requests both reported remaining %s", remaining[i])
			}
			seen[remaining[i]] = true
		case 429:
			if remaining[i] != "0" {
				t.Errorf("429 with remaining %s", remaining[i])
			}
		default:
			t.Errorf("status %d", s)
		}
	}
	if admitted != 60 {
		t.Fatalf("admitted %d of %d concurrent requests, want exactly 60", admitted, n)
	}
}

func TestUnauthenticatedCountsAgainstNoOne(t *testing.T) {
	env := servertest.Start(t)
	for i := 0; i < 70; i++ {
		r := env.REST("GET", "/v1/projects", "wsk_not-a-real-key", "")
		if r.Status != 401 {
			t.Fatalf("bad key: %d, want 401", r.Status)
		}
		if r.Header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("a 401 carries rate-limit headers: %v", r.Header)
		}
	}
	_, err := workspacev1.NewProjectServiceClient(env.Conn).ListProjects(context.Background(), &workspacev1.ListProjectsRequest{})
	if status.Code(err) != codes.Unauthenticated {
		t.Fatalf("gRPC without a key: %v", err)
	}
	r := env.REST("GET", "/v1/workspace", env.AdminKey, "")
	checkLimitHeaders(t, "after 70 refused", r, 60, 59, servertest.Epoch.Truncate(time.Minute).Add(time.Minute))
}
