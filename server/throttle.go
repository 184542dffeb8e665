package server

import (
	"sync"
	"time"
)

// Login throttling (product.md §1): failed logins are counted per account
// and per client address over a sliding window. Once a key has too many
// failures in the window, further attempts are refused before the password
// is even checked, until the oldest failure leaves the window.
const (
	throttleWindow     = 15 * time.Minute
	maxAccountFailures = 5  // per email
	maxAddressFailures = 20 // per client address (one office may share it)
	maxThrottleKeys    = 100_000
)

type loginThrottle struct {
	mu       sync.Mutex
	failures map[string][]time.Time
}

func newLoginThrottle() *loginThrottle {
	return &loginThrottle{failures: map[string][]time.Time{}}
}

func accountKey(email string) string { return "a:" + email }
func addressKey(ip string) string    { return "i:" + ip }

// wait returns how long the caller must wait before trying again (0: go on).
func (t *loginThrottle) wait(email, ip string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	w := t.waitLocked(accountKey(email), maxAccountFailures, now)
	if w2 := t.waitLocked(addressKey(ip), maxAddressFailures, now); w2 > w {
		w = w2
	}
	return w
}

func (t *loginThrottle) waitLocked(key string, max int, now time.Time) time.Duration {
	recent := t.prune(key, now)
	if len(recent) < max {
		return 0
	}
	// The attempt is allowed again once enough failures have aged out.
	return recent[len(recent)-max].Add(throttleWindow).Sub(now)
}

func (t *loginThrottle) prune(key string, now time.Time) []time.Time {
	list := t.failures[key]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= throttleWindow {
		i++
	}
	list = list[i:]
	if len(list) == 0 {
		delete(t.failures, key)
		return nil
	}
	t.failures[key] = list
	return list
}

// fail records a failed attempt.
func (t *loginThrottle) fail(email, ip string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.failures) >= maxThrottleKeys {
		for k := range t.failures {
			t.prune(k, now)
		}
	}
	for _, k := range []string{accountKey(email), addressKey(ip)} {
		t.failures[k] = append(t.prune(k, now), now)
	}
}

// succeed forgets an account's failures after a correct password.
func (t *loginThrottle) succeed(email string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, accountKey(email))
}
