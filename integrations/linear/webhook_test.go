package linear

import (
	"bytes"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

const secret = "lin_wh_s3cret"

func issueByIdentifier(t *testing.T, l *fake.Linear, identifier string) fake.LinearIssue {
	t.Helper()
	for _, i := range l.Issues() {
		if i.Identifier == identifier {
			return i
		}
	}
	t.Fatalf("no issue %s", identifier)
	return fake.LinearIssue{}
}

func TestVerify(t *testing.T) {
	e := newEnv(t, 0)
	body := e.fake.IssueWebhook("update", issueByIdentifier(t, e.fake, "ENG-105"))
	h := e.fake.SignWebhook(secret, body)
	now := e.clock.Now()

	if err := e.client.Verify(h, body, secret, now); err != nil {
		t.Fatalf("valid delivery refused: %v", err)
	}
	if err := e.client.Verify(h, body, secret, now.Add(59*time.Second)); err != nil {
		t.Fatalf("59 s late refused: %v", err)
	}

	tampered := bytes.Replace(body, []byte("ENG-105"), []byte("ENG-999"), 1)
	noSig := h.Clone()
	noSig.Del("Linear-Signature")
	prefixed := h.Clone()
	prefixed.Set("Linear-Signature", "sha256="+h.Get("Linear-Signature"))
	for _, tc := range []struct {
		name   string
		h      http.Header
		body   []byte
		secret string
		now    time.Time
		want   error
	}{
		{"wrong secret", h, body, "other", now, ErrBadSignature},
		{"tampered body", h, tampered, secret, now, ErrBadSignature},
		{"no signature", noSig, body, secret, now, ErrBadSignature},
		{"prefixed signature", prefixed, body, secret, now, ErrBadSignature},
		{"no secret configured", h, body, "", now, ErrBadSignature},
		{"61 s late", h, body, secret, now.Add(61 * time.Second), ErrStaleWebhook},
		{"61 s early", h, body, secret, now.Add(-61 * time.Second), ErrStaleWebhook},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := e.client.Verify(tc.h, tc.body, tc.secret, tc.now)
			if !errors.Is(err, tc.want) || pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
		})
	}

	// A correctly signed body without webhookTimestamp is refused too.
	bare := []byte(`{"action":"update","type":"Issue","data":{"id":"x"},"organizationId":"o"}`)
	if err := e.client.Verify(e.fake.SignWebhook(secret, bare), bare, secret, now); !errors.Is(err, ErrStaleWebhook) {
		t.Fatalf("no timestamp: %v", err)
	}
}

func TestParseIssueUpdate(t *testing.T) {
	e := newEnv(t, 0)
	iss := issueByIdentifier(t, e.fake, "ENG-107") // Blocked, with labels, assignee, project
	iss.Title = "Payments: retry failed Stripe webhooks with backoff"
	iss = e.fake.UpsertIssue(iss)
	body := e.fake.IssueWebhook("update", iss)
	h := e.fake.SignWebhook(secret, body)
	if err := e.client.Verify(h, body, secret, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	d, err := e.client.Parse(h, body)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != h.Get("Linear-Delivery") || d.ID == "" || d.WorkspaceID != fake.LinearOrganizationID || d.Refresh || len(d.Items) != 1 {
		t.Fatalf("delivery %+v", d)
	}
	it := d.Items[0]
	if it.ExternalID != iss.ID || it.Title != iss.Title || it.Text != iss.Description || it.URL != iss.URL ||
		it.Channel != "ENG" || it.ChannelID != fake.LinearTeamENG.ID ||
		it.State != "Blocked" || it.StateType != "started" || !slices.Equal(it.Labels, iss.Labels) ||
		it.Project != iss.Project || it.Assignee == nil || it.Assignee.Email != iss.Assignee.Email ||
		!it.UpdatedAt.Equal(iss.UpdatedAt) || !it.CreatedAt.Equal(iss.CreatedAt) ||
		it.Type != pmassist.ItemIssue || it.Service != pmassist.ServiceLinear || it.Deleted {
		t.Fatalf("item %+v\nfrom %+v", it, iss)
	}
	if !slices.Contains(it.Labels, "blocked") {
		t.Fatalf("labels %v", it.Labels)
	}
}

func TestParseIssueRemoveAndFallbackID(t *testing.T) {
	e := newEnv(t, 0)
	iss := issueByIdentifier(t, e.fake, "PRD-103")
	body := e.fake.IssueWebhook("remove", iss)
	d, err := e.client.Parse(http.Header{}, body)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Items) != 1 || !d.Items[0].Deleted || d.Items[0].ExternalID != iss.ID {
		t.Fatalf("remove: %+v", d.Items)
	}
	if d.ID == "" || d.ID != mustParse(t, e.client, http.Header{}, body).ID {
		t.Fatalf("fallback id %q is not stable", d.ID)
	}
	other := e.fake.IssueWebhook("update", iss)
	if mustParse(t, e.client, http.Header{}, other).ID == d.ID {
		t.Fatal("two events share a fallback id")
	}
}

func mustParse(t *testing.T, c *Client, h http.Header, body []byte) *pmassist.WebhookDelivery {
	t.Helper()
	d, err := c.Parse(h, body)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParseCommentAsksForRefresh(t *testing.T) {
	e := newEnv(t, 0)
	iss := issueByIdentifier(t, e.fake, "ENG-101")
	body := e.fake.CommentWebhook("create", iss, fake.LinearComment{Body: "Shipped to staging.", User: iss.Comments[0].User})
	h := e.fake.SignWebhook(secret, body)
	if err := e.client.Verify(h, body, secret, e.clock.Now()); err != nil {
		t.Fatal(err)
	}
	d := mustParse(t, e.client, h, body)
	if !d.Refresh || len(d.Items) != 0 || d.WorkspaceID != fake.LinearOrganizationID || d.ID != h.Get("Linear-Delivery") {
		t.Fatalf("comment delivery %+v", d)
	}
}

func TestParseOtherTypesAreEmpty(t *testing.T) {
	e := newEnv(t, 0)
	for _, body := range [][]byte{
		e.fake.WebhookBody("update", "Project", map[string]any{"id": "p1", "name": "Billing"}, "https://linear.app/acme/project/billing"),
		e.fake.WebhookBody("create", "IssueLabel", map[string]any{"id": "l1", "name": "urgent"}, ""),
	} {
		d := mustParse(t, e.client, e.fake.SignWebhook(secret, body), body)
		if d.Refresh || len(d.Items) != 0 || d.WorkspaceID != fake.LinearOrganizationID {
			t.Fatalf("delivery %+v", d)
		}
	}
	if _, err := e.client.Parse(http.Header{}, []byte("not json")); pmassist.ErrorCode(err) != pmassist.EINVALID {
		t.Fatalf("garbage: %v", err)
	}
}
