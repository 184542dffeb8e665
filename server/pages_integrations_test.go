package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pmassist/pmassist"
)

// These tests drive the Integrations pages as a browser without
// JavaScript: links for the OAuth flow, forms for refresh, disconnect and
// the tenant's own OAuth apps, flash messages after each 303.

const (
	flashOK       = `class="flash flash-ok"`
	activeNavLink = `<a class="nav-link" href="/integrations" aria-current="page">`
)

var serviceTitles = map[string]string{"slack": "Slack", "linear": "Linear", "github": "GitHub"}

// connectLink is the enabled Connect button of a service card.
func connectLink(svc string) string {
	return `<a class="btn btn-primary" href="/api/v1/oauth/` + svc + `/authorize">Connect ` + serviceTitles[svc] + `</a>`
}

// connectionID returns the id of the tenant's only connection of svc.
func (e *env) connectionID(c *client, svc string) string {
	e.t.Helper()
	id := ""
	for _, conn := range e.connections(c) {
		if conn["service"] == svc {
			if id != "" {
				e.t.Fatalf("two %s connections", svc)
			}
			id = conn["id"].(string)
		}
	}
	if id == "" {
		e.t.Fatalf("no %s connection", svc)
	}
	return id
}

// auditOf returns the tenant's audit events with the given action, newest first.
func auditOf(t *testing.T, c *client, action string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, ev := range c.expect(200, "GET", "/api/v1/audit", nil)["events"].([]any) {
		if m := ev.(map[string]any); m["action"] == action {
			out = append(out, m)
		}
	}
	return out
}

func TestPageIntegrationsConnect(t *testing.T) {
	e := newEnv(t)
	api, _ := e.setup()
	op := e.browser("op@acme.test", pw)

	r := op.get("/integrations").want(t, 200).has(t, activeNavLink, "No connections yet", `<a class="btn btn-primary" href="#connect">Connect</a>`)
	// The link is marked in both copies of the sidebar (mobile and desktop), nowhere else.
	if n := strings.Count(string(r.body), `aria-current="page"`); n != 2 {
		t.Fatalf("%d links marked current, want 2", n)
	}
	for _, svc := range []string{"slack", "linear", "github"} {
		r.has(t, connectLink(svc), `value="http://pm.test/api/v1/oauth/`+svc+`/callback" readonly`)
	}

	cb := e.connect(op, "slack")
	if cb.StatusCode != http.StatusFound || cb.Header.Get("Location") != "/integrations?connected=slack" {
		t.Fatalf("callback: %d %q", cb.StatusCode, cb.Header.Get("Location"))
	}
	id := e.connectionID(api, "slack")
	op.get(cb.Header.Get("Location")).want(t, 200).has(t, flashOK, "<span>Slack is connected.</span>",
		`<h2 id="connections-title" class="section-title">Connections <span class="count">1</span></h2>`,
		`<div class="person-name">Acme</div>`, `<div class="muted small">Slack · <span class="mono">T0ACME0001</span></div>`,
		`<span class="badge badge-ok"><span class="dot dot-ok" aria-hidden="true"></span>Connected</span>`,
		`<a class="btn btn-sm" href="/api/v1/oauth/slack/authorize">Reconnect`,
		`action="/integrations/`+id+`/refresh"`, `action="/integrations/`+id+`/disconnect"`,
		connectLink("linear"), connectLink("github"), activeNavLink).
		lacks(t, "No connections yet")
	// The outcome comes from the query: a reload without it shows no flash,
	// an unknown service is ignored and an error is shown as one.
	op.get("/integrations").want(t, 200).lacks(t, "is connected.", flashOK)
	op.get("/integrations?connected=jira").want(t, 200).lacks(t, "is connected.")
	op.get("/integrations?error=access+was+declined").want(t, 200).
		has(t, flashError, "<span>Connecting failed: access was declined</span>")

	// A member sees the connection but none of the controls.
	mem := e.invite(api, "m@acme.test", "member")
	r = mem.get("/integrations").want(t, 200).has(t, activeNavLink, `<div class="person-name">Acme</div>`,
		`<span class="dot dot-ok" aria-hidden="true"></span>Connected</span>`,
		"Ask an owner or admin to connect Slack.", "Ask an owner or admin to connect Linear.", "Ask an owner or admin to connect GitHub.")
	r.lacks(t, "/api/v1/oauth/", `href="#connect"`, "/refresh", "/disconnect", "Refresh now", "Disconnect",
		"Reconnect", "Redirect URL to register", `id="own-apps"`, `/app"`)
	// ...and cannot start a flow by typing the URL either.
	mem.get("/api/v1/oauth/slack/authorize").want(t, 403).has(t, "this needs the admin role or higher")
}

