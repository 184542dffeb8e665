package ui

import (
	"strings"
	"testing"
	"time"
)

func TestAuditActionText(t *testing.T) {
	for code, want := range map[string]string{
		"billing.tier_changed":      "Plan changed",
		"connection.paused":         "Connection paused",
		"connection.resumed":        "Connection resumed",
		"member.role_changed":       "Role changed",
		"audit.exported":            "Audit log exported",
		"decisions.exported":        "Decisions exported",
		"something.new":             "something.new",
		"":                          "",
		"<script>alert(1)</script>": "<script>alert(1)</script>",
	} {
		if got := (AuditRow{Action: code}).ActionText(); got != want {
			t.Errorf("ActionText(%q) = %q, want %q", code, got, want)
		}
	}
	r := AuditRow{At: time.Date(2026, 11, 2, 10, 4, 5, 0, time.FixedZone("CET", 3600))}
	if got := r.When(); got != "2026-11-02 09:04:05 UTC" {
		t.Errorf("When() = %q", got)
	}
	if got := (AuditRow{}).When(); got != "" {
		t.Errorf("zero When() = %q", got)
	}
}

func TestAuditPageEnterprise(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "audit", auditFixture("Ada"))
	mustContain(t, html,
		`href="/api/v1/audit/export?format=csv"`, `>Export CSV</a>`,
		`href="/api/v1/audit/export?format=json"`, `>Export JSON</a>`,
		// Time in UTC and relative, the full time on hover.
		`<time datetime="2025-03-14T11:58:00Z" title="2025-03-14T11:58:00Z">2025-03-14 11:58:00 UTC</time>`, `2 min ago`,
		// Actions in words, the code beside them; unknown codes as they are.
		`Plan changed`, `billing.tier_changed`, `Connection added`, `Connection paused`, `Audit log exported`,
		// Details as key: value.
		`<span class="muted">from:</span> pro`, `<span class="muted">to:</span> enterprise`,
		// Paging.
		`href="/audit?cursor=abc&amp;x=Ada" rel="next">Older</a>`, `href="/audit">Newest</a>`)
	mustLack(t, html, "Enterprise plan")
}

func TestAuditPageBelowEnterpriseAndEmpty(t *testing.T) {
	tpl := mustNew(t)
	p := AuditPage{Layout: layout("Ada")}
	p.Layout.Banners = nil
	html := render(t, tpl, "audit", p)
	mustContain(t, html, "Audit log export is part of the Enterprise plan.", `<a href="/billing">See plans</a>`, "No events yet")
	mustLack(t, html, "/api/v1/audit/export", "Older", "Newest")

	// Past the last page: say so and link back.
	p.Paged = true
	html = render(t, tpl, "audit", p)
	mustContain(t, html, "No older events", `<a href="/audit">Back to the newest</a>`)

	// Only a safe link becomes the Older link.
	p = auditFixture("Ada")
	p.NextHref = "javascript:alert(1)"
	html = render(t, tpl, "audit", p)
	mustLack(t, html, "javascript:", ">Older</a>")
}

func TestAuditPageEscapesEverything(t *testing.T) {
	const evil = `<script>alert(1)</script>`
	tpl := mustNew(t)
	p := auditFixture(evil)
	p.Events = append(p.Events, AuditRow{At: testNow, Actor: evil, Action: evil, Target: evil,
		Details: []AuditDetail{{Key: evil, Value: `"><img src=x onerror=alert(1)>`}}})
	html := render(t, tpl, "audit", p)
	if strings.Contains(html, evil) || strings.Contains(html, "<img") {
		t.Fatal("raw markup from an event reached the page")
	}
	mustContain(t, html, `&lt;script&gt;alert(1)&lt;/script&gt;`, `&lt;img src=x onerror=alert(1)&gt;`)
}
