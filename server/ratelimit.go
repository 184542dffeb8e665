package server

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pmassist/pmassist"
)

// rateLimiter is a set of token buckets, one per key: capacity is the
// per-minute limit and tokens refill evenly (api.md "Conventions"). Buckets
// that have refilled completely carry no information and are dropped.
type rateLimiter struct {
	mu      sync.Mutex
	buckets map[string]*bucket
	sweepAt time.Time
}

type bucket struct {
	tokens   float64
	last     time.Time
	capacity float64 // per minute, as last asked for (a tier may change)
}

// rateDecision is the outcome of one request against a bucket.
type rateDecision struct {
	allowed    bool
	limit      int
	remaining  int
	retryAfter int // whole seconds until the next token, at least 1 (when refused)
	reset      int // whole seconds until the bucket is full again
}

func newRateLimiter() *rateLimiter { return &rateLimiter{buckets: map[string]*bucket{}} }

// take spends one token of key's bucket of perMinute capacity.
func (l *rateLimiter) take(key string, perMinute int, now time.Time) rateDecision {
	rate := float64(perMinute) / 60 // tokens per second
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.After(l.sweepAt) {
		l.sweep(now)
		l.sweepAt = now.Add(time.Minute)
	}
	b := l.buckets[key]
	if b == nil {
		b = &bucket{tokens: float64(perMinute), last: now}
		l.buckets[key] = b
	}
	b.capacity = float64(perMinute)
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(float64(perMinute), b.tokens+elapsed*rate)
		b.last = now
	}
	d := rateDecision{limit: perMinute}
	if b.tokens >= 1 {
		b.tokens--
		d.allowed = true
	} else {
		d.retryAfter = max(1, int(math.Ceil((1-b.tokens)/rate)))
	}
	d.remaining = int(b.tokens)
	d.reset = int(math.Ceil((float64(perMinute) - b.tokens) / rate))
	return d
}

// sweep forgets buckets that are full by now.
func (l *rateLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.last).Seconds()*b.capacity/60 >= b.capacity {
			delete(l.buckets, k)
		}
	}
}

func (d rateDecision) writeHeaders(h http.Header) {
	h.Set("X-RateLimit-Limit", strconv.Itoa(d.limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(d.remaining))
	h.Set("X-RateLimit-Reset", strconv.Itoa(d.reset))
	if !d.allowed {
		h.Set("Retry-After", strconv.Itoa(d.retryAfter))
	}
}

// limitTenant applies the tenant's API rate limit (its plan's requests per
// minute, shared by all its members and tokens) to an API request; it
// reports whether the request may go on. Pages are not counted: a person
// clicking around cannot reach these limits, scripts can.
func (s *Server) limitTenant(w http.ResponseWriter, r *http.Request, t *pmassist.Tenant) bool {
	if !isAPI(r) || rateExempt(r.URL.Path) {
		return true
	}
	perMinute := pmassist.PlanFor(t.Tier).RateLimitPerMinute
	if s.cfg.BenchmarkTenantRatePerMinute > 0 {
		perMinute = s.cfg.BenchmarkTenantRatePerMinute
	}
	d := s.tenantLimiter.take(t.ID, perMinute, s.now())
	d.writeHeaders(w.Header())
	if !d.allowed {
		s.writeError(w, r, pmassist.Errorf(pmassist.ERATELIMITED, "this tenant's %s plan allows %d API requests per minute; try again in %s",
			t.Tier, perMinute, humanSeconds(d.retryAfter)))
	}
	return d.allowed
}

// AnonymousRatePerMinute bounds requests per client address that carry no
// valid credentials (product.md §8: per-address limits on unauthenticated
// endpoints). Health checks, allowed metrics scrapes and static files are
// not counted.
const AnonymousRatePerMinute = 120

// rateExempt names the paths the per-address limit does not count.
// Webhooks are not counted either: a provider delivers a busy workspace's
// events from a few shared addresses, a refused delivery is lost data
// (Slack turns a failing endpoint's events off), and each delivery is
// verified by its HMAC signature before anything else is done with it.
func rateExempt(path string) bool {
	return path == "/healthz" || path == "/readyz" || strings.HasPrefix(path, "/static/") ||
		strings.HasPrefix(path, "/api/v1/webhooks/")
}

// limitAnonymous applies the per-address limit to a request without an
// identity; it reports whether the request may go on.
func (s *Server) limitAnonymous(w http.ResponseWriter, r *http.Request) bool {
	if rateExempt(r.URL.Path) || s.allowedScrape(r) {
		return true
	}
	d := s.anonLimiter.take(clientIP(r), AnonymousRatePerMinute, s.now())
	d.writeHeaders(w.Header())
	if !d.allowed {
		err := pmassist.Errorf(pmassist.ERATELIMITED, "too many requests from your address; try again in %s", humanSeconds(d.retryAfter))
		if isAPI(r) {
			s.writeError(w, r, err)
		} else {
			s.renderError(w, r, http.StatusTooManyRequests, "Too many requests", pmassist.ErrorMessage(err))
		}
	}
	return d.allowed
}
