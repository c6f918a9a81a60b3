package sdk

import (
	"context"
	"crypto/tls"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	workspacev1 "github.com/example/workspace/gen/workspace/v1"
)

// The API's messages, as the server's protos define them.
type (
	Project       = workspacev1.Project
	ProjectUpdate = workspacev1.ProjectUpdate
	Task          = workspacev1.Task
	TaskUpdate    = workspacev1.TaskUpdate
	APIKey        = workspacev1.ApiKey
	Workspace     = workspacev1.Workspace
	Pagination    = workspacev1.Pagination

	WebhookEndpoint       = workspacev1.WebhookEndpoint
	WebhookEndpointUpdate = workspacev1.WebhookEndpointUpdate
	WebhookDelivery       = workspacev1.WebhookDelivery
)

// Client calls the Workspace API over gRPC. It is safe for concurrent use.
type Client struct {
	conn *grpc.ClientConn

	Projects  *ProjectsService
	Tasks     *TasksService
	APIKeys   *APIKeysService
	Workspace *WorkspaceService
	Events    *EventsService
	Webhooks  *WebhooksService

	lastEventSeq *atomic.Int64
}

// LastEventSeq returns the x-event-seq of the last answer that carried one:
// the seq of the last event that write appended (an idempotent replay gives
// the original one), 0 before any. A follower that reaches it has seen the
// write. With concurrent writes, use WithEventSeq for the seq of one call.
func (c *Client) LastEventSeq() int64 { return c.lastEventSeq.Load() }

type eventSeqKey struct{}

// WithEventSeq returns a ctx whose calls store in *seq the x-event-seq
// header of their answer (the seq of the write's last event), when it has
// one:
//
//	var seq int64
//	task, err := client.Tasks.Create(sdk.WithEventSeq(ctx, &seq), t)
func WithEventSeq(ctx context.Context, seq *int64) context.Context {
	return context.WithValue(ctx, eventSeqKey{}, seq)
}

type config struct {
	insecure     bool
	tls          *tls.Config
	maxRetries   int
	maxRetryWait time.Duration
	dialOptions  []grpc.DialOption
}

// Option configures a Client.
type Option func(*config)

// WithInsecure talks plaintext gRPC (a local server). The key is still sent.
func WithInsecure() Option { return func(c *config) { c.insecure = true } }

// WithTLSConfig sets the TLS configuration (the default is the system roots).
func WithTLSConfig(t *tls.Config) Option { return func(c *config) { c.tls = t } }

// WithRetries sets how many times a call refused with RESOURCE_EXHAUSTED
// (429) or UNAVAILABLE is retried (default 2; 0 turns retries off) and how
// long one call may spend waiting in all (default 60s). A retry that would
// have to wait past the budget is not made: the error is returned at once.
func WithRetries(max int, budget time.Duration) Option {
	return func(c *config) { c.maxRetries, c.maxRetryWait = max, budget }
}

// WithDialOptions adds gRPC dial options.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) { c.dialOptions = append(c.dialOptions, opts...) }
}

// New returns a client of the server at target ("host:port") that
// authenticates with apiKey.
func New(target, apiKey string, opts ...Option) (*Client, error) {
	if apiKey == "" {
		return nil, errors.New("sdk: an API key is required")
	}
	cfg := config{maxRetries: 2, maxRetryWait: 60 * time.Second}
	for _, o := range opts {
		o(&cfg)
	}
	creds := credentials.NewTLS(cfg.tls)
	if cfg.insecure {
		creds = insecure.NewCredentials()
	}
	r := &retrier{max: cfg.maxRetries, budget: cfg.maxRetryWait, sleep: sleepCtx, lastEventSeq: new(atomic.Int64)}
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(bearer{key: apiKey, secure: !cfg.insecure}),
		grpc.WithUnaryInterceptor(r.intercept),
	}, cfg.dialOptions...)
	conn, err := grpc.NewClient(target, dial...)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn, lastEventSeq: r.lastEventSeq}
	c.Projects = &ProjectsService{rpc: workspacev1.NewProjectServiceClient(conn)}
	c.Tasks = &TasksService{rpc: workspacev1.NewTaskServiceClient(conn)}
	c.APIKeys = &APIKeysService{rpc: workspacev1.NewApiKeyServiceClient(conn)}
	c.Workspace = &WorkspaceService{rpc: workspacev1.NewWorkspaceServiceClient(conn)}
	c.Events = &EventsService{rpc: workspacev1.NewEventServiceClient(conn)}
	c.Webhooks = &WebhooksService{rpc: workspacev1.NewWebhookServiceClient(conn)}
	return c, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// bearer is the API key as per-RPC credentials.
type bearer struct {
	key    string
	secure bool
}

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.key}, nil
}

func (b bearer) RequireTransportSecurity() bool { return b.secure }

// retrier turns failures into *Error and retries the retryable ones.
type retrier struct {
	max    int
	budget time.Duration
	sleep  func(context.Context, time.Duration) error
	// lastEventSeq is the Client's LastEventSeq.
	lastEventSeq *atomic.Int64
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (r *retrier) intercept(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	spent := time.Duration(0)
	for attempt := 0; ; attempt++ {
		var header, trailer metadata.MD
		err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Header(&header), grpc.Trailer(&trailer))...)
		if err == nil {
			r.recordEventSeq(ctx, header)
			return nil
		}
		apiErr := newError(err, header, trailer)
		var e *Error
		if !errors.As(apiErr, &e) || attempt >= r.max {
			return apiErr
		}
		wait, ok := retryWait(e, attempt, time.Now())
		if !ok || spent+wait > r.budget {
			return apiErr
		}
		if err := r.sleep(ctx, wait); err != nil {
			return apiErr
		}
		spent += wait
	}
}

// recordEventSeq keeps a write's x-event-seq for LastEventSeq and
// WithEventSeq.
func (r *retrier) recordEventSeq(ctx context.Context, header metadata.MD) {
	v := header.Get("x-event-seq")
	if len(v) == 0 {
		return
	}
	seq, err := strconv.ParseInt(v[0], 10, 64)
	if err != nil {
		return
	}
	if r.lastEventSeq != nil {
		r.lastEventSeq.Store(seq)
	}
	if p, ok := ctx.Value(eventSeqKey{}).(*int64); ok && p != nil {
		*p = seq
	}
}

// retryWait says whether e is worth retrying and after how long: a 429 until
// the reset the server gave (Retry-After, else X-RateLimit-Reset), an
// UNAVAILABLE after a short backoff.
func retryWait(e *Error, attempt int, now time.Time) (time.Duration, bool) {
	switch e.Status {
	case codes.ResourceExhausted:
		wait := e.RateLimit.RetryAfter
		if untilReset := e.RateLimit.Reset.Sub(now); !e.RateLimit.Reset.IsZero() && untilReset > wait {
			wait = untilReset
		}
		if wait <= 0 {
			wait = time.Second
		}
		return wait, true
	case codes.Unavailable:
		return time.Duration(200<<attempt) * time.Millisecond, true
	}
	return 0, false
}
