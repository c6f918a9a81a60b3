#!/usr/bin/env bash
# Regenerates everything under gen/ from proto/: fetches the third-party protos,
# runs buf generate (Go messages, gRPC stubs, gateway handlers, OpenAPI 2), then
# internal/openapigen, which writes the OpenAPI 3 document of what the REST
# surface really sends (envelopes, errors, headers, auth) and the Go file that
# embeds it. .ci/run runs this and then diffs gen/.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/fetch-protos.sh
go tool buf generate
go run ./internal/openapigen -in gen/openapiv2/workspace.swagger.json -out gen/openapi
