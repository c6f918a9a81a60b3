// Package sdk is the Go client of the Workspace API, over native gRPC.
//
//	client, err := sdk.New("localhost:9090", os.Getenv("API_KEY"), sdk.WithInsecure())
//	for project, err := range client.Projects.All(ctx, 50) { … }
//
// The API key travels as per-RPC credentials (authorization: Bearer …). A
// failed call returns an *Error carrying the contract's error code, details,
// request id and rate-limit values; calls refused with RESOURCE_EXHAUSTED
// (429) or UNAVAILABLE are retried, waiting until the reset time the server
// gave, within a bounded budget.
package sdk
