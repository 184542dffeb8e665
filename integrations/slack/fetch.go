package slack

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/pmassist/pmassist"
)

// Fetch ingests a connection's channels: the configured ones
// (Config.SlackChannels, ids or names, private channels the bot is in
// included), else every public channel the bot is a member of. Each
// channel is read from its watermark (resource "channel:{id}", the newest
// top-level ts ingested) to the end; one page is emitted per history page
// with the replies of its threads, and the channel's last page carries the
// new watermark. A configured channel the bot cannot read is skipped with a
// warning.
//
// Replies are fetched for the threads whose parent is in a page, so a
// reply to a thread older than the watermark arrives through the Events
// API, not through a run.
func (c *Client) Fetch(ctx context.Context, req pmassist.FetchRequest) error {
	if req.Connection == nil || req.Emit == nil || req.Watermark == nil {
		return errors.New("slack: incomplete fetch request")
	}
	r := &run{c: c, req: req, connID: req.Connection.ID, users: map[string]pmassist.Person{}}
	r.log = c.logger.With("connection_id", r.connID)
	var auth struct {
		URL string `json:"url"`
	}
	if err := c.call(ctx, r.connID, "auth.test", url.Values{}, &auth); err != nil {
		return err
	}
	r.workspaceURL = auth.URL
	channels, err := r.channels(ctx)
	if err != nil {
		return err
	}
	for _, ch := range channels {
		err := r.channel(ctx, ch)
		if isCode(err, "not_in_channel", "channel_not_found") {
			r.log.Warn("slack: skipping a channel the app cannot read; invite the app to it or remove it from the settings",
				"channel_id", ch.ID, "channel", ch.Name, "error", err)
			continue
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// run is one Fetch: its request, the workspace URL and the users resolved
// so far.
type run struct {
	c            *Client
	req          pmassist.FetchRequest
	connID       string
	log          *slog.Logger
	workspaceURL string
	users        map[string]pmassist.Person
}

type channel struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	IsMember   bool   `json:"is_member"`
	IsPrivate  bool   `json:"is_private"`
	IsArchived bool   `json:"is_archived"`
}

type cursorMeta struct {
	NextCursor string `json:"next_cursor"`
}

// channels resolves the channels to ingest.
func (r *run) channels(ctx context.Context) ([]channel, error) {
	all, err := r.list(ctx, "public_channel,private_channel")
	if isCode(err, "missing_scope") {
		// Installed without groups:read: public channels still work.
		r.log.Warn("slack: cannot list private channels (missing groups:read); reading public channels only")
		all, err = r.list(ctx, "public_channel")
	}
	if err != nil {
		return nil, err
	}
	var out []channel
	refs := r.req.Config.SlackChannels
	if len(refs) == 0 {
		for _, ch := range all {
			if ch.IsMember && !ch.IsPrivate && !ch.IsArchived {
				out = append(out, ch)
			}
		}
		return out, nil
	}
	taken := map[string]bool{}
	for _, ref := range refs {
		ref = strings.TrimPrefix(strings.TrimSpace(ref), "#")
		ch, ok := findChannel(all, ref)
		if !ok {
			r.log.Warn("slack: a configured channel does not exist or the app cannot see it", "channel", ref)
			continue
		}
		if !taken[ch.ID] {
			taken[ch.ID] = true
			out = append(out, ch)
		}
	}
	return out, nil
}

func findChannel(all []channel, ref string) (channel, bool) {
	for _, ch := range all {
		if ch.ID == ref {
			return ch, true
		}
	}
	for _, ch := range all {
		if strings.EqualFold(ch.Name, ref) {
			return ch, true
		}
	}
	return channel{}, false
}

// list pages through conversations.list (archived channels excluded).
func (r *run) list(ctx context.Context, types string) ([]channel, error) {
	var all []channel
	cursor := ""
	for {
		params := url.Values{"types": {types}, "exclude_archived": {"true"}, "limit": {pageLimit}}
		if cursor != "" {
			params.Set("cursor", cursor)
		}
		var page struct {
			Channels []channel  `json:"channels"`
			Meta     cursorMeta `json:"response_metadata"`
		}
		if err := r.c.call(ctx, r.connID, "conversations.list", params, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Channels...)
		next := page.Meta.NextCursor
		if next == "" {
			return all, nil
		}
		if next == cursor {
			return nil, errors.New("slack conversations.list: the cursor does not advance")
		}
		cursor = next
	}
}

type messagesPage struct {
	Messages []message  `json:"messages"`
	HasMore  bool       `json:"has_more"`
	Meta     cursorMeta `json:"response_metadata"`
}

// channel ingests one channel from its watermark.
func (r *run) channel(ctx context.Context, ch channel) error {
	resource := "channel:" + ch.ID
	wm, err := r.req.Watermark(ctx, resource)
	if err != nil {
		return err
	}
	oldest := wm.Value
	if _, ok := parseTS(oldest); oldest != "" && !ok {
		r.log.Warn("slack: ignoring a malformed watermark; reading the channel from the start", "channel_id", ch.ID)
		oldest = ""
	}
	newest := oldest
	seen := map[string]bool{}
	cursor := ""
	for {
		params := url.Values{"channel": {ch.ID}, "limit": {pageLimit}}
		if oldest != "" {
			params.Set("oldest", oldest)
			params.Set("inclusive", "false")
		}
		if cursor != "" {
			params.Set("cursor", cursor)
		}
		var page messagesPage
		if err := r.c.pace(ctx, r.connID); err != nil {
			return err
		}
		if err := r.c.call(ctx, r.connID, "conversations.history", params, &page); err != nil {
			return err
		}
		var items []*pmassist.Item
		for i := range page.Messages {
			m := &page.Messages[i]
			newest = newerTS(newest, m.TS)
			if items, err = r.add(ctx, items, seen, ch, m); err != nil {
				return err
			}
			if m.ReplyCount > 0 && !m.isReply() {
				if items, err = r.replies(ctx, items, seen, ch, m.TS); err != nil {
					return err
				}
			}
		}
		next := page.Meta.NextCursor
		if next != "" && next == cursor {
			return fmt.Errorf("slack conversations.history: the cursor does not advance in %s", ch.ID)
		}
		if next == "" && page.HasMore {
			r.log.Warn("slack: history says there is more but gives no cursor; the next run continues", "channel_id", ch.ID)
		}
		out := pmassist.SourcePage{Items: items}
		if next == "" && newest != wm.Value {
			out.Watermark = &pmassist.Watermark{ConnectionID: r.connID, Resource: resource, Value: newest}
		}
		if len(out.Items) > 0 || out.Watermark != nil {
			if err := r.req.Emit(ctx, out); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// replies appends the replies of the thread whose parent is parentTS.
func (r *run) replies(ctx context.Context, items []*pmassist.Item, seen map[string]bool, ch channel, parentTS string) ([]*pmassist.Item, error) {
	cursor := ""
	for {
		params := url.Values{"channel": {ch.ID}, "ts": {parentTS}, "limit": {pageLimit}}
		if cursor != "" {
			params.Set("cursor", cursor)
		}
		var page messagesPage
		if err := r.c.pace(ctx, r.connID); err != nil {
			return nil, err
		}
		err := r.c.call(ctx, r.connID, "conversations.replies", params, &page)
		if isCode(err, "thread_not_found") { // deleted meanwhile
			return items, nil
		}
		if err != nil {
			return nil, err
		}
		for i := range page.Messages {
			if m := &page.Messages[i]; m.TS != parentTS {
				if items, err = r.add(ctx, items, seen, ch, m); err != nil {
					return nil, err
				}
			}
		}
		next := page.Meta.NextCursor
		if next == "" || next == cursor {
			return items, nil
		}
		cursor = next
	}
}

// add converts m, unless it is housekeeping or was already taken in this
// run (a reply also sent to the channel appears in history and replies).
func (r *run) add(ctx context.Context, items []*pmassist.Item, seen map[string]bool, ch channel, m *message) ([]*pmassist.Item, error) {
	if !m.ingested() || seen[m.TS] {
		return items, nil
	}
	seen[m.TS] = true
	author, err := r.author(ctx, m)
	if err != nil {
		return nil, err
	}
	it, err := m.item(ch.ID, ch.Name, r.workspaceURL, author)
	if err != nil {
		r.log.Warn("slack: skipping a message", "channel_id", ch.ID, "error", err)
		return items, nil
	}
	it.TenantID, it.ConnectionID = r.req.Connection.TenantID, r.connID
	return append(items, it), nil
}

// author resolves a message's author through users.info, once per user and
// run.
func (r *run) author(ctx context.Context, m *message) (pmassist.Person, error) {
	if m.isBot() {
		return m.botPerson(), nil
	}
	if m.User == "" {
		return pmassist.Person{}, nil
	}
	if p, ok := r.users[m.User]; ok {
		return p, nil
	}
	var res struct {
		User struct {
			ID       string `json:"id"`
			Name     string `json:"name"`
			RealName string `json:"real_name"`
			IsBot    bool   `json:"is_bot"`
			Profile  struct {
				DisplayName string `json:"display_name"`
				RealName    string `json:"real_name"`
				Email       string `json:"email"`
			} `json:"profile"`
		} `json:"user"`
	}
	err := r.c.call(ctx, r.connID, "users.info", url.Values{"user": {m.User}}, &res)
	var p pmassist.Person
	switch {
	case isCode(err, "user_not_found", "user_not_visible"):
		p = pmassist.Person{Name: m.User, ExternalID: m.User}
	case err != nil:
		return pmassist.Person{}, err
	default:
		u := res.User
		p = pmassist.Person{Name: firstNonEmpty(u.Profile.DisplayName, u.Profile.RealName, u.RealName, u.Name, m.User),
			Email: u.Profile.Email, ExternalID: m.User, Bot: u.IsBot}
	}
	r.users[m.User] = p
	return p, nil
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x = strings.TrimSpace(x); x != "" {
			return x
		}
	}
	return ""
}
