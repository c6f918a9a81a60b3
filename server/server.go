// Package server is the composition root: it wires the store, the limiter, the
// interceptor chain, the gRPC server, the REST gateway and the HTTP server, and
// runs them until the context ends.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/reflection"

	"github.com/example/workspace/apierror"
	"github.com/example/workspace/apimethod"
	"github.com/example/workspace/gateway"
	"github.com/example/workspace/metrics"
	"github.com/example/workspace/middleware/accesslog"
	"github.com/example/workspace/middleware/cors"
	"github.com/example/workspace/middleware/httpguard"
	"github.com/example/workspace/middleware/wire"
	"github.com/example/workspace/server/inproc"
	"github.com/example/workspace/service"
	"github.com/example/workspace/service/admin"
	"github.com/example/workspace/service/admission"
	"github.com/example/workspace/service/auth"
	"github.com/example/workspace/service/eventhub"
	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/service/webhook"
	"github.com/example/workspace/store"
)

// Config is everything a server needs; zero values take the defaults.
type Config struct {
	// HTTPAddr and GRPCAddr are listen addresses; ":0" picks a free port.
	HTTPAddr string // default DefaultHTTPAddr
	GRPCAddr string // default DefaultGRPCAddr
	// Database is a SQLite file path, or a postgres:// URL.
	Database string // default DefaultDatabase
	// Logger receives the access log and operational messages.
	Logger *slog.Logger
	// Banner receives the first start's admin key, once.
	Banner io.Writer
	// Now is the clock (tests move it across window edges).
	Now func() time.Time
	// Store, if set, is used instead of opening Database (tests wrap a real
	// store to inject faults). The server closes it on shutdown.
	Store store.Store
	// RedisURL, if set, makes the rate limits shared by every replica through
	// Redis, falling back to in-memory limits while Redis is unreachable.
	RedisURL string
	// Limiter overrides the limiter that RedisURL (or its absence) chooses.
	Limiter ratelimit.Limiter
	// KeyCacheTTL is how long a looked-up API key is trusted before the store
	// is asked again: the bound on how late a revocation made through another
	// replica or the CLI takes effect here. 0 means auth.DefaultCacheTTL; a
	// negative value looks keys up on every request.
	KeyCacheTTL time.Duration
	// ShutdownTimeout bounds the drain on shutdown.
	ShutdownTimeout time.Duration // default DefaultShutdownTimeout
	// DrainDelay is how long the server keeps accepting requests after its
	// health turns NOT_SERVING on shutdown, so that load balancers watching
	// it stop sending traffic before the listeners close.
	DrainDelay time.Duration // default 0
	// EventBuffer is how many events an event stream may have waiting
	// before it is ended with STREAM_LAGGING (default
	// eventhub.DefaultBuffer, 256; tests make it small).
	EventBuffer int
	// SSEKeepAlive is the interval of the event stream's keep-alive
	// comments (default gateway.DefaultKeepAlive, 15 s; tests shorten it).
	SSEKeepAlive time.Duration
	// MaxBodyBytes is the REST body limit.
	MaxBodyBytes int64 // default 1 MiB
	// CORSOrigins are the web origins (scheme://host[:port], or "*" for
	// any) whose pages may call the REST API from a browser; see
	// middleware/cors. Entries may be comma lists themselves (the flag's
	// form); empty ones are skipped. None, the default
	// (DefaultCORSOrigins), sends no CORS header at all.
	CORSOrigins []string
	// AdminAddr is the operators' listener: /metrics, /healthz, /readyz and
	// /debug/pprof/. Empty means no admin listener (the zero Config stays off
	// the network beyond its two API ports); workspaced defaults it to
	// DefaultAdminAddr, and tests use "127.0.0.1:0".
	AdminAddr string
	// ReadinessInterval is how often the server checks its store (and Redis)
	// to keep the gRPC health status current between /readyz requests.
	ReadinessInterval time.Duration // default DefaultReadinessInterval
	// EventRetention is how long events are kept: older ones are pruned in
	// the background, and reading the log after a pruned position is 410
	// EVENTS_EXPIRED. At least MinEventRetention.
	EventRetention time.Duration // default DefaultEventRetention
	// EventPruneInterval is how often the pruner looks for old events
	// (tests shorten it).
	EventPruneInterval time.Duration // default DefaultEventPruneInterval
	// EventClock is the pruner's clock, which decides what is old: the
	// store stamps events with the time they commit, so it is the wall
	// clock (time.Now) unless a test moves it forward to age them.
	EventClock func() time.Time

	// WebhookAllowPrivate lets webhook endpoints be http URLs and reach
	// loopback, private, link-local and metadata addresses: for development
	// and tests (--webhook-allow-private).
	WebhookAllowPrivate bool
	// WebhookRetrySchedule is the delay before each retry of a failed
	// delivery; after the last retry fails the endpoint is disabled (nil:
	// webhook.DefaultSchedule, 5s 5m 30m 2h 5h 10h 10h; tests shorten it).
	WebhookRetrySchedule []time.Duration
	// WebhookLeaseTTL is how long a replica holds an endpoint without
	// renewing (default webhook.DefaultLeaseTTL, 30 s): how soon another
	// takes over from a replica that died mid-delivery.
	WebhookLeaseTTL time.Duration
	// WebhookPollInterval is how often the delivery worker looks for due
	// endpoints without being woken by a commit (default
	// webhook.DefaultPollInterval, 5 s).
	WebhookPollInterval time.Duration

	// The HTTP server's limits against slow and idle clients (zero values
	// take the defaults; tests shorten them).
	ReadHeaderTimeout time.Duration // default 10s: the whole header, however slowly trickled
	ReadTimeout       time.Duration // default 30s: header and body
	WriteTimeout      time.Duration // default 30s: from the end of the header to the end of the answer
	IdleTimeout       time.Duration // default 120s: a keep-alive connection between requests
}

