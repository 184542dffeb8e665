package slack

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

func TestFetchPaginatesToTheEnd(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(*fake.Slack)
	}{
		{"small pages", func(s *fake.Slack) { s.SetPageSize(4) }},
		{"non-marketplace", func(s *fake.Slack) { s.SetNonMarketplace(true) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			tc.setup(e.slack)
			st := newStore()
			pages, err := e.fetch(e.client(), st, pmassist.DefaultTenantConfig())
			if err != nil {
				t.Fatal(err)
			}
			want := e.want(defaultChannels...)
			sameIDs(t, "stored", st.ids(), want)
			sameIDs(t, "emitted", pageIDs(pages), want) // nothing emitted twice

			// Every channel's watermark is its newest top-level ts and
			// rides on the channel's last page.
			last := map[string]int{}
			for i, p := range pages {
				for _, it := range p.Items {
					last[it.ChannelID] = i
				}
			}
			for _, ch := range defaultChannels {
				wm := st.wms["channel:"+ch]
				if wm.Value != e.newestTopLevel(ch) || wm.ConnectionID != e.conn.ID {
					t.Errorf("watermark of %s = %+v, want %s", ch, wm, e.newestTopLevel(ch))
				}
				for i, p := range pages {
					if p.Watermark != nil && p.Watermark.Resource == "channel:"+ch && i < last[ch] {
						t.Errorf("watermark of %s on page %d, but its items continue to page %d", ch, i, last[ch])
					}
				}
			}
			if n := e.slack.Calls("conversations.history"); n <= len(defaultChannels) {
				t.Errorf("%d history calls: the pages were not small", n)
			}
			if n := e.slack.Calls("conversations.replies"); n == 0 {
				t.Error("no thread was read")
			}
		})
	}
}

