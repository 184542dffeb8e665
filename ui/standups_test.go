package ui

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestStandupsPageFilled(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["standups"].(StandupsPage)
	html := render(t, tpl, "standups", page)

	mustContain(t, html,
		// Header action anchored to the generate form.
		`<div class="page-actions"><a class="btn btn-primary" href="#generate">Generate</a></div>`,
		`<section id="generate" class="section panel"`,
		// The latest standup in full: its day, counts and a card per
		// person with activity.
		`<h2 id="standup-title" class="standup-date">Thursday 13 March 2025 Ada</h2>`,
		"<span>3 people with activity</span>", "<span>6 decisions</span>", "<span>Europe/Berlin</span>",
		`Generated <time datetime="2025-03-14T09:00:00Z" title="2025-03-14T09:00:00Z">3 h ago</time>`,
		`<h3 id="standup-person-0" class="person-card-name">Ada</h3>`,
		`<h3 id="standup-person-1" class="person-card-name">Lin</h3>`,
		`<h4 class="entry-heading">Done <span class="count">2</span></h4>`,
		`<h4 class="entry-heading">In progress <span class="count">1</span></h4>`,
		`<h4 class="entry-heading">Blockers <span class="count">2</span></h4>`,
		// Entries: linked title in a new tab, state chip, where from.
		`<a class="entry-title" href="https://github.com/acme/api/pull/42?Ada" target="_blank" rel="noopener noreferrer">Ada<span class="visually-hidden"> (opens in a new tab)</span></a> <span class="badge badge-ok">merged</span>`,
		`<span class="entry-kind">GitHub pull request</span>`,
		`<span class="badge badge-ok">Done</span>`, `<span class="badge badge-error">Blocked</span>`,
		`<span class="badge badge-neutral">In Progress</span>`, `<span class="badge badge-neutral">Ada</span>`,
		// An untitled message is named by where it comes from.
		`rel="noopener noreferrer">Slack message<span class="visually-hidden">`,
		// An unsafe link is no link.
		`<span class="entry-title">Ada</span> <span class="badge badge-neutral">open</span>`,
		// Who had nothing to report, in one line.
		`<p class="no-activity"><span class="strong">No activity:</span> Grace, Ada</p>`,
		// The day's decisions link to the decision log with their status.
		`<a class="recent-title" href="/decisions/d1">Ada</a>`, `<a class="recent-title" href="/decisions/d%2F6%3Fx">Ada</a>`,
		`<span class="badge chip chip-proposed"><span class="dot status-proposed" aria-hidden="true"></span>Proposed</span>`,
		// Deliveries: green sent, amber pending and failed, red abandoned.
		`<span class="badge badge-ok"><span class="dot dot-ok" aria-hidden="true"></span>Sent</span>`,
		`<span class="badge badge-warn"><span class="dot dot-warn" aria-hidden="true"></span>Failed, will retry</span>`,
		`<span class="badge badge-warn"><span class="dot dot-warn" aria-hidden="true"></span>Pending</span>`,
		`<span class="badge badge-error"><span class="dot dot-error" aria-hidden="true"></span>Abandoned</span>`,
		`<span class="badge badge-neutral"><span class="dot dot-neutral" aria-hidden="true"></span>Ada</span>`,
		`<td class="delivery-target" data-label="To">team@example.com, Ada</td>`,
		`<td class="num" data-label="Attempts">5</td>`,
		`Sent <time datetime="2025-03-14T10:00:00Z" title="2025-03-14T10:00:00Z">2 h ago</time>`,
		`Next try <time datetime="2025-03-14T12:04:00Z" title="2025-03-14T12:04:00Z">in 4 min</time>`,
		`<td class="nowrap" data-label="When">Gave up</td>`,
		`<td class="job-error" data-label="Last error">smtp: 550 Ada</td>`,
		`<form method="post" action="/standups/s1/deliver" class="deliver-form">`,
		`<button type="submit" class="btn btn-sm">Retry delivery</button>`,
		`<a href="/standups/s1">Open this standup on its own page</a>`,
		// History: the day links to the standup, counts, delivery status.
		`<a class="strong" href="/standups/s0%2Fx%3Fy">Thursday 13 March 2025 Ada</a>`,
		`<td data-label="People active">3 <span class="muted">of 5</span></td>`,
		`<td data-label="People active">0 <span class="muted">of 1</span></td>`,
		`<span class="badge badge-ok"><span class="dot dot-ok" aria-hidden="true"></span>Slack: Sent</span>`,
		`<span class="muted">Not delivered</span>`,
		`<a class="btn" href="/standups?cursor=abc&amp;x=Ada">Older standups</a>`,
		// The generate form: date, deliver, errors next to the fields.
		`<form method="post" action="/standups" class="form generate-form">`,
		`<input id="f-date" name="date" type="date" value="2025-03-13" aria-invalid="true" aria-describedby="f-date-hint f-date-error">`,
		`<p class="field-error" id="f-date-error">Ada</p>`,
		`<input id="f-deliver" type="checkbox" name="deliver" value="on" aria-invalid="true" aria-describedby="f-deliver-hint f-deliver-error"> Also post to Slack / email</label>`,
		`<p class="hint" id="f-deliver-hint">Ada</p>`, `<p class="field-error" id="f-deliver-error">Ada</p>`,
		`<p class="form-error" role="alert">Ada</p>`,
		`<button type="submit" class="btn btn-primary">Generate standup</button>`,
	)
	// Only people with activity get a card; the deliver form is shown once.
	if n := strings.Count(html, `<section class="person-card"`); n != 3 {
		t.Errorf("%d person cards, want 3", n)
	}
	if n := strings.Count(html, `/deliver"`); n != 1 {
		t.Errorf("%d deliver forms, want 1", n)
	}
	mustLack(t, html, "No standup yet", "javascript:", `href="Ada"`)
}

