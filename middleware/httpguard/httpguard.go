// Package httpguard rewrites the answers net/http writes on its own, before
// any handler runs (a request it cannot parse, headers over the limit), into
// answers written by a handler the server chooses: the API's error envelope.
package httpguard

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Answer writes the answer to a request that net/http refused before any
// handler ran. status is the one net/http chose; reason is its text
// ("missing required Host header", "unsupported protocol version",
// "Unsupported transfer encoding", …), "" when it gave none. Nothing of the
// request is known: it could not be parsed.
type Answer func(w http.ResponseWriter, status int, reason string)

// Listener wraps l so that net/http's own error answers on its connections
// are replaced by answer's.
//
// net/http writes them straight to the connection, bypassing the handler, in
// fixed forms (see conn.serve in net/http/server.go):
//
//	HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request
//
// with "431 Request Header Fields Too Large", "400 Bad Request: <reason>",
// "505 HTTP Version Not Supported: <reason>" or "501 Not Implemented" (whose
// body is "Unsupported transfer encoding") in place of the 400, each in a
// single Write and followed by the connection's close. Its 417 to an
// unsupported Expect goes through its response writer without a handler:
// "HTTP/1.x 417 Expectation Failed\r\n…" with no body.
//
// A Write is rewritten only when it is one of these whole. A handler's answer
// never is: net/http writes a handler's headers sorted (Connection before
// Content-Type, and every answer of this server has X-Request-Id) and then
// its own Date and Content-Length. Only the 417 is told by its status line
// alone, and this server's handlers never answer 417.
//
// With TLS, the wrapper must sit between TLS and net/http (wrap the listener
// tls.NewListener returns), or it sees only ciphertext.
func Listener(l net.Listener, answer Answer) net.Listener {
	return &listener{Listener: l, answer: answer}
}

type listener struct {
	net.Listener
	answer Answer
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c, answer: l.answer}, nil
}

type conn struct {
	net.Conn
	answer Answer
}

func (c *conn) Write(p []byte) (int, error) {
	proto, status, reason, ok := ownAnswer(p)
	if !ok {
		return c.Conn.Write(p)
	}
	if _, err := c.Conn.Write(render(c.answer, proto, status, reason)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// CloseWrite passes net/http's half-close on (it sends a 431 with a FIN, then
// waits, so that the client reads the answer before the connection resets).
func (c *conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// errorHeaders is what net/http puts between the status line and the body of
// the answers it writes itself.
const errorHeaders = "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"

// unsupportedTE is the body of net/http's 501.
const unsupportedTE = "Unsupported transfer encoding"

// ownAnswer recognises one of net/http's own answers, whole, in p.
func ownAnswer(p []byte) (proto string, status int, reason string, ok bool) {
	// "HTTP/1.1 400 " at least; cheap to refuse for every other write.
	if len(p) < 13 || p[0] != 'H' || !bytes.HasPrefix(p, []byte("HTTP/1.")) || p[12] != ' ' {
		return "", 0, "", false
	}
	for _, d := range p[9:12] {
		if d < '0' || d > '9' {
			return "", 0, "", false
		}
		status = status*10 + int(d-'0')
	}
	switch string(p[:8]) { // no allocation: compared, not kept
	case "HTTP/1.1":
		proto = "HTTP/1.1"
	case "HTTP/1.0":
		proto = "HTTP/1.0"
	default:
		return "", 0, "", false
	}
	if status == http.StatusExpectationFailed {
		return proto, status, "", bytes.HasPrefix(p[8:], []byte(" 417 Expectation Failed\r\n"))
	}
	switch status {
	case http.StatusBadRequest, http.StatusRequestHeaderFieldsTooLarge, http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
	default:
		return "", 0, "", false
	}
	line, body, found := bytes.Cut(p[9:], []byte(errorHeaders))
	if !found || proto != "HTTP/1.1" {
		return "", 0, "", false
	}
	text := strconv.Itoa(status) + " " + http.StatusText(status)
	switch {
	case status == http.StatusNotImplemented:
		if string(line) != text || string(body) != unsupportedTE {
			return "", 0, "", false
		}
		return proto, status, unsupportedTE, true
	case !bytes.Equal(line, body):
		return "", 0, "", false
	case string(line) == text:
		return proto, status, "", true
	case bytes.HasPrefix(line, []byte(text+": ")):
		return proto, status, string(line[len(text)+2:]), true
	}
	return "", 0, "", false
}

// render runs answer and writes what it wrote as a whole HTTP/1.x response,
// which closes the connection as net/http's own would have.
func render(answer Answer, proto string, status int, reason string) []byte {
	rec := &recorder{header: http.Header{}, status: http.StatusOK}
	answer(rec, status, reason)
	h := rec.header
	h.Del("Transfer-Encoding")
	h.Set("Content-Length", strconv.Itoa(rec.body.Len()))
	h.Set("Connection", "close")
	if _, ok := h["Date"]; !ok {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	var out bytes.Buffer
	out.WriteString(proto + " " + strconv.Itoa(rec.status) + " " + http.StatusText(rec.status) + "\r\n")
	_ = h.Write(&out)
	out.WriteString("\r\n")
	out.Write(rec.body.Bytes())
	return out.Bytes()
}

// recorder is the http.ResponseWriter an Answer writes to.
type recorder struct {
	header      http.Header
	status      int
	wroteHeader bool
	body        bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }

func (r *recorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
}

func (r *recorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}
