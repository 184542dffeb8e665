package fake

import (
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/workflows"
)

// demoNow is a Tuesday morning: the week runs from the Tuesday before to
// Monday, across a weekend.
var demoNow = time.Date(2026, 11, 3, 8, 30, 0, 0, time.UTC)

func TestDemoWeekIsDeterministicAndInWorkingHours(t *testing.T) {
	w := NewDemoWeek(demoNow)
	if !reflect.DeepEqual(w, NewDemoWeek(demoNow.Add(9*time.Hour))) {
		t.Fatal("the same day gives a different week")
	}
	if len(w.Days) != 5 {
		t.Fatalf("days: %v", w.Days)
	}
	standup := pmassist.DefaultStandupDate(demoNow, time.UTC, nil)
	if !w.Days[4].Equal(standup) {
		t.Fatalf("the last day is %v, the default standup reports on %v", w.Days[4], standup)
	}
	today := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	weekStart := w.Days[0]
	working := func(what string, at time.Time, alsoBefore bool) {
		t.Helper()
		if !at.Before(today) {
			t.Errorf("%s at %v: not before the day of the week", what, at)
		}
		if !alsoBefore && at.Before(weekStart) {
			t.Errorf("%s at %v: before the week", what, at)
		}
		if wd := at.Weekday(); wd == time.Saturday || wd == time.Sunday {
			t.Errorf("%s at %v: on a weekend", what, at)
		}
		if h := at.Hour(); h < 8 || h >= 18 {
			t.Errorf("%s at %v: outside working hours", what, at)
		}
	}
	for ch, ms := range w.Slack.Messages {
		for _, m := range ms {
			working("slack "+ch+" "+m.TS, time.Unix(mustSlackTS(m.TS).sec, 0).UTC(), false)
		}
	}
	for _, is := range w.Issues {
		working(is.Identifier+" created", is.CreatedAt, true)
		working(is.Identifier+" updated", is.UpdatedAt, false)
		for _, c := range is.Comments {
			working(is.Identifier+" comment", c.CreatedAt, false)
		}
	}
	for repo, ps := range w.Pulls {
		for _, p := range ps {
			working(repo+" pull created", p.CreatedAt, true)
			working(repo+" pull updated", p.UpdatedAt, false)
		}
	}
}

// TestDemoPeopleMergeAcrossServices: every person who acts anywhere is one
// of the team, with the same address on every service.
func TestDemoPeopleMergeAcrossServices(t *testing.T) {
	w := NewDemoWeek(demoNow)
	team := map[string]bool{}
	for _, p := range w.People {
		if !strings.HasSuffix(p.Email, "@acme.test") || team[p.Email] {
			t.Fatalf("person %+v", p)
		}
		team[p.Email] = true
	}
	if len(team) != 6 {
		t.Fatalf("team of %d", len(team))
	}
	seen := map[string]map[string]bool{"slack": {}, "linear": {}, "github": {}}
	slackEmail := map[string]string{}
	for _, u := range w.Slack.Users {
		if u.IsBot {
			continue
		}
		if !team[u.Email] {
			t.Errorf("slack user %s <%s> is not in the team", u.Name, u.Email)
		}
		slackEmail[u.ID] = u.Email
	}
	for _, ms := range w.Slack.Messages {
		for _, m := range ms {
			if m.BotID != "" || m.User == SlackBotUserID {
				continue
			}
			e, ok := slackEmail[m.User]
			if !ok {
				t.Errorf("slack message by unknown user %s", m.User)
			}
			seen["slack"][e] = true
		}
	}
	for _, is := range w.Issues {
		for _, u := range []*LinearUser{is.Assignee, is.Creator} {
			if u == nil {
				continue
			}
			if !team[u.Email] {
				t.Errorf("%s: linear user %s <%s> is not in the team", is.Identifier, u.Name, u.Email)
			}
			seen["linear"][u.Email] = true
		}
	}
	githubEmail := map[string]string{}
	for _, u := range w.GitHubUsers {
		githubEmail[u.Login] = u.Email
		if !u.Bot && !team[u.Email] {
			t.Errorf("github user %s <%s> is not in the team", u.Login, u.Email)
		}
	}
	for repo, ps := range w.Pulls {
		for _, p := range ps {
			e, ok := githubEmail[p.User]
			if !ok {
				t.Errorf("%s#%d by unknown user %s", repo, p.Number, p.User)
			}
			if e != "" {
				seen["github"][e] = true
			}
			for _, r := range p.Reviewers {
				if githubEmail[r] == "" {
					t.Errorf("%s#%d: reviewer %s is not in the team", repo, p.Number, r)
				}
			}
		}
	}
	for svc, people := range seen {
		if len(people) < 5 {
			t.Errorf("%s: only %d people act", svc, len(people))
		}
	}
}

