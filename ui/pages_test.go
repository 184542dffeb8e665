package ui

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func mustContain(t *testing.T, html string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(html, s) {
			t.Errorf("output lacks %q", s)
		}
	}
}

func mustLack(t *testing.T, html string, subs ...string) {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(html, s) {
			t.Errorf("output contains %q", s)
		}
	}
}

func TestLoginLinksToSignupOnlyWhenOpen(t *testing.T) {
	tpl := mustNew(t)
	mustContain(t, render(t, tpl, "login", LoginPage{SignupOpen: true}), `href="/signup"`)
	mustLack(t, render(t, tpl, "login", LoginPage{}), `href="/signup"`)
}

func TestAnonymousPagesHaveNoSidebar(t *testing.T) {
	tpl := mustNew(t)
	for page, d := range filled("Ada") {
		html := render(t, tpl, page, d)
		switch page {
		case "setup", "login", "signup", "invite":
			mustContain(t, html, `class="auth-card"`)
			mustLack(t, html, `class="sidebar"`, `action="/logout"`)
		default:
			mustContain(t, html, `class="sidebar"`, `action="/logout"`, `<nav class="nav" aria-label="Main">`)
		}
	}
	// An error page for an anonymous visitor uses the anonymous layout.
	mustContain(t, render(t, tpl, "error", ErrorPage{Status: 404}), `class="auth-card"`, "Error 404")
}

func TestSidebar(t *testing.T) {
	tpl := mustNew(t)
	l := layout("Ada")
	html := render(t, tpl, "dashboard", DashboardPage{Layout: l})

	// Soon items are not links and carry a badge; available ones are links.
	nav := regexp.MustCompile(`(?s)<nav class="nav" aria-label="Main">.*?</nav>`).FindString(html)
	if nav == "" {
		t.Fatal("no main nav")
	}
	if regexp.MustCompile(`<a [^>]*href="/decisions"`).MatchString(nav) {
		t.Error("a Soon nav item is a link")
	}
	mustContain(t, html, `aria-disabled="true"`, `>soon</span>`, `href="/tokens"`)
	// The active item is marked.
	if !regexp.MustCompile(`<a class="nav-link" href="/members" aria-current="page">`).MatchString(html) {
		t.Error("active nav item lacks aria-current")
	}
	// Tenant switcher works without JS: a form with a select and a button.
	mustContain(t, html, `action="/switch-tenant"`, `<select name="tenant_id" data-autosubmit>`,
		`<option value="t1" selected>`, `<button type="submit" class="btn btn-sm" data-js-hide>Switch</button>`)
	// The narrow-screen menu is a <details>, so it needs no JS.
	mustContain(t, html, `<details class="mobile-menu">`, `<summary>`)
	mustContain(t, html, `href="/operator/tenants"`)

	l.Operator = false
	l.Tenants = l.Tenants[:1]
	html = render(t, tpl, "dashboard", DashboardPage{Layout: l})
	mustLack(t, html, `href="/operator/tenants"`, `action="/switch-tenant"`)
}

func TestBannersLinkOnlyToSafeURLs(t *testing.T) {
	tpl := mustNew(t)
	l := layout("Ada")
	l.Banners = []Banner{
		{Kind: "error", Text: "Payment failing", LinkText: "Update card", Href: "/billing"},
		{Kind: "warn", Text: "Reconnect Slack", LinkText: "Reconnect", Href: "javascript:alert(1)"},
	}
	html := render(t, tpl, "dashboard", DashboardPage{Layout: l})
	mustContain(t, html, `class="banner banner-error" role="alert"`, `<a class="banner-link" href="/billing">Update card</a>`,
		`class="banner banner-warn" role="status"`, "Reconnect Slack")
	mustLack(t, html, "javascript:", ">Reconnect</a>")
}

func TestFieldErrorsKeepValueAndAreLinked(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "signup", SignupPage{
		Email:  "ada@example.com",
		Name:   "Ada",
		Errors: FormErrors{"email": "That address is taken.", "password": "Too short."},
	})
	mustContain(t, html,
		`<input id="f-email" name="email" type="email" value="ada@example.com" autocomplete="email" required aria-invalid="true" aria-describedby="f-email-error">`,
		`<p class="field-error" id="f-email-error">That address is taken.</p>`,
		`<p class="field-error" id="f-password-error">Too short.</p>`,
		`value="Ada"`,
	)
	// Fields without an error are not marked invalid.
	if regexp.MustCompile(`id="f-name"[^>]*aria-invalid`).MatchString(html) {
		t.Error("field without error marked invalid")
	}
	// A password is never sent back.
	if regexp.MustCompile(`type="password"[^>]*value=`).MatchString(html) {
		t.Error("password field has a value")
	}
	// Every input has a label.
	for _, m := range regexp.MustCompile(`<input id="([^"]+)"`).FindAllStringSubmatch(html, -1) {
		mustContain(t, html, `<label for="`+m[1]+`">`)
	}
}

