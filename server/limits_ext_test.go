package server_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/server"
	"github.com/example/workspace/server/servertest"
	"github.com/example/workspace/service/ratelimit"
)

// lmxReader yields n bytes of a JSON string body from one small buffer, so
// that the client itself allocates next to nothing however big the body.
type lmxReader struct {
	n    int64
	sent atomic.Int64 // read by the test while the transport may still write
	head bool
}

func (r *lmxReader) Read(p []byte) (int, error) {
	if !r.head {
		r.head = true
		return copy(p, `{"name":"`), nil
	}
	sent := r.sent.Load()
	if sent >= r.n {
		return 0, io.EOF
	}
	k := min(int64(len(p)), r.n-sent)
	for i := range p[:k] {
		p[i] = 'y'
	}
	r.sent.Add(k)
	return int(k), nil
}

// TestBodyLimitMemory sends 50 MiB bodies, with and without Content-Length,
// and measures what the process allocated meanwhile: the limit is enforced
// before decoding, so the growth stays near the 1 MiB limit, not 50 MiB.
func TestBodyLimitMemory(t *testing.T) {
	env := servertest.Start(t)
	const size = 50 << 20
	for _, chunked := range []bool{false, true} {
		name := map[bool]string{false: "Content-Length", true: "chunked"}[chunked]
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			body := &lmxReader{n: size}
			req, _ := http.NewRequest("POST", env.BaseURL+"/v1/projects", body)
			req.Header.Set("Authorization", "Bearer "+env.AdminKey)
			req.Header.Set("Content-Type", "application/json")
			if !chunked {
				req.ContentLength = size + int64(len(`{"name":"`))
			}
			resp, err := env.HTTP.Do(req)
			var status int
			var b []byte
			if err == nil {
				status = resp.StatusCode
				b, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			runtime.ReadMemStats(&after)
			allocated := after.TotalAlloc - before.TotalAlloc
			heapGrowth := int64(after.HeapAlloc) - int64(before.HeapAlloc)
			t.Logf("50 MiB body (%s): answer %d, client sent %.1f MiB before the answer, process allocated %.2f MiB in all, heap grew %.2f MiB",
				name, status, float64(body.sent.Load())/(1<<20), float64(allocated)/(1<<20), float64(heapGrowth)/(1<<20))
			if err != nil {
				// The server may close the connection while the client still
				// writes; the request must at least not have been read whole.
				t.Logf("client error (server closed early): %v", err)
			} else if status != 413 || !strings.Contains(string(b), `"PAYLOAD_TOO_LARGE"`) {
				t.Errorf("answer %d %s, want 413 PAYLOAD_TOO_LARGE", status, b)
			}
			// Everything the process allocated, client included, bounds what
			// the server kept: a decoder fed the body would need 50 MiB+.
			if allocated > 8<<20 {
				t.Errorf("allocated %.1f MiB for a refused 50 MiB body, want under 8 MiB", float64(allocated)/(1<<20))
			}
			// With Content-Length it is refused unread (what the client sent
			// meanwhile sits in socket buffers, not in the process).
			if !chunked && allocated > 1<<20 {
				t.Errorf("with Content-Length the body should be refused unread; %d bytes allocated", allocated)
			}
		})
	}
}

// lmxDial opens a raw TCP connection to addr.
func lmxDial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// lmxClosedWithin reads from c until the server closes it, and reports how
// long that took; it fails the test if the server keeps it open past limit.
func lmxClosedWithin(t *testing.T, c net.Conn, limit time.Duration) (time.Duration, []byte) {
	t.Helper()
	start := time.Now()
	_ = c.SetReadDeadline(start.Add(limit))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server kept the connection open for %v", limit)
	}
	return time.Since(start), b
}

