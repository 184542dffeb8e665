package ui

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// operatorSystemFixture is the system overview with s in every text field:
// the index failed, the scheduler stopped and the last backup failed.
func operatorSystemFixture(s string) OperatorSystemPage {
	last := BackupRow{Name: "pmassist-" + s + ".db", Size: 3 << 20, CreatedAt: testNow.Add(-3 * time.Hour)}
	p := OperatorSystemPage{
		Layout: layout(s), Available: true,
		Version: s, Commit: s, StartedAt: testNow.Add(-(3*24 + 4) * time.Hour), Uptime: (3*24 + 4) * time.Hour,
		DataFileBytes: 12_900_000, IndexState: "failed", IndexError: s, IndexDocs: 123_456, IndexVersion: 3,
		SchedulerJobs: 12, GoVersion: s, Goroutines: 42, HeapBytes: 48 << 20,
		BackupsEnabled: true, LastBackup: &last, BackupError: s,
	}
	p.Active = "operator"
	return p
}

// operatorJobsFixture is the jobs of two tenants, one of them gone.
func operatorJobsFixture(s string) OperatorJobsPage {
	started := testNow.Add(-20 * time.Minute)
	finished := started.Add(95 * time.Second)
	p := OperatorJobsPage{Layout: layout(s), Limit: 100, Jobs: []OperatorJobRow{
		{JobRow: JobRow{ID: "j1", Service: "slack", ServiceTitle: "Slack", Trigger: "schedule", Status: "succeeded",
			CreatedAt: started, StartedAt: &started, FinishedAt: &finished, ItemsNew: 1200, ItemsUpdated: 3}, TenantID: "t1", TenantName: s},
		{JobRow: JobRow{ID: "j2", Service: s, ServiceTitle: s, Trigger: s, Status: "failed",
			CreatedAt: started, StartedAt: &started, FinishedAt: &finished, Error: s}, TenantID: s, TenantName: s},
		{JobRow: JobRow{ID: "j3", Service: "github", Trigger: "webhook", Status: "queued", CreatedAt: testNow}, TenantID: "t9"},
	}}
	p.Active = "operator_jobs"
	return p
}

// operatorBackupsFixture is scheduled backups into a folder named s whose
// last run failed.
func operatorBackupsFixture(s string) OperatorBackupsPage {
	failed := testNow.Add(-10 * time.Minute)
	next := testNow.Add(6 * time.Hour)
	backups := []BackupRow{
		{Name: "pmassist-20250314T020000Z.db", Size: 12_900_000, CreatedAt: testNow.Add(-10 * time.Hour)},
		{Name: s, Size: 512, CreatedAt: testNow.Add(-34 * time.Hour)},
	}
	p := OperatorBackupsPage{
		Layout: layout(s), Available: true, Enabled: true, Dir: s, Interval: 24 * time.Hour, Keep: 7,
		LastSuccess: &backups[0], LastError: s, LastErrorAt: &failed, NextAt: &next, Backups: backups,
		DataFileBytes: 13_100_000,
	}
	p.Active = "operator_backups"
	return p
}

// plainLayout takes the title, banners and flashes out of a fixture's
// layout, so that the page's own heading and alerts can be checked.
func plainLayout(l *Layout) {
	l.Title, l.Banners, l.Flash, l.FlashErr = "", nil, "", ""
}

func TestOperatorNav(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "operator_backups", operatorBackupsFixture("Ada"))
	for _, href := range []string{"/operator", "/operator/tenants", "/operator/jobs", "/operator/backups"} {
		mustContain(t, html, `<a class="nav-link" href="`+href+`"`)
	}
	// Twice: the desktop sidebar and the mobile menu.
	if n := strings.Count(html, `<a class="nav-link" href="/operator/backups" aria-current="page">`); n != 2 {
		t.Errorf("%d current Backups links, want 2", n)
	}
	if n := strings.Count(html, `aria-current="page"`); n != 2 {
		t.Errorf("%d current links, want 2", n)
	}

	l := layout("Ada")
	l.Operator = false
	html = render(t, tpl, "members", MembersPage{Layout: l})
	mustLack(t, html, `href="/operator`, "nav-heading")
}