// The gRPC server's limits against floods.
const (
	// maxConcurrentStreams bounds the calls one connection may have in
	// flight; the gateway's own connection queues beyond it, it does not fail.
	maxConcurrentStreams = 512
	// maxHeaderBytes bounds REST request headers and gRPC header lists.
	maxHeaderBytes = 64 << 10
	// connectionTimeout bounds a gRPC connection's handshake (a slow-loris on
	// the HTTP/2 preface).
	connectionTimeout = 10 * time.Second
	// streamWorkers are goroutines that grpc-go keeps to run calls on. By
	// default it starts a goroutine per call, whose stack then grows (SQLite's
	// code runs deep) on every call: 14 % of the gRPC path's CPU under load.
	// A call arriving while all workers are busy still gets its own goroutine.
	streamWorkers = 64
)

// The defaults of Config, which workspaced's flags take as theirs: each is
// written here only.
const (
	DefaultHTTPAddr = ":8080"
	DefaultGRPCAddr = ":9090"
	// DefaultAdminAddr is workspaced's admin address. A zero Config.AdminAddr
	// means no admin listener, so that an embedding program (or a test) opens
	// no port it did not ask for.
	DefaultAdminAddr         = "127.0.0.1:9091"
	DefaultDatabase          = "workspace.db"
	DefaultShutdownTimeout   = 15 * time.Second
	DefaultReadinessInterval = 5 * time.Second
	// DefaultCORSOrigins is the --cors-origins of workspaced: none, so that
	// only pages the operator names can call the API from a browser.
	DefaultCORSOrigins = ""
	// DefaultEventRetention keeps events 30 days.
	DefaultEventRetention = 720 * time.Hour
	// MinEventRetention is the shortest retention accepted: a client that
	// is offline for a few minutes must still be able to catch up.
	MinEventRetention         = time.Hour
	DefaultEventPruneInterval = time.Minute
)

