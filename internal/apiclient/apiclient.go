// Package apiclient is a small client of PM Assistant's JSON API for the
// harnesses that drive a real appliance over loopback HTTP (the soak run,
// the crash tests): sign-in with a session (cookie and CSRF token) or a
// bearer token, the operator's tenant creation, and the OAuth flow that
// connects Slack against a stand-in that approves at once. Every method
// returns an error rather than failing a test, so it can be used from any
// goroutine.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"time"
)

// Client speaks the API at Base with a session (its cookie jar and CSRF
// token) or a bearer Token.
type Client struct {
	Base  string
	HTTP  *http.Client
	Token string
	CSRF  string
}

// New returns a client of base with its own cookie jar and keep-alive
// connections (up to idle per host; 0 means 4).
func New(base string, idle int) *Client {
	if idle <= 0 {
		idle = 4
	}
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = idle
	return &Client{Base: base, HTTP: &http.Client{Jar: jar, Transport: tr, Timeout: time.Minute}}
}

// WithToken returns a client of the same base and transport that
// authenticates with token (no session).
func (c *Client) WithToken(token string) *Client {
	return &Client{Base: c.Base, HTTP: &http.Client{Transport: c.HTTP.Transport, Timeout: c.HTTP.Timeout}, Token: token}
}

// StatusError is an answer other than the one expected.
type StatusError struct {
	Method, Path string
	Status, Want int
	Body         string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d, want %d: %.300s", e.Method, e.Path, e.Status, e.Want, e.Body)
}

