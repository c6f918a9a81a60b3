package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/ratelimit/redistest"
	"github.com/example/workspace/store/postgres/pgtest"
)

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

func call(t *testing.T, method, addr, path, key, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, "http://"+addr+path, rd)
	req.Header.Set("Authorization", "Bearer "+key)
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("%s %s on %s: %v", method, path, addr, err)
		return answer{}
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Errorf("%s %s on %s: body is not JSON: %v", method, path, addr, err)
	}
	return answer{resp.StatusCode, resp.Header, m}
}

// awayFromMinuteEdge waits, if the wall clock is in the last seconds of a
// minute, for the next one to start, so that a burst of requests falls in one
// fixed window of the real (Redis) clock.
func awayFromMinuteEdge() {
	if now := time.Now(); now.Second() >= 55 {
		time.Sleep(now.Truncate(time.Minute).Add(time.Minute + 100*time.Millisecond).Sub(now))
	}
}

// burst sends n GETs at once, alternating between the replicas, and returns
// the answers.
func burst(t *testing.T, replicas []*proc, key string, n int) []answer {
	t.Helper()
	awayFromMinuteEdge()
	answers := make([]answer, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			answers[i] = call(t, "GET", replicas[i%len(replicas)].httpAddr, "/v1/projects", key, "")
		}(i)
	}
	close(start)
	wg.Wait()
	return answers
}

// checkShared asserts that exactly 60 of a free workspace's burst were
// admitted across all replicas, and that every header told the truth.
func checkShared(t *testing.T, answers []answer) {
	t.Helper()
	admitted := 0
	remaining := map[string]bool{}
	resets := map[string]bool{}
	for _, a := range answers {
		resets[a.header.Get("X-RateLimit-Reset")] = true
		if a.header.Get("X-RateLimit-Limit") != "60" {
			t.Errorf("X-RateLimit-Limit = %q", a.header.Get("X-RateLimit-Limit"))
		}
		switch a.status {
		case 200:
			admitted++
			remaining[a.header.Get("X-RateLimit-Remaining")] = true
		case 429:
			details, _ := a.body["error"].(map[string]any)["details"].(map[string]any)
			retry, _ := strconv.Atoi(a.header.Get("Retry-After"))
			if a.header.Get("X-RateLimit-Remaining") != "0" || retry < 1 || retry > 60 || details["window"] != "minute" {
				t.Errorf("429 headers %v, details %v", a.header, details)
			}
		default:
			t.Errorf("status %d: %v", a.status, a.body)
		}
	}
	if admitted != 60 || len(remaining) != 60 {
		t.Errorf("admitted %d of %d with %d distinct remaining values, want exactly 60 and 60", admitted, len(answers), len(remaining))
	}
	if len(resets) != 1 {
		t.Errorf("the burst saw %d different resets, want one window: %v", len(resets), resets)
	}
	t.Logf("burst of %d over the replicas: %d admitted, %d refused", len(answers), admitted, len(answers)-admitted)
}

