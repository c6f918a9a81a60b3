// Package cors lets web apps on other origins call the REST API (the Fetch
// standard's CORS protocol): it answers browsers' preflights itself and marks
// the answers to the origins the operator allowed.
package cors

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// AllowedHeaders are the request headers a page may send: the key, a JSON
// body's type, the conditional and idempotent request headers, and the
// client's own request id (which the API adopts when it is sane).
const AllowedHeaders = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Request-Id"

// ExposedHeaders are the response headers a page's script may read beside
// the CORS-safelisted ones (Content-Type…): the rate limit, the request id,
// the ETag, the replay mark and a write's event seq.
const ExposedHeaders = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After, X-Request-Id, ETag, Idempotent-Replayed, X-Event-Seq"

// MaxAge is how long, in seconds, a browser may reuse a preflight's answer:
// two hours, Chromium's own cap (Firefox allows a day). The answer depends only
// on the configuration and the API's routes, which change with a release.
const MaxAge = 7200

// Options configure the middleware.
type Options struct {
	// Origins are the origins allowed, each scheme://host[:port] as a
	// browser sends it in Origin, or "*" for any. None turns CORS off.
	Origins []string
	// Methods is the methods the API takes on a path ("GET, HEAD, POST"),
	// "" for a path it does not have: a preflight's answer names them.
	Methods func(path string) string
}

// Any is the entry that allows every origin. Keys are bearer tokens sent in
// a header, never cookies, so a page on any origin can use only a key it
// already holds: allowing every origin gives a page nothing it did not have.
// Credentials (cookies, TLS client certificates) are never allowed.
const Any = "*"

// ParseOrigins reads a comma-separated list of origins (the --cors-origins
// flag): each is "*" or an http(s) origin without path, query or user info;
// a trailing "/" is dropped and a default port (":443" for https, ":80"
// for http) too, as browsers drop it from Origin. "null", the origin of
// sandboxed and file: pages, which any page can claim, is refused.
func ParseOrigins(list string) ([]string, error) {
	var origins []string
	for _, raw := range strings.Split(list, ",") {
		raw = strings.TrimSpace(raw)
		if raw == "" {
			continue
		}
		o, err := parseOrigin(raw)
		if err != nil {
			return nil, err
		}
		origins = append(origins, o)
	}
	return origins, nil
}

func parseOrigin(raw string) (string, error) {
	if raw == Any {
		return Any, nil
	}
	if strings.EqualFold(raw, "null") {
		return "", errors.New(`CORS origin "null" is not accepted: any sandboxed page or local file can claim it`)
	}
	u, err := url.Parse(strings.TrimSuffix(raw, "/"))
	if err != nil {
		return "", fmt.Errorf("CORS origin %q: %v", raw, err)
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", fmt.Errorf("CORS origin %q: want http:// or https://, a host and maybe a port, such as https://app.example.com", raw)
	case u.Host == "" || u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("CORS origin %q: an origin is scheme://host[:port], nothing more", raw)
	}
	host := strings.ToLower(u.Host)
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("CORS origin %q: bad port", raw)
		}
		if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
			host = strings.TrimSuffix(host, ":"+port)
		}
	}
	return scheme + "://" + host, nil
}

// New wraps next. Without origins it returns next itself: no header is added
// and OPTIONS stays what the API makes of it.
func New(next http.Handler, opts Options) http.Handler {
	if len(opts.Origins) == 0 {
		return next
	}
	c := &handler{next: next, methods: opts.Methods, allowed: map[string]bool{}}
	for _, o := range opts.Origins {
		if o == Any {
			c.any = true
		}
		c.allowed[strings.ToLower(o)] = true
	}
	if c.methods == nil {
		c.methods = func(string) string { return "" }
	}
	return c
}

type handler struct {
	next    http.Handler
	methods func(path string) string
	any     bool
	allowed map[string]bool
}

// ServeHTTP answers a preflight from an allowed origin itself, 204 without a
// key (a browser never sends one on a preflight) and before any limit, and
// passes everything else on. Every answer says Vary: Origin, since whether
// it carries CORS headers depends on it; an answer to an allowed origin
// names the origin and the headers its script may read.
//
// A request from an origin not allowed passes on untouched: its preflight
// gets what the API answers an OPTIONS (401 without a key, 405 with one), and
// without Access-Control-Allow-Origin the browser refuses to let the page see
// any answer. A 403 would tell the page no more, and keeping the API's answer
// keeps one meaning for OPTIONS whoever sends it.
func (c *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Add("Vary", "Origin")
	allowOrigin, ok := c.allow(r)
	if !ok {
		c.next.ServeHTTP(w, r)
		return
	}
	h.Set("Access-Control-Allow-Origin", allowOrigin)
	if r.Method == http.MethodOptions && len(r.Header.Values("Access-Control-Request-Method")) > 0 {
		// The answer also depends on what the preflight asks.
		h.Add("Vary", "Access-Control-Request-Method")
		h.Add("Vary", "Access-Control-Request-Headers")
		// The route's methods, whatever was asked: a method it does not take
		// fails the preflight in the browser, and the page learns nothing it
		// could not read in the OpenAPI document. A path the API does not
		// have still gets its 204: the page's request then gets the API's 404,
		// which it can read.
		if methods := c.methods(r.URL.EscapedPath()); methods != "" {
			h.Set("Access-Control-Allow-Methods", methods)
		}
		h.Set("Access-Control-Allow-Headers", AllowedHeaders)
		h.Set("Access-Control-Max-Age", strconv.Itoa(MaxAge))
		h.Del("Content-Type")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.Set("Access-Control-Expose-Headers", ExposedHeaders)
	c.next.ServeHTTP(w, r)
}

// allow is the Access-Control-Allow-Origin for r's one Origin header: the
// origin itself, or "*" when every origin is allowed. A request without an
// Origin (not from a browser's cross-origin fetch), or with several, gets
// none.
func (c *handler) allow(r *http.Request) (string, bool) {
	values := r.Header.Values("Origin")
	if len(values) != 1 || values[0] == "" {
		return "", false
	}
	origin := values[0]
	switch {
	case c.any:
		return Any, true
	case c.allowed[strings.ToLower(origin)]:
		return origin, true
	}
	return "", false
}