// Do sends body (as JSON, when not nil) and returns the status and the
// answer's body.
func (c *Client) Do(ctx context.Context, method, path string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.Base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	if c.CSRF != "" {
		req.Header.Set("X-CSRF-Token", c.CSRF)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res.StatusCode, raw, err
}

// Call sends body as JSON, expects the status want and decodes the answer
// into out (when not nil).
func (c *Client) Call(ctx context.Context, method, path string, body any, want int, out any) error {
	status, raw, err := c.Do(ctx, method, path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if status != want {
		return &StatusError{Method: method, Path: path, Status: status, Want: want, Body: string(raw)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// Setup creates the first account (an operator) and its tenant through
// /api/v1/setup and returns the tenant's id.
func (c *Client) Setup(ctx context.Context, email, password, name, tenantName string) (string, error) {
	var out struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	}
	err := c.Call(ctx, http.MethodPost, "/api/v1/setup", map[string]string{"email": email, "password": password,
		"name": name, "tenant_name": tenantName}, http.StatusCreated, &out)
	return out.Tenant.ID, err
}

// Login signs in and keeps the session's CSRF token for the writes that
// follow.
func (c *Client) Login(ctx context.Context, email, password string) error {
	if err := c.Call(ctx, http.MethodPost, "/api/v1/auth/login", map[string]string{"email": email, "password": password},
		http.StatusOK, nil); err != nil {
		return err
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := c.Call(ctx, http.MethodGet, "/api/v1/me", nil, http.StatusOK, &me); err != nil {
		return err
	}
	c.CSRF = me.CSRF
	return nil
}

// SwitchTenant makes tenantID the session's current tenant.
func (c *Client) SwitchTenant(ctx context.Context, tenantID string) error {
	return c.Call(ctx, http.MethodPost, "/api/v1/me/tenant", map[string]string{"tenant_id": tenantID}, http.StatusOK, nil)
}

// CreateToken creates an API token of the signed-in member in the current
// tenant and returns its secret.
func (c *Client) CreateToken(ctx context.Context, name string) (string, error) {
	var out struct {
		Token string `json:"token"`
	}
	err := c.Call(ctx, http.MethodPost, "/api/v1/tokens", map[string]string{"name": name}, http.StatusCreated, &out)
	if err == nil && out.Token == "" {
		err = errors.New("POST /api/v1/tokens: no token in the answer")
	}
	return out.Token, err
}

// CreateTenant creates a tenant through the operator API; an existing
// account with ownerEmail becomes its owner.
func (c *Client) CreateTenant(ctx context.Context, name, ownerEmail, ownerName, ownerPassword string) (string, error) {
	var out struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	}
	err := c.Call(ctx, http.MethodPost, "/api/v1/admin/tenants", map[string]string{"name": name,
		"owner_email": ownerEmail, "owner_name": ownerName, "owner_password": ownerPassword}, http.StatusCreated, &out)
	if err == nil && out.Tenant.ID == "" {
		err = errors.New("POST /api/v1/admin/tenants: no tenant id in the answer")
	}
	return out.Tenant.ID, err
}

// SetIngestionInterval sets the tenant's ingestion interval (minutes of
// the scheduler), keeping its other settings.
func (c *Client) SetIngestionInterval(ctx context.Context, minutes int) error {
	var cfg map[string]any
	if err := c.Call(ctx, http.MethodGet, "/api/v1/tenant/config", nil, http.StatusOK, &cfg); err != nil {
		return err
	}
	cfg["ingestion_interval_minutes"] = minutes
	return c.Call(ctx, http.MethodPut, "/api/v1/tenant/config", cfg, http.StatusOK, nil)
}

// ConnectSlack runs the OAuth flow: the appliance's authorize URL, the
// stand-in's redirect with a code (the stand-in must approve at once),
// the appliance's callback. rewrite, when not nil, changes the authorize
// URL before it is fetched (a router of several stand-ins).
func (c *Client) ConnectSlack(ctx context.Context, rewrite func(authURL string) string) error {
	var auth struct {
		URL string `json:"url"`
	}
	if err := c.Call(ctx, http.MethodPost, "/api/v1/oauth/slack/authorize", nil, http.StatusOK, &auth); err != nil {
		return err
	}
	target := auth.URL
	if rewrite != nil {
		target = rewrite(target)
	}
	noFollow := &http.Client{Timeout: time.Minute, Transport: c.HTTP.Transport,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	res, err := noFollow.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" {
		return fmt.Errorf("slack authorize: HTTP %d, no code in the redirect %q", res.StatusCode, res.Header.Get("Location"))
	}
	return c.Call(ctx, http.MethodPost, "/api/v1/oauth/slack/callback", map[string]string{"code": back.Query().Get("code"),
		"state": back.Query().Get("state")}, http.StatusCreated, nil)
}

// Job is what the jobs endpoints tell of an ingestion job.
type Job struct {
	ID           string `json:"id"`
	TenantID     string `json:"tenant_id"`
	ConnectionID string `json:"connection_id"`
	Trigger      string `json:"trigger"`
	Status       string `json:"status"`
	ItemsNew     int    `json:"items_new"`
	ItemsUpdated int    `json:"items_updated"`
	Error        string `json:"error"`
}

// StartIngestion starts a Slack ingestion of every Slack connection of the
// tenant and returns the jobs.
func (c *Client) StartIngestion(ctx context.Context) ([]Job, error) {
	var out struct {
		Jobs []Job `json:"jobs"`
	}
	err := c.Call(ctx, http.MethodPost, "/api/v1/ingestion/slack", nil, http.StatusAccepted, &out)
	return out.Jobs, err
}

// Jobs lists the tenant's jobs, newest first (at most 200).
func (c *Client) Jobs(ctx context.Context) ([]Job, error) {
	var out struct {
		Jobs []Job `json:"jobs"`
	}
	err := c.Call(ctx, http.MethodGet, "/api/v1/jobs?limit=200", nil, http.StatusOK, &out)
	return out.Jobs, err
}

// AdminJobs lists the newest jobs of every tenant (operators only).
func (c *Client) AdminJobs(ctx context.Context, limit int) ([]Job, error) {
	var out struct {
		Jobs []Job `json:"jobs"`
	}
	err := c.Call(ctx, http.MethodGet, fmt.Sprintf("/api/v1/admin/jobs?limit=%d", limit), nil, http.StatusOK, &out)
	return out.Jobs, err
}

// Item is what GET /api/v1/items tells of an item.
type Item struct {
	ID         string `json:"id"`
	ExternalID string `json:"external_id"`
}

// AllItems pages through GET /api/v1/items (filtered by query, e.g.
// "service=slack") and returns every item.
func (c *Client) AllItems(ctx context.Context, query string) ([]Item, error) {
	var all []Item
	cursor := ""
	for {
		path := "/api/v1/items?limit=200"
		if query != "" {
			path += "&" + query
		}
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page struct {
			Items      []Item `json:"items"`
			NextCursor string `json:"next_cursor"`
		}
		if err := c.Call(ctx, http.MethodGet, path, nil, http.StatusOK, &page); err != nil {
			return all, err
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" || len(page.Items) == 0 {
			return all, nil
		}
		cursor = page.NextCursor
	}
}
