package workflows

import (
	"encoding/json"
	"math/rand"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pmassist/pmassist"
)

// ---------------------------------------------------------------------------
// A fixed week of a team in New York (Monday 23 to Saturday 28 November
// 2026): four teammates with Slack, Linear and GitHub identities sharing
// emails, one teammate without identities, a contractor and a stranger who
// are not teammates, bots.

func standupLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func standupTeam() []*pmassist.Teammate {
	id := func(s pmassist.Service, ext, handle, email string) pmassist.Identity {
		return pmassist.Identity{Service: s, ExternalID: ext, Handle: handle, Name: handle, Email: email}
	}
	return []*pmassist.Teammate{
		{ID: "t-erin", Name: "erin Park", Emails: []string{"erin@acme.test"}, Identities: []pmassist.Identity{
			id(pmassist.ServiceLinear, "lin-erin", "Erin Park", "erin@acme.test")}},
		{ID: "t-bob", Name: "Bob Stone", Emails: []string{"bob@acme.test"}, Identities: []pmassist.Identity{
			id(pmassist.ServiceSlack, "U02BOB", "bob", "bob@acme.test"),
			id(pmassist.ServiceLinear, "lin-bob", "Bob Stone", "bob@acme.test"),
			id(pmassist.ServiceGitHub, "bobstone", "bobstone", "")}},
		{ID: "t-ada", Name: "Ada Lovelace", Emails: []string{"ada@acme.test"}, Identities: []pmassist.Identity{
			id(pmassist.ServiceSlack, "U01ADA", "ada", "ada@acme.test"),
			id(pmassist.ServiceLinear, "lin-ada", "Ada Lovelace", "ada@acme.test"),
			id(pmassist.ServiceGitHub, "ada-l", "ada-l", "")}},
		{ID: "t-carol", Name: "Carol Diaz", Emails: []string{"carol@acme.test"}, Identities: []pmassist.Identity{
			id(pmassist.ServiceSlack, "U03CAR", "carol", "carol@acme.test"),
			id(pmassist.ServiceGitHub, "carold", "carold", "")}},
		{ID: "t-dan", Name: "Dan Nobody", Emails: []string{"dan@acme.test"}},
		{ID: "t-bot", Name: "Deploy Bot", Identities: []pmassist.Identity{
			{Service: pmassist.ServiceSlack, ExternalID: "B0BOT", Handle: "deploybot", Bot: true}}},
		nil,
	}
}

var (
	stAda   = pmassist.Person{Name: "ada", Email: "ada@acme.test", ExternalID: "U01ADA"}
	stBob   = pmassist.Person{Name: "bob", Email: "bob@acme.test", ExternalID: "U02BOB"}
	stCarol = pmassist.Person{Name: "carol", Email: "carol@acme.test", ExternalID: "U03CAR"}
	stZed   = pmassist.Person{Name: "Zed", Email: "zed@contractor.test", ExternalID: "U09ZED"}
	stSBot  = pmassist.Person{Name: "deploybot", ExternalID: "B0BOT", Bot: true}
	linAda  = pmassist.Person{Name: "Ada Lovelace", Email: "ada@acme.test", ExternalID: "lin-ada"}
	linBob  = pmassist.Person{Name: "Bob Stone", Email: "bob@acme.test", ExternalID: "lin-bob"}
	linErin = pmassist.Person{Name: "Erin Park", Email: "erin@acme.test", ExternalID: "lin-erin"}
	linBot  = pmassist.Person{Name: "Triage bot", ExternalID: "lin-bot", Bot: true}
)

func stGH(login string) pmassist.Person { return pmassist.Person{Name: login, ExternalID: login} }

func stTP(t time.Time) *time.Time { return &t }

const stLongBlocker = "Blocker: the payments sandbox keeps rejecting our webhook signatures after the key rotation, " +
	"and I cannot test refunds end to end until the provider support team replies to the ticket we opened on Monday"

