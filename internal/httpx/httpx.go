// Package httpx is the HTTP retry loop the provider clients share: rate
// limits are waited out (never failed), transient failures (network errors,
// 5xx) are retried with exponential backoff and jitter, and everything else
// is handed back to the client to interpret.
package httpx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// MaxBody bounds a provider answer read into memory.
const MaxBody = 16 << 20

// Retrier sends requests with the retry policy. The zero value is not
// usable; set Client at least.
type Retrier struct {
	Client *http.Client
	// MaxAttempts bounds tries after transient failures (default 5).
	MaxAttempts int
	// BaseDelay and MaxDelay shape the exponential backoff (default 1 s, 1 min).
	BaseDelay, MaxDelay time.Duration
	// MaxWait bounds one rate-limit wait (default 15 min); a longer
	// Retry-After is an error, so a job is not stuck for hours.
	MaxWait time.Duration
	// RateLimited tells whether an answer is a rate-limit refusal and how
	// long to wait. Nil means: 429, with Retry-After (default 30 s).
	RateLimited func(res *http.Response, body []byte, now time.Time) (time.Duration, bool)
	// Sleep waits; tests replace it. It returns ctx.Err() when cancelled.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnWait is told about every wait (metrics, logs); reason is
	// "rate_limit" or "retry".
	OnWait func(d time.Duration, reason string)
	// OnResponse is told about every attempt's outcome (metrics): the
	// answer's HTTP status, or 0 when none came (a network error).
	OnResponse func(status int)
}

// Response is an answer with its body read.
type Response struct {
	*http.Response
	Body []byte
}

// ErrGaveUp wraps the last failure after MaxAttempts transient failures.
var ErrGaveUp = errors.New("gave up after repeated failures")

// Do sends the request newReq builds (called again for every attempt) and
// returns the first answer that is neither a rate limit nor a transient
// failure. The body is read and closed.
func (r *Retrier) Do(ctx context.Context, newReq func(ctx context.Context) (*http.Request, error)) (*Response, error) {
	attempts, max := 0, r.MaxAttempts
	if max <= 0 {
		max = 5
	}
	for {
		req, err := newReq(ctx)
		if err != nil {
			return nil, err
		}
		res, err := r.Client.Do(req)
		var body []byte
		if err == nil {
			body, err = io.ReadAll(io.LimitReader(res.Body, MaxBody))
			res.Body.Close()
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		r.observe(res, err)
		if err == nil {
			if wait, limited := r.rateLimited(res, body); limited {
				if mw := r.maxWait(); wait > mw {
					return nil, fmt.Errorf("rate limited for %s (more than %s); try again later", wait.Round(time.Second), mw)
				}
				if err := r.wait(ctx, wait, "rate_limit"); err != nil {
					return nil, err
				}
				continue
			}
			if res.StatusCode < 500 {
				return &Response{Response: res, Body: body}, nil
			}
			err = fmt.Errorf("%s answered HTTP %d", req.URL.Host, res.StatusCode)
		} else {
			err = describe(err)
		}
		attempts++
		if attempts >= max {
			return nil, fmt.Errorf("%w (%d attempts): %v", ErrGaveUp, attempts, err)
		}
		if err := r.wait(ctx, r.backoff(attempts), "retry"); err != nil {
			return nil, err
		}
	}
}

func (r *Retrier) observe(res *http.Response, err error) {
	if r.OnResponse == nil {
		return
	}
	status := 0
	if res != nil && err == nil {
		status = res.StatusCode
	}
	r.OnResponse(status)
}

func (r *Retrier) rateLimited(res *http.Response, body []byte) (time.Duration, bool) {
	if r.RateLimited != nil {
		return r.RateLimited(res, body, r.now())
	}
	if res.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	return RetryAfter(res.Header, r.now(), 30*time.Second), true
}

// RetryAfter reads a Retry-After header (seconds or an HTTP date), or def.
func RetryAfter(h http.Header, now time.Time, def time.Duration) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return def
	}
	if secs, err := strconv.Atoi(v); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0)
	}
	return def
}

func (r *Retrier) backoff(attempt int) time.Duration {
	base, maxD := r.BaseDelay, r.MaxDelay
	if base <= 0 {
		base = time.Second
	}
	if maxD <= 0 {
		maxD = time.Minute
	}
	d := base << (attempt - 1)
	if d > maxD || d <= 0 {
		d = maxD
	}
	// Full jitter on the upper half: d/2 .. d.
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

func (r *Retrier) maxWait() time.Duration {
	if r.MaxWait > 0 {
		return r.MaxWait
	}
	return 15 * time.Minute
}

func (r *Retrier) wait(ctx context.Context, d time.Duration, reason string) error {
	if r.OnWait != nil {
		r.OnWait(d, reason)
	}
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	return Sleep(ctx, d)
}

func (r *Retrier) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// Sleep waits d or until ctx ends.
func Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// describe strips the URL from a transport error: URLs may carry query
// parameters that do not belong in job errors or logs.
func describe(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s %s: %w", ue.Op, hostOf(ue.URL), ue.Err)
	}
	return err
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return "provider"
}
