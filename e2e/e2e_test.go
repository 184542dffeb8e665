package e2e

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

// TestBrowser is the whole run: the journey with JavaScript, then the pass
// without it, on one appliance; at the end every page, answer and log line
// is swept for secrets.
func TestBrowser(t *testing.T) {
	root := startChromium(t) // skips before anything starts without Chromium
	e := newEnv(t)
	// Cleanups run last first, so this one runs first: it stops the
	// appliance (the sweep then sees its last log lines too), sweeps for
	// secrets and saves the pages when anything failed, the sweep included.
	t.Cleanup(func() {
		e.t = t // the subtests have ended
		e.close()
		e.sweep()
		e.saveArtifacts()
	})

	t.Run("journey", func(t *testing.T) { journey(t, e, root) })
	if t.Failed() {
		return
	}
	t.Run("without JavaScript", func(t *testing.T) { withoutJavaScript(t, e, root) })
	if t.Failed() {
		return
	}
	apiAnswers(t, e)
}

// journey is a person's first day with JavaScript on: setup, sign-in,
// connections, ingestion, decisions, search, standups, billing, the
// operator console and signing out; every page is checked for injected
// script.
func journey(t *testing.T, e *env, root context.Context) {
	e.t = t
	b := e.newBrowser(root, "js", tab{ownCookies: true})

	// First-run setup: the operator account and the first workspace.
	b.open("first visit", "/")
	b.wantPath("first visit goes to the setup", "/setup")
	b.do("filling in the setup form",
		chromedp.SendKeys(chromedp.ID("f-name"), "Olivia Owner"),
		chromedp.SendKeys(chromedp.ID("f-email"), e.email),
		chromedp.SendKeys(chromedp.ID("f-password"), e.password),
		chromedp.SendKeys(chromedp.ID("f-tenant_name"), "Acme"))
	b.submit("setup", chromedp.Click(chromedp.CSS(`form[action="/setup"] button[type=submit]`)))
	b.wantPath("after setup", "/")
	b.wantText("after setup", "Welcome! Acme is ready.", "Dashboard")
	b.noteSession()

	// Out and in again through the login form.
	logOut(b)
	logIn(b, e.email, e.password)

	// Connect the three services through the stand-ins' consent pages.
	b.open("integrations", "/integrations")
	b.wantText("integrations before connecting", "No connections yet")
	for i, svc := range []pmassist.Service{pmassist.ServiceSlack, pmassist.ServiceLinear, pmassist.ServiceGitHub} {
		title := svc.Title()
		b.submit("connect "+title, chromedp.Click(xpath(`//a[normalize-space(.)=%s]`, "Connect "+title)))
		if loc := b.location(); strings.HasPrefix(loc, e.base) {
			t.Fatalf("Connect %s stayed on the appliance (%s), want the stand-in's consent page", title, loc)
		}
		b.wantText(title+" consent page", e.apps[svc].ClientID+" is requesting permission")
		b.submit("allow "+title, chromedp.Click(chromedp.CSS(`button[name="decision"][value="allow"]`)))
		b.wantPath("back from "+title, "/integrations?connected="+string(svc))
		if n := b.count("table.conn-table tbody tr"); n != i+1 {
			t.Fatalf("after connecting %s the Integrations page lists %d connections, want %d", title, n, i+1)
		}
	}
	b.wantText("integrations after connecting", "Acme", "Connected")

	// Run each ingestion by hand, then wait until every one succeeded.
	for i := 1; i <= 3; i++ {
		b.open("integrations before run", "/integrations")
		b.submit(fmt.Sprintf("run now #%d", i), chromedp.Click(chromedp.CSS(
			fmt.Sprintf(`table.conn-table tbody tr:nth-child(%d) form[action$="/run"] button`, i))))
		b.wantPath("after run now", "/jobs")
		b.wantText("after run now", "Jobs")
	}
	waitForIngestion(b)
	// Items reach the search index within seconds of being stored; wait
	// for it rather than for a while.
	ctx, cancel := context.WithTimeout(context.Background(), actionTimeout)
	if err := e.m.Index.WaitIdle(ctx); err != nil {
		t.Fatalf("waiting for the search index: %v", err)
	}
	cancel()
	b.open("integrations after ingestion", "/integrations")
	// (A scheduled run may have started since: the first ones come within
	// minutes of connecting.)
	if n, failed := b.count(".last-run"), b.count(".last-run .job-state-error"); n != 3 || failed != 0 {
		t.Errorf("the Integrations page shows a last run for %d connections (%d failed), want 3 (none)", n, failed)
	}

	// Refresh one token by hand (a rotating refresh token is spent).
	b.submit("refresh Linear", chromedp.Click(xpath(
		`//table[contains(@class,"conn-table")]//tr[.//div[contains(@class,"muted") and starts-with(normalize-space(.), %s)]]//form[contains(@action,"/refresh")]//button`, "Linear")))
	b.wantText("after refreshing Linear", "is healthy.")

	// The dashboard sums it up.
	b.open("dashboard", "/")
	b.wantText("dashboard", "Recent decisions", "Ingestion activity", "Slack", "Linear", "GitHub")
	if b.count(".recent-list .recent-item") == 0 {
		t.Error("the dashboard lists no recent decision")
	}

	// Detected decisions; confirm the planted one on its page.
	b.open("decisions", "/decisions")
	const planted = "Postgres for the event store"
	b.wantText("decisions", planted, "Final call", "ship the importer", "Adopt a strict CSP", "token storage")
	b.submit("open the planted decision", chromedp.Click(xpath(`//h3[contains(@class,"decision-title")]/a[contains(., %s)]`, planted)))
	if !strings.HasPrefix(b.location(), e.base+"/decisions/") {
		t.Fatalf("the decision's link went to %s", b.location())
	}
	if got := b.text(".decision-meta .chip"); got != "Proposed" {
		t.Errorf("the planted decision's status badge reads %q, want Proposed", got)
	}
	b.submit("confirm the planted decision", chromedp.Click(chromedp.CSS(`.page-actions form[action$="/status"] button.btn-confirm`)))
	if got := b.text(".decision-meta .chip"); got != "Accepted" {
		t.Errorf("after Confirm the status badge reads %q, want Accepted", got)
	}
	b.wantText("after confirming", "is now accepted.")

	// A decision added by hand, with markup in its title and summary.
	b.open("decisions before adding", "/decisions")
	b.do("filling in a new decision",
		chromedp.SendKeys(chromedp.ID("new-title"), xssManualTitle),
		chromedp.SendKeys(chromedp.ID("new-summary"), xssManualSummary),
		chromedp.SetValue(chromedp.ID("new-status"), "proposed"))
	b.submit("add a decision", chromedp.Click(chromedp.CSS(`#new-decision form button[type=submit]`)))
	b.wantText("the added decision", xssManualTitle, xssManualSummary)
	b.open("decisions with the added one", "/decisions")
	b.submit("confirm the added decision", chromedp.Click(xpath(
		`//li[contains(@class,"decision")][.//h3[contains(@class,"decision-title")]/a[normalize-space(.)=%s]]//button[contains(@class,"btn-confirm")]`, xssManualTitle)))
	b.wantText("after confirming the added decision", "“"+xssManualTitle+"” is now accepted.")

	// Search: a quoted phrase and filters.
	search(b)

	// A standup for the previous working day.
	b.open("standups", "/standups")
	b.submit("generate a standup", chromedp.Click(chromedp.CSS(`form[action="/standups"] button[type=submit]`)))
	if !strings.HasPrefix(b.location(), e.base+"/standups/") {
		t.Fatalf("generating went to %s, want the standup's page", b.location())
	}
	b.wantText("the standup", "Standup for", "generated.", "Alice Martin", "Bob Chen", xssPersonName)
	if n := b.count(".standup-people .person-card"); n < 3 {
		t.Errorf("the standup has %d people with activity, want at least 3", n)
	}
	if b.count(".standup-people .entry-group-done") == 0 || b.count(".standup-people .entry-group-blockers") == 0 {
		t.Error("the standup has no Done or no Blockers")
	}
	b.open("people", "/people")
	b.wantText("people", "alice@acme.test", xssPersonName)

	billing(b)

	// Every page again, in a tab of the same session that ignores the
	// Content Security Policy: only the escaping keeps planted markup from
	// running there.
	everyPage(e.newBrowser(b.ctx, "js-no-csp", tab{bypassCSP: true}))

	// Out: the session ends and pages ask for a sign-in again.
	b.open("back from Stripe", "/")
	logOut(b)
	b.open("a page after logging out", "/decisions")
	b.wantPath("a page after logging out", "/login")
}

