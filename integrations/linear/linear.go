// Package linear ingests a Linear workspace's issues through Linear's
// GraphQL API and receives its Issue and Comment webhooks, converting both
// to pmassist items (spec/providers.md, Linear).
package linear

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/internal/httpx"
)

// Config configures a Client.
type Config struct {
	// APIURL is LINEAR_API_URL (PMASSIST_LINEAR_API_URL); GraphQL is at
	// APIURL/graphql.
	APIURL     string
	HTTPClient *http.Client // nil: a client with a 60 s timeout
	// Tokens gives a connection's access token; refreshing is its
	// business. It is asked before every request, so a token refreshed
	// during a long run (or a rate-limit wait) is picked up.
	Tokens pmassist.AccessTokens
	Now    func() time.Time                                 // nil: time.Now
	Sleep  func(ctx context.Context, d time.Duration) error // nil: a real, cancellable wait
	Logger *slog.Logger                                     // nil: discard
	OnWait func(d time.Duration, reason string)             // told about every rate-limit or retry wait
	// OnResponse is told the HTTP status of every answer (0: none came).
	OnResponse func(status int)
	// PageSize is the number of issues per request: 1…250, default 50.
	PageSize int
}

// Linear's paging bounds, and how long a rate-limited request may wait:
// Linear's limits are per hour, so a reset can be most of an hour away; a
// throttled job waits (cancellably) rather than failing.
const (
	defaultPageSize = 50
	maxPageSize     = 250
	maxRateWait     = time.Hour
)

// Client is the Linear client: a pmassist.Source (resource "issues") and a
// pmassist.WebhookReceiver.
type Client struct {
	api      string
	tokens   pmassist.AccessTokens
	now      func() time.Time
	log      *slog.Logger
	retry    *httpx.Retrier
	pageSize int
}

var (
	_ pmassist.Source          = (*Client)(nil)
	_ pmassist.WebhookReceiver = (*Client)(nil)
)

// New returns a Client.
func New(c Config) *Client {
	cl := &Client{
		api:      strings.TrimRight(c.APIURL, "/"),
		tokens:   c.Tokens,
		now:      c.Now,
		log:      c.Logger,
		pageSize: c.PageSize,
	}
	if cl.now == nil {
		cl.now = time.Now
	}
	if cl.log == nil {
		cl.log = slog.New(slog.DiscardHandler)
	}
	if cl.pageSize <= 0 {
		cl.pageSize = defaultPageSize
	}
	cl.pageSize = min(cl.pageSize, maxPageSize)
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	cl.retry = &httpx.Retrier{
		Client:      hc,
		MaxWait:     maxRateWait,
		RateLimited: rateLimited,
		Sleep:       c.Sleep,
		Now:         cl.now,
		OnWait:      c.OnWait,
		OnResponse:  c.OnResponse,
	}
	return cl
}

// gqlError is an entry of a GraphQL answer's "errors".
type gqlError struct {
	Message    string `json:"message"`
	Extensions struct {
		Type                   string `json:"type"`
		Code                   string `json:"code"`
		UserPresentableMessage string `json:"userPresentableMessage"`
	} `json:"extensions"`
}

func (e gqlError) rateLimited() bool {
	return strings.EqualFold(e.Extensions.Type, "ratelimited") || strings.EqualFold(e.Extensions.Code, "RATELIMITED")
}

func (e gqlError) authentication() bool {
	return strings.EqualFold(e.Extensions.Type, "authentication error") || strings.EqualFold(e.Extensions.Code, "AUTHENTICATION_ERROR")
}

// query runs a GraphQL query for a connection and decodes its data into
// out. Rate limits are waited out and 5xx retried (httpx); an
// authentication failure is EUNAUTHORIZED; other GraphQL errors are plain
// errors carrying Linear's message.
func (c *Client) query(ctx context.Context, connectionID, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	res, err := c.retry.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		tok, err := c.tokens.AccessToken(ctx, connectionID)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.api+"/graphql", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", "pmassist/"+pmassist.Version)
		return req, nil
	})
	if err != nil {
		return fmt.Errorf("linear: %w", err)
	}
	return decodeAnswer(res.StatusCode, res.Body, out)
}

