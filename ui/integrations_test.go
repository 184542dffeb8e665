package ui

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// formFor returns the <form> element whose action is action, or "".
func formFor(html, action string) string {
	for _, m := range formRe.FindAllString(html, -1) {
		if strings.Contains(m[:strings.Index(m, ">")+1], ` action="`+action+`"`) {
			return m
		}
	}
	return ""
}

func TestIntegrationsPageFilled(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["integrations"].(IntegrationsPage)
	html := render(t, tpl, "integrations", page)

	mustContain(t, html,
		// Main action and its target.
		`<a class="btn btn-primary" href="#connect">Connect</a>`, `<section id="connect"`,
		// Status badges: colour and words.
		`<span class="badge badge-ok"><span class="dot dot-ok" aria-hidden="true"></span>Connected</span>`,
		`<span class="badge badge-warn"><span class="dot dot-warn" aria-hidden="true"></span>Needs reconnecting</span>`,
		`<span class="badge badge-neutral"><span class="dot dot-neutral" aria-hidden="true"></span>Ada</span>`,
		`<span class="badge">Own app</span>`,
		// Health details.
		`expires <time datetime="2025-03-14T17:00:00Z" title="2025-03-14T17:00:00Z">in 5 h</time>`,
		`expired <time datetime="2025-03-14T10:00:00Z" title="2025-03-14T10:00:00Z">2 h ago</time>`,
		"does not expire", "not needed", `<span class="text-error">3 failures</span>`,
		`<span class="health-error">Ada</span>`, `<dd class="text-error">Ada</dd>`, ">3 days ago</time>",
		// Reconnect: prominent only when the connection needs it.
		`<a class="btn btn-sm" href="/api/v1/oauth/slack/authorize">Reconnect`,
		`<a class="btn btn-sm btn-primary" href="/api/v1/oauth/linear/authorize">Reconnect`,
		// Connect cards.
		`<a class="btn btn-primary" href="/api/v1/oauth/slack/authorize">Connect Ada</a>`,
		"Conversations, and the decisions made in their threads.", "Issues and their state.", "Pull requests and ADRs.",
		`<p class="service-note">Ada</p>`,
		`<label for="redirect-0">Redirect URL to register</label>`,
		`value="https://pm.example.com/api/v1/oauth/slack/callback?Ada" readonly`, `data-copy="redirect-0"`,
		// Own apps.
		"Your own OAuth apps", `id="app-slack"`,
	)
	// Refresh only where a refresh is possible; disconnect everywhere.
	for id, refreshable := range map[string]bool{"c1": true, "c2": true, "c3": false} {
		if got := formFor(html, "/integrations/"+id+"/refresh") != ""; got != refreshable {
			t.Errorf("refresh form for %s: %v, want %v", id, got, refreshable)
		}
		f := formFor(html, "/integrations/"+id+"/disconnect")
		if f == "" {
			t.Errorf("no disconnect form for %s", id)
			continue
		}
		if !regexp.MustCompile(`<form method="post" action="[^"]+" class="disconnect-form" data-confirm="Disconnect Ada “Ada”\? The token is revoked at the provider.">`).MatchString(f) {
			t.Errorf("disconnect form for %s lacks its confirmation: %.200s", id, f)
		}
		mustContain(t, f, `<input type="checkbox" name="purge">`, "Also delete the data ingested from it")
	}
	// A service path segment is escaped.
	mustContain(t, html, `action="/integrations/Ada/app"`)
	// Own app forms: one per service, removal only where an own app is stored.
	for svc, own := range map[string]bool{"slack": true, "linear": false, "github": false, "Ada": true} {
		f := formFor(html, "/integrations/"+svc+"/app")
		if f == "" {
			t.Errorf("no app form for %s", svc)
			continue
		}
		mustContain(t, f, `name="client_id"`, `name="client_secret"`, `name="signing_secret"`, "for webhooks")
		if regexp.MustCompile(`type="password"[^>]*value=`).MatchString(f) {
			t.Errorf("app form for %s pre-fills a secret", svc)
		}
		// Errors and the kept client id belong to the submitted form only.
		mine := svc == "slack"
		if got := strings.Count(f, `class="field-error"`); (got == 3) != mine || (got == 0) == mine {
			t.Errorf("app form for %s: %d field errors", svc, got)
		}
		if got := strings.Contains(f, `value="Ada"`); got != mine {
			t.Errorf("app form for %s: kept client id %v, want %v", svc, got, mine)
		}
		del := formFor(html, "/integrations/"+svc+"/app/delete")
		if (del != "") != own {
			t.Errorf("remove form for %s: %v, want %v", svc, del != "", own)
		}
		if del != "" && !strings.Contains(del, ` data-confirm="Remove your own Ada app?`) {
			t.Errorf("remove form for %s has no data-confirm", svc)
		}
	}
	mustContain(t, formFor(html, "/integrations/slack/app"),
		`<input id="app-0-client_id" name="client_id" type="text" value="Ada" autocomplete="off" required aria-invalid="true" aria-describedby="app-0-client_id-error">`,
		`<p class="form-error" role="alert">Ada</p>`)
	// A form error with no service goes above the forms, once.
	page.AppForm.Service = ""
	html = render(t, tpl, "integrations", page)
	if n := strings.Count(html, `<p class="form-error" role="alert">Ada</p>`); n != 1 {
		t.Errorf("%d form errors, want 1", n)
	}
	mustLack(t, html, `class="field-error"`)
}

