package server

import (
	"testing"
	"time"
)

func TestTokenBucket(t *testing.T) {
	l := newRateLimiter()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 60; i++ {
		d := l.take("k", 60, now)
		if !d.allowed || d.remaining != 59-i || d.limit != 60 {
			t.Fatalf("request %d: %+v", i, d)
		}
	}
	d := l.take("k", 60, now)
	if d.allowed || d.retryAfter != 1 || d.reset != 60 {
		t.Fatalf("empty bucket: %+v", d)
	}
	// Refilled evenly: one token per second at 60/min.
	if d := l.take("k", 60, now.Add(999*time.Millisecond)); d.allowed {
		t.Fatalf("refilled too early: %+v", d)
	}
	if d := l.take("k", 60, now.Add(1001*time.Millisecond)); !d.allowed {
		t.Fatalf("not refilled after a second: %+v", d)
	}
	// Other keys are independent.
	if d := l.take("other", 60, now); !d.allowed || d.remaining != 59 {
		t.Fatalf("other key: %+v", d)
	}
	// Slow limits give Retry-After in whole seconds until the next token.
	for i := 0; i < 2; i++ {
		l.take("slow", 2, now)
	}
	if d := l.take("slow", 2, now); d.allowed || d.retryAfter != 30 {
		t.Fatalf("2/min: %+v", d)
	}
	// Full buckets are forgotten.
	l.take("gone", 60, now)
	l.take("x", 60, now.Add(2*time.Minute))
	if _, ok := l.buckets["gone"]; ok {
		t.Fatal("full bucket kept")
	}
}

func TestAnonymousRequestsLimitedPerAddress(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	anon := e.client()
	for i := 0; i < AnonymousRatePerMinute-2; i++ { // setup and login spent two
		r := anon.do("GET", "/api/v1/me", nil)
		if r.StatusCode != 401 {
			t.Fatalf("request %d: %d", i, r.StatusCode)
		}
	}
	r := anon.do("GET", "/api/v1/me", nil)
	if r.StatusCode != 429 || r.errCode(t) != "rate_limited" || r.Header.Get("Retry-After") == "" ||
		r.Header.Get("X-RateLimit-Limit") != "120" || r.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("over the limit: %d %v %s", r.StatusCode, r.Header, r.body)
	}
	// Health checks and signed-in callers are not counted against it.
	anon.expect(200, "GET", "/healthz", nil)
	op.expect(200, "GET", "/api/v1/me", nil)
	e.clock.Add(time.Second)
	if r := anon.do("GET", "/api/v1/me", nil); r.StatusCode != 401 {
		t.Fatalf("after refill: %d", r.StatusCode)
	}
}
