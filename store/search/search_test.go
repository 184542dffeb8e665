package search

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

func TestTenantIsolation(t *testing.T) {
	f := newFakeStore()
	ix := openReady(t, t.TempDir(), f)
	own := map[string]map[string]bool{"acme": {}, "globex": {}}
	for tenant := range own {
		for i := range 5 {
			id := fmt.Sprintf("%s-%d", tenant, i)
			own[tenant][id] = true
			it := msg(tenant, id, "roadmap review with tenant words: tenant:acme tenant:globex +tenant * ~ ^ 🚀", t0.Add(time.Duration(i)*time.Hour))
			it.Author = pmassist.Person{Name: "Pat " + tenant, Email: "pat@" + tenant + ".test"}
			add(f, ix, it)
		}
	}
	add(f, ix, msg("globex", "globex-secret", "merger codename bluebird", t0))
	own["globex"]["globex-secret"] = true
	waitIdle(t, ix)

	queries := []string{
		"", "roadmap", "tenant:globex", "tenant:acme", "+tenant:globex", "+tenant:globex roadmap",
		"-tenant:acme", "tenant:globex OR roadmap", "*", "roadmap*", "*:*", "_id:globex-0", "tenant", "globex",
		`"tenant:globex"`, "roadmap~2", "roadmap^10", "(tenant:globex)", `tenant:"globex"`,
		"🚀", "road\u200fmap", "\u202eroadmap", "e\u0301\u0301\u0301", "\x00roadmap", "\x00", "\u200b", "ﷺ", "𝔯𝔬𝔞𝔡𝔪𝔞𝔭",
		"bluebird", "merger codename",
	}
	for tenant, ids := range own {
		for _, q := range queries {
			res, err := ix.Search(tenantCtx(tenant), pmassist.SearchQuery{Q: q, Limit: 100})
			if err != nil {
				t.Errorf("%s: Search(%q): %v", tenant, q, err)
				continue
			}
			for _, r := range res.Results {
				if !ids[r.ID] {
					t.Errorf("%s: Search(%q) returned %s of another tenant", tenant, q, r.ID)
				}
			}
			if res.Total > len(ids) {
				t.Errorf("%s: Search(%q) total %d > %d documents of the tenant", tenant, q, res.Total, len(ids))
			}
		}
		// Filters naming the other tenant's values find nothing either.
		other := "globex"
		if tenant == other {
			other = "acme"
		}
		for _, q := range []pmassist.SearchQuery{
			{Author: "pat@" + other + ".test"},
			{Author: "Pat " + other},
			{Q: "roadmap", Author: "pat " + other},
		} {
			if got := searchIDs(t, ix, tenant, q); len(got) != 0 {
				t.Errorf("%s: Search(%+v) = %v, want nothing", tenant, q, got)
			}
		}
	}
	if got := searchIDs(t, ix, "acme", pmassist.SearchQuery{Q: "bluebird"}); len(got) != 0 {
		t.Errorf("acme found globex's words: %v", got)
	}
	if got := searchIDs(t, ix, "globex", pmassist.SearchQuery{Q: "bluebird"}); !equal(got, []string{"globex-secret"}) {
		t.Errorf("globex: bluebird = %v", got)
	}
	if got := searchIDs(t, ix, "acme", pmassist.SearchQuery{}); len(got) != 5 {
		t.Errorf("acme lists %d documents, want 5", len(got))
	}

	// A 10,000-character query is refused, not a crash.
	_, err := ix.Search(tenantCtx("acme"), pmassist.SearchQuery{Q: strings.Repeat("tenant:globex ", 715)})
	wantCode(t, err, pmassist.EINVALID)
	// Without a tenant nothing is searched.
	if res, err := ix.Search(context.Background(), pmassist.SearchQuery{Q: "roadmap"}); err == nil {
		t.Errorf("search without a tenant = %+v, want an error", res)
	}
	if res, err := ix.Search(tenantCtx("initech"), pmassist.SearchQuery{}); err != nil || res.Total != 0 {
		t.Errorf("a tenant without documents: %+v, %v", res, err)
	}
}

