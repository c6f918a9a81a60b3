package ratelimit_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/example/workspace/service/ratelimit"
	"github.com/example/workspace/service/ratelimit/ratelimittest"
)

// redisURLEnv names the Redis the Redis limiter tests use. Each test keeps to
// keys of its own random prefix and deletes them when done, so any Redis will
// do, shared or not.
const redisURLEnv = "WORKSPACE_TEST_REDIS_URL"

// testRedis returns a client of the test Redis, or skips the test without one.
func testRedis(t testing.TB) redis.UniversalClient {
	t.Helper()
	url := os.Getenv(redisURLEnv)
	if url == "" {
		t.Skip("set " + redisURLEnv + "=redis://127.0.0.1:6379/0 to run the Redis limiter tests")
	}
	c, err := ratelimit.NewRedisClient(url)
	if err != nil {
		t.Fatalf("%s: %v", redisURLEnv, err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("%s=%s: %v", redisURLEnv, url, err)
	}
	return c
}

// testPrefix returns a key prefix of the test's own and deletes its keys when
// the test ends.
func testPrefix(t testing.TB, c redis.UniversalClient) string {
	t.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "ratelimittest:" + hex.EncodeToString(b) + ":"
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		iter := c.Scan(ctx, 0, "{"+prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Logf("deleting the keys of %s: %v", prefix, err)
		}
	})
	return prefix
}

func TestRedis(t *testing.T) {
	c := testRedis(t)
	ratelimittest.Run(t, func(t *testing.T, now func() time.Time) ratelimit.Limiter {
		return ratelimit.NewRedis(c, ratelimit.WithKeyPrefix(testPrefix(t, c)), ratelimit.WithClock(now))
	})
}

// TestRedisReplicas: two replicas, each with its own connections, sharing one
// Redis admit exactly the limit between them however their calls interleave.
func TestRedisReplicas(t *testing.T) {
	c1, c2 := testRedis(t), testRedis(t)
	prefix := testPrefix(t, c1)
	// One clock for both, so that the calls cannot straddle a minute.
	clock := ratelimittest.NewClock(time.Date(2030, 3, 14, 10, 0, 30, 0, time.UTC))
	replicas := []ratelimit.Limiter{
		ratelimit.NewRedis(c1, ratelimit.WithKeyPrefix(prefix), ratelimit.WithClock(clock.Now)),
		ratelimit.NewRedis(c2, ratelimit.WithKeyPrefix(prefix), ratelimit.WithClock(clock.Now)),
	}

	const calls = 200
	decisions, errs := ratelimittest.Burst(calls, func(i int) (ratelimit.Decision, error) {
		return replicas[i%2].Allow(t.Context(), "ws_a", ratelimit.Free)
	})

	var remaining []int
	admittedBy := [2]int{}
	for i, d := range decisions {
		if errs[i] != nil {
			t.Fatalf("call %d: %v", i, errs[i])
		}
		if d.Allowed {
			remaining = append(remaining, d.Remaining)
			admittedBy[i%2]++
		}
	}
	if len(remaining) != 60 {
		t.Fatalf("two replicas admitted %d of %d calls (%d and %d), want 60", len(remaining), calls, admittedBy[0], admittedBy[1])
	}
	slices.Sort(remaining)
	for i, r := range remaining {
		if r != i {
			t.Fatalf("admitted calls' Remaining values are %v, want each of 0..59 once", remaining)
		}
	}
	t.Logf("admitted %d through replica 1, %d through replica 2", admittedBy[0], admittedBy[1])
}

