package ui

import (
	"regexp"
	"strings"
	"testing"
)

// billingForms returns the opening tag and body of every form of html whose
// action is action.
func billingForms(html, action string) [][2]string {
	var out [][2]string
	for _, m := range formRe.FindAllStringSubmatch(html, -1) {
		open := m[0][:strings.Index(m[0], ">")+1]
		if strings.Contains(open, ` action="`+action+`"`) {
			out = append(out, [2]string{open, m[1]})
		}
	}
	return out
}

// mustForms checks that html holds n POST forms to action, each with the
// CSRF token of layout("Ada"), and returns their bodies.
func mustForms(t *testing.T, html, action string, n int) []string {
	t.Helper()
	forms := billingForms(html, action)
	if len(forms) != n {
		t.Fatalf("%d forms to %s, want %d", len(forms), action, n)
	}
	var bodies []string
	for _, f := range forms {
		if !strings.HasPrefix(f[0], `<form method="post"`) {
			t.Errorf("form to %s is not a POST form: %s", action, f[0])
		}
		if !csrfRe.MatchString(f[1]) {
			t.Errorf("form to %s lacks the CSRF token: %s", action, f[1])
		}
		bodies = append(bodies, f[1])
	}
	return bodies
}

// billingPage is an owner's billing page with Stripe configured on the
// free tier, without a subscription.
func billingPage() BillingPage {
	p := BillingPage{
		Layout:            layout("Ada"),
		Enabled:           true,
		IsOwner:           true,
		Tier:              "free",
		Status:            "none",
		ItemsUsed:         42,
		ItemsLimit:        100,
		IntegrationsUsed:  1,
		IntegrationsLimit: 1,
		RatePerMinute:     60,
		Period:            "2026-11",
		Plans:             plansFixture("free", false),
	}
	p.Layout.Title, p.Layout.Banners, p.Layout.Flash, p.Layout.FlashErr = "", nil, "", ""
	p.Active = "billing"
	return p
}

