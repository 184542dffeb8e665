package ui

import (
	"html"
	"html/template"
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
			{ID: "t1", Name: s, Tier: "team", SubscriptionStatus: s, Members: 1200, CreatedAt: testNow.Add(-48 * time.Hour),
				ItemsUsed: 4321, ItemsLimit: 5000, IntegrationsUsed: 1, IntegrationsLimit: 1},
			{ID: "t2", Name: s, Tier: s, Suspended: true, CreatedAt: testNow.Add(-400 * 24 * time.Hour),
				ItemsUsed: 7, ItemsLimit: -1, IntegrationsUsed: 3, IntegrationsLimit: -1},
		},
		Tiers:  []string{"free", "team", s},
		Errors: errs(s, "name", "owner_email", "owner_name", "owner_password", "tier"),
	}
	ops.Form.Name, ops.Form.OwnerEmail, ops.Form.OwnerName, ops.Form.Tier = s, s, s, s
	ops.Active = "operator_tenants"

	jobStarted := testNow.Add(-20 * time.Minute)
	jobFinished := jobStarted.Add(95 * time.Second)
	running := testNow.Add(-40 * time.Second)
	jobs := []JobRow{
		{ID: "j1", Service: "slack", ServiceTitle: s, ConnectionID: "c1", WorkspaceName: s, Trigger: "manual", Status: "running",
			CreatedAt: testNow.Add(-time.Minute), StartedAt: &running, ItemsNew: 12},
		{ID: "j2", Service: "linear", ServiceTitle: s, ConnectionID: "c2", WorkspaceName: s, Trigger: "schedule", Status: "succeeded",
			CreatedAt: jobStarted, StartedAt: &jobStarted, FinishedAt: &jobFinished, ItemsNew: 1200, ItemsUpdated: 3},
		{ID: "j3", Service: "github", ServiceTitle: s, ConnectionID: "c3", WorkspaceName: s, Trigger: "webhook", Status: "failed",
			CreatedAt: jobStarted, StartedAt: &jobStarted, FinishedAt: &jobFinished, Error: s},
		{ID: "j4", Service: s, ServiceTitle: s, ConnectionID: s, WorkspaceName: s, Trigger: s, Status: "partial",
			CreatedAt: jobStarted, StartedAt: &jobStarted, FinishedAt: &jobFinished, ItemsNew: 5000, Error: "quota_exceeded: " + s},
		{ID: "j5", Service: "slack", ServiceTitle: s, ConnectionID: "c1", Trigger: "schedule", Status: "queued", CreatedAt: testNow},
		{ID: "j6", Service: "slack", ConnectionID: "c1", Trigger: "manual", Status: s, CreatedAt: jobStarted, Error: s},
	}
	jobsPage := JobsPage{Layout: layout(s), Jobs: jobs, Service: s, Status: s, NextHref: "/jobs?cursor=abc&service=" + s}
	jobsPage.Active = "integrations"

	settings := SettingsPage{
		Layout:           layout(s),
		CanEdit:          true,
		Timezone:         s,
		Timezones:        []string{"Europe/Berlin", "UTC", s},
		SlackChannels:    "C0123ABCD\n#eng\n" + s,
		LinearTeamIDs:    s,
		GitHubOrgs:       s,
		GitHubRepos:      "acme/api\n" + s,
		IntervalMinutes:  60,
		DecisionPhrases:  "signed off on\n" + s,
		DecisionReaction: s,
		StandupEnabled:   true,
		StandupTime:      "09:30",
		StandupWeekdays:  []int{1, 3, 5},
		StandupChannel:   s,
		StandupEmailTo:   s,
		Errors: errs(s, "timezone", "slack_channels", "linear_team_ids", "github_orgs", "github_repos",
			"ingestion_interval_minutes", "decisions.phrases", "decisions.reaction", "standup.time",
			"standup.weekdays", "standup.slack_channel", "standup.email_to"),
	}
	settings.Active = "settings"

	conns := []ConnectionRow{
		{ID: "c1", Service: "slack", ServiceTitle: s, WorkspaceID: s, WorkspaceName: s, Status: "connected",
			Scopes: []string{s, "channels:read"}, ConnectedAt: testNow.Add(-72 * time.Hour),
			ExpiresAt: &expires, LastRefreshAt: &used, LastSyncAt: &used, Refreshable: true, OwnApp: true,
			ReconnectHref: "/api/v1/oauth/slack/authorize", LastJob: &jobs[0]},
		{ID: "c2", Service: "linear", ServiceTitle: s, WorkspaceID: s, WorkspaceName: s, Status: "needs_reauth",
			ConnectedAt: testNow.Add(-40 * 24 * time.Hour), ExpiresAt: &expired, LastRefreshAt: &used,
			LastRefreshError: s, LastError: s, RefreshFailures: 3, Refreshable: true,
			ReconnectHref: "/api/v1/oauth/linear/authorize", LastJob: &jobs[3]},
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
		CanRun:        true,
		CanManageApps: true,
		AppsAllowed:   true,
		LimitText:     s,
		Errors:        errs(s, "client_id", "client_secret", "signing_secret"),
	}
	ints.AppForm.Service, ints.AppForm.ClientID = "slack", s
	ints.Active = "integrations"

	decisions := decisionsFixture(s)
	decisionsPage := DecisionsPage{
		Layout:      layout(s),
		Decisions:   decisions,
		NextHref:    "/decisions?cursor=abc&tag=" + s,
		Timeline:    timelineFixture(),
		CanEdit:     true,
		Errors:      errs(s, "title", "summary", "status", "tags", "source_url"),
		ExportQuery: "status=accepted&tag=" + s,
	}
	decisionsPage.Active = "decisions"
	decisionsPage.Filter.Status, decisionsPage.Filter.Origin, decisionsPage.Filter.Q = s, s, s
	decisionsPage.Filter.Service, decisionsPage.Filter.Tag, decisionsPage.Filter.From, decisionsPage.Filter.To = s, s, "2025-01-01", "2025-03-14"
	decisionsPage.New.Title, decisionsPage.New.Summary, decisionsPage.New.Status = s, s, "proposed"
	decisionsPage.New.Tags, decisionsPage.New.SourceURL = s, s

	decisionPage := DecisionPage{
		Layout:     layout(s),
		Decision:   decisions[0],
		CanEdit:    true,
		Candidates: decisions,
		Errors:     errs(s, "title", "summary", "tags", "status"),
	}
	decisionPage.Active = "decisions"

	searchPage := SearchPage{
		Layout:      layout(s),
		Results:     searchFixture(s),
		Total:       1234,
		TookMS:      7,
		PrevHref:    "/search?q=" + s + "&offset=0",
		NextHref:    "/search?q=" + s + "&offset=40",
		Unavailable: "",
		Error:       s,
		Searched:    true,
	}
	searchPage.Active = "search"
	searchPage.Query.Q, searchPage.Query.Type, searchPage.Query.Service, searchPage.Query.Channel = s, s, s, s
	searchPage.Query.Author, searchPage.Query.From, searchPage.Query.To, searchPage.Query.Sort = s, "2025-01-01", "2025-03-14", "date"

	latest := standupFixture(s, "s1", "2025-03-13", decisions)
	older := standupFixture(s, "s0/x?y", "2025-03-12", decisions[:1])
	older.Deliveries = older.Deliveries[:1]
	quiet := StandupRow{ID: "s-1", Date: "2025-03-11", DateLabel: s, CreatedAt: testNow.Add(-3 * 24 * time.Hour),
		People: []StandupPersonRow{{Name: s, NoActivity: true}}}
	standupsPage := StandupsPage{
		Layout:       layout(s),
		Latest:       &latest,
		History:      []StandupRow{older, quiet},
		NextHref:     "/standups?cursor=abc&x=" + s,
		GenerateDate: "2025-03-13",
		CanDeliver:   true,
		DeliveryNote: s,
		Errors:       errs(s, "date", "deliver"),
	}
	standupsPage.Active = "standups"
	standupPage := StandupPage{Layout: layout(s), Standup: latest, CanDeliver: true}
	standupPage.Active = "standups"
	peoplePage := PeoplePage{Layout: layout(s), People: peopleFixture(s), CanEdit: true}
	peoplePage.Active = "people"

	return map[string]any{
		"billing":   billingFixture(s),
		"audit":     auditFixture(s),
		"standups":  standupsPage,
		"standup":   standupPage,
		"people":    peoplePage,
		"decisions": decisionsPage,
		"decision":  decisionPage,
		"search":    searchPage,
		"setup":     SetupPage{Layout: anonLayout(s), Email: s, Name: s, TenantName: s, Errors: errs(s, "email", "name", "password", "tenant_name")},
		"login":     LoginPage{Layout: anonLayout(s), Email: s, Next: s, SignupOpen: true, Errors: errs(s, "email", "password")},
		"signup":    SignupPage{Layout: anonLayout(s), Email: s, Name: s, TenantName: s, Errors: errs(s, "email", "name", "password", "tenant_name")},
		"invite":    InvitePage{Layout: anonLayout(s), Token: "abc", TenantName: s, Email: s, Role: s, Errors: errs(s, "name", "password")},
		"dashboard": DashboardPage{Layout: layout(s), MemberCount: 3, Tier: s,
			ItemsUsed: 4500, ItemsLimit: 5000, IntegrationsUsed: 2, IntegrationsLimit: -1, Connections: conns,
			Activity: activityFixture(s), RecentDecisions: decisionsFixture(s)},
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
		"jobs":             jobsPage,
		"settings":         settings,
		"operator_tenants": ops,
		"operator_system":  operatorSystemFixture(s),
		"operator_jobs":    operatorJobsFixture(s),
		"operator_backups": operatorBackupsFixture(s),
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
		"jobs":             JobsPage{},
		"settings":         SettingsPage{},
		"operator_tenants": OperatorTenantsPage{},
		"operator_system":  OperatorSystemPage{},
		"operator_jobs":    OperatorJobsPage{},
		"operator_backups": OperatorBackupsPage{},
		"decisions":        DecisionsPage{},
		"decision":         DecisionPage{},
		"search":           SearchPage{},
		"standups":         StandupsPage{},
		"standup":          StandupPage{},
		"people":           PeoplePage{},
		"billing":          BillingPage{},
		"audit":            AuditPage{},
		"error":            ErrorPage{},
	}
}

