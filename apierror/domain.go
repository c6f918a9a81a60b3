package apierror

import (
	"context"
	"errors"
	"fmt"

	"google.golang.org/grpc/status"

	"github.com/example/workspace/store"
)

// resourceNames are how NotFound messages name store resources.
var resourceNames = map[string]string{
	"project":          "Project",
	"task":             "Task",
	"api_key":          "API key",
	"workspace":        "Workspace",
	"webhook_endpoint": "Webhook endpoint",
	"webhook_delivery": "Webhook delivery",
}

// From is the one place where errors become API errors: an *Error or a gRPC
// status passes through, store's domain errors get their contract code, and
// anything else becomes an INTERNAL_ERROR whose cause is kept for the log (via
// Unwrap and Error) but never sent (GRPCStatus sends only the message).
func From(err error) error {
	if err == nil {
		return nil
	}
	if e, ok := As(err); ok {
		return e
	}
	if _, ok := err.(interface{ GRPCStatus() *status.Status }); ok {
		return err
	}
	var nf *store.NotFoundError
	switch {
	case errors.As(err, &nf):
		name := resourceNames[nf.Resource]
		if name == "" {
			name = "Resource"
		}
		return New(CodeNotFound, name+" not found", nil)
	case errors.Is(err, store.ErrEventsExpired):
		return New(CodeEventsExpired, "Events after this position were pruned: resync from the lists, then read the log from the newest seq", nil)
	case errors.Is(err, store.ErrConflict):
		return New(CodeConflict, "The request conflicts with the current state of the resource", nil)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeUnavailable, Message: "The request was cancelled or timed out", cause: err}
	case errors.Is(err, store.ErrUnavailable):
		return &Error{Code: CodeUnavailable, Message: "The service is temporarily unavailable", cause: err}
	}
	return Internal(err)
}

// Internal wraps an unexpected error: the client sees a fixed message.
func Internal(cause error) *Error {
	return &Error{Code: CodeInternal, Message: "Internal server error", cause: cause}
}

// Unwrap returns the cause of an internal error, for logs.
func (e *Error) Unwrap() error { return e.cause }

// LogString is the error as logs show it, with its cause.
func (e *Error) LogString() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return e.Error()
}

// WithDetail returns a copy of e with one more detail.
func (e *Error) WithDetail(key, value string) *Error {
	details := make(map[string]string, len(e.Details)+1)
	for k, v := range e.Details {
		details[k] = v
	}
	details[key] = value
	return &Error{Code: e.Code, Message: e.Message, Details: details, cause: e.cause}
}