func (c *Config) setDefaults() {
	if c.HTTPAddr == "" {
		c.HTTPAddr = DefaultHTTPAddr
	}
	if c.GRPCAddr == "" {
		c.GRPCAddr = DefaultGRPCAddr
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Banner == nil {
		c.Banner = io.Discard
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.KeyCacheTTL == 0 {
		c.KeyCacheTTL = auth.DefaultCacheTTL
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = DefaultShutdownTimeout
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = gateway.DefaultMaxBodyBytes
	}
	if c.ReadinessInterval <= 0 {
		c.ReadinessInterval = DefaultReadinessInterval
	}
	if c.EventRetention == 0 {
		c.EventRetention = DefaultEventRetention
	}
	if c.EventPruneInterval <= 0 {
		c.EventPruneInterval = DefaultEventPruneInterval
	}
	if c.EventClock == nil {
		c.EventClock = time.Now
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&c.ReadHeaderTimeout, 10 * time.Second}, {&c.ReadTimeout, 30 * time.Second}, {&c.WriteTimeout, 30 * time.Second}, {&c.IdleTimeout, 120 * time.Second}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
}

// Server is a running Workspace API: gRPC and REST over one store.
type Server struct {
	cfg          Config
	store        store.Store
	grpc         *grpc.Server
	health       *health.Server
	http         *http.Server
	grpcLis      net.Listener
	httpLis      net.Listener
	redis        redis.UniversalClient
	metrics      *metrics.Metrics
	admin        *http.Server
	adminLis     net.Listener
	authn        *auth.Authenticator
	hub          *eventhub.Hub
	stopHub      func()
	webhooks     *webhook.Worker
	stopWebhooks func()

	// shuttingDown is set when shutdown starts: readiness fails from then on.
	shuttingDown atomic.Bool
	// ready is the last readiness result, to log changes once.
	ready atomic.Bool
	// draining ends when the gRPC server starts to drain; it ends the
	// long-lived streams (health Watch) that GracefulStop would wait for.
	draining     context.Context
	stopDraining context.CancelFunc
	// stopping ends when shutdown starts, before the HTTP server drains: it
	// ends the API's streams (gRPC and SSE), with UNAVAILABLE, so that their
	// clients resume elsewhere and no drain waits for them.
	stopping     context.Context
	stopStopping context.CancelCauseFunc
}

// New opens the store (applying migrations), binds every listener, so that
// the addresses are known before Run, and then, on an empty store, creates the
// first workspace and its admin key and writes the key to Config.Banner.
func New(ctx context.Context, cfg Config) (_ *Server, err error) {
	cfg.setDefaults()
	if cfg.EventRetention < MinEventRetention {
		return nil, fmt.Errorf("event retention %s is too short: at least %s", cfg.EventRetention, MinEventRetention)
	}
	s := &Server{cfg: cfg, metrics: metrics.New()}
	s.draining, s.stopDraining = context.WithCancel(context.Background())
	s.stopping, s.stopStopping = context.WithCancelCause(context.Background())
	defer func() {
		if err != nil {
			s.closeAll()
		}
	}()

	st := cfg.Store
	if st == nil {
		if st, err = OpenStore(ctx, cfg.Database); err != nil {
			return nil, err
		}
	}
	// Everything, the first start's bootstrap included, goes through the
	// timing wrapper.
	s.store = s.metrics.TimeStore(st)
	if gc, ok := st.(metrics.GroupCommitStats); ok {
		s.metrics.WatchGroupCommit(gc)
	}
	// Every fact about each RPC, from its (workspace.v1.method) option; an RPC
	// without one stops the start here (the first workspace is created last).
	methods, err := apimethod.Load()
	if err != nil {
		return nil, err
	}
	limiter, err := s.newLimiter()
	if err != nil {
		return nil, err
	}

	if f, ok := limiter.(metrics.FailoverState); ok {
		s.metrics.WatchFailover(f)
	}
	limiter = ratelimit.Observe(limiter, s.metrics.ObserveDecision)

	s.authn = auth.NewAuthenticator(s.store, cfg.Now, cfg.KeyCacheTTL)
	authn := s.authn
	// The API's key writes and the first start's bootstrap are the CLI's
	// operations; a key revoked through this server leaves its cache at once.
	ops := admin.New(s.store, cfg.Now, admin.OnRevoke(authn.Forget))
	s.hub = eventhub.New(s.store, s.store, eventhub.Options{Logger: cfg.Logger, Buffer: cfg.EventBuffer})
	recheck := cfg.KeyCacheTTL
	if recheck <= 0 {
		recheck = auth.DefaultCacheTTL // keys are not cached: a second is still prompt
	}
	s.webhooks = webhook.New(s.store, webhook.Options{
		Schedule: cfg.WebhookRetrySchedule, LeaseTTL: cfg.WebhookLeaseTTL, PollInterval: cfg.WebhookPollInterval,
		AllowPrivate: cfg.WebhookAllowPrivate, Logger: cfg.Logger, Render: service.EventJSON, Now: cfg.Now,
		Metrics: webhook.NewMetrics(s.metrics.Registerer()),
	})
	whDeps := webhookDeps(cfg, s.store)
	whDeps.Sender = s.webhooks
	deps := service.Deps{Store: s.store, Limiter: limiter, Now: cfg.Now, Admin: ops,
		Hub: s.hub, Streams: ratelimit.NewStreams(), RecheckEvery: recheck,
		Webhooks: whDeps}
	admit := admission.New(authn, limiter, cfg.Now)
	chain := chainDeps{logger: cfg.Logger, metrics: s.metrics.GRPC(), admit: admit, methods: methods, store: s.store, now: cfg.Now, draining: s.draining, stopping: s.stopping}
	// One chain, for the gRPC port and for the gateway's in-process channel.
	unary, streams := unaryChain(chain), streamChain(chain)
	s.grpc = grpc.NewServer(
		grpc.ChainUnaryInterceptor(unary...),
		grpc.ChainStreamInterceptor(streams...),
		// A message over the body limit (plus room for the other fields) is
		// refused by grpc-go before it is decoded.
		grpc.MaxRecvMsgSize(int(cfg.MaxBodyBytes)+4096),
		// Undecodable API requests become 400s in the chain, not INTERNAL.
		grpc.ForceServerCodecV2(wire.NewCodec(methods.IsRequest)),
		grpc.MaxConcurrentStreams(maxConcurrentStreams),
		grpc.NumStreamWorkers(streamWorkers),
		grpc.MaxHeaderListSize(maxHeaderBytes),
		grpc.ConnectionTimeout(connectionTimeout),
		// Clients may ping at most every 10 s, and only with calls open;
		// more often and the connection is closed (GOAWAY ENHANCE_YOUR_CALM).
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second}),
		// Idle connections are closed after 5 minutes; the server pings a
		// silent connection every 2 minutes and drops it if it does not
		// answer within 20 s, so dead peers do not hold resources.
		grpc.KeepaliveParams(keepalive.ServerParameters{
			MaxConnectionIdle: 5 * time.Minute,
			Time:              2 * time.Minute,
			Timeout:           20 * time.Second,
		}),
	)
	service.Register(s.grpc, deps)
	if err := servesEvery(s.grpc, methods); err != nil {
		return nil, err
	}
	s.health = health.NewServer()
	healthpb.RegisterHealthServer(s.grpc, s.health)
	reflection.Register(s.grpc)
	// Every method's series exist from the start, at zero.
	s.metrics.GRPC().InitializeMetrics(s.grpc)

	// The gateway is a gRPC client of the same services through an in-process
	// channel that runs the same interceptor chain: every REST call passes
	// every interceptor once, without HTTP/2 framing or a network hop.
	local := inproc.New(chainUnary(unary...), chainStream(streams...), 4*runtime.GOMAXPROCS(0), methods.IsWrite)
	service.Register(local, deps)
	gw, err := gateway.New(ctx, local, gateway.Options{
		MaxBodyBytes: cfg.MaxBodyBytes,
		// Requests the gateway refuses itself pass the chain's admission too
		// (its steps 5 and 6): the same component.
		Admission: admit,
		Methods:   methods,
		KeepAlive: cfg.SSEKeepAlive,
	})
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	origins, err := cors.ParseOrigins(strings.Join(cfg.CORSOrigins, ","))
	if err != nil {
		return nil, err
	}
	// Browsers' preflights are answered in front of the gateway, before any
	// key or limit, and logged like every request.
	api := cors.New(gw, cors.Options{Origins: origins, Methods: gw.Allow})
	s.http = &http.Server{
		// One log line per REST request, written here with the status sent.
		Handler:           accesslog.HTTP(cfg.Logger, s.publicHandler(api)),
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}

	if s.grpcLis, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		return nil, fmt.Errorf("gRPC listener: %w", err)
	}
	if s.httpLis, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return nil, fmt.Errorf("HTTP listener: %w", err)
	}
	// What net/http refuses itself (an unparsable request, headers over the
	// limit) is answered in the envelope too.
	s.httpLis = httpguard.Listener(s.httpLis, accesslog.Unparsed(cfg.Logger, gateway.AnswerUnparsed))
	if cfg.AdminAddr != "" {
		s.admin = s.newAdminServer()
		if s.adminLis, err = net.Listen("tcp", cfg.AdminAddr); err != nil {
			return nil, fmt.Errorf("admin listener: %w", err)
		}
	}
	// Last, once nothing else can fail: a start that cannot serve (a port
	// taken, a bad Redis URL) leaves the store empty, so the next start
	// creates the workspace and shows its only admin key.
	if err := s.bootstrap(ctx, ops); err != nil {
		return nil, err
	}
	return s, nil
}

