package server_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/example/workspace/server"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/store"
	"github.com/example/workspace/store/postgres/pgtest"
)

// The figures of docs/benchmarks.md's webhook section:
//
//	go test -run '^$' -bench 'BenchmarkWebhook' -benchtime 2000x ./server/
//
// A bare receiver on loopback answers 204 to everything.

// benchReceiver counts requests and notes when each event id arrived.
type benchReceiver struct {
	url    string
	mu     sync.Mutex
	n      int
	times  []time.Time // each request's arrival
	signal chan struct{}
}

func newBenchReceiver(b *testing.B) *benchReceiver {
	r := &benchReceiver{signal: make(chan struct{}, 1)}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		now := time.Now()
		_, _ = io.Copy(io.Discard, req.Body)
		w.WriteHeader(204)
		r.mu.Lock()
		r.n++
		r.times = append(r.times, now)
		r.mu.Unlock()
		select {
		case r.signal <- struct{}{}:
		default:
		}
	})}
	go func() { _ = srv.Serve(l) }()
	b.Cleanup(func() { _ = srv.Close() })
	r.url = "http://" + l.Addr().String() + "/hook"
	return r
}

func (r *benchReceiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

func (r *benchReceiver) waitCount(b *testing.B, n int) {
	deadline := time.After(3 * time.Minute)
	for r.count() < n {
		select {
		case <-r.signal:
		case <-deadline:
			b.Fatalf("%d of %d deliveries in 3 minutes", r.count(), n)
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchConfig(db string) []servertest.Config {
	cs := []servertest.Config{func(c *server.Config) {
		c.WebhookAllowPrivate = true
		c.Logger = nil
	}}
	if db != "" {
		cs = append(cs, func(c *server.Config) { c.Database = db })
	}
	return cs
}

func benchBackends(b *testing.B, fn func(b *testing.B, db string)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, "") })
	b.Run("postgres", func(b *testing.B) { fn(b, pgtest.NewDatabase(b)) })
}

// BenchmarkWebhookDrain: b.N events wait in the log while the endpoints
// (1, or 16: as many as a server has attempts in flight) are disabled;
// enabled, they receive them all. Deliveries a second, and the process's
// CPU (worker, store, receiver) per delivery.
func BenchmarkWebhookDrain(b *testing.B) {
	for _, endpoints := range []int{1, 16} {
		b.Run(fmt.Sprintf("endpoints=%d", endpoints), func(b *testing.B) {
			benchBackends(b, func(b *testing.B, db string) { benchDrain(b, db, endpoints) })
		})
	}
}

func benchDrain(b *testing.B, db string, endpoints int) {
	env := servertest.Start(b, benchConfig(db)...)
	st := env.Server.Store()
	rcv := newBenchReceiver(b)
	var eps []store.WebhookEndpoint
	for range endpoints {
		ep, err := st.CreateWebhookEndpoint(b.Context(), store.WebhookEndpoint{WorkspaceID: env.WorkspaceID, URL: rcv.url,
			Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", CreatedAt: time.Now(), UpdatedAt: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		eps = append(eps, ep)
	}
	for i := range b.N {
		if err := st.CreateProject(b.Context(), store.Project{ID: fmt.Sprintf("proj_bench%08d", i), WorkspaceID: env.WorkspaceID,
			Name: "p", CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	cpu0, t0 := cpuTime(), time.Now()
	b.ResetTimer()
	for _, ep := range eps {
		if _, err := st.UpdateWebhookEndpoint(b.Context(), env.WorkspaceID, ep.ID, func(e *store.WebhookEndpoint) error {
			e.Enabled = true
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
	total := b.N * endpoints
	rcv.waitCount(b, total)
	b.StopTimer()
	el, cpu := time.Since(t0), cpuTime()-cpu0
	b.ReportMetric(float64(total)/el.Seconds(), "deliveries/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(total), "cpu-µs/delivery")
}

// BenchmarkWebhookLatency: one write at a time through the API, each
// waited for at the receiver; commit (the event's created_at) to the
// first attempt's arrival, p50 and p99, measured from before the write's
// request is sent (an upper bound: the commit is later). With two replicas
// on one PostgreSQL, writes alternate between them.
func BenchmarkWebhookLatency(b *testing.B) {
	run := func(b *testing.B, env *servertest.Env, envs []string, key string, rcv *benchReceiver) {
		sent := make([]time.Time, b.N)
		b.ResetTimer()
		for i := range b.N {
			tick(env, i) // the enterprise minute (1,000 writes) never fills
			sent[i] = time.Now()
			postBench(b, envs[i%len(envs)], key, i)
			rcv.waitCount(b, i+1)
		}
		b.StopTimer()
		rcv.mu.Lock()
		var lat []time.Duration
		for i, at := range rcv.times[:b.N] {
			lat = append(lat, at.Sub(sent[i]))
		}
		rcv.mu.Unlock()
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
	benchBackends(b, func(b *testing.B, db string) {
		env := servertest.Start(b, benchConfig(db)...)
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
		rcv := newBenchReceiver(b)
		createBenchEndpoint(b, env, rcv.url)
		run(b, env, []string{env.BaseURL}, env.AdminKey, rcv)
	})
	b.Run("postgres-2-replicas", func(b *testing.B) {
		db := pgtest.NewDatabase(b)
		env := servertest.Start(b, benchConfig(db)...)
		env.SetPlan(env.WorkspaceID, ratelimit.Enterprise)
		second := startBenchReplica(b, db)
		b.Cleanup(func() {
			if b.Failed() {
				eps, _, _ := env.Server.Store().ListWebhookEndpoints(context.Background(), env.WorkspaceID, store.Page{Limit: 5})
				h, _ := env.Server.Store().EventHead(context.Background(), env.WorkspaceID)
				b.Logf("endpoints %+v head %+v", eps, h)
				if len(eps) > 0 {
					ds, _, _ := env.Server.Store().ListWebhookDeliveries(context.Background(), env.WorkspaceID, eps[0].ID, store.Page{Limit: 5})
					b.Logf("deliveries %+v", ds)
				}
			}
		})
		rcv := newBenchReceiver(b)
		createBenchEndpoint(b, env, rcv.url)
		run(b, env, []string{env.BaseURL, "http://" + second.HTTPAddr()}, env.AdminKey, rcv)
	})
}

func createBenchEndpoint(b *testing.B, env *servertest.Env, url string) {
	r := env.REST("POST", "/v1/webhook-endpoints", env.AdminKey, fmt.Sprintf(`{"url":%q}`, url))
	if r.Status/100 != 2 {
		b.Fatalf("create endpoint: %d %s", r.Status, r.Body)
	}
}

var benchClient = &http.Client{Timeout: 30 * time.Second}

func postBench(b *testing.B, base, key string, i int) {
	req, _ := http.NewRequest("POST", base+"/v1/projects", strings.NewReader(fmt.Sprintf(`{"name":"p%d"}`, i)))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := benchClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 201 {
		b.Fatalf("create project: %d", resp.StatusCode)
	}
}

func startBenchReplica(b *testing.B, db string) *server.Server {
	cfg := server.Config{HTTPAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0", Database: db, WebhookAllowPrivate: true}
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := server.New(ctx, cfg)
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	b.Cleanup(func() {
		cancel()
		<-done
	})
	return srv
}