func TestMembersManageControls(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["members"].(MembersPage)

	html := render(t, tpl, "members", page)
	mustContain(t, html,
		`action="/members/u2/role"`, `action="/members/u2/remove"`, `action="/members/u3/remove"`,
		`action="/invitations/i1/revoke"`, `action="/members/invite"`, `<option value="owner"`,
		`href="#invite"`, `id="invite"`,
		`data-copy="invite-url"`, `id="invite-url"`)
	// Nobody removes themselves from the list.
	mustLack(t, html, `action="/members/u1/remove"`)
	// Destructive forms ask first.
	for _, action := range []string{"/members/u2/remove", "/invitations/i1/revoke"} {
		if !regexp.MustCompile(`<form method="post" action="` + action + `" data-confirm="[^"]+">`).MatchString(html) {
			t.Errorf("form %s has no data-confirm", action)
		}
	}
	// Join and expiry times are relative, with the full time on hover.
	mustContain(t, html, `<time datetime="2025-03-14T10:00:00Z" title="2025-03-14T10:00:00Z">2 h ago</time>`, ">in 6 days</time>")

	// An admin cannot hand out or touch the owner role.
	page.CanManageOwners = false
	html = render(t, tpl, "members", page)
	mustLack(t, html, `<option value="owner"`, `action="/members/u1/role"`)
	mustContain(t, html, `action="/members/u2/role"`)

	// A member sees lists only.
	page.CanManage = false
	page.InviteURL = ""
	html = render(t, tpl, "members", page)
	mustLack(t, html, "/role\"", "/remove\"", "/revoke\"", `action="/members/invite"`, `href="#invite"`)
}

func TestMembersEmptyStates(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "members", MembersPage{CanManage: true})
	mustContain(t, html, "No pending invitations", "single-use link")
}

func TestTokensPage(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["tokens"].(TokensPage)
	html := render(t, tpl, "tokens", page)
	mustContain(t, html, `value="pma_Ada"`, `data-copy="new-token-value"`, "shown only once",
		`action="/tokens"`, `href="#new-token"`, `id="new-token"`, ">3 min ago</time>", ">Never<")
	if !regexp.MustCompile(`<form method="post" action="/tokens/k1/revoke" data-confirm="[^"]+">`).MatchString(html) {
		t.Error("token revoke form has no data-confirm")
	}

	html = render(t, tpl, "tokens", TokensPage{})
	mustContain(t, html, "No API tokens yet")
	mustLack(t, html, "data-copy")
}

func TestDashboardMeters(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "dashboard", DashboardPage{
		Tier: "team", MemberCount: 1,
		ItemsUsed: 4500, ItemsLimit: 5000, IntegrationsUsed: 2, IntegrationsLimit: -1,
	})
	mustContain(t, html,
		`<svg class="meter-bar meter-warn"`, `<rect class="meter-fill" x="0" y="0" width="90%"`,
		"4,500", "of 5,000", "Unlimited on your plan", "1 member",
		"Connect Slack, Linear or GitHub", `href="/integrations"`)
	mustLack(t, html, "coming soon")
	if n := strings.Count(html, `class="meter-bar`); n != 1 {
		t.Errorf("%d meter bars, want 1 (integrations are unlimited)", n)
	}
}

func TestOperatorTenants(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["operator_tenants"].(OperatorTenantsPage)
	page.Form.Tier = "team"
	html := render(t, tpl, "operator_tenants", page)
	mustContain(t, html, `action="/operator/tenants/t1"`, `action="/operator/tenants/t2"`,
		`<input type="checkbox" name="suspended" checked>`, `<option value="team" selected>team</option>`,
		`name="owner_password"`, `action="/operator/tenants"`, "Suspended", "1,200")

	html = render(t, tpl, "operator_tenants", OperatorTenantsPage{Tiers: []string{"free"}})
	mustContain(t, html, "No tenants yet")
}

func TestInvitePage(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "invite", InvitePage{Token: "tok123", TenantName: "Acme", Role: "admin"})
	mustContain(t, html, `action="/invite/tok123"`, `name="name"`, `name="password"`, "Join Acme")
	html = render(t, tpl, "invite", InvitePage{Token: "tok123", ExistingUser: true})
	mustLack(t, html, `name="name"`)
	mustContain(t, html, `name="password"`, `autocomplete="current-password"`)
}

func TestPathSegmentsAreEscaped(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "tokens", TokensPage{Tokens: []TokenRow{{ID: "../x?y", Name: "n", CreatedAt: time.Now()}}})
	mustContain(t, html, `action="/tokens/..%2Fx%3Fy/revoke"`)
}
