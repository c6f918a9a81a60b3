package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Each workspace has two keys, a hash per window holding the window's Unix
// start (w) and its count (n):
//
//	{<prefix><workspace>}:m   the minute window, expiring 2 minutes after its first count
//	{<prefix><workspace>}:d   the day window, expiring 2 days after its first count
//
// so that each outlives its window (the expiry is set once per window, sparing
// a command per request) and idle workspaces cost nothing.
//
// The braces make them one hash tag, so both live in one Redis Cluster slot
// and one script may touch both. The key names carry no time because the
// script takes the time from Redis' TIME, which the client does not know when
// it names the keys, and Redis requires a script to be given every key it
// touches (it must not build key names itself). So the window a count belongs
// to is stored beside it, and a count of an earlier window reads as zero.
//
// A window only moves forward: a count of a later window than the script's time
// (possible only with skewed WithClock clocks) is kept and counted into, rather
// than reset, which could admit a window's quota twice.

// scriptPrelude starts both scripts: the time, from ARGV[1] (Unix seconds) or
// Redis' TIME when it is "", and window(key, start), a hash's window and its
// count, reset to (start, 0) when the stored window is an earlier one.
const scriptPrelude = `
local sec, usec
if ARGV[1] == '' then
	local t = redis.call('TIME')
	sec, usec = tonumber(t[1]), tonumber(t[2])
else
	sec, usec = tonumber(ARGV[1]), 0
end
local function window(key, start)
	local v = redis.call('HMGET', key, 'w', 'n')
	local w = tonumber(v[1])
	if not w or w < start then
		return start, 0
	end
	return w, tonumber(v[2]) or 0
end
local mw, mn = window(KEYS[1], sec - sec % 60)
local dw, dn = window(KEYS[2], sec - sec % 86400)
`

// allowScript counts one request if both windows have room. Its rule for
// "room" is decide's; decide then builds the Decision from the counts it
// returns. It needs Redis 5 or later, whose scripts replicate by their effects:
// before, a script could not write once it had called TIME.
//
// KEYS: minute hash, day hash. ARGV: the time (see scriptPrelude), per-minute
// limit, per-day limit (0: none).
// Returns {seconds, microseconds, minute count, day count, admitted 1/0}, the
// counts being those before this request.
const allowScript = scriptPrelude + `
local perMinute, perDay = tonumber(ARGV[2]), tonumber(ARGV[3])
local admitted = 0
if mn < perMinute and (perDay <= 0 or dn < perDay) then
	admitted = 1
	redis.call('HSET', KEYS[1], 'w', mw, 'n', mn + 1)
	if mn == 0 then
		redis.call('EXPIRE', KEYS[1], 120)
	end
	redis.call('HSET', KEYS[2], 'w', dw, 'n', dn + 1)
	if dn == 0 then
		redis.call('EXPIRE', KEYS[2], 172800)
	end
end
return {sec, usec, mn, dn, admitted}
`

// usageScript reads both counts and the time in one round trip.
//
// KEYS: minute hash, day hash. ARGV: the time (see scriptPrelude).
// Returns {seconds, microseconds, minute count, day count}.
const usageScript = scriptPrelude + `
return {sec, usec, mn, dn}
`

// DefaultRedisKeyPrefix starts the name of every key of a Redis limiter
// without WithKeyPrefix.
const DefaultRedisKeyPrefix = "ratelimit:"

// Redis is a Limiter shared by all replicas through Redis. Each Allow is one
// atomic script run, so concurrent requests through any number of replicas
// never admit more than a window's limit.
type Redis struct {
	client redis.UniversalClient
	prefix string
	// now is nil in production: the script then takes the time from Redis,
	// so that replicas with skewed clocks agree on the windows.
	now          func() time.Time
	allow, usage *redis.Script
}

// RedisOption configures NewRedis.
type RedisOption func(*Redis)

// WithKeyPrefix starts every key name with prefix (default
// DefaultRedisKeyPrefix), giving each deployment or test its own namespace.
func WithKeyPrefix(prefix string) RedisOption {
	return func(r *Redis) { r.prefix = prefix }
}

// WithClock makes the limiter take the time from now instead of from Redis'
// TIME. For tests, which need to move the clock.
func WithClock(now func() time.Time) RedisOption {
	return func(r *Redis) { r.now = now }
}

