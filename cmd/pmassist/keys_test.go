package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/integrations/oauth"
	"github.com/pmassist/pmassist/password"
	"github.com/pmassist/pmassist/store"
)

// mainWithSlack returns a Main whose Slack app points at the stand-in.
func mainWithSlack(dir, slackURL string) *app.Main {
	m := app.NewMain()
	m.Config.Addr, m.Config.DataDir, m.PasswordParams = "127.0.0.1:0", dir, password.Cheap
	m.Config.Providers = app.ProviderConfig{
		Apps:     map[pmassist.Service]oauth.AppCredentials{pmassist.ServiceSlack: {ClientID: "slack-client", ClientSecret: "slack-secret"}},
		SlackURL: slackURL, LinearURL: slackURL, LinearAPIURL: slackURL, GitHubURL: slackURL, GitHubAPIURL: slackURL,
	}
	return m
}

func TestKeyRotationKeepsConnectionsAndWrongKeyFails(t *testing.T) {
	dir := t.TempDir()
	slack := fake.NewSlack(fake.Options{ClientID: "slack-client", ClientSecret: "slack-secret", AccessTTL: 12 * time.Hour, AutoApprove: true})
	slackTS := httptest.NewServer(slack)
	defer slackTS.Close()

	m := mainWithSlack(dir, slackTS.URL)
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	base := "http://" + m.Server.Addr()
	c := newClient(t, base)
	setup := c.call("POST", "/api/v1/setup", map[string]string{"email": "op@acme.test", "password": pw, "name": "Op", "tenant_name": "Acme"}, 201)
	tenantID := setup["tenant"].(map[string]any)["id"].(string)
	c.call("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": pw}, 200)
	c.csrf = c.call("GET", "/api/v1/me", nil, 200)["csrf_token"].(string)
	authURL := c.call("POST", "/api/v1/oauth/slack/authorize", nil, 200)["url"].(string)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, _ := url.Parse(res.Header.Get("Location"))
	conn := c.call("POST", "/api/v1/oauth/slack/callback", map[string]string{"code": back.Query().Get("code"), "state": back.Query().Get("state")}, 201)
	connID := conn["connection"].(map[string]any)["id"].(string)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	rotate := func(args ...string) string {
		t.Helper()
		rc, out, stderr := run(t, nil, append([]string{"keys", "rotate", "--data", dir}, args...)...)
		if rc != 0 {
			t.Fatalf("keys rotate %v: %d %s", args, rc, stderr)
		}
		return out
	}
	if out := rotate(); !strings.Contains(out, "re-encrypted 1 secrets with master key 2") || !strings.Contains(out, "stay readable") {
		t.Fatalf("rotate: %s", out)
	}
	if ring, _ := store.ReadKeyFile(filepath.Join(dir, app.MasterKeyFile)); ring == nil || len(ring.IDs()) != 2 {
		t.Fatalf("after rotate the ring holds %v", ring)
	}
	if out := rotate("--retire-old"); !strings.Contains(out, "master key 3") || !strings.Contains(out, "retired master key(s) [2 1]") {
		t.Fatalf("rotate --retire-old: %s", out)
	}
	ring, err := store.ReadKeyFile(filepath.Join(dir, app.MasterKeyFile))
	if err != nil || len(ring.IDs()) != 1 || ring.ActiveID() != 3 {
		t.Fatalf("after retiring: %v %v", ring, err)
	}

	// The connection still works after both rotations.
	m2 := mainWithSlack(dir, slackTS.URL)
	if err := m2.Open(); err != nil {
		t.Fatal(err)
	}
	tok, err := m2.OAuth.AccessToken(pmassist.NewContextWithTenant(context.Background(), tenantID), connID)
	if err != nil || !strings.HasPrefix(tok, "xoxe.xoxb-") {
		t.Fatalf("token after rotation: %v", err)
	}
	if err := m2.Close(); err != nil {
		t.Fatal(err)
	}

	// The same ring from the environment works; a wrong key fails clearly.
	m3 := mainWithSlack(dir, slackTS.URL)
	m3.Config.MasterKey = ring.Encode()
	if err := m3.Open(); err != nil {
		t.Fatalf("key from the environment: %v", err)
	}
	_ = m3.Close()
	other, _ := store.GenerateKeyring()
	if err := os.WriteFile(filepath.Join(dir, app.MasterKeyFile), []byte(other.Encode()), 0o600); err != nil {
		t.Fatal(err)
	}
	m4 := mainWithSlack(dir, slackTS.URL)
	err = m4.Open()
	if err == nil || !strings.Contains(err.Error(), "needs master key 3") {
		t.Fatalf("wrong key: %v", err)
	}
	rc, _, stderr := run(t, map[string]string{"PMASSIST_MASTER_KEY": strings.Replace(ring.Encode(), "3:", "3:A", 1)}, "--data", dir)
	if rc != 2 || strings.Contains(stderr, ring.Encode()) {
		t.Fatalf("bad env key: %d %q", rc, stderr)
	}
	wrong := "3:" + strings.SplitN(other.Encode(), ":", 2)[1]
	rc, _, stderr = run(t, map[string]string{"PMASSIST_MASTER_KEY": wrong}, "--data", dir, "--addr", "127.0.0.1:0")
	if rc != 1 || !strings.Contains(stderr, "does not match this data file") || strings.Contains(stderr, wrong) {
		t.Fatalf("wrong env key: %d %q", rc, stderr)
	}
}