// activityFixture is 30 days of ingestion by the three services and one
// service named s, with a quiet weekend pattern and a busy day.
func activityFixture(s string) ActivityChart {
	c := ActivityChart{Series: []ActivitySeries{
		{Service: "slack", Title: "Slack"}, {Service: "linear", Title: "Linear"},
		{Service: "github", Title: "GitHub"}, {Service: s, Title: s},
	}}
	day := time.Date(2025, 2, 13, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		c.Days = append(c.Days, day.AddDate(0, 0, i).Format("Jan 2"))
		weekend := i%7 == 5 || i%7 == 6
		counts := []int{40 + (i*37)%60, 10 + (i*13)%25, 5 + (i*7)%15, i % 4}
		if weekend {
			counts = []int{3, 0, 1, 0}
		}
		if i == 20 {
			counts[0] = 150
		}
		total := 0
		for j, n := range counts {
			c.Series[j].Counts = append(c.Series[j].Counts, n)
			total += n
		}
		c.Max = max(c.Max, total)
	}
	return c
}

// decisionsFixture is six decisions with s in every text field: detected
// and manual ones in every status, with sources safe and unsafe.
func decisionsFixture(s string) []DecisionRow {
	return []DecisionRow{
		{ID: "d1", Title: s, Summary: s + "\nSecond line: " + s, Status: "proposed", Origin: "detected", Confidence: 0.873,
			Signals: []string{"phrase:we decided", "reaction:white_check_mark", s}, Participants: []string{s, "Lin"},
			Tags: []string{"infra", s}, DecidedAt: testNow.Add(-3 * time.Hour), DecidedBy: s,
			Sources: []SourceRow{
				{Service: "slack", ServiceTitle: "Slack", Kind: "message", ExternalID: "C01:1700000000.000100",
					URL: "https://acme.slack.com/archives/C01/p1700000000000100?" + s, Excerpt: s},
				{Service: "linear", ServiceTitle: s, Kind: "issue", ExternalID: s, URL: "javascript:alert(1)", Excerpt: s},
			}},
		{ID: "d2", Title: s, Summary: s, Status: "accepted", Origin: "manual", Confidence: 1,
			Tags: []string{s}, DecidedAt: testNow.Add(-50 * time.Hour), DecidedBy: s,
			Sources: []SourceRow{{Kind: "link", URL: "https://docs.example.com/notes?" + s}}},
		{ID: "d3", Title: s, Status: "rejected", Origin: "detected", Confidence: 0.41, Signals: []string{"phrase:let's go with", "question"},
			DecidedAt: testNow.Add(-10 * 24 * time.Hour),
			Sources: []SourceRow{{Service: "github", ServiceTitle: "GitHub", Kind: "pull_request", ExternalID: "acme/api#42",
				URL: "https://github.com/acme/api/pull/42", Excerpt: s}}},
		{ID: "d4", Title: s, Summary: s, Status: "superseded", Origin: "manual", DecidedAt: testNow.Add(-60 * 24 * time.Hour),
			SupersededBy: "d2", SupersededByTitle: s},
		{ID: "d5", Title: s, Status: s, Origin: s, DecidedAt: testNow.Add(-20 * time.Minute)},
		{ID: "d/6?x", Title: s, Status: "accepted", Origin: "detected", Confidence: 0.95, Signals: []string{"marker:Decision:"},
			DecidedAt: testNow.Add(-40 * 24 * time.Hour), DecidedBy: s, Participants: []string{s}},
	}
}

