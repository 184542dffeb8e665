package ui

import (
	"fmt"
	"html/template"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestTimelineGeometry(t *testing.T) {
	// Three weeks; the busiest holds 4 decisions.
	weeks := []TimelineWeek{
		{Label: "Nov 3", Counts: map[string]int{"accepted": 2, "proposed": 1, "rejected": 1}},
		{Label: "Nov 10", Counts: map[string]int{"accepted": 1, "superseded": 1}},
		{Label: "Nov 17", Counts: map[string]int{}},
	}
	tl := newTimeline(weeks)
	if tl.Empty || tl.Width != 60 || tl.Height != 100 || tl.Top != "4" || tl.Mid != "50" {
		t.Fatalf("timeline = %+v", tl)
	}
	type seg struct{ class, x, y, h string }
	want := [][]seg{
		// Stacked bottom up: accepted, proposed, superseded, rejected.
		{{"accepted", "4", "50", "50"}, {"proposed", "4", "25", "25"}, {"rejected", "4", "0", "25"}},
		{{"accepted", "24", "75", "25"}, {"superseded", "24", "50", "25"}},
		nil,
	}
	for i, b := range tl.Bars {
		if len(b.Segments) != len(want[i]) {
			t.Fatalf("week %d: %d segments, want %d", i, len(b.Segments), len(want[i]))
		}
		for j, s := range b.Segments {
			w := want[i][j]
			if s.Class != w.class || s.X != w.x || s.Y != w.y || s.H != w.h || s.W != "12" {
				t.Errorf("week %d segment %d = %+v, want %+v", i, j, s, w)
			}
		}
	}
	if got := tl.Bars[0].Segments[1].Title; got != "Week of Nov 3 · Proposed: 1" {
		t.Errorf("title = %q", got)
	}
	if got := strings.Join(tl.Labels, "|"); got != "Nov 3|Nov 10|Nov 17" {
		t.Errorf("labels = %q", got)
	}
	if got := strings.Join(tl.Titles, "|"); got != "Accepted|Proposed|Superseded|Rejected" {
		t.Errorf("columns = %q", got)
	}
	if got, want := tl.Summary, "Decisions per week over the last 3 weeks: 6 in total (Accepted 3, Proposed 1, Superseded 1, Rejected 1); at most 4 in one week."; got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if got := fmt.Sprint(tl.Bars[0].Counts, tl.Bars[0].Total); got != "[2 1 0 1] 4" {
		t.Errorf("week 0 counts = %s", got)
	}

	// In the page: the same numbers, a <title> per segment, an accessible
	// name, a legend and the table of numbers.
	tpl := mustNew(t)
	html := render(t, tpl, "decisions", DecisionsPage{Timeline: weeks})
	mustContain(t, html,
		`<svg class="chart-plot" width="100%" height="160" viewBox="0 0 60 100" preserveAspectRatio="none" role="img" aria-label="Decisions per week over the last 3 weeks: 6 in total (Accepted 3, Proposed 1, Superseded 1, Rejected 1); at most 4 in one week."`,
		`<rect class="bar status-accepted" x="4" y="50" width="12" height="50"><title>Week of Nov 3 · Accepted: 2</title></rect>`,
		`<rect class="bar status-proposed" x="4" y="25" width="12" height="25"><title>Week of Nov 3 · Proposed: 1</title></rect>`,
		`<rect class="bar status-rejected" x="4" y="0" width="12" height="25"><title>Week of Nov 3 · Rejected: 1</title></rect>`,
		`<rect class="bar status-superseded" x="24" y="50" width="12" height="25"><title>Week of Nov 10 · Superseded: 1</title></rect>`,
		`<div class="chart-y" aria-hidden="true"><span>4</span><span>0</span></div>`,
		`<div class="chart-x timeline-x" aria-hidden="true"><span>Nov 3</span><span>Nov 10</span><span>Nov 17</span></div>`,
		`<span class="swatch status-accepted" aria-hidden="true"></span>Accepted <span class="legend-total">3</span>`,
		`<span class="swatch status-rejected" aria-hidden="true"></span>Rejected <span class="legend-total">1</span>`,
		`<tr><th scope="row">Nov 3</th><td class="num">2</td><td class="num">1</td><td class="num">0</td><td class="num">1</td><td class="num strong">4</td></tr>`,
		"Decisions per week, last 3 weeks",
	)
	if n := strings.Count(html, `<rect class="bar `); n != 5 {
		t.Errorf("%d segments, want 5", n)
	}
}

func TestTimelineEdgeCases(t *testing.T) {
	// Unknown statuses are one "Other" series on top; negative counts are
	// none; heights add up to the total's share of the busiest week.
	tl := newTimeline([]TimelineWeek{
		{Label: "a", Counts: map[string]int{"accepted": 3, "draft": 1, "<x>": 2, "proposed": -4}},
		{Label: "b", Counts: map[string]int{"accepted": 1}},
	})
	if got := strings.Join(tl.Titles, "|"); got != "Accepted|Proposed|Superseded|Rejected|Other" {
		t.Fatalf("columns = %q", got)
	}
	if tl.Top != "6" || tl.Bars[0].Total != 6 {
		t.Errorf("top %q, total %d", tl.Top, tl.Bars[0].Total)
	}
	segs := tl.Bars[0].Segments
	if len(segs) != 2 || segs[1].Class != "other" || segs[1].H != "50" || segs[1].Y != "0" || segs[0].H != "50" {
		t.Errorf("segments = %+v", segs)
	}
	if s := tl.Bars[1].Segments[0]; s.H != "16.67" || s.Y != "83.33" || s.X != "24" {
		t.Errorf("small bar = %+v", s)
	}

	// The fixture: 12 weeks, bar heights proportional to the totals.
	tl = newTimeline(timelineFixture())
	if len(tl.Bars) != 12 || tl.Width != 240 || tl.Empty {
		t.Fatalf("%d bars, width %d", len(tl.Bars), tl.Width)
	}
	top := 0
	for _, b := range tl.Bars {
		top = max(top, b.Total)
	}
	for i, b := range tl.Bars {
		var sum float64
		for _, s := range b.Segments {
			var h float64
			fmt.Sscan(s.H, &h)
			sum += h
		}
		if want := float64(b.Total) * 100 / float64(top); sum-want > 0.05 || want-sum > 0.05 {
			t.Errorf("week %d: height %.2f, want %.2f", i, sum, want)
		}
	}

	// Nothing at all: no chart, and with no decisions no timeline card.
	for _, weeks := range [][]TimelineWeek{nil, {{Label: "a"}}, {{Label: "a", Counts: map[string]int{"accepted": 0, "x": -1}}}} {
		if tl := newTimeline(weeks); !tl.Empty {
			t.Errorf("%v: not empty", weeks)
		}
	}
	tpl := mustNew(t)
	html := render(t, tpl, "decisions", DecisionsPage{Timeline: []TimelineWeek{{Label: "a"}}})
	mustLack(t, html, "chart-plot", `id="timeline-title"`)
	html = render(t, tpl, "decisions", DecisionsPage{Timeline: []TimelineWeek{{Label: "a"}}, Decisions: []DecisionRow{{ID: "d1", Title: "T"}}})
	mustContain(t, html, "No decisions in these weeks yet.")
	mustLack(t, html, "chart-plot")
}

func TestDecisionsPageFilled(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["decisions"].(DecisionsPage)
	page.Filter.Status, page.Filter.Origin, page.Filter.Service = "accepted", "detected", "slack"
	html := render(t, tpl, "decisions", page)

	mustContain(t, html,
		// Main action and export links (plain links with the filters).
		`<a class="btn btn-primary" href="#new-decision">`, `<section id="new-decision"`,
		`<a class="btn btn-sm" href="/api/v1/decision-logs/export?format=md&amp;status=accepted&amp;tag=Ada" download>Markdown</a>`,
		`<a class="btn btn-sm" href="/api/v1/decision-logs/export?format=csv&amp;status=accepted&amp;tag=Ada" download>CSV</a>`,
		`<a class="btn btn-sm" href="/api/v1/decision-logs/export?format=json&amp;status=accepted&amp;tag=Ada" download>JSON</a>`,
		// Rows: title link, status chip, origin, confidence, signals, time.
		`<h3 class="decision-title"><a href="/decisions/d1">Ada</a></h3>`,
		`<a href="/decisions/d%2F6%3Fx">Ada</a>`,
		`<span class="badge chip chip-proposed"><span class="dot status-proposed" aria-hidden="true"></span>Proposed</span>`,
		`<span class="badge chip chip-accepted"><span class="dot status-accepted" aria-hidden="true"></span>Accepted</span>`,
		`<span class="badge chip chip-rejected"><span class="dot status-rejected" aria-hidden="true"></span>Rejected</span>`,
		`<span class="badge chip chip-superseded"><span class="dot status-superseded" aria-hidden="true"></span>Superseded</span>`,
		`<span class="badge chip chip-other"><span class="dot status-other" aria-hidden="true"></span>Ada</span>`,
		">Detected</span>", ">Added by hand</span>", "87% confidence", "95% confidence",
		"<summary>Why this was detected: 3 signals</summary>",
		"<li>Decision phrase “we decided”</li>", "<li>Reaction :white_check_mark: on the message</li>",
		`Decided <time datetime="2025-03-14T09:00:00Z" title="2025-03-14T09:00:00Z">3 h ago</time> by <span class="strong">Ada</span>`,
		// Tags link to the filtered list; participants; sources.
		`<a class="tag" href="/decisions?tag=infra">#infra</a>`, `<a class="tag" href="/decisions?tag=Ada">#Ada</a>`,
		`<span class="muted">With</span> Ada, Lin`,
		`<a class="source-link" href="https://acme.slack.com/archives/C01/p1700000000000100?Ada" target="_blank" rel="noopener noreferrer">Slack message`,
		`<span class="source-id mono">C01:1700000000.000100</span>`, `<blockquote class="excerpt">Ada</blockquote>`,
		`<span class="source-link">Ada issue</span>`,
		`Superseded by <a href="/decisions/d2">Ada</a>`,
		// Pager and the manual-add form with its errors and kept values.
		`<a class="btn" href="/decisions?cursor=abc&amp;tag=Ada">Older decisions</a>`,
		`<form method="post" action="/decisions" class="form form-wide">`,
		`<input id="new-title" name="title" type="text" value="Ada" autocomplete="off" required aria-invalid="true" aria-describedby="new-title-hint new-title-error">`,
		`<textarea id="new-summary" name="summary" rows="4" aria-invalid="true"`,
		`<select id="new-status" name="status" aria-invalid="true" aria-describedby="new-status-error">`,
		`<option value="proposed" selected>Proposed</option>`,
		`<input id="new-source_url" name="source_url" type="url" value="Ada"`,
		`<p class="field-error" id="new-tags-error">Ada</p>`,
	)
	// Confirm where not accepted, Reject where not rejected; neither on a
	// superseded decision.
	for id, want := range map[string][2]bool{"d1": {true, true}, "d2": {false, true}, "d3": {true, false}, "d4": {false, false}, "d5": {true, true}} {
		re := regexp.MustCompile(`(?s)<form method="post" action="/decisions/` + id + `/status"[^>]*>.*?</form>`)
		var confirm, reject bool
		for _, f := range re.FindAllString(html, -1) {
			switch {
			case strings.Contains(f, `name="status" value="accepted"`):
				confirm = true
			case strings.Contains(f, `name="status" value="rejected"`):
				reject = true
				if !strings.Contains(f, `data-confirm="Reject “Ada”?`) {
					t.Errorf("%s: reject without confirmation: %s", id, f)
				}
			}
		}
		if confirm != want[0] || reject != want[1] {
			t.Errorf("%s: confirm %v reject %v, want %v", id, confirm, reject, want)
		}
	}

	// The filter form is a GET form that keeps its values.
	var f string
	for _, m := range formRe.FindAllString(html, -1) {
		if strings.HasPrefix(m, `<form method="get" action="/decisions"`) {
			f = m
		}
	}
	if f == "" {
		t.Fatal("no filter form")
	}
	mustContain(t, f, `<input id="search" name="q" type="search" value="Ada"`, `<option value="accepted" selected>Accepted</option>`,
		`<option value="detected" selected>Detected</option>`, `<option value="slack" selected>Slack</option>`,
		`<input id="decisions-tag" name="tag" type="text" value="Ada"`, `<input id="decisions-from" name="from" type="date" value="2025-01-01">`,
		`<input id="decisions-to" name="to" type="date" value="2025-03-14">`, `<a class="btn btn-ghost" href="/decisions">Clear</a>`)
	mustLack(t, f, "csrf_token")

	// Without CanEdit: no actions, no form, no New decision.
	page.CanEdit = false
	html = render(t, tpl, "decisions", page)
	mustLack(t, html, `method="post" action="/decisions`, `href="#new-decision"`, `id="new-decision"`, "#edit")
	mustContain(t, html, "/api/v1/decision-logs/export?format=csv")
}

func TestDecisionsEmptyStates(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "decisions", DecisionsPage{CanEdit: true})
	mustContain(t, html, "No decisions yet — connect Slack, or add one by hand.", `<a href="/integrations">`, `<a href="#new-decision">`,
		`href="/api/v1/decision-logs/export?format=md"`)
	mustLack(t, html, "<ol", "Older decisions", ">Clear<")

	p := DecisionsPage{}
	p.Filter.Tag = "infra"
	html = render(t, tpl, "decisions", p)
	mustContain(t, html, "No decisions match these filters", `<a href="/decisions">Show all decisions</a>`, ">Clear<")
	mustLack(t, html, "No decisions yet")
}