// everyPage visits the operator console and every other page, the
// decisions with planted titles included, checking their headings and
// that planted text shows as text.
func everyPage(b *browser) {
	t := b.t
	for _, p := range []struct{ path, heading string }{
		{"/", "Dashboard"}, {"/decisions", "Decisions"}, {"/search?q=importer", "Search"}, {"/standups", "Standups"},
		{"/people", "People"}, {"/integrations", "Integrations"}, {"/jobs", "Jobs"}, {"/settings", "Settings"},
		{"/members", "Members"}, {"/tokens", "API tokens"}, {"/billing", "Billing"}, {"/audit", "Audit log"},
		{"/operator", "System"}, {"/operator/tenants", "Tenants"}, {"/operator/jobs", "Jobs"}, {"/operator/backups", "Backups"},
	} {
		b.open("page "+p.path, p.path)
		if got := b.text("main h1"); got != p.heading {
			t.Errorf("%s: the heading reads %q, want %q", p.path, got, p.heading)
		}
		switch p.path {
		case "/":
			b.wantText("dashboard", xssManualTitle)
		case "/decisions":
			b.wantText("decisions", xssManualTitle, xssManualSummary, "<script>window.__xss=2</script>", xssLinearTitle, "<iframe srcdoc=")
		case "/search?q=importer":
			b.wantText("search", "<script>window.__xss=2</script>")
		case "/people":
			b.wantText("people", xssPersonName)
		case "/operator/tenants":
			b.wantText("operator tenants", "Acme", "enterprise")
		case "/audit":
			b.wantText("audit log", "Slack", "Linear", "GitHub")
		}
	}
	// The newest standup (the pass without JavaScript has not run yet).
	b.open("standups", "/standups")
	b.submit("the latest standup", chromedp.Click(chromedp.CSS(".standup-permalink a")))
	b.wantText("the latest standup", xssPersonName, "Adopt a strict CSP")
	for _, title := range []string{"the importer <img", "Adopt a strict CSP", "token storage", xssManualTitle} {
		b.open("decisions before "+title, "/decisions")
		b.submit("the decision "+title, chromedp.Click(xpath(`//h3[contains(@class,"decision-title")]/a[contains(., %s)]`, title)))
		b.wantText("the decision "+title, title)
	}
	// Search as you type swaps fetched results into the page.
	b.open("search as you type", "/search")
	b.do("typing a search", chromedp.SendKeys(chromedp.ID("search"), "vendor contract"),
		chromedp.WaitVisible(chromedp.CSS("#search-results .result")))
	b.record("search as you type", false)
	b.noScriptRan("search as you type")
	b.wantText("search as you type", `onerror=alert("xss-blocker")`)
	if u, _ := url.Parse(b.location()); u.Query().Get("q") != "vendor contract" {
		t.Errorf("search as you type left the URL at %s", b.location())
	}
}