func TestPageIntegrationsRefreshAndReconnectBanner(t *testing.T) {
	e := newEnv(t)
	api, _ := e.setup()
	op := e.browser("op@acme.test", pw)
	e.connect(op, "slack")
	e.connect(op, "linear")
	slackID, linearID := e.connectionID(api, "slack"), e.connectionID(api, "linear")
	tok := csrfField(t, op.get("/integrations").want(t, 200))

	// Without the form's token nothing happens.
	op.post("/integrations/"+slackID+"/refresh", nil).want(t, 403)
	op.post("/integrations/"+slackID+"/refresh", form("csrf_token", tok+"x")).want(t, 403)
	if n := e.slack.TokenRequests("refresh_token"); n != 0 {
		t.Fatalf("%d refreshes without a CSRF token", n)
	}

	op.post("/integrations/"+slackID+"/refresh", form("csrf_token", tok)).redirect(t, "/integrations")
	if n := e.slack.TokenRequests("refresh_token"); n != 1 {
		t.Fatalf("%d refreshes at Slack, want 1", n)
	}
	op.get("/integrations").want(t, 200).has(t, flashOK, "<span>Slack Acme is healthy.</span>").lacks(t, flashError, "needs reconnecting")

	// A revoked grant: the refresh says why, the row and every page say
	// what to do.
	e.linear.RevokeAll()
	op.post("/integrations/"+linearID+"/refresh", form("csrf_token", tok)).redirect(t, "/integrations")
	const why = "Linear: the grant is invalid, expired or was revoked; reconnect (invalid_grant)"
	op.get("/integrations").want(t, 200).has(t, flashError, "<span>"+why+"</span>",
		`<span class="badge badge-warn"><span class="dot dot-warn" aria-hidden="true"></span>Needs reconnecting</span>`,
		`<span class="health-error">`+why+`</span>`,
		`<a class="btn btn-sm btn-primary" href="/api/v1/oauth/linear/authorize">Reconnect`,
		`<a class="btn btn-sm" href="/api/v1/oauth/slack/authorize">Reconnect`).
		lacks(t, flashOK)
	if got := e.connections(api); len(got) != 2 {
		t.Fatalf("connections: %v", got)
	}

	const banner = `<span class="banner-text">The Linear connection to Acme needs reconnecting: ` + why
	const bannerLink = `<a class="banner-link" href="/api/v1/oauth/linear/authorize">Reconnect</a>`
	const askAdmin = " Ask an owner or admin to reconnect it."
	admin := e.invite(api, "admin@acme.test", "admin")
	mem := e.invite(api, "m@acme.test", "member")
	for _, path := range []string{"/", "/members", "/tokens", "/integrations"} {
		for _, c := range []*client{op, admin} {
			c.get(path).want(t, 200).has(t, `<div class="banner banner-warn" role="status">`, banner+`</span>`, bannerLink).
				lacks(t, askAdmin, "The Slack connection")
		}
		mem.get(path).want(t, 200).has(t, `<div class="banner banner-warn" role="status">`, banner+askAdmin+`</span>`).
			lacks(t, `class="banner-link"`, "/api/v1/oauth/linear/authorize", "The Slack connection")
	}

	// Reconnecting repairs the same connection and the banner goes.
	if cb := e.connect(op, "linear"); cb.Header.Get("Location") != "/integrations?connected=linear" {
		t.Fatalf("reconnect: %d %q", cb.StatusCode, cb.Header.Get("Location"))
	}
	if id := e.connectionID(api, "linear"); id != linearID {
		t.Fatalf("reconnect made a new connection %s, want %s", id, linearID)
	}
	for _, c := range []*client{op, admin, mem} {
		c.get("/").want(t, 200).lacks(t, "needs reconnecting", `class="banner-link"`)
	}
	op.get("/integrations").want(t, 200).lacks(t, "Needs reconnecting", "invalid_grant")

	// Refreshing an unknown or malformed id says so.
	op.post("/integrations/"+pmassist.NewID()+"/refresh", form("csrf_token", tok)).redirect(t, "/integrations")
	op.get("/integrations").want(t, 200).has(t, flashError, "<span>connection not found</span>")
	op.post("/integrations/not-an-id/refresh", form("csrf_token", tok)).redirect(t, "/integrations")
	op.get("/integrations").want(t, 200).has(t, flashError, "<span>connection not found</span>")
}

