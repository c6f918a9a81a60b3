// Package apierror is the contract's error table (CONTRACT §6): each error code
// with its gRPC code and HTTP status, and the conversion of an API error to and
// from a gRPC status carrying google.rpc.ErrorInfo and BadRequest.
package apierror

import (
	"errors"
	"net/http"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Code is the contract's `error.code` string; it is also ErrorInfo's reason.
type Code string

// The error codes of CONTRACT §6.
const (
	CodeValidation       Code = "VALIDATION_ERROR"
	CodeUnauthorized     Code = "UNAUTHORIZED"
	CodeForbidden        Code = "FORBIDDEN"
	CodeNotFound         Code = "NOT_FOUND"
	CodeMethodNotAllowed Code = "METHOD_NOT_ALLOWED"
	CodeConflict         Code = "CONFLICT"
	// CodeIdempotencyKeyReused: an Idempotency-Key sent again with another
	// request than the one it was first used for (IETF Idempotency-Key draft).
	CodeIdempotencyKeyReused Code = "IDEMPOTENCY_KEY_REUSED"
	// CodePreconditionFailed: an If-Match (or a request's etag field) that
	// does not match the resource's current ETag (RFC 9110 §13.1.1).
	CodePreconditionFailed Code = "PRECONDITION_FAILED"
	CodePayloadTooLarge    Code = "PAYLOAD_TOO_LARGE"
	// CodeUnsupportedMediaType: a body whose Content-Type is not JSON.
	CodeUnsupportedMediaType Code = "UNSUPPORTED_MEDIA_TYPE"
	// CodeHeadersTooLarge: a request line and headers over the server's
	// limit, refused by net/http before any handler runs (RFC 6585's 431).
	CodeHeadersTooLarge Code = "HEADERS_TOO_LARGE"
	CodeRateLimited     Code = "RATE_LIMITED"
	// CodeEventsExpired: a read of the event log after a position whose
	// following events were pruned; the client resyncs from the lists.
	CodeEventsExpired Code = "EVENTS_EXPIRED"
	// CodeTooManyStreams: the workspace holds as many open event streams
	// as its plan allows.
	CodeTooManyStreams Code = "TOO_MANY_STREAMS"
	// CodeStreamLagging: an event stream whose reader fell too far behind
	// was ended; the client resumes from its last seq.
	CodeStreamLagging Code = "STREAM_LAGGING"
	CodeInternal      Code = "INTERNAL_ERROR"
	CodeUnavailable   Code = "UNAVAILABLE"
)

// Domain is ErrorInfo's domain for every error of this API.
const Domain = "workspace.v1"

type row struct {
	grpc codes.Code
	http int
}

// table is CONTRACT §6. METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE,
// UNSUPPORTED_MEDIA_TYPE and HEADERS_TOO_LARGE never cross gRPC (the gateway decides them; a gRPC
// message is binary, typed by its method); their gRPC codes are the nearest
// ones, for the log.
var table = map[Code]row{
	CodeValidation:       {codes.InvalidArgument, http.StatusBadRequest},
	CodeUnauthorized:     {codes.Unauthenticated, http.StatusUnauthorized},
	CodeForbidden:        {codes.PermissionDenied, http.StatusForbidden},
	CodeNotFound:         {codes.NotFound, http.StatusNotFound},
	CodeMethodNotAllowed: {codes.Unimplemented, http.StatusMethodNotAllowed},
	CodeConflict:         {codes.AlreadyExists, http.StatusConflict},
	// The key is bound to another request: retrying cannot succeed until the
	// client changes the key or the request, which is FAILED_PRECONDITION.
	CodeIdempotencyKeyReused: {codes.FailedPrecondition, http.StatusUnprocessableEntity},
	// AIP-154's code for a stale etag. It shares FAILED_PRECONDITION with
	// IDEMPOTENCY_KEY_REUSED: ErrorInfo's reason (the code string) tells
	// them apart, on gRPC as in REST's error.code.
	CodePreconditionFailed:   {codes.FailedPrecondition, http.StatusPreconditionFailed},
	CodePayloadTooLarge:      {codes.ResourceExhausted, http.StatusRequestEntityTooLarge},
	CodeUnsupportedMediaType: {codes.InvalidArgument, http.StatusUnsupportedMediaType},
	CodeHeadersTooLarge:      {codes.ResourceExhausted, http.StatusRequestHeaderFieldsTooLarge},
	CodeRateLimited:          {codes.ResourceExhausted, http.StatusTooManyRequests},
	// AIP-193's code for iterating past the valid range: the position
	// exists no longer. 410: gone, and not coming back.
	CodeEventsExpired:  {codes.OutOfRange, http.StatusGone},
	CodeTooManyStreams: {codes.ResourceExhausted, http.StatusTooManyRequests},
	// The server ended the stream; retrying (resuming) is the cure, which
	// is ABORTED's meaning. Its HTTP status is for a stream refused before
	// it started; on SSE it arrives as an `event: error` after the 200.
	CodeStreamLagging: {codes.Aborted, http.StatusConflict},
	CodeInternal:      {codes.Internal, http.StatusInternalServerError},
	CodeUnavailable:   {codes.Unavailable, http.StatusServiceUnavailable},
}

// HTTPStatus is the code's HTTP status; 500 for a code not in the table.
func (c Code) HTTPStatus() int {
	if r, ok := table[c]; ok {
		return r.http
	}
	return http.StatusInternalServerError
}

// GRPCCode is the code's gRPC status code.
func (c Code) GRPCCode() codes.Code {
	if r, ok := table[c]; ok {
		return r.grpc
	}
	return codes.Internal
}

// CodeOf maps a gRPC code to the contract's code, for statuses that carry no
// ErrorInfo (raised by gRPC itself or by the gateway's generated code).
func CodeOf(c codes.Code) Code {
	switch c {
	case codes.InvalidArgument, codes.OutOfRange, codes.FailedPrecondition:
		return CodeValidation
	case codes.Unauthenticated:
		return CodeUnauthorized
	case codes.PermissionDenied:
		return CodeForbidden
	case codes.NotFound:
		return CodeNotFound
	case codes.Unimplemented:
		return CodeMethodNotAllowed
	case codes.AlreadyExists, codes.Aborted:
		return CodeConflict
	case codes.ResourceExhausted:
		return CodeRateLimited
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded:
		return CodeUnavailable
	}
	return CodeInternal
}

// Error is an API error as both surfaces present it.
type Error struct {
	Code    Code
	Message string
	// Details becomes `error.details` on REST and ErrorInfo.metadata on gRPC.
	Details map[string]string
	// cause is what went wrong inside, for logs only.
	cause error
}

// New returns an API error; details may be nil.
func New(code Code, message string, details map[string]string) *Error {
	return &Error{Code: code, Message: message, Details: details}
}

// Validation is a VALIDATION_ERROR about one request field.
func Validation(field, message string) *Error {
	return New(CodeValidation, message, map[string]string{"field": field})
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Message }

// GRPCStatus lets grpc-go send the error as is: the status carries ErrorInfo
// and, for a validation error naming a field, BadRequest.
func (e *Error) GRPCStatus() *status.Status {
	st := status.New(e.Code.GRPCCode(), e.Message)
	info := &errdetails.ErrorInfo{Reason: string(e.Code), Domain: Domain, Metadata: e.Details}
	var withDetails *status.Status
	var err error
	if field := e.Details["field"]; e.Code == CodeValidation && field != "" {
		withDetails, err = st.WithDetails(info, &errdetails.BadRequest{
			FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: field, Description: e.Message}},
		})
	} else {
		withDetails, err = st.WithDetails(info)
	}
	if err != nil {
		// Only a marshalling bug can fail here; the bare status still has the code.
		return st
	}
	return withDetails
}

// FromStatus reads an API error back from a gRPC status. A status without
// ErrorInfo gets the code CodeOf gives and no details.
func FromStatus(st *status.Status) *Error {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == Domain {
			return &Error{Code: Code(info.GetReason()), Message: st.Message(), Details: info.GetMetadata()}
		}
	}
	return &Error{Code: CodeOf(st.Code()), Message: st.Message()}
}

// HasInfo reports whether st was raised by this API (carries our ErrorInfo), as
// opposed to by gRPC or by generated gateway code.
func HasInfo(st *status.Status) bool {
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == Domain {
			return true
		}
	}
	return false
}

// As finds an *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
