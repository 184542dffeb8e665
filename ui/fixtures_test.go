package ui

import (
	"net/http/httptest"
	"testing"
	"time"
)

// testNow is the fixed clock of the tests.
var testNow = time.Date(2025, 3, 14, 12, 0, 0, 0, time.UTC)

func mustNew(tb testing.TB) *Templates {
	tb.Helper()
	tpl, err := New()
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tpl.now = func() time.Time { return testNow }
	return tpl
}

// render renders a page and fails the test on any error or non-200 status.
func render(tb testing.TB, tpl *Templates, page string, data any) string {
	tb.Helper()
	rec := httptest.NewRecorder()
	if err := tpl.Render(rec, 200, page, data); err != nil {
		tb.Fatalf("Render(%q): %v", page, err)
	}
	if rec.Code != 200 {
		tb.Fatalf("Render(%q): status %d", page, rec.Code)
	}
	return rec.Body.String()
}

// layout returns a signed-in layout whose every text field is s.
func layout(s string) Layout {
	return Layout{
		Title:      s,
		Active:     "members",
		CSRFToken:  "tok-" + s,
		Flash:      s,
		FlashErr:   s,
		UserName:   s,
		UserEmail:  s,
		Operator:   true,
		TenantName: s,
		Role:       "owner",
		Tenants: []TenantOption{
			{ID: "t1", Name: s, Role: "owner", Current: true},
			{ID: "t2", Name: s, Role: "member"},
		},
		Nav: []NavItem{
			{Key: "dashboard", Label: "Dashboard", Href: "/"},
			{Key: "decisions", Label: s, Href: "/decisions", Soon: true},
			{Key: "members", Label: s, Href: "/members"},
			{Key: "tokens", Label: "API tokens", Href: "/tokens"},
		},
		Banners: []Banner{
			{Kind: "warn", Text: s, LinkText: s, Href: "/billing"},
			{Kind: s, Text: s, LinkText: s, Href: "https://example.com/fix"},
		},
	}
}

// anonLayout is layout(s) without the signed-in parts.
func anonLayout(s string) Layout {
	l := layout(s)
	l.UserName, l.UserEmail, l.Operator, l.Role = "", "", false, ""
	l.Tenants, l.Nav = nil, nil
	return l
}

// errs returns field errors with message s for the given fields.
func errs(s string, fields ...string) FormErrors {
	e := FormErrors{"form": s}
	for _, f := range fields {
		e[f] = s
	}
	return e
}

