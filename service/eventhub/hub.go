// Package eventhub follows workspaces' event logs for the streams that watch
// them: one store read per change of a followed workspace, fanned out to
// every watcher's bounded buffer, so that a slow watcher never slows the
// writers or the other watchers.
package eventhub

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/example/workspace/store"
)

// ErrLagging ends a watcher whose buffer filled: it fell too far behind the
// log, and resumes (a new Watch) from the last event it got.
var ErrLagging = errors.New("the watcher fell too far behind the log")

// Defaults of Options.
const (
	DefaultBuffer       = 256
	DefaultPollInterval = time.Second
	// readPage is the page size of the hub's reads and of replays.
	readPage = 100
)

// Options configure a Hub; zero values take the defaults.
type Options struct {
	// Buffer is how many events a watcher may have waiting before it is
	// ended with ErrLagging.
	Buffer int
	// PollInterval is how often every followed workspace's head is read, the
	// safety net for changes the feed does not tell (writes of other
	// processes on SQLite, such as the CLI; a missed notification).
	PollInterval time.Duration
	Logger       *slog.Logger
}

// Hub follows the workspaces that have watchers.
type Hub struct {
	log  store.Events
	feed store.EventFeed
	opts Options

	mu     sync.Mutex
	topics map[string]*topic
}

// New returns a hub over the store's log and feed; Run makes it follow.
func New(log store.Events, feed store.EventFeed, opts Options) *Hub {
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Hub{log: log, feed: feed, opts: opts, topics: map[string]*topic{}}
}

// Run follows the feed and polls the followed workspaces until ctx ends.
func (h *Hub) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			err := h.feed.FollowEvents(ctx, h.notify)
			if ctx.Err() != nil {
				return
			}
			h.opts.Logger.Warn("event feed ended; polling until it is back", slog.Any("error", err))
			h.notify("", 0) // whatever it missed is read again
			select {
			case <-ctx.Done():
				return
			case <-time.After(h.opts.PollInterval):
			}
		}
	}()
	tick := time.NewTicker(h.opts.PollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-tick.C:
			h.poll(ctx)
		}
	}
}

// notify is the feed's callback: it must not block, so it only marks the
// topic and starts its reader if none runs.
func (h *Hub) notify(workspaceID string, seq int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if workspaceID == "" {
		for _, t := range h.topics {
			t.wake(0)
		}
		return
	}
	if t := h.topics[workspaceID]; t != nil {
		t.wake(seq)
	}
}

// poll reads the head of every followed workspace and wakes those that moved.
func (h *Hub) poll(ctx context.Context) {
	h.mu.Lock()
	topics := make([]*topic, 0, len(h.topics))
	for _, t := range h.topics {
		topics = append(topics, t)
	}
	h.mu.Unlock()
	for _, t := range topics {
		head, err := h.log.EventHead(ctx, t.workspaceID)
		if err != nil {
			if ctx.Err() == nil {
				h.opts.Logger.Warn("event hub: reading a workspace's head", slog.String("workspace_id", t.workspaceID), slog.Any("error", err))
			}
			continue
		}
		t.mu.Lock()
		behind := head.LastSeq > t.last
		t.mu.Unlock()
		if behind {
			t.wake(head.LastSeq)
		}
	}
}

// topic is one followed workspace.
type topic struct {
	hub         *Hub
	workspaceID string

	mu       sync.Mutex
	last     int64 // every event through it was fanned out
	watchers map[*watcher]struct{}
	reading  bool // a reader runs
	again    bool // woken while reading: read once more
	refs     int  // Watch calls using the topic (joined or replaying)
}

// wake makes the topic read the log after its last seq, unless seq (> 0)
// says nothing new committed.
func (t *topic) wake(seq int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if seq > 0 && seq <= t.last {
		return
	}
	if t.reading {
		t.again = true
		return
	}
	t.reading = true
	go t.read()
}

// read fans out what the log has after t.last, page by page, until it has
// read everything and no wake came in meanwhile. One reader per topic at a
// time, so t.last moves only here.
func (t *topic) read() {
	ctx := context.Background()
	for {
		t.mu.Lock()
		after := t.last
		t.again = false
		t.mu.Unlock()
		page, _, err := t.hub.log.ListEvents(ctx, t.workspaceID, store.EventFilter{After: after}, readPage)
		if err != nil {
			// The next poll tries again.
			t.hub.opts.Logger.Warn("event hub: reading a workspace's log", slog.String("workspace_id", t.workspaceID), slog.Any("error", err))
			t.mu.Lock()
			t.reading = false
			t.mu.Unlock()
			return
		}
		t.mu.Lock()
		for _, e := range page {
			ev := &Item{Event: e}
			for w := range t.watchers {
				if !w.push(ev) {
					delete(t.watchers, w) // lagging: it gets nothing more
				}
			}
			t.last = ev.Seq
		}
		if len(page) < readPage && !t.again {
			t.reading = false
			t.mu.Unlock()
			return
		}
		t.mu.Unlock()
	}
}

// Item is an event as the hub hands it to watchers: a topic fans out one
// Item per event to all of its watchers, so that what the streams derive
// from it (their message) is computed once, not once per watcher.
type Item struct {
	store.Event
	once sync.Once
	v    any
	err  error
}

// Memo returns f(the event), computed by the first caller only; f's result
// is shared by every watcher and must not be changed.
func (it *Item) Memo(f func(store.Event) (any, error)) (any, error) {
	it.once.Do(func() { it.v, it.err = f(it.Event) })
	return it.v, it.err
}