// TestRedisTakesTimeFromRedis: without WithClock the windows follow Redis'
// TIME.
func TestRedisTakesTimeFromRedis(t *testing.T) {
	c := testRedis(t)
	prefix := testPrefix(t, c)
	l := ratelimit.NewRedis(c, ratelimit.WithKeyPrefix(prefix))
	ctx := t.Context()

	// Retry in the rare case that the calls straddle a minute of Redis' clock.
	for attempt := 0; ; attempt++ {
		ws := fmt.Sprintf("ws_%d", attempt)
		before, err := c.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		d, err := l.Allow(ctx, ws, ratelimit.Free)
		if err != nil {
			t.Fatal(err)
		}
		u, err := l.Usage(ctx, ws, ratelimit.Free)
		if err != nil {
			t.Fatal(err)
		}
		after, err := c.Time(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if !ratelimit.MinuteStart(before).Equal(ratelimit.MinuteStart(after)) && attempt < 3 {
			continue
		}
		reset := ratelimit.MinuteStart(before).Add(time.Minute)
		if !d.Allowed || d.Window != ratelimit.WindowMinute || d.Remaining != 59 || !d.Reset.Equal(reset) {
			t.Fatalf("decision %+v, want admitted with Reset %s (Redis' TIME was %s)", d, reset, before.UTC())
		}
		if !u.Minute.Reset.Equal(reset) || !u.Day.Reset.Equal(ratelimit.DayStart(before).AddDate(0, 0, 1)) || u.Minute.Used != 1 {
			t.Fatalf("usage %+v, want 1 used and resets after Redis' TIME %s", u, before.UTC())
		}
		// The count is stored against the window of Redis' clock.
		w, err := c.HGet(ctx, "{"+prefix+ws+"}:m", "w").Int64()
		if err != nil {
			t.Fatal(err)
		}
		if want := ratelimit.MinuteStart(before).Unix(); w != want {
			t.Fatalf("minute window stored as %d, want %d", w, want)
		}
		break
	}

	// A replica whose clock is an hour ahead (as WithClock lets a test fake)
	// counts in other windows, which shows the time is the script's argument:
	// without WithClock it is Redis'.
	skewed := ratelimit.NewRedis(c, ratelimit.WithKeyPrefix(prefix),
		ratelimit.WithClock(func() time.Time { return time.Now().Add(time.Hour) }))
	d, err := skewed.Allow(ctx, "ws_skew", ratelimit.Free)
	if err != nil {
		t.Fatal(err)
	}
	redisNow, err := c.Time(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	if d.Reset.Sub(redisNow) < 59*time.Minute {
		t.Fatalf("skewed clock's Reset %s should be an hour after Redis' %s", d.Reset, redisNow.UTC())
	}
}

// TestRedisKeys: a workspace's two keys share a hash tag (one Cluster slot),
// expire after their windows, and only Allow creates them.
func TestRedisKeys(t *testing.T) {
	c := testRedis(t)
	prefix := testPrefix(t, c)
	l := ratelimit.NewRedis(c, ratelimit.WithKeyPrefix(prefix))
	ctx := t.Context()
	if _, err := l.Usage(ctx, "ws_a", ratelimit.Free); err != nil {
		t.Fatal(err)
	}
	keys, err := c.Keys(ctx, "{"+prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 0 {
		t.Fatalf("Usage created keys %v", keys)
	}
	for range 3 {
		if _, err := l.Allow(ctx, "ws_a", ratelimit.Free); err != nil {
			t.Fatal(err)
		}
	}
	keys, err = c.Keys(ctx, "{"+prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	tag := "{" + prefix + "ws_a}"
	if want := []string{tag + ":d", tag + ":m"}; !slices.Equal(keys, want) {
		t.Fatalf("keys %v, want %v", keys, want)
	}
	for key, max := range map[string]time.Duration{tag + ":m": 2 * time.Minute, tag + ":d": 48 * time.Hour} {
		ttl, err := c.TTL(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= max-time.Minute || ttl > max {
			t.Errorf("%s expires in %v, want about %v", key, ttl, max)
		}
	}
}

// TestNewRedisClientTimeouts: the client fails fast when Redis is unreachable.
func TestNewRedisClientTimeouts(t *testing.T) {
	c, err := ratelimit.NewRedisClient("redis://" + freeAddr(t) + "/0") // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	if err := c.Ping(context.Background()).Err(); err == nil {
		t.Fatal("PING to a closed port succeeded")
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("PING to a closed port took %v", took)
	}
	if _, err := ratelimit.NewRedisClient("http://localhost"); err == nil {
		t.Fatal("NewRedisClient accepted an http URL")
	}
}

func BenchmarkRedisAllow(b *testing.B) {
	c := testRedis(b)
	r := ratelimit.NewRedis(c, ratelimit.WithKeyPrefix(testPrefix(b, c)))
	b.Run("redis", func(b *testing.B) { benchAllow(b, r) })
	b.Run("failover", func(b *testing.B) { benchAllow(b, ratelimit.NewFailover(r, ratelimit.NewMemory(time.Now))) })
}

// freeAddr is a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
