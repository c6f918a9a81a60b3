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
//
// client.Events reads the workspace's event log: List and All page through
// it, Follow streams it live over WatchEvents and resumes after the last seq
// by itself when the stream drops; LastEventSeq and WithEventSeq give a
// write's x-event-seq.
package sdk
