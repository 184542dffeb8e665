package fake

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Page sizes of the Slack stand-in's Web API.
const (
	// SlackDefaultPageSize caps every list's limit parameter by default.
	SlackDefaultPageSize = 200
	// SlackNonMarketplacePageSize is what conversations.history and
	// conversations.replies give commercially distributed non-Marketplace
	// apps at most (providers.md).
	SlackNonMarketplacePageSize = 15
)

// slackWebAPI is the Web API state of the Slack stand-in: the workspace data
// and the test controls, under their own lock.
type slackWebAPI struct {
	mu             sync.Mutex
	data           *SlackData
	pageSize       int
	nonMarketplace bool
	calls          map[string]int
	limitLeft      int
	limitAfter     int
	errLeft        int
	errStatus      int
	// threads indexes each channel's messages (see slackThreads); an
	// entry is dropped whenever the channel's slice changes.
	threads map[string]*slackThreads
	// posted records, per channel id, what chat.postMessage stored.
	posted map[string][]SlackMessage
}

// SetData replaces the workspace's channels, users and messages.
func (s *Slack) SetData(d *SlackData) {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	s.api.data = d.Clone()
	s.api.threads = nil
	for id := range s.api.data.Messages {
		sortSlackMessages(s.api.data.Messages[id])
	}
}

// Data returns a copy of the workspace's channels, users and messages.
func (s *Slack) Data() *SlackData {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	return s.api.data.Clone()
}

// SetPageSize caps the limit parameter of conversations.list,
// conversations.history and conversations.replies; n <= 0 restores the
// default (200).
func (s *Slack) SetPageSize(n int) {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	s.api.pageSize = n
}

// SetNonMarketplace turns on the limits of a commercially distributed
// non-Marketplace app: at most 15 messages per conversations.history and
// conversations.replies page.
func (s *Slack) SetNonMarketplace(on bool) {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	s.api.nonMarketplace = on
}

// RateLimitNext makes the next n Web API data calls (everything but
// auth.test and auth.revoke) answer HTTP 429 with Retry-After and
// {"ok":false,"error":"ratelimited"}.
func (s *Slack) RateLimitNext(n, retryAfterSeconds int) {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	s.api.limitLeft, s.api.limitAfter = n, retryAfterSeconds
}

// ErrorNext makes the next n Web API data calls answer the HTTP status
// (5xx: a plain-text body).
func (s *Slack) ErrorNext(n, status int) {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	s.api.errLeft, s.api.errStatus = n, status
}

// Calls counts the Web API requests made to a method ("users.info"),
// refused ones included.
func (s *Slack) Calls(method string) int {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	return s.api.calls[method]
}

// Messages lists a channel's messages, thread replies included, oldest
// first.
func (s *Slack) Messages(channelID string) []SlackMessage {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	ms := s.api.data.Messages[channelID]
	out := make([]SlackMessage, len(ms))
	for i, m := range ms {
		out[i] = m.clone()
	}
	return out
}

// Posted lists the messages chat.postMessage stored in a channel (its id
// or name), oldest first, as they were posted.
func (s *Slack) Posted(channel string) []SlackMessage {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	ref := strings.TrimPrefix(channel, "#")
	for _, ch := range s.api.data.Channels {
		if ch.Name == ref {
			ref = ch.ID
		}
	}
	out := make([]SlackMessage, 0, len(s.api.posted[ref]))
	for _, m := range s.api.posted[ref] {
		out = append(out, m.clone())
	}
	return out
}

// AddMessage posts m to a channel and returns it as stored. An empty TS
// is assigned from the clock (after the channel's newest message); a
// ThreadTS makes it a reply of that parent.
func (s *Slack) AddMessage(channelID string, m SlackMessage) (SlackMessage, error) {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	if s.api.channel(channelID) == nil {
		return SlackMessage{}, fmt.Errorf("fake slack: no channel %s", channelID)
	}
	return s.addLocked(channelID, m)
}

