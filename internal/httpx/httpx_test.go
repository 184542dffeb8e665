package httpx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRetrier(t *testing.T) {
	var calls atomic.Int32
	script := []int{429, 503, 502, 200}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := int(calls.Add(1)) - 1
		if script[n] == 429 {
			w.Header().Set("Retry-After", "7")
		}
		w.WriteHeader(script[n])
		_, _ = w.Write([]byte("body"))
	}))
	defer ts.Close()
	var waits []string
	var statuses []int
	r := &Retrier{Client: ts.Client(), Sleep: func(ctx context.Context, d time.Duration) error { return nil },
		OnWait:     func(d time.Duration, reason string) { waits = append(waits, reason+":"+d.Round(time.Second).String()) },
		OnResponse: func(status int) { statuses = append(statuses, status) }}
	res, err := r.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", ts.URL+"/x?token=secret", nil)
	})
	if err != nil || res.StatusCode != 200 || string(res.Body) != "body" || calls.Load() != 4 {
		t.Fatalf("res %v err %v calls %d", res, err, calls.Load())
	}
	if len(waits) != 3 || waits[0] != "rate_limit:7s" || waits[1][:5] != "retry" {
		t.Fatalf("waits %v", waits)
	}
	if fmt.Sprint(statuses) != "[429 503 502 200]" {
		t.Fatalf("observed answers %v", statuses)
	}
}

func TestRetrierGivesUpAndHidesQuery(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer ts.Close()
	r := &Retrier{Client: ts.Client(), MaxAttempts: 3, Sleep: func(context.Context, time.Duration) error { return nil }}
	_, err := r.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", ts.URL+"/x?token=secret", nil)
	})
	if !errors.Is(err, ErrGaveUp) {
		t.Fatalf("err %v", err)
	}
	ts.Close()
	var statuses []int
	r.OnResponse = func(status int) { statuses = append(statuses, status) }
	_, err = r.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", ts.URL+"/x?token=secret", nil)
	})
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Fatalf("network error %v", err)
	}
	if fmt.Sprint(statuses) != "[0 0 0]" {
		t.Fatalf("network errors observed as %v", statuses)
	}
}

func TestRetrierLongRateLimitAndCancel(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	}))
	defer ts.Close()
	r := &Retrier{Client: ts.Client()}
	if _, err := r.Do(context.Background(), func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", ts.URL, nil)
	}); err == nil {
		t.Fatal("an hour-long rate limit did not fail")
	}
	r.MaxWait = 2 * time.Hour
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		return http.NewRequestWithContext(ctx, "GET", ts.URL, nil)
	}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h := http.Header{}
	if RetryAfter(h, now, 5*time.Second) != 5*time.Second {
		t.Fatal("default")
	}
	h.Set("Retry-After", "12")
	if RetryAfter(h, now, 0) != 12*time.Second {
		t.Fatal("seconds")
	}
	h.Set("Retry-After", now.Add(90*time.Second).Format(http.TimeFormat))
	if RetryAfter(h, now, 0) != 90*time.Second {
		t.Fatal("date")
	}
}