func TestIntegrationsPermissions(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["integrations"].(IntegrationsPage)

	// An admin manages connections but not own apps.
	page.CanManageApps = false
	page.Layout.Operator = false
	html := render(t, tpl, "integrations", page)
	mustContain(t, html, "/refresh\"", "/disconnect\"", ">Reconnect<", `href="#connect"`)
	mustLack(t, html, "Your own OAuth apps", "/app\"", "Redirect URL to register")

	// An operator sees the redirect URLs to register.
	page.Layout.Operator = true
	mustContain(t, render(t, tpl, "integrations", page), "Redirect URL to register")

	// A member sees the health and may run ingestion, but nothing else.
	page.CanManage = false
	html = render(t, tpl, "integrations", page)
	mustLack(t, html, "/refresh\"", "/disconnect\"", ">Reconnect<", `href="#connect"`, "oauth/slack/authorize")
	mustContain(t, html, "Needs reconnecting", "Ask an owner or admin to connect Ada.",
		`action="/integrations/c1/run"`, `<span class="visually-hidden">Actions</span>`)

	// Without the right to run, no actions column at all.
	page.CanRun = false
	html = render(t, tpl, "integrations", page)
	mustLack(t, html, "/run\"", `<span class="visually-hidden">Actions</span>`)
	page.CanRun = true

	// An owner below the enterprise tier is told what own apps need.
	page.CanManage, page.CanManageApps, page.AppsAllowed = true, true, false
	html = render(t, tpl, "integrations", page)
	mustContain(t, html, "Own OAuth apps are an Enterprise feature.")
	mustLack(t, html, "/app\"", `name="client_secret"`)
}

func TestIntegrationsAtLimit(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["integrations"].(IntegrationsPage)
	page.AtLimit, page.LimitText = true, "Your plan includes 1 integration."
	html := render(t, tpl, "integrations", page)
	mustContain(t, html, `<span class="btn btn-primary is-disabled" aria-disabled="true">Connect Ada</span>`,
		`<p class="service-note">Your plan includes 1 integration.</p>`,
		// Reconnecting an existing connection is not a new one.
		`href="/api/v1/oauth/slack/authorize">Reconnect`)
	if regexp.MustCompile(`<a [^>]*>Connect Ada</a>`).MatchString(html) {
		t.Error("a connect link at the integration limit")
	}
}

func TestIntegrationsEmpty(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "integrations", IntegrationsPage{CanManage: true})
	mustContain(t, html, "No connections yet", "Connect Slack, Linear or GitHub to start", "No services offered")
	mustLack(t, html, "<table", `href="#connect"`)

	// Services, none available: no main action, the reasons instead.
	html = render(t, tpl, "integrations", IntegrationsPage{CanManage: true, Services: []ServiceOption{
		{Service: "slack", Title: "Slack", Unavailable: "The operator has not configured a Slack app (PMASSIST_SLACK_CLIENT_ID …)."},
		{Service: "github", Title: "GitHub", ConnectHref: "/api/v1/oauth/github/authorize"},
	}})
	mustContain(t, html, "The operator has not configured a Slack app (PMASSIST_SLACK_CLIENT_ID …).",
		"Not configured on this appliance.")
	mustLack(t, html, `href="#connect"`, `href="/api/v1/oauth/github/authorize"`)
}

