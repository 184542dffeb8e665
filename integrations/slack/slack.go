// Package slack ingests Slack messages through the Web API
// (conversations.list, .history, .replies, users.info, auth.test) and the
// Events API, and converts them to pmassist items. It implements
// pmassist.Source and pmassist.WebhookReceiver. Wire formats and traps are
// in spec/providers.md.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/internal/httpx"
)

// DefaultBaseURL is Slack's own address.
const DefaultBaseURL = "https://slack.com"

// pageLimit is the limit asked of every list call; Slack recommends 200.
const pageLimit = "200"

// Config configures a Client.
type Config struct {
	// BaseURL is PMASSIST_SLACK_URL; the Web API is under /api/.
	// Empty means https://slack.com.
	BaseURL    string
	HTTPClient *http.Client
	// Tokens gives the connection's current access token; refreshing is
	// its business.
	Tokens pmassist.AccessTokens
	// HistoryEvery spaces conversations.history and conversations.replies
	// calls of one connection (PMASSIST_SLACK_HISTORY_RATE, see
	// ParseHistoryRate); 0 means no pacing.
	HistoryEvery time.Duration
	Now          func() time.Time
	// Sleep waits (tests replace it); it returns ctx.Err() when cancelled.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
	// OnWait, optional, is told about every wait: reason "rate_limit" or
	// "retry" (from the retry loop) or "pace" (HistoryEvery).
	OnWait func(d time.Duration, reason string)
	// OnResponse, optional, is told the HTTP status of every Web API
	// answer (0: none came).
	OnResponse func(status int)
}

// Client is the Slack source and webhook receiver. It is safe for
// concurrent use by several connections' runs.
type Client struct {
	cfg    Config
	base   string
	retry  *httpx.Retrier
	logger *slog.Logger

	mu sync.Mutex
	// nextHistory is, per connection, the earliest moment of its next
	// conversations.history or .replies call.
	nextHistory map[string]time.Time
}

var (
	_ pmassist.Source          = (*Client)(nil)
	_ pmassist.WebhookReceiver = (*Client)(nil)
)

// New returns a Client.
func New(c Config) *Client {
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Timeout: time.Minute}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Sleep == nil {
		c.Sleep = httpx.Sleep
	}
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	logger := c.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Client{
		cfg:    c,
		base:   base,
		logger: logger,
		retry: &httpx.Retrier{
			Client:      c.HTTPClient,
			RateLimited: rateLimited,
			Sleep:       c.Sleep,
			Now:         c.Now,
			OnWait:      c.OnWait,
			OnResponse:  c.OnResponse,
		},
		nextHistory: map[string]time.Time{},
	}
}

// rateLimited recognizes Slack's refusals: HTTP 429 with Retry-After, and
// (defensively) an HTTP 200 answer {"ok":false,"error":"ratelimited"}.
func rateLimited(res *http.Response, body []byte, now time.Time) (time.Duration, bool) {
	if res.StatusCode == http.StatusTooManyRequests {
		return httpx.RetryAfter(res.Header, now, 30*time.Second), true
	}
	if res.StatusCode == http.StatusOK && bytes.Contains(body, []byte(`"ratelimited"`)) {
		var env envelope
		if json.Unmarshal(body, &env) == nil && !env.OK && env.Error == "ratelimited" {
			return httpx.RetryAfter(res.Header, now, 30*time.Second), true
		}
	}
	return 0, false
}

// envelope is what every Web API answer starts with.
type envelope struct {
	OK     bool   `json:"ok"`
	Error  string `json:"error"`
	Needed string `json:"needed"`
}

// authErrors are the codes that mean the token no longer works: the
// connection needs reconnecting.
var authErrors = map[string]bool{
	"invalid_auth": true, "not_authed": true, "token_revoked": true, "token_expired": true,
	"account_inactive": true,
}

// APIError is a Web API answer {"ok":false,"error":Code}. Token errors and
// missing scopes unwrap to an EUNAUTHORIZED *pmassist.Error, so that the
// connection is marked for reconnecting.
type APIError struct {
	Method string
	Code   string
	Needed string // the scope missing_scope names
}

func (e *APIError) Error() string {
	if e.Needed != "" {
		return fmt.Sprintf("slack %s: %s (needs %s)", e.Method, e.Code, e.Needed)
	}
	return fmt.Sprintf("slack %s: %s", e.Method, e.Code)
}

// Unwrap gives the application error of token and scope problems.
func (e *APIError) Unwrap() error {
	switch {
	case authErrors[e.Code]:
		return pmassist.Errorf(pmassist.EUNAUTHORIZED, "Slack refused the access token (%s); reconnect Slack", e.Code)
	case e.Code == "missing_scope":
		return pmassist.Errorf(pmassist.EUNAUTHORIZED, "the Slack app lacks the %s permission; reconnect Slack to grant it", e.Needed)
	}
	return nil
}

// isCode reports whether err is a Web API error with one of codes.
func isCode(err error, codes ...string) bool {
	var ae *APIError
	if !errors.As(err, &ae) {
		return false
	}
	for _, c := range codes {
		if ae.Code == c {
			return true
		}
	}
	return false
}

// call calls a Web API method of a connection with form parameters and
// decodes a successful answer into out. The token is asked for at every
// attempt, so that a retry after a long wait uses a refreshed one, and is
// always sent as Bearer (Slack's token_type "bot" is not a scheme).
func (c *Client) call(ctx context.Context, connID, method string, params url.Values, out any) error {
	if c.cfg.Tokens == nil {
		return errors.New("slack: no token source configured")
	}
	body := params.Encode()
	res, err := c.retry.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		tok, err := c.cfg.Tokens.AccessToken(ctx, connID)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/"+method, strings.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		return req, nil
	})
	if err != nil {
		return fmt.Errorf("slack %s: %w", method, err)
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("slack %s: HTTP %d", method, res.StatusCode)
	}
	var env envelope
	if err := json.Unmarshal(res.Body, &env); err != nil {
		return fmt.Errorf("slack %s: answer is not JSON: %w", method, err)
	}
	if !env.OK {
		code := env.Error
		if code == "" {
			code = "unknown_error"
		}
		return &APIError{Method: method, Code: code, Needed: env.Needed}
	}
	if err := json.Unmarshal(res.Body, out); err != nil {
		return fmt.Errorf("slack %s: unexpected answer: %w", method, err)
	}
	return nil
}

// pace waits until a connection may make its next conversations.history
// or .replies call. Slots are reserved before waiting, so concurrent
// callers of one connection queue up rather than burst.
func (c *Client) pace(ctx context.Context, connID string) error {
	every := c.cfg.HistoryEvery
	if every <= 0 {
		return nil
	}
	c.mu.Lock()
	now := c.cfg.Now()
	at := c.nextHistory[connID]
	if at.Before(now) {
		at = now
	}
	c.nextHistory[connID] = at.Add(every)
	c.mu.Unlock()
	wait := at.Sub(now)
	if wait <= 0 {
		return nil
	}
	if c.cfg.OnWait != nil {
		c.cfg.OnWait(wait, "pace")
	}
	return c.cfg.Sleep(ctx, wait)
}
