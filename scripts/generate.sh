#!/usr/bin/env bash
# Regenerates everything under gen/ from proto/: fetches the third-party protos,
# runs buf generate (Go messages, gRPC stubs, gateway handlers, OpenAPI 2), then
# internal/openapigen, which writes the OpenAPI 3 document of what the REST
# surface really sends (envelopes, errors, headers, auth) and the Go file that
# embeds it. .ci/run runs this and then diffs gen/.
#
# gen/ is a Go module of its own (github.com/example/workspace/gen, required by
# the server and by sdk/go): its go.mod and go.sum are kept, everything else
# is generated anew, so a file whose proto went away does not linger.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/fetch-protos.sh
find gen -type f ! -path gen/go.mod ! -path gen/go.sum -delete
find gen -mindepth 1 -type d -empty -delete
go tool buf generate
go run ./internal/openapigen -in gen/openapiv2/workspace.swagger.json -out gen/openapi