func (s *Slack) addLocked(channelID string, m SlackMessage) (SlackMessage, error) {
	ms := s.api.data.Messages[channelID]
	if m.TS == "" {
		m.TS = s.newTSLocked(channelID)
	} else if _, ok := parseSlackTS(m.TS); !ok {
		return SlackMessage{}, fmt.Errorf("fake slack: bad ts %q", m.TS)
	}
	if findSlackMessage(ms, m.TS) >= 0 {
		return SlackMessage{}, fmt.Errorf("fake slack: ts %s already used in %s", m.TS, channelID)
	}
	if m.ThreadTS == m.TS {
		m.ThreadTS = ""
	}
	if m.ThreadTS != "" {
		if i := findSlackMessage(ms, m.ThreadTS); i < 0 || ms[i].isReply() {
			return SlackMessage{}, fmt.Errorf("fake slack: no thread %s in %s", m.ThreadTS, channelID)
		}
	}
	m = m.clone()
	ms = append(ms, m)
	sortSlackMessages(ms)
	s.api.data.Messages[channelID] = ms
	delete(s.api.threads, channelID)
	return m.clone(), nil
}

// newTSLocked is a ts for a message posted now: the clock's time, or just
// after the channel's newest message when the clock is behind it.
func (s *Slack) newTSLocked(channelID string) string {
	now := s.now()
	t := slackTS{now.Unix(), int64(now.Nanosecond() / 1000)}
	for _, m := range s.api.data.Messages[channelID] {
		if mt := mustSlackTS(m.TS); mt.cmp(t) >= 0 {
			t = mt
			t.micro++
			if t.micro == 1_000_000 {
				t.sec, t.micro = t.sec+1, 0
			}
		}
	}
	return formatSlackTS(t.sec, int(t.micro))
}

// EditMessage changes a message's text as its author would and returns it.
func (s *Slack) EditMessage(channelID, ts, text string) (SlackMessage, error) {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	ms := s.api.data.Messages[channelID]
	i := findSlackMessage(ms, ts)
	if i < 0 {
		return SlackMessage{}, fmt.Errorf("fake slack: no message %s in %s", ts, channelID)
	}
	edited := s.newTSLocked(channelID)
	ms[i].Text, ms[i].EditedTS, ms[i].EditedBy = text, edited, ms[i].User
	return ms[i].clone(), nil
}

// DeleteMessage deletes a message. A thread parent with replies stays as a
// tombstone ("This message was deleted."), as on Slack.
func (s *Slack) DeleteMessage(channelID, ts string) error {
	s.api.mu.Lock()
	defer s.api.mu.Unlock()
	ms := s.api.data.Messages[channelID]
	i := findSlackMessage(ms, ts)
	if i < 0 {
		return fmt.Errorf("fake slack: no message %s in %s", ts, channelID)
	}
	delete(s.api.threads, channelID)
	if !ms[i].isReply() && slices.ContainsFunc(ms, func(r SlackMessage) bool { return r.ThreadTS == ts && r.TS != ts }) {
		ms[i] = SlackMessage{TS: ts, Subtype: "tombstone", User: "USLACKBOT", Text: "This message was deleted."}
		return nil
	}
	s.api.data.Messages[channelID] = slices.Delete(ms, i, i+1)
	return nil
}

// IssueToken grants an installation without the browser flow and returns
// its bot access token; with no scopes it grants every scope PM Assistant
// asks for.
func (s *Slack) IssueToken(scopes ...string) string {
	if len(scopes) == 0 {
		scopes = []string{"channels:read", "channels:history", "groups:read", "groups:history",
			"users:read", "users:read.email", "reactions:read", "chat:write"}
	}
	code := s.issueCode(s.opts.ClientID, "", scopes, "", "")
	ts, gerr := s.exchange(code, s.opts.ClientID, "", "")
	if gerr != errNone {
		panic("fake slack: IssueToken: exchange refused")
	}
	return ts.AccessToken
}

func findSlackMessage(ms []SlackMessage, ts string) int {
	return slices.IndexFunc(ms, func(m SlackMessage) bool { return m.TS == ts })
}

