package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// slackWeb calls a Web API method with a form body and a Bearer token and
// returns the HTTP status, headers and decoded answer.
func slackWeb(t *testing.T, srv *httptest.Server, method, token string, params url.Values) (int, http.Header, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/"+method, strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m
}

func slackOK(t *testing.T, srv *httptest.Server, method, token string, params url.Values) map[string]any {
	t.Helper()
	status, _, m := slackWeb(t, srv, method, token, params)
	if status != http.StatusOK || m["ok"] != true {
		t.Fatalf("%s %v: HTTP %d %v", method, params, status, m)
	}
	return m
}

func newSlackAPI(t *testing.T) (*Slack, *httptest.Server, string, *Clock) {
	t.Helper()
	clk := newClock()
	s, srv, _ := newSlack(t, Options{Now: clk.Now})
	return s, srv, s.IssueToken(), clk
}

func messagesOf(m map[string]any) []map[string]any {
	var out []map[string]any
	list, _ := m["messages"].([]any)
	for _, x := range list {
		out = append(out, x.(map[string]any))
	}
	return out
}

func nextCursor(m map[string]any) string {
	meta, _ := m["response_metadata"].(map[string]any)
	c, _ := meta["next_cursor"].(string)
	return c
}

func TestSlackSeedIsDeterministicAndRealistic(t *testing.T) {
	end := time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC)
	a, b := NewSlackData(1, end), NewSlackData(1, end)
	if !slices.EqualFunc(a.Messages[SlackChanEng], b.Messages[SlackChanEng], func(x, y SlackMessage) bool {
		return x.TS == y.TS && x.Text == y.Text && x.User == y.User
	}) {
		t.Fatal("the same seed gave different data")
	}
	total := 0
	var decided, question, checked, botNoUser, threads, private bool
	for _, ch := range a.Channels {
		private = private || (ch.IsPrivate && ch.IsMember)
		for _, m := range a.Messages[ch.ID] {
			total++
			at, _ := parseSlackTS(m.TS)
			if when := time.Unix(at.sec, 0); !when.Before(end) && ch.ID != SlackChanArchived {
				t.Fatalf("message at %v, after the seed's end", when)
			}
			decided = decided || strings.Contains(m.Text, "we decided") || strings.Contains(m.Text, "Let's go with")
			question = question || strings.HasPrefix(m.Text, "Should we decide")
			checked = checked || slices.ContainsFunc(m.Reactions, func(r SlackReaction) bool { return r.Name == "white_check_mark" })
			botNoUser = botNoUser || (m.Subtype == "bot_message" && m.BotID != "" && m.User == "")
			threads = threads || m.isReply()
		}
	}
	if total < 200 || !decided || !question || !checked || !botNoUser || !threads || !private {
		t.Fatalf("seed: %d messages, decision %v question %v check %v bot %v threads %v private %v",
			total, decided, question, checked, botNoUser, threads, private)
	}
	humans := 0
	for _, u := range a.Users {
		if !u.IsBot && u.Email != "" {
			humans++
		}
	}
	if humans < 6 {
		t.Fatalf("%d people with emails", humans)
	}
}

func TestSlackConversationsList(t *testing.T) {
	s, srv, tok, _ := newSlackAPI(t)
	s.SetPageSize(3)
	var ids []string
	cursor := ""
	for {
		m := slackOK(t, srv, "conversations.list", tok, url.Values{"types": {"public_channel,private_channel"},
			"exclude_archived": {"true"}, "limit": {"1000"}, "cursor": {cursor}})
		chans := m["channels"].([]any)
		if len(chans) > 3 {
			t.Fatalf("page of %d with page size 3", len(chans))
		}
		for _, c := range chans {
			ch := c.(map[string]any)
			ids = append(ids, ch["id"].(string))
			if ch["id"] == SlackChanLeads && (ch["is_private"] != true || ch["is_member"] != true) {
				t.Fatalf("leads: %v", ch)
			}
			if ch["id"] == SlackChanRandom && ch["is_member"] != false {
				t.Fatalf("random: %v", ch)
			}
		}
		if cursor = nextCursor(m); cursor == "" {
			if _, ok := m["response_metadata"]; !ok {
				t.Fatal("no response_metadata at the end")
			}
			break
		}
	}
	want := []string{SlackChanEng, SlackChanProduct, SlackChanDesign, SlackChanRandom, SlackChanAnnouncements, SlackChanOps, SlackChanLeads}
	if !slices.Equal(ids, want) {
		t.Fatalf("channels %v, want %v", ids, want)
	}
	// Default types: public only; archived ones unless excluded.
	m := slackOK(t, srv, "conversations.list", tok, url.Values{"limit": {"100"}})
	if n := len(m["channels"].([]any)); n != 3 {
		t.Fatalf("page size still caps: %d", n)
	}
	s.SetPageSize(0)
	m = slackOK(t, srv, "conversations.list", tok, nil)
	var names []string
	for _, c := range m["channels"].([]any) {
		names = append(names, c.(map[string]any)["name"].(string))
	}
	if slices.Contains(names, "leads") || !slices.Contains(names, "old-launch") {
		t.Fatalf("default list %v", names)
	}
	if _, _, m := slackWeb(t, srv, "conversations.list", tok, url.Values{"cursor": {"bogus"}}); m["error"] != "invalid_cursor" {
		t.Fatalf("bad cursor: %v", m)
	}
}