// TestDemoWeekDecisions runs the real detector over the week: the planted
// decisions are found, the discussions that decide nothing are not, and no
// everyday message is taken for one.
func TestDemoWeekDecisions(t *testing.T) {
	w := NewDemoWeek(demoNow)
	det := workflows.RuleDetector{}
	cfg := pmassist.DefaultTenantConfig().Decisions
	users := map[string]SlackUser{}
	for _, u := range w.Slack.Users {
		users[u.ID] = u
	}
	detected := map[string]bool{} // message text → found
	for _, ms := range w.Slack.Messages {
		for _, m := range ms {
			it := &pmassist.Item{Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, Text: m.Text,
				Author: pmassist.Person{Name: users[m.User].RealName, Email: users[m.User].Email, ExternalID: m.User, Bot: m.BotID != ""}}
			for _, r := range m.Reactions {
				it.Reactions = append(it.Reactions, pmassist.Reaction{Name: r.Name, Count: len(r.Users), Users: r.Users})
			}
			if det.Detect(it, cfg).IsDecision {
				detected[m.Text] = true
			}
		}
	}
	decisions := 0
	for _, th := range demoThreads {
		want := th.decision
		if detected[th.text] != th.decision {
			t.Errorf("slack %q: detected %v, want %v", th.text, detected[th.text], th.decision)
		}
		for _, r := range th.replies {
			want = want || r.decision
			if detected[r.text] != r.decision {
				t.Errorf("slack reply %q: detected %v, want %v", r.text, detected[r.text], r.decision)
			}
		}
		if want {
			decisions++
		}
	}
	for _, f := range demoFillers {
		for _, l := range slices.Concat(f.lines, f.botLines) {
			if detected[l] {
				t.Errorf("everyday message %q taken for a decision", l)
			}
		}
	}
	for _, l := range demoReplyLines {
		if detected[l] {
			t.Errorf("everyday reply %q taken for a decision", l)
		}
	}

	for i, is := range w.Issues {
		it := &pmassist.Item{Type: pmassist.ItemIssue, Service: pmassist.ServiceLinear, Title: is.Title, Text: is.Description,
			State: is.StateName, StateType: is.StateType, Labels: is.Labels,
			Author: pmassist.Person{Name: is.Creator.Name, Email: is.Creator.Email, ExternalID: is.Creator.ID}}
		for _, c := range is.Comments {
			it.Comments = append(it.Comments, pmassist.Comment{ID: c.ID, Body: c.Body, CreatedAt: c.CreatedAt,
				Author: pmassist.Person{Name: c.User.Name, Email: c.User.Email, ExternalID: c.User.ID}})
		}
		if got := det.Detect(it, cfg).IsDecision; got != demoIssues[i].decision {
			t.Errorf("%s %q: detected %v, want %v", is.Identifier, is.Title, got, demoIssues[i].decision)
		} else if got {
			decisions++
		}
	}
	for _, s := range demoPulls {
		var p GitHubPull
		for _, q := range w.Pulls[s.repo] {
			if q.Number == s.number {
				p = q
			}
		}
		it := &pmassist.Item{Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub, Title: p.Title, Text: p.Body,
			State: p.State, Labels: p.Labels, MergedAt: p.MergedAt, Draft: p.Draft,
			Author: pmassist.Person{Name: p.User, ExternalID: p.User, Bot: strings.HasSuffix(p.User, "[bot]")}}
		if p.MergedAt != nil {
			it.State = "merged"
		}
		for _, f := range p.Files {
			it.Files = append(it.Files, f.Filename)
		}
		if got := det.Detect(it, cfg).IsDecision; got != s.decision {
			t.Errorf("%s#%d %q: detected %v, want %v", s.repo, s.number, s.title, got, s.decision)
		} else if got {
			decisions++
		}
	}
	if decisions < 6 {
		t.Fatalf("only %d decisions in the week", decisions)
	}
}

// TestSeedDemoWeekServes: the stand-ins serve exactly the week.
func TestSeedDemoWeekServes(t *testing.T) {
	o := Options{ClientID: "c", ClientSecret: "s"}
	s, l, g := NewSlack(o), NewLinear(o), NewGitHub(o)
	w, err := SeedDemoWeek(s, l, g, demoNow)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s.Data(), w.Slack) {
		t.Fatal("slack data differs")
	}
	issues := l.Issues()
	if len(issues) != len(w.Issues) {
		t.Fatalf("linear serves %d issues, want %d", len(issues), len(w.Issues))
	}
	for _, want := range w.Issues {
		got, ok := l.Issue(want.ID)
		if !ok || !reflect.DeepEqual(got.clone(), want.clone()) {
			t.Fatalf("issue %s:\n got %+v\nwant %+v", want.Identifier, got, want)
		}
	}
	// A later edit continues after the week.
	up := l.UpsertIssue(LinearIssue{Title: "new", Team: LinearTeamENG})
	if up.Identifier != "ENG-114" || !up.UpdatedAt.After(w.Issues[0].UpdatedAt) {
		t.Fatalf("upsert after the week: %s %v", up.Identifier, up.UpdatedAt)
	}
	for _, repo := range demoRepos {
		if got := g.Pulls(repo); !reflect.DeepEqual(got, w.Pulls[repo]) {
			t.Fatalf("%s: %d pulls served, want %d", repo, len(got), len(w.Pulls[repo]))
		}
	}
	if u, ok := g.User("bobchen"); !ok || u.Email != "bob@acme.test" {
		t.Fatalf("github user: %+v", u)
	}
	if err := g.SetPulls("acme/nope", nil); err == nil {
		t.Fatal("unknown repository accepted")
	}

	// Over HTTP: the pull requests list with their reviewers' logins.
	srv := serve(t, g)
	req, _ := http.NewRequest("GET", srv.URL+"/repos/acme/api/pulls?state=all&per_page=100", nil)
	req.Header.Set("Authorization", "Bearer "+g.IssueToken("repo", "read:org"))
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if st, body := res.StatusCode, string(raw); st != 200 || !strings.Contains(body, `"ADR 0009: Postgres as the event store"`) || !strings.Contains(body, `"login":"carol-diaz"`) {
		t.Fatalf("pulls: %d %.300s", st, body)
	}
}