// standupWeek builds the week's items and decisions.
func standupWeek(t testing.TB) ([]*pmassist.Item, []*pmassist.Decision) {
	ny := standupLoc(t, "America/New_York")
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, ny) }
	pr := func(n int, author pmassist.Person, title, state string, created, updated time.Time) *pmassist.Item {
		num := string(rune('0'+n/10)) + string(rune('0'+n%10))
		return &pmassist.Item{ID: "gh" + num, Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub,
			ExternalID: "acme/api#" + num, URL: "https://github.com/acme/api/pull/" + num, Title: title,
			Author: author, Channel: "acme/api", State: state, CreatedAt: created.UTC(), UpdatedAt: updated.UTC()}
	}
	issue := func(n int, title, state, stateType string, author pmassist.Person, assignee *pmassist.Person, updated time.Time) *pmassist.Item {
		num := string(rune('0'+n/10)) + string(rune('0'+n%10))
		return &pmassist.Item{ID: "lin" + num, Type: pmassist.ItemIssue, Service: pmassist.ServiceLinear,
			ExternalID: "issue-" + num, URL: "https://linear.app/acme/issue/ENG-" + num, Title: title,
			Author: author, Assignee: assignee, Channel: "ENG", State: state, StateType: stateType,
			CreatedAt: at(23, 9, 0).UTC(), UpdatedAt: updated.UTC()}
	}
	msg := func(n int, author pmassist.Person, text string, when time.Time) *pmassist.Item {
		num := string(rune('0'+n/10)) + string(rune('0'+n%10))
		return &pmassist.Item{ID: "s" + num, Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack,
			ExternalID: "C1:17000000" + num, URL: "https://acme.slack.com/archives/C1/p17000000" + num,
			Text: text, Author: author, Channel: "eng", ChannelID: "C1", CreatedAt: when.UTC(), UpdatedAt: when.UTC()}
	}
	merged := func(it *pmassist.Item, when time.Time) *pmassist.Item {
		it.MergedAt, it.ClosedAt, it.UpdatedAt = stTP(when.UTC()), stTP(when.UTC()), when.UTC()
		return it
	}
	completed := func(it *pmassist.Item, when time.Time) *pmassist.Item {
		it.CompletedAt, it.ClosedAt = stTP(when.UTC()), stTP(when.UTC())
		return it
	}
	labelled := func(it *pmassist.Item, labels ...string) *pmassist.Item { it.Labels = labels; return it }

	gh3 := pr(3, stGH("bobstone"), "WIP: billing page", "open", at(27, 9, 0), at(27, 9, 0))
	gh3.Draft = true
	gh4 := pr(4, stGH("bobstone"), "Old experiment", "closed", at(20, 9, 0), at(27, 12, 0))
	gh4.ClosedAt = stTP(at(27, 12, 0).UTC())
	lin8 := labelled(issue(8, "Canceled thing", "Canceled", "canceled", linAda, &linAda, at(27, 10, 0)), "blocked")
	lin8.ClosedAt = stTP(at(27, 10, 0).UTC())
	s1 := msg(1, stBob, "I’m blocked on the staging credentials, can someone help?", at(27, 10, 0))
	s13 := msg(13, stAda, "I'm blocked", at(27, 10, 0))
	s13.Deleted = true

	items := []*pmassist.Item{
		merged(pr(1, stGH("ada-l"), "Add rate limiting", "merged", at(24, 9, 0), at(27, 10, 0)), at(27, 10, 0)),
		pr(2, stGH("ada-l"), "Refactor importer", "open", at(25, 9, 0), at(27, 11, 0)),
		gh3,
		gh4,
		merged(pr(5, stGH("dependabot[bot]"), "Bump golang.org/x/net", "merged", at(27, 6, 0), at(27, 7, 0)), at(27, 7, 0)),
		func() *pmassist.Item {
			it := merged(pr(6, stGH("ada-l"), "Fix login redirect", "merged", at(25, 9, 0), at(26, 15, 0)), at(26, 15, 0))
			it.UpdatedAt = at(27, 8, 0).UTC() // a comment after the merge
			return it
		}(),
		pr(7, stGH("stranger"), "Typo in README", "open", at(27, 13, 0), at(27, 13, 0)),
		merged(pr(8, stGH("Ada-L"), "Fix flaky test", "merged", at(27, 8, 0), at(27, 16, 0)), at(27, 16, 0)),
		pr(9, stGH("carold"), "Spike: search", "open", at(24, 9, 0), at(24, 10, 0)),

		completed(issue(1, "Ship onboarding emails", "Done", "completed", linAda, &linBob, at(27, 14, 0)), at(27, 14, 0)),
		issue(2, "Design API keys", "In Progress", "started", linAda, &linAda, at(27, 9, 30)),
		issue(3, "Migrate DB", "Blocked", "started", linAda, &linBob, at(27, 11, 0)),
		labelled(issue(4, "Upgrade Go", "Todo", "unstarted", linBob, &linErin, at(27, 12, 0)), "Blocker"),
		completed(issue(5, "Write docs", "Done", "completed", linErin, nil, at(27, 17, 0)), at(27, 17, 0)),
		completed(issue(6, "Old bug", "Done", "completed", linAda, &linBob, at(27, 9, 0)), at(26, 11, 0)),
		issue(7, "Email-matched work", "In Review", "started", linBob,
			&pmassist.Person{Name: "Ada L.", Email: "ADA@Acme.test", ExternalID: "lin-ada-2"}, at(27, 15, 0)),
		lin8,
		completed(issue(9, "Bot-made chore", "Done", "completed", linBot, nil, at(27, 13, 0)), at(27, 13, 0)),
		issue(10, "Backlog grooming", "In Progress", "started", linErin, &linErin, at(25, 10, 0)),
		labelled(issue(11, "Search relevance", "In Progress", "started", linAda, &linAda, at(27, 16, 0)), "backend", "BLOCKED"),
		issue(12, "Triage item", "Triage", "triage", linAda, &linBob, at(27, 9, 0)),

		s1,
		msg(2, stAda, "Not blocked anymore, thanks!", at(27, 9, 0)),
		msg(3, stAda, "<@U02BOB> are you blocked?", at(27, 9, 5)),
		msg(4, stZed, "Waiting on legal to unblock the contract review", at(27, 11, 0)),
		msg(5, stSBot, "I'm blocked", at(27, 11, 0)),
		msg(6, stBob, "blocked on code review from <@U01ADA|ada>", at(26, 16, 0)),
		msg(7, stAda, "The deploy isn't blocking anyone", at(27, 12, 0)),
		s1, // the same item twice
		msg(9, stAda, stLongBlocker, at(27, 17, 0)),
		msg(10, stCarol, "Reviewing PRs today, no blockers", at(27, 9, 0)),
		msg(11, pmassist.Person{ExternalID: "U02BOB"}, "stuck on the flaky CI job again", at(27, 18, 0)),
		msg(12, stAda, "I'm not blocked, just slow", at(27, 13, 0)),
		s13,
		nil,
	}
	decisions := []*pmassist.Decision{
		{ID: "d1", Title: "Use Postgres", Status: pmassist.DecisionAccepted, DecidedAt: at(27, 14, 0).UTC()},
		{ID: "d2", Title: "Ship on Tuesdays", Status: pmassist.DecisionProposed, DecidedAt: at(27, 10, 0).UTC()},
		{ID: "d3", Title: "Old call", Status: pmassist.DecisionAccepted, DecidedAt: at(26, 10, 0).UTC()},
		{ID: "d4", Title: "Rejected idea", Status: pmassist.DecisionRejected, DecidedAt: at(27, 11, 0).UTC()},
		nil,
	}
	return items, decisions
}

