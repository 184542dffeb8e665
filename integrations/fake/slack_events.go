package fake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// SignEvent returns the headers Slack sends with an Events API delivery:
// X-Slack-Request-Timestamp and X-Slack-Signature =
// "v0=" + hex(HMAC-SHA256(secret, "v0:{timestamp}:{body}")).
func (s *Slack) SignEvent(secret string, body []byte, ts time.Time) http.Header {
	stamp := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":"))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("X-Slack-Request-Timestamp", stamp)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(mac.Sum(nil)))
	return h
}

// URLVerificationEvent is the body Slack posts when an events URL is set.
func (s *Slack) URLVerificationEvent(challenge string) []byte {
	return slackJSON(map[string]any{"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": challenge, "type": "url_verification"})
}

// MessageEvent is the event_callback body of a message posted to a
// channel: m as returned by AddMessage (plain, bot_message or a thread
// reply).
func (s *Slack) MessageEvent(channelID string, m SlackMessage) []byte {
	ev := s.eventMessage(channelID, m)
	ev["channel"] = channelID
	ev["event_ts"] = m.TS
	ev["channel_type"] = s.channelType(channelID)
	return s.eventCallback(ev, m.TS)
}

// MessageChangedEvent is the event_callback body of an edit: edited as
// returned by EditMessage, previousText the text before.
func (s *Slack) MessageChangedEvent(channelID string, edited SlackMessage, previousText string) []byte {
	prev := edited
	prev.Text, prev.EditedTS, prev.EditedBy = previousText, "", ""
	at := edited.EditedTS
	if at == "" {
		at = edited.TS
	}
	ev := map[string]any{
		"type": "message", "subtype": "message_changed", "hidden": true, "channel": channelID,
		"message":          s.eventMessage(channelID, edited),
		"previous_message": s.eventMessage(channelID, prev),
		"ts":               at, "event_ts": at, "channel_type": s.channelType(channelID),
	}
	return s.eventCallback(ev, at)
}

// MessageDeletedEvent is the event_callback body of a deletion of the
// message ts, at the moment at.
func (s *Slack) MessageDeletedEvent(channelID, ts string, at time.Time) []byte {
	now := formatSlackTS(at.Unix(), at.Nanosecond()/1000)
	ev := map[string]any{
		"type": "message", "subtype": "message_deleted", "hidden": true, "channel": channelID,
		"deleted_ts": ts, "ts": now, "event_ts": now, "channel_type": s.channelType(channelID),
		"previous_message": map[string]any{"type": "message", "ts": ts},
	}
	return s.eventCallback(ev, now)
}

// ReactionAddedEvent is an event_callback body of another kind
// (reaction_added), which ingestion does not take from events.
func (s *Slack) ReactionAddedEvent(channelID, ts, user, reaction string) []byte {
	now := s.now()
	at := formatSlackTS(now.Unix(), now.Nanosecond()/1000)
	return s.eventCallback(map[string]any{"type": "reaction_added", "user": user, "reaction": reaction,
		"item": map[string]any{"type": "message", "channel": channelID, "ts": ts}, "event_ts": at}, at)
}

// eventMessage renders a message as events carry it: like history, without
// the thread summary of parents.
func (s *Slack) eventMessage(channelID string, m SlackMessage) map[string]any {
	s.api.mu.Lock()
	w := s.wireMessage(channelID, m)
	s.api.mu.Unlock()
	w.ReplyCount, w.ReplyUsersCount, w.LatestReply, w.ReplyUsers, w.IsLocked, w.Subscribed = 0, 0, "", nil, nil, nil
	if !m.isReply() {
		w.ThreadTS, w.ParentUserID = "", ""
	}
	var out map[string]any
	_ = json.Unmarshal(slackJSON(w), &out)
	return out
}

func (s *Slack) channelType(channelID string) string {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	if ch := s.api.channel(channelID); ch != nil && ch.IsPrivate {
		return "group"
	}
	return "channel"
}

func (s *Slack) eventCallback(ev map[string]any, ts string) []byte {
	t := mustSlackTS(ts)
	return slackJSON(map[string]any{
		"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "team_id": s.ws.ID, "api_app_id": SlackAppID,
		"event": ev, "type": "event_callback", "event_id": "Ev" + randString(10, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"),
		"event_time": t.sec, "event_context": "4-" + randString(40, alnum),
		"authorizations": []map[string]any{{"enterprise_id": nil, "team_id": s.ws.ID, "user_id": SlackBotUserID,
			"is_bot": true, "is_enterprise_install": false}},
		"is_ext_shared_channel": false,
	})
}

func slackJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("fake: " + err.Error())
	}
	return b
}
