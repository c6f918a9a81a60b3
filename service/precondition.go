package service

import (
	"context"

	"google.golang.org/grpc/metadata"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/service/etag"
)

// ifMatchMetadata is the metadata the gateway forwards REST's If-Match
// header as.
const ifMatchMetadata = "if-match"

// precondition is what an update or delete expects of the resource's current
// version (AIP-154): the request's etag field (gRPC) and the If-Match
// metadata (REST's header, forwarded by the gateway). Each one present must
// hold. It returns nil when there is none, and a VALIDATION_ERROR naming the
// malformed one.
//
// The returned check runs inside the store's write transaction (the update
// callback, DeleteXIf's check), so that the version it accepts is the one
// that is changed: two writers with the same If-Match cannot both pass.
func precondition(ctx context.Context, field, resource string) (func(version int64) error, error) {
	var conds []etag.Condition
	if field != "" {
		c, ok := etag.Parse(field)
		if !ok {
			return nil, apierror.Validation("etag", `etag must be an entity-tag as the resource's etag field gives it ("3", quotes included), a comma-separated list of them, or *`)
		}
		conds = append(conds, c)
	}
	if md, ok := metadata.FromIncomingContext(ctx); ok {
		if values := md.Get(ifMatchMetadata); len(values) > 0 {
			c, ok := etag.Parse(values...)
			if !ok {
				return nil, apierror.Validation("If-Match", `If-Match must be an entity-tag as the ETag header gives it ("3", quotes included), a comma-separated list of them, or *`)
			}
			conds = append(conds, c)
		}
	}
	if len(conds) == 0 {
		return nil, nil
	}
	return func(version int64) error {
		current := etag.Of(version)
		for _, c := range conds {
			if !c.MatchStrong(current) {
				return apierror.New(apierror.CodePreconditionFailed,
					"The "+resource+" has changed: its current ETag does not match If-Match (or the request's etag)", nil)
			}
		}
		return nil
	}, nil
}