// filled returns, for every page, a data struct with s in every text field,
// every optional part switched on and every list non-empty.
func filled(s string) map[string]any {
	used := testNow.Add(-3 * time.Minute)
	expires := testNow.Add(5 * time.Hour)
	expired := testNow.Add(-2 * time.Hour)
	ops := OperatorTenantsPage{
		Layout: layout(s),
		Tenants: []TenantRow{
			{ID: "t1", Name: s, Tier: "team", SubscriptionStatus: s, Members: 1200, CreatedAt: testNow.Add(-48 * time.Hour)},
			{ID: "t2", Name: s, Tier: s, Suspended: true, CreatedAt: testNow.Add(-400 * 24 * time.Hour)},
		},
		Tiers:  []string{"free", "team", s},
		Errors: errs(s, "name", "owner_email", "owner_name", "owner_password", "tier"),
	}
	ops.Form.Name, ops.Form.OwnerEmail, ops.Form.OwnerName, ops.Form.Tier = s, s, s, s
	ops.Active = "operator"

	conns := []ConnectionRow{
		{ID: "c1", Service: "slack", ServiceTitle: s, WorkspaceID: s, WorkspaceName: s, Status: "connected",
			Scopes: []string{s, "channels:read"}, ConnectedAt: testNow.Add(-72 * time.Hour),
			ExpiresAt: &expires, LastRefreshAt: &used, LastSyncAt: &used, Refreshable: true, OwnApp: true,
			ReconnectHref: "/api/v1/oauth/slack/authorize"},
		{ID: "c2", Service: "linear", ServiceTitle: s, WorkspaceID: s, WorkspaceName: s, Status: "needs_reauth",
			ConnectedAt: testNow.Add(-40 * 24 * time.Hour), ExpiresAt: &expired, LastRefreshAt: &used,
			LastRefreshError: s, LastError: s, RefreshFailures: 3, Refreshable: true,
			ReconnectHref: "/api/v1/oauth/linear/authorize"},
		{ID: "c3", Service: s, ServiceTitle: s, WorkspaceID: s, WorkspaceName: s, Status: s,
			LastRefreshError: s, LastError: s, RefreshFailures: 1, ReconnectHref: s},
	}
	ints := IntegrationsPage{
		Layout:      layout(s),
		Connections: conns,
		Services: []ServiceOption{
			{Service: "slack", Title: s, Available: true, ConnectHref: "/api/v1/oauth/slack/authorize", OwnApp: true,
				RedirectURL: "https://pm.example.com/api/v1/oauth/slack/callback?" + s},
			{Service: "linear", Title: s, Available: true, ConnectHref: s, RedirectURL: s},
			{Service: "github", Title: s, Unavailable: s, RedirectURL: s},
			{Service: s, Title: s, Available: true, ConnectHref: "/api/v1/oauth/x/authorize", OwnApp: true},
		},
		CanManage:     true,
		CanManageApps: true,
		AppsAllowed:   true,
		LimitText:     s,
		Errors:        errs(s, "client_id", "client_secret", "signing_secret"),
	}
	ints.AppForm.Service, ints.AppForm.ClientID = "slack", s
	ints.Active = "integrations"

	return map[string]any{
		"setup":  SetupPage{Layout: anonLayout(s), Email: s, Name: s, TenantName: s, Errors: errs(s, "email", "name", "password", "tenant_name")},
		"login":  LoginPage{Layout: anonLayout(s), Email: s, Next: s, SignupOpen: true, Errors: errs(s, "email", "password")},
		"signup": SignupPage{Layout: anonLayout(s), Email: s, Name: s, TenantName: s, Errors: errs(s, "email", "name", "password", "tenant_name")},
		"invite": InvitePage{Layout: anonLayout(s), Token: "abc", TenantName: s, Email: s, Role: s, Errors: errs(s, "name", "password")},
		"dashboard": DashboardPage{Layout: layout(s), MemberCount: 3, Tier: s,
			ItemsUsed: 4500, ItemsLimit: 5000, IntegrationsUsed: 2, IntegrationsLimit: -1, Connections: conns},
		"members": MembersPage{
			Layout: layout(s),
			Members: []MemberRow{
				{UserID: "u1", Name: s, Email: s, Role: "owner", JoinedAt: testNow.Add(-72 * time.Hour), IsSelf: true},
				{UserID: "u2", Name: s, Email: s, Role: "admin", JoinedAt: testNow.Add(-2 * time.Hour)},
				{UserID: "u3", Email: s, Role: "member", JoinedAt: testNow.Add(-90 * time.Second)},
			},
			Invitations:     []InvitationRow{{ID: "i1", Email: s, Role: "member", ExpiresAt: testNow.Add(6 * 24 * time.Hour)}},
			CanManage:       true,
			CanManageOwners: true,
			InviteURL:       "https://pm.example.com/invite/abc?x=" + s,
			InviteEmail:     s,
			InviteRole:      "admin",
			Errors:          errs(s, "email", "role"),
		},
		"tokens": TokensPage{
			Layout: layout(s),
			Tokens: []TokenRow{
				{ID: "k1", Name: s, CreatedAt: testNow.Add(-24 * time.Hour), LastUsedAt: &used},
				{ID: "k2", Name: s, CreatedAt: testNow.Add(-5 * 24 * time.Hour)},
			},
			NewToken:     "pma_" + s,
			NewTokenName: s,
			Name:         s,
			Errors:       errs(s, "name"),
		},
		"integrations":     ints,
		"operator_tenants": ops,
		"error":            ErrorPage{Layout: layout(s), Status: 404, Heading: s, Message: s, BackHref: "/", BackText: s},
	}
}

// zero returns, for every page, the zero value of its data struct.
func zero() map[string]any {
	return map[string]any{
		"setup":            SetupPage{},
		"login":            LoginPage{},
		"signup":           SignupPage{},
		"invite":           InvitePage{},
		"dashboard":        DashboardPage{},
		"members":          MembersPage{},
		"tokens":           TokensPage{},
		"integrations":     IntegrationsPage{},
		"operator_tenants": OperatorTenantsPage{},
		"error":            ErrorPage{},
	}
}
