package workflows

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

func TestIdentitiesOfMergesDuplicatesAndDropsBots(t *testing.T) {
	at := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	items := []*pmassist.Item{
		// A Slack message from a webhook: only the user id is known.
		{ID: "m1", Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: "C1:1",
			Author: pmassist.Person{ExternalID: "U02BOB"}, CreatedAt: at},
		// The same user, resolved through users.info.
		{ID: "m2", Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: "C1:2",
			Author: pmassist.Person{Name: "bob", Email: "Bob@Acme.test", ExternalID: "U02BOB"}, CreatedAt: at},
		{ID: "m3", Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: "C1:3",
			Author: pmassist.Person{Name: "Ada", Email: "ada@acme.test", ExternalID: "U01ADA"}, CreatedAt: at},
		// A Slack bot.
		{ID: "m4", Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: "C1:4",
			Author: pmassist.Person{Name: "deploybot", ExternalID: "B0BOT", Bot: true}, CreatedAt: at},
		// A Linear issue: creator, assignee, comment authors (one a bot,
		// one the assignee again, one nobody).
		{ID: "i1", Type: pmassist.ItemIssue, Service: pmassist.ServiceLinear, ExternalID: "lin-i1",
			Author:   pmassist.Person{Name: "Ada Lovelace", Email: "ada@acme.test", ExternalID: "lin-ada"},
			Assignee: &pmassist.Person{Name: "Bob Stone", Email: "bob@acme.test", ExternalID: "lin-bob"},
			Comments: []pmassist.Comment{
				{ID: "c1", Author: pmassist.Person{Name: "Erin Park", Email: "erin@acme.test", ExternalID: "lin-erin"}},
				{ID: "c2", Author: pmassist.Person{Name: "Linear bot", ExternalID: "lin-bot", Bot: true}},
				{ID: "c3", Author: pmassist.Person{Name: "Bob Stone", ExternalID: "lin-bob"}},
				{ID: "c4", Author: pmassist.Person{}},
			}},
		// GitHub: logins compare without case; [bot] logins are bots.
		{ID: "p1", Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub, ExternalID: "acme/api#1",
			Author: pmassist.Person{Name: "ada-l", ExternalID: "ada-l"}},
		{ID: "p2", Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub, ExternalID: "acme/api#2",
			Author: pmassist.Person{Name: "Ada-L", ExternalID: "Ada-L"}},
		{ID: "p3", Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub, ExternalID: "acme/api#3",
			Author: pmassist.Person{Name: "dependabot[bot]", ExternalID: "dependabot[bot]"}},
		{ID: "p4", Type: pmassist.ItemPullRequest, Service: pmassist.ServiceGitHub, ExternalID: "acme/api#4",
			Author: pmassist.Person{Name: "Renovate[Bot]", ExternalID: "Renovate[Bot]"}},
		nil,
	}
	want := []pmassist.Identity{
		{Service: pmassist.ServiceSlack, ExternalID: "U01ADA", Handle: "Ada", Name: "Ada", Email: "ada@acme.test"},
		{Service: pmassist.ServiceSlack, ExternalID: "U02BOB", Handle: "bob", Name: "bob", Email: "bob@acme.test"},
		{Service: pmassist.ServiceLinear, ExternalID: "lin-ada", Handle: "Ada Lovelace", Name: "Ada Lovelace", Email: "ada@acme.test"},
		{Service: pmassist.ServiceLinear, ExternalID: "lin-bob", Handle: "Bob Stone", Name: "Bob Stone", Email: "bob@acme.test"},
		{Service: pmassist.ServiceLinear, ExternalID: "lin-erin", Handle: "Erin Park", Name: "Erin Park", Email: "erin@acme.test"},
		{Service: pmassist.ServiceGitHub, ExternalID: "ada-l", Handle: "ada-l", Name: "ada-l"},
	}
	got := IdentitiesOf(items)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("IdentitiesOf:\n got %+v\nwant %+v", got, want)
	}

	// The order of the items does not change the set or its order.
	rev := make([]*pmassist.Item, len(items))
	for i, it := range items {
		rev[len(items)-1-i] = it
	}
	got = IdentitiesOf(rev)
	if len(got) != len(want) {
		t.Fatalf("reversed: %d identities, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Service != want[i].Service || !strings.EqualFold(got[i].ExternalID, want[i].ExternalID) {
			t.Errorf("reversed [%d] = %s/%s, want %s/%s", i, got[i].Service, got[i].ExternalID, want[i].Service, want[i].ExternalID)
		}
	}
	if IdentitiesOf(nil) == nil || len(IdentitiesOf(nil)) != 0 {
		t.Error("IdentitiesOf(nil) should be an empty, non-nil list")
	}
}

func TestPeoplePersonKey(t *testing.T) {
	cases := []struct {
		p       pmassist.Person
		service pmassist.Service
		svc     string
		ext     string
	}{
		{pmassist.Person{ExternalID: "Ada-L"}, pmassist.ServiceGitHub, "github", "ada-l"},
		{pmassist.Person{ExternalID: " U01ADA "}, pmassist.ServiceSlack, "slack", "U01ADA"},
		{pmassist.Person{ExternalID: "Lin-ADA"}, pmassist.ServiceLinear, "linear", "Lin-ADA"},
		{pmassist.Person{Name: "Ada"}, pmassist.ServiceSlack, "slack", ""},
	}
	for _, c := range cases {
		svc, ext := PersonKey(c.p, c.service)
		if svc != c.svc || ext != c.ext {
			t.Errorf("PersonKey(%+v, %s) = %q, %q; want %q, %q", c.p, c.service, svc, ext, c.svc, c.ext)
		}
	}
}