func stEntry(it pmassist.ItemType, svc pmassist.Service, id, title, state string) pmassist.StandupEntry {
	u := ""
	switch svc {
	case pmassist.ServiceGitHub:
		u = "https://github.com/acme/api/pull/" + strings.TrimPrefix(id, "gh")
	case pmassist.ServiceLinear:
		u = "https://linear.app/acme/issue/ENG-" + strings.TrimPrefix(id, "lin")
	case pmassist.ServiceSlack:
		u = "https://acme.slack.com/archives/C1/p17000000" + strings.TrimPrefix(id, "s")
	}
	return pmassist.StandupEntry{Type: it, Title: title, URL: u, Service: svc, State: state, ItemID: id}
}

func stPR(id, title, state string) pmassist.StandupEntry {
	return stEntry(pmassist.ItemPullRequest, pmassist.ServiceGitHub, id, title, state)
}
func stIssueE(id, title, state string) pmassist.StandupEntry {
	return stEntry(pmassist.ItemIssue, pmassist.ServiceLinear, id, title, state)
}
func stMsgE(id, title string) pmassist.StandupEntry {
	return stEntry(pmassist.ItemMessage, pmassist.ServiceSlack, id, title, "")
}

func stList(e ...pmassist.StandupEntry) []pmassist.StandupEntry {
	if e == nil {
		return []pmassist.StandupEntry{}
	}
	return e
}

func stIdle(id, name string) pmassist.StandupPerson {
	return pmassist.StandupPerson{TeammateID: id, Name: name, Done: stList(), InProgress: stList(), Blockers: stList(), NoActivity: true}
}

const stLongTitle = "Blocker: the payments sandbox keeps rejecting our webhook signatures after the key rotation, and I cannot test refunds…"