func TestStandupsDeliverNeedsTier(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["standups"].(StandupsPage)
	page.CanDeliver = false
	page.Errors = nil
	page.DeliveryNote = "Delivery to Slack and email is a Pro feature."
	html := render(t, tpl, "standups", page)
	mustContain(t, html,
		`<label for="f-deliver" class="check check-wrap is-disabled"><input id="f-deliver" type="checkbox" name="deliver" value="on" disabled aria-describedby="f-deliver-hint"> Also post to Slack / email</label>`,
		`<p class="hint" id="f-deliver-hint">Delivery to Slack and email is a Pro feature.</p>`)
	mustLack(t, html, "/deliver\"", "Retry delivery", "Deliver now")

	// With delivery allowed the box is enabled, with or without a note.
	page.CanDeliver, page.DeliveryNote = true, ""
	html = render(t, tpl, "standups", page)
	box := tagWith(html, "input", `id="f-deliver"`)
	if box == "" || strings.Contains(box, "disabled") || strings.Contains(box, "aria-describedby") {
		t.Errorf("deliver box = %s", box)
	}
	mustLack(t, html, `id="f-deliver-hint"`)
}

func TestStandupsEmptyStates(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "standups", StandupsPage{GenerateDate: "2025-03-13"})
	mustContain(t, html, "No standup yet — generate one for yesterday.", `<a href="#generate">Generate a standup</a>`,
		`action="/standups"`, `value="2025-03-13"`)
	mustLack(t, html, "standup-title", "Earlier standups", "/deliver", "Older standups")

	// Only history: no empty state, the table.
	html = render(t, tpl, "standups", StandupsPage{History: []StandupRow{{ID: "s1", Date: "2025-03-12"}}})
	mustContain(t, html, `<a class="strong" href="/standups/s1">2025-03-12</a>`)
	mustLack(t, html, "No standup yet", "standup-title")

	// A standup in which nobody did anything.
	quiet := StandupRow{ID: "s1", Date: "2025-03-12", People: []StandupPersonRow{{Name: "Ada", NoActivity: true}, {Name: "Lin", NoActivity: true}}}
	html = render(t, tpl, "standups", StandupsPage{Latest: &quiet, CanDeliver: true})
	mustContain(t, html, "Nothing to report for this day", "<span class=\"strong\">No activity:</span> Ada, Lin",
		"No decisions were made on this day.", "Not posted to Slack or mailed.",
		`<form method="post" action="/standups/s1/deliver" class="deliver-form">`, `>Deliver now</button>`,
		`<h2 id="standup-title" class="standup-date">2025-03-12</h2>`)
	mustLack(t, html, `class="person-card"`, "deliveries-table", "Retry delivery")
}