func TestPageIntegrationsDisconnect(t *testing.T) {
	e := newEnv(t)
	api, _ := e.setup()
	op := e.browser("op@acme.test", pw)
	e.connect(op, "slack")
	e.connect(op, "github")
	slackID, githubID := e.connectionID(api, "slack"), e.connectionID(api, "github")
	slackToken := e.slack.IssuedSecrets()[0]
	tok := csrfField(t, op.get("/integrations").want(t, 200))

	// No token, a wrong token, a member: refused, nothing deleted.
	op.post("/integrations/"+slackID+"/disconnect", form("purge", "on")).want(t, 403)
	op.post("/integrations/"+slackID+"/disconnect", form("csrf_token", tok+"x", "purge", "on")).want(t, 403)
	mem := e.invite(api, "m@acme.test", "member")
	mtok := csrfField(t, mem.get("/integrations").want(t, 200))
	mem.post("/integrations/"+slackID+"/disconnect", form("csrf_token", mtok, "purge", "on")).want(t, 403)
	if got := e.connections(api); len(got) != 2 {
		t.Fatalf("connections after refused disconnects: %v", got)
	}
	if n := len(auditOf(t, api, pmassist.AuditConnectionDeleted)); n != 0 {
		t.Fatalf("%d disconnects audited after refusals", n)
	}
	if !slackTokenWorks(t, e, slackToken) {
		t.Fatal("token revoked by a refused disconnect")
	}

	op.post("/integrations/"+slackID+"/disconnect", form("csrf_token", tok, "purge", "on")).redirect(t, "/integrations")
	op.get("/integrations").want(t, 200).has(t, flashOK, "<span>Disconnected. The token was deleted from this appliance.</span>",
		`<span class="count">1</span>`).lacks(t, slackID, "T0ACME0001")
	if got := e.connections(api); len(got) != 1 || got[0]["id"] != githubID {
		t.Fatalf("connections after disconnecting Slack: %v", got)
	}
	if slackTokenWorks(t, e, slackToken) {
		t.Fatal("token still works at Slack after disconnect")
	}
	// Without purge the event says nothing of it.
	op.post("/integrations/"+githubID+"/disconnect", form("csrf_token", tok)).redirect(t, "/integrations")
	op.get("/integrations").want(t, 200).has(t, flashOK, "No connections yet")
	if got := e.connections(api); len(got) != 0 {
		t.Fatalf("connections left: %v", got)
	}

	events := auditOf(t, api, pmassist.AuditConnectionDeleted)
	if len(events) != 2 {
		t.Fatalf("disconnect events: %v", events)
	}
	gh, sl := events[0]["details"].(map[string]any), events[1]["details"].(map[string]any)
	if sl["connection_id"] != slackID || sl["service"] != "slack" || sl["workspace_id"] != "T0ACME0001" ||
		sl["revoked"] != "true" || sl["purge"] != "true" || events[1]["target"] != "Slack Acme" {
		t.Fatalf("Slack disconnect event: %v", events[1])
	}
	if gh["connection_id"] != githubID || gh["service"] != "github" || gh["revoked"] != "true" || gh["purge"] != nil {
		t.Fatalf("GitHub disconnect event: %v", events[0])
	}

	// Gone is gone.
	op.post("/integrations/"+slackID+"/disconnect", form("csrf_token", tok, "purge", "on")).redirect(t, "/integrations")
	op.get("/integrations").want(t, 200).has(t, flashError, "<span>connection not found</span>")
}