func TestStandupFridayOfTheWeek(t *testing.T) {
	ny := standupLoc(t, "America/New_York")
	items, decisions := standupWeek(t)
	in := StandupInput{Date: time.Date(2026, 11, 27, 0, 0, 0, 0, ny), Location: ny, Items: items,
		Decisions: decisions, Teammates: standupTeam(), Tenant: "tenant-1", BaseURL: "https://pm.acme.test/"}
	s := ComposeStandup(in)

	want := []pmassist.StandupPerson{
		{TeammateID: "t-ada", Name: "Ada Lovelace",
			Done: stList(stPR("gh01", "Add rate limiting", "merged"), stPR("gh08", "Fix flaky test", "merged")),
			InProgress: stList(stIssueE("lin02", "Design API keys", "In Progress"), stIssueE("lin07", "Email-matched work", "In Review"),
				stPR("gh02", "Refactor importer", "open")),
			Blockers: stList(stMsgE("s09", stLongTitle), stIssueE("lin11", "Search relevance", "In Progress"))},
		{TeammateID: "t-bob", Name: "Bob Stone",
			Done:       stList(stIssueE("lin01", "Ship onboarding emails", "Done")),
			InProgress: stList(stPR("gh03", "WIP: billing page", "draft")),
			Blockers: stList(stMsgE("s01", "I’m blocked on the staging credentials, can someone help?"),
				stMsgE("s11", "stuck on the flaky CI job again"), stIssueE("lin03", "Migrate DB", "Blocked"))},
		stIdle("t-carol", "Carol Diaz"),
		{TeammateID: "t-erin", Name: "erin Park",
			Done: stList(stIssueE("lin05", "Write docs", "Done")), InProgress: stList(),
			Blockers: stList(stIssueE("lin04", "Upgrade Go", "Todo"))},
		{Name: "stranger", Done: stList(), InProgress: stList(stPR("gh07", "Typo in README", "open")), Blockers: stList()},
		{Name: "Zed", Done: stList(), InProgress: stList(),
			Blockers: stList(stMsgE("s04", "Waiting on legal to unblock the contract review"))},
	}
	if !reflect.DeepEqual(s.People, want) {
		g, _ := json.MarshalIndent(s.People, "", " ")
		w, _ := json.MarshalIndent(want, "", " ")
		t.Fatalf("people:\n got %s\nwant %s", g, w)
	}
	if !reflect.DeepEqual(s.DecisionIDs, []string{"d2", "d1"}) {
		t.Errorf("decision ids = %v, want [d2 d1]", s.DecisionIDs)
	}
	if s.Date != "2026-11-27" || s.Timezone != "America/New_York" || s.TenantID != "tenant-1" {
		t.Errorf("date %q, timezone %q, tenant %q", s.Date, s.Timezone, s.TenantID)
	}
	if !s.WindowFrom.Equal(time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)) || !s.WindowTo.Equal(time.Date(2026, 11, 28, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("window %v – %v", s.WindowFrom, s.WindowTo)
	}
	if s.Deliveries == nil || len(s.Deliveries) != 0 {
		t.Errorf("deliveries = %v, want an empty list", s.Deliveries)
	}

	wantMD := `*Standup — Friday 27 November 2026*

*Ada Lovelace*
• Done: <https://github.com/acme/api/pull/01|Add rate limiting> — GitHub, merged
• Done: <https://github.com/acme/api/pull/08|Fix flaky test> — GitHub, merged
• In progress: <https://linear.app/acme/issue/ENG-02|Design API keys> — Linear, In Progress
• In progress: <https://linear.app/acme/issue/ENG-07|Email-matched work> — Linear, In Review
• In progress: <https://github.com/acme/api/pull/02|Refactor importer> — GitHub, open
• Blocker: <https://acme.slack.com/archives/C1/p1700000009|` + stLongTitle + `> — Slack
• Blocker: <https://linear.app/acme/issue/ENG-11|Search relevance> — Linear, In Progress

*Bob Stone*
• Done: <https://linear.app/acme/issue/ENG-01|Ship onboarding emails> — Linear, Done
• In progress: <https://github.com/acme/api/pull/03|WIP: billing page> — GitHub, draft
• Blocker: <https://acme.slack.com/archives/C1/p1700000001|I’m blocked on the staging credentials, can someone help?> — Slack
• Blocker: <https://acme.slack.com/archives/C1/p1700000011|stuck on the flaky CI job again> — Slack
• Blocker: <https://linear.app/acme/issue/ENG-03|Migrate DB> — Linear, Blocked

*erin Park*
• Done: <https://linear.app/acme/issue/ENG-05|Write docs> — Linear, Done
• Blocker: <https://linear.app/acme/issue/ENG-04|Upgrade Go> — Linear, Todo

*stranger*
• In progress: <https://github.com/acme/api/pull/07|Typo in README> — GitHub, open

*Zed*
• Blocker: <https://acme.slack.com/archives/C1/p1700000004|Waiting on legal to unblock the contract review> — Slack

*Decisions*
• <https://pm.acme.test/decisions/d2|Ship on Tuesdays> — proposed
• <https://pm.acme.test/decisions/d1|Use Postgres> — accepted

No activity: Carol Diaz`
	if s.Markdown != wantMD {
		t.Errorf("markdown:\n%s\n--- want ---\n%s", s.Markdown, wantMD)
	}

	// The email renderers say the same.
	dayDecisions := []*pmassist.Decision{decisions[1], decisions[0]}
	text := StandupText(s, dayDecisions, in.BaseURL)
	for _, line := range []string{
		"Standup — Friday 27 November 2026\n\nAda Lovelace\n• Done: Add rate limiting — GitHub, merged (https://github.com/acme/api/pull/01)\n",
		"\n• Blocker: Waiting on legal to unblock the contract review — Slack (https://acme.slack.com/archives/C1/p1700000004)\n",
		"\nDecisions\n• Ship on Tuesdays — proposed (https://pm.acme.test/decisions/d2)\n• Use Postgres — accepted (https://pm.acme.test/decisions/d1)\n\nNo activity: Carol Diaz\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("text lacks %q:\n%s", line, text)
		}
	}
	page := StandupHTML(s, dayDecisions, in.BaseURL)
	for _, part := range []string{
		"<h1>Standup — Friday 27 November 2026</h1>\n<h2>Ada Lovelace</h2>\n<ul>\n<li>Done: <a href=\"https://github.com/acme/api/pull/01\">Add rate limiting</a> — GitHub, merged</li>\n",
		"<h2>Decisions</h2>\n<ul>\n<li><a href=\"https://pm.acme.test/decisions/d2\">Ship on Tuesdays</a> — proposed</li>\n",
		"<p>No activity: Carol Diaz</p>\n</body>\n</html>\n",
	} {
		if !strings.Contains(page, part) {
			t.Errorf("html lacks %q:\n%s", part, page)
		}
	}
	if strings.Contains(page, "style") {
		t.Error("html has styles")
	}
	// Without a base URL, decisions are listed unlinked.
	if got := StandupText(s, dayDecisions); !strings.Contains(got, "\n• Use Postgres — accepted\n") {
		t.Errorf("text without base URL:\n%s", got)
	}
}