func TestDecisionPage(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["decision"].(DecisionPage)
	html := render(t, tpl, "decision", page)
	mustContain(t, html,
		"<h1>Ada</h1>", `<a class="btn" href="/decisions">All decisions</a>`,
		// Fields, sources and explained signals.
		`<p class="decision-text">Ada`+"\n"+`Second line: Ada</p>`,
		`<time datetime="2025-03-14T09:00:00Z" title="2025-03-14T09:00:00Z">14 Mar 2025, 09:00</time>`,
		"<dd>Ada, Lin</dd>", "<dd>Detected · 87%</dd>",
		`<span class="strong">87%</span> sure`,
		`<span class="signal-text">Decision phrase “we decided”</span> <code>phrase:we decided</code>`,
		`<span class="signal-text">Ada</span> <code>Ada</code>`,
		`rel="noopener noreferrer">Slack message`,
		// Edit form: the four statuses, the current one selected, tags joined.
		`<form method="post" action="/decisions/d1" class="form form-wide">`,
		`<input id="f-title" name="title" type="text" value="Ada" autocomplete="off" required aria-invalid="true" aria-describedby="f-title-error">`,
		`<input id="f-tags" name="tags" type="text" value="infra, Ada"`,
		`<option value="proposed" selected>Proposed</option>`, `<option value="accepted">Accepted</option>`,
		`<option value="rejected">Rejected</option>`, `<option value="superseded">Superseded</option>`,
		`<p class="field-error" id="f-status-error">Ada</p>`,
		// Supersede: the other decisions, not this one.
		`<form method="post" action="/decisions/d1/supersede" class="form form-wide" data-confirm="`,
		`<select id="f-superseded_by" name="superseded_by" required>`, `<option value="d2">Ada</option>`, `<option value="d/6?x">Ada</option>`,
		// Delete, with confirmation; quick status actions in the header.
		`<form method="post" action="/decisions/d1/delete" data-confirm="Delete “Ada” for good? This can't be undone.">`,
		`<form method="post" action="/decisions/d1/status">`, `<a class="btn btn-primary" href="#edit">Edit</a>`,
	)
	mustLack(t, html, `<option value="d1"`, "Superseded by <a")

	// Superseded: the link to the newer decision; no quick actions.
	page.Decision = filled("Ada")["decisions"].(DecisionsPage).Decisions[3]
	page.Errors = FormErrors{"superseded_by": "No such decision."}
	html = render(t, tpl, "decision", page)
	mustContain(t, html, `<strong>Superseded by <a href="/decisions/d2">Ada</a></strong>`,
		`<option value="d2" selected>Ada</option>`, `<p class="field-error" id="f-superseded_by-error">No such decision.</p>`,
		`aria-invalid="true" aria-describedby="f-superseded_by-error"`)
	mustLack(t, html, `/status"`, "Why this was detected")

	// Read-only, and no candidates.
	page.CanEdit = false
	html = render(t, tpl, "decision", page)
	mustLack(t, html, `method="post" action="/decisions`, `href="#edit"`)
	page.CanEdit, page.Candidates = true, []DecisionRow{{ID: page.Decision.ID}}
	html = render(t, tpl, "decision", page)
	mustContain(t, html, "No other decisions to choose from yet.")
	mustLack(t, html, "/supersede")
}

