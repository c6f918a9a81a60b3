package gateway

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/api/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/internal/protoname"
	"github.com/example/workspace/middleware/accesslog"
)

// queryRules is what each route takes in its query string, read from the
// HTTP bindings of the services' descriptors: the fields of the RPC's request
// message bound neither to the path nor to the body, by their proto names
// (the REST surface is snake_case; grpc-gateway would also take json_names,
// which the OpenAPI document does not name), each once unless the field is
// repeated. A field added to a request message is a parameter of its route
// from the next build on, with no list to keep by hand.
//
// Anything else — an unknown name (a typo: ?statuss=done would otherwise
// list every task), a repeated single-valued one, any parameter on a route
// that takes none — is a 400 naming it (issue 12's strict requests), where
// grpc-gateway would ignore it or keep one of the values.
//
// The rules are keyed by the client's method (as the mux sees it: a PUT is
// served as PATCH, a HEAD as GET) and the route's pattern as grpc-gateway
// spells it (runtime.Pattern's String), which is how the mux middleware that
// applies them finds the route that matched.
type queryRules map[string]*queryRule

// queryRule is one binding's query string.
type queryRule struct {
	method   string // GET, POST…
	template string // "/v1/tasks/{id}", as the binding writes it
	params   map[string]queryParam
	names    []string        // params' names, sorted, for the message
	path     map[string]bool // fields bound to the path
	body     map[string]bool // fields bound to the body (every field for body "*")
	json     map[string]string
}

type queryParam struct {
	repeated bool // a repeated field: the parameter may be given more than once
}

// maxQueryDepth bounds the nesting of message fields taken as dotted
// parameters (a.b.c): a recursive message must not recurse forever.
const maxQueryDepth = 4

// newQueryRules reads every HTTP binding of the API's services.
func newQueryRules(services []protoreflect.ServiceDescriptor) queryRules {
	rules := queryRules{}
	var addRule func(protoreflect.MethodDescriptor, *annotations.HttpRule)
	addRule = func(md protoreflect.MethodDescriptor, rule *annotations.HttpRule) {
		method, template := bindingOf(rule)
		if method != "" {
			q := newQueryRule(md.Input(), method, template, rule.GetBody())
			rules[method+" "+patternString(template)] = q
		}
		for _, more := range rule.GetAdditionalBindings() {
			addRule(md, more)
		}
	}
	for _, sd := range services {
		for j := 0; j < sd.Methods().Len(); j++ {
			md := sd.Methods().Get(j)
			if rule, _ := proto.GetExtension(md.Options(), annotations.E_Http).(*annotations.HttpRule); rule != nil {
				addRule(md, rule)
			}
		}
	}
	return rules
}

// bindingOf is a binding's HTTP method and path template.
func bindingOf(rule *annotations.HttpRule) (method, template string) {
	switch p := rule.GetPattern().(type) {
	case *annotations.HttpRule_Get:
		return http.MethodGet, p.Get
	case *annotations.HttpRule_Put:
		return http.MethodPut, p.Put
	case *annotations.HttpRule_Post:
		return http.MethodPost, p.Post
	case *annotations.HttpRule_Delete:
		return http.MethodDelete, p.Delete
	case *annotations.HttpRule_Patch:
		return http.MethodPatch, p.Patch
	case *annotations.HttpRule_Custom:
		return strings.ToUpper(p.Custom.GetKind()), p.Custom.GetPath()
	}
	return "", ""
}

var pathVariable = regexp.MustCompile(`\{([^}=]*)(=[^}]*)?\}`)

// patternString spells a path template as runtime.Pattern's String does: a
// variable without a pattern of its own ({id}) stands for one segment,
// {id=*}; the verb (":batchCreate") is kept.
func patternString(template string) string {
	return pathVariable.ReplaceAllStringFunc(template, func(v string) string {
		if strings.Contains(v, "=") {
			return v
		}
		return "{" + strings.Trim(v, "{}") + "=*}"
	})
}

func newQueryRule(input protoreflect.MessageDescriptor, method, template, body string) *queryRule {
	q := &queryRule{
		method: method, template: template,
		params: map[string]queryParam{}, path: map[string]bool{}, body: map[string]bool{}, json: map[string]string{},
	}
	for _, m := range pathVariable.FindAllStringSubmatch(template, -1) {
		q.path[m[1]] = true
	}
	fields := input.Fields()
	for i := 0; i < fields.Len(); i++ {
		fd := fields.Get(i)
		name := string(fd.Name())
		switch {
		case q.path[name]:
			continue
		case body == "*" || body == name:
			q.body[name] = true
			continue
		case body != "" && name == "update_mask" && fd.Message() != nil && fd.Message().FullName() == "google.protobuf.FieldMask":
			// grpc-gateway derives the update mask of a PATCH from the
			// body's members; the parameter is a gRPC notion, which the
			// OpenAPI document leaves out too (internal/openapigen).
			continue
		case name == "etag" && fd.Kind() == protoreflect.StringKind:
			// A request's etag (AIP-154) is REST's If-Match header
			// (gateway/conditional.go), which refuses ?etag= itself.
			continue
		}
		q.addParam(fd, name, 0)
	}
	for name := range q.params {
		q.names = append(q.names, name)
	}
	slices.Sort(q.names)
	return q
}