// timelineFixture is 12 weeks of decisions, oldest first, with a quiet
// start, a busy week and an unknown status.
func timelineFixture() []TimelineWeek {
	monday := time.Date(2024, 12, 23, 0, 0, 0, 0, time.UTC)
	var weeks []TimelineWeek
	for i := range 12 {
		c := map[string]int{
			"accepted":   (i * 5) % 7,
			"proposed":   (i * 3) % 4,
			"rejected":   i % 3 / 2,
			"superseded": i % 5 / 4,
		}
		if i < 2 {
			c = map[string]int{}
		}
		if i == 9 {
			c["accepted"], c["proposed"] = 9, 3
		}
		if i == 10 {
			c["draft"] = 1
		}
		weeks = append(weeks, TimelineWeek{Label: monday.AddDate(0, 0, 7*i).Format("Jan 2"), Counts: c})
	}
	return weeks
}

// searchFixture is one result of every type with s in every text field;
// the snippet is built as the server builds it: escaped text and <mark>.
func searchFixture(s string) []SearchResultRow {
	snippet := template.HTML("… we " + "<mark>" + html.EscapeString(s) + "</mark> to move " + html.EscapeString(s) + " …")
	return []SearchResultRow{
		{Type: "message", ID: "i1", URL: "https://acme.slack.com/archives/C01/p1?" + s, Service: "slack", ServiceTitle: "Slack",
			Channel: "#eng", Author: s, Snippet: snippet, CreatedAt: testNow.Add(-2 * time.Hour), Href: "https://acme.slack.com/archives/C01/p1?" + s},
		{Type: "issue", ID: "i2", Title: s, URL: "https://linear.app/acme/issue/ENG-1", Service: "linear", ServiceTitle: s,
			Channel: s, Author: s, Snippet: snippet, CreatedAt: testNow.Add(-26 * time.Hour), Href: "https://linear.app/acme/issue/ENG-1"},
		{Type: "pull_request", ID: "i3", Title: s, Service: "github", ServiceTitle: "GitHub", Channel: "acme/api", Author: s,
			Snippet: snippet, CreatedAt: testNow.Add(-5 * 24 * time.Hour), Href: "javascript:alert(1)"},
		{Type: "decision", ID: "d1", Title: s, Snippet: snippet, CreatedAt: testNow.Add(-3 * time.Hour), Href: "/decisions/d1"},
		{Type: s, ID: s, Title: s, Service: s, Channel: s, Author: s, Href: s},
	}
}

