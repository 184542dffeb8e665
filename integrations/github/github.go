// Package github ingests pull requests from GitHub's REST API and receives
// GitHub's pull_request webhooks. It converts both to pmassist items.
//
// Fetching is incremental per repository: the watermark holds the newest
// updated_at seen and the ETag of the first page of the last list, so that
// an unchanged repository costs one conditional request that GitHub does
// not count against the rate limit (304 Not Modified).
package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/internal/httpx"
)

// DefaultAPIURL is GitHub.com's REST API. GitHub Enterprise Server serves
// it at https://{host}/api/v3.
const DefaultAPIURL = "https://api.github.com"

// apiVersion is the REST API version the client is written against.
const apiVersion = "2022-11-28"

// maxRateWait bounds one rate-limit wait: GitHub's primary limit resets
// within the hour, and a throttled job waits rather than fails.
const maxRateWait = time.Hour + time.Minute

// Config configures a Client.
type Config struct {
	// APIURL is the REST API (PMASSIST_GITHUB_API_URL); empty means
	// DefaultAPIURL.
	APIURL     string
	HTTPClient *http.Client
	// Tokens gives the connection's access token; refreshing is its
	// business.
	Tokens pmassist.AccessTokens
	Now    func() time.Time
	// Sleep waits between attempts; tests replace it.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
	// OnWait is told about every wait ("rate_limit" or "retry").
	OnWait func(d time.Duration, reason string)
	// OnResponse is told the HTTP status of every answer (0: none came).
	OnResponse func(status int)
}

// Client is a GitHub source and webhook receiver.
type Client struct {
	api     *url.URL
	tokens  pmassist.AccessTokens
	now     func() time.Time
	log     *slog.Logger
	retrier *httpx.Retrier
}

var (
	_ pmassist.Source          = (*Client)(nil)
	_ pmassist.WebhookReceiver = (*Client)(nil)
)

// New returns a Client. An APIURL that does not parse as an absolute URL
// makes every Fetch fail with that reason.
func New(c Config) *Client {
	cl := &Client{tokens: c.Tokens, now: c.Now, log: c.Logger}
	if cl.now == nil {
		cl.now = time.Now
	}
	if cl.log == nil {
		cl.log = slog.New(slog.DiscardHandler)
	}
	raw := strings.TrimRight(c.APIURL, "/")
	if raw == "" {
		raw = DefaultAPIURL
	}
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		cl.api = u
	}
	hc := c.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: time.Minute}
	}
	cl.retrier = &httpx.Retrier{
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

// rateLimited recognizes GitHub's rate-limit refusals (403 or 429): the
// secondary limit names a retry-after; the primary limit has
// x-ratelimit-remaining 0 and resets at x-ratelimit-reset (epoch seconds).
// A 403 that is neither is a permission problem and handed back.
func rateLimited(res *http.Response, body []byte, now time.Time) (time.Duration, bool) {
	if res.StatusCode != http.StatusForbidden && res.StatusCode != http.StatusTooManyRequests {
		return 0, false
	}
	if res.Header.Get("Retry-After") != "" {
		return httpx.RetryAfter(res.Header, now, time.Minute), true
	}
	if res.Header.Get("X-Ratelimit-Remaining") == "0" {
		reset, err := strconv.ParseInt(res.Header.Get("X-Ratelimit-Reset"), 10, 64)
		if err != nil {
			return time.Minute, true
		}
		// At least a second: the reset is whole seconds and clocks differ.
		return max(time.Unix(reset, 0).Sub(now), time.Second), true
	}
	// GitHub's advice for a secondary limit without retry-after: wait at
	// least a minute.
	if res.StatusCode == http.StatusTooManyRequests || strings.Contains(strings.ToLower(apiMessage(body)), "secondary rate limit") {
		return time.Minute, true
	}
	return 0, false
}

// apiMessage is the `message` of a GitHub error body, if any.
func apiMessage(body []byte) string {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Message
}

// endpoint builds an absolute API URL from path segments, each escaped.
func (c *Client) endpoint(query url.Values, segments ...string) string {
	var b strings.Builder
	b.WriteString(c.api.Scheme + "://" + c.api.Host + strings.TrimRight(c.api.EscapedPath(), "/"))
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	if len(query) > 0 {
		b.WriteByte('?')
		b.WriteString(query.Encode())
	}
	return b.String()
}

// sameOrigin tells whether a URL GitHub handed us (a Link) points at the
// configured API, so that the token is never sent elsewhere.
func (c *Client) sameOrigin(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && strings.EqualFold(u.Scheme, c.api.Scheme) && strings.EqualFold(u.Host, c.api.Host)
}

// get sends an authenticated GET through the retry loop; etag, when set,
// makes it conditional. A 401 is EUNAUTHORIZED; every other answer is
// returned for the caller to interpret.
func (c *Client) get(ctx context.Context, connectionID, rawURL, etag string) (*httpx.Response, error) {
	res, err := c.retrier.Do(ctx, func(ctx context.Context) (*http.Request, error) {
		tok, err := c.tokens.AccessToken(ctx, connectionID)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Accept", "application/vnd.github+json")
		req.Header.Set("X-GitHub-Api-Version", apiVersion)
		req.Header.Set("User-Agent", "pmassist")
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		return req, nil
	})
	if err != nil {
		return nil, err
	}
	if res.StatusCode == http.StatusUnauthorized {
		msg := apiMessage(res.Body)
		if msg == "" {
			msg = "HTTP 401"
		}
		return nil, pmassist.Errorf(pmassist.EUNAUTHORIZED, "GitHub refused the access token (%s); reconnect GitHub", msg)
	}
	return res, nil
}

// statusError describes an answer the caller did not expect.
func statusError(what string, res *httpx.Response) error {
	msg := apiMessage(res.Body)
	if msg == "" {
		msg = http.StatusText(res.StatusCode)
	}
	return fmt.Errorf("github: %s: HTTP %d: %s", what, res.StatusCode, msg)
}

// nextLink returns the rel="next" URL of a Link header, or "".
func nextLink(h http.Header) string {
	for _, v := range h.Values("Link") {
		for _, part := range strings.Split(v, ",") {
			target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
			if !ok || !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
				continue
			}
			for _, p := range strings.Split(params, ";") {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "rel") && slicesContainsFold(strings.Fields(strings.Trim(val, `"`)), "next") {
					return target[1 : len(target)-1]
				}
			}
		}
	}
	return ""
}

func slicesContainsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

var errNoAPIURL = errors.New("github: the API URL is not an absolute URL")