func TestSlackHistory(t *testing.T) {
	s, srv, tok, _ := newSlackAPI(t)
	s.SetPageSize(7)
	var got []string
	cursor := ""
	for {
		m := slackOK(t, srv, "conversations.history", tok, url.Values{"channel": {SlackChanEng}, "limit": {"200"}, "cursor": {cursor}})
		page := messagesOf(m)
		if len(page) > 7 {
			t.Fatalf("page of %d", len(page))
		}
		for _, msg := range page {
			ts, ok := msg["ts"].(string)
			if !ok || msg["type"] != "message" {
				t.Fatalf("message %v", msg)
			}
			got = append(got, ts)
		}
		if m["has_more"] != (nextCursor(m) != "") {
			t.Fatalf("has_more %v with cursor %q", m["has_more"], nextCursor(m))
		}
		if cursor = nextCursor(m); cursor == "" {
			break
		}
	}
	var want []string
	parents := map[string]int{}
	for _, m := range s.Messages(SlackChanEng) {
		if !m.isReply() || m.Subtype == "thread_broadcast" {
			want = append(want, m.TS)
		}
		if m.isReply() {
			parents[m.ThreadTS]++
		}
	}
	slices.Reverse(want)
	if !slices.Equal(got, want) {
		t.Fatalf("history (newest first) has %d messages, want %d", len(got), len(want))
	}

	// Thread parents carry thread_ts and reply_count; bots their bot_id.
	m := slackOK(t, srv, "conversations.history", tok, url.Values{"channel": {SlackChanEng}, "limit": {"1000"}})
	for _, msg := range messagesOf(m) {
		ts := msg["ts"].(string)
		if n := parents[ts]; n > 0 && (msg["thread_ts"] != ts || msg["reply_count"] != float64(n)) {
			t.Fatalf("parent %v, want %d replies", msg, n)
		}
		if msg["subtype"] == "bot_message" && (msg["bot_id"] == nil || msg["user"] != nil) {
			t.Fatalf("bot message %v", msg)
		}
	}

	// oldest is exclusive unless inclusive.
	mid := want[len(want)/2]
	s.SetPageSize(0)
	m = slackOK(t, srv, "conversations.history", tok, url.Values{"channel": {SlackChanEng}, "oldest": {mid}, "limit": {"1000"}})
	if n := len(messagesOf(m)); n != len(want)/2 {
		t.Fatalf("after %s: %d messages, want %d", mid, n, len(want)/2)
	}
	m = slackOK(t, srv, "conversations.history", tok, url.Values{"channel": {SlackChanEng}, "oldest": {mid}, "inclusive": {"true"}, "limit": {"1000"}})
	if n := len(messagesOf(m)); n != len(want)/2+1 {
		t.Fatalf("inclusive: %d messages", n)
	}

	for _, tc := range []struct{ channel, code string }{
		{SlackChanRandom, "not_in_channel"},
		{"C0NOPE", "channel_not_found"},
		{"", "channel_not_found"},
	} {
		if _, _, m := slackWeb(t, srv, "conversations.history", tok, url.Values{"channel": {tc.channel}}); m["ok"] != false || m["error"] != tc.code {
			t.Errorf("history of %q: %v, want %s", tc.channel, m, tc.code)
		}
	}
	if _, _, m := slackWeb(t, srv, "conversations.history", tok, url.Values{"channel": {SlackChanEng}, "oldest": {"yesterday"}}); m["error"] != "invalid_ts_oldest" {
		t.Errorf("bad oldest: %v", m)
	}

	s.SetNonMarketplace(true)
	m = slackOK(t, srv, "conversations.history", tok, url.Values{"channel": {SlackChanEng}, "limit": {"200"}})
	if n := len(messagesOf(m)); n != SlackNonMarketplacePageSize {
		t.Fatalf("non-Marketplace page of %d", n)
	}
}