// standupFixture is a standup with s in every text field: three people
// with activity (every list, safe and unsafe links, known and unknown
// states), two without, the given decisions and a delivery in every
// status.
func standupFixture(s, id, date string, decisions []DecisionRow) StandupRow {
	sent := testNow.Add(-2 * time.Hour)
	next := testNow.Add(4 * time.Minute)
	return StandupRow{
		ID: id, Date: date, DateLabel: "Thursday 13 March 2025 " + s, Timezone: "Europe/Berlin",
		CreatedAt: testNow.Add(-3 * time.Hour),
		People: []StandupPersonRow{
			{Name: s,
				Done: []StandupEntryRow{
					{Type: "pull_request", Title: s, URL: "https://github.com/acme/api/pull/42?" + s, Service: "github", ServiceTitle: "GitHub", State: "merged"},
					{Type: "issue", Title: "ENG-7 " + s, URL: "https://linear.app/acme/issue/ENG-7", Service: "linear", ServiceTitle: "Linear", State: "Done"},
				},
				InProgress: []StandupEntryRow{
					{Type: "pull_request", Title: s, URL: "javascript:alert(1)", Service: "github", ServiceTitle: "GitHub", State: "open"},
				},
				Blockers: []StandupEntryRow{
					{Type: "message", URL: "https://acme.slack.com/archives/C01/p1", Service: "slack", ServiceTitle: "Slack", State: s},
					{Type: "issue", Title: s, URL: "https://linear.app/acme/issue/ENG-9", Service: "linear", ServiceTitle: s, State: "Blocked"},
				}},
			{Name: "Lin", InProgress: []StandupEntryRow{{Type: "issue", Title: s, URL: "https://linear.app/acme/issue/ENG-8", Service: "linear", ServiceTitle: "Linear", State: "In Progress"}}},
			{Name: s, Done: []StandupEntryRow{{Type: s, Title: s, URL: s, Service: s, ServiceTitle: s, State: s}}},
			{Name: "Grace", NoActivity: true},
			{Name: s, NoActivity: true},
		},
		Decisions: decisions,
		Deliveries: []DeliveryRow{
			{Channel: "slack", Target: "#standup " + s, Status: "sent", Attempts: 1, SentAt: &sent},
			{Channel: "email", Target: "team@example.com, " + s, Status: "failed", Attempts: 2, LastError: s, NextTryAt: &next},
			{Channel: "slack", Target: s, Status: "pending", NextTryAt: &next},
			{Channel: "email", Target: s, Status: "abandoned", Attempts: 5, LastError: "smtp: 550 " + s},
			{Channel: s, Target: s, Status: s, LastError: s},
		},
	}
}

