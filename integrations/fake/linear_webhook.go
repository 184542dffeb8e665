package fake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
)

// LinearWebhookID is the id of the stand-in's one webhook subscription.
var LinearWebhookID = linearUUID("webhook/pmassist")

// SignWebhook returns the headers Linear sends with a webhook body:
// Linear-Signature (hex HMAC-SHA256 of the raw body with secret, no
// prefix), a fresh Linear-Delivery uuid, Linear-Event (the body's "type"),
// Content-Type and User-Agent.
func (l *Linear) SignWebhook(secret string, body []byte) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	var env struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(body, &env)
	h := http.Header{}
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("User-Agent", "Linear-Webhook")
	h.Set("Linear-Delivery", newUUID())
	h.Set("Linear-Event", env.Type)
	h.Set("Linear-Signature", hex.EncodeToString(mac.Sum(nil)))
	return h
}

// WebhookBody builds a webhook body the way Linear sends it:
// {"action","type","data","url","createdAt","organizationId",
// "webhookTimestamp","webhookId"}, createdAt and webhookTimestamp (Unix
// ms) from the stand-in's clock.
func (l *Linear) WebhookBody(action, typ string, data map[string]any, url string) []byte {
	now := l.now().UTC()
	body, err := json.Marshal(map[string]any{
		"action":           action,
		"type":             typ,
		"data":             data,
		"url":              url,
		"createdAt":        now.Format(linearTime),
		"organizationId":   l.ws.ID,
		"webhookTimestamp": now.UnixMilli(),
		"webhookId":        LinearWebhookID,
	})
	if err != nil {
		panic("fake: webhook body: " + err.Error())
	}
	return body
}

// IssueWebhook builds an Issue webhook body (action create, update or
// remove). Its data is the issue in Linear's webhook shape, which differs
// from GraphQL's: labels are a plain list, ids sit beside the objects
// (teamId, stateId, labelIds…), and the creator is only a creatorId;
// comments are not included.
func (l *Linear) IssueWebhook(action string, i LinearIssue) []byte {
	labels := []any{}
	labelIDs := []string{}
	for _, name := range i.Labels {
		labels = append(labels, map[string]any{"id": labelID(name), "name": name, "color": "#5e6ad2"})
		labelIDs = append(labelIDs, labelID(name))
	}
	data := map[string]any{
		"id":            i.ID,
		"identifier":    i.Identifier,
		"number":        i.Number,
		"title":         i.Title,
		"description":   i.Description,
		"url":           i.URL,
		"priority":      i.Priority,
		"createdAt":     linearTimeValue(&i.CreatedAt),
		"updatedAt":     linearTimeValue(&i.UpdatedAt),
		"completedAt":   linearTimeValue(i.CompletedAt),
		"canceledAt":    linearTimeValue(i.CanceledAt),
		"archivedAt":    nil,
		"teamId":        i.Team.ID,
		"team":          map[string]any{"id": i.Team.ID, "key": i.Team.Key, "name": i.Team.Name},
		"stateId":       stateID(i.Team, i.StateName),
		"state":         map[string]any{"id": stateID(i.Team, i.StateName), "name": i.StateName, "type": i.StateType, "color": "#f2c94c"},
		"labelIds":      labelIDs,
		"labels":        labels,
		"subscriberIds": []string{},
	}
	if i.Assignee != nil {
		data["assigneeId"] = i.Assignee.ID
		data["assignee"] = map[string]any{"id": i.Assignee.ID, "name": i.Assignee.Name, "email": i.Assignee.Email}
	}
	if i.Creator != nil {
		data["creatorId"] = i.Creator.ID
	}
	if i.Project != "" {
		data["projectId"] = projectID(i.Project)
		data["project"] = map[string]any{"id": projectID(i.Project), "name": i.Project}
	}
	return l.WebhookBody(action, "Issue", data, i.URL)
}

// CommentWebhook builds a Comment webhook body about a comment on issue; an
// empty c.ID gets a fresh one, a zero CreatedAt the stand-in's clock.
func (l *Linear) CommentWebhook(action string, issue LinearIssue, c LinearComment) []byte {
	if c.ID == "" {
		c.ID = newUUID()
	}
	at := c.CreatedAt
	if at.IsZero() {
		at = l.now()
	}
	data := map[string]any{
		"id":        c.ID,
		"body":      c.Body,
		"createdAt": linearTimeValue(&at),
		"updatedAt": linearTimeValue(&at),
		"issueId":   issue.ID,
		"userId":    c.User.ID,
		"issue":     map[string]any{"id": issue.ID, "identifier": issue.Identifier, "title": issue.Title, "teamId": issue.Team.ID, "url": issue.URL},
		"user":      map[string]any{"id": c.User.ID, "name": c.User.Name, "email": c.User.Email},
	}
	return l.WebhookBody(action, "Comment", data, issue.URL+"#comment-"+c.ID[:min(8, len(c.ID))])
}