// section returns the part of html from the element with id up to the
// next h2, or fails.
func section(t *testing.T, html, id string) string {
	t.Helper()
	i := strings.Index(html, `id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no element with id %q", id)
	}
	rest := html[i:]
	if j := strings.Index(rest[1:], "<h2 "); j >= 0 {
		rest = rest[:j+1]
	}
	return rest
}

func TestBillingFreeOwnerCanUpgrade(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "billing", billingPage())

	mustContain(t, html, "<h1>Billing</h1>",
		`<p class="card-value">Free</p>`, "No subscription",
		// Usage meters drawn by the shared meter partial, and the rate limit as text.
		`<svg class="meter-bar meter-ok" width="100%" height="8" role="img" aria-label="Items this month: 42 of 100 used">`,
		`<svg class="meter-bar meter-full" width="100%" height="8" role="img" aria-label="Integrations: 1 of 1 used">`,
		`<span class="meter-used">60</span> <span class="meter-limit">requests per minute</span>`,
		"Items counted for November 2026",
		// The comparison: prices, limits, features and the current plan.
		`<span class="plan-amount">$0</span></p>`,
		`<span class="plan-amount">$29</span> <span class="plan-period">/ month</span>`,
		`<span class="plan-amount">$99</span> <span class="plan-period">/ month</span>`,
		"<li>1 integration</li>", "<li>Unlimited integrations</li>",
		"<li>100 items per month</li>", "<li>Unlimited items</li>",
		"<li>60 API requests per minute</li>", "<li>600 API requests per minute</li>", "<li>3,000 API requests per minute</li>",
		"<span>Scheduled standups with Slack and email delivery</span>",
		`<li class="plan-card is-current">`, `<span class="badge badge-accent">Current plan</span>`,
		"Upgrade to Pro</button>", "Upgrade to Enterprise</button>")
	if n := strings.Count(html, "Current plan</span>"); n != 1 {
		t.Errorf("%d current-plan markers, want 1", n)
	}

	bodies := mustForms(t, html, "/billing/checkout", 2)
	mustContain(t, bodies[0], `<input type="hidden" name="tier" value="pro">`)
	mustContain(t, bodies[1], `<input type="hidden" name="tier" value="enterprise">`)
	mustForms(t, html, "/billing/portal", 0)
	mustLack(t, html, "Manage billing</button>", "Ask an owner", `role="alert"`)
	// Every button says what it does.
	for _, b := range regexp.MustCompile(`<button[^>]*>([^<]*)`).FindAllStringSubmatch(html, -1) {
		if strings.TrimSpace(b[1]) == "" {
			t.Errorf("button without text: %s", b[0])
		}
	}
}

func TestBillingProActiveCanManage(t *testing.T) {
	tpl := mustNew(t)
	p := billingPage()
	p.Tier, p.Status, p.HasSubscription, p.CurrentPeriodEnd = "pro", "active", true, "Dec 31"
	p.ItemsLimit, p.IntegrationsUsed, p.IntegrationsLimit, p.RatePerMinute = -1, 3, -1, 600
	p.Plans = plansFixture("pro", true)
	html := render(t, tpl, "billing", p)

	mustContain(t, html, `<p class="card-value">Pro</p>`,
		`<span class="badge badge-ok"><span class="dot dot-ok" aria-hidden="true"></span>Active</span>`,
		"Renews on Dec 31.", "Unlimited on your plan", "Change through Manage billing.")
	// The portal is the page's main action, in the header.
	actions := regexp.MustCompile(`(?s)<div class="page-actions">.*?</div>`).FindString(html)
	mustContain(t, actions, `action="/billing/portal"`, "Manage billing</button>")
	mustForms(t, html, "/billing/portal", 1)
	// A second checkout would charge twice.
	mustForms(t, html, "/billing/checkout", 0)
	mustLack(t, html, "Upgrade to", "No subscription", `class="meter-bar`)

	p.CancelAtPeriodEnd = true
	html = render(t, tpl, "billing", p)
	mustContain(t, html, `<span class="badge badge-warn"><span class="dot dot-warn" aria-hidden="true"></span>Cancels on Dec 31</span>`,
		"You keep the Pro plan until then")
	mustLack(t, html, "Renews on")
}

func TestBillingGracePeriodBanner(t *testing.T) {
	tpl := mustNew(t)
	p := billingPage()
	p.Tier, p.Status, p.HasSubscription, p.GraceUntil = "pro", "past_due", true, "Dec 5"
	p.Plans = plansFixture("pro", true)
	html := render(t, tpl, "billing", p)

	mustContain(t, html, "Payment failed — grace period until Dec 5", `<span class="badge badge-error">`)
	banner := regexp.MustCompile(`(?s)<div class="banner banner-error banner-wrap" role="alert">.*?</div>`).FindString(html)
	if banner == "" {
		t.Fatal("no grace-period alert banner")
	}
	mustContain(t, banner, "Your last payment failed.", "You keep the Pro plan until Dec 5",
		`action="/billing/portal"`, "Update payment method</button>")
	// The header's Manage billing and the banner's button.
	mustForms(t, html, "/billing/portal", 2)

	// A member is told whom to ask instead.
	p.IsOwner = false
	html = render(t, tpl, "billing", p)
	mustContain(t, html, `<div class="banner banner-error banner-wrap" role="alert">`, "Ask an owner to update the payment method.")
	mustLack(t, html, "Update payment method</button>")
}

func TestBillingMemberSeesNoButtons(t *testing.T) {
	tpl := mustNew(t)
	p := billingPage()
	p.IsOwner = false
	p.Role = "member"
	html := render(t, tpl, "billing", p)
	mustContain(t, html, "Ask an owner to change the plan.", "Current plan</span>", `class="meter-bar`)
	mustForms(t, html, "/billing/checkout", 0)
	mustForms(t, html, "/billing/portal", 0)
	mustLack(t, html, "Upgrade to", "Manage billing</button>", `name="tier"`)

	p.HasSubscription, p.Status = true, "active"
	html = render(t, tpl, "billing", p)
	mustForms(t, html, "/billing/portal", 0)
}

func TestBillingOffIsManagedByOperator(t *testing.T) {
	tpl := mustNew(t)
	p := billingPage()
	p.Enabled, p.Tier, p.ItemsLimit, p.IntegrationsLimit = false, "pro", -1, -1
	p.Plans = plansFixture("pro", false)
	html := render(t, tpl, "billing", p)
	mustContain(t, html, "Managed by your operator",
		"Billing is managed by the operator of this appliance: there is nothing to pay here.",
		"The operator of this appliance sets the plan", `<p class="card-value">Pro</p>`,
		// The comparison is still shown, for information.
		"<li>3,000 API requests per minute</li>")
	mustForms(t, html, "/billing/checkout", 0)
	mustForms(t, html, "/billing/portal", 0)
	mustLack(t, html, "Upgrade to", "Manage billing</button>", "Ask an owner to change")
}

func TestBillingPausedConnections(t *testing.T) {
	tpl := mustNew(t)
	p := billingPage()
	p.IntegrationsUsed, p.PausedConnections = 3, 2
	html := render(t, tpl, "billing", p)
	mustContain(t, html,
		`<div class="banner banner-warn banner-wrap" role="status">`,
		"2 connections are paused because the Free plan allows 1 integration; upgrade to resume them — nothing was deleted.",
		`<a class="banner-link" href="/integrations">Review connections</a>`,
		`2 paused · <a href="/integrations">Review</a>`)

	p.PausedConnections, p.IsOwner = 1, false
	html = render(t, tpl, "billing", p)
	mustContain(t, html, "1 connection is paused because the Free plan allows 1 integration; an owner can upgrade to resume them — nothing was deleted.")

	p.Enabled = false
	html = render(t, tpl, "billing", p)
	mustContain(t, html, "your operator can change the plan to resume them — nothing was deleted.")

	p.PausedConnections = 0
	mustLack(t, render(t, tpl, "billing", p), "paused")
}

func TestBillingErrorAndEscaping(t *testing.T) {
	tpl := mustNew(t)
	p := billingPage()
	p.Error = `Could not start the checkout: <b>stripe</b> said "no"`
	p.Plans[1].Features = []string{`<script>alert(1)</script>`}
	p.Plans[2].Tier = `x"><img src=x>`
	html := render(t, tpl, "billing", p)
	mustContain(t, html, `<div class="flash flash-error" role="alert">`,
		"Could not start the checkout: &lt;b&gt;stripe&lt;/b&gt; said &#34;no&#34;",
		"&lt;script&gt;alert(1)&lt;/script&gt;",
		`<input type="hidden" name="tier" value="x&#34;&gt;&lt;img src=x&gt;">`)
	mustLack(t, html, "<b>stripe", "<script>alert", "<img")
}

func TestBillingHeadingsInOrder(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "billing", billingFixture("Ada"))
	main := html[strings.Index(html, `<main id="main"`):]
	prev := 1
	for _, m := range regexp.MustCompile(`<h([1-6])\b`).FindAllStringSubmatch(main, -1) {
		level := int(m[1][0] - '0')
		if level > prev+1 {
			t.Errorf("heading level jumps from h%d to h%d", prev, level)
		}
		prev = level
	}
	mustContain(t, section(t, main, "billing-plans-title"), "<h3 ")
}