func TestDashboardRecentDecisions(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "dashboard", filled("Ada")["dashboard"])
	mustContain(t, html, `<h2 id="recent-title" class="card-heading">Recent decisions</h2>`, `<a class="small" href="/decisions">All decisions</a>`,
		`<a class="recent-title" href="/decisions/d1">Ada</a>`,
		`<span class="badge chip chip-proposed">`, `<span class="recent-when"><time datetime="2025-03-14T09:00:00Z" title="2025-03-14T09:00:00Z">3 h ago</time></span>`)
	if n := strings.Count(html, `class="recent-item"`); n != 5 {
		t.Errorf("%d recent decisions, want 5 of 6", n)
	}
	mustLack(t, html, `href="/decisions/d%2F6%3Fx"`)

	html = render(t, tpl, "dashboard", DashboardPage{})
	mustContain(t, html, "No decisions yet — connect Slack, or", `<a href="/decisions#new-decision">add one by hand</a>`)
	mustLack(t, html, `class="recent-item"`)
}

func TestSearchPageFilled(t *testing.T) {
	tpl := mustNew(t)
	page := filled("Ada")["search"].(SearchPage)
	page.Query.Type, page.Query.Service = "pull_request", "github"
	html := render(t, tpl, "search", page)
	mustContain(t, html,
		// The box: id="search" for "/", autofocus, the error wired to it.
		`<input id="search" name="q" type="search" value="Ada" placeholder="Search messages, issues, pull requests and decisions" autocomplete="off" autofocus aria-invalid="true" aria-describedby="search-hint search-error">`,
		`<label for="search" class="visually-hidden">Search</label>`,
		`<p class="field-error search-error" id="search-error" role="alert">Ada</p>`,
		// Filters kept; the sort; the filters open.
		`<option value="pull_request" selected>Pull requests</option>`, `<option value="github" selected>GitHub</option>`,
		`<input id="search-channel" name="channel" type="text" value="Ada"`, `<input id="search-author" name="author" type="text" value="Ada"`,
		`<input id="search-from" name="from" type="date" value="2025-01-01">`, `<input id="search-to" name="to" type="date" value="2025-03-14">`,
		`<option value="date" selected>Newest first</option>`, `<details class="search-filters" open>`,
		`<a class="btn btn-ghost" href="/search?q=Ada">Clear filters</a>`,
		// Results: count, time, links, snippets, metadata.
		`<span class="strong">1,234 results</span> in 7 ms`,
		`<a href="https://acme.slack.com/archives/C01/p1?Ada" target="_blank" rel="noopener noreferrer">Message in #eng`,
		`<a href="https://linear.app/acme/issue/ENG-1" target="_blank" rel="noopener noreferrer">Ada`,
		`<h2 class="result-title"><a href="/decisions/d1">Ada</a></h2>`,
		`<h2 class="result-title">Ada</h2>`,
		`<p class="result-snippet">… we <mark>Ada</mark> to move Ada …</p>`,
		`<span>Pull request</span><span>GitHub</span><span>acme/api</span><span>Ada</span><span><time`,
		`<a class="btn" href="/search?q=Ada&amp;offset=0" rel="prev">Previous</a>`,
		`<a class="btn" href="/search?q=Ada&amp;offset=40" rel="next">Next</a>`,
	)
	// A broad search's total is an estimate.
	page.TotalEstimated = true
	mustContain(t, render(t, tpl, "search", page), `<span class="strong">about 1,234 results</span> in 7 ms`)
	mustLack(t, html, "javascript:", "Search everything PM Assistant has read")
	// The form is a GET form, enhanced by app.js, without the token.
	f := formFor(html, "/search")
	if !strings.HasPrefix(f, `<form method="get" action="/search" class="search-form" role="search"`) || !strings.Contains(f, "data-live-search") {
		t.Errorf("search form: %.120s", f)
	}
	mustLack(t, f, "csrf_token")
	// Every control has a label.
	for _, m := range regexp.MustCompile(`<(?:input|select) id="([^"]+)"`).FindAllStringSubmatch(f, -1) {
		mustContain(t, f, `<label for="`+m[1]+`"`)
	}
}