func TestWordsAndPhrases(t *testing.T) {
	f := newFakeStore()
	ix := openReady(t, t.TempDir(), f)
	add(f, ix,
		msg("acme", "pg-analytics", "We decided to use Postgres for the analytics pipeline", t0),
		msg("acme", "pg-slow", "postgres is slow on Mondays", t0.Add(time.Hour)),
		msg("acme", "clickhouse", "analytics dashboards use ClickHouse", t0.Add(2*time.Hour)),
	)
	issue := &pmassist.Item{ID: "issue-title", TenantID: "acme", Type: pmassist.ItemIssue, Service: pmassist.ServiceLinear,
		Title: "Dashboards are slow", Text: "nothing else here", Channel: "ENG", CreatedAt: t0.Add(3 * time.Hour)}
	add(f, ix, issue)
	waitIdle(t, ix)

	q := func(s string) pmassist.SearchQuery { return pmassist.SearchQuery{Q: s} }
	wantIDs(t, ix, "acme", q("postgres"), "pg-analytics", "pg-slow")
	wantIDs(t, ix, "acme", q("postgres analytics"), "pg-analytics") // all words required
	wantIDs(t, ix, "acme", q("POSTGRES   Analytics"), "pg-analytics")
	wantIDs(t, ix, "acme", q("decide"), "pg-analytics") // stemmed
	wantIDs(t, ix, "acme", q("the postgres"), "pg-analytics", "pg-slow")
	wantIDs(t, ix, "acme", q(`"use postgres"`), "pg-analytics")
	wantIDs(t, ix, "acme", q(`“use postgres”`), "pg-analytics")
	wantIDs(t, ix, "acme", q(`"postgres use"`))
	wantIDs(t, ix, "acme", q(`"analytics pipeline" decided`), "pg-analytics")
	wantIDs(t, ix, "acme", q(`"analytics pipeline" slow`))
	wantIDs(t, ix, "acme", q(`"use postgres for the analytics"`), "pg-analytics")
	// Phrases through pairs of neighbouring tokens: a stop word's gap
	// counts, the order counts, neighbours elsewhere do not make a phrase,
	// and a phrase never spans the title and the text.
	wantIDs(t, ix, "acme", q(`"postgres for the analytics"`), "pg-analytics")
	wantIDs(t, ix, "acme", q(`"postgres analytics"`))                 // the gap is missing
	wantIDs(t, ix, "acme", q(`"postgres for analytics"`))             // the gap is too short
	wantIDs(t, ix, "acme", q(`"analytics for the postgres"`))         // the order
	wantIDs(t, ix, "acme", q(`"use postgres for the pipeline"`))      // each pair is there, the phrase is not
	wantIDs(t, ix, "acme", q(`"dashboards are slow"`), "issue-title") // in the title
	wantIDs(t, ix, "acme", q(`"slow nothing"`))                       // across title and text
	wantIDs(t, ix, "acme", q(`"postgres is slow" "on mondays"`), "pg-slow")
	wantIDs(t, ix, "acme", q("dashboards"), "clickhouse", "issue-title")
	wantIDs(t, ix, "acme", q("the")) // only a stop word: nothing, no error
	wantIDs(t, ix, "acme", q(`""`), "pg-analytics", "pg-slow", "clickhouse", "issue-title")

	// The title counts double.
	if got := searchIDs(t, ix, "acme", q("dashboards")); len(got) != 2 || got[0] != "issue-title" {
		t.Errorf("dashboards ranked %v, want the title match first", got)
	}

	_, err := ix.Search(tenantCtx("acme"), q(`"use postgres`))
	wantCode(t, err, pmassist.EINVALID)
	if msg := pmassist.ErrorMessage(err); msg != `a quoted phrase is not closed: add the missing "` {
		t.Errorf("message %q", msg)
	}
	_, err = ix.Search(tenantCtx("acme"), q(strings.Repeat("é", 501)))
	wantCode(t, err, pmassist.EINVALID)
	if msg := pmassist.ErrorMessage(err); msg != "the search is too long (at most 500 characters)" {
		t.Errorf("message %q", msg)
	}
	if _, err := ix.Search(tenantCtx("acme"), q(strings.Repeat("é", 500))); err != nil {
		t.Errorf("500 characters: %v", err)
	}
	_, err = ix.Search(tenantCtx("acme"), q(strings.Repeat("word ", 33)))
	wantCode(t, err, pmassist.EINVALID)
	_, err = ix.Search(tenantCtx("acme"), q(`"`+strings.Repeat("word ", 33)+`"`))
	wantCode(t, err, pmassist.EINVALID)
	_, err = ix.Search(tenantCtx("acme"), q(strings.Repeat("x1-x2-x3-x4 ", 20)))
	wantCode(t, err, pmassist.EINVALID)
	if _, err := ix.Search(tenantCtx("acme"), q(strings.Repeat("word ", 32))); err != nil {
		t.Errorf("32 words: %v", err)
	}
	_, err = ix.Search(tenantCtx("acme"), q("postgres \xff\xfe"))
	wantCode(t, err, pmassist.EINVALID)
}