func TestOperatorSystemPage(t *testing.T) {
	tpl := mustNew(t)
	p := operatorSystemFixture("Ada")
	plainLayout(&p.Layout)
	html := render(t, tpl, "operator_system", p)
	mustContain(t, html, "<h1>System</h1>",
		`<p class="card-value">Ada</p>`, // version
		`<p class="card-value">3 days 4 h</p>`,
		`<p class="card-value">12.3 MiB</p>`,
		`<span class="badge badge-error"><span class="dot dot-error" aria-hidden="true"></span>Failed</span>`,
		"<dd>123,456</dd>", "<dd>3</dd>",
		`<span class="badge badge-error"><span class="dot dot-error" aria-hidden="true"></span>Stopped</span>`,
		"<dd>12 <span", "3 h ago</time> · 3.0 MiB",
		`<span class="badge badge-error"><span class="dot dot-error" aria-hidden="true"></span>Failing</span>`,
		"<dd>42</dd>", "<dd>48.0 MiB</dd>",
		`href="/operator/jobs"`, `href="/operator/backups"`)
	bodies := mustForms(t, html, "/operator/reindex", 1)
	mustContain(t, bodies[0], "Rebuild the index</button>")
	mustContain(t, html, `data-confirm="Rebuild the search index?`)

	p.IndexState, p.IndexError, p.SchedulerRunning, p.BackupError = "ready", "", true, ""
	html = render(t, tpl, "operator_system", p)
	mustContain(t, html, "dot-ok\" aria-hidden=\"true\"></span>Ready</span>", "dot-ok\" aria-hidden=\"true\"></span>Running</span>",
		"dot-ok\" aria-hidden=\"true\"></span>Scheduled</span>")
	mustLack(t, html, `role="alert"`, " disabled>")

	p.IndexState, p.BackupsEnabled, p.LastBackup = "building", false, nil
	html = render(t, tpl, "operator_system", p)
	mustContain(t, html, ">Rebuilding</span>", `<button type="submit" class="btn btn-sm" disabled>`, `<span class="badge badge-neutral">Off</span>`, "None yet")

	html = render(t, tpl, "operator_system", OperatorSystemPage{})
	mustContain(t, html, "No system overview")
	mustForms(t, html, "/operator/reindex", 0)
}

func TestOperatorJobsPage(t *testing.T) {
	tpl := mustNew(t)
	p := operatorJobsFixture("Ada")
	plainLayout(&p.Layout)
	html := render(t, tpl, "operator_jobs", p)
	mustContain(t, html, "<h1>Jobs</h1>", "(up to 100)",
		`<div class="strong">Ada</div>`, `<div class="muted small mono">t1</div>`,
		`<div class="strong">Unknown tenant</div>`,
		">Slack</span>", "Scheduled", "Webhook", "1,200 new", "3 updated", "1 min 35 s", "waiting…",
		`<span class="badge badge-status badge-ok">`, `<span class="badge badge-status badge-error">`,
		`<td class="job-error" data-label="Error">Ada</td>`)
	// No polling of tenant-scoped job URLs from the operator's page.
	mustLack(t, html, "data-job-id")

	html = render(t, tpl, "operator_jobs", OperatorJobsPage{})
	mustContain(t, html, "No jobs yet")
}

