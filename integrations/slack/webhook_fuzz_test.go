package slack

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/internal/fuzzcheck"
)

// FuzzWebhook feeds Events API bodies under a valid signature (seeds in
// testdata/fuzz/FuzzWebhook: the stand-in's events and hostile shapes).
// Properties:
//   - the signature verifies for any body, and no longer once the body
//     changes;
//   - Parse never panics and is deterministic; a refusal is EINVALID
//     without a delivery;
//   - a delivery is a challenge or at most one message item of Slack, its
//     ExternalID "{channel}:{ts}", with no tenant, connection or id of its
//     own (the router fills those in), fields bounded by the body, and it
//     survives the store's JSON encoding unchanged.
func FuzzWebhook(f *testing.F) {
	f.Add([]byte(`{"type":"url_verification","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}`))
	f.Add([]byte(`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","channel":"C1","user":"U1","text":"Decision: ship","ts":"1700000000.000100"}}`))
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	c := New(Config{})
	sl := fake.NewSlack(fake.Options{})
	now := time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		h := sl.SignEvent(secret, body, now)
		if err := c.Verify(h, body, secret, now); err != nil {
			t.Fatalf("signed body refused: %v", err)
		}
		if err := c.Verify(h, append(body[:len(body):len(body)], 'x'), secret, now); err == nil {
			t.Fatal("a changed body verified")
		}
		d, err := c.Parse(h, body)
		d2, err2 := c.Parse(h, body)
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(d, d2) {
			t.Fatalf("not deterministic: %+v, %v then %+v, %v", d, err, d2, err2)
		}
		if err != nil {
			if pmassist.ErrorCode(err) != pmassist.EINVALID || d != nil {
				t.Fatalf("refused with %v (code %q), delivery %+v", err, pmassist.ErrorCode(err), d)
			}
			return
		}
		if d == nil {
			t.Fatal("nil delivery without error")
		}
		if d.Refresh || len(d.Items) > 1 || d.Challenge != "" && (len(d.Items) > 0 || d.ID != "" || d.WorkspaceID != "") {
			t.Fatalf("delivery %+v", d)
		}
		fuzzcheck.Bounded(t, reflect.ValueOf(d).Elem(), len(body), 16, "delivery")
		for _, it := range d.Items {
			if it.Service != pmassist.ServiceSlack || it.Type != pmassist.ItemMessage || it.TenantID != "" || it.ConnectionID != "" || it.ID != "" {
				t.Fatalf("item %+v", it)
			}
			if !strings.HasPrefix(it.ExternalID, it.ChannelID+":") || it.ChannelID == "" {
				t.Fatalf("external id %q of channel %q", it.ExternalID, it.ChannelID)
			}
			if _, ok := parseTS(strings.TrimPrefix(it.ExternalID, it.ChannelID+":")); !ok || it.CreatedAt.IsZero() {
				t.Fatalf("item %q created %v", it.ExternalID, it.CreatedAt)
			}
			fuzzcheck.Stored(t, it)
		}
	})
}
