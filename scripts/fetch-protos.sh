#!/usr/bin/env bash
# Fetches the third-party .proto files that our protos import into third_party/proto
# (git-ignored). buf's registry is unreachable here, so the googleapis annotations
# come from a pinned npm tarball checked against its published integrity hash, and
# the OpenAPI options come from the grpc-gateway module that go.mod pins.
set -euo pipefail
cd "$(dirname "$0")/.."

GOOGLE_PROTO_FILES_VERSION=6.0.1
GOOGLE_PROTO_FILES_INTEGRITY='sha512-fbvUWVNh3rKGlVFWwlUNF7Sk1Tah0a89q02rLTXsWjbKKHGeuURAa8tl9rvu5TyWny1YiSIo5eDqF260Tai6vQ=='

out=third_party/proto
stamp="$out/.version"
want="google-proto-files@$GOOGLE_PROTO_FILES_VERSION $(go list -m -f '{{.Path}}@{{.Version}}' github.com/grpc-ecosystem/grpc-gateway/v2)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

tarball=$(cd "$tmp" && npm pack --silent "google-proto-files@$GOOGLE_PROTO_FILES_VERSION")
got="sha512-$(openssl dgst -sha512 -binary "$tmp/$tarball" | base64 -w0)"
if [ "$got" != "$GOOGLE_PROTO_FILES_INTEGRITY" ]; then
  echo "fetch-protos: integrity mismatch for google-proto-files: got $got" >&2
  exit 1
fi
tar -xzf "$tmp/$tarball" -C "$tmp"

rm -rf "$out"
mkdir -p "$out/google/api" "$out/protoc-gen-openapiv2/options"
cp "$tmp"/package/google/api/{annotations,http,field_behavior}.proto "$out/google/api/"

gateway=$(go mod download -json github.com/grpc-ecosystem/grpc-gateway/v2 | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
cp "$gateway"/protoc-gen-openapiv2/options/{annotations,openapiv2}.proto "$out/protoc-gen-openapiv2/options/"
chmod -R u+w "$out"

echo "$want" > "$stamp"
