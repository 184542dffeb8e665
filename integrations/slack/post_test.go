package slack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

// postRequest is what the client sent to chat.postMessage.
type postRequest struct {
	auth string
	form url.Values
}

// recordPosts puts a recorder in front of the stand-in: every
// chat.postMessage request's Authorization header and form are kept.
func (e *env) recordPosts() func() []postRequest {
	e.t.Helper()
	var mu sync.Mutex
	var got []postRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/chat.postMessage" {
			body, _ := io.ReadAll(r.Body)
			form, _ := url.ParseQuery(string(body))
			mu.Lock()
			got = append(got, postRequest{auth: r.Header.Get("Authorization"), form: form})
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		e.slack.ServeHTTP(w, r)
	}))
	e.t.Cleanup(srv.Close)
	e.srv = srv
	return func() []postRequest {
		mu.Lock()
		defer mu.Unlock()
		return append([]postRequest(nil), got...)
	}
}

func TestPostMessage(t *testing.T) {
	for _, channel := range []string{fake.SlackChanOps, "ops", "#ops"} {
		t.Run(channel, func(t *testing.T) {
			e := newEnv(t)
			requests := e.recordPosts()
			text := "*Standup for Tuesday*\n• Alice: merged <https://github.example/acme/app/pull/412|#412>"
			ts, err := e.client().PostMessage(context.Background(), e.conn.ID, channel, text)
			if err != nil {
				t.Fatal(err)
			}
			posted := e.slack.Posted(fake.SlackChanOps)
			if len(posted) != 1 {
				t.Fatalf("posted %d messages, want 1: %+v", len(posted), posted)
			}
			if m := posted[0]; m.TS != ts || m.Text != text || m.User != fake.SlackBotUserID || m.BotID != fake.SlackBotID {
				t.Fatalf("posted %+v, ts %q", m, ts)
			}
			reqs := requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.auth != "Bearer "+e.tokens.token {
				t.Errorf("Authorization %q", r.auth)
			}
			if f := r.form; f.Get("channel") != strings.TrimPrefix(channel, "#") || f.Get("text") != text ||
				f.Get("unfurl_links") != "false" || f.Get("mrkdwn") != "true" {
				t.Errorf("form %v", f)
			}
		})
	}
}

func TestPostMessageErrors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		channel string
		text    string
		token   func(e *env) string
		code    string
		message string
		calls   int
	}{
		{name: "not in channel", channel: "random", code: pmassist.EINVALID, calls: 1,
			message: "the PM Assistant app is not in #random: invite it with /invite @PM Assistant"},
		{name: "not in channel by id", channel: fake.SlackChanRandom, code: pmassist.EINVALID, calls: 1,
			message: "the PM Assistant app is not in channel " + fake.SlackChanRandom + ": invite it with /invite @PM Assistant"},
		{name: "channel not found", channel: "#no-such-channel", code: pmassist.EINVALID, calls: 1,
			message: "Slack channel #no-such-channel not found"},
		{name: "private channel without the app", channel: "G0NOTHERE01", code: pmassist.EINVALID, calls: 1,
			message: "Slack channel G0NOTHERE01 not found"},
		{name: "archived", channel: fake.SlackChanArchived, code: pmassist.EINVALID, calls: 1,
			message: "is archived"},
		{name: "missing chat:write", channel: "eng", code: pmassist.EUNAUTHORIZED, calls: 1,
			token: func(e *env) string {
				return e.slack.IssueToken("channels:read", "channels:history", "users:read")
			},
			message: "the Slack connection lacks the chat:write scope: reconnect Slack to grant it"},
		{name: "invalid token", channel: "eng", code: pmassist.EUNAUTHORIZED, calls: 1,
			token:   func(*env) string { return "xoxb-0000-bogus" },
			message: "Slack refused the access token (invalid_auth): reconnect Slack"},
		{name: "revoked token", channel: "eng", code: pmassist.EUNAUTHORIZED, calls: 1,
			token: func(e *env) string {
				tok := e.slack.IssueToken()
				req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/api/auth.revoke", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				res, err := e.srv.Client().Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return tok
			},
			message: "(token_revoked)"},
		{name: "no channel", channel: " # ", code: pmassist.EINVALID, message: "no Slack channel"},
		{name: "no text", channel: "eng", text: " \n", code: pmassist.EINVALID, message: "message is empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.token != nil {
				e.tokens.token = tc.token(e)
			}
			text := tc.text
			if text == "" {
				text = "Standup"
			}
			ts, err := e.client().PostMessage(context.Background(), e.conn.ID, tc.channel, text)
			if err == nil {
				t.Fatalf("posted (ts %s), want an error", ts)
			}
			if code := pmassist.ErrorCode(err); code != tc.code {
				t.Errorf("code %s, want %s: %v", code, tc.code, err)
			}
			if msg := pmassist.ErrorMessage(err); !strings.Contains(msg, tc.message) {
				t.Errorf("message %q, want %q", msg, tc.message)
			}
			var ae *APIError
			if tc.calls > 0 && !errors.As(err, &ae) {
				t.Errorf("the Slack error is not in the chain: %v", err)
			}
			if n := e.slack.Calls("chat.postMessage"); n != tc.calls {
				t.Errorf("%d calls, want %d", n, tc.calls)
			}
			for _, ch := range []string{fake.SlackChanEng, fake.SlackChanRandom, fake.SlackChanArchived} {
				if p := e.slack.Posted(ch); len(p) != 0 {
					t.Errorf("posted to %s: %+v", ch, p)
				}
			}
		})
	}
}

func TestPostMessageRetries(t *testing.T) {
	t.Run("rate limited", func(t *testing.T) {
		e := newEnv(t)
		e.slack.RateLimitNext(2, 7)
		ts, err := e.client().PostMessage(context.Background(), e.conn.ID, "eng", "Standup")
		if err != nil {
			t.Fatal(err)
		}
		if w := e.waitsFor("rate_limit"); len(w) != 2 || w[0] != 7*time.Second || w[1] != 7*time.Second {
			t.Errorf("rate-limit waits %v, want two of 7s", w)
		}
		if p := e.slack.Posted(fake.SlackChanEng); len(p) != 1 || p[0].TS != ts {
			t.Fatalf("posted %+v, ts %s", p, ts)
		}
		if n := e.slack.Calls("chat.postMessage"); n != 3 {
			t.Errorf("%d calls, want 3", n)
		}
	})
	t.Run("server errors", func(t *testing.T) {
		e := newEnv(t)
		e.slack.ErrorNext(2, http.StatusServiceUnavailable)
		ts, err := e.client().PostMessage(context.Background(), e.conn.ID, fake.SlackChanEng, "Standup")
		if err != nil {
			t.Fatal(err)
		}
		if w := e.waitsFor("retry"); len(w) != 2 {
			t.Errorf("retry waits %v, want 2", w)
		}
		if p := e.slack.Posted(fake.SlackChanEng); len(p) != 1 || p[0].TS != ts {
			t.Fatalf("posted %+v, ts %s", p, ts)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		e := newEnv(t)
		e.slack.ErrorNext(100, http.StatusBadGateway)
		_, err := e.client().PostMessage(context.Background(), e.conn.ID, "eng", "Standup")
		if err == nil || pmassist.ErrorCode(err) != pmassist.EINTERNAL || !strings.Contains(err.Error(), "HTTP 502") {
			t.Fatalf("err %v", err)
		}
		if p := e.slack.Posted(fake.SlackChanEng); len(p) != 0 {
			t.Fatalf("posted %+v", p)
		}
	})
}