func TestHTTPServerTimeouts(t *testing.T) {
	env := servertest.Start(t, func(c *server.Config) {
		c.ReadHeaderTimeout = 300 * time.Millisecond
		c.ReadTimeout = time.Second
		c.IdleTimeout = 500 * time.Millisecond
	})
	addr := strings.TrimPrefix(env.BaseURL, "http://")

	t.Run("ReadHeaderTimeout", func(t *testing.T) {
		c := lmxDial(t, addr)
		fmt.Fprintf(c, "GET /v1/projects HTTP/1.1\r\nHost: x\r\n") // never finished
		took, _ := lmxClosedWithin(t, c, 5*time.Second)
		if took < 250*time.Millisecond {
			t.Errorf("closed after %v, before the header timeout", took)
		}
		t.Logf("unfinished header: closed after %v (ReadHeaderTimeout 300ms)", took.Round(time.Millisecond))
	})
	t.Run("ReadTimeout", func(t *testing.T) {
		c := lmxDial(t, addr)
		fmt.Fprintf(c, "POST /v1/projects HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100\r\n\r\n{", env.AdminKey)
		took, b := lmxClosedWithin(t, c, 5*time.Second)
		t.Logf("body never finished: closed after %v (ReadTimeout 1s): %q", took.Round(time.Millisecond), firstLine(b))
		if took < 900*time.Millisecond {
			t.Errorf("closed after %v, before the read timeout", took)
		}
	})
	t.Run("IdleTimeout", func(t *testing.T) {
		c := lmxDial(t, addr)
		fmt.Fprintf(c, "GET /v1/workspace HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", env.AdminKey)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request on the raw connection: %v %v", resp, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		took, _ := lmxClosedWithin(t, c, 5*time.Second)
		t.Logf("idle keep-alive connection closed after %v (IdleTimeout 500ms)", took.Round(time.Millisecond))
	})
	t.Run("MaxHeaderBytes", func(t *testing.T) {
		r := env.REST("GET", "/v1/projects", env.AdminKey, "", "X-Padding", strings.Repeat("p", 100<<10))
		if r.Status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("100 KiB of headers: %d, want 431", r.Status)
		}
	})
}

func firstLine(b []byte) string {
	line, _, _ := bytes.Cut(b, []byte("\r\n"))
	return string(line)
}

// TestSlowLoris opens hundreds of connections that trickle header lines and
// never finish, and checks that normal requests are served meanwhile and that
// every trickler is cut off by the header timeout.
func TestSlowLoris(t *testing.T) {
	const (
		lorises       = 300
		normal        = 100
		headerTimeout = 2 * time.Second
	)
	env := servertest.Start(t, func(c *server.Config) { c.ReadHeaderTimeout = headerTimeout })
	_, key := env.NewWorkspace(ratelimit.Enterprise.Name, "admin")
	addr := strings.TrimPrefix(env.BaseURL, "http://")

	var opened, cutOff, survived atomic.Int64
	var wg sync.WaitGroup
	allOpen := make(chan struct{})
	var openWG sync.WaitGroup
	openWG.Add(lorises)
	for i := range lorises {
		wg.Go(func() {
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				openWG.Done()
				t.Errorf("loris %d: %v", i, err)
				return
			}
			defer c.Close()
			opened.Add(1)
			_, err = fmt.Fprintf(c, "GET /v1/projects HTTP/1.1\r\nHost: x\r\n")
			openWG.Done()
			if err != nil {
				return
			}
			// One header line every 100 ms, for at most 3× the timeout; the
			// server must hang up first.
			deadline := time.Now().Add(3 * headerTimeout)
			for n := 0; time.Now().Before(deadline); n++ {
				if _, err := fmt.Fprintf(c, "X-Loris-%d: %d\r\n", n, n); err != nil {
					cutOff.Add(1)
					return
				}
				_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
				if _, err := c.Read(make([]byte, 1)); err != nil {
					var ne net.Error
					if !errors.As(err, &ne) || !ne.Timeout() {
						cutOff.Add(1) // EOF or reset: the server hung up
						return
					}
				}
			}
			survived.Add(1)
		})
	}
	go func() { openWG.Wait(); close(allOpen) }()
	<-allOpen

	// Normal traffic while the lorises trickle.
	var ok, failed atomic.Int64
	var slowest atomic.Int64
	client := &http.Client{Timeout: 10 * time.Second}
	var normalWG sync.WaitGroup
	for w := range 4 {
		normalWG.Go(func() {
			for i := w; i < normal; i += 4 {
				start := time.Now()
				req, _ := http.NewRequest("GET", env.BaseURL+"/v1/projects", nil)
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					t.Errorf("normal request during the slow-loris: %v", err)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					failed.Add(1)
					t.Errorf("normal request during the slow-loris: %d", resp.StatusCode)
					continue
				}
				ok.Add(1)
				if d := int64(time.Since(start)); d > slowest.Load() {
					slowest.Store(d)
				}
			}
		})
	}
	normalWG.Wait()
	wg.Wait()
	t.Logf("slow-loris: %d connections trickling headers; %d/%d normal requests succeeded meanwhile (slowest %v); %d lorises cut off by the server, %d survived",
		opened.Load(), ok.Load(), normal, time.Duration(slowest.Load()).Round(time.Millisecond), cutOff.Load(), survived.Load())
	if ok.Load() != normal {
		t.Errorf("%d of %d normal requests failed", failed.Load(), normal)
	}
	if survived.Load() != 0 {
		t.Errorf("%d lorises kept their connection past 3× the header timeout", survived.Load())
	}
}