func TestSearchStates(t *testing.T) {
	tpl := mustNew(t)
	// Before a search: tips, no count, filters closed.
	html := render(t, tpl, "search", SearchPage{})
	mustContain(t, html, "Search everything PM Assistant has read", "quoted", `<details class="search-filters">`, `id="search"`, " autofocus")
	mustLack(t, html, "results</span> in", "No results", "search-error", `<details class="search-filters" open>`)

	// The index is being built: the notice, not results.
	html = render(t, tpl, "search", SearchPage{Searched: true, Unavailable: "The search index is being rebuilt.",
		Results: []SearchResultRow{{Title: "hidden-title"}}})
	mustContain(t, html, `<div class="banner banner-warn" role="status">`, "The search index is being rebuilt.")
	mustLack(t, html, "hidden-title", "Search everything")

	// Nothing found.
	p := SearchPage{Searched: true}
	p.Query.Q, p.Query.Author = "postgres", "ada"
	html = render(t, tpl, "search", p)
	mustContain(t, html, "No results for “postgres”", `<a href="/search?q=postgres">clear the filters</a>`)

	// A malformed query: the message next to the box, no empty state.
	p = SearchPage{Searched: true, Error: `Unbalanced quote in "x`}
	html = render(t, tpl, "search", p)
	mustContain(t, html, `id="search-error" role="alert">Unbalanced quote in &#34;x</p>`, `aria-invalid="true"`)
	mustLack(t, html, "No results", "Search everything")

	// A safe pager only.
	html = render(t, tpl, "search", SearchPage{Searched: true, Total: 1, Results: []SearchResultRow{{Type: "issue", Title: "t"}},
		PrevHref: "javascript:alert(1)", NextHref: "//evil.example.com/"})
	mustContain(t, html, "1 result</span> in 0 ms")
	mustLack(t, html, "javascript:", "evil.example.com", `rel="prev"`, `rel="next"`)
}

