package gateway

import (
	"mime"
	"net/http"
	"strings"

	"github.com/example/workspace/apierror"
)

// unsupportedMediaType refuses a request body declared as something other
// than JSON (415): a form, text/plain or XML would otherwise be parsed as
// JSON, and a client that thinks it sent a form gets a confusing 400 or,
// worse, a success. JSON is application/json or any application/*+json
// (RFC 6839), with or without parameters; a charset, if given, must be
// UTF-8, the only encoding JSON has (RFC 8259 §8.1).
//
// A body without a Content-Type is accepted as JSON: curl -d sends one only
// when asked, and refusing those would break the commonest first try for no
// safety gained (the body must still decode as JSON). A request without a body
// (Content-Length 0: every GET and DELETE) has nothing to type, whatever its
// header says. The check reads headers only, so it runs before the body is
// read: a 50 MiB form is refused unread.
func unsupportedMediaType(r *http.Request) *apierror.Error {
	if r.ContentLength == 0 {
		return nil
	}
	values := r.Header.Values("Content-Type")
	switch {
	case len(values) == 0 || len(values) == 1 && strings.TrimSpace(values[0]) == "":
		return nil
	case len(values) > 1:
		return apierror.New(apierror.CodeUnsupportedMediaType, "The request has more than one Content-Type header; send one: application/json", nil)
	}
	mediaType, params, err := mime.ParseMediaType(values[0])
	if err != nil {
		return apierror.New(apierror.CodeUnsupportedMediaType, "The Content-Type header is not a media type; send the body as application/json", nil)
	}
	if !isJSONMediaType(mediaType) {
		named := "Content-Type " + mediaType
		if len(mediaType) > 100 {
			named = "This Content-Type"
		}
		return apierror.New(apierror.CodeUnsupportedMediaType, named+" is not supported; send the body as application/json", nil)
	}
	if charset, ok := params["charset"]; ok && !strings.EqualFold(charset, "utf-8") {
		return apierror.New(apierror.CodeUnsupportedMediaType, "JSON bodies are UTF-8: the only charset accepted is utf-8", nil)
	}
	return nil
}

// isJSONMediaType: application/json, or a structured syntax suffix +json.
// mime.ParseMediaType has lower-cased it.
func isJSONMediaType(mediaType string) bool {
	sub, ok := strings.CutPrefix(mediaType, "application/")
	return ok && (sub == "json" || len(sub) > len("+json") && strings.HasSuffix(sub, "+json"))
}