func TestFilters(t *testing.T) {
	f := newFakeStore()
	ix := openReady(t, t.TempDir(), f)
	m := msg("acme", "m1", "release plan", t0)
	m.Channel = "Eng-Releases"
	issue := &pmassist.Item{ID: "i1", TenantID: "acme", Type: pmassist.ItemIssue, Service: pmassist.ServiceLinear,
		Title: "Release checklist", Text: "release plan for Q4", Channel: "ENG",
		Author: pmassist.Person{Name: "Lin Chen", Email: "lin@acme.test"}, CreatedAt: t0.Add(time.Hour)}
	pr := &pmassist.Item{ID: "p1", TenantID: "acme", Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub,
		Title: "Release script", Text: "automates the release plan", Channel: "acme/api",
		Author: pmassist.Person{Name: "Grace Hopper"}, CreatedAt: t0.Add(2 * time.Hour)}
	add(f, ix, m, issue, pr)
	f.putDecision(&pmassist.Decision{ID: "d1", TenantID: "acme", Title: "Ship the release plan", Summary: "We ship on Fridays",
		DecidedAt: t0.Add(3 * time.Hour), DecidedBy: pmassist.Person{Name: "Lin Chen", Email: "lin@acme.test"},
		Sources: []pmassist.DecisionSource{{Service: pmassist.ServiceSlack, Kind: "message", ExternalID: "C01:m1", ItemID: "m1"}}})
	ix.QueueDecisions(tenantCtx("acme"), "d1")
	waitIdle(t, ix)

	all := pmassist.SearchQuery{Q: "release"}
	wantIDs(t, ix, "acme", all, "m1", "i1", "p1", "d1")
	with := func(fn func(*pmassist.SearchQuery)) pmassist.SearchQuery {
		q := all
		fn(&q)
		return q
	}
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Types = []string{"message"} }), "m1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Types = []string{"issue", "pull_request"} }), "i1", "p1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Types = []string{"decision"} }), "d1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Service = pmassist.ServiceLinear }), "i1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Service = pmassist.ServiceSlack }), "m1", "d1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Channel = "eng" }), "i1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Channel = "#eng-releases" }), "m1", "d1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Channel = "ACME/API" }), "p1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Author = "lin chen" }), "i1", "d1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Author = "LIN@acme.test" }), "i1", "d1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Author = "Grace Hopper" }), "p1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Author = "lin" }))
	// Filters without words list by date.
	if got := searchIDs(t, ix, "acme", pmassist.SearchQuery{Author: "lin chen"}); !equal(got, []string{"d1", "i1"}) {
		t.Errorf("author listing = %v, want [d1 i1]", got)
	}

	// From is inclusive, To exclusive.
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.From, q.To = at(time.Hour), at(2*time.Hour) }), "i1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.From, q.To = at(time.Hour), at(2*time.Hour+time.Nanosecond) }), "i1", "p1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.From = at(time.Hour + time.Nanosecond) }), "p1", "d1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.To = at(time.Hour) }), "m1")
	wantIDs(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.From, q.To = at(time.Hour), at(time.Hour) }))

	// The result carries what the page shows.
	res := mustSearch(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Types = []string{"issue"} }))
	if len(res.Results) != 1 {
		t.Fatalf("results %+v", res.Results)
	}
	r := res.Results[0]
	if r.Type != "issue" || r.ID != "i1" || r.Title != "Release checklist" || r.Service != "linear" || r.Channel != "ENG" ||
		r.Author != "Lin Chen" || !r.CreatedAt.Equal(issue.CreatedAt) || !(r.Score > 0) {
		t.Errorf("result %+v", r)
	}
	res = mustSearch(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Types = []string{"decision"} }))
	if d := res.Results[0]; d.Type != "decision" || d.ID != "d1" || d.URL != "" || d.Channel != "Eng-Releases" || d.Author != "Lin Chen" ||
		!d.CreatedAt.Equal(t0.Add(3*time.Hour)) || !strings.Contains(d.Snippet, "Fridays") {
		t.Errorf("decision result %+v", d)
	}
	res = mustSearch(t, ix, "acme", with(func(q *pmassist.SearchQuery) { q.Types = []string{"message"} }))
	if m := res.Results[0]; m.URL != "https://slack.test/m1" || m.Channel != "Eng-Releases" {
		t.Errorf("message result %+v", m)
	}

	ancient := time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, q := range []pmassist.SearchQuery{
		{Types: []string{"email"}},
		{Service: "jira"},
		{Sort: "size"},
		{Offset: -1},
		{Offset: 9990, Limit: 20},
		{From: &ancient},
	} {
		_, err := ix.Search(tenantCtx("acme"), q)
		wantCode(t, err, pmassist.EINVALID)
	}
}

