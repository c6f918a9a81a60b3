package server

import (
	"context"
	"log/slog"
	"time"
)

// pruneBatch is how many events one PruneEvents call deletes: a short
// transaction, so that writers (SQLite's one writer above all) never wait
// long behind the pruner.
const pruneBatch = 500

// deliveryGrace is how much longer than events webhook attempts are kept:
// an attempt's history stays visible after its event was pruned (a :retry
// of it then says the event is gone, rather than that the attempt is).
const deliveryGrace = 7 * 24 * time.Hour

// pruneEvents deletes the events (and webhook attempts) older than
// EventRetention until ctx ends:
// a batch every EventPruneInterval, and the next one at once while a batch
// came back full (a backlog, such as the first start after a long stop).
func (s *Server) pruneEvents(ctx context.Context) {
	timer := time.NewTimer(0) // a first pass at start
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		next := s.cfg.EventPruneInterval
		before := s.cfg.EventClock().Add(-s.cfg.EventRetention)
		n, err := s.store.PruneEvents(ctx, before, pruneBatch)
		// Webhook attempts are pruned alongside, a week later.
		d := 0
		if err == nil {
			d, err = s.store.PruneWebhookDeliveries(ctx, before.Add(-deliveryGrace), pruneBatch)
		}
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			s.cfg.Logger.Warn("pruning events", slog.Any("error", err))
		case n == pruneBatch || d == pruneBatch:
			next = 0
		case n > 0 || d > 0:
			s.cfg.Logger.Debug("pruned events", slog.Int("events", n), slog.Int("webhook_deliveries", d), slog.Time("before", before))
		}
		timer.Reset(next)
	}
}
