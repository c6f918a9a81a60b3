package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/example/workspace/internal/ids"
	"github.com/example/workspace/store"
)

// Delivery rules (issue 14): at least once, in seq order per endpoint, one
// attempt at a time per endpoint, a 2xx within Timeout succeeds; a failure
// is retried after the schedule's next delay while later events wait; after
// the last one the endpoint is disabled and endpoint.disabled logged.
const (
	// Timeout bounds an attempt, from dialling to the end of the body read.
	Timeout = 10 * time.Second
	// MaxResponseRead is how much of a response body is read, at most.
	MaxResponseRead = 64 << 10
	// MaxExcerpt bounds the stored excerpt of a response, in bytes.
	MaxExcerpt = 256
	// DefaultMaxInFlight bounds the attempts in flight per server.
	DefaultMaxInFlight = 16
	// DefaultLeaseTTL is how long a claim holds an endpoint; it is renewed
	// while delivering, so it expires only when its server died.
	DefaultLeaseTTL = 30 * time.Second
	// DefaultPollInterval is how often the worker claims without being
	// woken: retries scheduled by other replicas, leases of dead ones.
	DefaultPollInterval = 5 * time.Second
	// UserAgent is sent with every delivery.
	UserAgent = "workspace-webhooks/1"
)

// DefaultSchedule is the delay before each retry: about three days in all.
var DefaultSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 10 * time.Hour}

// Store is what the worker needs of the store.
type Store interface {
	store.WebhookDispatch
	store.EventFeed
	EventHead(ctx context.Context, workspaceID string) (store.EventHead, error)
}

// Options configure a Worker; zero values take the defaults.
type Options struct {
	// Owner names this server in leases (a random one by default).
	Owner        string
	Schedule     []time.Duration
	LeaseTTL     time.Duration
	PollInterval time.Duration
	MaxInFlight  int
	// AllowPrivate lets deliveries reach loopback and private addresses,
	// and plain http (development and tests).
	AllowPrivate bool
	Logger       *slog.Logger
	Metrics      *Metrics
	// Now is the API's clock, which set PreviousSecretExpiresAt: the
	// previous secret signs until then by it (leases and timestamps use
	// the wall clock). Default time.Now.
	Now func() time.Time
	// Render is an event's delivery body: its JSON as GET /v1/events
	// renders it (service.EventJSON). Required.
	Render func(store.Event) ([]byte, error)
	// Transport overrides the HTTP transport (whose dialer applies the
	// address rule); for tests only.
	Transport http.RoundTripper
}

// Worker delivers the event log to the endpoints it claims.
type Worker struct {
	st     Store
	opts   Options
	client *http.Client
	slots  chan struct{}
	wakeCh chan struct{}

	mu        sync.Mutex
	nextRetry time.Time // the earliest retry this worker scheduled
}