func logOut(b *browser) {
	b.t.Helper()
	b.submit("log out", chromedp.Click(chromedp.CSS(`.sidebar form[action="/logout"] button[type=submit]`)))
	b.wantPath("after logging out", "/login")
	b.wantText("after logging out", "You have been signed out.", "Sign in")
}

func logIn(b *browser, email, pw string) {
	b.t.Helper()
	b.open("login", "/login")
	b.do("filling in the login form",
		chromedp.SendKeys(chromedp.ID("f-email"), email),
		chromedp.SendKeys(chromedp.ID("f-password"), pw))
	b.submit("log in", chromedp.Click(chromedp.CSS(`form[action="/login"] button[type=submit]`)))
	b.wantPath("after logging in", "/")
	b.wantText("after logging in", "Dashboard", "Log out")
	b.noteSession()
}

// waitForIngestion reloads the Jobs page until the newest job of each
// service has ended, and fails unless all of them succeeded.
func waitForIngestion(b *browser) {
	b.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		b.do("loading the jobs", chromedp.Navigate(b.e.base+"/jobs"))
		newest := get(b, "reading the jobs", chromedp.Evaluate[map[string]string](`(() => {
			const out = {};
			for (const row of document.querySelectorAll(".jobs-table tbody tr")) {
				const svc = row.querySelector(".person-name").textContent.trim();
				if (!(svc in out)) out[svc] = row.querySelector("[data-job-label]").textContent.trim();
			}
			return out;
		})()`))
		done := len(newest) == 3
		for _, status := range newest {
			if status == pmassist.JobQueued || status == pmassist.JobRunning {
				done = false
			}
		}
		if done {
			b.checkPage("jobs after ingestion", nil)
			for svc, status := range newest {
				if status != pmassist.JobSucceeded {
					b.t.Fatalf("the %s ingestion ended %s", svc, status)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			b.record("ingestion did not end", true)
			b.t.Fatalf("ingestion did not end within a minute: %v", newest)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// search looks for a quoted phrase with service and type filters through
// the form, then for planted markup in results and snippets.
func search(b *browser) {
	t := b.t
	const phrase = `"append-only events table"`
	b.open("search", "/search")
	b.do("filling in the search form",
		chromedp.SendKeys(chromedp.ID("search"), phrase),
		chromedp.Click(chromedp.CSS("details.search-filters > summary")),
		chromedp.SetValue(chromedp.ID("search-service"), "slack"),
		chromedp.SetValue(chromedp.ID("search-type"), "message"))
	b.submit("search with a phrase and filters", chromedp.Click(chromedp.CSS(`.search-bar button[type=submit]`)))
	u, err := url.Parse(b.location())
	if err != nil || u.Path != "/search" || u.Query().Get("q") != phrase || u.Query().Get("service") != "slack" || u.Query().Get("type") != "message" {
		t.Fatalf("the search form went to %s", b.location())
	}
	if n := b.count("#search-results .result"); n == 0 {
		t.Fatalf("no result for %s in Slack messages: %q", phrase, b.text("#search-results"))
	}
	marks := get(b, "reading the highlights", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#search-results .result-snippet mark"), m => m.textContent.toLowerCase())`))
	if !strings.Contains(strings.Join(marks, " "), "append") {
		t.Errorf("the snippets highlight %q, want the phrase's words", marks)
	}
	b.wantText("search results", "Postgres for the event store")
	metas := get(b, "reading the results' services", chromedp.Evaluate[[]string](
		`Array.from(document.querySelectorAll("#search-results .result-meta"), m => m.innerText)`))
	for _, m := range metas {
		if !strings.Contains(m, "Slack") || !strings.Contains(m, "Message") {
			t.Errorf("a result outside the filters: %q", m)
		}
	}

	// Planted markup in results and snippets.
	b.open("search for planted text", "/search?q=importer")
	b.wantText("search for planted text", "<script>window.__xss=2</script>")
	if b.count("#search-results .result-snippet mark") == 0 {
		t.Error("the results for importer have no highlight")
	}
	b.open("search for planted text in decisions", "/search?q=CSP&type=decision")
	b.wantText("search for planted text in decisions", xssLinearTitle)
}

// billing upgrades from Pro to Enterprise through the Stripe stand-in.
func billing(b *browser) {
	t, e := b.t, b.e
	b.open("billing", "/billing")
	if got := b.text(".billing-summary .card-value"); got != "Pro" {
		t.Errorf("the billing page shows the plan %q, want Pro", got)
	}
	b.submit("upgrade", chromedp.Click(xpath(`//button[normalize-space(.)=%s]`, "Upgrade to Enterprise")))
	loc := b.location()
	cs, ok := e.stripe.LastCheckout()
	if !ok || !strings.HasPrefix(loc, fake.StripeCheckoutURL) || loc != cs.URL {
		t.Fatalf("Upgrade went to %s, want the Checkout session's URL (%+v)", loc, cs)
	}
	if cs.PriceID != "price_e2e_enterprise" || cs.Mode != "subscription" {
		t.Errorf("checkout session %+v, want a subscription to the Enterprise price", cs)
	}
	// The customer pays; Stripe tells the appliance with a signed webhook.
	if _, err := e.stripe.CompleteCheckout(cs.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	obj, _ := e.stripe.CheckoutSessionObject(cs.ID)
	payload, sig := fake.StripeEvent(e.webhookSecret, "evt_e2e_checkout", pmassist.EventCheckoutCompleted, obj, time.Now())
	req, _ := http.NewRequest("POST", e.base+"/api/v1/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Stripe-Signature", sig)
	e.send(req, http.StatusOK)
	// Stripe sends the customer back to the success URL.
	if !strings.HasPrefix(cs.SuccessURL, e.base+"/billing") {
		t.Fatalf("success URL %s is not the billing page", cs.SuccessURL)
	}
	b.open("billing after checkout", strings.TrimPrefix(cs.SuccessURL, e.base))
	if got := b.text(".billing-summary .card-value"); got != "Enterprise" {
		t.Errorf("after the checkout the billing page shows the plan %q, want Enterprise", got)
	}
	b.wantText("billing after checkout", "Thank you!", "Manage billing")
	b.submit("manage billing", chromedp.Click(xpath(`//button[normalize-space(.)=%s]`, "Manage billing")))
	if loc := b.location(); !strings.HasPrefix(loc, fake.StripePortalURL) {
		t.Errorf("Manage billing went to %s, want the Stripe portal", loc)
	}
}

// withoutJavaScript signs in on a fresh browser context with script
// execution off and uses the forms: API token, invitation, confirming a
// decision, a standup, search and signing out.
func withoutJavaScript(t *testing.T, e *env, root context.Context) {
	e.t = t
	b := e.newBrowser(root, "nojs", tab{noJS: true, ownCookies: true})
	logIn(b, e.email, e.password)

	// An API token, shown once. app.js would reveal the Copy button: it
	// stays hidden, so no script runs in this tab.
	b.open("tokens", "/tokens")
	b.do("naming a token", chromedp.SendKeys(chromedp.ID("f-name"), "e2e script"))
	b.submit("create a token", chromedp.Click(chromedp.CSS(`form[action="/tokens"] button[type=submit]`)))
	token := get(b, "reading the token", chromedp.Value(chromedp.ID("new-token-value")))
	if !strings.HasPrefix(token, "pma_") {
		t.Fatalf("the new token reads %q", token)
	}
	e.mustNotLog(token)
	e.apiToken = token
	if b.count(`button[data-copy][hidden]`) != 1 {
		t.Fatal("the Copy button is not hidden: JavaScript ran in the tab without JavaScript")
	}
	b.wantText("tokens", "e2e script")

	// An invitation link.
	b.open("members", "/members")
	b.do("filling in an invitation", chromedp.SendKeys(chromedp.ID("f-email"), "new.member@acme.test"))
	b.submit("invite", chromedp.Click(chromedp.CSS(`form[action="/members/invite"] button[type=submit]`)))
	link := get(b, "reading the invitation link", chromedp.Value(chromedp.ID("invite-url")))
	if !strings.HasPrefix(link, e.base+"/invite/") {
		t.Fatalf("the invitation link reads %q", link)
	}
	e.mustNotLog(strings.TrimPrefix(link, e.base+"/invite/"))
	b.wantText("members", "new.member@acme.test")

	// Confirm the first proposed decision.
	b.open("proposed decisions", "/decisions?status=proposed")
	title := b.text(".decision-list > li:first-child .decision-title")
	b.submit("confirm a decision", chromedp.Click(chromedp.CSS(`.decision-list > li:first-child .decision-actions button.btn-confirm`)))
	b.wantText("after confirming", "“"+title+"” is now accepted.")
	b.open("accepted decisions", "/decisions?status=accepted")
	b.wantText("accepted decisions", title)

	// A standup for the day before the last of the week.
	day := e.week.Days[len(e.week.Days)-2].Format("2006-01-02")
	b.open("standups", "/standups")
	b.do("choosing the day", chromedp.SetValue(chromedp.ID("f-date"), day))
	b.submit("generate a standup", chromedp.Click(chromedp.CSS(`form[action="/standups"] button[type=submit]`)))
	b.wantText("the standup", "Standup for "+day+" generated.")
	if n := b.count(".standup-people .person-card"); n == 0 {
		t.Error("the standup made without JavaScript has no people")
	}

	// Search is a GET form.
	b.open("search", "/search")
	b.do("typing a search", chromedp.SendKeys(chromedp.ID("search"), "rotate on-call"))
	b.submit("search", chromedp.Click(chromedp.CSS(`.search-bar button[type=submit]`)))
	if b.count("#search-results .result") == 0 {
		t.Error("no result for rotate on-call")
	}

	logOut(b)
}

// apiAnswers reads the API with the token made without JavaScript, so that
// its answers are swept for secrets too.
func apiAnswers(t *testing.T, e *env) {
	e.t = t
	for _, path := range []string{"/api/v1/me", "/api/v1/integrations", "/api/v1/integrations/apps", "/api/v1/integrations/slack/status",
		"/api/v1/jobs", "/api/v1/items?limit=200", "/api/v1/decision-logs?limit=200", "/api/v1/decision-logs/export?format=json",
		"/api/v1/search?q=decision", "/api/v1/standups", "/api/v1/people", "/api/v1/members", "/api/v1/invitations",
		"/api/v1/billing", "/api/v1/tenant/config", "/api/v1/audit", "/api/v1/admin/tenants", "/api/v1/admin/jobs",
		"/api/v1/admin/system", "/api/v1/admin/backups"} {
		e.apiGet(e.apiToken, path)
	}
}