func TestPageOwnOAuthApps(t *testing.T) {
	e := newEnv(t) // enterprise by default
	api, _ := e.setup()
	op := e.browser("op@acme.test", pw)
	tok := csrfField(t, op.get("/integrations").want(t, 200).has(t, `id="own-apps"`, `action="/integrations/slack/app"`).
		lacks(t, "Enterprise feature", `/app/delete"`))
	configured := func() map[string]bool {
		out := map[string]bool{}
		for _, a := range api.expect(200, "GET", "/api/v1/integrations/apps", nil)["apps"].([]any) {
			m := a.(map[string]any)
			out[m["service"].(string)] = m["configured"].(bool)
		}
		return out
	}

	// An empty client id: the form comes back with the error next to the
	// field, open, and no secret echoed.
	r := op.post("/integrations/slack/app", form("csrf_token", tok, "client_id", "", "client_secret", "typed-secret-4711",
		"signing_secret", "typed-signing-0815")).want(t, 400)
	r.has(t, `<details class="panel app-panel" id="app-slack" open>`,
		`<input id="app-0-client_id" name="client_id" type="text" value="" autocomplete="off" required aria-invalid="true" aria-describedby="app-0-client_id-error">`,
		`<p class="field-error" id="app-0-client_id-error">required</p>`,
		`<details class="panel app-panel" id="app-linear">`).
		lacks(t, "typed-secret-4711", "typed-signing-0815", `id="app-0-client_secret-error"`, `id="app-1-client_id-error"`, `id="app-2-client_id-error"`, flashOK)
	if csrfField(t, r) != tok {
		t.Fatal("re-rendered page lost its token")
	}
	// A client id with a missing secret: the id is kept, the other secret is not.
	op.post("/integrations/slack/app", form("csrf_token", tok, "client_id", "typed-client-id", "client_secret", " ",
		"signing_secret", "typed-signing-0815")).want(t, 400).
		has(t, `<input id="app-0-client_id" name="client_id" type="text" value="typed-client-id"`,
			`<p class="field-error" id="app-0-client_secret-error">required</p>`,
			`<input id="app-1-client_id" name="client_id" type="text" value=""`).
		lacks(t, "typed-signing-0815", `id="app-0-client_id-error"`)
	if got := configured(); got["slack"] || got["linear"] || got["github"] {
		t.Fatalf("apps after refused saves: %v", got)
	}

	// An admin may not touch apps; nor may a form without its token.
	admin := e.invite(api, "admin@acme.test", "admin")
	atok := csrfField(t, admin.get("/integrations").want(t, 200).lacks(t, `id="own-apps"`, `action="/integrations/slack/app"`))
	admin.post("/integrations/slack/app", form("csrf_token", atok, "client_id", "evil", "client_secret", "evil-secret")).want(t, 403)
	op.post("/integrations/slack/app", form("client_id", "own-slack-app", "client_secret", "own-very-secret")).want(t, 403)
	if configured()["slack"] {
		t.Fatal("app saved by a refused request")
	}
	op.post("/integrations/jira/app", form("csrf_token", tok, "client_id", "x", "client_secret", "y")).want(t, 404)

	op.post("/integrations/slack/app", form("csrf_token", tok, "client_id", "own-slack-app", "client_secret", "own-very-secret",
		"signing_secret", "own-signing")).redirect(t, "/integrations")
	if got := configured(); !got["slack"] || got["linear"] || got["github"] {
		t.Fatalf("apps after saving Slack's: %v", got)
	}
	r = op.get("/integrations").want(t, 200).has(t, flashOK, "<span>Your own Slack app is saved; new connections and refreshes use it.</span>",
		`<h3 class="service-title">Slack</h3>
        <span class="badge">Own app</span>`,
		`<span class="badge badge-ok">In use</span>`, `<span class="app-toggle">Change</span>`,
		`<form method="post" action="/integrations/slack/app/delete"`).
		lacks(t, "own-very-secret", "own-signing", "/integrations/linear/app/delete", "/integrations/github/app/delete")
	if n := strings.Count(string(r.body), `<span class="badge">Own app</span>`); n != 1 {
		t.Fatalf("%d services marked Own app, want 1", n)
	}
	if loc := op.do("GET", "/api/v1/oauth/slack/authorize", nil).Header.Get("Location"); !strings.Contains(loc, "client_id=own-slack-app&") {
		t.Fatalf("the flow does not use the own app: %s", loc)
	}

	admin.post("/integrations/slack/app/delete", form("csrf_token", atok)).want(t, 403)
	op.post("/integrations/slack/app/delete", form("client_id", "")).want(t, 403)
	if !configured()["slack"] {
		t.Fatal("app removed by a refused request")
	}
	op.post("/integrations/slack/app/delete", form("csrf_token", tok)).redirect(t, "/integrations")
	op.get("/integrations").want(t, 200).has(t, flashOK, "<span>Your own Slack app was removed.</span>").
		lacks(t, `<span class="badge">Own app</span>`, `/app/delete"`, "In use")
	if configured()["slack"] {
		t.Fatal("app still configured after removal")
	}
	if loc := op.do("GET", "/api/v1/oauth/slack/authorize", nil).Header.Get("Location"); !strings.Contains(loc, "client_id=slack-client&") {
		t.Fatalf("the flow after removal: %s", loc)
	}

	saved, removed := auditOf(t, api, pmassist.AuditOAuthAppSaved), auditOf(t, api, pmassist.AuditOAuthAppRemoved)
	if len(saved) != 1 || len(removed) != 1 || saved[0]["details"].(map[string]any)["client_id"] != "own-slack-app" {
		t.Fatalf("audit: saved %v removed %v", saved, removed)
	}
	if audit := string(api.do("GET", "/api/v1/audit", nil).body); strings.Contains(audit, "own-very-secret") || strings.Contains(audit, "own-signing") {
		t.Fatal("app secret in the audit log")
	}
}