func TestStandupPage(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["standup"].(StandupPage)
	page.Title = "" // the heading names the day
	html := render(t, tpl, "standup", page)
	mustContain(t, html,
		"<title>Standup for Thursday 13 March 2025 Ada · PM Assistant</title>",
		"<h1>Standup for Thursday 13 March 2025 Ada</h1>",
		`<a class="btn" href="/standups">All standups</a>`,
		// The day is the page's heading; the article is still named.
		`<h2 id="standup-title" class="visually-hidden">Standup for Thursday 13 March 2025 Ada</h2>`,
		`<section class="person-card" aria-labelledby="standup-person-0">`, "No activity:",
		`<a class="recent-title" href="/decisions/d1">Ada</a>`, "deliveries-table",
		`<form method="post" action="/standups/s1/deliver" class="deliver-form">`)
	mustLack(t, html, "Open this standup on its own page", `action="/standups"`)

	page.CanDeliver = false
	mustLack(t, render(t, tpl, "standup", page), "/deliver")

	// Without a date label the date names the day; with neither, a word.
	html = render(t, tpl, "standup", StandupPage{Standup: StandupRow{ID: "s/1", Date: "2025-03-12"}, CanDeliver: true})
	mustContain(t, html, "<h1>Standup for 2025-03-12</h1>", `action="/standups/s%2F1/deliver"`)
	html = render(t, tpl, "standup", StandupPage{CanDeliver: true})
	mustContain(t, html, "<h1>Standup for Undated</h1>")
	mustLack(t, html, "/deliver")
}

func TestPeoplePage(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["people"].(PeoplePage)
	html := render(t, tpl, "people", page)
	mustContain(t, html,
		"<h1>Ada</h1>", `<a class="btn" href="/members">Members</a>`,
		"People are merged by email automatically; link identities by hand where emails differ. Bots are left out.",
		`<span class="count">4</span>`,
		`<div class="person-name">Ada</div>`, `<div class="person-name">Someone</div>`,
		`<ul class="plain-list"><li>ada@example.com</li><li>Ada</li></ul>`,
		`<span class="identity-handle">Ada</span> <span class="identity-id mono">U123</span>`,
		`<span class="visually-hidden">Slack: </span>`,
		"No identities",
	)
	// The handle and id are not repeated when they are the same.
	mustContain(t, html, `<span class="identity-handle">ada</span>`)
	mustLack(t, html, `<span class="identity-id mono">ada</span>`)

	// Unlink: for the identities of a person who has several, with the
	// identity in hidden fields and a confirmation.
	unlink := formFor(html, "/people/p1/unlink")
	mustContain(t, unlink, `data-confirm="Unlink Slack · Ada (U123) from Ada? It becomes a person of its own."`,
		`<input type="hidden" name="service" value="slack">`, `<input type="hidden" name="external_id" value="U123">`,
		`<button type="submit" class="btn btn-sm btn-ghost">Unlink<span class="visually-hidden"> Slack · Ada (U123) from Ada</span></button>`)
	if n := strings.Count(html, `action="/people/p1/unlink"`); n != 3 {
		t.Errorf("%d unlink forms for p1, want 3", n)
	}
	mustLack(t, html, `action="/people/p%2F2%3Fx/unlink"`, `action="/people/p3/unlink"`)

	// Link: a select of everybody else's identities, grouped by person.
	link := formFor(html, "/people/p%2F2%3Fx/link")
	mustContain(t, link,
		`<label for="link-p/2?x">Identity to merge into Lin</label>`,
		`<select id="link-p/2?x" name="identity" required>`,
		`<optgroup label="Ada"><option value="slack:U123">Slack · Ada (U123)</option><option value="github:ada">GitHub · ada</option><option value="linear:Ada">Ada · Ada</option></optgroup>`,
		`<optgroup label="Someone"><option value="Ada:Ada">Ada · Ada</option></optgroup>`)
	mustLack(t, link, "lin-uuid")
	if !strings.Contains(formFor(html, "/people/p1/link"), `<option value="linear:lin-uuid">Linear · Lin (lin-uuid)</option>`) {
		t.Error("p1's link form does not offer Lin's identity")
	}
	// Someone without identities may still take one.
	mustContain(t, formFor(html, "/people/p4/link"), `<option value="slack:U123">`)

	// Members only look.
	page.CanEdit = false
	html = render(t, tpl, "people", page)
	mustLack(t, html, "/unlink", "/link", "Link an identity", `name="identity"`)
	mustContain(t, html, `<span class="identity-handle">Ada</span>`)

	// Alone, there is nothing to link.
	html = render(t, tpl, "people", PeoplePage{CanEdit: true, People: []PersonRow{{ID: "p1", Name: "Ada",
		Identities: []IdentityRow{{Service: "slack", ExternalID: "U1", Handle: "ada"}}}}})
	mustLack(t, html, "/link", "/unlink")

	html = render(t, tpl, "people", PeoplePage{CanEdit: true})
	mustContain(t, html, "No people yet", `<a href="/integrations">Connect a service</a>`)
}