// watcher is one stream's place in a topic: a bounded buffer of events and a
// signal, no goroutine.
type watcher struct {
	types  []string // nil: all
	buffer int
	signal chan struct{} // capacity 1: "look at the buffer"
	lagged func(error)   // ends the stream's context

	mu      sync.Mutex
	pending []*Item
	lagging bool
}

// push hands ev to the watcher without blocking; false once the buffer is
// full (the watcher is then lagging and its context ended).
func (w *watcher) push(ev *Item) bool {
	if w.types != nil && !slices.Contains(w.types, ev.Type) {
		return true
	}
	w.mu.Lock()
	if len(w.pending) >= w.buffer {
		w.lagging = true
		w.pending = nil
		w.mu.Unlock()
		w.lagged(ErrLagging)
		w.wakeUp()
		return false
	}
	w.pending = append(w.pending, ev)
	w.mu.Unlock()
	w.wakeUp()
	return true
}

func (w *watcher) wakeUp() {
	select {
	case w.signal <- struct{}{}:
	default:
	}
}

// take returns the events waiting (the caller owns the slice), or
// ErrLagging.
func (w *watcher) take() ([]*Item, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lagging {
		return nil, ErrLagging
	}
	evs := w.pending
	w.pending = nil // an idle watcher holds no array
	return evs, nil
}

// Watch streams the workspace's events after filter.After of filter.Types to
// send, oldest first, each once and without a gap: it replays the log from
// the store, page by page, then joins the workspace's topic once it has
// caught up with it (under the topic's lock, so that no event falls between
// the two) and sends what the topic fans out, skipping any seq it sent in
// the replay. Live events come as the Items the topic shares among its
// watchers. start is called once, after the first read of the log
// succeeded and before anything is sent (the stream's header); a log pruned
// past filter.After fails that first read with store.ErrEventsExpired, before
// start. every, if it is not nil, is called on each tick of its channel (a
// key recheck); its error ends the watch.
//
// Watch returns when ctx ends (context.Cause), send or every fails, a read
// fails, or the watcher lags (ErrLagging).
func (h *Hub) Watch(ctx context.Context, workspaceID string, filter store.EventFilter, start func() error, tick <-chan time.Time, every func() error, send func(*Item) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	w := &watcher{types: filter.Types, buffer: h.opts.Buffer, signal: make(chan struct{}, 1), lagged: cancel}
	if len(w.types) == 0 {
		w.types = nil
	}
	// The head first: a topic this call creates starts from it.
	head, err := h.log.EventHead(ctx, workspaceID)
	if err != nil {
		return err
	}
	if filter.After < head.PrunedSeq {
		return store.ErrEventsExpired
	}
	t, created := h.join(workspaceID, head.LastSeq)
	defer h.leave(t, w)

	// Replay from the store until caught up with the topic.
	sent, pos := filter.After, filter.After
	first := true
	for {
		t.mu.Lock()
		fannedOut := t.last
		t.mu.Unlock()
		page, _, err := h.log.ListEvents(ctx, workspaceID, store.EventFilter{After: pos, Types: filter.Types}, readPage)
		if err != nil {
			if c := context.Cause(ctx); c != nil {
				return c
			}
			return err
		}
		if first {
			first = false
			if err := start(); err != nil {
				return err
			}
		}
		for _, ev := range page {
			if err := send(&Item{Event: ev}); err != nil {
				return err
			}
			sent, pos = ev.Seq, ev.Seq
		}
		if len(page) == readPage {
			continue
		}
		// A short page read the log through its head as it was then, which
		// is at least what the topic had fanned out before the read.
		pos = max(pos, fannedOut)
		t.mu.Lock()
		if t.last <= pos {
			t.watchers[w] = struct{}{}
			t.mu.Unlock()
			break
		}
		t.mu.Unlock()
	}
	if created {
		// Its head was read before it existed: what committed since was
		// told to no one.
		t.wake(0)
	}

	for {
		select {
		case <-ctx.Done():
			return context.Cause(ctx)
		case <-tick:
			if every != nil {
				if err := every(); err != nil {
					return err
				}
			}
		case <-w.signal:
			evs, err := w.take()
			if err != nil {
				return err
			}
			for _, ev := range evs {
				if ev.Seq <= sent {
					continue
				}
				if err := send(ev); err != nil {
					return err
				}
				sent = ev.Seq
			}
		}
	}
}

// join returns the workspace's topic; a new one (created) starts after
// head, the log's last seq as read before the call.
func (h *Hub) join(workspaceID string, head int64) (t *topic, created bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t = h.topics[workspaceID]
	if t == nil {
		t = &topic{hub: h, workspaceID: workspaceID, watchers: map[*watcher]struct{}{}, last: head}
		h.topics[workspaceID] = t
		created = true
	}
	t.mu.Lock()
	t.refs++
	t.mu.Unlock()
	return t, created
}

// leave removes w, and the topic with its last watcher.
func (h *Hub) leave(t *topic, w *watcher) {
	h.mu.Lock()
	defer h.mu.Unlock()
	t.mu.Lock()
	delete(t.watchers, w)
	t.refs--
	empty := t.refs == 0
	t.mu.Unlock()
	if empty && h.topics[t.workspaceID] == t {
		delete(h.topics, t.workspaceID)
	}
}

// Topics is how many workspaces the hub follows now, and Watchers how many
// watchers they have (for tests and metrics).
func (h *Hub) Topics() (topics, watchers int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.topics {
		t.mu.Lock()
		watchers += len(t.watchers)
		t.mu.Unlock()
	}
	return len(h.topics), watchers
}