// slackThreads indexes a channel's messages: the position of each ts and
// the replies of each parent, oldest first. Without it, serving a page of
// history rescans the whole channel for every message in it, which makes
// reading a 100,000-message workspace quadratic (the benchmark harness).
type slackThreads struct {
	pos     map[string]int   // ts → index in the channel's messages
	replies map[string][]int // parent ts → indexes of its replies
	// history are the indexes of the messages conversations.history lists
	// (top-level messages and replies also sent to the channel), oldest
	// first as the channel's messages are kept, and historyTS their ts.
	history   []int
	historyTS []slackTS
}

// threadsOf returns the index of a channel's messages, built on first use
// after a change.
func (a *slackWebAPI) threadsOf(channelID string) *slackThreads {
	if t := a.threads[channelID]; t != nil {
		return t
	}
	ms := a.data.Messages[channelID]
	t := &slackThreads{pos: make(map[string]int, len(ms)), replies: map[string][]int{}}
	for i, m := range ms {
		t.pos[m.TS] = i
		if m.isReply() {
			t.replies[m.ThreadTS] = append(t.replies[m.ThreadTS], i)
		}
		if !m.isReply() || m.Subtype == "thread_broadcast" {
			t.history = append(t.history, i)
			t.historyTS = append(t.historyTS, mustSlackTS(m.TS))
		}
	}
	if a.threads == nil {
		a.threads = map[string]*slackThreads{}
	}
	a.threads[channelID] = t
	return t
}

func (a *slackWebAPI) channel(id string) *SlackChannel {
	for i := range a.data.Channels {
		if a.data.Channels[i].ID == id {
			return &a.data.Channels[i]
		}
	}
	return nil
}

func (a *slackWebAPI) user(id string) *SlackUser {
	for i := range a.data.Users {
		if a.data.Users[i].ID == id {
			return &a.data.Users[i]
		}
	}
	return nil
}

func (a *slackWebAPI) limit(raw string, def, historyCap int) int {
	n, err := strconv.Atoi(raw)
	if err != nil || n <= 0 {
		n = def
	}
	n = min(n, 1000)
	capN := a.pageSize
	if capN <= 0 {
		capN = SlackDefaultPageSize
	}
	if historyCap > 0 && a.nonMarketplace {
		capN = min(capN, historyCap)
	}
	return min(n, capN)
}

// slackCall is one authenticated Web API request.
type slackCall struct {
	params url.Values
	scopes []string
}

func (c *slackCall) has(scope string) bool { return slices.Contains(c.scopes, scope) }

// webAPI wraps a data method: it counts the call, applies injected
// failures, reads the parameters (query, form or JSON body) and checks the
// Bearer token.
func (s *Slack) webAPI(method string, h func(w http.ResponseWriter, c *slackCall)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.api.mu.Lock()
		s.api.calls[method]++
		limited, after, failStatus := false, 0, 0
		switch {
		case s.api.limitLeft > 0:
			s.api.limitLeft--
			limited, after = true, s.api.limitAfter
		case s.api.errLeft > 0:
			s.api.errLeft--
			failStatus = s.api.errStatus
		}
		s.api.mu.Unlock()
		if limited {
			w.Header().Set("Retry-After", strconv.Itoa(after))
			slackError(w, http.StatusTooManyRequests, "ratelimited")
			return
		}
		if failStatus != 0 {
			writeFailure(w, failStatus, func(w http.ResponseWriter, status int) { slackError(w, status, "internal_error") })
			return
		}
		params, err := slackParams(r)
		if err != nil {
			slackError(w, http.StatusOK, "invalid_form_data")
			return
		}
		info, code := s.authenticate(r)
		if code != "" {
			slackError(w, http.StatusOK, code)
			return
		}
		s.api.mu.Lock()
		defer s.api.mu.Unlock()
		h(w, &slackCall{params: params, scopes: info.Scopes})
	}
}

// slackParams reads the arguments the way Slack does: the query string,
// a form body, or (for write methods) a JSON object.
func slackParams(r *http.Request) (url.Values, error) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if r.Method == http.MethodPost && ct == "application/json" {
		var body map[string]any
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
			return nil, err
		}
		v := r.URL.Query()
		for k, x := range body {
			switch x := x.(type) {
			case string:
				v.Set(k, x)
			case float64, bool:
				v.Set(k, fmt.Sprint(x))
			default:
				raw, _ := json.Marshal(x)
				v.Set(k, string(raw))
			}
		}
		return v, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	return r.Form, nil
}