func TestMembersLinksToPeople(t *testing.T) {
	tpl := mustNew(t)
	mustContain(t, render(t, tpl, "members", MembersPage{}), `<a class="btn" href="/people">People across tools</a>`)
}

func TestStandupPagesEscapeUntrustedText(t *testing.T) {
	tpl := mustNew(t)
	const escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
	at := testNow.Add(time.Hour)
	entry := StandupEntryRow{Type: xss, Title: xss, URL: "https://example.com/" + xss, Service: xss, ServiceTitle: xss, State: xss}
	s := StandupRow{ID: xss, Date: xss, DateLabel: xss, Timezone: xss, CreatedAt: testNow,
		People: []StandupPersonRow{
			{Name: xss, Done: []StandupEntryRow{entry}, InProgress: []StandupEntryRow{entry}, Blockers: []StandupEntryRow{entry}},
			{Name: xss, NoActivity: true},
		},
		Decisions:  []DecisionRow{{ID: xss, Title: xss, Status: xss}},
		Deliveries: []DeliveryRow{{Channel: xss, Target: xss, Status: xss, LastError: xss, NextTryAt: &at}},
	}
	p := PersonRow{ID: xss, Name: xss, Emails: []string{xss}, Identities: []IdentityRow{
		{Service: xss, ServiceTitle: xss, ExternalID: xss, Handle: xss, Email: xss},
		{Service: "slack", ServiceTitle: "Slack", ExternalID: "U1", Handle: xss},
	}}
	l := layout(xss)
	pages := map[string]any{
		"standups": StandupsPage{Layout: l, Latest: &s, History: []StandupRow{s}, NextHref: "/standups?x=" + xss,
			GenerateDate: xss, CanDeliver: true, DeliveryNote: xss, Errors: errs(xss, "date", "deliver")},
		"standup": StandupPage{Layout: l, Standup: s, CanDeliver: true},
		"people":  PeoplePage{Layout: l, People: []PersonRow{p, {ID: "p2", Name: "Lin", Identities: p.Identities}}, CanEdit: true},
	}
	for name, data := range pages {
		html := render(t, tpl, name, data)
		mustLack(t, html, "<script>alert", "<img", `="x"`, "onerror=alert(1)>")
		min := map[string]int{"standups": 20, "standup": 15, "people": 8}[name]
		if n := strings.Count(html, escaped); n < min {
			t.Errorf("%s: escaped payload seen %d times, want at least %d", name, n, min)
		}
		if regexp.MustCompile(`class="[^"]*(?:&lt;|<|&#34;)`).MatchString(html) {
			t.Errorf("%s: payload in a class attribute", name)
		}
	}
}

func TestStandupUnsafeURLsAreNotLinked(t *testing.T) {
	tpl := mustNew(t)
	for _, bad := range []string{"javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,x", "//evil.example.com/x", "/standups/local", "vbscript:x"} {
		s := StandupRow{ID: "s1", Date: "2025-03-13", People: []StandupPersonRow{{Name: "Ada",
			Done: []StandupEntryRow{{Type: "issue", Title: "T", URL: bad, Service: "linear", ServiceTitle: "Linear"}}}}}
		for name, data := range map[string]any{
			"standups": StandupsPage{Latest: &s, NextHref: bad},
			"standup":  StandupPage{Standup: s},
		} {
			html := render(t, tpl, name, data)
			mustLack(t, html, strings.TrimSpace(bad), "evil.example.com", `<a class="entry-title"`, "Older standups")
			mustContain(t, html, `<span class="entry-title">T</span>`)
		}
	}
}

