package ui

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

const xss = `<script>alert(1)</script>"><img src=x onerror=alert(1)>`

// tagWith returns the first start tag (<input …>, <textarea …>, …) of the
// given element that contains attr, or "".
func tagWith(html, element, attr string) string {
	re := regexp.MustCompile(`<` + element + `\b[^>]*` + regexp.QuoteMeta(attr) + `[^>]*>`)
	return re.FindString(html)
}

func TestJobsPageFilled(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["jobs"].(JobsPage)
	page.Service, page.Status = "github", "failed"
	html := render(t, tpl, "jobs", page)

	mustContain(t, html,
		"<h1>Ada</h1>", `<a class="btn" href="/integrations">Back to Integrations</a>`,
		// Status badges: colour and word.
		`<span class="badge badge-status badge-warn" data-job-status="badge" aria-live="polite"><span class="dot dot-warn" aria-hidden="true"></span><span data-job-label>running</span></span>`,
		`<span class="badge badge-status badge-ok" data-job-status="badge" aria-live="polite"><span class="dot dot-ok" aria-hidden="true"></span><span data-job-label>succeeded</span></span>`,
		`badge-error" data-job-status="badge" aria-live="polite"><span class="dot dot-error" aria-hidden="true"></span><span data-job-label>failed</span>`,
		`badge-warn" data-job-status="badge" aria-live="polite"><span class="dot dot-warn" aria-hidden="true"></span><span data-job-label>partial</span>`,
		`badge-warn" data-job-status="badge" aria-live="polite"><span class="dot dot-warn" aria-hidden="true"></span><span data-job-label>queued</span>`,
		`badge-neutral" data-job-status="badge" aria-live="polite"><span class="dot dot-neutral" aria-hidden="true"></span><span data-job-label>Ada</span>`,
		// Counts, duration, trigger, error.
		`<span data-job-new>1,200</span> new</span> · <span class="nowrap"><span data-job-updated>3</span> updated`,
		`<td class="nowrap" data-label="Duration" data-job-duration>1 min 35 s</td>`,
		`data-job-duration>running…</td>`, `data-job-duration>waiting…</td>`, `data-job-duration>—</td>`,
		">Manual<", ">Scheduled<", ">Webhook<",
		`<td class="job-error" data-label="Error" data-job-error>quota_exceeded: Ada</td>`,
		`<td class="job-error" data-label="Error" data-job-error></td>`,
		// Created, relative with the full time on hover.
		`<time datetime="2025-03-14T11:59:00Z" title="2025-03-14T11:59:00Z">1 min ago</time>`,
		"Unnamed workspace",
		// Next page.
		`<a class="btn" href="/jobs?cursor=abc&amp;service=Ada">Next page</a>`,
	)
	// Only queued and running jobs are polled.
	ids := regexp.MustCompile(`<tr data-job-id="([^"]+)">`).FindAllStringSubmatch(html, -1)
	if len(ids) != 2 || ids[0][1] != "j1" || ids[1][1] != "j5" {
		t.Errorf("polled rows = %v, want j1 and j5", ids)
	}
	if n := strings.Count(html, "<tr"); n != 7 {
		t.Errorf("%d table rows, want 7 (head + 6 jobs)", n)
	}

	// The filter form is a GET form that keeps the current filters.
	f := formFor(html, "/jobs")
	if !strings.HasPrefix(f, `<form method="get" action="/jobs"`) {
		t.Fatalf("filter form: %.80s", f)
	}
	mustContain(t, f, `<select id="jobs-service" name="service">`, `<option value="github" selected>GitHub</option>`,
		`<select id="jobs-status" name="status">`, `<option value="failed" selected>Failed</option>`,
		`<option value="">All services</option>`, `<option value="">All statuses</option>`,
		`<button type="submit" class="btn">Filter</button>`, `<a class="btn btn-ghost" href="/jobs">Clear</a>`,
		`<label for="jobs-service">`, `<label for="jobs-status">`)
	mustLack(t, f, "csrf_token")
	if n := strings.Count(f, " selected"); n != 2 {
		t.Errorf("%d selected options, want 2", n)
	}

	// An unknown filter value is kept as an extra option, escaped.
	page.Service, page.Status = xss, xss
	html = render(t, tpl, "jobs", page)
	mustLack(t, html, "<script>alert", "<img")
	mustContain(t, html, `<option value="&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" selected>`)
}