func TestSortAndPagination(t *testing.T) {
	f := newFakeStore()
	ix := openReady(t, t.TempDir(), f)
	const n = 25
	for i := range n {
		// Pairs share a date, so that the order needs its tie-breaker.
		text := "weekly sync notes"
		if i%5 == 0 {
			text = "weekly sync notes sync sync"
		}
		add(f, ix, msg("acme", fmt.Sprintf("m%02d", i), text, t0.Add(time.Duration(i/2)*time.Hour)))
	}
	waitIdle(t, ix)

	res := mustSearch(t, ix, "acme", pmassist.SearchQuery{Q: "sync", Sort: "date", Limit: 100})
	if res.Total != n || len(res.Results) != n {
		t.Fatalf("total %d, %d results", res.Total, len(res.Results))
	}
	for i := 1; i < n; i++ {
		if res.Results[i].CreatedAt.After(res.Results[i-1].CreatedAt) {
			t.Fatalf("not newest first at %d: %v", i, resultIDs(res))
		}
	}
	res = mustSearch(t, ix, "acme", pmassist.SearchQuery{Q: "sync"})
	if len(res.Results) != 20 {
		t.Errorf("default limit: %d results", len(res.Results))
	}
	top := resultIDs(res)[:5] // those that say "sync" most
	slices.Sort(top)
	if !equal(top, []string{"m00", "m05", "m10", "m15", "m20"}) {
		t.Errorf("relevance: first %v (%v)", top, resultIDs(res))
	}
	for i := 1; i < len(res.Results); i++ {
		if !(res.Results[i].Score > 0) || res.Results[i].Score > res.Results[i-1].Score {
			t.Fatalf("relevance not descending at %d", i)
		}
	}

	for _, q := range []pmassist.SearchQuery{{Q: "sync", Sort: "date"}, {Q: "sync"}, {Q: "weekly notes", Sort: "relevance"}, {}} {
		seen := map[string]bool{}
		var pages []string
		for page := range 3 {
			q.Limit, q.Offset = 10, page*10
			res := mustSearch(t, ix, "acme", q)
			if res.Total != n {
				t.Errorf("%+v: total %d", q, res.Total)
			}
			want := min(10, n-page*10)
			if len(res.Results) != want {
				t.Errorf("%+v: page %d has %d results, want %d", q, page, len(res.Results), want)
			}
			for _, r := range res.Results {
				if seen[r.ID] {
					t.Errorf("%+v: %s repeated on page %d", q, r.ID, page)
				}
				seen[r.ID] = true
				pages = append(pages, r.ID)
			}
		}
		if len(seen) != n {
			t.Errorf("%+v: pages hold %d of %d: %v", q, len(seen), n, pages)
		}
	}
	res = mustSearch(t, ix, "acme", pmassist.SearchQuery{Limit: 1000})
	if len(res.Results) != n || res.Results[0].CreatedAt.Before(res.Results[n-1].CreatedAt) {
		t.Errorf("limit is capped at 100 and the listing is by date: %v", resultIDs(res))
	}
	if len(mustSearch(t, ix, "acme", pmassist.SearchQuery{Offset: 9900, Limit: 100}).Results) != 0 {
		t.Error("offset beyond the results")
	}
}

