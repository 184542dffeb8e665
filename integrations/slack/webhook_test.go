package slack

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

const signingSecret = "8f742231b10e8888abcd99yyyzzz85a5"

func TestVerifyTestVector(t *testing.T) {
	// providers.md, from Slack's documentation.
	body := "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", "1531420618")
	h.Set("X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503")
	c := New(Config{})
	now := time.Unix(1531420618, 0)
	if err := c.Verify(h, []byte(body), signingSecret, now.Add(30*time.Second)); err != nil {
		t.Fatalf("test vector refused: %v", err)
	}
	for name, tc := range map[string]struct {
		body, secret, stamp, sig string
		now                      time.Time
	}{
		"tampered body":     {body: body + "x", now: now},
		"wrong secret":      {body: body, secret: "another-secret", now: now},
		"no secret":         {body: body, secret: "-", now: now},
		"stale":             {body: body, now: now.Add(5*time.Minute + time.Second)},
		"from the future":   {body: body, now: now.Add(-5*time.Minute - time.Second)},
		"no timestamp":      {body: body, stamp: "-", now: now},
		"bad timestamp":     {body: body, stamp: "1531420618.5", now: now},
		"no signature":      {body: body, sig: "-", now: now},
		"other version":     {body: body, sig: "v1=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", now: now},
		"truncated":         {body: body, sig: "v0=a2114d57b48eac39b9ad189dd8316235", now: now},
		"not hex":           {body: body, sig: "v0=zz114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503", now: now},
		"another timestamp": {body: body, stamp: "1531420619", now: now},
	} {
		hh := h.Clone()
		secret := signingSecret
		switch tc.secret {
		case "":
		case "-":
			secret = ""
		default:
			secret = tc.secret
		}
		set := func(k, v string) {
			switch v {
			case "":
			case "-":
				hh.Del(k)
			default:
				hh.Set(k, v)
			}
		}
		set("X-Slack-Request-Timestamp", tc.stamp)
		set("X-Slack-Signature", tc.sig)
		err := c.Verify(hh, []byte(tc.body), secret, tc.now)
		if pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED {
			t.Errorf("%s: %v, want an unauthorized error", name, err)
		}
	}
}

func TestVerifySignedByTheStandIn(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	now := e.clock.Now()
	body := e.slack.URLVerificationEvent("chal-123")
	h := e.slack.SignEvent("s3cret", body, now.Add(-4*time.Minute))
	if err := c.Verify(h, body, "s3cret", now); err != nil {
		t.Fatalf("4 minutes old: %v", err)
	}
	if err := c.Verify(e.slack.SignEvent("s3cret", body, now.Add(-6*time.Minute)), body, "s3cret", now); err == nil {
		t.Fatal("6 minutes old accepted")
	}
	if err := c.Verify(e.slack.SignEvent("s3cret", body, now.Add(6*time.Minute)), body, "s3cret", now); err == nil {
		t.Fatal("6 minutes ahead accepted")
	}
}

func parse(t *testing.T, c *Client, body []byte) *pmassist.WebhookDelivery {
	t.Helper()
	d, err := c.Parse(http.Header{}, body)
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, body)
	}
	return d
}

