// Package protoname tells a field's own json_name from the one protoc gives
// every field, for the gateway's query rules and the OpenAPI generator alike.
package protoname

import (
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// DeclaresJSONName reports whether fd declares a json_name of its own
// (page_token's "cursor"): protoc fills the field in for every field, so
// only a value other than its default says the .proto set it.
func DeclaresJSONName(fd protoreflect.FieldDescriptor) bool {
	return fd.JSONName() != defaultJSONName(string(fd.Name()))
}

// defaultJSONName is protoc's json_name for a field that declares none
// (lowerCamelCase).
func defaultJSONName(name string) string {
	var b strings.Builder
	upper := false
	for _, r := range name {
		switch {
		case r == '_':
			upper = true
		case upper && 'a' <= r && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
			upper = false
		default:
			b.WriteRune(r)
			upper = false
		}
	}
	return b.String()
}