func slackMissingScope(w http.ResponseWriter, c *slackCall, needed string) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "missing_scope",
		"needed": needed, "provided": strings.Join(c.scopes, ",")})
}

func (s *Slack) apiRoutes() {
	for method, h := range map[string]func(http.ResponseWriter, *slackCall){
		"conversations.list":    s.conversationsList,
		"conversations.history": s.conversationsHistory,
		"conversations.replies": s.conversationsReplies,
		"users.info":            s.usersInfo,
		"chat.postMessage":      s.chatPostMessage,
	} {
		hf := s.webAPI(method, h)
		s.mux.HandleFunc("GET /api/"+method, hf)
		s.mux.HandleFunc("POST /api/"+method, hf)
	}
}

// Cursors are opaque to clients, as on Slack: base64 of a position.
func encodeSlackCursor(kind, pos string) string {
	return base64.StdEncoding.EncodeToString([]byte(kind + ":" + pos))
}

func decodeSlackCursor(kind, cursor string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(cursor)
	if err != nil {
		return "", err
	}
	pos, ok := strings.CutPrefix(string(raw), kind+":")
	if !ok || pos == "" {
		return "", errors.New("bad cursor")
	}
	return pos, nil
}

type slackMeta struct {
	NextCursor string `json:"next_cursor"`
}

type slackChannelJSON struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	NameNormalized string         `json:"name_normalized"`
	IsChannel      bool           `json:"is_channel"`
	IsGroup        bool           `json:"is_group"`
	IsIM           bool           `json:"is_im"`
	IsMpIM         bool           `json:"is_mpim"`
	IsPrivate      bool           `json:"is_private"`
	IsArchived     bool           `json:"is_archived"`
	IsGeneral      bool           `json:"is_general"`
	IsMember       bool           `json:"is_member"`
	Created        int64          `json:"created"`
	Topic          map[string]any `json:"topic"`
	Purpose        map[string]any `json:"purpose"`
}

