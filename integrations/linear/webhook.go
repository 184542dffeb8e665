package linear

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

// webhookTolerance is how far webhookTimestamp may be from the receiver's
// clock (Linear's own recommendation).
const webhookTolerance = 60 * time.Second

// Verification failures; both are EUNAUTHORIZED.
var (
	ErrBadSignature = &pmassist.Error{Code: pmassist.EUNAUTHORIZED, Message: "the Linear-Signature of the webhook does not match"}
	ErrStaleWebhook = &pmassist.Error{Code: pmassist.EUNAUTHORIZED, Message: "the webhookTimestamp of the Linear webhook is missing or more than 60 seconds off"}
)

// Verify checks Linear-Signature, hex HMAC-SHA256 of the raw body with
// secret, in constant time; then the signed body's webhookTimestamp (Unix
// ms), which must be within 60 s of now.
func (c *Client) Verify(header http.Header, body []byte, secret string, now time.Time) error {
	sig, err := hex.DecodeString(strings.TrimSpace(header.Get("Linear-Signature")))
	if secret == "" || err != nil || len(sig) != sha256.Size {
		return ErrBadSignature
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)) {
		return ErrBadSignature
	}
	var env struct {
		WebhookTimestamp json.Number `json:"webhookTimestamp"`
	}
	if json.Unmarshal(body, &env) != nil {
		return ErrStaleWebhook
	}
	ms, err := strconv.ParseInt(env.WebhookTimestamp.String(), 10, 64)
	if err != nil {
		return ErrStaleWebhook
	}
	if d := now.Sub(time.UnixMilli(ms)); d > webhookTolerance || d < -webhookTolerance {
		return ErrStaleWebhook
	}
	return nil
}

// webhookIssue is an Issue webhook's data: mostly GraphQL's fields, labels
// as a plain list, ids beside the objects, no comments and only a
// creatorId (so the item's Author is empty).
type webhookIssue struct {
	issueNode
	TeamID string `json:"teamId"`
}

// Parse converts a verified delivery. ID is the Linear-Delivery header
// (else webhookId, createdAt, type, action and data id together);
// WorkspaceID the organizationId. An Issue create or update carries the
// issue as an item, a remove the item marked Deleted; any Comment event
// asks for a refresh, which re-reads its issue with all its comments.
// Other types yield an empty delivery. The items have no tenant or
// connection: the router fills those in.
func (c *Client) Parse(header http.Header, body []byte) (*pmassist.WebhookDelivery, error) {
	var env struct {
		Action         string          `json:"action"`
		Type           string          `json:"type"`
		Data           json.RawMessage `json:"data"`
		URL            string          `json:"url"`
		CreatedAt      string          `json:"createdAt"`
		OrganizationID string          `json:"organizationId"`
		WebhookID      string          `json:"webhookId"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, pmassist.Errorf(pmassist.EINVALID, "unreadable Linear webhook body")
	}
	var ref struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(env.Data, &ref)
	d := &pmassist.WebhookDelivery{ID: header.Get("Linear-Delivery"), WorkspaceID: env.OrganizationID}
	if d.ID == "" && env.WebhookID != "" {
		d.ID = strings.Join([]string{env.WebhookID, env.CreatedAt, env.Type, env.Action, ref.ID}, ":")
	}
	switch env.Type {
	case "Issue":
		if env.Action != "create" && env.Action != "update" && env.Action != "remove" {
			return d, nil
		}
		var wi webhookIssue
		if err := json.Unmarshal(env.Data, &wi); err != nil || wi.ID == "" {
			return nil, pmassist.Errorf(pmassist.EINVALID, "unreadable issue in Linear webhook")
		}
		it := wi.item()
		if !storableTimes(it) {
			return nil, pmassist.Errorf(pmassist.EINVALID, "a time of the issue in the Linear webhook is out of range")
		}
		if it.ChannelID == "" {
			it.ChannelID = wi.TeamID
		}
		if it.URL == "" {
			it.URL = env.URL
		}
		it.Deleted = env.Action == "remove"
		d.Items = []*pmassist.Item{it}
	case "Comment":
		d.Refresh = true
	}
	return d, nil
}

// storableTimes reports whether every time of it has a year from 0 to 9999
// in UTC, as JSON (and so the store) requires.
func storableTimes(it *pmassist.Item) bool {
	ok := func(t *time.Time) bool { return t == nil || t.Year() >= 0 && t.Year() <= 9999 }
	for i := range it.Comments {
		if !ok(&it.Comments[i].CreatedAt) {
			return false
		}
	}
	return ok(&it.CreatedAt) && ok(&it.UpdatedAt) && ok(it.CompletedAt) && ok(it.ClosedAt)
}
