package main

import (
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// outcome of one request.
type outcome int

const (
	ok outcome = iota
	failed
	refused // 429: the benchmark spread load over too few workspaces
)

// result is one measured phase.
type result struct {
	requests int
	errors   int
	refused  int
	elapsed  time.Duration
	lat      []time.Duration // sorted
	cpu      time.Duration   // server CPU during the phase, if known
}

func (r result) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(p * float64(len(r.lat)-1))
	return r.lat[i]
}

// cpuPerRequest is the server's CPU time per request in the phase.
func (r result) cpuPerRequest() time.Duration {
	if r.requests == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.requests)
}

// load runs do from c workers for warmup (discarded), then for dur (measured),
// reading the server's CPU time around the measured part. do gets a sequence
// number, unique across workers, to spread requests over workspaces.
func load(ctx context.Context, pid, c int, warmup, dur time.Duration, do func(ctx context.Context, seq int64) outcome) result {
	var seq atomic.Int64
	phase := func(d time.Duration, record bool) result {
		deadline := time.Now().Add(d)
		var mu sync.Mutex
		var all result
		var wg sync.WaitGroup
		for w := 0; w < c; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine result
				if record {
					mine.lat = make([]time.Duration, 0, 4096)
				}
				for ctx.Err() == nil {
					start := time.Now()
					if start.After(deadline) {
						break
					}
					o := do(ctx, seq.Add(1))
					if !record {
						continue
					}
					mine.lat = append(mine.lat, time.Since(start))
					mine.requests++
					switch o {
					case failed:
						mine.errors++
					case refused:
						mine.refused++
					}
				}
				mu.Lock()
				all.requests += mine.requests
				all.errors += mine.errors
				all.refused += mine.refused
				all.lat = append(all.lat, mine.lat...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		return all
	}
	phase(warmup, false)
	cpu0, _ := cpuTime(pid)
	start := time.Now()
	r := phase(dur, true)
	r.elapsed = time.Since(start)
	if cpu1, err := cpuTime(pid); err == nil && pid > 0 {
		r.cpu = cpu1 - cpu0
	}
	slices.Sort(r.lat)
	return r
}

// restDo sends one request and classifies the answer.
func restDo(ctx context.Context, client *http.Client, method, url, key, body string) outcome {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return failed
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		return failed
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests:
		return refused
	case resp.StatusCode >= 300:
		return failed
	}
	return ok
}

func newHTTPClient(c int) *http.Client {
	return &http.Client{Transport: &http.Transport{
		MaxIdleConns:        c,
		MaxIdleConnsPerHost: c,
		MaxConnsPerHost:     c,
		DisableCompression:  true,
		IdleConnTimeout:     time.Minute,
	}}
}
