package sdk

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestRetryWithinBudget(t *testing.T) {
	var slept []time.Duration
	r := &retrier{max: 2, budget: 5 * time.Second, sleep: func(_ context.Context, d time.Duration) error {
		slept = append(slept, d)
		return nil
	}}
	calls := 0
	invoker := func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		calls++
		if calls == 1 {
			return status.Error(codes.ResourceExhausted, "slow down")
		}
		if calls == 2 {
			return status.Error(codes.Unavailable, "restarting")
		}
		return nil
	}
	if err := r.intercept(context.Background(), "/m", nil, nil, nil, invoker); err != nil {
		t.Fatal(err)
	}
	if calls != 3 || len(slept) != 2 || slept[0] != time.Second || slept[1] != 400*time.Millisecond {
		t.Fatalf("calls %d, slept %v", calls, slept)
	}

	// Out of retries: the last error, typed.
	calls = 0
	r.max = 1
	err := r.intercept(context.Background(), "/m", nil, nil, nil, func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		calls++
		return status.Error(codes.ResourceExhausted, "slow down")
	})
	if e, ok := err.(*Error); !ok || e.Status != codes.ResourceExhausted || calls != 2 {
		t.Fatalf("err %v, calls %d", err, calls)
	}

	// Not retryable: no retry.
	calls = 0
	_ = r.intercept(context.Background(), "/m", nil, nil, nil, func(context.Context, string, any, any, *grpc.ClientConn, ...grpc.CallOption) error {
		calls++
		return status.Error(codes.NotFound, "no")
	})
	if calls != 1 {
		t.Fatalf("NotFound retried: %d calls", calls)
	}
}
