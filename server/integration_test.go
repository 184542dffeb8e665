package server

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

// connect runs the browser flow for svc as c: GET authorize on the server,
// the provider's (auto-approving) authorize page, then the callback back on
// the server. It returns the callback's answer.
func (e *env) connect(c *client, svc string) resp {
	e.t.Helper()
	r := c.do("GET", "/api/v1/oauth/"+svc+"/authorize", nil)
	if r.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize %s: %d %s", svc, r.StatusCode, r.body)
	}
	return e.followProvider(c, r.Header.Get("Location"))
}

// followProvider visits the provider's authorize URL and brings its
// redirect back to the server, as the browser would.
func (e *env) followProvider(c *client, authorizeURL string) resp {
	e.t.Helper()
	res, err := c.http.Get(authorizeURL)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		e.t.Fatalf("provider authorize: %d", res.StatusCode)
	}
	back, err := url.Parse(res.Header.Get("Location"))
	if err != nil || back.Host != "pm.test" {
		e.t.Fatalf("provider redirected to %q", res.Header.Get("Location"))
	}
	return c.do("GET", back.RequestURI(), nil)
}

func (e *env) connections(c *client) []map[string]any {
	e.t.Helper()
	var out []map[string]any
	for _, x := range c.expect(200, "GET", "/api/v1/integrations", nil)["connections"].([]any) {
		out = append(out, x.(map[string]any))
	}
	return out
}

func (e *env) secrets() []string {
	var all []string
	all = append(all, e.slack.IssuedSecrets()...)
	all = append(all, e.linear.IssuedSecrets()...)
	return append(all, e.github.IssuedSecrets()...)
}

func TestConnectEachProvider(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	want := map[string]string{"slack": "T0ACME0001", "github": "5550001"}
	for _, svc := range []string{"slack", "linear", "github"} {
		r := e.connect(op, svc)
		if r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/integrations?connected="+svc {
			t.Fatalf("callback %s: %d %q %s", svc, r.StatusCode, r.Header.Get("Location"), r.body)
		}
	}
	conns := e.connections(op)
	if len(conns) != 3 {
		t.Fatalf("connections: %v", conns)
	}
	ids := map[string]string{}
	for _, c := range conns {
		svc := c["service"].(string)
		ids[svc] = c["id"].(string)
		if c["status"] != "connected" || c["workspace_name"] == "" || c["expires_at"] == nil || c["connected_at"] == nil {
			t.Errorf("%s: %v", svc, c)
		}
		if w, ok := want[svc]; ok && c["workspace_id"] != w {
			t.Errorf("%s workspace id %v, want %s", svc, c["workspace_id"], w)
		}
	}
	// Connecting the same workspace again re-authorizes the same connection.
	e.connect(op, "slack")
	again := op.expect(200, "GET", "/api/v1/integrations/slack/status", nil)
	if again["connected"] != true || len(again["connections"].([]any)) != 1 || again["connections"].([]any)[0].(map[string]any)["id"] != ids["slack"] {
		t.Fatalf("reconnect: %v", again)
	}
	// The API variant: POST authorize → url, POST callback → 201.
	u := op.expect(200, "POST", "/api/v1/oauth/github/authorize", nil)["url"].(string)
	res, err := op.http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, _ := url.Parse(res.Header.Get("Location"))
	out := op.expect(201, "POST", "/api/v1/oauth/github/callback", map[string]string{"code": back.Query().Get("code"), "state": back.Query().Get("state")})
	if out["connection"].(map[string]any)["id"] != ids["github"] {
		t.Fatalf("API callback: %v", out)
	}
	// Audit: connects and reconnects.
	actions := map[string]int{}
	for _, ev := range op.expect(200, "GET", "/api/v1/audit", nil)["events"].([]any) {
		actions[ev.(map[string]any)["action"].(string)]++
	}
	if actions[pmassist.AuditConnectionCreated] != 3 || actions[pmassist.AuditConnectionReconnected] != 2 {
		t.Fatalf("audit: %v", actions)
	}
	// Unknown services are not found; members may look but not connect.
	if r := op.do("POST", "/api/v1/oauth/jira/authorize", nil); r.StatusCode != 404 {
		t.Fatalf("unknown service: %d", r.StatusCode)
	}
	member := e.invite(op, "m@acme.test", "member")
	member.expect(200, "GET", "/api/v1/integrations", nil)
	if r := member.do("POST", "/api/v1/oauth/slack/authorize", nil); r.StatusCode != 403 {
		t.Fatalf("member connects: %d", r.StatusCode)
	}
	if r := member.do("DELETE", "/api/v1/integrations/"+ids["slack"], nil); r.StatusCode != 403 {
		t.Fatalf("member disconnects: %d", r.StatusCode)
	}
}