func TestFetchListsChannelsAcrossPages(t *testing.T) {
	e := newEnv(t)
	e.slack.SetPageSize(2)
	st := newStore()
	if _, err := e.fetch(e.client(), st, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	if n := e.slack.Calls("conversations.list"); n < 3 {
		t.Fatalf("conversations.list called %d times, want every page", n)
	}
	sameIDs(t, "stored", st.ids(), e.want(defaultChannels...))
}

func TestSecondFetchIngestsNothing(t *testing.T) {
	e := newEnv(t)
	e.slack.SetPageSize(10)
	c := e.client()
	st := newStore()
	if _, err := e.fetch(c, st, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	replies := e.slack.Calls("conversations.replies")
	pages, err := e.fetch(c, st, pmassist.DefaultTenantConfig())
	if err != nil {
		t.Fatal(err)
	}
	if ids := pageIDs(pages); len(ids) != 0 {
		t.Fatalf("second run emitted %v", head(ids))
	}
	if n := e.slack.Calls("conversations.replies"); n != replies {
		t.Fatalf("second run read %d threads again", n-replies)
	}
}

func TestInterruptedRunResumes(t *testing.T) {
	e := newEnv(t)
	e.slack.SetPageSize(5)
	c := e.client()
	st := newStore()
	st.failAfter = 2
	_, err := e.fetch(c, st, pmassist.DefaultTenantConfig())
	if !errors.Is(err, errStop) {
		t.Fatalf("interrupted run: %v, want the Emit error", err)
	}
	if len(st.items) == 0 || len(st.wms) != 0 {
		t.Fatalf("after the interruption: %d items, watermarks %v; want some items and no watermark yet", len(st.items), st.wms)
	}
	st.failAfter = 0
	if _, err := e.fetch(c, st, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "resumed", st.ids(), e.want(defaultChannels...))
	for _, ch := range defaultChannels {
		if got := st.wms["channel:"+ch].Value; got != e.newestTopLevel(ch) {
			t.Errorf("watermark of %s = %q", ch, got)
		}
	}
}

func TestNewMessagesPickedUp(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	st := newStore()
	if _, err := e.fetch(c, st, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Hour)
	add := func(ch string, m fake.SlackMessage) string {
		t.Helper()
		got, err := e.slack.AddMessage(ch, m)
		if err != nil {
			t.Fatal(err)
		}
		return ch + ":" + got.TS
	}
	plain := add(fake.SlackChanEng, fake.SlackMessage{User: "U0ACME0BOB", Text: "Let's go with the blue logo"})
	parentID := add(fake.SlackChanProduct, fake.SlackMessage{User: "U0ACME0EVE", Text: "Launch checklist?"})
	_, parentTS, _ := strings.Cut(parentID, ":")
	e.clock.Add(time.Minute)
	reply := add(fake.SlackChanProduct, fake.SlackMessage{User: "U0ACME0GRC", Text: "In the wiki", ThreadTS: parentTS})
	add(fake.SlackChanRandom, fake.SlackMessage{User: "U0ACME0BOB", Text: "not for the bot"})

	pages, err := e.fetch(c, st, pmassist.DefaultTenantConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{plain, parentID, reply}
	slices.Sort(want)
	sameIDs(t, "second run", pageIDs(pages), want)
	if got := st.wms["channel:"+fake.SlackChanProduct].Value; got != parentTS {
		t.Fatalf("product watermark %q, want the new parent %q", got, parentTS)
	}
	if r := findItem(t, st, reply); r.ThreadID != parentTS || r.Author.Name != "grace" {
		t.Fatalf("reply: thread %q author %+v", r.ThreadID, r.Author)
	}
}

func TestConfiguredChannels(t *testing.T) {
	e := newEnv(t)
	cfg := pmassist.DefaultTenantConfig()
	// By name, by id (a private channel), and the same channel twice.
	cfg.SlackChannels = []string{"eng", fake.SlackChanLeads, "#design", fake.SlackChanEng}
	st := newStore()
	if _, err := e.fetch(e.client(), st, cfg); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "configured", st.ids(), e.want(fake.SlackChanEng, fake.SlackChanLeads, fake.SlackChanDesign))
	if it := findItem(t, st, e.want(fake.SlackChanLeads)[0]); it.Channel != "leads" || it.ChannelID != fake.SlackChanLeads {
		t.Fatalf("private channel item: %q %q", it.Channel, it.ChannelID)
	}
}

func TestConfiguredChannelNotReadableIsSkipped(t *testing.T) {
	e := newEnv(t)
	cfg := pmassist.DefaultTenantConfig()
	cfg.SlackChannels = []string{"random", "no-such-channel", "ops"}
	st := newStore()
	if _, err := e.fetch(e.client(), st, cfg); err != nil {
		t.Fatalf("a channel the bot is not in failed the run: %v", err)
	}
	sameIDs(t, "stored", st.ids(), e.want(fake.SlackChanOps))
	logs := e.logs.String()
	if !strings.Contains(logs, "not_in_channel") || !strings.Contains(logs, fake.SlackChanRandom) {
		t.Fatalf("no warning about #random: %s", logs)
	}
	if !strings.Contains(logs, "no-such-channel") {
		t.Fatalf("no warning about the unknown channel: %s", logs)
	}
	if _, ok := st.wms["channel:"+fake.SlackChanRandom]; ok {
		t.Fatal("a watermark for the skipped channel")
	}
}

func TestRateLimitIsWaitedOut(t *testing.T) {
	e := newEnv(t)
	e.slack.RateLimitNext(2, 7)
	st := newStore()
	if _, err := e.fetch(e.client(), st, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "stored", st.ids(), e.want(defaultChannels...))
	if got := e.waitsFor("rate_limit"); !slices.Equal(got, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Fatalf("rate-limit waits %v, want two of Retry-After 7s", got)
	}
	if got := e.allSleeps(); !slices.Equal(got, []time.Duration{7 * time.Second, 7 * time.Second}) {
		t.Fatalf("Sleep called with %v", got)
	}
}

func TestRateLimitedInABody(t *testing.T) {
	h := http.Header{"Retry-After": {"3"}}
	d, ok := rateLimited(&http.Response{StatusCode: 200, Header: h}, []byte(`{"ok":false,"error":"ratelimited"}`), time.Now())
	if !ok || d != 3*time.Second {
		t.Fatalf("200 ratelimited: %v %v", d, ok)
	}
	if _, ok := rateLimited(&http.Response{StatusCode: 200}, []byte(`{"ok":true,"text":"\"ratelimited\""}`), time.Now()); ok {
		t.Fatal("a message mentioning ratelimited is not a rate limit")
	}
	if d, ok := rateLimited(&http.Response{StatusCode: 429, Header: http.Header{}}, nil, time.Now()); !ok || d != 30*time.Second {
		t.Fatalf("429 without Retry-After: %v %v", d, ok)
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	e := newEnv(t)
	e.slack.ErrorNext(2, http.StatusServiceUnavailable)
	st := newStore()
	if _, err := e.fetch(e.client(), st, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "stored", st.ids(), e.want(defaultChannels...))
	if got := e.waitsFor("retry"); len(got) != 2 {
		t.Fatalf("retry waits %v, want 2", got)
	}
}

func TestRevokedTokenIsUnauthorized(t *testing.T) {
	e := newEnv(t)
	e.slack.RevokeAll()
	_, err := e.fetch(e.client(), newStore(), pmassist.DefaultTenantConfig())
	if pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED || !strings.Contains(pmassist.ErrorMessage(err), "token_revoked") {
		t.Fatalf("revoked token: %v (code %s)", err, pmassist.ErrorCode(err))
	}

	e.tokens.token = "xoxb-not-a-token"
	_, err = e.fetch(e.client(), newStore(), pmassist.DefaultTenantConfig())
	if pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("unknown token: %v", err)
	}
	if strings.Contains(err.Error(), "xoxb-not-a-token") {
		t.Fatal("the token is in the error")
	}
}

func TestMissingScopes(t *testing.T) {
	// Without groups:read, the public channels are still read.
	e := newEnv(t)
	e.tokens.token = e.slack.IssueToken("channels:read", "channels:history", "users:read", "users:read.email")
	st := newStore()
	if _, err := e.fetch(e.client(), st, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "public only", st.ids(), e.want(defaultChannels...))

	// Without channels:history nothing can be read: reconnect.
	e.tokens.token = e.slack.IssueToken("channels:read", "groups:read", "users:read")
	_, err := e.fetch(e.client(), newStore(), pmassist.DefaultTenantConfig())
	if pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED || !strings.Contains(pmassist.ErrorMessage(err), "channels:history") {
		t.Fatalf("missing channels:history: %v", err)
	}
}

func TestBotMessages(t *testing.T) {
	e := newEnv(t)
	// The app itself posts (a standup); Slack stores it with the bot's
	// user and bot_id.
	form := url.Values{"channel": {"eng"}, "text": {"Standup for Tuesday"}}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/chat.postMessage", strings.NewReader(form.Encode()))
	req.Header.Set("Authorization", "Bearer "+e.tokens.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	posted := e.message(fake.SlackChanEng, "Standup for Tuesday")

	st := newStore()
	if _, err := e.fetch(e.client(), st, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	deploy := e.message(fake.SlackChanOps, "Deployed ")
	it := findItem(t, st, fake.SlackChanOps+":"+deploy.TS)
	if !it.Author.Bot || it.Author.Name != "deploybot" || it.Author.ExternalID != fake.SlackDeployBotID {
		t.Fatalf("deploybot message author %+v", it.Author)
	}
	it = findItem(t, st, fake.SlackChanEng+":"+posted.TS)
	if !it.Author.Bot || it.Author.Name != "PM Assistant" {
		t.Fatalf("the app's own message author %+v", it.Author)
	}
	human := findItem(t, st, fake.SlackChanEng+":"+e.message(fake.SlackChanEng, "Should we decide on Postgres").TS)
	if human.Author.Bot {
		t.Fatal("a person marked as bot")
	}
}

func TestUsersResolvedOncePerRun(t *testing.T) {
	e := newEnv(t)
	st := newStore()
	if _, err := e.fetch(e.client(), st, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	people := map[string]bool{}
	for _, ch := range defaultChannels {
		for _, m := range e.slack.Messages(ch) {
			if m.User != "" && m.BotID == "" && (m.Subtype == "" || m.Subtype == "thread_broadcast") {
				people[m.User] = true
			}
		}
	}
	if n := e.slack.Calls("users.info"); n != len(people) {
		t.Fatalf("users.info called %d times for %d people", n, len(people))
	}
	alice := findItem(t, st, fake.SlackChanEng+":"+e.message(fake.SlackChanEng, "Should we decide on Postgres").TS).Author
	if alice != (pmassist.Person{Name: "Alice", Email: "alice@acme.test", ExternalID: fake.SlackAuthedUser}) {
		t.Fatalf("alice: %+v", alice)
	}
	// No display name: the real name.
	dan := findItem(t, st, fake.SlackChanEng+":"+e.message(fake.SlackChanEng, "Decision: we freeze").TS).Author
	if dan.Name != "Dan Okafor" || dan.Email != "dan@acme.test" {
		t.Fatalf("dan: %+v", dan)
	}
	// A new run resolves again (names change).
	if _, err := e.fetch(e.client(), newStore(), pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	if n := e.slack.Calls("users.info"); n != 2*len(people) {
		t.Fatalf("users.info called %d times over two runs for %d people", n, len(people))
	}
}

func TestItemFields(t *testing.T) {
	e := newEnv(t)
	parent := e.message(fake.SlackChanEng, "Should we decide on Postgres")
	decision := e.message(fake.SlackChanEng, "we decided: bbolt")
	freeze := e.message(fake.SlackChanEng, "Decision: we freeze")
	edited, err := e.slack.EditMessage(fake.SlackChanEng, freeze.TS, freeze.Text+" (edited)")
	if err != nil {
		t.Fatal(err)
	}
	st := newStore()
	if _, err := e.fetch(e.client(), st, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	ch := fake.SlackChanEng
	p := findItem(t, st, ch+":"+parent.TS)
	if p.URL != "https://acme.slack.com/archives/"+ch+"/p"+strings.Replace(parent.TS, ".", "", 1) {
		t.Fatalf("parent permalink %s", p.URL)
	}
	if p.ThreadID != parent.TS || p.Channel != "eng" || p.ChannelID != ch || p.Type != pmassist.ItemMessage ||
		p.Service != pmassist.ServiceSlack || p.TenantID != "tenant-1" || p.ConnectionID != "conn-1" {
		t.Fatalf("parent fields %+v", p)
	}
	created, _ := tsTime(parent.TS)
	if !p.CreatedAt.Equal(created) || created.Unix() == 0 {
		t.Fatalf("created %v from ts %s", p.CreatedAt, parent.TS)
	}
	r := findItem(t, st, ch+":"+decision.TS)
	wantURL := "https://acme.slack.com/archives/" + ch + "/p" + strings.Replace(decision.TS, ".", "", 1) +
		"?thread_ts=" + parent.TS + "&cid=" + ch
	if r.URL != wantURL || r.ThreadID != parent.TS {
		t.Fatalf("reply permalink %s, thread %s; want %s", r.URL, r.ThreadID, wantURL)
	}
	if len(r.Reactions) != 1 || r.Reactions[0].Name != "white_check_mark" || r.Reactions[0].Count != 2 || len(r.Reactions[0].Users) != 2 {
		t.Fatalf("reactions %+v", r.Reactions)
	}
	f := findItem(t, st, ch+":"+freeze.TS)
	editedAt, _ := tsTime(edited.EditedTS)
	if f.Text != edited.Text || !f.UpdatedAt.Equal(editedAt) || f.UpdatedAt.Equal(f.CreatedAt) {
		t.Fatalf("edited message: text %q updated %v, want %v", f.Text, f.UpdatedAt, editedAt)
	}
	if !p.UpdatedAt.Equal(p.CreatedAt) {
		t.Fatalf("unedited message updated %v", p.UpdatedAt)
	}
}

func TestHistoryPacing(t *testing.T) {
	e := newEnv(t)
	e.slack.SetPageSize(20)
	every, err := ParseHistoryRate("50/min")
	if err != nil {
		t.Fatal(err)
	}
	c := e.client(func(c *Config) { c.HistoryEvery = every })
	if _, err := e.fetch(c, newStore(), pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	calls := e.slack.Calls("conversations.history") + e.slack.Calls("conversations.replies")
	paced := e.waitsFor("pace")
	if len(paced) != calls-1 {
		t.Fatalf("%d paced waits for %d history/replies calls", len(paced), calls)
	}
	for _, d := range paced {
		if d != 1200*time.Millisecond {
			t.Fatalf("paced wait %v, want 1.2s", d)
		}
	}
	if got := len(e.allSleeps()); got != len(paced) {
		t.Fatalf("Sleep called %d times, want %d", got, len(paced))
	}
}

func TestNoPacingByDefault(t *testing.T) {
	e := newEnv(t)
	if _, err := e.fetch(e.client(), newStore(), pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	if s := e.allSleeps(); len(s) != 0 {
		t.Fatalf("slept %v without pacing", s)
	}
}

func TestParseHistoryRate(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"50/min": 1200 * time.Millisecond,
		"1/min":  time.Minute,
		"2/s":    500 * time.Millisecond,
		"100/h":  36 * time.Second,
		" 3/min": 20 * time.Second,
	} {
		got, err := ParseHistoryRate(in)
		if err != nil || got != want {
			t.Errorf("ParseHistoryRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "50", "0/min", "-1/min", "x/min", "50/day", "50/"} {
		if _, err := ParseHistoryRate(in); err == nil {
			t.Errorf("ParseHistoryRate(%q) accepted", in)
		}
	}
}

func TestTimestampsCompareAsNumbers(t *testing.T) {
	for _, tc := range []struct{ a, b, want string }{
		{"999999999.000001", "1000000000.000000", "1000000000.000000"},
		{"1700000000.9", "1700000000.000100", "1700000000.9"},
		{"1700000000.000100", "", "1700000000.000100"},
		{"", "1700000000.000100", "1700000000.000100"},
		{"1700000000", "1700000000.000001", "1700000000.000001"},
	} {
		if got := newerTS(tc.a, tc.b); got != tc.want {
			t.Errorf("newerTS(%q, %q) = %q, want %q", tc.a, tc.b, got, tc.want)
		}
	}
	for _, bad := range []string{"abc", "1.2.3", "-5.1", "1.1234567", ".5"} {
		if _, ok := parseTS(bad); ok {
			t.Errorf("parseTS(%q) accepted", bad)
		}
	}
}

func TestWatermarkIsComparedAsANumber(t *testing.T) {
	// A channel whose ts cross a power of ten: as strings "999999999.x" >
	// "1000000000.y", as numbers not.
	e := newEnv(t)
	data := &fake.SlackData{
		Channels: []fake.SlackChannel{{ID: "C0TEN", Name: "ten", IsMember: true}},
		Users:    []fake.SlackUser{{ID: "U0ONE", Name: "one", RealName: "One"}},
		Messages: map[string][]fake.SlackMessage{"C0TEN": {
			{TS: "999999998.000001", User: "U0ONE", Text: "a"},
			{TS: "999999999.000002", User: "U0ONE", Text: "b"},
			{TS: "1000000000.000003", User: "U0ONE", Text: "c"},
		}},
	}
	e.slack.SetData(data)
	e.slack.SetPageSize(1)
	c := e.client()
	st := newStore()
	if _, err := e.fetch(c, st, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	if got := st.wms["channel:C0TEN"].Value; got != "1000000000.000003" {
		t.Fatalf("watermark %q", got)
	}
	if _, err := e.slack.AddMessage("C0TEN", fake.SlackMessage{TS: "1000000001.000000", User: "U0ONE", Text: "d"}); err != nil {
		t.Fatal(err)
	}
	pages, err := e.fetch(c, st, pmassist.DefaultTenantConfig())
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "after the new message", pageIDs(pages), []string{"C0TEN:1000000001.000000"})
}