func TestStandupThursdayOfTheWeek(t *testing.T) {
	ny := standupLoc(t, "America/New_York")
	items, decisions := standupWeek(t)
	s := ComposeStandup(StandupInput{Date: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), Location: ny, Items: items,
		Decisions: decisions, Teammates: standupTeam()})
	want := []pmassist.StandupPerson{
		{TeammateID: "t-ada", Name: "Ada Lovelace", Done: stList(stPR("gh06", "Fix login redirect", "merged")),
			InProgress: stList(), Blockers: stList()},
		{TeammateID: "t-bob", Name: "Bob Stone", Done: stList(stIssueE("lin06", "Old bug", "Done")), InProgress: stList(),
			Blockers: stList(stMsgE("s06", "blocked on code review from @ada"))},
		stIdle("t-carol", "Carol Diaz"),
		stIdle("t-erin", "erin Park"),
	}
	if !reflect.DeepEqual(s.People, want) {
		g, _ := json.MarshalIndent(s.People, "", " ")
		t.Fatalf("people:\n%s", g)
	}
	if !reflect.DeepEqual(s.DecisionIDs, []string{"d3"}) || s.Date != "2026-11-26" {
		t.Errorf("decisions %v, date %s", s.DecisionIDs, s.Date)
	}
	// Without a base URL the decision is not linked.
	if !strings.Contains(s.Markdown, "*Decisions*\n• Old call — accepted\n") {
		t.Errorf("markdown:\n%s", s.Markdown)
	}
}

func TestStandupIsDeterministic(t *testing.T) {
	ny := standupLoc(t, "America/New_York")
	items, decisions := standupWeek(t)
	in := StandupInput{Date: time.Date(2026, 11, 27, 0, 0, 0, 0, ny), Location: ny, Items: items,
		Decisions: decisions, Teammates: standupTeam(), BaseURL: "https://pm.acme.test"}
	first := ComposeStandup(in)
	firstJSON, _ := json.Marshal(first)
	rng := rand.New(rand.NewSource(42))
	for i := 0; i < 20; i++ {
		in2 := in
		in2.Items = append([]*pmassist.Item(nil), items...)
		in2.Decisions = append([]*pmassist.Decision(nil), decisions...)
		in2.Teammates = standupTeam()
		rng.Shuffle(len(in2.Items), func(a, b int) { in2.Items[a], in2.Items[b] = in2.Items[b], in2.Items[a] })
		rng.Shuffle(len(in2.Decisions), func(a, b int) { in2.Decisions[a], in2.Decisions[b] = in2.Decisions[b], in2.Decisions[a] })
		rng.Shuffle(len(in2.Teammates), func(a, b int) { in2.Teammates[a], in2.Teammates[b] = in2.Teammates[b], in2.Teammates[a] })
		s := ComposeStandup(in2)
		if s.Markdown != first.Markdown {
			t.Fatalf("run %d: markdown differs:\n%s\n---\n%s", i, s.Markdown, first.Markdown)
		}
		if got, _ := json.Marshal(s); string(got) != string(firstJSON) {
			t.Fatalf("run %d: standup differs", i)
		}
	}
}

// ---------------------------------------------------------------------------
// Windows and days.

func TestStandupWindowTimezoneEdges(t *testing.T) {
	ny := standupLoc(t, "America/New_York")
	team := standupTeam()
	mergedAt := func(when time.Time) []*pmassist.Item {
		return []*pmassist.Item{{ID: "gh1", Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub,
			ExternalID: "acme/api#1", URL: "https://github.com/acme/api/pull/1", Title: "Edge", Author: stGH("ada-l"),
			State: "merged", MergedAt: stTP(when), CreatedAt: when.Add(-time.Hour), UpdatedAt: when}}
	}
	cases := []struct {
		name string
		loc  *time.Location
		at   time.Time
		in   bool
	}{
		{"23:30 local New York", ny, time.Date(2026, 11, 27, 23, 30, 0, 0, ny), true},
		{"00:30 next day New York", ny, time.Date(2026, 11, 28, 0, 30, 0, 0, ny), false},
		{"00:00 local New York", ny, time.Date(2026, 11, 27, 0, 0, 0, 0, ny), true},
		{"00:00 next day New York", ny, time.Date(2026, 11, 28, 0, 0, 0, 0, ny), false},
		{"23:59:59.999 day before New York", ny, time.Date(2026, 11, 26, 23, 59, 59, 999999999, ny), false},
		{"23:30 UTC", time.UTC, time.Date(2026, 11, 27, 23, 30, 0, 0, time.UTC), true},
		{"00:30 UTC next day", time.UTC, time.Date(2026, 11, 28, 0, 30, 0, 0, time.UTC), false},
		// The same instants the other way round: 23:30 in New York is
		// the next day in UTC; 00:30 UTC is still the 27th in New York.
		{"23:30 New York seen in UTC", time.UTC, time.Date(2026, 11, 27, 23, 30, 0, 0, ny), false},
		{"00:30 UTC seen in New York", ny, time.Date(2026, 11, 28, 0, 30, 0, 0, time.UTC), true},
	}
	for _, c := range cases {
		s := ComposeStandup(StandupInput{Date: time.Date(2026, 11, 27, 0, 0, 0, 0, c.loc), Location: c.loc,
			Items: mergedAt(c.at), Teammates: team})
		got := len(s.People) > 0 && s.People[0].Name == "Ada Lovelace" && len(s.People[0].Done) == 1
		if got != c.in {
			t.Errorf("%s: in window = %v, want %v (window %v – %v)", c.name, got, c.in, s.WindowFrom, s.WindowTo)
		}
	}
}

