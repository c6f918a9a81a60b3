package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/store"
)

// The event log (issue 13) as REST sends it, which protoc-gen-openapiv2
// cannot tell from the protos:
//
//   - an Event's data and previous are google.protobuf.Struct (any object) in
//     the protos, but hold the resource its type names, exactly as the
//     resource's GET renders it: so Event is a oneOf of one schema per
//     resource (TaskEvent, ProjectEvent…), chosen by the discriminator
//     "type" with the mapping from each event type (store.EventTypes) to its
//     resource, each with its own type enum, data and previous;
//   - previous is the partial resource: the old values of the top-level
//     fields an update changed, null for creates and deletes;
//   - seq is an int64, which proto3 JSON writes as a decimal string;
//   - a server-streaming RPC (WatchEvents) is Server-Sent Events on REST
//     (text/event-stream, Last-Event-ID), where buf describes a JSON body of
//     {"result": …} objects, which the gateway never sends here.

// eventSchema is the Event message's schema name.
const eventSchema = schemaPrefix + "Event"

// eventResources names, for each resource an event type starts with, the
// schema of its data and the name of its Event variant. The workspace of a
// workspace event is the workspace without its usage (usage is not the
// workspace's state but the caller's quota at the time of a GET).
var eventResources = map[string]struct{ schema, variant string }{
	"project":   {schemaPrefix + "Project", "ProjectEvent"},
	"task":      {schemaPrefix + "Task", "TaskEvent"},
	"api_key":   {schemaPrefix + "ApiKey", "ApiKeyEvent"},
	"workspace": {"WorkspaceState", "WorkspaceEvent"},
	// endpoint.disabled: the webhook endpoint as its GET renders it.
	"endpoint": {schemaPrefix + "WebhookEndpoint", "WebhookEndpointEvent"},
}

// addEventSchemas replaces the Event schema with the discriminated oneOf of
// its variants. It runs after fixSchemas (the Event's fields are required,
// its timestamp at whole seconds) and before the operations refer to it.
func addEventSchemas(schemas openapi3.Schemas) error {
	ref, ok := schemas[eventSchema]
	if !ok {
		return nil // no event log in the protos
	}
	base := ref.Value
	for _, f := range []string{"seq", "type", "data", "previous"} {
		if base.Properties[f] == nil {
			return fmt.Errorf("schema %s: no field %s", eventSchema, f)
		}
	}
	// A workspace as an event records it: its GET's fields but usage.
	ws := schemas[schemaPrefix+"Workspace"]
	if ws == nil {
		return fmt.Errorf("no schema %sWorkspace", schemaPrefix)
	}
	state := *ws.Value
	state.Properties = openapi3.Schemas{}
	for name, p := range ws.Value.Properties {
		if name != "usage" {
			state.Properties[name] = p
		}
	}
	state.Required = without(ws.Value.Required, "usage")
	state.Description = ws.Value.Description + " As an event records it: the fields the workspace's own GET answers, but usage."
	schemas["WorkspaceState"] = &openapi3.SchemaRef{Value: &state}

	seq := *base.Properties["seq"].Value
	seq.Pattern = `^[0-9]+$`
	seq.Description = strings.TrimSpace(seq.Description + " A decimal string (an int64, which proto3 JSON writes as a string): compare it as a number.")
	base.Properties["seq"] = &openapi3.SchemaRef{Value: &seq}

	byResource := map[string][]any{}
	var resources []string
	for _, t := range store.EventTypes() {
		res, _, _ := strings.Cut(t, ".")
		if _, ok := eventResources[res]; !ok {
			return fmt.Errorf("event type %s: no schema for resource %q", t, res)
		}
		if byResource[res] == nil {
			resources = append(resources, res)
		}
		byResource[res] = append(byResource[res], t)
	}
	no := false
	mapping := map[string]openapi3.MappingRef{}
	var oneOf openapi3.SchemaRefs
	for _, res := range resources {
		r := eventResources[res]
		data := schemas[r.schema]
		if data == nil {
			return fmt.Errorf("event resource %s: no schema %s", res, r.schema)
		}
		types := byResource[res]
		previousName := strings.TrimSuffix(r.variant, "Event") + "Previous"
		schemas[previousName] = &openapi3.SchemaRef{Value: &openapi3.Schema{
			Type:     &openapi3.Types{"object"},
			Nullable: true,
			Description: fmt.Sprintf("For %s.updated: the old values of the top-level fields of the %s that the update changed "+
				"(the new ones are in data), and only those; null for the other types.", res, res),
			Properties:           data.Value.Properties,
			AdditionalProperties: openapi3.AdditionalProperties{Has: &no},
		}}
		variant := &openapi3.Schema{
			Type:                 &openapi3.Types{"object"},
			Description:          fmt.Sprintf("An event about a %s: %s.", strings.ReplaceAll(res, "_", " "), strings.Join(anyStrings(types), ", ")),
			Required:             base.Required,
			AdditionalProperties: openapi3.AdditionalProperties{Has: &no},
			Properties:           openapi3.Schemas{},
		}
		for name, p := range base.Properties {
			variant.Properties[name] = p
		}
		typ := *base.Properties["type"].Value
		typ.Enum = types
		variant.Properties["type"] = &openapi3.SchemaRef{Value: &typ}
		variant.Properties["data"] = &openapi3.SchemaRef{Ref: "#/components/schemas/" + r.schema}
		variant.Properties["previous"] = &openapi3.SchemaRef{Ref: "#/components/schemas/" + previousName}
		schemas[r.variant] = &openapi3.SchemaRef{Value: variant}
		ref := "#/components/schemas/" + r.variant
		oneOf = append(oneOf, &openapi3.SchemaRef{Ref: ref})
		for _, t := range types {
			mapping[t.(string)] = openapi3.MappingRef{Ref: ref}
		}
	}
	schemas[eventSchema] = &openapi3.SchemaRef{Value: &openapi3.Schema{
		Description: base.Description + " Which of the schemas below it is follows from its type (the discriminator): " +
			"data is the resource the type names, exactly as the resource's GET renders it (for a delete, as it was).",
		OneOf:         oneOf,
		Discriminator: &openapi3.Discriminator{PropertyName: "type", Mapping: mapping},
	}}
	return nil
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}

