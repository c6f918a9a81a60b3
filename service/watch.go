package service

import (
	"context"
	"errors"
	"strconv"
	"time"

	"google.golang.org/grpc/status"

	"github.com/example/workspace/apierror"
	workspacev1 "github.com/example/workspace/gen/workspace/v1"
	"github.com/example/workspace/service/admission"
	"github.com/example/workspace/service/eventhub"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/store"
)

// WatchEvents streams the log after after_seq, then each new event, until
// the client ends the call, the server shuts down (UNAVAILABLE), the key is
// revoked or expires (UNAUTHORIZED, within one recheck), or the client falls
// too far behind (STREAM_LAGGING). Everything that can refuse the stream —
// a bad field, the plan's open-stream bound, a pruned after_seq — does so
// before its header is sent, so REST answers it with a status and an
// envelope, not an event.
func (s *events) WatchEvents(req *workspacev1.WatchEventsRequest, stream workspacev1.EventService_WatchEventsServer) error {
	ctx := stream.Context()
	p, err := principal(ctx)
	if err != nil {
		return err
	}
	if req.AfterSeq < 0 {
		return apierror.Validation("after", "after must be a seq, 0 or more")
	}
	types, err := EventTypes(req.Types)
	if err != nil {
		return err
	}
	plan, err := ratelimit.PlanNamed(p.Plan)
	if err != nil {
		return apierror.Internal(err)
	}
	release, err := s.Streams.Open(p.WorkspaceID, plan)
	if err != nil {
		n := strconv.Itoa(plan.Streams)
		return apierror.New(apierror.CodeTooManyStreams,
			"This workspace has "+n+" event streams open, as many as the "+plan.Name+" plan allows: close one first",
			map[string]string{"limit": n})
	}
	defer release()

	var tick <-chan time.Time
	var recheck func() error
	if r, ok := admission.RecheckFrom(ctx); ok {
		t := time.NewTicker(s.RecheckEvery)
		defer t.Stop()
		tick, recheck = t.C, func() error { return r(ctx) }
	}
	var last int64
	err = s.Hub.Watch(ctx, p.WorkspaceID, store.EventFilter{After: req.AfterSeq, Types: types},
		func() error { return stream.SendHeader(nil) },
		tick, recheck,
		func(it *eventhub.Item) error {
			// One message per event, shared by every stream of the
			// workspace (sends only read it).
			pb, err := it.Memo(func(ev store.Event) (any, error) { return EventPB(ev) })
			if err != nil {
				return apierror.Internal(err)
			}
			if err := stream.Send(pb.(*workspacev1.Event)); err != nil {
				return err
			}
			last = it.Seq
			return nil
		})
	if errors.Is(err, store.ErrEventsExpired) {
		return s.expired(ctx, p.WorkspaceID, err) // ListEvents's 410, details and all
	}
	return watchError(ctx, err, req.AfterSeq, last)
}

// watchError is the status a watch ends with.
func watchError(ctx context.Context, err error, after, last int64) error {
	if last == 0 {
		last = after
	}
	switch {
	case errors.Is(err, eventhub.ErrLagging):
		seq := strconv.FormatInt(last, 10)
		return apierror.New(apierror.CodeStreamLagging,
			"This stream fell too far behind the log and was ended: resume after seq "+seq,
			map[string]string{"last_seq": seq})
	case ctx.Err() != nil:
		if e, ok := apierror.As(context.Cause(ctx)); ok {
			return e // the server's shutdown
		}
		// The client went away: CANCELLED in the log, as grpc-go says.
		return status.FromContextError(ctx.Err()).Err()
	}
	if e, ok := apierror.As(err); ok {
		return e
	}
	return apierror.From(err)
}