// New returns a worker; Run starts it.
func New(st Store, opts Options) *Worker {
	if opts.Owner == "" {
		opts.Owner = "srv_" + ids.Random(16)
	}
	if opts.Schedule == nil {
		opts.Schedule = DefaultSchedule
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = DefaultLeaseTTL
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.MaxInFlight <= 0 {
		opts.MaxInFlight = DefaultMaxInFlight
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	tr := opts.Transport
	if tr == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.Proxy = nil // a proxy would dial for us, past the address rule
		t.DialContext = dialer(opts.AllowPrivate).DialContext
		t.MaxIdleConnsPerHost = 4
		t.ResponseHeaderTimeout = Timeout
		tr = t
	}
	return &Worker{
		st:   st,
		opts: opts,
		client: &http.Client{
			Transport: tr,
			Timeout:   Timeout,
			// Redirects are not followed: a 3xx is the answer, a failure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		slots:  make(chan struct{}, opts.MaxInFlight),
		wakeCh: make(chan struct{}, 1),
	}
}

// Owner is the worker's name in leases.
func (w *Worker) Owner() string { return w.opts.Owner }

func (w *Worker) wake() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then waits for the attempts in flight (each
// bounded by Timeout) and releases their leases.
func (w *Worker) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() {
		// Every commit wakes the worker (on PostgreSQL, any replica's);
		// notify("", 0) after a reconnect too.
		for ctx.Err() == nil {
			err := w.st.FollowEvents(ctx, func(string, int64) { w.wake() })
			if ctx.Err() != nil || err == nil {
				return
			}
			w.opts.Logger.Warn("webhooks: following the event log", slog.Any("error", err))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	})
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		w.claim(ctx, &wg)
		wait := w.opts.PollInterval
		w.mu.Lock()
		if !w.nextRetry.IsZero() {
			if d := time.Until(w.nextRetry); d < wait {
				wait = max(d, 0)
			}
		}
		w.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-w.wakeCh:
		case <-timer.C:
			w.mu.Lock()
			if !w.nextRetry.IsZero() && !time.Now().Before(w.nextRetry) {
				w.nextRetry = time.Time{}
			}
			w.mu.Unlock()
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// claim leases as many due endpoints as there are free slots and serves
// each in its own goroutine.
func (w *Worker) claim(ctx context.Context, wg *sync.WaitGroup) {
	free := cap(w.slots) - len(w.slots)
	if free == 0 || ctx.Err() != nil {
		return
	}
	eps, err := w.st.ClaimWebhookEndpoints(ctx, w.opts.Owner, time.Now(), w.opts.LeaseTTL, free)
	if err != nil {
		if ctx.Err() == nil {
			w.opts.Logger.Warn("webhooks: claim", slog.Any("error", err))
		}
		return
	}
	for _, e := range eps {
		w.slots <- struct{}{}
		wg.Go(func() {
			defer func() { <-w.slots }()
			w.serve(ctx, e)
		})
	}
}

// serve delivers the endpoint's events in order while it holds the lease
// and they succeed, then releases it.
func (w *Worker) serve(ctx context.Context, e store.WebhookEndpoint) {
	owner, id := w.opts.Owner, e.ID
	// The attempts run on a context of their own: a shutdown lets the one
	// in flight finish (bounded by Timeout) and record, so that it is not
	// made again by the next owner.
	lctx, lost := context.WithCancel(context.WithoutCancel(ctx))
	defer lost()
	renewDone := make(chan struct{})
	go func() {
		defer close(renewDone)
		t := time.NewTicker(w.opts.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-lctx.Done():
				return
			case <-t.C:
				err := w.st.RenewWebhookLease(lctx, owner, id, time.Now(), w.opts.LeaseTTL)
				if errors.Is(err, store.ErrLeaseLost) {
					lost()
					return
				}
			}
		}
	}()
	defer func() {
		lost()
		<-renewDone
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := w.st.ReleaseWebhookLease(rctx, owner, e.ID); err != nil {
			w.opts.Logger.Warn("webhooks: release lease", slog.String("endpoint_id", e.ID), slog.Any("error", err))
		}
		w.sampleLag(rctx, e)
		// Events committed while this endpoint was held were not claimed
		// by anyone: look again.
		w.wake()
	}()
	for ctx.Err() == nil && lctx.Err() == nil {
		now := time.Now()
		ep, ev, ok, err := w.st.NextWebhookEvent(lctx, owner, e.ID, now)
		if err != nil {
			if !errors.Is(err, store.ErrLeaseLost) && lctx.Err() == nil {
				w.opts.Logger.Warn("webhooks: next event", slog.String("endpoint_id", e.ID), slog.Any("error", err))
			}
			return
		}
		e = ep
		if !ok || (ep.NextAttemptAt != nil && ep.NextAttemptAt.After(now)) {
			return
		}
		attempt := ep.FailedAttempts + 1
		d := w.attempt(lctx, ep, ev)
		d.Attempt = attempt
		if attempt == 1 && w.opts.Metrics != nil {
			w.opts.Metrics.latency.Observe(d.AttemptedAt.Sub(ev.CreatedAt).Seconds())
		}
		a := store.WebhookAttempt{Delivery: d}
		if !d.Succeeded {
			if attempt <= len(w.opts.Schedule) {
				next := time.Now().Add(w.opts.Schedule[attempt-1])
				a.Delivery.NextRetryAt = &next
			} else {
				a.DisableReason = fmt.Sprintf("%d attempts to deliver event %s (seq %d) failed; the last: %s",
					attempt, ev.ID, ev.Seq, failure(d))
			}
		}
		rec, err := w.st.RecordWebhookAttempt(lctx, owner, time.Now(), a)
		if err != nil {
			if !errors.Is(err, store.ErrLeaseLost) {
				w.opts.Logger.Warn("webhooks: record attempt", slog.String("endpoint_id", e.ID), slog.Any("error", err))
			}
			return
		}
		e = rec
		if !d.Succeeded {
			if a.Delivery.NextRetryAt != nil {
				w.retryAt(*a.Delivery.NextRetryAt)
			} else {
				w.opts.Logger.Warn("webhooks: endpoint disabled", slog.String("endpoint_id", e.ID),
					slog.String("reason", a.DisableReason))
			}
			return
		}
	}
}

func (w *Worker) retryAt(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.nextRetry.IsZero() || t.Before(w.nextRetry) {
		w.nextRetry = t
	}
	w.wake()
}

func (w *Worker) sampleLag(ctx context.Context, e store.WebhookEndpoint) {
	if w.opts.Metrics == nil {
		return
	}
	h, err := w.st.EventHead(ctx, e.WorkspaceID)
	if err != nil {
		return
	}
	w.opts.Metrics.lag.WithLabelValues(e.ID).Set(float64(max(h.LastSeq-e.DeliveredSeq, 0)))
}

func failure(d store.WebhookDelivery) string {
	if d.StatusCode != 0 {
		return fmt.Sprintf("HTTP %d", d.StatusCode)
	}
	return d.Error
}

// Send delivers ev to e now, outside the endpoint's order and lease (the
// API's :test ping and :retry), and stores the attempt as a manual one.
func (w *Worker) Send(ctx context.Context, e store.WebhookEndpoint, ev store.Event) (store.WebhookDelivery, error) {
	d := w.attempt(ctx, e, ev)
	d.Attempt = 1
	return w.st.RecordManualWebhookDelivery(ctx, d)
}

// SendManual is Send, as service.WebhookSender names it.
func (w *Worker) SendManual(ctx context.Context, e store.WebhookEndpoint, ev store.Event) (store.WebhookDelivery, error) {
	return w.Send(ctx, e, ev)
}

// attempt makes one HTTP attempt and describes it.
func (w *Worker) attempt(ctx context.Context, e store.WebhookEndpoint, ev store.Event) (d store.WebhookDelivery) {
	start := time.Now()
	d = store.WebhookDelivery{WorkspaceID: e.WorkspaceID, EndpointID: e.ID, EventID: ev.ID, EventSeq: ev.Seq,
		EventType: ev.Type, AttemptedAt: start}
	defer func() {
		d.Duration = time.Since(start)
		if w.opts.Metrics != nil {
			o := OutcomeSuccess
			switch {
			case d.StatusCode == 0:
				o = OutcomeError
			case !d.Succeeded:
				o = OutcomeFailure
			}
			w.opts.Metrics.attempts.WithLabelValues(o).Inc()
		}
	}()
	body, err := w.body(ev)
	if err != nil {
		d.Error = "rendering the event: " + err.Error()
		return d
	}
	secrets := []string{e.Secret}
	if e.PreviousSecret != "" && e.PreviousSecretExpiresAt != nil && w.opts.Now().Before(*e.PreviousSecretExpiresAt) {
		secrets = append(secrets, e.PreviousSecret)
	}
	sig, err := Sign(secrets, ev.ID, start, body)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.URL, bytes.NewReader(body))
	if err != nil {
		d.Error = "bad URL: " + err.Error()
		return d
	}
	if !w.opts.AllowPrivate && req.URL.Scheme != "https" {
		d.Error = "url must be an https URL"
		return d
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", UserAgent)
	req.Header.Set(HeaderID, ev.ID)
	req.Header.Set(HeaderTimestamp, fmt.Sprint(start.Unix()))
	req.Header.Set(HeaderSignature, sig)
	resp, err := w.client.Do(req)
	if err != nil {
		d.Error = describe(err)
		return d
	}
	defer resp.Body.Close()
	buf, rerr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseRead))
	d.StatusCode = resp.StatusCode
	d.ResponseExcerpt = excerpt(buf)
	d.Succeeded = resp.StatusCode >= 200 && resp.StatusCode < 300 && rerr == nil
	if rerr != nil {
		d.Error = "reading the response: " + describe(rerr)
	}
	return d
}

// describe is an attempt's error for people: the address rule's own words.
func describe(err error) string {
	if errors.Is(err, ErrRefusedAddress) {
		return ErrRefusedAddress.Error()
	}
	if errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "Client.Timeout") {
		return "timed out after 10s"
	}
	return err.Error()
}

// excerpt is at most MaxExcerpt bytes of b, cut at a rune boundary, with
// invalid UTF-8 replaced.
func excerpt(b []byte) string {
	s := strings.ToValidUTF8(string(b[:min(len(b), 4*MaxExcerpt)]), "\uFFFD")
	if len(s) <= MaxExcerpt {
		return s
	}
	cut := MaxExcerpt
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

// body is the event's JSON exactly as GET /v1/events renders one item
// (Options.Render: service.EventJSON, wired by server.New).
func (w *Worker) body(ev store.Event) ([]byte, error) {
	if w.opts.Render == nil {
		return nil, errors.New("webhooks: no event renderer")
	}
	return w.opts.Render(ev)
}