func TestCallbackRefusals(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	start := func(c *client, svc string) url.Values {
		r := c.do("GET", "/api/v1/oauth/"+svc+"/authorize", nil)
		res, err := c.http.Get(r.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		back, _ := url.Parse(res.Header.Get("Location"))
		return back.Query()
	}
	callback := func(c *client, svc string, q url.Values) resp {
		return c.do("GET", "/api/v1/oauth/"+svc+"/callback?"+q.Encode(), nil)
	}
	refused := func(name string, r resp, status int, inLocation string) {
		t.Helper()
		if r.StatusCode != status || (inLocation != "" && !strings.Contains(r.Header.Get("Location"), inLocation)) {
			t.Errorf("%s: %d %q", name, r.StatusCode, r.Header.Get("Location"))
		}
		if status == 400 && !strings.Contains(string(r.body), "start again") {
			t.Errorf("%s: unclear page: %s", name, r.body)
		}
	}
	refused("unknown state", callback(op, "slack", url.Values{"code": {"x"}, "state": {"forged"}}), 400, "")
	refused("no state", callback(op, "slack", url.Values{"code": {"x"}}), 400, "")

	q := start(op, "slack")
	if r := callback(op, "slack", q); r.StatusCode != http.StatusFound {
		t.Fatalf("first use: %d", r.StatusCode)
	}
	refused("reused state", callback(op, "slack", q), 400, "")
	op.expect(204, "DELETE", "/api/v1/integrations/"+e.connections(op)[0]["id"].(string), nil)

	q = start(op, "linear")
	e.clock.Add(11 * time.Minute)
	refused("expired state", callback(op, "linear", q), 400, "")
	op.login("op@acme.test", pw)

	q = start(op, "github")
	other := e.client()
	other.login("op@acme.test", pw) // same user, another browser session
	refused("state of another session", callback(other, "github", q), 400, "")

	q = start(op, "github")
	refused("state for another service", callback(op, "slack", q), 400, "")

	q = start(op, "slack")
	q.Del("code")
	q.Set("error", "access_denied")
	refused("provider error", callback(op, "slack", q), http.StatusFound, "access_denied")

	q = start(op, "slack")
	q.Set("code", "not-a-code")
	r := callback(op, "slack", q)
	refused("bad code", r, http.StatusFound, "invalid_code")
	page := op.do("GET", r.Header.Get("Location"), nil)
	if !strings.Contains(string(page.body), "invalid_code") {
		t.Errorf("integrations page does not show the error")
	}

	if conns := e.connections(op); len(conns) != 0 {
		t.Fatalf("refused callbacks stored connections: %v", conns)
	}
	// The API callback refuses likewise, as JSON.
	if r := op.do("POST", "/api/v1/oauth/slack/callback", map[string]string{"code": "x", "state": "forged"}); r.StatusCode != 400 || r.errCode(t) != "invalid" {
		t.Fatalf("API bad state: %d %s", r.StatusCode, r.body)
	}
}

func TestTokensNeverLeave(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	for _, svc := range []string{"slack", "linear", "github"} {
		e.connect(op, svc)
	}
	id := e.connections(op)[0]["id"].(string)
	op.expect(200, "POST", "/api/v1/integrations/"+id+"/refresh", nil)
	secrets := e.secrets()
	if len(secrets) < 5 {
		t.Fatalf("stand-ins issued only %d secrets", len(secrets))
	}
	var seen []string
	for _, path := range []string{"/api/v1/integrations", "/api/v1/integrations/slack/status", "/api/v1/me", "/api/v1/audit",
		"/api/v1/integrations/apps", "/api/v1/tenant", "/integrations", "/", "/members"} {
		seen = append(seen, string(op.do("GET", path, nil).body))
	}
	seen = append(seen, e.logs.String())
	raw, err := os.ReadFile(e.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	seen = append(seen, string(raw))
	for _, sec := range secrets {
		for i, s := range seen {
			if strings.Contains(s, sec) {
				t.Fatalf("secret %.8s… found in output %d", sec, i)
			}
		}
	}
	if !strings.Contains(e.logs.String(), "refreshed connection token") {
		t.Fatal("log capture is not working")
	}
}

func TestRefreshRaceMakesOneRefresh(t *testing.T) {
	e := newEnv(t)
	op, tenantID := e.setup()
	e.connect(op, "slack")
	id := e.connections(op)[0]["id"].(string)
	e.clock.Add(12*time.Hour + time.Minute) // the access token has expired
	ctx := pmassist.NewContextWithTenant(context.Background(), tenantID)
	var wg sync.WaitGroup
	tokens := make([]string, 20)
	errs := make([]error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens[i], errs[i] = e.oauth.AccessToken(ctx, id)
		}()
	}
	wg.Wait()
	for i := range 20 {
		if errs[i] != nil || tokens[i] == "" || tokens[i] != tokens[0] {
			t.Fatalf("caller %d: %q %v", i, tokens[i], errs[i])
		}
	}
	if n := e.slack.TokenRequests("refresh_token"); n != 1 {
		t.Fatalf("%d refreshes at the provider, want 1", n)
	}
	c := e.connections(op)[0]
	if c["status"] != "connected" || c["last_refresh_at"] == nil {
		t.Fatalf("after refresh: %v", c)
	}
	// The new token works at the provider (it is the one the stand-in issued last).
	issued := e.slack.IssuedSecrets()
	found := false
	for _, s := range issued {
		found = found || s == tokens[0]
	}
	if !found {
		t.Fatal("token is not one the provider issued")
	}
}

func TestRevokedGrantNeedsReauthThenReconnects(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	e.connect(op, "linear")
	id := e.connections(op)[0]["id"].(string)
	e.linear.RevokeAll()
	c := op.expect(200, "POST", "/api/v1/integrations/"+id+"/refresh", nil)["connection"].(map[string]any)
	if c["status"] != "needs_reauth" || !strings.Contains(c["last_refresh_error"].(string), "invalid_grant") || c["refresh_failures"].(float64) != 1 {
		t.Fatalf("after revoked refresh: %v", c)
	}
	// Every page shows the reconnect banner.
	if page := string(op.do("GET", "/members", nil).body); !strings.Contains(page, "needs reconnecting") || !strings.Contains(page, "/api/v1/oauth/linear/authorize") {
		t.Fatal("no reconnect banner")
	}
	// The background pass leaves it alone: only a person can fix it.
	before := e.linear.TokenRequests("refresh_token")
	e.clock.Add(25 * time.Hour)
	if _, err := e.oauth.RefreshDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.linear.TokenRequests("refresh_token") != before {
		t.Fatal("background pass retried a revoked grant")
	}
	op.login("op@acme.test", pw)
	e.connect(op, "linear")
	c = e.connections(op)[0]
	if c["id"] != id || c["status"] != "connected" || c["last_refresh_error"] != "" || c["refresh_failures"].(float64) != 0 {
		t.Fatalf("after reconnect: %v", c)
	}
}

func TestTransientFailureBacksOffAndRecovers(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	e.connect(op, "github")
	id := e.connections(op)[0]["id"].(string)
	e.github.FailNext(1, 503)
	c := op.expect(200, "POST", "/api/v1/integrations/"+id+"/refresh", nil)["connection"].(map[string]any)
	if c["status"] != "error" || !strings.Contains(c["last_refresh_error"].(string), "503") {
		t.Fatalf("after 503: %v", c)
	}
	// Within the backoff the background pass waits; after it, it recovers.
	if _, err := e.oauth.RefreshDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if e.connections(op)[0]["status"] != "error" {
		t.Fatal("retried inside the backoff")
	}
	e.clock.Add(2 * time.Minute)
	if n, err := e.oauth.RefreshDue(context.Background()); err != nil || n != 1 {
		t.Fatalf("pass: %d %v", n, err)
	}
	if c := e.connections(op)[0]; c["status"] != "connected" || c["last_refresh_error"] != "" {
		t.Fatalf("not recovered: %v", c)
	}
}

func TestBackgroundPassKeepsRefreshTokensAlive(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	e.connect(op, "slack")
	e.clock.Add(time.Hour)
	if n, _ := e.oauth.RefreshDue(context.Background()); n != 0 {
		t.Fatalf("refreshed a fresh token: %d", n)
	}
	e.clock.Add(11*time.Hour - 10*time.Minute) // expires within the margin
	if n, _ := e.oauth.RefreshDue(context.Background()); n != 1 || e.slack.TokenRequests("refresh_token") != 1 {
		t.Fatalf("expiring token not refreshed: %d", n)
	}
}

func TestDisconnect(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	e.connect(op, "slack")
	e.connect(op, "github")
	conns := e.connections(op)
	slackID, githubID := conns[0]["id"].(string), conns[1]["id"].(string)
	slackToken := e.slack.IssuedSecrets()[0]

	op.expect(204, "DELETE", "/api/v1/integrations/"+slackID, nil)
	if r := op.do("POST", "/api/v1/integrations/"+slackID+"/refresh", nil); r.StatusCode != 404 {
		t.Fatalf("deleted connection: %d", r.StatusCode)
	}
	// The token was revoked at Slack.
	req, _ := http.NewRequest("POST", e.oauth.RedirectURL("slack"), nil)
	_ = req
	if ok := slackTokenWorks(t, e, slackToken); ok {
		t.Fatal("token still works at Slack after disconnect")
	}
	// A failed revocation is recorded, and the local tokens go anyway.
	e.github.RevokeAll()
	op.expect(204, "DELETE", "/api/v1/integrations/"+githubID+"?purge=true", nil)
	if len(e.connections(op)) != 0 {
		t.Fatal("connection kept after failed revoke")
	}
	var sawFailure, sawSuccess bool
	for _, ev := range op.expect(200, "GET", "/api/v1/audit", nil)["events"].([]any) {
		m := ev.(map[string]any)
		if m["action"] != pmassist.AuditConnectionDeleted {
			continue
		}
		d := m["details"].(map[string]any)
		sawFailure = sawFailure || (d["revoked"] == "false" && d["revoke_error"] != "" && d["purge"] == "true")
		sawSuccess = sawSuccess || d["revoked"] == "true"
	}
	if !sawFailure || !sawSuccess {
		t.Fatalf("audit of disconnects: failure %v success %v", sawFailure, sawSuccess)
	}
	if r := op.do("DELETE", "/api/v1/integrations/"+githubID+"?purge=maybe", nil); r.StatusCode != 400 {
		t.Fatalf("bad purge: %d", r.StatusCode)
	}
}

// slackTokenWorks asks the Slack stand-in's auth.test about a token.
func slackTokenWorks(t *testing.T, e *env, token string) bool {
	t.Helper()
	u := strings.TrimSuffix(e.oauth.RedirectURL("slack"), "/api/v1/oauth/slack/callback")
	_ = u
	rec := newRecorder()
	req, _ := http.NewRequest("POST", "/api/auth.test", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	e.slack.ServeHTTP(rec, req)
	return strings.Contains(rec.body.String(), `"ok":true`)
}

func TestIntegrationLimitByTier(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DefaultTier = pmassist.TierFree })
	op, _ := e.setup()
	if r := e.connect(op, "slack"); r.StatusCode != http.StatusFound || !strings.Contains(r.Header.Get("Location"), "connected") {
		t.Fatalf("first connection on free: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	r := op.do("POST", "/api/v1/oauth/github/authorize", nil)
	if r.StatusCode != 402 || r.errCode(t) != "quota_exceeded" {
		t.Fatalf("second integration on free: %d %s", r.StatusCode, r.body)
	}
	if r := op.do("GET", "/api/v1/oauth/github/authorize", nil); r.StatusCode != 402 {
		t.Fatalf("browser authorize over the limit: %d", r.StatusCode)
	}
	// Repairing the existing connection is allowed.
	e.slack.RevokeAll()
	id := e.connections(op)[0]["id"].(string)
	op.expect(200, "POST", "/api/v1/integrations/"+id+"/refresh", nil)
	if r := e.connect(op, "slack"); !strings.Contains(r.Header.Get("Location"), "connected") {
		t.Fatalf("reconnect at the limit: %s", r.Header.Get("Location"))
	}
	usage := op.expect(200, "GET", "/api/v1/tenant", nil)["usage"].(map[string]any)
	if usage["integrations"].(float64) != 1 || usage["integrations_limit"].(float64) != 1 {
		t.Fatalf("usage: %v", usage)
	}
}

func TestOwnOAuthApps(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DefaultTier = pmassist.TierPro })
	op, tenantID := e.setup()
	app := map[string]string{"client_id": "own-slack-app", "client_secret": "own-very-secret", "signing_secret": "own-signing"}
	if r := op.do("PUT", "/api/v1/integrations/slack/app", app); r.StatusCode != 402 || r.errCode(t) != "payment_required" {
		t.Fatalf("own app on pro: %d %s", r.StatusCode, r.body)
	}
	tier := "enterprise"
	if _, err := e.db.UpdateTenant(context.Background(), tenantID, pmassist.TenantUpdate{Tier: (*pmassist.Tier)(&tier)}); err != nil {
		t.Fatal(err)
	}
	admin := e.invite(op, "admin@acme.test", "admin")
	if r := admin.do("PUT", "/api/v1/integrations/slack/app", app); r.StatusCode != 403 {
		t.Fatalf("admin stores app: %d", r.StatusCode)
	}
	if r := op.do("PUT", "/api/v1/integrations/slack/app", map[string]string{"client_id": ""}); r.StatusCode != 400 {
		t.Fatalf("empty app: %d", r.StatusCode)
	}
	op.expect(200, "PUT", "/api/v1/integrations/slack/app", app)
	apps := op.do("GET", "/api/v1/integrations/apps", nil)
	if strings.Contains(string(apps.body), "own-very-secret") || !strings.Contains(string(apps.body), `"configured":true`) {
		t.Fatalf("apps: %s", apps.body)
	}
	u := op.expect(200, "POST", "/api/v1/oauth/slack/authorize", nil)["url"].(string)
	if !strings.Contains(u, "client_id=own-slack-app") {
		t.Fatalf("flow does not use the own app: %s", u)
	}
	raw, _ := os.ReadFile(e.db.Path())
	if strings.Contains(string(raw), "own-very-secret") || strings.Contains(string(raw), "own-signing") {
		t.Fatal("own app secret stored in plaintext")
	}
	op.expect(204, "DELETE", "/api/v1/integrations/slack/app", nil)
	u = op.expect(200, "POST", "/api/v1/oauth/slack/authorize", nil)["url"].(string)
	if !strings.Contains(u, "client_id=slack-client") {
		t.Fatalf("flow after removing the own app: %s", u)
	}
}