// addParam adds the parameter a field stands for: the field's name for a
// scalar, an enum or a well-known type (a Timestamp is "?due_before=…"), and
// one dotted name per field of any other message, as grpc-gateway reads them.
// Maps are no query parameters.
func (q *queryRule) addParam(fd protoreflect.FieldDescriptor, name string, depth int) {
	if fd.IsMap() || q.path[name] {
		return // a map is no parameter; a nested field may be bound to the path ({task.id})
	}
	if msg := fd.Message(); msg != nil && !strings.HasPrefix(string(msg.FullName()), "google.protobuf.") {
		if depth >= maxQueryDepth || fd.IsList() {
			return
		}
		for i := 0; i < msg.Fields().Len(); i++ {
			sub := msg.Fields().Get(i)
			q.addParam(sub, name+"."+string(sub.Name()), depth+1)
		}
		return
	}
	if depth == 0 && protoname.DeclaresJSONName(fd) {
		// A field that declares its own json_name (page_token, "cursor") is
		// documented under it on REST (internal/openapigen), and only under it.
		q.json[name] = fd.JSONName()
		name = fd.JSONName()
	} else if depth == 0 && fd.JSONName() != name {
		q.json[fd.JSONName()] = name
	}
	q.params[name] = queryParam{repeated: fd.IsList()}
}

// check refuses the first parameter (in name order) that the route does not
// take, or takes once and got more than once.
func (q *queryRule) check(method, rawQuery string) *apierror.Error {
	values, err := url.ParseQuery(rawQuery)
	if err != nil {
		return apierror.New(apierror.CodeValidation, "The query string could not be parsed: "+err.Error(), nil)
	}
	names := make([]string, 0, len(values))
	for name := range values {
		names = append(names, name)
	}
	slices.Sort(names)
	route := method + " " + q.template
	for _, name := range names {
		p, ok := q.params[name]
		switch {
		case !ok:
			return apierror.Validation(name, q.unknown(name, route))
		case len(values[name]) > 1 && !p.repeated:
			return apierror.Validation(name, "Query parameter \""+name+"\" is given "+strconv.Itoa(len(values[name]))+" times; it takes one value")
		}
	}
	return nil
}

// unknown words the refusal of a parameter the route does not take, with
// what the client probably meant.
func (q *queryRule) unknown(name, route string) string {
	if name == "" {
		return "A query parameter has no name"
	}
	quoted := "\"" + name + "\""
	switch {
	case q.path[name]:
		return "Query parameter " + quoted + " is not accepted: " + route + " takes it in the path"
	case q.json[name] != "":
		return "Unknown query parameter " + quoted + ": did you mean \"" + q.json[name] + "\"?"
	case q.body[name]:
		return "Query parameter " + quoted + " is not accepted: " + route + " takes it in the JSON body"
	case len(q.names) == 0:
		return "Unknown query parameter " + quoted + ": " + route + " takes no query parameters"
	}
	return "Unknown query parameter " + quoted + ": " + route + " takes " + strings.Join(q.names, ", ")
}

// strictQuery is the mux middleware that applies the rules once a route has
// matched (an unknown route stays a 404, a wrong method a 405) and before the
// request is decoded. A refusal is one of the gateway's own, after admission
// like the others: a known key's 400 carries its rate-limit headers.
func (g *Gateway) strictQuery(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		if r.URL.RawQuery != "" {
			q := g.queryRuleOf(r)
			method := r.Method
			if m := clientRequestFrom(r.Context()).method; m != "" {
				method = m // the client's HEAD or PUT, served as GET or PATCH
			}
			if e := q.check(method, r.URL.RawQuery); e != nil {
				accesslog.SetRoutePattern(r.Context(), q.template)
				g.reject(w, r, e)
				return
			}
		}
		next(w, r, pathParams)
	}
}

// queryRuleOf is the rule of the route that matched r. Every route the mux
// has comes from a binding the rules were read from; were one missing, its
// route would take no parameters rather than any.
func (g *Gateway) queryRuleOf(r *http.Request) *queryRule {
	if pattern, ok := runtime.HTTPPattern(r.Context()); ok {
		if q := g.queries[r.Method+" "+pattern.String()]; q != nil {
			return q
		}
	}
	return &queryRule{method: r.Method, template: r.URL.Path}
}
