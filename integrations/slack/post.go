package slack

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/pmassist/pmassist"
)

var _ pmassist.SlackPoster = (*Client)(nil)

// PostMessage posts text (Slack mrkdwn, links not unfurled) to a channel
// of a connection with chat.postMessage and returns the message's ts.
// channel is a channel id ("C0123ABCD") or name ("standup" or "#standup").
// Rate limits and transient failures are retried by the retry loop; Slack's
// refusals come back as *pmassist.Error a person can act on (the app not
// in the channel, an unknown channel, the chat:write scope missing, a token
// that no longer works), wrapping the *APIError.
func (c *Client) PostMessage(ctx context.Context, connectionID, channel, text string) (string, error) {
	ref := strings.TrimPrefix(strings.TrimSpace(channel), "#")
	if ref == "" {
		return "", pmassist.Errorf(pmassist.EINVALID, "no Slack channel to post to: set one in the standup settings")
	}
	if strings.TrimSpace(text) == "" {
		return "", pmassist.Errorf(pmassist.EINVALID, "nothing to post to Slack: the message is empty")
	}
	params := url.Values{
		"channel":      {ref},
		"text":         {text},
		"unfurl_links": {"false"},
		"mrkdwn":       {"true"},
	}
	var out struct {
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}
	if err := c.call(ctx, connectionID, "chat.postMessage", params, &out); err != nil {
		return "", postError(err, ref)
	}
	if out.TS == "" {
		return "", errors.New("slack chat.postMessage: the answer has no ts")
	}
	c.logger.Debug("slack: message posted", "connection_id", connectionID, "channel_id", out.Channel, "ts", out.TS)
	return out.TS, nil
}

// channelIDPattern matches Slack's conversation ids: public (C), private
// (G) and direct (D) channels.
var channelIDPattern = regexp.MustCompile(`^[CGD][A-Z0-9]{8,}$`)

// channelLabel names a channel reference in a message: "#standup" for a
// name, the id itself for an id; in "in #standup" an id reads
// "in channel C0123ABCD".
func channelLabel(ref string) (name, in string) {
	if channelIDPattern.MatchString(ref) {
		return ref, "channel " + ref
	}
	return "#" + ref, "#" + ref
}

// postError turns chat.postMessage's refusals into application errors
// that say what to do; the *APIError stays in the chain.
func postError(err error, ref string) error {
	var ae *APIError
	if !errors.As(err, &ae) {
		return err
	}
	label, in := channelLabel(ref)
	var app *pmassist.Error
	switch {
	case ae.Code == "not_in_channel":
		app = pmassist.Errorf(pmassist.EINVALID, "the PM Assistant app is not in %s: invite it with /invite @PM Assistant", in)
	case ae.Code == "channel_not_found":
		app = pmassist.Errorf(pmassist.EINVALID, "Slack channel %s not found: check the channel in the standup settings (for a private channel, invite the app first with /invite @PM Assistant)", label)
	case ae.Code == "is_archived":
		app = pmassist.Errorf(pmassist.EINVALID, "Slack channel %s is archived: choose another channel in the standup settings", label)
	case ae.Code == "msg_too_long":
		app = pmassist.Errorf(pmassist.EINVALID, "the message is too long for Slack")
	case ae.Code == "restricted_action" || ae.Code == "restricted_action_read_only_channel" ||
		ae.Code == "restricted_action_non_threadable_channel" || ae.Code == "restricted_action_thread_only_channel":
		app = pmassist.Errorf(pmassist.EFORBIDDEN, "Slack does not let the PM Assistant app post in %s (%s): ask a workspace admin or choose another channel", in, ae.Code)
	case ae.Code == "missing_scope":
		needed := ae.Needed
		if needed == "" {
			needed = "chat:write"
		}
		app = pmassist.Errorf(pmassist.EUNAUTHORIZED, "the Slack connection lacks the %s scope: reconnect Slack to grant it", needed)
	case authErrors[ae.Code]:
		app = pmassist.Errorf(pmassist.EUNAUTHORIZED, "Slack refused the access token (%s): reconnect Slack", ae.Code)
	default:
		return err
	}
	return fmt.Errorf("%w (%w)", app, ae)
}
