package service

import (
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/store"
)

// The field limits of CONTRACT §3.
const (
	maxNameLength        = 200
	maxTitleLength       = 500
	maxDescriptionLength = 10000
	defaultLimit         = 20
	maxLimit             = 100
)

// The task statuses of CONTRACT §2.
const (
	statusTodo       = "todo"
	statusInProgress = "in_progress"
	statusCompleted  = "completed"
)

func validStatus(s string) bool {
	return s == statusTodo || s == statusInProgress || s == statusCompleted
}

func checkStatus(field, s string) error {
	if !validStatus(s) {
		return apierror.Validation(field, "Status must be one of todo, in_progress, completed")
	}
	return nil
}

// page applies CONTRACT §9's defaults and bounds to limit and offset.
func page(limit, offset *int32) (store.Page, error) {
	p := store.Page{Limit: defaultLimit}
	if limit != nil {
		if *limit < 1 || *limit > maxLimit {
			return p, apierror.Validation("limit", "limit must be between 1 and 100")
		}
		p.Limit = int(*limit)
	}
	if offset != nil {
		if *offset < 0 {
			return p, apierror.Validation("offset", "offset must be 0 or more")
		}
		p.Offset = int(*offset)
	}
	return p, nil
}

// updatePaths is the set of fields an update changes: the update mask when it
// has paths (REST always derives one from the body), else the fields present in
// the message. Paths outside allowed are refused.
func updatePaths(mask []string, present func(string) bool, allowed ...string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(mask) > 0 {
		for _, p := range mask {
			if !contains(allowed, p) {
				return nil, apierror.Validation("update_mask", "Unknown or read-only field \""+p+"\"")
			}
			out[p] = true
		}
		return out, nil
	}
	for _, p := range allowed {
		if present(p) {
			out[p] = true
		}
	}
	if len(out) == 0 {
		return nil, apierror.New(apierror.CodeValidation, "The request sets no field to update", nil)
	}
	return out, nil
}

// presence reports which fields of m are set, by proto field name.
func presence(m protoreflect.ProtoMessage) func(string) bool {
	r := m.ProtoReflect()
	fields := r.Descriptor().Fields()
	return func(name string) bool {
		fd := fields.ByName(protoreflect.Name(name))
		return fd != nil && r.Has(fd)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// idPrefixes are the id prefixes of the resources, by their store names.
var idPrefixes = map[string]string{"project": ids.Project, "task": ids.Task, "api_key": ids.APIKey,
	"webhook_endpoint": ids.WebhookEndpoint, "webhook_delivery": ids.WebhookDelivery}

// knownID is the one check of every id a request names, made before the
// store is asked: an id that is not of its resource's form (a NUL, bytes
// that are not UTF-8, a wrong prefix…) can name no record, so it gets
// store.NotFound(resource), which the caller maps exactly as the store's own
// answer for an unknown id. PostgreSQL's text cannot even hold a NUL or
// invalid UTF-8, so querying with one would be a 500.
func knownID(resource, id string) error {
	if ids.Valid(idPrefixes[resource], id) {
		return nil
	}
	return store.NotFound(resource)
}