// peopleFixture is four people with s in every text field: one with
// identities in every service, one with a single identity, one without
// a name and one without identities.
func peopleFixture(s string) []PersonRow {
	return []PersonRow{
		{ID: "p1", Name: s, Emails: []string{"ada@example.com", s}, Identities: []IdentityRow{
			{Service: "slack", ServiceTitle: "Slack", ExternalID: "U123", Handle: s, Email: "ada@example.com"},
			{Service: "github", ServiceTitle: "GitHub", ExternalID: "ada", Handle: "ada"},
			{Service: "linear", ServiceTitle: s, ExternalID: s, Handle: s, Email: s},
		}},
		{ID: "p/2?x", Name: "Lin", Emails: []string{"lin@example.com"}, Identities: []IdentityRow{
			{Service: "linear", ServiceTitle: "Linear", ExternalID: "lin-uuid", Handle: "Lin"},
		}},
		{ID: "p3", Identities: []IdentityRow{{Service: s, ExternalID: s}}},
		{ID: "p4", Name: s},
	}
}

// plansFixture is the plan comparison as the server builds it from
// pmassist.Plans, with current the tier in use; every plan above it may be
// upgraded to unless subscribed.
func plansFixture(current string, subscribed bool) []PlanCard {
	cards := []PlanCard{
		{Tier: "free", Name: "Free", PriceUSD: 0, Integrations: 1, ItemsPerMonth: 100, RatePerMinute: 60,
			Features: []string{"Standups and decisions on demand"}},
		{Tier: "pro", Name: "Pro", PriceUSD: 29, Integrations: -1, ItemsPerMonth: -1, RatePerMinute: 600,
			Features: []string{"Standups and decisions on demand", "Scheduled standups with Slack and email delivery"}},
		{Tier: "enterprise", Name: "Enterprise", PriceUSD: 99, Integrations: -1, ItemsPerMonth: -1, RatePerMinute: 3000,
			Features: []string{"Everything in Pro", "Your own OAuth apps", "Custom detection rules", "Audit log export"}},
	}
	above := false
	for i := range cards {
		if cards[i].Tier == current {
			cards[i].Current = true
			above = true
			continue
		}
		cards[i].CanUpgrade = above && !subscribed
	}
	return cards
}