func TestJobsPageEmpty(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "jobs", JobsPage{})
	mustContain(t, html, "No jobs yet — connect a service or press Run now on Integrations.", `href="/integrations"`)
	mustLack(t, html, "<table", "Next page", ">Clear<", "data-job-id")

	html = render(t, tpl, "jobs", JobsPage{Status: "failed"})
	mustContain(t, html, "No jobs match these filters", `<a href="/jobs">Show all jobs</a>`, ">Clear<")
	mustLack(t, html, "No jobs yet")
}

func TestJobsEscapeAndSafeLinks(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "jobs", JobsPage{
		Jobs: []JobRow{{ID: `j"1`, Service: "slack", ServiceTitle: xss, WorkspaceName: xss, Trigger: xss,
			Status: "running", Error: xss + "\nsecond line", CreatedAt: testNow}},
		NextHref: "javascript:alert(1)",
	})
	mustLack(t, html, "<script>alert", "<img", "javascript:", "Next page")
	if n := strings.Count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"); n != 4 {
		t.Errorf("escaped payload seen %d times, want 4 (title, workspace, trigger, error)", n)
	}
	mustContain(t, html, `<tr data-job-id="j&#34;1">`)

	for _, bad := range []string{"//evil.example.com/jobs", "data:text/html,x"} {
		mustLack(t, render(t, tpl, "jobs", JobsPage{Jobs: []JobRow{{ID: "j"}}, NextHref: bad}), bad, "Next page")
	}
}

func TestJobFuncs(t *testing.T) {
	for status, want := range map[string]string{
		"succeeded": "ok", "partial": "warn", "queued": "warn", "running": "warn", "failed": "error", "": "neutral", "<x>": "neutral",
	} {
		if got := jobKind(status); got != want {
			t.Errorf("jobKind(%q) = %q, want %q", status, got, want)
		}
	}
	for d, want := range map[time.Duration]string{
		-time.Second: "under 1 s", 0: "under 1 s", 999 * time.Millisecond: "under 1 s", 42 * time.Second: "42 s",
		3 * time.Minute: "3 min", 3*time.Minute + 5*time.Second: "3 min 5 s",
		2 * time.Hour: "2 h", 80 * time.Minute: "1 h 20 min", 26*time.Hour + 59*time.Second: "26 h",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%v) = %q, want %q", d, got, want)
		}
	}
	start, end := testNow, testNow.Add(95*time.Second)
	for _, tc := range []struct {
		j    JobRow
		want string
	}{
		{JobRow{Status: "queued"}, "waiting…"},
		{JobRow{Status: "running"}, "running…"},
		{JobRow{Status: "running", StartedAt: &start}, "running…"},
		{JobRow{Status: "succeeded", StartedAt: &start, FinishedAt: &end}, "1 min 35 s"},
		{JobRow{Status: "failed", FinishedAt: &end}, "—"},
	} {
		if got := jobDuration(tc.j); got != tc.want {
			t.Errorf("jobDuration(%+v) = %q, want %q", tc.j, got, tc.want)
		}
	}
	if got := jobWhen(JobRow{CreatedAt: start}); !got.Equal(start) {
		t.Errorf("jobWhen of a queued job = %v", got)
	}
	if got := jobWhen(JobRow{CreatedAt: start, StartedAt: &start, FinishedAt: &end}); !got.Equal(end) {
		t.Errorf("jobWhen of a finished job = %v", got)
	}
}