func TestSnippetIsMarkupTitleIsText(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "search", SearchPage{Searched: true, Total: 1, Results: []SearchResultRow{{
		Type:    "message",
		Title:   "we <mark>decided</mark> <b>x</b>",
		Channel: "<mark>#eng</mark>",
		Author:  "<mark>Ada</mark>",
		Snippet: template.HTML("we <mark>decided</mark> &lt;b&gt;"),
		Href:    "https://example.com/m",
	}}})
	mustContain(t, html,
		`<p class="result-snippet">we <mark>decided</mark> &lt;b&gt;</p>`,
		`rel="noopener noreferrer">we &lt;mark&gt;decided&lt;/mark&gt; &lt;b&gt;x&lt;/b&gt;<svg`,
		"<span>&lt;mark&gt;#eng&lt;/mark&gt;</span>", "<span>&lt;mark&gt;Ada&lt;/mark&gt;</span>",
	)
	if n := strings.Count(html, "<mark>"); n != 1 {
		t.Errorf("%d <mark> elements, want 1 (the snippet's)", n)
	}
	mustLack(t, html, "<b>")
}

func TestDecisionPagesEscapeUntrustedText(t *testing.T) {
	tpl := mustNew(t)
	const escaped = "&lt;script&gt;alert(1)&lt;/script&gt;"
	d := DecisionRow{ID: "d1", Title: xss, Summary: xss, Status: "proposed", Origin: "detected", Confidence: 0.5,
		Signals: []string{"phrase:" + xss, xss}, Participants: []string{xss}, Tags: []string{xss}, DecidedBy: xss,
		DecidedAt: testNow, SupersededBy: "d2", SupersededByTitle: xss,
		Sources: []SourceRow{{Service: xss, ServiceTitle: xss, Kind: xss, ExternalID: xss, URL: "https://example.com/" + xss, Excerpt: xss}}}
	pages := map[string]any{
		"decisions": DecisionsPage{Decisions: []DecisionRow{d}, CanEdit: true, ExportQuery: xss},
		"decision":  DecisionPage{Decision: d, CanEdit: true, Candidates: []DecisionRow{{ID: xss, Title: xss}}},
		"dashboard": DashboardPage{RecentDecisions: []DecisionRow{d}},
		"search": SearchPage{Searched: true, Total: 1, Results: []SearchResultRow{{Type: xss, Title: xss, Service: xss, ServiceTitle: xss,
			Channel: xss, Author: xss, Href: "https://example.com/" + xss, Snippet: template.HTML(template.HTMLEscapeString(xss))}}},
	}
	for name, data := range pages {
		html := render(t, tpl, name, data)
		mustLack(t, html, "<script>alert", "<img", `="x"`, "onerror=alert(1)>")
		min := map[string]int{"decisions": 10, "decision": 12, "dashboard": 1, "search": 5}[name]
		if n := strings.Count(html, escaped); n < min {
			t.Errorf("%s: escaped payload seen %d times, want at least %d", name, n, min)
		}
		// No class is made of the payload.
		if regexp.MustCompile(`class="[^"]*(?:&lt;|<)`).MatchString(html) {
			t.Errorf("%s: payload in a class attribute", name)
		}
	}
}

