package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/oauth"
	"github.com/pmassist/pmassist/internal/apiclient"
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

// tenant is a tenant of the appliance and an API token of its owner.
type tenant struct {
	id    string
	token string
}

// setUp creates the first account and its tenant through /api/v1/setup,
// signs in, with connect connects Slack through the real OAuth flow
// against the stand-in (which approves at once), and creates an API token.
// It returns the tenant and the signed-in operator's client.
func setUp(ctx context.Context, base string, connect bool) (tenant, *apiclient.Client, error) {
	c := apiclient.New(base, 4)
	id, err := c.Setup(ctx, operatorEmail, operatorPassword, "Operator", "Acme")
	if err != nil {
		return tenant{}, nil, err
	}
	if err := c.Login(ctx, operatorEmail, operatorPassword); err != nil {
		return tenant{}, nil, err
	}
	if connect {
		if err := c.ConnectSlack(ctx, nil); err != nil {
			return tenant{}, nil, err
		}
	}
	token, err := c.CreateToken(ctx, "bench")
	if err != nil {
		return tenant{}, nil, err
	}
	return tenant{id: id, token: token}, c, nil
}

// createTenant creates a tenant through the operator API.
func createTenant(ctx context.Context, op *apiclient.Client, i int) (string, error) {
	return op.CreateTenant(ctx, fmt.Sprintf("Tenant %d", i), fmt.Sprintf("owner%d@tenant%d.example", i, i),
		fmt.Sprintf("Owner %d", i), operatorPassword)
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
func ingest(ctx context.Context, c *apiclient.Client, poll time.Duration) (job, error) {
	var started struct {
		Jobs []job `json:"jobs"`
	}
	if err := c.Call(ctx, "POST", "/api/v1/ingestion/slack", nil, http.StatusAccepted, &started); err != nil {
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
		if err := c.Call(ctx, "GET", "/api/v1/jobs/"+j.ID, nil, http.StatusOK, &j); err != nil {
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