func TestSlackReplies(t *testing.T) {
	s, srv, tok, _ := newSlackAPI(t)
	var parent SlackMessage
	var replies []string
	for _, m := range s.Messages(SlackChanEng) {
		if strings.HasPrefix(m.Text, "Should we decide on Postgres") {
			parent = m
		}
	}
	for _, m := range s.Messages(SlackChanEng) {
		if m.ThreadTS == parent.TS {
			replies = append(replies, m.TS)
		}
	}
	s.SetPageSize(2)
	var got []string
	cursor, first := "", true
	for {
		m := slackOK(t, srv, "conversations.replies", tok, url.Values{"channel": {SlackChanEng}, "ts": {parent.TS}, "cursor": {cursor}})
		page := messagesOf(m)
		if first && (page[0]["ts"] != parent.TS || page[0]["reply_count"] != float64(len(replies))) {
			t.Fatalf("first page does not start with the parent: %v", page[0])
		}
		for _, msg := range page {
			if msg["ts"] != parent.TS {
				if msg["thread_ts"] != parent.TS || msg["parent_user_id"] != parent.User {
					t.Fatalf("reply %v", msg)
				}
				got = append(got, msg["ts"].(string))
			}
		}
		first = false
		if cursor = nextCursor(m); cursor == "" {
			break
		}
	}
	if !slices.Equal(got, replies) {
		t.Fatalf("replies %v, want %v", got, replies)
	}
	if _, _, m := slackWeb(t, srv, "conversations.replies", tok, url.Values{"channel": {SlackChanEng}, "ts": {"1.000001"}}); m["error"] != "thread_not_found" {
		t.Fatalf("unknown thread: %v", m)
	}
}

func TestSlackUsersInfo(t *testing.T) {
	s, srv, tok, _ := newSlackAPI(t)
	m := slackOK(t, srv, "users.info", tok, url.Values{"user": {"U0ACME0DAN"}})
	u := m["user"].(map[string]any)
	p := u["profile"].(map[string]any)
	if u["id"] != "U0ACME0DAN" || u["name"] != "dan" || u["real_name"] != "Dan Okafor" || u["tz"] != "Europe/London" ||
		u["is_bot"] != false || p["display_name"] != "" || p["real_name"] != "Dan Okafor" || p["email"] != "dan@acme.test" {
		t.Fatalf("users.info: %v", u)
	}
	if m := slackOK(t, srv, "users.info", tok, url.Values{"user": {SlackBotUserID}}); m["user"].(map[string]any)["is_bot"] != true {
		t.Fatalf("bot user: %v", m)
	}
	if _, _, m := slackWeb(t, srv, "users.info", tok, url.Values{"user": {"U0NOBODY"}}); m["error"] != "user_not_found" {
		t.Fatalf("unknown user: %v", m)
	}
	// Without users:read.email, no email.
	noEmail := s.IssueToken("users:read")
	if m := slackOK(t, srv, "users.info", noEmail, url.Values{"user": {"U0ACME0DAN"}}); m["user"].(map[string]any)["profile"].(map[string]any)["email"] != nil {
		t.Fatalf("email without users:read.email: %v", m)
	}
	if _, _, m := slackWeb(t, srv, "users.info", s.IssueToken("channels:read"), url.Values{"user": {"U0ACME0DAN"}}); m["error"] != "missing_scope" || m["needed"] != "users:read" {
		t.Fatalf("missing scope: %v", m)
	}
	if s.Calls("users.info") != 5 {
		t.Fatalf("Calls = %d", s.Calls("users.info"))
	}
}

func TestSlackPostMessage(t *testing.T) {
	s, srv, tok, _ := newSlackAPI(t)
	m := slackOK(t, srv, "chat.postMessage", tok, url.Values{"channel": {"#ops"}, "text": {"Standup: all green"}})
	if m["channel"] != SlackChanOps || m["ts"] == "" {
		t.Fatalf("postMessage: %v", m)
	}
	ms := s.Messages(SlackChanOps)
	last := ms[len(ms)-1]
	if last.TS != m["ts"] || last.Text != "Standup: all green" || last.User != SlackBotUserID || last.BotID != SlackBotID {
		t.Fatalf("recorded %+v", last)
	}
	// JSON bodies work too.
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/chat.postMessage", strings.NewReader(`{"channel":"`+SlackChanEng+`","text":"hi"}`))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var jm map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&jm)
	resp.Body.Close()
	if jm["ok"] != true || jm["channel"] != SlackChanEng {
		t.Fatalf("JSON post: %v", jm)
	}
	for _, tc := range []struct{ channel, text, code string }{
		{SlackChanRandom, "x", "not_in_channel"},
		{"nope", "x", "channel_not_found"},
		{SlackChanArchived, "x", "is_archived"},
		{SlackChanEng, "", "no_text"},
	} {
		if _, _, m := slackWeb(t, srv, "chat.postMessage", tok, url.Values{"channel": {tc.channel}, "text": {tc.text}}); m["error"] != tc.code {
			t.Errorf("post to %q: %v, want %s", tc.channel, m, tc.code)
		}
	}
}

