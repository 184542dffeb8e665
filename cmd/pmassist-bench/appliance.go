package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/oauth"
	"github.com/pmassist/pmassist/password"
)

// The Slack app the appliance is configured with, and the stand-in knows.
const (
	slackClientID     = "bench-slack-client"
	slackClientSecret = "bench-slack-secret"
	operatorEmail     = "op@acme.example"
	operatorPassword  = "correct horse battery staple"
)

// newMain returns the real appliance on 127.0.0.1:0 with its data in dir
// and every provider pointing at the stand-in. Passwords are hashed with
// cheap parameters: sign-ins are not measured. Every tenant's API rate
// limit is ratePerMinute (see there).
func newMain(dir, slackURL string, logger *slog.Logger) *app.Main {
	m := app.NewMain()
	m.Logger = logger
	m.Config.Addr, m.Config.DataDir, m.PasswordParams = "127.0.0.1:0", dir, password.Cheap
	m.BenchmarkTenantRatePerMinute = ratePerMinute
	m.Config.Providers = app.ProviderConfig{
		Apps:     map[pmassist.Service]oauth.AppCredentials{pmassist.ServiceSlack: {ClientID: slackClientID, ClientSecret: slackClientSecret}},
		SlackURL: slackURL, LinearURL: slackURL, LinearAPIURL: slackURL, GitHubURL: slackURL, GitHubAPIURL: slackURL,
	}
	return m
}

// apiClient speaks the appliance's JSON API: with a session (cookie and
// CSRF token) or a bearer token, over keep-alive connections.
type apiClient struct {
	base  string
	http  *http.Client
	token string
	csrf  string
}

func newAPIClient(base string) *apiClient {
	jar, _ := cookiejar.New(nil)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 4
	return &apiClient{base: base, http: &http.Client{Jar: jar, Transport: tr, Timeout: time.Minute}}
}

// statusError is an answer other than the one expected.
type statusError struct {
	method, path string
	status, want int
	body         string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("%s %s: HTTP %d, want %d: %.300s", e.method, e.path, e.status, e.want, e.body)
}

// call sends body as JSON, expects the status want and decodes the answer
// into out (when not nil).
func (c *apiClient) call(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != want {
		return &statusError{method: method, path: path, status: res.StatusCode, want: want, body: string(raw)}
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return nil
}

// tenant is a tenant of the appliance and an API token of its owner.
type tenant struct {
	id    string
	token string
}

// setUp creates the first account and its tenant through /api/v1/setup,
// signs in, with connect connects Slack through the real OAuth flow
// against the stand-in (which approves at once), and creates an API token.
// It returns the tenant and the signed-in operator's client.
func setUp(ctx context.Context, base string, connect bool) (tenant, *apiClient, error) {
	c := newAPIClient(base)
	var setup struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	}
	if err := c.call(ctx, "POST", "/api/v1/setup", map[string]string{"email": operatorEmail, "password": operatorPassword,
		"name": "Operator", "tenant_name": "Acme"}, http.StatusCreated, &setup); err != nil {
		return tenant{}, nil, err
	}
	if err := c.call(ctx, "POST", "/api/v1/auth/login", map[string]string{"email": operatorEmail, "password": operatorPassword},
		http.StatusOK, nil); err != nil {
		return tenant{}, nil, err
	}
	var me struct {
		CSRF string `json:"csrf_token"`
	}
	if err := c.call(ctx, "GET", "/api/v1/me", nil, http.StatusOK, &me); err != nil {
		return tenant{}, nil, err
	}
	c.csrf = me.CSRF
	if connect {
		if err := connectSlack(ctx, c); err != nil {
			return tenant{}, nil, err
		}
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := c.call(ctx, "POST", "/api/v1/tokens", map[string]string{"name": "bench"}, http.StatusCreated, &tok); err != nil {
		return tenant{}, nil, err
	}
	return tenant{id: setup.Tenant.ID, token: tok.Token}, c, nil
}

// connectSlack runs the OAuth flow: the appliance's authorize URL, the
// stand-in's redirect with a code, the appliance's callback.
func connectSlack(ctx context.Context, c *apiClient) error {
	var auth struct {
		URL string `json:"url"`
	}
	if err := c.call(ctx, "POST", "/api/v1/oauth/slack/authorize", nil, http.StatusOK, &auth); err != nil {
		return err
	}
	noFollow := &http.Client{Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, "GET", auth.URL, nil)
	if err != nil {
		return err
	}
	res, err := noFollow.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil || back.Query().Get("code") == "" {
		return fmt.Errorf("slack authorize: HTTP %d, no code in the redirect %q", res.StatusCode, res.Header.Get("Location"))
	}
	return c.call(ctx, "POST", "/api/v1/oauth/slack/callback", map[string]string{"code": back.Query().Get("code"),
		"state": back.Query().Get("state")}, http.StatusCreated, nil)
}

// createTenant creates a tenant through the operator API.
func createTenant(ctx context.Context, op *apiClient, i int) (string, error) {
	var out struct {
		Tenant struct {
			ID string `json:"id"`
		} `json:"tenant"`
	}
	err := op.call(ctx, "POST", "/api/v1/admin/tenants", map[string]string{"name": fmt.Sprintf("Tenant %d", i),
		"owner_email": fmt.Sprintf("owner%d@tenant%d.example", i, i), "owner_name": fmt.Sprintf("Owner %d", i),
		"owner_password": operatorPassword}, http.StatusCreated, &out)
	if err == nil && out.Tenant.ID == "" {
		err = errors.New("admin/tenants: no tenant id in the answer")
	}
	return out.Tenant.ID, err
}

// job is what GET /api/v1/jobs/{id} tells.
type job struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	ItemsNew int    `json:"items_new"`
	Error    string `json:"error"`
}

// ingest starts a Slack ingestion through the API and polls its job until
// it ends.
func ingest(ctx context.Context, c *apiClient, poll time.Duration) (job, error) {
	var started struct {
		Jobs []job `json:"jobs"`
	}
	if err := c.call(ctx, "POST", "/api/v1/ingestion/slack", nil, http.StatusAccepted, &started); err != nil {
		return job{}, err
	}
	if len(started.Jobs) != 1 {
		return job{}, fmt.Errorf("ingestion/slack: %d jobs started, want 1", len(started.Jobs))
	}
	j := started.Jobs[0]
	for j.Status == pmassist.JobQueued || j.Status == pmassist.JobRunning {
		select {
		case <-ctx.Done():
			return j, ctx.Err()
		case <-time.After(poll):
		}
		if err := c.call(ctx, "GET", "/api/v1/jobs/"+j.ID, nil, http.StatusOK, &j); err != nil {
			return j, err
		}
	}
	if j.Status != pmassist.JobSucceeded {
		return j, fmt.Errorf("ingestion job %s: %s: %s", j.ID, j.Status, j.Error)
	}
	return j, nil
}

// waitReady polls /readyz every poll until it answers 200.
func waitReady(ctx context.Context, base string, poll time.Duration) error {
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/readyz", nil)
		if err != nil {
			return err
		}
		res, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("/readyz: still %d: %w", res.StatusCode, ctx.Err())
		case <-time.After(poll):
		}
	}
}