// webhookDeps are the webhook handlers' parts: the store, the URL rule with
// the server's resolver and flag, and the delivery engine's sender.
func webhookDeps(cfg Config, st store.Store) service.WebhookDeps {
	return service.WebhookDeps{
		Store: st,
		CheckURL: func(ctx context.Context, u string) error {
			return webhook.CheckURL(ctx, net.DefaultResolver, u, cfg.WebhookAllowPrivate)
		},
	}
}

// servesEvery checks that every RPC of the method table has an implementation
// registered on srv: an RPC declared in proto/ but not served would otherwise
// answer UNIMPLEMENTED only when first called.
func servesEvery(srv *grpc.Server, methods *apimethod.Table) error {
	served := map[string]bool{}
	for name, info := range srv.GetServiceInfo() {
		for _, m := range info.Methods {
			served["/"+name+"/"+m.Name] = true
		}
	}
	for _, m := range methods.Methods() {
		if !served[m.FullName] {
			return fmt.Errorf("RPC %s is declared but has no implementation registered (service.Register)", m.FullName)
		}
	}
	return nil
}

// Handler is the REST surface as served on HTTPAddr, for calling it in
// process (benchmarks of the request path without the network).
func (s *Server) Handler() http.Handler { return s.http.Handler }

// HTTPAddr is the bound REST address.
func (s *Server) HTTPAddr() string { return s.httpLis.Addr().String() }

