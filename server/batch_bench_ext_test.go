package server_test

import (
	"bytes"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/example/workspace/server"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/store/postgres/pgtest"
)

// BenchmarkRESTBatchCreateTasks measures tasks a second created through
// POST /v1/tasks:batchCreate in batches of 100 over loopback HTTP/1.1, beside
// POST /v1/tasks one task a request, on each backend, with one client and
// with 8 concurrent ones. The tasks/s metric is the figure; ns/op is per
// request (a batch or a single create).
//
//	WORKSPACE_TEST_POSTGRES_URL=… go test ./server/ -run '^$' -bench BatchCreate -benchtime 3s
func BenchmarkRESTBatchCreateTasks(b *testing.B) {
	backends := []struct {
		name   string
		config func(b *testing.B) []servertest.Config
	}{
		{"sqlite", func(*testing.B) []servertest.Config { return nil }},
		{"postgres", func(b *testing.B) []servertest.Config {
			db := pgtest.NewDatabase(b)
			return []servertest.Config{func(c *server.Config) { c.Database = db }}
		}},
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			for _, mode := range []struct {
				name     string
				path     string
				perCall  int
				parallel bool
			}{
				{"batch100/serial", batchPath, 100, false},
				{"batch100/parallel8", batchPath, 100, true},
				{"single/serial", "/v1/tasks", 1, false},
				{"single/parallel8", "/v1/tasks", 1, true},
			} {
				b.Run(mode.name, func(b *testing.B) {
					env := servertest.Start(b, be.config(b)...)
					env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
					key := env.AdminKey
					pid := env.REST("POST", "/v1/projects", key, `{"name":"Bench"}`).JSON(b)["data"].(map[string]any)["id"].(string)
					body := []byte(`{"title":"Bench task","project_id":"` + pid + `"}`)
					if mode.perCall > 1 {
						body = []byte(batBody(pid, "Bench task ", mode.perCall))
					}
					client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
					var calls atomic.Int64
					post := func() {
						// A fresh minute every 900 requests: the enterprise
						// quota (1,000) never refuses, and the limiter still
						// runs on every request.
						if calls.Add(1)%900 == 0 {
							env.Clock.Advance(time.Minute)
						}
						req, _ := http.NewRequest("POST", env.BaseURL+mode.path, bytes.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+key)
						req.Header.Set("Content-Type", "application/json")
						resp, err := client.Do(req)
						if err != nil {
							b.Error(err)
							return
						}
						_, _ = io.Copy(io.Discard, resp.Body)
						_ = resp.Body.Close()
						if resp.StatusCode != http.StatusCreated {
							b.Errorf("POST %s: %d", mode.path, resp.StatusCode)
						}
					}
					b.ReportAllocs()
					b.ResetTimer()
					if mode.parallel {
						b.SetParallelism(max(1, 8/runtime.GOMAXPROCS(0))) // × GOMAXPROCS: 8 clients
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								post()
							}
						})
					} else {
						for range b.N {
							post()
						}
					}
					b.ReportMetric(float64(b.N*mode.perCall)/b.Elapsed().Seconds(), "tasks/s")
				})
			}
		})
	}
}