func TestStandupAndPeopleFormsAndCSP(t *testing.T) {
	tpl := mustNew(t)
	f := filled("Ada")
	for _, page := range []string{"standups", "standup", "people", "members"} {
		html := render(t, tpl, page, f[page])
		posts := 0
		for _, m := range formRe.FindAllStringSubmatch(html, -1) {
			open := m[0][:strings.Index(m[0], ">")+1]
			post := methodRe.MatchString(open)
			if post {
				posts++
			} else if !getMethodRe.MatchString(open) {
				t.Errorf("%s: form without a method: %s", page, open)
			}
			if post != csrfRe.MatchString(m[1]) {
				t.Errorf("%s: POST form without the token, or GET form with it: %s", page, open)
			}
		}
		want := map[string]int{
			// logout and switch-tenant twice (sidebar and narrow menu).
			"standups": 4 + 2,     // generate, deliver
			"standup":  4 + 1,     // deliver
			"people":   4 + 3 + 4, // 3 unlink (p1), 4 link
		}
		if w, ok := want[page]; ok && posts != w {
			t.Errorf("%s: %d POST forms, want %d", page, posts, w)
		}
		if m := styleRe.FindString(html); m != "" {
			t.Errorf("%s: inline style: %s", page, m)
		}
		if strings.Contains(strings.ToLower(html), "<style") {
			t.Errorf("%s: <style> element", page)
		}
		if m := handlerRe.FindString(html); m != "" {
			t.Errorf("%s: inline handler: %s", page, m)
		}
		if n := len(scriptRe.FindAllString(html, -1)); n != 1 {
			t.Errorf("%s: %d scripts", page, n)
		}
		seen := map[string]bool{}
		for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(html, -1) {
			if seen[m[1]] {
				t.Errorf("%s: duplicate id %q", page, m[1])
			}
			seen[m[1]] = true
		}
		// Every visible input and select has a label.
		for _, m := range regexp.MustCompile(`<(?:input|select|textarea) id="([^"]+)"`).FindAllStringSubmatch(html, -1) {
			if !regexp.MustCompile(`<label [^>]*for="` + regexp.QuoteMeta(m[1]) + `"`).MatchString(html) {
				t.Errorf("%s: no label for %q", page, m[1])
			}
		}
		for _, m := range regexp.MustCompile(`<(?:input|select|textarea)\b[^>]*>`).FindAllString(html, -1) {
			if !strings.Contains(m, ` id="`) && !strings.Contains(m, `type="hidden"`) && !strings.Contains(m, `name="tenant_id"`) {
				t.Errorf("%s: control without an id for its label: %s", page, m)
			}
		}
		for _, a := range regexp.MustCompile(`<a [^>]*target="_blank"[^>]*>`).FindAllString(html, -1) {
			if !strings.Contains(a, `rel="noopener noreferrer"`) || !strings.Contains(a, `href="http`) {
				t.Errorf("%s: new-tab link %s", page, a)
			}
		}
		// Destructive forms ask first.
		for _, m := range formRe.FindAllString(html, -1) {
			if strings.Contains(m, "/unlink\"") && !strings.Contains(m, "data-confirm=") {
				t.Errorf("%s: unlink without confirmation", page)
			}
		}
	}
}

