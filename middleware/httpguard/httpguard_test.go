package httpguard_test

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/example/workspace/middleware/httpguard"
)

// serve runs a real http.Server on a wrapped loopback listener: the handler
// answers as much like net/http's own 400 as a handler can, and the Answer
// marks what it rewrites.
func serve(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Connection", "close")
			w.Header()["Date"] = nil
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, "400 Bad Request")
		}),
		MaxHeaderBytes: 1 << 10,
	}
	go func() {
		_ = srv.Serve(httpguard.Listener(l, func(w http.ResponseWriter, status int, reason string) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, `{"rewritten":"`+reason+`"}`)
		}))
	}()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

func roundTrip(t *testing.T, addr, request string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("%v after %q", err, b)
	}
	return string(b)
}

func TestRewritesNetHTTPsOwnAnswers(t *testing.T) {
	addr := serve(t)
	for request, want := range map[string]string{
		"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n": "HTTP/1.1 400 Bad Request\r\n",
		"GET / HTTP/1.1\r\n\r\n":               "HTTP/1.1 400 Bad Request\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX: " + strings.Repeat("x", 8<<10) + "\r\n\r\n": "HTTP/1.1 431 Request Header Fields Too Large\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: zip\r\n\r\n":               "HTTP/1.1 501 Not Implemented\r\n",
		"GET / HTTP/2.0\r\nHost: x\r\n\r\n":                                          "HTTP/1.1 505 HTTP Version Not Supported\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nExpect: tea\r\n\r\n":                           "HTTP/1.1 417 Expectation Failed\r\n",
	} {
		got := roundTrip(t, addr, request)
		if !strings.HasPrefix(got, want) || !strings.Contains(got, `{"rewritten":"`) || strings.Contains(got, "text/plain") {
			t.Errorf("%.40q: answered %q, want a rewritten %q", request, got, want)
		}
		if !strings.Contains(got, "\r\nConnection: close\r\n") || !strings.Contains(got, "\r\nContent-Length: ") {
			t.Errorf("%.40q: %q lacks Connection: close or Content-Length", request, got)
		}
	}
	if got := roundTrip(t, addr, "GET / HTTP/1.1\r\n\r\n"); !strings.Contains(got, `{"rewritten":"missing required Host header"}`) {
		t.Errorf("the reason is not passed on: %q", got)
	}
}

// TestLeavesHandlersAlone: a handler that copies net/http's 400 as closely as
// it can (same type, same body, Connection: close, no Date) still goes out
// as written, since net/http orders a handler's headers differently.
func TestLeavesHandlersAlone(t *testing.T) {
	addr := serve(t)
	got := roundTrip(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if strings.Contains(got, "rewritten") || !strings.HasSuffix(got, "\r\n\r\n400 Bad Request") {
		t.Errorf("the handler's answer was changed: %q", got)
	}
}