func TestIntegrationsRunNowAndLastJob(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["integrations"].(IntegrationsPage)
	html := render(t, tpl, "integrations", page)

	for _, id := range []string{"c1", "c2", "c3"} {
		f := formFor(html, "/integrations/"+id+"/run")
		if f == "" {
			t.Errorf("no run form for %s", id)
			continue
		}
		mustContain(t, f, `<input type="hidden" name="csrf_token" value="tok-Ada">`, `<button type="submit" class="btn btn-sm">Run now<span class="visually-hidden"> Ada Ada</span></button>`)
	}
	mustContain(t, html,
		`<a class="small" href="/jobs">All jobs</a>`,
		`<a href="/jobs?service=slack">Jobs<span class="visually-hidden"> of Ada</span></a>`,
		// A running job is polled; its counts show once there are any.
		`<dd class="last-run" data-job-id="j1">`,
		`<span class="job-state job-state-warn" data-job-status="job-state" aria-live="polite"><span data-job-label>running</span></span>`,
		`<span data-job-counts> · <span data-job-new>12</span> new<span data-job-updated-wrap hidden>`,
		// A finished one: "partial 18 min ago · 5,000 new" and its error.
		`<dd class="last-run">`, `<span data-job-label>partial</span>`,
		`title="2025-03-14T11:41:35Z">18 min ago</time></span><span data-job-counts> · <span data-job-new>5,000</span> new`,
		`<span class="health-error" data-job-error>quota_exceeded: Ada</span>`,
	)
	if !regexp.MustCompile(`<dt>Last run</dt>\s*<dd>never</dd>`).MatchString(html) {
		t.Error("a connection without jobs does not say its last run was never")
	}
	if n := strings.Count(html, "data-job-id="); n != 1 {
		t.Errorf("%d polled last runs, want 1", n)
	}

	// A queued job has no counts yet, and no error line.
	queued := JobRow{ID: "jq", Service: "slack", Status: "queued", CreatedAt: testNow.Add(-time.Minute)}
	page.Connections = []ConnectionRow{{ID: "c9", Service: "slack", Status: "connected", LastJob: &queued}}
	html = render(t, tpl, "integrations", page)
	mustContain(t, html, `<dd class="last-run" data-job-id="jq">`, `<span data-job-label>queued</span>`, ">1 min ago</time>",
		`<span data-job-counts hidden>`, `<span class="health-error" data-job-error hidden></span>`)

	// Without the right to run: no form.
	page.CanRun = false
	mustLack(t, render(t, tpl, "integrations", page), "/run\"", ">Run now<")
}

// settingsInputs maps each API error key onto the form field it belongs to.
var settingsInputs = map[string]string{
	"timezone":                   "timezone",
	"slack_channels":             "slack_channels",
	"linear_team_ids":            "linear_team_ids",
	"github_orgs":                "github_orgs",
	"github_repos":               "github_repos",
	"ingestion_interval_minutes": "ingestion_interval_minutes",
	"decisions.phrases":          "decision_phrases",
	"decisions.reaction":         "decision_reaction",
	"standup.time":               "standup_time",
	"standup.slack_channel":      "standup_slack_channel",
	"standup.email_to":           "standup_email_to",
}