func TestPageOwnOAuthAppsNeedEnterprise(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DefaultTier = pmassist.TierPro })
	api, _ := e.setup()
	op := e.browser("op@acme.test", pw)
	tok := csrfField(t, op.get("/integrations").want(t, 200).
		has(t, `id="own-apps"`, "<strong>Own OAuth apps are an Enterprise feature.</strong>").
		lacks(t, `action="/integrations/slack/app"`))
	for _, body := range [][]string{
		{"csrf_token", tok, "client_id", "own-slack-app", "client_secret", "own-very-secret"},
		{"csrf_token", tok, "client_id", ""}, // the tier is checked before the fields
	} {
		op.post("/integrations/slack/app", form(body...)).redirect(t, "/integrations")
		op.get("/integrations").want(t, 200).has(t, flashError,
			"<span>own OAuth apps are an enterprise feature; upgrade to use them</span>").lacks(t, "own-very-secret")
	}
	for _, a := range api.expect(200, "GET", "/api/v1/integrations/apps", nil)["apps"].([]any) {
		if a.(map[string]any)["configured"] != false {
			t.Fatalf("app stored on pro: %v", a)
		}
	}
}

func TestPageIntegrationsFreeTierLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DefaultTier = pmassist.TierFree })
	e.setup()
	op := e.browser("op@acme.test", pw)
	op.get("/").want(t, 200).has(t, "Connect Slack, Linear or GitHub", `<a class="btn btn-primary" href="/integrations">Set up integrations</a>`,
		`aria-label="Integrations: 0 of 1 used"`)
	op.get("/integrations").want(t, 200).has(t, connectLink("slack"), connectLink("linear"), connectLink("github")).
		lacks(t, "integration(s)", "is-disabled")

	e.connect(op, "slack")
	const limit = "The free plan allows 1 integration(s). Disconnect one or upgrade to add another."
	r := op.get("/integrations").want(t, 200)
	r.has(t, `<p class="service-note">`+limit+`</p>`,
		`<span class="btn btn-primary is-disabled" aria-disabled="true">Connect Linear</span>`,
		`<span class="btn btn-primary is-disabled" aria-disabled="true">Connect GitHub</span>`,
		`<span class="btn btn-primary is-disabled" aria-disabled="true">Connect Slack</span>`,
		// The existing connection can still be repaired.
		`<a class="btn btn-sm" href="/api/v1/oauth/slack/authorize">Reconnect`).
		lacks(t, connectLink("slack"), connectLink("linear"), connectLink("github"),
			"/api/v1/oauth/linear/authorize", "/api/v1/oauth/github/authorize")
	if n := strings.Count(string(r.body), limit); n != 3 {
		t.Fatalf("limit text shown %d times, want once per service", n)
	}

	op.get("/").want(t, 200).has(t, `<h2 id="connections-title" class="card-heading">Connections</h2>`,
		`<span class="health-name"><span class="strong">Slack</span> · Acme</span>`,
		`<span class="health-status health-ok">Connected</span>`,
		`aria-label="Integrations: 1 of 1 used"`, "limit reached", `<a class="small" href="/integrations">Manage integrations</a>`).
		lacks(t, "Set up integrations", "Linear ·", "GitHub ·")
}