func TestReplicasSharePostgresAndRedis(t *testing.T) {
	if os.Getenv("WORKSPACE_TEST_REDIS_URL") == "" {
		t.Skip("set WORKSPACE_TEST_REDIS_URL=redis://127.0.0.1:6379/0 and WORKSPACE_TEST_POSTGRES_URL to run the multi-replica test (it starts its own redis-server, so that it can stop it)")
	}
	db := pgtest.NewDatabase(t)
	redis := redistest.Start(t)
	env := []string{"WORKSPACE_DATABASE=" + db, "WORKSPACE_REDIS_URL=" + redis.URL(), "WORKSPACE_LOG_FORMAT=text"}

	// Two replicas start together on an empty database: exactly one creates
	// the first workspace and prints its key.
	a, b := launch(t, env), launch(t, env)
	a.wait(t)
	b.wait(t)
	replicas := []*proc{a, b}
	admin := a.key + b.key
	if a.key != "" && b.key != "" || admin == "" {
		t.Fatalf("keys printed: %q and %q, want exactly one", a.key, b.key)
	}

	newWorkspace := func(name string) string {
		out, errOut, code := cli(t, env, "workspaces", "create", "--name", name)
		if code != 0 {
			t.Fatalf("workspaces create: %d %s", code, errOut)
		}
		return strings.Fields(out)[1]
	}

	t.Run("one quota across replicas", func(t *testing.T) {
		checkShared(t, burst(t, replicas, newWorkspace("burst"), 200))
		for _, p := range replicas {
			if n := p.count("redis unreachable"); n != 0 {
				t.Errorf("a replica fell back to in-memory limits during the burst (%d times)", n)
			}
		}
	})

	t.Run("a write through one is read through the other", func(t *testing.T) {
		created := call(t, "POST", a.httpAddr, "/v1/projects", admin, `{"name":"Shared"}`)
		if created.status != 201 {
			t.Fatalf("create through A: %d %v", created.status, created.body)
		}
		id := created.body["data"].(map[string]any)["id"].(string)
		read := call(t, "GET", b.httpAddr, "/v1/projects/"+id, admin, "")
		if read.status != 200 || read.body["data"].(map[string]any)["name"] != "Shared" {
			t.Errorf("read through B: %d %v", read.status, read.body)
		}
	})

	t.Run("an idempotent create retried on the other replica", func(t *testing.T) {
		send := func(addr, body string) answer {
			req, _ := http.NewRequest("POST", "http://"+addr+"/v1/projects", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+admin)
			req.Header.Set("Idempotency-Key", "replicated-create")
			resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatalf("POST on %s: %v", addr, err)
			}
			defer resp.Body.Close()
			var m map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&m)
			return answer{resp.StatusCode, resp.Header, m}
		}
		first := send(a.httpAddr, `{"name":"Once"}`)
		again := send(b.httpAddr, `{"name":"Once"}`)
		if first.status != 201 || again.status != 201 || again.header.Get("Idempotent-Replayed") != "true" {
			t.Fatalf("create on A: %d; retry on B: %d %v", first.status, again.status, again.header)
		}
		if id, id2 := first.body["data"].(map[string]any)["id"], again.body["data"].(map[string]any)["id"]; id != id2 {
			t.Errorf("retry on B answered project %v, A created %v", id2, id)
		}
		if other := send(b.httpAddr, `{"name":"Twice"}`); other.status != 422 {
			t.Errorf("same key, other body, on B: %d, want 422", other.status)
		}
	})

	t.Run("a key revoked through one is refused by the other", func(t *testing.T) {
		created := call(t, "POST", a.httpAddr, "/v1/api-keys", admin, `{"name":"short-lived","scopes":["read"]}`)
		if created.status != 201 {
			t.Fatalf("create key through A: %d %v", created.status, created.body)
		}
		data := created.body["data"].(map[string]any)
		secret, id := data["key"].(string), data["id"].(string)
		if r := call(t, "GET", b.httpAddr, "/v1/projects", secret, ""); r.status != 200 {
			t.Fatalf("new key on B: %d", r.status)
		}
		if r := call(t, "DELETE", a.httpAddr, "/v1/api-keys/"+id, admin, ""); r.status != 200 {
			t.Fatalf("revoke through A: %d %v", r.status, r.body)
		}
		revoked := time.Now()
		// A, which revoked it, refuses it at once.
		if r := call(t, "GET", a.httpAddr, "/v1/projects", secret, ""); r.status != 401 {
			t.Errorf("revoked key on A right after: %d, want 401", r.status)
		}
		// B refuses it within its key cache's TTL (auth.DefaultCacheTTL, 1 s).
		bound := auth.DefaultCacheTTL + time.Second
		for call(t, "GET", b.httpAddr, "/v1/projects", secret, "").status != 401 {
			if time.Since(revoked) > bound {
				t.Fatalf("B still accepted the revoked key %v after the revocation", time.Since(revoked))
			}
		}
		t.Logf("B refused the revoked key %v after A revoked it", time.Since(revoked).Round(time.Millisecond))
	})

	t.Run("Redis down and back", func(t *testing.T) {
		key := newWorkspace("outage")
		redis.Stop()
		// Requests keep being answered, from each replica's own limits.
		for i := 0; i < 20; i++ {
			for _, p := range replicas {
				start := time.Now()
				if r := call(t, "GET", p.httpAddr, "/v1/projects", key, ""); r.status != 200 || r.header.Get("X-RateLimit-Limit") != "60" {
					t.Fatalf("during the outage: %d %v", r.status, r.header)
				}
				t.Logf("answered in %v during the outage", time.Since(start).Round(time.Millisecond))
			}
		}
		for _, p := range replicas {
			// The limiter's line, once; the readiness probe may also say
			// "not ready reason=redis unreachable" meanwhile, which is not
			// what is counted here.
			if n := p.count("rate limiter: redis unreachable"); n != 1 {
				t.Errorf("replica logged the outage %d times, want once:\n%s", n, p.log())
			}
		}

		redis.Start(t)
		// Each replica goes back to Redis at its next request; wait for both
		// to say so, prompting them with requests.
		deadline := time.Now().Add(30 * time.Second)
		for _, p := range replicas {
			for p.count("redis reachable again") == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("replica did not go back to Redis:\n%s", p.log())
				}
				call(t, "GET", p.httpAddr, "/v1/workspace", admin, "")
			}
		}
		// The limits are shared again.
		checkShared(t, burst(t, replicas, newWorkspace("after"), 120))
	})

	for _, p := range replicas {
		p.stop(t, syscall.SIGTERM)
	}
}
