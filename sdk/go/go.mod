module github.com/example/sdk

go 1.26.8

require (
	github.com/example/workspace/gen v0.0.0-00010101000000-000000000000
	github.com/standard-webhooks/standard-webhooks/libraries v0.0.1
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261110000943-09e21b237f2c
	google.golang.org/grpc v1.85.0
	google.golang.org/protobuf v1.36.13-0.20261016172727-e9ee2a76ab8e
)

require (
	github.com/grpc-ecosystem/grpc-gateway/v2 v2.33.0 // indirect
	golang.org/x/net v0.61.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
	golang.org/x/text v0.43.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20261026165753-2ffab32bce7e // indirect
)

// The messages and gRPC stubs are the generated API's module
// (github.com/example/workspace/gen, the repository's gen/), the one the server
// is built from, so the SDK and the server cannot disagree about the wire; the
// SDK needs nothing else of the server. Inside this repository the replace
// points at the checkout; a published SDK requires a tagged gen/vX.Y.Z.
replace github.com/example/workspace/gen => ../../gen