func eventID(t *testing.T, body []byte) string {
	t.Helper()
	var env struct {
		EventID string `json:"event_id"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.EventID == "" {
		t.Fatalf("no event_id in %s", body)
	}
	return env.EventID
}

func oneItem(t *testing.T, d *pmassist.WebhookDelivery, body []byte) *pmassist.Item {
	t.Helper()
	if d.ID != eventID(t, body) || d.WorkspaceID != "T0ACME0001" || d.Challenge != "" {
		t.Fatalf("delivery %+v", d)
	}
	if len(d.Items) != 1 {
		t.Fatalf("%d items, want 1", len(d.Items))
	}
	return d.Items[0]
}

func TestParseURLVerification(t *testing.T) {
	e := newEnv(t)
	d := parse(t, e.client(), e.slack.URLVerificationEvent("3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"))
	if d.Challenge != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" || len(d.Items) != 0 {
		t.Fatalf("url_verification: %+v", d)
	}
}

func TestParseMessageEvents(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	ch := fake.SlackChanEng

	m, err := e.slack.AddMessage(ch, fake.SlackMessage{User: "U0ACME0BOB", Text: "Decision: ship on Friday",
		Reactions: []fake.SlackReaction{{Name: "white_check_mark", Users: []string{"U0ACME0CAR"}}}})
	if err != nil {
		t.Fatal(err)
	}
	body := e.slack.MessageEvent(ch, m)
	it := oneItem(t, parse(t, c, body), body)
	created, _ := tsTime(m.TS)
	if it.ExternalID != ch+":"+m.TS || it.ChannelID != ch || it.Channel != "" || it.URL != "" ||
		it.Text != m.Text || it.Type != pmassist.ItemMessage || it.Service != pmassist.ServiceSlack ||
		!it.CreatedAt.Equal(created) || it.Author != (pmassist.Person{ExternalID: "U0ACME0BOB"}) || it.Deleted || it.ThreadID != "" {
		t.Fatalf("message item %+v", it)
	}
	if len(it.Reactions) != 1 || it.Reactions[0].Name != "white_check_mark" || it.Reactions[0].Count != 1 {
		t.Fatalf("reactions %+v", it.Reactions)
	}

	reply, err := e.slack.AddMessage(ch, fake.SlackMessage{User: "U0ACME0CAR", Text: "+1", ThreadTS: m.TS})
	if err != nil {
		t.Fatal(err)
	}
	body = e.slack.MessageEvent(ch, reply)
	if it := oneItem(t, parse(t, c, body), body); it.ThreadID != m.TS || it.ExternalID != ch+":"+reply.TS {
		t.Fatalf("reply item %+v", it)
	}

	bot, err := e.slack.AddMessage(fake.SlackChanOps, fake.SlackMessage{Subtype: "bot_message", BotID: fake.SlackDeployBotID,
		Username: "deploybot", Text: "Deployed api v1.43.0 to production"})
	if err != nil {
		t.Fatal(err)
	}
	body = e.slack.MessageEvent(fake.SlackChanOps, bot)
	if it := oneItem(t, parse(t, c, body), body); !it.Author.Bot || it.Author.Name != "deploybot" || it.ChannelID != fake.SlackChanOps {
		t.Fatalf("bot item %+v", it)
	}

	edited, err := e.slack.EditMessage(ch, m.TS, "Decision: ship on Monday")
	if err != nil {
		t.Fatal(err)
	}
	body = e.slack.MessageChangedEvent(ch, edited, m.Text)
	it = oneItem(t, parse(t, c, body), body)
	editedAt, _ := tsTime(edited.EditedTS)
	if it.ExternalID != ch+":"+m.TS || it.Text != "Decision: ship on Monday" || !it.UpdatedAt.Equal(editedAt) ||
		!it.CreatedAt.Equal(created) || it.Deleted {
		t.Fatalf("edited item %+v (edited at %v)", it, editedAt)
	}

	deletedAt := e.clock.Now().Add(time.Minute)
	if err := e.slack.DeleteMessage(ch, reply.TS); err != nil {
		t.Fatal(err)
	}
	body = e.slack.MessageDeletedEvent(ch, reply.TS, deletedAt)
	it = oneItem(t, parse(t, c, body), body)
	if !it.Deleted || it.ExternalID != ch+":"+reply.TS || !it.UpdatedAt.Equal(deletedAt.Truncate(time.Microsecond)) {
		t.Fatalf("deleted item %+v", it)
	}
}

func TestParseOtherEvents(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	body := e.slack.ReactionAddedEvent(fake.SlackChanEng, "1700000000.000100", "U0ACME0BOB", "white_check_mark")
	d := parse(t, c, body)
	if d.ID != eventID(t, body) || len(d.Items) != 0 || d.Refresh {
		t.Fatalf("reaction_added: %+v", d)
	}
	join, err := e.slack.AddMessage(fake.SlackChanEng, fake.SlackMessage{Subtype: "channel_join", User: "U0ACME0GRC", Text: "<@U0ACME0GRC> has joined the channel"})
	if err != nil {
		t.Fatal(err)
	}
	body = e.slack.MessageEvent(fake.SlackChanEng, join)
	if d := parse(t, c, body); len(d.Items) != 0 || d.ID == "" {
		t.Fatalf("channel_join: %+v", d)
	}
	if d := parse(t, c, []byte(`{"type":"app_rate_limited","team_id":"T0ACME0001","minute_rate_limited":1518467820}`)); len(d.Items) != 0 {
		t.Fatalf("app_rate_limited: %+v", d)
	}
	if _, err := c.Parse(http.Header{}, []byte(`{"type":`)); pmassist.ErrorCode(err) != pmassist.EINVALID {
		t.Fatalf("malformed JSON: %v", err)
	}
	bad := strings.Replace(string(e.slack.MessageEvent(fake.SlackChanEng, join)), `"subtype":"channel_join",`, "", 1)
	bad = strings.ReplaceAll(bad, join.TS, "not-a-ts")
	if _, err := c.Parse(http.Header{}, []byte(bad)); pmassist.ErrorCode(err) != pmassist.EINVALID {
		t.Fatalf("malformed ts: %v", err)
	}
}