func TestBillingStatusSummary(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    BillingPage
		text string
		kind string
		note string
	}{
		{"off", BillingPage{Status: "active"}, "Managed by your operator", "neutral", "nothing to pay here"},
		{"none", BillingPage{Enabled: true, Status: "none"}, "No subscription", "neutral", ""},
		{"empty", BillingPage{Enabled: true}, "No subscription", "neutral", ""},
		{"active", BillingPage{Enabled: true, Status: "active", CurrentPeriodEnd: "Dec 31"}, "Active", "ok", "Renews on Dec 31."},
		{"trialing", BillingPage{Enabled: true, Status: "trialing", CurrentPeriodEnd: "Dec 31"}, "Trial", "ok", "The trial ends on Dec 31."},
		{"cancels", BillingPage{Enabled: true, Tier: "pro", Status: "active", CurrentPeriodEnd: "Dec 31", CancelAtPeriodEnd: true}, "Cancels on Dec 31", "warn", "keep the Pro plan until then"},
		{"cancels undated", BillingPage{Enabled: true, Status: "active", CancelAtPeriodEnd: true}, "Cancels at the end of the period", "warn", "Free plan"},
		{"grace", BillingPage{Enabled: true, Tier: "enterprise", Status: "past_due", GraceUntil: "Dec 5"}, "Payment failed — grace period until Dec 5", "error", "to keep the Enterprise plan"},
		{"past due", BillingPage{Enabled: true, Status: "unpaid"}, "Payment failed", "error", "Update the payment method"},
		{"incomplete", BillingPage{Enabled: true, Status: "incomplete"}, "Payment incomplete", "warn", ""},
		{"expired", BillingPage{Enabled: true, Status: "incomplete_expired"}, "Checkout expired", "neutral", ""},
		{"paused", BillingPage{Enabled: true, Status: "paused"}, "Paused", "warn", ""},
		{"canceled", BillingPage{Enabled: true, Status: "canceled"}, "Canceled", "neutral", "ended"},
		{"unknown", BillingPage{Enabled: true, Status: "weird"}, "weird", "neutral", ""},
	} {
		got := tc.p.StatusSummary()
		if got.Text != tc.text || got.Kind != tc.kind || !strings.Contains(got.Note, tc.note) {
			t.Errorf("%s: StatusSummary() = %+v, want text %q kind %q note containing %q", tc.name, got, tc.text, tc.kind, tc.note)
		}
	}
}

func TestBillingNames(t *testing.T) {
	for tier, want := range map[string]string{"": "Free", "pro": "Pro", "team": "Team", "élite": "Élite"} {
		if got := (BillingPage{Tier: tier}).PlanName(); got != want {
			t.Errorf("PlanName(%q) = %q, want %q", tier, got, want)
		}
	}
	if got := (BillingPage{Tier: "pro", Plans: []PlanCard{{Tier: "pro", Name: "Pro Plus"}}}).PlanName(); got != "Pro Plus" {
		t.Errorf("PlanName with a card = %q", got)
	}
	for in, want := range map[string]string{"2026-11": "November 2026", "": "", "soon": "soon"} {
		if got := (BillingPage{Period: in}).PeriodLabel(); got != want {
			t.Errorf("PeriodLabel(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range []struct {
		n    int
		want string
	}{{-1, "Unlimited items"}, {1, "1 item"}, {1000, "1,000 items"}, {0, "0 items"}} {
		if got := limitText(tc.n, "item", "items", "Unlimited items"); got != tc.want {
			t.Errorf("limitText(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}
