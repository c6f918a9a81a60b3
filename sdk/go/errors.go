package sdk

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Error codes of the contract (error.code on REST, ErrorInfo.reason on gRPC).
const (
	CodeValidation       = "VALIDATION_ERROR"
	CodeUnauthorized     = "UNAUTHORIZED"
	CodeForbidden        = "FORBIDDEN"
	CodeNotFound         = "NOT_FOUND"
	CodeConflict         = "CONFLICT"
	CodeRateLimited      = "RATE_LIMITED"
	CodeInternal         = "INTERNAL_ERROR"
	CodeUnavailable      = "UNAVAILABLE"
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	CodePayloadTooLarge  = "PAYLOAD_TOO_LARGE"

	// CodePreconditionFailed: the etag given with IfMatch is not the
	// resource's current one (gRPC FailedPrecondition; REST 412).
	CodePreconditionFailed = "PRECONDITION_FAILED"
)

// RateLimit is what the server said about the workspace's quota: the window
// that runs out first.
type RateLimit struct {
	Limit     int       // requests admitted in the window
	Remaining int       // requests left in it
	Reset     time.Time // when it ends (zero if the server did not say)
	// RetryAfter is set on a refusal: how long to wait before retrying.
	RetryAfter time.Duration
}

func rateLimitFrom(mds ...metadata.MD) RateLimit {
	get := func(k string) string {
		for _, md := range mds {
			if v := md.Get(k); len(v) > 0 {
				return v[0]
			}
		}
		return ""
	}
	var rl RateLimit
	rl.Limit, _ = strconv.Atoi(get("x-ratelimit-limit"))
	rl.Remaining, _ = strconv.Atoi(get("x-ratelimit-remaining"))
	if s, err := strconv.ParseInt(get("x-ratelimit-reset"), 10, 64); err == nil {
		rl.Reset = time.Unix(s, 0).UTC()
	}
	if s, err := strconv.Atoi(get("retry-after")); err == nil {
		rl.RetryAfter = time.Duration(s) * time.Second
	}
	return rl
}

func requestIDFrom(mds ...metadata.MD) string {
	for _, md := range mds {
		if v := md.Get("x-request-id"); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// Error is a call the API refused. Use errors.As to get it from any error the
// client returns.
type Error struct {
	// Status is the gRPC code (NotFound, PermissionDenied…).
	Status codes.Code
	// Code is the contract's error code, e.g. "NOT_FOUND" (see the Code
	// constants); empty if the failure did not come from the API itself.
	Code string
	// Message is for people.
	Message string
	// Details are the error's facts: "field", "required_scope", "window"…
	// Never nil.
	Details map[string]string
	// RequestID names the request in the server's log.
	RequestID string
	// RateLimit holds the rate-limit values the answer carried.
	RateLimit RateLimit
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("workspace api: %s: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("workspace api: %s: %s", e.Code, e.Message)
}

// GRPCStatus lets status.Code and status.FromError see the gRPC code.
func (e *Error) GRPCStatus() *status.Status { return status.New(e.Status, e.Message) }

// IsRateLimited reports whether the call was refused by the plan's limits.
func (e *Error) IsRateLimited() bool { return e.Status == codes.ResourceExhausted }

// CodeOf returns err's contract error code, or "" if err is not an *Error.
func CodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func newError(err error, header, trailer metadata.MD) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	e := &Error{
		Status:    st.Code(),
		Message:   st.Message(),
		Details:   map[string]string{},
		RequestID: requestIDFrom(header, trailer),
		RateLimit: rateLimitFrom(header, trailer),
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			e.Code = info.GetReason()
			for k, v := range info.GetMetadata() {
				e.Details[k] = v
			}
		}
	}
	return e
}