func decodeAnswer(status int, body []byte, out any) error {
	var ans struct {
		Data   json.RawMessage `json:"data"`
		Errors []gqlError      `json:"errors"`
	}
	jsonErr := json.Unmarshal(body, &ans)
	if status == http.StatusUnauthorized {
		return pmassist.Errorf(pmassist.EUNAUTHORIZED, "Linear refused the access token (HTTP 401); reconnect Linear")
	}
	if len(ans.Errors) > 0 {
		msgs := make([]string, 0, len(ans.Errors))
		for _, e := range ans.Errors {
			if e.authentication() {
				return pmassist.Errorf(pmassist.EUNAUTHORIZED, "Linear refused the access token (%s); reconnect Linear", clip(e.Message))
			}
			msgs = append(msgs, clip(e.Message))
		}
		return fmt.Errorf("linear: %s (HTTP %d)", strings.Join(msgs, "; "), status)
	}
	if status != http.StatusOK {
		return fmt.Errorf("linear: answered HTTP %d", status)
	}
	if jsonErr != nil || len(ans.Data) == 0 || string(ans.Data) == "null" {
		return fmt.Errorf("linear: answer without data")
	}
	if err := json.Unmarshal(ans.Data, out); err != nil {
		return fmt.Errorf("linear: unexpected answer: %w", err)
	}
	return nil
}

// clip bounds a provider message that ends up in job errors and logs.
func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

// rateLimited recognizes Linear's throttling — HTTP 429, or an error with
// extensions type "ratelimited" / code RATELIMITED (Linear answers HTTP 400)
// — and tells how long to wait.
func rateLimited(res *http.Response, body []byte, now time.Time) (time.Duration, bool) {
	switch {
	case res.StatusCode == http.StatusTooManyRequests:
	case res.StatusCode >= 400 && res.StatusCode < 500:
		var ans struct {
			Errors []gqlError `json:"errors"`
		}
		if json.Unmarshal(body, &ans) != nil {
			return 0, false
		}
		limited := false
		for _, e := range ans.Errors {
			limited = limited || e.rateLimited()
		}
		if !limited {
			return 0, false
		}
	default:
		return 0, false
	}
	return rateLimitWait(res.Header, now), true
}

// rateLimitWait is Retry-After when given; otherwise the latest reset
// (X-RateLimit-{Requests,Complexity}-Reset, epoch ms) of the buckets that
// are empty, or of any bucket when none says so; otherwise 30 s. At least
// a second, so that a reset that already passed does not spin.
func rateLimitWait(h http.Header, now time.Time) time.Duration {
	const fallback, floor = 30 * time.Second, time.Second
	if h.Get("Retry-After") != "" {
		return max(httpx.RetryAfter(h, now, fallback), floor)
	}
	var empty, latest time.Duration
	found := false
	for _, bucket := range []string{"Requests", "Complexity"} {
		ms, err := strconv.ParseInt(h.Get("X-RateLimit-"+bucket+"-Reset"), 10, 64)
		if err != nil {
			continue
		}
		found = true
		wait := time.UnixMilli(ms).Sub(now)
		latest = max(latest, wait)
		if h.Get("X-RateLimit-"+bucket+"-Remaining") == "0" {
			empty = max(empty, wait)
		}
	}
	switch {
	case empty > 0:
		return max(empty, floor)
	case found:
		return max(latest, floor)
	}
	return fallback
}

// Team is a Linear team (to choose TenantConfig.LinearTeamIDs).
type Team struct {
	ID   string `json:"id"`
	Key  string `json:"key"`
	Name string `json:"name"`
}

const teamsQuery = `query Teams($after: String) {
  teams(first: 250, after: $after) {
    nodes { id key name }
    pageInfo { hasNextPage endCursor }
  }
}`

// Teams lists the teams a connection can read.
func (c *Client) Teams(ctx context.Context, connectionID string) ([]Team, error) {
	var teams []Team
	var after any
	for {
		var out struct {
			Teams struct {
				Nodes    []Team   `json:"nodes"`
				PageInfo pageInfo `json:"pageInfo"`
			} `json:"teams"`
		}
		if err := c.query(ctx, connectionID, teamsQuery, map[string]any{"after": after}, &out); err != nil {
			return nil, err
		}
		teams = append(teams, out.Teams.Nodes...)
		next, err := out.Teams.PageInfo.next(after)
		if err != nil || next == "" {
			return teams, err
		}
		after = next
	}
}

type pageInfo struct {
	HasNextPage bool    `json:"hasNextPage"`
	EndCursor   *string `json:"endCursor"`
}

// next returns the cursor of the next page, "" after the last; a cursor
// that does not advance is an error rather than an endless loop.
func (p pageInfo) next(prev any) (string, error) {
	if !p.HasNextPage {
		return "", nil
	}
	if p.EndCursor == nil || *p.EndCursor == "" || prev == *p.EndCursor {
		return "", fmt.Errorf("linear: pagination does not advance")
	}
	return *p.EndCursor, nil
}