func TestStandupWindowOnDSTDays(t *testing.T) {
	berlin := standupLoc(t, "Europe/Berlin")
	ny := standupLoc(t, "America/New_York")
	cases := []struct {
		loc  *time.Location
		day  time.Time
		want time.Duration
	}{
		{berlin, time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), 25 * time.Hour},
		{berlin, time.Date(2026, 3, 29, 0, 0, 0, 0, berlin), 23 * time.Hour},
		{berlin, time.Date(2026, 10, 24, 0, 0, 0, 0, berlin), 24 * time.Hour},
		{ny, time.Date(2026, 11, 1, 0, 0, 0, 0, ny), 25 * time.Hour},
		{ny, time.Date(2026, 3, 8, 0, 0, 0, 0, ny), 23 * time.Hour},
		// A date given in UTC names the same calendar day.
		{berlin, time.Date(2026, 10, 25, 0, 0, 0, 0, time.UTC), 25 * time.Hour},
		{time.UTC, time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), 24 * time.Hour},
	}
	for _, c := range cases {
		from, to := StandupWindow(c.day, c.loc)
		if to.Sub(from) != c.want {
			t.Errorf("%s %s: window %v – %v is %v, want %v", c.loc, c.day.Format("2006-01-02"), from, to, to.Sub(from), c.want)
		}
		if y, m, d := from.In(c.loc).Date(); y != c.day.Year() || m != c.day.Month() || d != c.day.Day() || from.In(c.loc).Hour() != 0 {
			t.Errorf("%s: from %v is not the day's midnight", c.loc, from)
		}
	}

	// Sao Paulo had no midnight on 4 November 2018 (00:00 → 01:00): the
	// day starts at 01:00 and is 23 hours long.
	sp := standupLoc(t, "America/Sao_Paulo")
	from, to := StandupWindow(time.Date(2018, 11, 4, 0, 0, 0, 0, time.UTC), sp)
	if !from.Equal(time.Date(2018, 11, 4, 3, 0, 0, 0, time.UTC)) || to.Sub(from) != 23*time.Hour {
		t.Errorf("Sao Paulo 2018-11-04: %v – %v", from, to)
	}
	prev, _ := StandupWindow(time.Date(2018, 11, 3, 0, 0, 0, 0, time.UTC), sp)
	if _, end := StandupWindow(time.Date(2018, 11, 3, 0, 0, 0, 0, time.UTC), sp); !end.Equal(from) || !prev.Before(from) {
		t.Errorf("Sao Paulo: days do not meet: %v", end)
	}

	// The long Berlin day: an item at 23:30 local (after the clocks went
	// back) is in, one at 00:30 the next day is out.
	team := standupTeam()
	for _, c := range []struct {
		at time.Time
		in bool
	}{
		{time.Date(2026, 10, 25, 23, 30, 0, 0, berlin), true},
		{time.Date(2026, 10, 25, 2, 30, 0, 0, berlin).Add(time.Hour), true}, // the second 02:30
		{time.Date(2026, 10, 26, 0, 30, 0, 0, berlin), false},
		{time.Date(2026, 10, 24, 23, 30, 0, 0, berlin), false},
	} {
		it := &pmassist.Item{ID: "s1", Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: "C1:1",
			Text: "blocked on the DST bug", Author: stAda, CreatedAt: c.at.UTC(), UpdatedAt: c.at.UTC()}
		s := ComposeStandup(StandupInput{Date: time.Date(2026, 10, 25, 0, 0, 0, 0, berlin), Location: berlin,
			Items: []*pmassist.Item{it}, Teammates: team})
		got := len(s.People[0].Blockers) == 1
		if got != c.in {
			t.Errorf("Berlin item at %v: in = %v, want %v", c.at, got, c.in)
		}
	}
}

func TestStandupDefaultDate(t *testing.T) {
	ny := standupLoc(t, "America/New_York")
	day := func(d int) string { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC).Format("2006-01-02") }
	cases := []struct {
		name     string
		now      time.Time
		loc      *time.Location
		weekdays []int
		want     string
	}{
		{"Monday → Friday", time.Date(2026, 11, 30, 9, 30, 0, 0, time.UTC), time.UTC, []int{1, 2, 3, 4, 5}, day(27)},
		{"Sunday → Friday", time.Date(2026, 11, 29, 9, 30, 0, 0, time.UTC), time.UTC, []int{1, 2, 3, 4, 5}, day(27)},
		{"Saturday → Friday", time.Date(2026, 11, 28, 9, 30, 0, 0, time.UTC), time.UTC, nil, day(27)},
		{"Tuesday → Monday", time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC), time.UTC, nil, day(30)},
		{"Friday → Thursday", time.Date(2026, 11, 27, 9, 30, 0, 0, time.UTC), time.UTC, []int{}, day(26)},
		// 03:00 UTC on Tuesday is still Monday evening in New York.
		{"Monday evening in New York", time.Date(2026, 12, 1, 3, 0, 0, 0, time.UTC), ny, nil, day(27)},
		{"Tuesday morning in New York", time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC), ny, nil, day(30)},
		// Sunday to Thursday working week.
		{"Sun–Thu: Sunday → Thursday", time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC), time.UTC, []int{7, 1, 2, 3, 4}, day(26)},
		{"Sun–Thu: Monday → Sunday", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), time.UTC, []int{7, 1, 2, 3, 4}, day(29)},
		{"Sun–Thu: Friday → Thursday", time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), time.UTC, []int{7, 1, 2, 3, 4}, day(26)},
		{"Mon/Wed/Fri: Friday → Wednesday", time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), time.UTC, []int{1, 3, 5}, day(25)},
		{"Mon/Wed/Fri: Monday → Friday", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), time.UTC, []int{5, 3, 1}, day(27)},
		{"every day: Monday → Sunday", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), time.UTC, []int{1, 2, 3, 4, 5, 6, 7}, day(29)},
		{"only Mondays: Monday → last Monday", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), time.UTC, []int{1}, day(23)},
		{"invalid days ignored", time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), time.UTC, []int{0, 9}, day(27)},
	}
	for _, c := range cases {
		got := pmassist.DefaultStandupDate(c.now, c.loc, c.weekdays)
		if got.Format("2006-01-02") != c.want {
			t.Errorf("%s: %s, want %s", c.name, got.Format("2006-01-02 Mon"), c.want)
		}
		if got.Location() != c.loc || got.Hour() != 0 || got.Minute() != 0 {
			t.Errorf("%s: %v is not local midnight", c.name, got)
		}
		// The window of the default day ends before now.
		if _, to := StandupWindow(got, c.loc); to.After(c.now) {
			t.Errorf("%s: window ends %v, after now %v", c.name, to, c.now)
		}
	}
}

