package slack

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

// MaxClockSkew is how far an Events API request's timestamp may be from
// now, either way, before it is refused as a replay.
const MaxClockSkew = 5 * time.Minute

// Verify checks an Events API request: X-Slack-Signature must be
// "v0=" + hex(HMAC-SHA256(secret, "v0:{X-Slack-Request-Timestamp}:{body}")),
// compared in constant time, and the timestamp within MaxClockSkew of now.
func (c *Client) Verify(header http.Header, body []byte, secret string, now time.Time) error {
	if secret == "" {
		return pmassist.Errorf(pmassist.EUNAUTHORIZED, "no Slack signing secret is configured")
	}
	stamp := header.Get("X-Slack-Request-Timestamp")
	sec, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil || sec <= 0 {
		return pmassist.Errorf(pmassist.EUNAUTHORIZED, "missing or malformed X-Slack-Request-Timestamp")
	}
	if skew := now.Unix() - sec; skew > int64(MaxClockSkew/time.Second) || -skew > int64(MaxClockSkew/time.Second) {
		return pmassist.Errorf(pmassist.EUNAUTHORIZED, "stale Slack request: its timestamp is more than %s off", MaxClockSkew)
	}
	sig, ok := strings.CutPrefix(header.Get("X-Slack-Signature"), "v0=")
	got, err := hex.DecodeString(sig)
	if !ok || err != nil {
		return pmassist.Errorf(pmassist.EUNAUTHORIZED, "missing or malformed X-Slack-Signature")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":"))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return pmassist.Errorf(pmassist.EUNAUTHORIZED, "the Slack signature does not match")
	}
	return nil
}

// event is the inner event of an event_callback: a message event carries
// the message's own fields beside channel, and edits and deletions carry
// the message or deleted_ts.
type event struct {
	message
	Channel   string   `json:"channel"`
	DeletedTS string   `json:"deleted_ts"`
	Message   *message `json:"message"`
	Previous  *message `json:"previous_message"`
}

// Parse converts a verified Events API body. url_verification yields the
// challenge; message events (plain, bot, thread replies, edits,
// deletions) yield one item each, without channel name, author name or
// URL (the event does not know them); other events yield an empty
// delivery carrying the event id.
func (c *Client) Parse(_ http.Header, body []byte) (*pmassist.WebhookDelivery, error) {
	var env struct {
		Type      string          `json:"type"`
		Challenge string          `json:"challenge"`
		TeamID    string          `json:"team_id"`
		EventID   string          `json:"event_id"`
		Event     json.RawMessage `json:"event"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, pmassist.Errorf(pmassist.EINVALID, "the Slack event is not JSON")
	}
	switch env.Type {
	case "url_verification":
		return &pmassist.WebhookDelivery{Challenge: env.Challenge}, nil
	case "event_callback":
	default:
		return &pmassist.WebhookDelivery{}, nil
	}
	d := &pmassist.WebhookDelivery{ID: env.EventID, WorkspaceID: env.TeamID}
	var ev event
	if err := json.Unmarshal(env.Event, &ev); err != nil {
		return nil, pmassist.Errorf(pmassist.EINVALID, "the Slack event is malformed")
	}
	if ev.Type != "message" || ev.Channel == "" {
		return d, nil
	}
	var it *pmassist.Item
	var err error
	switch ev.Subtype {
	case "message_changed":
		if ev.Message == nil || !ev.Message.ingested() {
			return d, nil
		}
		it, err = ev.Message.item(ev.Channel, "", "", eventAuthor(ev.Message))
	case "message_deleted":
		ts := ev.DeletedTS
		if ts == "" && ev.Previous != nil {
			ts = ev.Previous.TS
		}
		it, err = deletedItem(ev.Channel, ts, ev.TS)
	default:
		if !ev.ingested() {
			return d, nil
		}
		it, err = ev.item(ev.Channel, "", "", eventAuthor(&ev.message))
	}
	if err != nil {
		return nil, pmassist.Errorf(pmassist.EINVALID, "the Slack event has a malformed ts")
	}
	d.Items = []*pmassist.Item{it}
	return d, nil
}

// eventAuthor is what an event tells of the author: the user id, or the
// bot.
func eventAuthor(m *message) pmassist.Person {
	if m.isBot() {
		return m.botPerson()
	}
	return pmassist.Person{ExternalID: m.User}
}

// deletedItem marks the message ts of a channel deleted at the moment
// deletedAt (the event's own ts).
func deletedItem(channelID, ts, deletedAt string) (*pmassist.Item, error) {
	created, err := tsTime(ts)
	if err != nil {
		return nil, err
	}
	it := &pmassist.Item{Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: channelID + ":" + ts,
		ChannelID: channelID, CreatedAt: created, UpdatedAt: created, Deleted: true}
	if t, err := tsTime(deletedAt); err == nil {
		it.UpdatedAt = t
	}
	return it, nil
}