// billingFixture is the billing page with s in every text field and every
// part switched on: an owner in the grace period of a subscription, with
// paused connections, a failed checkout and a plan named s.
func billingFixture(s string) BillingPage {
	plans := plansFixture("pro", false)
	plans = append(plans, PlanCard{Tier: s, Name: s, PriceUSD: 1200, Integrations: 5, ItemsPerMonth: 10000,
		RatePerMinute: 1, Features: []string{s}, CanUpgrade: true})
	p := BillingPage{
		Layout:            layout(s),
		Enabled:           true,
		IsOwner:           true,
		Tier:              s,
		Status:            s,
		CurrentPeriodEnd:  s,
		CancelAtPeriodEnd: true,
		GraceUntil:        s,
		HasSubscription:   true,
		ItemsUsed:         80,
		ItemsLimit:        100,
		IntegrationsUsed:  1,
		IntegrationsLimit: 1,
		RatePerMinute:     600,
		Period:            s,
		PausedConnections: 2,
		Plans:             plans,
		Error:             s,
	}
	p.Active = "billing"
	return p
}

// auditFixture is the audit log of an enterprise tenant with s in every
// text field: known and unknown actions, events with and without details,
// a system event, an event without a time, and more pages after this one.
func auditFixture(s string) AuditPage {
	p := AuditPage{
		Layout: layout(s),
		Events: []AuditRow{
			{At: testNow.Add(-2 * time.Minute), Actor: "ada@example.com", Action: "billing.tier_changed", Target: s,
				Details: []AuditDetail{{Key: "from", Value: "pro"}, {Key: "to", Value: "enterprise"}, {Key: s, Value: s}}},
			{At: testNow.Add(-3 * time.Hour), Actor: s, Action: "connection.connected", Target: "Slack " + s,
				Details: []AuditDetail{{Key: "workspace", Value: s}}},
			{At: testNow.Add(-26 * time.Hour), Actor: "system", Action: "connection.paused", Target: "c1"},
			{At: testNow.Add(-40 * 24 * time.Hour), Actor: s, Action: s, Target: s, Details: []AuditDetail{{Key: "note", Value: s}}},
			{Actor: s, Action: "audit.exported", Target: "csv"},
		},
		NextHref:  "/audit?cursor=abc&x=" + s,
		Paged:     true,
		CanExport: true,
	}
	p.Active = "audit"
	return p
}