// GRPCAddr is the bound gRPC address.
func (s *Server) GRPCAddr() string { return s.grpcLis.Addr().String() }

// AdminAddr is the bound admin address (metrics, health, pprof), or "" when
// Config.AdminAddr left the admin listener off.
func (s *Server) AdminAddr() string {
	if s.adminLis == nil {
		return ""
	}
	return s.adminLis.Addr().String()
}

// Store is the server's store, for tests and tools that run in-process.
func (s *Server) Store() store.Store { return s.store }

// ForgetCachedKeys makes the next request of every key ask the store again,
// for in-process tools and tests that change keys or plans in the store
// directly.
func (s *Server) ForgetCachedKeys() { s.authn.ForgetAll() }

// Run serves until ctx ends, then shuts down gracefully: readiness goes
// NOT_SERVING, the HTTP server stops accepting and drains (its calls still
// reach gRPC), then gRPC drains, then the admin listener (which answers
// /readyz with 503 throughout the drain) stops, then the store closes. A serve
// error ends Run early, after the same shutdown.
func (s *Server) Run(ctx context.Context) error {
	s.checkReady(ctx)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	serve := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(); err != nil && !errors.Is(err, grpc.ErrServerStopped) && !errors.Is(err, http.ErrServerClosed) {
				errs <- err
			}
		}()
	}
	serve(func() error { return s.grpc.Serve(s.grpcLis) })
	serve(func() error { return s.http.Serve(s.httpLis) })
	if s.admin != nil {
		serve(func() error { return s.admin.Serve(s.adminLis) })
	}
	// The hub follows the event log until the streams have ended, before
	// the store closes.
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() {
		defer close(hubDone)
		s.hub.Run(hubCtx)
	}()
	s.stopHub = func() {
		stopHub()
		<-hubDone
	}
	// The delivery worker, likewise, until the store is about to close: it
	// lets the attempts in flight finish and record.
	whCtx, stopWebhooks := context.WithCancel(context.Background())
	whDone := make(chan struct{})
	go func() {
		defer close(whDone)
		s.webhooks.Run(whCtx)
	}()
	s.stopWebhooks = func() {
		stopWebhooks()
		<-whDone
	}
	// The background work — the readiness probe, the event pruner — stops
	// before the shutdown, so before the store closes.
	probeCtx, stopProbe := context.WithCancel(ctx)
	var background sync.WaitGroup
	background.Go(func() { s.probeReadiness(probeCtx) })
	background.Go(func() { s.pruneEvents(probeCtx) })
	s.cfg.Logger.Info("serving", slog.String("http", s.HTTPAddr()), slog.String("grpc", s.GRPCAddr()),
		slog.String("admin", s.AdminAddr()), slog.String("database", redact(s.cfg.Database)))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	stopProbe()
	background.Wait()
	shutdownErr := s.shutdown()
	wg.Wait()
	return errors.Join(runErr, shutdownErr)
}