func TestSettingsPageFilled(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["settings"].(SettingsPage)
	page.Errors = nil
	html := render(t, tpl, "settings", page)

	f := formFor(html, "/settings")
	if !strings.HasPrefix(f, `<form method="post" action="/settings"`) {
		t.Fatalf("settings form: %.80s", f)
	}
	mustContain(t, f,
		`<input type="hidden" name="csrf_token" value="tok-Ada">`,
		`<button type="submit" class="btn btn-primary">Save settings</button>`,
		// Sections.
		">Workspace</h2>", ">What to ingest</h2>", ">Schedule</h2>", ">Decisions</h2>", ">Standup</h2>",
		// Values kept, lists as one entry per line.
		`<input id="f-timezone" name="timezone" type="text" value="Ada" autocomplete="off" list="timezones" spellcheck="false" aria-describedby="f-timezone-hint">`,
		`<datalist id="timezones"><option value="Europe/Berlin"></option><option value="UTC"></option><option value="Ada"></option></datalist>`,
		"<textarea id=\"f-slack_channels\" name=\"slack_channels\" rows=\"4\" spellcheck=\"false\" aria-describedby=\"f-slack_channels-hint\">\nC0123ABCD\n#eng\nAda</textarea>",
		"name=\"github_repos\" rows=\"3\" spellcheck=\"false\" aria-describedby=\"f-github_repos-hint\">\nacme/api\nAda</textarea>",
		"name=\"decision_phrases\" rows=\"4\" aria-describedby=\"f-decision_phrases-hint\">\nsigned off on\nAda</textarea>",
		`<input id="f-ingestion_interval_minutes" name="ingestion_interval_minutes" type="number" value="60" min="5" max="10080" aria-describedby="f-ingestion_interval_minutes-hint">`,
		`<input id="f-decision_reaction" name="decision_reaction" type="text" value="Ada"`,
		`<input id="f-standup_enabled" type="checkbox" name="standup_enabled" value="on" checked>`,
		`<input id="f-standup_time" name="standup_time" type="time" value="09:30"`,
		`<input id="f-standup_slack_channel" name="standup_slack_channel" type="text" value="Ada"`,
		"name=\"standup_email_to\" rows=\"3\" spellcheck=\"false\" aria-describedby=\"f-standup_email_to-hint\">\nAda</textarea>",
		// What an empty list means.
		"Empty: every public channel the app is a member of.", "Empty: the issues of every team.",
		"every organization the connected account belongs to", "Empty: the organizations only.",
		"with or without the colons: :white_check_mark:",
		"<legend>Days</legend>",
	)
	// Weekday checkboxes 1…7, Mon…Sun, checked as saved.
	for i, day := range []string{"Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"} {
		n := i + 1
		box := tagWith(f, "input", fmt.Sprintf(`value="%d"`, n))
		want := fmt.Sprintf(`<input id="f-standup_weekdays-%d" type="checkbox" name="standup_weekdays" value="%d"`, n, n)
		if !strings.HasPrefix(box, want) {
			t.Errorf("weekday %d: %q", n, box)
		}
		if checked := strings.Contains(box, " checked"); checked != (n%2 == 1 && n < 6) {
			t.Errorf("weekday %d checked = %v", n, checked)
		}
		mustContain(t, f, fmt.Sprintf(`<label class="day" for="f-standup_weekdays-%d">`, n), `<span class="visually-hidden">`+day+`</span>`)
	}
	// Every control is enabled and labelled.
	if strings.Contains(f, " disabled") {
		t.Error("an editable settings form has disabled controls")
	}
	for _, m := range regexp.MustCompile(`<(?:input|textarea) id="([^"]+)"`).FindAllStringSubmatch(f, -1) {
		if !regexp.MustCompile(`<label [^>]*for="` + regexp.QuoteMeta(m[1]) + `"`).MatchString(f) {
			t.Errorf("control %s has no label", m[1])
		}
	}
	// Nothing with an error is marked invalid.
	mustLack(t, f, "aria-invalid", "field-error", `class="form-error"`)
}

func TestSettingsErrorsNextToFields(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["settings"].(SettingsPage)
	page.Errors = FormErrors{"form": "Some settings need fixing."}
	for key := range settingsInputs {
		page.Errors[key] = "bad " + key
	}
	page.Errors["standup.weekdays"] = "bad weekdays"
	html := render(t, tpl, "settings", page)

	mustContain(t, html, `<p class="form-error" role="alert">Some settings need fixing.</p>`)
	for key, name := range settingsInputs {
		id := "f-" + name
		tag := tagWith(html, "(?:input|textarea)", `id="`+id+`"`)
		if tag == "" {
			t.Errorf("%s: no control %s", key, id)
			continue
		}
		if !strings.Contains(tag, `name="`+name+`"`) || !strings.Contains(tag, ` aria-invalid="true"`) ||
			!regexp.MustCompile(`aria-describedby="[^"]*\b`+id+`-error"`).MatchString(tag) {
			t.Errorf("%s: control not marked invalid and linked to its error: %s", key, tag)
		}
		// The error follows its own control, before the next field starts.
		want := `<p class="field-error" id="` + id + `-error">bad ` + key + `</p>`
		start := strings.Index(html, tag)
		end := strings.Index(html[start:], `<div class="field`)
		if end < 0 {
			end = len(html) - start
		}
		if !strings.Contains(html[start:start+end], want) {
			t.Errorf("%s: error %q not next to %s", key, want, id)
		}
		if n := strings.Count(html, ">bad "+key+"<"); n != 1 {
			t.Errorf("%s: error shown %d times", key, n)
		}
	}
	mustContain(t, html,
		`<fieldset class="field days has-error" aria-describedby="f-standup_weekdays-error">`,
		`<p class="field-error" id="f-standup_weekdays-error">bad weekdays</p>`)
	if strings.Index(html, "bad weekdays") < strings.Index(html, `name="standup_weekdays" value="7"`) {
		t.Error("the weekdays error is not after the checkboxes")
	}
	// The values are kept next to the errors.
	mustContain(t, html, `name="timezone" type="text" value="Ada"`, `type="number" value="60"`)
}