// ---------------------------------------------------------------------------
// Blocked messages and escaping.

func TestStandupBlockedMessages(t *testing.T) {
	blocked := []string{
		"I'm blocked",
		"I’m blocked on the API keys",
		"I am blocked until the migration lands",
		"Blocked on review from the platform team",
		"blocked by INFRA-12",
		"Still stuck on the flaky test",
		"I'm stuck, the build won't start",
		"Waiting on Dana to unblock the release",
		"waiting for security to unblock me.",
		"Blocker: need prod access",
		"Blockers: staging is down",
		"The vendor API is blocking me",
		"We're blocked on legal",
		"I'm blocked on keys, can someone help?",
		"Not much today. I'm blocked on the design review.",
		"Update: I've been blocked by the outage all afternoon",
		"Blocked: waiting for the DNS change",
	}
	notBlocked := []string{
		"Not blocked anymore",
		"not blocked anymore, thanks!",
		"No longer blocked",
		"I'm no longer blocked on the API",
		"Unblocked!",
		"I was blocked by the outage but now unblocked",
		"The deploy isn't blocking anyone",
		"This isn't blocking me",
		"are you blocked?",
		"Are you still blocked on the API keys, or can I close this?",
		"Is anyone blocked",
		"Anyone stuck on the migration?",
		"quick q, are you blocked on review?",
		"If you're blocked, ping me",
		"They're blocked on legal",
		"Blockers: none",
		"blocker: n/a",
		"No blockers today",
		"I'm not blocked, just slow",
		"Shipped the importer",
		"We blocked the spammer's IP",
		"I'm not stuck on this anymore",
		"",
	}
	for _, s := range blocked {
		if !suSaysBlocked(s) {
			t.Errorf("%q should say blocked", s)
		}
	}
	for _, s := range notBlocked {
		if suSaysBlocked(s) {
			t.Errorf("%q should not say blocked", s)
		}
	}
}