func TestSlackAPIAuthAndFailures(t *testing.T) {
	clk := newClock()
	s, srv, _ := newSlack(t, Options{Now: clk.Now, AccessTTL: time.Hour})
	tok := s.IssueToken()
	params := url.Values{"channel": {SlackChanEng}}
	if _, _, m := slackWeb(t, srv, "conversations.history", "", params); m["error"] != "invalid_auth" {
		t.Fatalf("no token: %v", m)
	}
	s.RateLimitNext(1, 9)
	status, h, m := slackWeb(t, srv, "conversations.history", tok, params)
	if status != http.StatusTooManyRequests || h.Get("Retry-After") != "9" || m["ok"] != false || m["error"] != "ratelimited" {
		t.Fatalf("rate limited: %d %q %v", status, h.Get("Retry-After"), m)
	}
	s.ErrorNext(1, http.StatusBadGateway)
	if status, _, _ := slackWeb(t, srv, "users.info", tok, url.Values{"user": {"U0ACME0BOB"}}); status != http.StatusBadGateway {
		t.Fatalf("ErrorNext: %d", status)
	}
	slackOK(t, srv, "conversations.history", tok, params)
	if s.Calls("conversations.history") != 3 {
		t.Fatalf("Calls = %d", s.Calls("conversations.history"))
	}
	clk.Add(2 * time.Hour)
	if _, _, m := slackWeb(t, srv, "conversations.history", tok, params); m["error"] != "token_expired" {
		t.Fatalf("expired: %v", m)
	}
	s.RevokeAll()
	if _, _, m := slackWeb(t, srv, "conversations.list", tok, nil); m["error"] != "token_revoked" {
		t.Fatalf("revoked: %v", m)
	}
}

func TestSlackMutations(t *testing.T) {
	s, _, _, clk := newSlackAPI(t)
	clk.Add(time.Minute)
	parent, err := s.AddMessage(SlackChanEng, SlackMessage{User: "U0ACME0BOB", Text: "new thread"})
	if err != nil {
		t.Fatal(err)
	}
	reply, err := s.AddMessage(SlackChanEng, SlackMessage{User: "U0ACME0CAR", Text: "reply", ThreadTS: parent.TS})
	if err != nil || mustSlackTS(reply.TS).cmp(mustSlackTS(parent.TS)) <= 0 {
		t.Fatalf("reply %+v %v", reply, err)
	}
	if _, err := s.AddMessage(SlackChanEng, SlackMessage{Text: "dup", TS: parent.TS}); err == nil {
		t.Fatal("duplicate ts accepted")
	}
	if _, err := s.AddMessage("C0NOPE", SlackMessage{Text: "x"}); err == nil {
		t.Fatal("unknown channel accepted")
	}
	edited, err := s.EditMessage(SlackChanEng, parent.TS, "new thread (edited)")
	if err != nil || edited.EditedTS == "" || edited.Text != "new thread (edited)" {
		t.Fatalf("edit %+v %v", edited, err)
	}
	if err := s.DeleteMessage(SlackChanEng, parent.TS); err != nil {
		t.Fatal(err)
	}
	ms := s.Messages(SlackChanEng)
	if i := findSlackMessage(ms, parent.TS); i < 0 || ms[i].Subtype != "tombstone" {
		t.Fatal("a parent with replies is not kept as a tombstone")
	}
	if err := s.DeleteMessage(SlackChanEng, reply.TS); err != nil {
		t.Fatal(err)
	}
	if findSlackMessage(s.Messages(SlackChanEng), reply.TS) >= 0 {
		t.Fatal("reply not deleted")
	}
}

func TestSlackSignEvent(t *testing.T) {
	s := NewSlack(Options{})
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	h := s.SignEvent("8f742231b10e8888abcd99yyyzzz85a5", []byte(body), time.Unix(1531420618, 0))
	if h.Get("X-Slack-Request-Timestamp") != "1531420618" ||
		h.Get("X-Slack-Signature") != "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503" {
		t.Fatalf("signature headers %v", h)
	}
	var ev map[string]any
	if err := json.Unmarshal(s.MessageDeletedEvent(SlackChanEng, "1700000000.000100", time.Unix(1700000100, 0)), &ev); err != nil {
		t.Fatal(err)
	}
	inner := ev["event"].(map[string]any)
	if ev["type"] != "event_callback" || ev["team_id"] != "T0ACME0001" || !strings.HasPrefix(ev["event_id"].(string), "Ev") ||
		inner["subtype"] != "message_deleted" || inner["deleted_ts"] != "1700000000.000100" || inner["channel"] != SlackChanEng {
		t.Fatalf("message_deleted event %v", ev)
	}
}