func TestSettingsReadOnly(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["settings"].(SettingsPage)
	page.CanEdit, page.Errors = false, nil
	html := render(t, tpl, "settings", page)

	mustContain(t, html, "Only owners and admins can change these settings.")
	mustLack(t, html, `type="submit" class="btn btn-primary"`, "Save settings")
	f := formFor(html, "/settings")
	if strings.Contains(f, `type="submit"`) {
		t.Error("read-only settings have a submit button")
	}
	controls := regexp.MustCompile(`<(?:input|textarea|select)\b[^>]*>`).FindAllString(f, -1)
	if len(controls) < 20 {
		t.Fatalf("only %d controls seen", len(controls))
	}
	for _, c := range controls {
		if strings.Contains(c, `type="hidden"`) {
			continue
		}
		if !strings.Contains(c, " disabled") {
			t.Errorf("control not disabled: %s", c)
		}
	}
	// The values are still shown.
	mustContain(t, f, `value="Ada"`, "\nsigned off on\nAda</textarea>", `value="3" checked disabled>`)
}

func TestSettingsEscapeUntrustedText(t *testing.T) {
	tpl := mustNew(t)
	page := SettingsPage{CanEdit: true, Timezone: xss, Timezones: []string{xss}, DecisionPhrases: "</textarea>" + xss,
		SlackChannels: xss, DecisionReaction: xss, StandupEmailTo: xss, StandupChannel: xss,
		Errors: FormErrors{"decisions.phrases": xss, "timezone": xss}}
	html := render(t, tpl, "settings", page)
	mustLack(t, html, "<script>alert", "<img", "</textarea><")
	mustContain(t, html, "&lt;/textarea&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
		`value="&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;"`)
	if n := strings.Count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"); n != 9 {
		t.Errorf("escaped payload seen %d times, want 9", n)
	}
}

func TestSettingsZero(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "settings", SettingsPage{})
	// No datalist to point at, no interval of 0, nothing checked.
	mustLack(t, html, "<datalist", `list="`, `value="0"`, " checked")
	mustContain(t, html, `<input id="f-ingestion_interval_minutes" name="ingestion_interval_minutes" type="number" value="" min="5" max="10080" disabled`)
}