func TestSnippets(t *testing.T) {
	f := newFakeStore()
	ix := openReady(t, t.TempDir(), f)
	long := strings.Repeat("filler words before the interesting part ", 30) +
		"the migration plan is ready " + strings.Repeat("and then more filler after it ", 30)
	add(f, ix,
		msg("acme", "long", long, t0),
		msg("acme", "html", `<script>alert(1)</script> "quotes" & ampersands &lt; in the migration notes`, t0),
		msg("acme", "short", "Migration done. Migrations are fun.", t0),
	)
	titled := &pmassist.Item{ID: "titled", TenantID: "acme", Type: pmassist.ItemIssue, Service: pmassist.ServiceLinear,
		Title: "Rollout checklist", Text: "Some <b>bold</b> text & more", CreatedAt: t0}
	add(f, ix, titled)
	waitIdle(t, ix)

	snippets := map[string]string{}
	for _, r := range mustSearch(t, ix, "acme", pmassist.SearchQuery{Q: "migration"}).Results {
		snippets[r.ID] = r.Snippet
	}
	s := snippets["long"]
	if !strings.Contains(s, "<mark>migration</mark> plan") || !strings.HasPrefix(s, "…") || !strings.HasSuffix(s, "…") {
		t.Errorf("long snippet %q", s)
	}
	if n := len([]rune(s)); n > 260 {
		t.Errorf("long snippet has %d runes", n)
	}
	want := `&lt;script&gt;alert(1)&lt;/script&gt; &#34;quotes&#34; &amp; ampersands &amp;lt; in the <mark>migration</mark> notes`
	if s := snippets["html"]; s != want {
		t.Errorf("html snippet\n got %q\nwant %q", s, want)
	}
	if s := snippets["short"]; s != "<mark>Migration</mark> done. <mark>Migrations</mark> are fun." {
		t.Errorf("short snippet %q", s)
	}
	for id, s := range snippets {
		rest := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(s)
		if strings.ContainsAny(rest, `<>"`) {
			t.Errorf("%s: markup other than <mark> in %q", id, s)
		}
	}

	// A match in the title only: the text's start, escaped.
	res := mustSearch(t, ix, "acme", pmassist.SearchQuery{Q: "rollout"})
	if len(res.Results) != 1 || res.Results[0].Snippet != "Some &lt;b&gt;bold&lt;/b&gt; text &amp; more" {
		t.Errorf("title match %+v", res.Results)
	}
	// A phrase marks its words.
	res = mustSearch(t, ix, "acme", pmassist.SearchQuery{Q: `"migration plan"`})
	if len(res.Results) != 1 || !strings.Contains(res.Results[0].Snippet, "<mark>migration</mark> <mark>plan</mark>") {
		t.Errorf("phrase %+v", res.Results)
	}
	// A listing shows the start of the text.
	res = mustSearch(t, ix, "acme", pmassist.SearchQuery{Types: []string{"message"}, Sort: "date"})
	for _, r := range res.Results {
		if strings.Contains(r.Snippet, "<mark>") || r.Snippet == "" {
			t.Errorf("listing snippet %q", r.Snippet)
		}
	}
}

func TestSnippetEdges(t *testing.T) {
	if s := snippet("", nil); s != "" {
		t.Errorf("empty text: %q", s)
	}
	text := strings.Repeat("ab ", 100)
	s := snippet(text, nil)
	if !strings.HasSuffix(s, "…") || strings.HasPrefix(s, "…") || len([]rune(s)) > 202 {
		t.Errorf("start of text %q", s)
	}
	// Multi-byte text and odd runes survive the cut.
	text = strings.Repeat("😀é\u200f ", 120)
	s = snippet(text, nil)
	if !strings.HasSuffix(s, "…") || !strings.HasPrefix(s, "😀") {
		t.Errorf("runes %q", s)
	}
}
