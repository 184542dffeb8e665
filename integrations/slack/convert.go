package slack

import (
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

// message is a Slack message as conversations.history, .replies and
// message events carry it.
type message struct {
	Type       string `json:"type"`
	Subtype    string `json:"subtype"`
	User       string `json:"user"`
	BotID      string `json:"bot_id"`
	Username   string `json:"username"`
	BotProfile *struct {
		Name string `json:"name"`
	} `json:"bot_profile"`
	Text       string     `json:"text"`
	TS         string     `json:"ts"`
	ThreadTS   string     `json:"thread_ts"`
	ReplyCount int        `json:"reply_count"`
	Reactions  []reaction `json:"reactions"`
	Edited     *struct {
		User string `json:"user"`
		TS   string `json:"ts"`
	} `json:"edited"`
}

type reaction struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
	Count int      `json:"count"`
}

// ingested lists the message subtypes that are conversation; the others
// (joins, topic changes, pins, tombstones…) are channel housekeeping.
var ingested = map[string]bool{
	"": true, "bot_message": true, "thread_broadcast": true, "me_message": true, "file_share": true,
}

func (m *message) ingested() bool { return ingested[m.Subtype] }

// isBot tells bot messages apart: bot_message (integrations, webhooks) or
// any message an app's bot user posted.
func (m *message) isBot() bool { return m.Subtype == "bot_message" || m.BotID != "" }

// isReply reports whether m is a reply inside a thread (not its parent).
func (m *message) isReply() bool { return m.ThreadTS != "" && m.ThreadTS != m.TS }

// botPerson names a bot message's author; bots are never people.
func (m *message) botPerson() pmassist.Person {
	name := m.Username
	if name == "" && m.BotProfile != nil {
		name = m.BotProfile.Name
	}
	if name == "" {
		name = "bot"
	}
	id := m.BotID
	if id == "" {
		id = m.User
	}
	return pmassist.Person{Name: name, ExternalID: id, Bot: true}
}

// item converts a message of a channel. workspaceURL ("https://acme.slack.com/")
// builds the permalink; empty leaves URL empty.
func (m *message) item(channelID, channelName, workspaceURL string, author pmassist.Person) (*pmassist.Item, error) {
	created, err := tsTime(m.TS)
	if err != nil {
		return nil, err
	}
	it := &pmassist.Item{
		Type:       pmassist.ItemMessage,
		Service:    pmassist.ServiceSlack,
		ExternalID: channelID + ":" + m.TS,
		Text:       m.Text,
		Author:     author,
		Channel:    channelName,
		ChannelID:  channelID,
		ThreadID:   m.ThreadTS,
		CreatedAt:  created,
		UpdatedAt:  created,
	}
	if m.Edited != nil && m.Edited.TS != "" {
		if t, err := tsTime(m.Edited.TS); err == nil {
			it.UpdatedAt = t
		}
	}
	for _, r := range m.Reactions {
		count := r.Count
		if count == 0 {
			count = len(r.Users)
		}
		it.Reactions = append(it.Reactions, pmassist.Reaction{Name: r.Name, Count: count, Users: r.Users})
	}
	if workspaceURL != "" {
		it.URL = permalink(workspaceURL, channelID, m.TS, m.ThreadTS)
	}
	return it, nil
}

// permalink is {url}archives/{channel}/p{ts without the dot}, plus
// ?thread_ts={thread_ts}&cid={channel} for thread replies.
func permalink(workspaceURL, channelID, ts, threadTS string) string {
	if !strings.HasSuffix(workspaceURL, "/") {
		workspaceURL += "/"
	}
	u := workspaceURL + "archives/" + channelID + "/p" + strings.Replace(ts, ".", "", 1)
	if threadTS != "" && threadTS != ts {
		u += "?thread_ts=" + threadTS + "&cid=" + channelID
	}
	return u
}

// ts is a parsed Slack timestamp: "1512085950.000216" is the message id in
// its channel and a moment with microseconds. Compared as numbers, never as
// strings ("999.1" < "1000.0").
type ts struct{ sec, micro int64 }

// maxTSSec is the last second of year 9999: a later moment cannot be
// stored (JSON times have four-digit years).
const maxTSSec = 253402300799

func parseTS(s string) (ts, bool) {
	secPart, frac, _ := strings.Cut(s, ".")
	if secPart == "" || len(frac) > 6 {
		return ts{}, false
	}
	sec, err := strconv.ParseInt(secPart, 10, 64)
	if err != nil || sec < 0 || sec > maxTSSec {
		return ts{}, false
	}
	var micro int64
	if frac != "" {
		micro, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		if err != nil || micro < 0 {
			return ts{}, false
		}
	}
	return ts{sec, micro}, true
}

func (a ts) after(b ts) bool {
	return a.sec > b.sec || (a.sec == b.sec && a.micro > b.micro)
}

// newerTS returns the greater of two ts strings; an unparsable one loses.
func newerTS(a, b string) string {
	ta, okA := parseTS(a)
	tb, okB := parseTS(b)
	switch {
	case !okB:
		return a
	case !okA:
		return b
	case tb.after(ta):
		return b
	}
	return a
}

type badTS string

func (e badTS) Error() string { return "slack: malformed ts " + strconv.Quote(string(e)) }

func tsTime(s string) (time.Time, error) {
	t, ok := parseTS(s)
	if !ok {
		return time.Time{}, badTS(s)
	}
	return time.Unix(t.sec, t.micro*1000).UTC(), nil
}