func TestStandupFuncs(t *testing.T) {
	for in, want := range map[string]string{"sent": "ok", "pending": "warn", "failed": "warn", "abandoned": "error", "": "neutral", "<x>": "neutral"} {
		if got := deliveryKind(in); got != want {
			t.Errorf("deliveryKind(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"merged": "ok", "Done": "ok", " completed ": "ok", "Blocked": "error", "blocked by infra": "error",
		"In Progress": "neutral", "open": "neutral", "": "neutral", "<x>": "neutral"} {
		if got := stateKind(in); got != want {
			t.Errorf("stateKind(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{"failed": "Failed, will retry", "sent": "Sent", "": "Unknown", "odd": "odd"} {
		if got := deliveryText(in); got != want {
			t.Errorf("deliveryText(%q) = %q", in, got)
		}
	}
	for in, want := range map[string][2]string{"slack": {"Slack", "slack"}, "email": {"Email", "email"}, "": {"Channel", "link"}, "fax": {"fax", "link"}} {
		if got := [2]string{channelText(in), channelIcon(in)}; got != want {
			t.Errorf("channel %q = %v, want %v", in, got, want)
		}
	}
	for _, tc := range []struct {
		i    IdentityRow
		want string
	}{
		{IdentityRow{Service: "slack", ServiceTitle: "Slack", ExternalID: "U123", Handle: "Ada"}, "Slack · Ada (U123)"},
		{IdentityRow{Service: "github", ExternalID: "ada", Handle: "ada"}, "github · ada"},
		{IdentityRow{Service: "linear", ServiceTitle: "Linear", ExternalID: "u-1", Email: "ada@example.com"}, "Linear · ada@example.com (u-1)"},
		{IdentityRow{Service: "linear", ServiceTitle: "Linear", ExternalID: "u-1"}, "Linear · u-1"},
		{IdentityRow{}, "Service"},
	} {
		if got := identityLabel(tc.i); got != tc.want {
			t.Errorf("identityLabel(%+v) = %q, want %q", tc.i, got, tc.want)
		}
	}
	for _, tc := range []struct {
		e           StandupEntryRow
		title, kind string
	}{
		{StandupEntryRow{Type: "pull_request", Title: " Fix ", Service: "github", ServiceTitle: "GitHub"}, "Fix", "GitHub pull request"},
		{StandupEntryRow{Type: "message", Service: "slack", ServiceTitle: "Slack"}, "Slack message", "Slack message"},
		{StandupEntryRow{Type: "issue"}, "Untitled issue", "Issue"},
	} {
		if got := [2]string{entryTitle(tc.e), entryKind(tc.e)}; got != [2]string{tc.title, tc.kind} {
			t.Errorf("entry %+v = %q", tc.e, got)
		}
	}
	p := StandupPersonRow{Name: "Ada", Blockers: []StandupEntryRow{{Title: "b"}}, Done: []StandupEntryRow{{Title: "d"}, {Title: "e"}}}
	var got []string
	for _, g := range entryGroups(p) {
		got = append(got, g.Class+":"+g.Title)
	}
	if strings.Join(got, "|") != "done:Done|blockers:Blockers" {
		t.Errorf("entryGroups = %v", got)
	}
	people := []StandupPersonRow{{Name: "Ada"}, {Name: " ", NoActivity: true}, {Name: "Lin", NoActivity: true}}
	if n := len(activePeople(people)); n != 1 {
		t.Errorf("%d active", n)
	}
	if got := strings.Join(quietNames(people), ", "); got != "Someone, Lin" {
		t.Errorf("quietNames = %q", got)
	}
	if undelivered(nil) || undelivered([]DeliveryRow{{Status: "sent"}}) || !undelivered([]DeliveryRow{{Status: "sent"}, {Status: "failed"}}) {
		t.Error("undelivered")
	}
	for _, tc := range []struct {
		s    StandupRow
		want string
	}{{StandupRow{Date: "2025-03-13", DateLabel: "Thursday"}, "Thursday"}, {StandupRow{Date: "2025-03-13", DateLabel: " "}, "2025-03-13"}, {StandupRow{}, "Undated"}} {
		if got := dateLabel(tc.s); got != tc.want {
			t.Errorf("dateLabel(%+v) = %q", tc.s, got)
		}
	}
	groups := otherIdentities([]PersonRow{
		{ID: "a", Name: "Ada", Identities: []IdentityRow{{Service: "slack", ExternalID: "U1"}}},
		{ID: "b", Identities: []IdentityRow{{Service: "github", ExternalID: "b"}}},
		{ID: "c", Name: "Cy"},
	}, "a")
	if len(groups) != 1 || groups[0].Name != "Someone" || groups[0].Identities[0].ExternalID != "b" {
		t.Errorf("otherIdentities = %+v", groups)
	}
}