// NewRedis returns a limiter that keeps its counts in Redis through client (a
// single node, a Sentinel failover or a Cluster client).
func NewRedis(client redis.UniversalClient, opts ...RedisOption) *Redis {
	r := &Redis{
		client: client,
		prefix: DefaultRedisKeyPrefix,
		// Each limiter has its own Script values: they cache the script's SHA
		// and are not to be shared as global state.
		allow: redis.NewScript(allowScript),
		usage: redis.NewScript(usageScript),
	}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

func (r *Redis) keys(workspaceID string) []string {
	tag := "{" + r.prefix + workspaceID + "}"
	return []string{tag + ":m", tag + ":d"}
}

// clockArg is the script's time argument: "" to use Redis' TIME, else the
// Unix seconds of now.
func (r *Redis) clockArg() (time.Time, any) {
	if r.now == nil {
		return time.Time{}, ""
	}
	now := r.now()
	return now, now.Unix()
}

// scriptTime is the time the script ran at: the clock's if there is one
// (precise to the nanosecond, which the script's seconds are not), else Redis'.
func (r *Redis) scriptTime(now time.Time, sec, usec int64) time.Time {
	if r.now != nil {
		return now
	}
	return time.Unix(sec, usec*int64(time.Microsecond)).UTC()
}

// Allow counts one request of the workspace if both windows have room.
func (r *Redis) Allow(ctx context.Context, workspaceID string, plan Plan) (Decision, error) {
	now, clock := r.clockArg()
	res, err := r.allow.Run(ctx, r.client, r.keys(workspaceID), clock, plan.PerMinute, plan.PerDay).Int64Slice()
	if err != nil {
		return Decision{}, fmt.Errorf("ratelimit: redis allow: %w", err)
	}
	if len(res) != 5 {
		return Decision{}, fmt.Errorf("ratelimit: redis allow: script returned %d values, want 5", len(res))
	}
	d := decide(plan, int(res[2]), int(res[3]), r.scriptTime(now, res[0], res[1]))
	if d.Allowed != (res[4] == 1) {
		// The script and decide apply one rule; this guards against the two
		// drifting apart when either is edited.
		return Decision{}, errors.New("ratelimit: redis allow: script and decide disagree on admitting")
	}
	return d, nil
}

// Usage reports the workspace's counts without counting anything.
func (r *Redis) Usage(ctx context.Context, workspaceID string, plan Plan) (Usage, error) {
	now, clock := r.clockArg()
	res, err := r.usage.Run(ctx, r.client, r.keys(workspaceID), clock).Int64Slice()
	if err != nil {
		return Usage{}, fmt.Errorf("ratelimit: redis usage: %w", err)
	}
	if len(res) != 4 {
		return Usage{}, fmt.Errorf("ratelimit: redis usage: script returned %d values, want 4", len(res))
	}
	now = r.scriptTime(now, res[0], res[1])
	return Usage{
		Minute: WindowUsage{Limit: plan.PerMinute, Used: int(res[2]), Reset: MinuteStart(now).Add(time.Minute)},
		Day:    WindowUsage{Limit: plan.PerDay, Used: int(res[3]), Reset: DayStart(now).AddDate(0, 0, 1)},
	}, nil
}

// Timeouts of the clients NewRedisClient builds. A rate-limit check sits in
// front of every request, so an unreachable Redis must fail fast (and the
// Failover answer from memory) rather than hold requests for go-redis'
// defaults of 5 s dial/read/write and five dial attempts 100 ms apart: a dial
// that is refused fails at once, one that is black-holed after the dial
// timeout. A Redis that is reachable but slow, because this replica is
// overloaded, is still the only authority that keeps the replicas within the
// quota, so I/O and pool waits get a longer bound that matches the Failover's.
const (
	redisDialTimeout = 250 * time.Millisecond
	redisIOTimeout   = DefaultFailoverTimeout
	redisPoolTimeout = DefaultFailoverTimeout
)

// NewRedisClient connects to the Redis at url (redis://[user:password@]host:port/db,
// rediss:// for TLS; see redis.ParseURL) with short timeouts fit for a rate
// limiter. Timeouts and retries given in the URL's query take precedence.
func NewRedisClient(url string) (redis.UniversalClient, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("ratelimit: redis url: %w", err)
	}
	if opts.DialTimeout == 0 {
		opts.DialTimeout = redisDialTimeout
	}
	if opts.ReadTimeout == 0 {
		opts.ReadTimeout = redisIOTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = redisIOTimeout
	}
	if opts.PoolTimeout == 0 {
		opts.PoolTimeout = redisPoolTimeout
	}
	// One attempt per dial: go-redis would otherwise try five times with
	// 100 ms pauses before a command fails.
	opts.DialerRetries = 1
	// One quick retry of a failed command (a connection that went stale,
	// say), not go-redis' three with up to 1 s pauses. A retried Allow whose
	// first attempt did run counts once more: stricter, never looser.
	if opts.MaxRetries == 0 {
		opts.MaxRetries = 1
	}
	if opts.MinRetryBackoff == 0 {
		opts.MinRetryBackoff = 5 * time.Millisecond
	}
	if opts.MaxRetryBackoff == 0 {
		opts.MaxRetryBackoff = 20 * time.Millisecond
	}
	// Let a caller's deadline (the Failover's timeout) cut a command short
	// too, not only the socket timeouts.
	opts.ContextTimeoutEnabled = true
	return redis.NewClient(opts), nil
}