// TestGRPCLimits: an oversized message is refused before decoding, and the
// server advertises its stream limit and enforces its keepalive policy.
func TestGRPCLimits(t *testing.T) {
	env := servertest.Start(t)
	projects := workspacev1.NewProjectServiceClient(env.Conn)

	t.Run("MaxRecvMsgSize", func(t *testing.T) {
		_, err := projects.CreateProject(env.Ctx(env.AdminKey), &workspacev1.CreateProjectRequest{Name: "big", Description: strings.Repeat("d", 2<<20)})
		if status.Code(err) != codes.ResourceExhausted {
			t.Errorf("2 MiB message: %v, want RESOURCE_EXHAUSTED", err)
		}
	})

	t.Run("MaxConcurrentStreams and ping flood", func(t *testing.T) {
		c := lmxDial(t, env.Server.GRPCAddr())
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
			t.Fatal(err)
		}
		fr := http2.NewFramer(c, c)
		if err := fr.WriteSettings(); err != nil {
			t.Fatal(err)
		}
		var maxStreams uint32
		var goAway *http2.GoAwayFrame
		pings := 0
		for goAway == nil {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatalf("reading frames after %d pings: %v", pings, err)
			}
			switch f := f.(type) {
			case *http2.SettingsFrame:
				if !f.IsAck() {
					if v, ok := f.Value(http2.SettingMaxConcurrentStreams); ok {
						maxStreams = v
					}
					_ = fr.WriteSettingsAck()
					// Then ping without pause and without any call open.
					for range 10 {
						pings++
						if err := fr.WritePing(false, [8]byte{byte(pings)}); err != nil {
							break
						}
					}
				}
			case *http2.GoAwayFrame:
				goAway = f
			}
		}
		if maxStreams != 512 {
			t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS = %d, want 512", maxStreams)
		}
		if goAway.ErrCode != http2.ErrCodeEnhanceYourCalm || !strings.Contains(string(goAway.DebugData()), "too_many_pings") {
			t.Errorf("GOAWAY %v %q, want ENHANCE_YOUR_CALM too_many_pings", goAway.ErrCode, goAway.DebugData())
		}
		t.Logf("gRPC advertises MAX_CONCURRENT_STREAMS %d; %d pings without a call got GOAWAY %v %q", maxStreams, pings, goAway.ErrCode, goAway.DebugData())
	})

	// The server still serves normal clients.
	if _, err := projects.ListProjects(env.Ctx(env.AdminKey), &workspacev1.ListProjectsRequest{}); err != nil {
		t.Errorf("after the flood: %v", err)
	}
}