func TestActivityChartGeometry(t *testing.T) {
	// Three days, two services; the largest day total is 40.
	c := ActivityChart{
		Days: []string{"Nov 1", "Nov 2", "Nov 3"},
		Series: []ActivitySeries{
			{Service: "slack", Title: "Slack", Counts: []int{10, 40, 0}},
			{Service: "linear", Title: "Linear", Counts: []int{30, 0, 0}},
		},
		Max: 40,
	}
	a := newActivity(c)
	if a.Empty || a.Width != 30 || a.Height != 100 || a.Top != "40" {
		t.Fatalf("chart = %+v", a)
	}
	type seg struct{ class, x, y, h string }
	want := [][]seg{
		{{"slack", "1.5", "75", "25"}, {"linear", "1.5", "0", "75"}},
		{{"slack", "11.5", "0", "100"}},
		nil,
	}
	for i, b := range a.Bars {
		if len(b.Segments) != len(want[i]) {
			t.Fatalf("day %d: %d segments, want %d", i, len(b.Segments), len(want[i]))
		}
		for j, s := range b.Segments {
			w := want[i][j]
			if s.Class != w.class || s.X != w.x || s.Y != w.y || s.H != w.h || s.W != "7" {
				t.Errorf("day %d segment %d = %+v, want %+v", i, j, s, w)
			}
		}
	}
	if got := a.Bars[0].Segments[0].Title; got != "Nov 1 · Slack: 10" {
		t.Errorf("title = %q", got)
	}
	if got, want := a.Summary, "Items ingested per day over the last 3 days: 80 in total (Slack 50, Linear 30); at most 40 on one day."; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if got := strings.Join(a.XLabels, "|"); got != "Nov 1|Nov 2|Nov 3" {
		t.Errorf("x labels = %q", got)
	}

	// In the page: the same numbers, one <title> per segment.
	tpl := mustNew(t)
	html := render(t, tpl, "dashboard", DashboardPage{Activity: c})
	mustContain(t, html,
		`<svg class="chart-plot" width="100%" height="160" viewBox="0 0 30 100" preserveAspectRatio="none" role="img" aria-label="Items ingested per day over the last 3 days: 80 in total (Slack 50, Linear 30); at most 40 on one day."`,
		`<rect class="bar series-slack" x="1.5" y="75" width="7" height="25"><title>Nov 1 · Slack: 10</title></rect>`,
		`<rect class="bar series-linear" x="1.5" y="0" width="7" height="75"><title>Nov 1 · Linear: 30</title></rect>`,
		`<rect class="bar series-slack" x="11.5" y="0" width="7" height="100"><title>Nov 2 · Slack: 40</title></rect>`,
		`<div class="chart-y" aria-hidden="true"><span>40</span><span>0</span></div>`,
		`<div class="chart-x" aria-hidden="true"><span>Nov 1</span><span>Nov 2</span><span>Nov 3</span></div>`,
		`<span class="swatch series-slack" aria-hidden="true"></span>Slack <span class="legend-total">50</span>`,
		`<span class="swatch series-linear" aria-hidden="true"></span>Linear <span class="legend-total">30</span>`,
		`<tr><th scope="row">Nov 2</th><td class="num">40</td><td class="num">0</td><td class="num strong">40</td></tr>`,
		"Ingestion activity",
	)
	if n := strings.Count(html, "<rect class=\"bar "); n != 3 {
		t.Errorf("%d bar segments, want 3", n)
	}
	mustLack(t, html, "Nothing ingested")
}

func TestActivityChartFixture(t *testing.T) {
	// 30 days: 30 slots, first/middle/last labels, heights proportional to
	// the counts.
	c := activityFixture("Other")
	a := newActivity(c)
	if len(a.Bars) != 30 || a.Width != 300 {
		t.Fatalf("%d bars, width %d", len(a.Bars), a.Width)
	}
	if got := strings.Join(a.XLabels, "|"); got != "Feb 13|Feb 28|Mar 14" {
		t.Errorf("x labels = %q", got)
	}
	for i, b := range a.Bars {
		var sum float64
		for _, s := range b.Segments {
			var h float64
			fmt.Sscan(s.H, &h)
			sum += h
		}
		want := float64(b.Total) * 100 / float64(c.Max)
		if d := sum - want; d > 0.05 || d < -0.05 {
			t.Errorf("day %d: bar height %.2f, want %.2f", i, sum, want)
		}
	}
}

func TestActivityChartEdgeCases(t *testing.T) {
	// Tiny counts stay visible; missing counts are zero; a Max below the
	// real maximum does not let bars overflow; unknown services get the
	// neutral colour.
	a := newActivity(ActivityChart{
		Days:   []string{"a", "b"},
		Series: []ActivitySeries{{Service: "slack", Counts: []int{1000, 1}}, {Service: "<x>", Counts: []int{0}}},
		Max:    10,
	})
	if a.Top != "1,000" {
		t.Errorf("top = %q", a.Top)
	}
	if s := a.Bars[0].Segments[0]; s.H != "100" || s.Y != "0" {
		t.Errorf("full bar = %+v", s)
	}
	if s := a.Bars[1].Segments[0]; s.H != "0.5" || s.Y != "99.5" {
		t.Errorf("tiny bar = %+v", s)
	}
	if got := seriesClass("<x>"); got != "other" {
		t.Errorf("seriesClass = %q", got)
	}
	if a.Legend[1].Class != "other" || a.Legend[1].Title != "<x>" || a.Legend[0].Title != "slack" {
		t.Errorf("legend = %+v", a.Legend)
	}
	for _, tc := range []struct {
		count, max int
		want       float64
	}{{0, 10, 0}, {5, 0, 0}, {5, 10, 50}, {1, 3, 100.0 / 3}, {20, 10, 100}, {1, 10000, 0.5}} {
		if got := barHeight(tc.count, tc.max, 100); got != tc.want {
			t.Errorf("barHeight(%d, %d) = %v, want %v", tc.count, tc.max, got, tc.want)
		}
	}

	// Empty: the message instead of a chart.
	tpl := mustNew(t)
	for _, c := range []ActivityChart{{}, {Days: []string{"a"}, Series: []ActivitySeries{{Service: "slack", Counts: []int{0}}}}} {
		html := render(t, tpl, "dashboard", DashboardPage{Activity: c})
		mustContain(t, html, "Nothing ingested in the last 30 days.")
		mustLack(t, html, "<rect class=\"bar", "chart-plot")
	}
}

