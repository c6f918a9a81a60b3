package gateway

import (
	"net/http"

	"github.com/example/workspace/apierror"
)

// AnswerUnparsed answers, in the envelope, a request that net/http refused
// before any handler ran (see middleware/httpguard): status and reason are
// net/http's. Nothing of the request is known — not its path, not its key —
// so no key is checked and nothing is counted. It returns the error it
// answered with, for the access log's line (accesslog.Unparsed).
//
// A header section over the limit keeps its 431. Every other refusal is a
// 400 VALIDATION_ERROR, whatever status net/http chose for it (501 for an
// unknown Transfer-Encoding, 505 for an HTTP version other than 1.x, 417 for
// an Expect other than 100-continue): each is a request this server cannot
// read, and the contract's table has one status per code. RFC 9110 and 9112
// make those statuses a SHOULD or a MAY, not a MUST.
func AnswerUnparsed(w http.ResponseWriter, status int, reason string) error {
	var e *apierror.Error
	switch status {
	case http.StatusRequestHeaderFieldsTooLarge:
		e = apierror.New(apierror.CodeHeadersTooLarge, "The request line and headers are larger than the server accepts", nil)
	case http.StatusNotImplemented:
		e = apierror.New(apierror.CodeValidation, "Unsupported Transfer-Encoding: send the body with Content-Length or chunked", nil)
	case http.StatusHTTPVersionNotSupported:
		e = apierror.New(apierror.CodeValidation, "Unsupported HTTP version: send HTTP/1.1", nil)
	case http.StatusExpectationFailed:
		e = apierror.New(apierror.CodeValidation, "Unsupported Expect header: only 100-continue is accepted", nil)
	default:
		// net/http names no reason for a request line or URL it cannot
		// parse (GET /v1/projects/%zz), only for bad headers.
		message := "The request could not be parsed: its request line or URL is malformed"
		if reason != "" {
			message = "The request could not be parsed: " + reason
		}
		e = apierror.New(apierror.CodeValidation, message, nil)
	}
	writeError(w, e)
	return e
}