func (s *Slack) conversationsList(w http.ResponseWriter, c *slackCall) {
	types := c.params.Get("types")
	if types == "" {
		types = "public_channel"
	}
	var public, private bool
	for _, t := range strings.Split(types, ",") {
		switch strings.TrimSpace(t) {
		case "public_channel":
			public = true
		case "private_channel":
			private = true
		case "im", "mpim":
		default:
			slackError(w, http.StatusOK, "invalid_types")
			return
		}
	}
	if public && !c.has("channels:read") {
		slackMissingScope(w, c, "channels:read")
		return
	}
	if private && !c.has("groups:read") {
		slackMissingScope(w, c, "groups:read")
		return
	}
	excludeArchived := slackTruthy(c.params.Get("exclude_archived"))
	var all []SlackChannel
	for _, ch := range s.api.data.Channels {
		switch {
		case excludeArchived && ch.IsArchived:
		case ch.IsPrivate && (!private || !ch.IsMember): // a bot sees only its own private channels
		case !ch.IsPrivate && !public:
		default:
			all = append(all, ch)
		}
	}
	start := 0
	if cur := c.params.Get("cursor"); cur != "" {
		id, err := decodeSlackCursor("next_id", cur)
		start = slices.IndexFunc(all, func(ch SlackChannel) bool { return ch.ID == id })
		if err != nil || start < 0 {
			slackError(w, http.StatusOK, "invalid_cursor")
			return
		}
	}
	n := s.api.limit(c.params.Get("limit"), 100, 0)
	end := min(start+n, len(all))
	out := make([]slackChannelJSON, 0, end-start)
	for _, ch := range all[start:end] {
		out = append(out, slackChannelJSON{
			ID: ch.ID, Name: ch.Name, NameNormalized: ch.Name, IsChannel: !ch.IsPrivate, IsGroup: ch.IsPrivate,
			IsPrivate: ch.IsPrivate, IsArchived: ch.IsArchived, IsGeneral: false, IsMember: ch.IsMember, Created: ch.Created,
			Topic:   map[string]any{"value": ch.Topic, "creator": "", "last_set": 0},
			Purpose: map[string]any{"value": "", "creator": "", "last_set": 0},
		})
	}
	meta := slackMeta{}
	if end < len(all) {
		meta.NextCursor = encodeSlackCursor("next_id", all[end].ID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channels": out, "response_metadata": meta})
}

// readableChannel checks that the bot can read a channel's messages and
// answers Slack's error when not.
func (s *Slack) readableChannel(w http.ResponseWriter, c *slackCall) *SlackChannel {
	id := c.params.Get("channel")
	if id == "" {
		slackError(w, http.StatusOK, "channel_not_found")
		return nil
	}
	ch := s.api.channel(id)
	if ch == nil || (ch.IsPrivate && !ch.IsMember) {
		slackError(w, http.StatusOK, "channel_not_found")
		return nil
	}
	scope := "channels:history"
	if ch.IsPrivate {
		scope = "groups:history"
	}
	if !c.has(scope) {
		slackMissingScope(w, c, scope)
		return nil
	}
	if !ch.IsMember {
		slackError(w, http.StatusOK, "not_in_channel")
		return nil
	}
	return ch
}

type slackReactionJSON struct {
	Name  string   `json:"name"`
	Users []string `json:"users"`
	Count int      `json:"count"`
}

type slackMessageJSON struct {
	Type            string              `json:"type"`
	Subtype         string              `json:"subtype,omitempty"`
	User            string              `json:"user,omitempty"`
	BotID           string              `json:"bot_id,omitempty"`
	AppID           string              `json:"app_id,omitempty"`
	Username        string              `json:"username,omitempty"`
	BotProfile      map[string]any      `json:"bot_profile,omitempty"`
	Text            string              `json:"text"`
	TS              string              `json:"ts"`
	Team            string              `json:"team,omitempty"`
	ThreadTS        string              `json:"thread_ts,omitempty"`
	ParentUserID    string              `json:"parent_user_id,omitempty"`
	ReplyCount      int                 `json:"reply_count,omitempty"`
	ReplyUsersCount int                 `json:"reply_users_count,omitempty"`
	LatestReply     string              `json:"latest_reply,omitempty"`
	ReplyUsers      []string            `json:"reply_users,omitempty"`
	IsLocked        *bool               `json:"is_locked,omitempty"`
	Subscribed      *bool               `json:"subscribed,omitempty"`
	Edited          map[string]string   `json:"edited,omitempty"`
	Reactions       []slackReactionJSON `json:"reactions,omitempty"`
	Hidden          bool                `json:"hidden,omitempty"`
}

// wireMessage renders a stored message as Slack serves it in a channel.
func (s *Slack) wireMessage(channelID string, m SlackMessage) slackMessageJSON {
	out := slackMessageJSON{Type: "message", Subtype: m.Subtype, User: m.User, BotID: m.BotID, Username: m.Username,
		Text: m.Text, TS: m.TS, Team: s.ws.ID}
	if m.BotID != "" {
		name := m.BotName
		if name == "" {
			name = m.Username
		}
		out.BotProfile = map[string]any{"id": m.BotID, "name": name, "deleted": false, "team_id": s.ws.ID}
		if m.BotID == SlackBotID {
			out.AppID = SlackAppID
			out.BotProfile["app_id"] = SlackAppID
		}
		if m.User == "" {
			out.Team = ""
		}
	}
	if m.EditedTS != "" {
		out.Edited = map[string]string{"user": m.EditedBy, "ts": m.EditedTS}
	}
	for _, r := range m.Reactions {
		out.Reactions = append(out.Reactions, slackReactionJSON{Name: r.Name, Users: slices.Clone(r.Users), Count: len(r.Users)})
	}
	ms := s.api.data.Messages[channelID]
	threads := s.api.threadsOf(channelID)
	if m.isReply() {
		out.ThreadTS = m.ThreadTS
		if i, ok := threads.pos[m.ThreadTS]; ok {
			out.ParentUserID = ms[i].User
		}
		return out
	}
	var users []string
	for _, i := range threads.replies[m.TS] {
		if r := ms[i]; r.ThreadTS == m.TS && r.TS != m.TS {
			out.ReplyCount++
			out.LatestReply = r.TS
			if r.User != "" && !slices.Contains(users, r.User) {
				users = append(users, r.User)
			}
		}
	}
	if out.ReplyCount > 0 {
		f := false
		out.ThreadTS, out.ReplyUsers, out.ReplyUsersCount = m.TS, users, len(users)
		out.IsLocked, out.Subscribed = &f, &f
	}
	return out
}

// slackTSBounds reads oldest, latest and inclusive; ok false has answered the
// error.
func slackTSBounds(w http.ResponseWriter, p url.Values) (in func(slackTS) bool, ok bool) {
	var oldest, latest *slackTS
	if v := p.Get("oldest"); v != "" && v != "0" {
		t, good := parseSlackTS(v)
		if !good {
			slackError(w, http.StatusOK, "invalid_ts_oldest")
			return nil, false
		}
		oldest = &t
	}
	if v := p.Get("latest"); v != "" {
		t, good := parseSlackTS(v)
		if !good {
			slackError(w, http.StatusOK, "invalid_ts_latest")
			return nil, false
		}
		latest = &t
	}
	inclusive := slackTruthy(p.Get("inclusive"))
	return func(t slackTS) bool {
		if oldest != nil {
			if c := t.cmp(*oldest); c < 0 || (c == 0 && !inclusive) {
				return false
			}
		}
		if latest != nil {
			if c := t.cmp(*latest); c > 0 || (c == 0 && !inclusive) {
				return false
			}
		}
		return true
	}, true
}

func slackTruthy(v string) bool { return v == "true" || v == "1" }

func (s *Slack) conversationsHistory(w http.ResponseWriter, c *slackCall) {
	ch := s.readableChannel(w, c)
	if ch == nil {
		return
	}
	in, ok := slackTSBounds(w, c.params)
	if !ok {
		return
	}
	// Channel history: top-level messages, thread parents and replies
	// also sent to the channel; newest first. The page is read from the
	// channel's index, from the cursor on: serving a channel page by page
	// costs its size once, not once per page.
	ms := s.api.data.Messages[ch.ID]
	threads := s.api.threadsOf(ch.ID)
	hist, histTS := threads.history, threads.historyTS
	next := len(hist) - 1 // the position in hist of the next message to look at, newest first
	if cur := c.params.Get("cursor"); cur != "" {
		pos, err := decodeSlackCursor("next_ts", cur)
		at, good := parseSlackTS(pos)
		if err != nil || !good {
			slackError(w, http.StatusOK, "invalid_cursor")
			return
		}
		// The cursor is a position, not an index: messages posted or
		// deleted meanwhile do not shift it. The page starts at the newest
		// message at or before it (messages are kept in ts order).
		next = sort.Search(len(histTS), func(i int) bool { return histTS[i].cmp(at) > 0 }) - 1
	}
	n := s.api.limit(c.params.Get("limit"), 100, SlackNonMarketplacePageSize)
	out := make([]slackMessageJSON, 0, n)
	for ; next >= 0 && len(out) < n; next-- {
		if in(histTS[next]) {
			out = append(out, s.wireMessage(ch.ID, ms[hist[next]]))
		}
	}
	for next >= 0 && !in(histTS[next]) {
		next--
	}
	res := map[string]any{"ok": true, "messages": out, "has_more": next >= 0, "pin_count": 0,
		"channel_actions_ts": nil, "channel_actions_count": 0}
	if next >= 0 {
		res["response_metadata"] = slackMeta{NextCursor: encodeSlackCursor("next_ts", ms[hist[next]].TS)}
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Slack) conversationsReplies(w http.ResponseWriter, c *slackCall) {
	ch := s.readableChannel(w, c)
	if ch == nil {
		return
	}
	ts := c.params.Get("ts")
	ms := s.api.data.Messages[ch.ID]
	threads := s.api.threadsOf(ch.ID)
	pi, found := threads.pos[ts]
	if ts == "" || !found {
		slackError(w, http.StatusOK, "thread_not_found")
		return
	}
	parent := ms[pi]
	if parent.isReply() { // Slack answers the thread of a reply's ts too
		parent = ms[threads.pos[parent.ThreadTS]]
	}
	in, ok := slackTSBounds(w, c.params)
	if !ok {
		return
	}
	var replies []SlackMessage
	for _, i := range threads.replies[parent.TS] {
		if m := ms[i]; m.ThreadTS == parent.TS && m.TS != parent.TS && in(mustSlackTS(m.TS)) {
			replies = append(replies, m)
		}
	}
	start, first := 0, true
	if cur := c.params.Get("cursor"); cur != "" {
		pos, err := decodeSlackCursor("next_ts", cur)
		at, good := parseSlackTS(pos)
		if err != nil || !good {
			slackError(w, http.StatusOK, "invalid_cursor")
			return
		}
		first = false
		start = len(replies)
		for i, m := range replies {
			if mustSlackTS(m.TS).cmp(at) >= 0 {
				start = i
				break
			}
		}
	}
	n := s.api.limit(c.params.Get("limit"), 1000, SlackNonMarketplacePageSize)
	var out []slackMessageJSON
	if first { // the parent leads the first page and counts against the limit
		out = append(out, s.wireMessage(ch.ID, parent))
		n = max(n-1, 1)
	}
	end := min(start+n, len(replies))
	for _, m := range replies[start:end] {
		out = append(out, s.wireMessage(ch.ID, m))
	}
	res := map[string]any{"ok": true, "messages": out, "has_more": end < len(replies)}
	if end < len(replies) {
		res["response_metadata"] = slackMeta{NextCursor: encodeSlackCursor("next_ts", replies[end].TS)}
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Slack) usersInfo(w http.ResponseWriter, c *slackCall) {
	if !c.has("users:read") {
		slackMissingScope(w, c, "users:read")
		return
	}
	u := s.api.user(c.params.Get("user"))
	if u == nil {
		slackError(w, http.StatusOK, "user_not_found")
		return
	}
	profile := map[string]any{
		"display_name": u.DisplayName, "display_name_normalized": u.DisplayName,
		"real_name": u.RealName, "real_name_normalized": u.RealName, "team": s.ws.ID,
	}
	if c.has("users:read.email") && u.Email != "" {
		profile["email"] = u.Email
	}
	if u.IsBot {
		profile["bot_id"] = SlackBotID
		profile["api_app_id"] = SlackAppID
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "user": map[string]any{
		"id": u.ID, "team_id": s.ws.ID, "name": u.Name, "deleted": false, "real_name": u.RealName,
		"tz": u.TZ, "is_bot": u.IsBot, "is_app_user": false, "is_admin": u.ID == SlackAuthedUser,
		"profile": profile,
	}})
}

func (s *Slack) chatPostMessage(w http.ResponseWriter, c *slackCall) {
	if !c.has("chat:write") {
		slackMissingScope(w, c, "chat:write")
		return
	}
	ref := strings.TrimPrefix(c.params.Get("channel"), "#")
	var ch *SlackChannel
	for i := range s.api.data.Channels {
		if x := &s.api.data.Channels[i]; ref != "" && (x.ID == ref || x.Name == ref) {
			ch = x
		}
	}
	switch {
	case ch == nil || (ch.IsPrivate && !ch.IsMember):
		slackError(w, http.StatusOK, "channel_not_found")
		return
	case ch.IsArchived:
		slackError(w, http.StatusOK, "is_archived")
		return
	case !ch.IsMember:
		slackError(w, http.StatusOK, "not_in_channel")
		return
	}
	text := c.params.Get("text")
	if text == "" && c.params.Get("blocks") == "" {
		slackError(w, http.StatusOK, "no_text")
		return
	}
	m, err := s.addLocked(ch.ID, SlackMessage{User: SlackBotUserID, BotID: SlackBotID, BotName: "PM Assistant",
		Text: text, ThreadTS: c.params.Get("thread_ts")})
	if err != nil {
		slackError(w, http.StatusOK, "thread_not_found")
		return
	}
	if s.api.posted == nil {
		s.api.posted = map[string][]SlackMessage{}
	}
	s.api.posted[ch.ID] = append(s.api.posted[ch.ID], m.clone())
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": ch.ID, "ts": m.TS, "message": s.wireMessage(ch.ID, m)})
}