func TestUnsafeURLsAreNotLinked(t *testing.T) {
	tpl := mustNew(t)
	for _, bad := range []string{"javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,x", "//evil.example.com/x", "vbscript:x"} {
		d := DecisionRow{ID: "d1", Title: "T", Status: "accepted", Origin: "manual",
			Sources: []SourceRow{{Service: "slack", ServiceTitle: "Slack", Kind: "message", URL: bad, Excerpt: "e"}}}
		for name, data := range map[string]any{
			"decisions": DecisionsPage{Decisions: []DecisionRow{d}, NextHref: bad},
			"decision":  DecisionPage{Decision: d},
			"search": SearchPage{Searched: true, Total: 2, PrevHref: bad, NextHref: bad, Results: []SearchResultRow{
				{Type: "message", Title: "item", Href: bad, URL: bad},
				{Type: "decision", Title: "dec", Href: bad},
			}},
		} {
			html := render(t, tpl, name, data)
			mustLack(t, html, strings.TrimSpace(bad), "evil.example.com", "Older decisions", `rel="next"`)
			if name == "search" {
				mustContain(t, html, `<h2 class="result-title">item</h2>`, `<h2 class="result-title">dec</h2>`)
			} else {
				mustContain(t, html, `<span class="source-link">Slack message</span>`)
				mustLack(t, html, `<a class="source-link"`)
			}
		}
	}
	// Result links: http(s) in a new tab, /decisions/ paths in place,
	// nothing else.
	for href, want := range map[string]resultLink{
		"https://example.com/x":    {Href: "https://example.com/x", External: true},
		"http://example.com":       {Href: "http://example.com", External: true},
		"/decisions/d1":            {Href: "/decisions/d1"},
		"/decisions/":              {Href: "/decisions/"},
		"/settings":                {},
		"/decisions/\\evil":        {},
		"//evil.example.com":       {},
		"javascript:alert(1)":      {},
		"/decisions/x\njavascript": {},
		"":                         {},
	} {
		if got := newResultLink(href); got != want {
			t.Errorf("newResultLink(%q) = %+v, want %+v", href, got, want)
		}
	}
}