// shutdown drains in dependency order, all within ShutdownTimeout:
//
//  1. health goes NOT_SERVING (Check answers it, Watch streams are told), so
//     load balancers stop sending new work; for DrainDelay the server still
//     accepts, for those that have not noticed yet;
//  2. the HTTP server stops accepting and waits for its in-flight requests,
//     whose gRPC calls through the in-process connection still run;
//  3. the gRPC server stops accepting and waits for its in-flight calls
//     (health Watch streams are ended, or they would hold it open);
//  4. the store closes, once nothing can use it any more.
//
// If the timeout runs out, the remaining calls are cut off (grpc.Stop).
func (s *Server) shutdown() error {
	// Not ready before anything drains: /readyz answers 503 and every gRPC
	// health service NOT_SERVING (Watch streams are told), so load balancers
	// stop sending.
	s.shuttingDown.Store(true)
	s.health.Shutdown()
	s.cfg.Logger.Info("shutting down: health NOT_SERVING", slog.Duration("drain_delay", s.cfg.DrainDelay), slog.Duration("timeout", s.cfg.ShutdownTimeout))
	if s.cfg.DrainDelay > 0 {
		time.Sleep(s.cfg.DrainDelay) // still serving: new requests are answered
	}
	// The API's streams end first: an open stream never ends by itself, and
	// both drains below would wait for it.
	s.stopStopping(errStreamsShutDown)
	s.cfg.Logger.Info("shutting down: draining HTTP")
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	httpErr := s.http.Shutdown(ctx)
	s.cfg.Logger.Info("shutting down: HTTP drained, draining gRPC")

	s.stopDraining()
	stopped := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-ctx.Done():
		s.grpc.Stop()
		<-stopped
	}
	if s.stopHub != nil {
		s.stopHub()
	}
	if s.stopWebhooks != nil {
		s.stopWebhooks()
	}
	closeErr := s.closeAll()
	if s.admin != nil {
		// Last, so /readyz said 503 throughout the drain. A scrape or a
		// profile still running gets a moment, then its connection is cut: it
		// is no reason to fail the shutdown.
		actx, acancel := context.WithTimeout(context.Background(), time.Second)
		if err := s.admin.Shutdown(actx); err != nil {
			_ = s.admin.Close()
			s.cfg.Logger.Warn("admin listener: cut requests still running at shutdown", slog.Any("error", err))
		}
		acancel()
	}
	if err := errors.Join(httpErr, closeErr); err != nil {
		return err
	}
	s.cfg.Logger.Info("shut down: gRPC drained, store closed")
	return nil
}

// newLimiter picks the limiter: the configured one, Redis with an in-memory
// fallback when a Redis URL is given, or in-memory limits (one replica). With
// Redis, readiness also pings it.
func (s *Server) newLimiter() (ratelimit.Limiter, error) {
	switch {
	case s.cfg.Limiter != nil:
		return s.cfg.Limiter, nil
	case s.cfg.RedisURL != "":
		client, err := ratelimit.NewRedisClient(s.cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		s.redis = client
		return ratelimit.NewFailover(ratelimit.NewRedis(client), ratelimit.NewMemory(s.cfg.Now),
			ratelimit.WithLogger(s.cfg.Logger)), nil
	}
	return ratelimit.NewMemory(s.cfg.Now), nil
}

// errStreamsShutDown ends the API's streams on shutdown.
var errStreamsShutDown = apierror.New(apierror.CodeUnavailable, "The server is shutting down: reconnect to resume from your last seq", nil)

func (s *Server) closeAll() error {
	s.stopStopping(errStreamsShutDown)
	s.stopDraining()
	var errs []error
	if s.redis != nil {
		errs = append(errs, s.redis.Close())
	}
	for _, l := range []net.Listener{s.grpcLis, s.httpLis, s.adminLis} {
		if l != nil {
			_ = l.Close() // already closed by Serve/Shutdown on the normal path
		}
	}
	if s.store != nil {
		errs = append(errs, s.store.Close())
	}
	return errors.Join(errs...)
}

// bootstrap gives a fresh install its first workspace and admin key, and
// writes the key to the banner: the only place it is ever shown.
func (s *Server) bootstrap(ctx context.Context, ops *admin.Ops) error {
	c, created, err := ops.Bootstrap(ctx)
	if err != nil || !created {
		return err
	}
	_, err = fmt.Fprintf(s.cfg.Banner,
		"Created workspace %s on the free plan. Its admin API key is shown only this once; store it now:\n%s\n",
		c.Workspace.ID, c.Secret)
	return err
}