func TestActivityChartEscapes(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "dashboard", DashboardPage{Activity: ActivityChart{
		Days:   []string{xss},
		Series: []ActivitySeries{{Service: xss, Title: xss, Counts: []int{3}}},
		Max:    3,
	}})
	mustLack(t, html, "<script>alert", "<img", "series-<", `series-"`)
	mustContain(t, html, `<rect class="bar series-other"`, `<span class="swatch series-other"`)
	// Legend, <title>, aria-label, x label and the table.
	if n := strings.Count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"); n < 6 {
		t.Errorf("escaped payload seen %d times, want at least 6", n)
	}
}

func TestNewPagesFormsAndCSP(t *testing.T) {
	tpl := mustNew(t)
	f := filled("Ada")
	for _, page := range []string{"jobs", "settings", "integrations", "dashboard"} {
		html := render(t, tpl, page, f[page])
		for _, m := range formRe.FindAllStringSubmatch(html, -1) {
			open := m[0][:strings.Index(m[0], ">")+1]
			post := methodRe.MatchString(open)
			if post != csrfRe.MatchString(m[1]) {
				t.Errorf("%s: POST form without the token, or GET form with it: %s", page, open)
			}
		}
		if m := styleRe.FindString(html); m != "" {
			t.Errorf("%s: inline style: %s", page, m)
		}
		if m := handlerRe.FindString(html); m != "" {
			t.Errorf("%s: inline handler: %s", page, m)
		}
		if n := len(scriptRe.FindAllString(html, -1)); n != 1 {
			t.Errorf("%s: %d scripts", page, n)
		}
		// Ids are unique.
		seen := map[string]bool{}
		for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(html, -1) {
			if seen[m[1]] {
				t.Errorf("%s: duplicate id %q", page, m[1])
			}
			seen[m[1]] = true
		}
	}
}

func TestFieldOptions(t *testing.T) {
	f, err := newField("decision_phrases", "Phrases", "textarea", "x", FormErrors{"decisions.phrases": "bad", "decision_phrases": "other"},
		"errkey=decisions.phrases", "rows=4", "", "disabled", "nospellcheck", "min=1", "max=9", "list=l")
	if err != nil {
		t.Fatal(err)
	}
	if f.Error != "bad" || f.Rows != 4 || !f.Disabled || !f.NoSpellcheck || f.Min != "1" || f.Max != "9" || f.List != "l" {
		t.Errorf("field = %+v", f)
	}
	for _, bad := range []string{"rows=x", "rows=0", "nope"} {
		if _, err := newField("n", "N", "text", "", nil, bad); err == nil {
			t.Errorf("option %q accepted", bad)
		}
	}
	// A textarea keeps a leading newline of its value.
	tpl := mustNew(t)
	html := render(t, tpl, "settings", SettingsPage{CanEdit: true, DecisionPhrases: "\nfirst"})
	mustContain(t, html, ">\n\nfirst</textarea>")
}

func TestAppJSPollsJobs(t *testing.T) {
	js := string(mustStatic(t, "app.js"))
	for _, s := range []string{`"/api/v1/jobs/" + encodeURIComponent(id)`, `credentials: "same-origin"`, "pollMs = 3000",
		`querySelectorAll("[data-job-id]")`, "jobEnded[job.status]", `removeAttribute("data-job-id")`} {
		if !strings.Contains(js, s) {
			t.Errorf("app.js lacks %q", s)
		}
	}
}

func mustStatic(t *testing.T, name string) []byte {
	t.Helper()
	b, err := staticFS.ReadFile("static/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
