package sdk

import (
	"context"
	"crypto/tls"
	"errors"
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
	Webhooks  *WebhooksService
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
	r := &retrier{max: cfg.maxRetries, budget: cfg.maxRetryWait, sleep: sleepCtx}
	dial := append([]grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithPerRPCCredentials(bearer{key: apiKey, secure: !cfg.insecure}),
		grpc.WithUnaryInterceptor(r.intercept),
	}, cfg.dialOptions...)
	conn, err := grpc.NewClient(target, dial...)
	if err != nil {
		return nil, err
	}
	c := &Client{conn: conn}
	c.Projects = &ProjectsService{rpc: workspacev1.NewProjectServiceClient(conn)}
	c.Tasks = &TasksService{rpc: workspacev1.NewTaskServiceClient(conn)}
	c.APIKeys = &APIKeysService{rpc: workspacev1.NewApiKeyServiceClient(conn)}
	c.Workspace = &WorkspaceService{rpc: workspacev1.NewWorkspaceServiceClient(conn)}
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