func TestPageOAuthCallbackAndAuthorizeAsBrowser(t *testing.T) {
	e := newEnv(t)
	e.setup()
	op := e.browser("op@acme.test", pw)
	for _, q := range []string{"?code=x&state=forged", "?code=x", ""} {
		op.get("/api/v1/oauth/slack/callback"+q).want(t, 400).
			has(t, "<h1>Connection not completed</h1>", `<p class="error-code">Error 400</p>`,
				"this connection attempt is unknown, has expired or was already used; start again from the Integrations page").
			lacks(t, `"error"`, `"code"`)
	}
	op.get("/api/v1/oauth/jira/callback?code=x&state=y").want(t, 404).has(t, "unknown service; use slack, linear or github")

	anon := e.client()
	anon.get("/api/v1/oauth/slack/authorize").redirect(t, "/login?next=%2Fapi%2Fv1%2Foauth%2Fslack%2Fauthorize")
	anon.get("/integrations").redirect(t, "/login?next=%2Fintegrations")
	// The form posts of the page have no anonymous variant.
	anon.post("/integrations/"+pmassist.NewID()+"/refresh", nil).want(t, 401)
}

func TestPageIntegrationsNeverShowTokens(t *testing.T) {
	e := newEnv(t)
	api, _ := e.setup()
	op := e.browser("op@acme.test", pw)
	for _, svc := range []string{"slack", "linear", "github"} {
		e.connect(op, svc)
	}
	tok := csrfField(t, op.get("/integrations").want(t, 200))
	op.post("/integrations/"+e.connectionID(api, "linear")+"/refresh", form("csrf_token", tok)).redirect(t, "/integrations")
	secrets := e.secrets()
	// An access and a refresh token from each provider, and a new pair from Linear.
	if len(secrets) != 8 {
		t.Fatalf("stand-ins issued %d secrets, want 8", len(secrets))
	}
	seen := map[string]string{
		"/integrations (with flash)": string(op.get("/integrations").want(t, 200).has(t, "Linear Acme is healthy.").body),
		"/integrations":              string(op.get("/integrations").want(t, 200).body),
		"/":                          string(op.get("/").want(t, 200).body),
	}
	seen["log"] = e.logs.String()
	for _, sec := range secrets {
		for where, s := range seen {
			if strings.Contains(s, sec) {
				t.Fatalf("token %.6s… found in %s", sec, where)
			}
		}
	}
	if !strings.Contains(seen["log"], "refreshed connection token") {
		t.Fatal("log capture is not working")
	}
}