func TestDecisionFuncs(t *testing.T) {
	for in, want := range map[float64]string{0: "0%", 0.873: "87%", 0.875: "88%", 1: "100%", 1.7: "100%", -0.2: "0%"} {
		if got := percent(in); got != want {
			t.Errorf("percent(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"phrase:we decided":         "Decision phrase “we decided”",
		"marker:Decision:":          "Explicit marker “Decision:”",
		"reaction:white_check_mark": "Reaction :white_check_mark: on the message",
		"reaction::+1:":             "Reaction :+1: on the message",
		"label:decision":            "Linear label “decision”",
		"adr:docs/adr/0001-db.md":   "The pull request adds an ADR: docs/adr/0001-db.md",
		"negated":                   "Negated (“not”, “haven’t”…): confidence lowered",
		"question":                  "Asked as a question: confidence lowered",
		"something:new":             "something:new",
	} {
		if got := signalText(in); got != want {
			t.Errorf("signalText(%q) = %q, want %q", in, got, want)
		}
	}
	for _, tc := range []struct{ format, query, want string }{
		{"md", "", "/api/v1/decision-logs/export?format=md"},
		{"csv", "status=accepted&tag=infra", "/api/v1/decision-logs/export?format=csv&status=accepted&tag=infra"},
		{"json", "?tag=a b&format=xml&cursor=c", "/api/v1/decision-logs/export?format=json&tag=a+b"},
		{"md", "q=%3Cscript%3E&x=\"y", "/api/v1/decision-logs/export?format=md&q=%3Cscript%3E&x=%22y"},
	} {
		if got := exportHref(tc.format, tc.query); got != tc.want {
			t.Errorf("exportHref(%q, %q) = %q, want %q", tc.format, tc.query, got, tc.want)
		}
	}
	for _, tc := range []struct {
		r    SearchResultRow
		want string
	}{
		{SearchResultRow{Type: "issue", Title: " ENG-1 Fix "}, "ENG-1 Fix"},
		{SearchResultRow{Type: "message", Channel: "#eng", Author: "Ada"}, "Message in #eng"},
		{SearchResultRow{Type: "message", Author: "Ada"}, "Message by Ada"},
		{SearchResultRow{Type: "pull_request"}, "Untitled pull request"},
	} {
		if got := resultTitle(tc.r); got != tc.want {
			t.Errorf("resultTitle(%+v) = %q, want %q", tc.r, got, tc.want)
		}
	}
	for _, tc := range []struct {
		s    SourceRow
		want string
	}{
		{SourceRow{Service: "slack", ServiceTitle: "Slack", Kind: "message"}, "Slack message"},
		{SourceRow{Service: "github", Kind: "pull_request"}, "github pull request"},
		{SourceRow{Kind: "link"}, "Link"},
		{SourceRow{ServiceTitle: "Linear"}, "Linear"},
	} {
		if got := sourceText(tc.s); got != tc.want {
			t.Errorf("sourceText(%+v) = %q, want %q", tc.s, got, tc.want)
		}
	}
	for in, want := range map[string]string{"accepted": "accepted", "superseded": "superseded", "": "other", "<x>": "other"} {
		if got := decisionClass(in); got != want {
			t.Errorf("decisionClass(%q) = %q", in, got)
		}
	}
	if got := len(firstDecisions(5, make([]DecisionRow, 7))); got != 5 {
		t.Errorf("first 5 of 7 = %d", got)
	}
	if got := len(firstDecisions(5, make([]DecisionRow, 2))); got != 2 {
		t.Errorf("first 5 of 2 = %d", got)
	}
}

func TestDecisionAndSearchFormsAndCSP(t *testing.T) {
	tpl := mustNew(t)
	f := filled("Ada")
	for _, page := range []string{"decisions", "decision", "search", "dashboard"} {
		html := render(t, tpl, page, f[page])
		posts, gets := 0, 0
		for _, m := range formRe.FindAllStringSubmatch(html, -1) {
			open := m[0][:strings.Index(m[0], ">")+1]
			post := methodRe.MatchString(open)
			if post {
				posts++
			} else if getMethodRe.MatchString(open) {
				gets++
			} else {
				t.Errorf("%s: form without a method: %s", page, open)
			}
			if post != csrfRe.MatchString(m[1]) {
				t.Errorf("%s: POST form without the token, or GET form with it: %s", page, open)
			}
		}
		want := map[string][2]int{
			// logout and switch-tenant are POST forms of the layout, once in
			// the sidebar and once in the narrow-screen menu.
			"decisions": {4 + 7 + 1, 1}, // 3 confirm + 4 reject, add
			"decision":  {4 + 5, 0},     // confirm, reject, edit, supersede, delete
			"search":    {4, 1},
			"dashboard": {4, 0},
		}[page]
		if posts != want[0] || gets != want[1] {
			t.Errorf("%s: %d POST and %d GET forms, want %v", page, posts, gets, want)
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
		// Ids are unique, every input, select and textarea has a label,
		// and links that open a new tab drop the opener and referrer.
		seen := map[string]bool{}
		for _, m := range regexp.MustCompile(`\sid="([^"]+)"`).FindAllStringSubmatch(html, -1) {
			if seen[m[1]] {
				t.Errorf("%s: duplicate id %q", page, m[1])
			}
			seen[m[1]] = true
		}
		for _, m := range regexp.MustCompile(`<(?:input|select|textarea) id="([^"]+)"`).FindAllStringSubmatch(html, -1) {
			mustContain(t, html, `<label for="`+m[1]+`"`)
		}
		for _, a := range regexp.MustCompile(`<a [^>]*target="_blank"[^>]*>`).FindAllString(html, -1) {
			if !strings.Contains(a, `rel="noopener noreferrer"`) || !strings.Contains(a, `href="http`) {
				t.Errorf("%s: new-tab link %s", page, a)
			}
		}
	}
}

func TestAppJSLiveSearch(t *testing.T) {
	js := string(mustStatic(t, "app.js"))
	for _, s := range []string{`form[data-live-search]`, "searchDelayMs = 300", "history.replaceState", "new DOMParser()",
		`"[data-search-live][id]"`, `credentials: "same-origin"`, "controller.abort()", `getElementById("search")`} {
		if !strings.Contains(js, s) {
			t.Errorf("app.js lacks %q", s)
		}
	}
	// The parts it swaps exist on the page, with ids.
	tpl := mustNew(t)
	html := render(t, tpl, "search", SearchPage{})
	mustContain(t, html, `<section id="search-results" class="search-results" aria-label="Search results" data-search-live>`,
		`<div id="search-status" data-search-live>`, `id="search-announce"`, "data-live-search")
}

func TestSearchResultTimes(t *testing.T) {
	tpl := mustNew(t)
	html := render(t, tpl, "search", SearchPage{Searched: true, Total: 1, Results: []SearchResultRow{{Type: "issue", Title: "t"}}})
	// A result without a time shows none (rather than "never").
	mustLack(t, html, "never", "<time")
	html = render(t, tpl, "search", SearchPage{Searched: true, Total: 1, Results: []SearchResultRow{{Type: "issue", Title: "t", CreatedAt: testNow.Add(-90 * time.Minute)}}})
	mustContain(t, html, ">1 h ago</time>")
}