func anyStrings(v []any) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = s.(string)
	}
	return out
}

// addEventComponents adds the stream's 429 (the 410 is a row of
// errorResponses, X-Event-Seq a header of addErrorComponents).
func addEventComponents(c *openapi3.Components) {
	c.Responses["TooManyStreams"] = &openapi3.ResponseRef{Value: &openapi3.Response{
		Description: ptr(fmt.Sprintf("The plan's limit is reached: requests (error.code %s, details.window minute or day; retry after "+
			"Retry-After seconds), or open event streams of the workspace (error.code %s, details.limit: free 5, pro 50, "+
			"enterprise 1000 per server; close one first).", apierror.CodeRateLimited, apierror.CodeTooManyStreams)),
		Headers: responseHeaders(true, false),
		Content: openapi3.NewContentWithJSONSchemaRef(&openapi3.SchemaRef{Ref: "#/components/schemas/Error"}),
	}}
}

// rewriteStreamOperation describes a server-streaming RPC as REST serves it:
// Server-Sent Events, each event's data the stream message's JSON. (No
// description here says "GET /…": the HEAD test expects the document's body
// with every "GET /" turned into "HEAD /".)
func rewriteStreamOperation(comps *openapi3.Components, op *openapi3.Operation) error {
	ok := op.Responses.Value("200")
	if ok == nil || ok.Value == nil {
		return fmt.Errorf("no 200 response")
	}
	mt := ok.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil || mt.Schema.Value == nil || mt.Schema.Value.Properties["result"] == nil {
		return fmt.Errorf("a server stream's 200 response is not buf's {result: …}")
	}
	itemRef := mt.Schema.Value.Properties["result"].Ref
	if itemRef != "#/components/schemas/"+eventSchema {
		return fmt.Errorf("a server stream of %s: only the event log's is served as Server-Sent Events", itemRef)
	}
	desc := "The stream: text/event-stream (Server-Sent Events), open until the client closes it or the server ends it " +
		"(shutdown, a revoked key, STREAM_LAGGING): resume then with Last-Event-ID. Each event is\n\n" +
		"    id: <seq>\n    event: <type>\n    data: <the Event as JSON, as the list (/v1/events) has it>\n\n" +
		"in seq order, first those after after (or Last-Event-ID) already in the log, then each new one as it is committed; " +
		"a comment line \": keep-alive\" every 15 s. A reader that falls too far behind is sent\n\n" +
		"    event: error\n    data: {\"success\":false,\"error\":{\"code\":\"" + string(apierror.CodeStreamLagging) + "\",…}}\n\n" +
		"and the stream ends: reconnect with Last-Event-ID, from the last id received."
	headers := responseHeaders(true, false)
	responses := openapi3.NewResponses()
	responses.Delete("default")
	responses.Set("200", &openapi3.ResponseRef{Value: &openapi3.Response{
		Description: &desc,
		Headers:     headers,
		Content: openapi3.Content{"text/event-stream": &openapi3.MediaType{
			Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{
				Type:        &openapi3.Types{"string"},
				Description: "Server-Sent Events; each event's data is an Event (#/components/schemas/" + eventSchema + ").",
			}},
			Example: "id: 42\nevent: task.created\ndata: {\"id\":\"evt_…\",\"seq\":\"42\",\"type\":\"task.created\",…}\n\n: keep-alive\n\n",
			// OpenAPI 3.0 cannot describe an event stream's items; this
			// names their schema for tools that read it.
			Extensions: map[string]any{"x-event-data": map[string]any{"$ref": "#/components/schemas/" + eventSchema}},
		}},
	}})
	for _, e := range errorResponses {
		switch e.status {
		case 400, 401, 403, 431, 500, 503:
			responses.Set(fmt.Sprint(e.status), &openapi3.ResponseRef{Ref: "#/components/responses/" + e.name})
		}
	}
	responses.Set("410", &openapi3.ResponseRef{Ref: "#/components/responses/EventsExpired"})
	responses.Set("429", &openapi3.ResponseRef{Ref: "#/components/responses/TooManyStreams"})
	op.Responses = responses
	op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: &openapi3.Parameter{
		Name: "Last-Event-ID", In: "header",
		Description: "Resume: the id (the seq) of the last event received, as an EventSource sends it when it reconnects; " +
			"it stands for after. Sent with after as well, the two must agree (else a 400 naming after: one of them is stale).",
		Schema: &openapi3.SchemaRef{Value: &openapi3.Schema{Type: &openapi3.Types{"string"}, Pattern: `^[0-9]+$`}},
	}})
	return nil
}

// eventTypesDescription lists the event types, for the types parameter.
func eventTypesDescription() string {
	types := store.EventTypes()
	sort.Strings(types)
	return " One or more of " + strings.Join(types, ", ") + ", separated by commas; every type when absent."
}