func TestStandupEscaping(t *testing.T) {
	ny := standupLoc(t, "America/New_York")
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, ny).UTC()
	evil := "<!channel> & <script>alert(1)</script>"
	items := []*pmassist.Item{
		{ID: "gh1", Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub, ExternalID: "acme/api#1",
			URL: "https://github.com/acme/api/pull/1?a=1&b=<2>|x", Title: evil, Author: stGH("ada-l"),
			State: "merged", MergedAt: &at, CreatedAt: at, UpdatedAt: at},
		{ID: "gh2", Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub, ExternalID: "acme/api#2",
			URL: "javascript:alert(1)", Title: "Line one\n• Done: <https://evil.test|forged>\n*Mallory*", Author: stGH("ada-l"),
			State: "open", CreatedAt: at, UpdatedAt: at},
		// A Slack message's own markup: a mention and entities.
		{ID: "s1", Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: "C1:1",
			URL: "https://acme.slack.com/archives/C1/p1", Text: "<!channel> blocked on &lt;@U999&gt; &amp; <https://x.test|the vendor>",
			Author: stAda, CreatedAt: at, UpdatedAt: at},
		// A person whose name is markup.
		{ID: "lin1", Type: pmassist.ItemIssue, Service: pmassist.ServiceLinear, ExternalID: "issue-1",
			URL: "https://linear.app/acme/issue/ENG-1", Title: "Fine", State: "In Progress", StateType: "started",
			Author: linAda, Assignee: &pmassist.Person{Name: "<@U1> & co", ExternalID: "lin-x"}, CreatedAt: at, UpdatedAt: at},
	}
	decisions := []*pmassist.Decision{{ID: "d/1", Title: evil, Status: pmassist.DecisionAccepted, DecidedAt: at}}
	s := ComposeStandup(StandupInput{Date: time.Date(2026, 11, 27, 0, 0, 0, 0, ny), Location: ny, Items: items,
		Decisions: decisions, Teammates: standupTeam(), BaseURL: "https://pm.acme.test"})

	md := s.Markdown
	for _, bad := range []string{"<!channel>", "<script>", "<@U", "<https://evil.test", "javascript:", "\n*Mallory*"} {
		if strings.Contains(md, bad) {
			t.Errorf("slack text contains %q:\n%s", bad, md)
		}
	}
	for _, good := range []string{
		"• Done: <https://github.com/acme/api/pull/1?a=1&amp;b=%3C2%3E%7Cx|&lt;!channel&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;> — GitHub, merged",
		"• In progress: Line one • Done: &lt;https://evil.test|forged&gt; *Mallory* — GitHub, open",
		"• Blocker: <https://acme.slack.com/archives/C1/p1|@channel blocked on &lt;@U999&gt; &amp; the vendor> — Slack",
		"\n*&lt;@U1&gt; &amp; co*\n",
		"• <https://pm.acme.test/decisions/d%2F1|&lt;!channel&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;> — accepted",
	} {
		if !strings.Contains(md, good) {
			t.Errorf("slack text lacks %q:\n%s", good, md)
		}
	}
	// Every < in the Slack text opens one of our own links.
	for i := 0; i < len(md); i++ {
		if md[i] == '<' && !strings.HasPrefix(md[i:], "<https://") {
			t.Errorf("stray < at %d: %q", i, md[i:min(len(md), i+30)])
		}
	}

	text := StandupText(s, decisions, "https://pm.acme.test")
	for _, good := range []string{
		"• Done: " + evil + " — GitHub, merged (https://github.com/acme/api/pull/1?a=1&b=%3C2%3E%7Cx)\n",
		"• In progress: Line one • Done: <https://evil.test|forged> *Mallory* — GitHub, open\n",
		"• " + evil + " — accepted (https://pm.acme.test/decisions/d%2F1)\n",
	} {
		if !strings.Contains(text, good) {
			t.Errorf("email text lacks %q:\n%s", good, text)
		}
	}
	if strings.Contains(text, "javascript:") || strings.Contains(text, "\n*Mallory*") {
		t.Errorf("email text lets markup through:\n%s", text)
	}

	page := StandupHTML(s, decisions, "https://pm.acme.test")
	for _, bad := range []string{"<script", "<!channel>", "javascript:", "<@U", "href=\"https://evil"} {
		if strings.Contains(page, bad) {
			t.Errorf("html contains %q:\n%s", bad, page)
		}
	}
	for _, good := range []string{
		"<li>Done: <a href=\"https://github.com/acme/api/pull/1?a=1&amp;b=%3C2%3E%7Cx\">&lt;!channel&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;</a> — GitHub, merged</li>",
		"<li>In progress: Line one • Done: &lt;https://evil.test|forged&gt; *Mallory* — GitHub, open</li>",
		"<h2>&lt;@U1&gt; &amp; co</h2>",
		"<li><a href=\"https://pm.acme.test/decisions/d%2F1\">&lt;!channel&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;</a> — accepted</li>",
	} {
		if !strings.Contains(page, good) {
			t.Errorf("html lacks %q:\n%s", good, page)
		}
	}
}

func TestStandupSafeURL(t *testing.T) {
	cases := map[string]string{
		"https://github.com/acme/api/pull/1": "https://github.com/acme/api/pull/1",
		"HTTP://example.com/a":               "http://example.com/a",
		" https://x.test/a b":                "",
		"javascript:alert(1)":                "",
		"data:text/html,hi":                  "",
		"//evil.test/x":                      "",
		"/decisions/1":                       "",
		"https://x.test/\">":                 "https://x.test/%22%3E",
		"mailto:a@b.test":                    "",
		"":                                   "",
	}
	for in, want := range cases {
		if got := suSafeURL(in); got != want {
			t.Errorf("suSafeURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestStandupTitlesAreCut(t *testing.T) {
	if got := suCut(stLongBlocker, suMaxMessageTitle); got != stLongTitle {
		t.Errorf("cut = %q", got)
	}
	if n := utf8.RuneCountInString(stLongTitle); n > suMaxMessageTitle {
		t.Errorf("cut title has %d runes", n)
	}
	long := strings.Repeat("ü", 300)
	if got := suCut(long, 120); utf8.RuneCountInString(got) != 120 || !strings.HasSuffix(got, "…") || !utf8.ValidString(got) {
		t.Errorf("cut of a word without spaces = %q", got)
	}
	if got := suCut("short", 120); got != "short" {
		t.Errorf("short = %q", got)
	}
}

func TestStandupEmptyTeam(t *testing.T) {
	s := ComposeStandup(StandupInput{Date: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)})
	if s.People == nil || len(s.People) != 0 || s.DecisionIDs == nil || len(s.DecisionIDs) != 0 {
		t.Errorf("people %v, decisions %v", s.People, s.DecisionIDs)
	}
	want := "*Standup — Friday 27 November 2026*\n\nNothing done, in progress or blocked."
	if s.Markdown != want || s.Timezone != "UTC" {
		t.Errorf("markdown %q, timezone %q", s.Markdown, s.Timezone)
	}
	if StandupText(nil, nil) != "" || StandupHTML(nil, nil) != "" {
		t.Error("a nil standup renders as nothing")
	}
}