func TestIntegrationsEscapeUntrustedText(t *testing.T) {
	tpl := mustNew(t)
	const raw = `<script>alert(1)</script>"><img src=x onerror=alert(1)>`
	page := IntegrationsPage{
		CanManage: true,
		Connections: []ConnectionRow{{ID: "c1", Service: "slack", ServiceTitle: "Slack", Status: "error",
			WorkspaceName: raw, LastError: raw, LastRefreshError: raw, Refreshable: true}},
		Services: []ServiceOption{{Service: "github", Title: "GitHub", Unavailable: raw}},
	}
	html := render(t, tpl, "integrations", page)
	mustLack(t, html, "<script>alert", "<img")
	// In text and in the confirmation question alike.
	if n := strings.Count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"); n < 5 {
		t.Errorf("escaped payload seen %d times, want at least 5", n)
	}
	html = render(t, tpl, "dashboard", DashboardPage{Connections: page.Connections})
	mustLack(t, html, "<script>alert", "<img")
	mustContain(t, html, "&lt;script&gt;alert(1)&lt;/script&gt;")
}

func TestIntegrationsLinkOnlySafeURLs(t *testing.T) {
	tpl := mustNew(t)
	for _, bad := range []string{"javascript:alert(1)", "JavaScript:alert(1)", "//evil.example.com/", "data:text/html,x"} {
		html := render(t, tpl, "integrations", IntegrationsPage{
			CanManage:   true,
			Connections: []ConnectionRow{{ID: "c1", Service: "slack", Status: "needs_reauth", ReconnectHref: bad}},
			Services:    []ServiceOption{{Service: "slack", Title: "Slack", Available: true, ConnectHref: bad}},
		})
		mustLack(t, html, bad, ">Reconnect<", ">Connect Slack</a>")
	}
}

func TestIntegrationsIDsAreUnique(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "integrations", filled("Ada")["integrations"])
	seen := make(map[string]bool)
	for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		if seen[m[1]] {
			t.Errorf("duplicate id %q", m[1])
		}
		seen[m[1]] = true
	}
	// Every input has a label.
	for _, m := range regexp.MustCompile(`<input id="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		mustContain(t, html, `<label for="`+m[1]+`">`)
	}
}

func TestDashboardConnections(t *testing.T) {
	tpl := mustNew(t)
	synced := testNow.Add(-10 * time.Minute)
	html := render(t, tpl, "dashboard", DashboardPage{Connections: []ConnectionRow{
		{ID: "c1", Service: "slack", ServiceTitle: "Slack", WorkspaceName: "Acme", Status: "connected", LastSyncAt: &synced},
		{ID: "c2", Service: "linear", ServiceTitle: "Linear", WorkspaceName: "Acme eng", Status: "needs_reauth"},
		{ID: "c3", Service: "github", ServiceTitle: "GitHub", WorkspaceID: "1234", Status: "error"},
	}})
	mustContain(t, html, `<h2 id="connections-title" class="card-heading">Connections</h2>`, `href="/integrations"`,
		`<span class="dot dot-ok" aria-hidden="true"></span>`, `<span class="health-status health-ok">Connected</span>`,
		`<span class="dot dot-warn" aria-hidden="true"></span>`, `<span class="health-status health-warn">Needs reconnecting</span>`,
		`<span class="dot dot-error" aria-hidden="true"></span>`, `<span class="health-status health-error">Error</span>`,
		`<span class="strong">Slack</span> · Acme`, `<span class="strong">GitHub</span> · 1234`,
		">10 min ago</time>", "Last sync never")
	mustLack(t, html, "card-empty", "coming soon")
}

func TestReconnectBanner(t *testing.T) {
	tpl := mustNew(t)
	l := layout("Ada")
	l.Banners = []Banner{{Kind: "warn", Text: "Slack “Acme” needs reconnecting.", LinkText: "Reconnect", Href: "/api/v1/oauth/slack/authorize"}}
	for _, page := range []string{"dashboard", "integrations"} {
		var d any = DashboardPage{Layout: l}
		if page == "integrations" {
			d = IntegrationsPage{Layout: l}
		}
		mustContain(t, render(t, tpl, page, d), `class="banner banner-warn" role="status"`, "Slack “Acme” needs reconnecting.",
			`<a class="banner-link" href="/api/v1/oauth/slack/authorize">Reconnect</a>`)
	}
}
