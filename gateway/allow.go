package gateway

import (
	"net/http"
	"regexp"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// routes is what each path of the API takes, read from the HTTP bindings of
// the services' descriptors (the ones grpc-gateway's handlers are generated
// from), so that a 405's Allow header names exactly the methods the mux
// would route, with no list to keep by hand.
type routes []route

type route struct {
	segments []string // a literal segment, or "*" for one segment of any value
	methods  []string
}

// methodOrder is the order Allow lists methods in.
var methodOrder = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// newRoutes reads every HTTP binding of the API's services (the method
// table's), plus the OpenAPI document the gateway serves itself.
func newRoutes(services []protoreflect.ServiceDescriptor) routes {
	var rs routes
	add := func(method, template string) {
		segs := templateSegments(template)
		for i := range rs {
			if slices.Equal(rs[i].segments, segs) {
				if !slices.Contains(rs[i].methods, method) {
					rs[i].methods = append(rs[i].methods, method)
				}
				return
			}
		}
		rs = append(rs, route{segments: segs, methods: []string{method}})
	}
	var addRule func(*annotations.HttpRule)
	addRule = func(rule *annotations.HttpRule) {
		switch p := rule.GetPattern().(type) {
		case *annotations.HttpRule_Get:
			add(http.MethodGet, p.Get)
		case *annotations.HttpRule_Put:
			add(http.MethodPut, p.Put)
		case *annotations.HttpRule_Post:
			add(http.MethodPost, p.Post)
		case *annotations.HttpRule_Delete:
			add(http.MethodDelete, p.Delete)
		case *annotations.HttpRule_Patch:
			add(http.MethodPatch, p.Patch)
		case *annotations.HttpRule_Custom:
			add(strings.ToUpper(p.Custom.GetKind()), p.Custom.GetPath())
		}
		for _, more := range rule.GetAdditionalBindings() {
			addRule(more)
		}
	}
	for _, sd := range services {
		for j := 0; j < sd.Methods().Len(); j++ {
			if rule, _ := proto.GetExtension(sd.Methods().Get(j).Options(), annotations.E_Http).(*annotations.HttpRule); rule != nil {
				addRule(rule)
			}
		}
	}
	add(http.MethodGet, SpecPath)
	// A GET route answers HEAD too (ServeHTTP serves it as the GET), but
	// the event stream, which has no end to leave out (sse.go).
	stream := templateSegments(StreamPath)
	for i := range rs {
		if slices.Equal(rs[i].segments, stream) {
			continue
		}
		if slices.Contains(rs[i].methods, http.MethodGet) && !slices.Contains(rs[i].methods, http.MethodHead) {
			rs[i].methods = append(rs[i].methods, http.MethodHead)
		}
	}
	return rs
}

// templateSegments splits a path template ("/v1/projects/{id}") into its
// segments, a variable becoming "*" (one segment of any value). A variable
// with its own pattern ({name=projects/*}) stands for that pattern. A custom
// verb stays on the last segment ("/v1/tasks:batchCreate" ends in
// "tasks:batchCreate"), as it does in the path a client sends.
func templateSegments(template string) []string {
	template, verb, hasVerb := strings.Cut(template, ":")
	template = variableWithPattern.ReplaceAllString(template, "$1")
	template = variable.ReplaceAllString(template, "*")
	segs := strings.Split(strings.TrimPrefix(template, "/"), "/")
	if hasVerb {
		segs[len(segs)-1] += ":" + verb
	}
	return segs
}

var (
	variableWithPattern = regexp.MustCompile(`\{[^}=]*=([^}]*)\}`)
	variable            = regexp.MustCompile(`\{[^}]*\}`)
)

// allow is the Allow header for path: the methods of every route matching it
// in methodOrder (then any others, sorted), or "" if none matches.
func (rs routes) allow(path string) string {
	got := strings.Split(strings.TrimPrefix(path, "/"), "/")
	var methods []string
	for _, r := range rs {
		if matches(r.segments, got) {
			for _, m := range r.methods {
				if !slices.Contains(methods, m) {
					methods = append(methods, m)
				}
			}
		}
	}
	slices.SortFunc(methods, func(a, b string) int {
		ia, ib := slices.Index(methodOrder, a), slices.Index(methodOrder, b)
		switch {
		case ia >= 0 && ib >= 0:
			return ia - ib
		case ia >= 0:
			return -1
		case ib >= 0:
			return 1
		}
		return strings.Compare(a, b)
	})
	return strings.Join(methods, ", ")
}

func matches(pattern, segs []string) bool {
	for i, p := range pattern {
		if p == "**" {
			return true
		}
		if i >= len(segs) || !segmentMatches(p, segs[i]) {
			return false
		}
	}
	return len(pattern) == len(segs)
}

// segmentMatches matches one segment: a literal, "*" (any value), or either
// followed by a custom verb (":batchCreate"), which the path must end in.
func segmentMatches(pattern, seg string) bool {
	if p, verb, ok := strings.Cut(pattern, ":"); ok {
		rest, found := strings.CutSuffix(seg, ":"+verb)
		return found && (p == "*" && rest != "" || p == rest)
	}
	return pattern == "*" || pattern == seg
}