func TestOperatorBackupsPage(t *testing.T) {
	tpl := mustNew(t)
	p := operatorBackupsFixture("Ada")
	plainLayout(&p.Layout)
	html := render(t, tpl, "operator_backups", p)
	actions := regexp.MustCompile(`(?s)<div class="page-actions">.*?</div>`).FindString(html)
	mustContain(t, actions, `<a class="btn btn-primary" href="/api/v1/admin/backup" download>`, "Download a backup now</a>")
	alert := regexp.MustCompile(`(?s)<div class="banner banner-error banner-wrap" role="alert">.*?</div>`).FindString(html)
	mustContain(t, alert, "The last backup failed", "10 min ago</time>", "</span> Ada</span>")
	mustContain(t, html, "(12.5 MiB)",
		`<p class="mono operator-path">Ada</p>`, "Every 1 day, keeping the newest 7",
		"10 h ago</time></p>", "12.3 MiB · <span class=\"mono\">pmassist-20250314T020000Z.db</span>",
		"in 6 h</time>",
		`Backups in the folder <span class="count">2</span>`,
		`<td class="num nowrap" data-label="Size">512 B</td>`, "1 day ago</time>")
	bodies := mustForms(t, html, "/operator/backups", 1)
	mustContain(t, bodies[0], "Back up to the folder now</button>")
	bodies = mustForms(t, html, "/operator/compact", 1)
	mustContain(t, bodies[0], "Compact the data file</button>")
	mustContain(t, html, `data-confirm="Compact the data file now?`)

	// Without a folder: downloads and compaction still work.
	p.Enabled, p.LastSuccess, p.LastError, p.LastErrorAt, p.NextAt, p.Backups = false, nil, "", nil, nil, nil
	html = render(t, tpl, "operator_backups", p)
	mustContain(t, html, "Scheduled backups are off", "PMASSIST_BACKUP_DIR", `href="/api/v1/admin/backup"`)
	mustForms(t, html, "/operator/backups", 0)
	mustForms(t, html, "/operator/compact", 1)
	mustLack(t, html, `role="alert"`, "Backups in the folder")

	p.Enabled = true
	html = render(t, tpl, "operator_backups", p)
	mustContain(t, html, "No backups in the folder yet", "None yet")

	html = render(t, tpl, "operator_backups", OperatorBackupsPage{})
	mustContain(t, html, "Backups are not available")
	mustLack(t, html, `href="/api/v1/admin/backup"`)
	mustForms(t, html, "/operator/compact", 0)
}

func TestOperatorTenantsUsage(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "operator_tenants", filled("Ada")["operator_tenants"])
	mustContain(t, html, "4,321 of 5,000 items", "1 of 1 integration", "7 items", "3 integrations")
}

func TestFormatBytesAndSpan(t *testing.T) {
	for n, want := range map[int64]string{
		-1: "unknown", 0: "0 B", 1023: "1,023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		1024*1024 - 1: "1.0 MiB", 12_900_000: "12.3 MiB", 150 << 20: "150 MiB", 5 << 30: "5.0 GiB",
	} {
		if got := FormatBytes(n); got != want {
			t.Errorf("FormatBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for v, want := range map[any]string{int(2048): "2.0 KiB", uint64(3 << 20): "3.0 MiB", "x": "unknown", uint64(1 << 63): "unknown"} {
		if got := bytesText(v); got != want {
			t.Errorf("bytesText(%v) = %q, want %q", v, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		-time.Second: "under 1 s", 42 * time.Second: "42 s", 6 * time.Hour: "6 h", 24 * time.Hour: "1 day",
		76 * time.Hour: "3 days 4 h", 30 * time.Minute: "30 min",
	} {
		if got := formatSpan(d); got != want {
			t.Errorf("formatSpan(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestOperatorTenantsStatus(t *testing.T) {
	tpl := mustNew(t)
	p := OperatorTenantsPage{Tenants: []TenantRow{{ID: "t1", Name: "Acme", SubscriptionStatus: "none"}}}
	html := render(t, tpl, "operator_tenants", p)
	mustContain(t, html, `<span class="badge badge-ok">Active</span>`)
	mustLack(t, html, ">none<")
	p.Tenants[0].SubscriptionStatus = "past_due"
	mustContain(t, render(t, tpl, "operator_tenants", p), ">past_due</span>")
}
