package linear

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/internal/fuzzcheck"
)

// FuzzWebhook feeds webhook bodies under a valid Linear-Signature (seeds in
// testdata/fuzz/FuzzWebhook: the stand-in's Issue and Comment webhooks and
// hostile shapes). Properties:
//   - a signed body never fails as a bad signature, only as stale (its
//     webhookTimestamp), and a changed body no longer verifies;
//   - Parse never panics and is deterministic; a refusal is EINVALID
//     without a delivery;
//   - the delivery id is the Linear-Delivery header when there is one;
//   - only an Issue create, update or remove yields an item, one, of
//     Linear, with the issue's id, Deleted exactly for remove, no tenant,
//     connection or id of its own, fields bounded by the body, and it
//     survives the store's JSON encoding unchanged; only a Comment asks for
//     a refresh.
func FuzzWebhook(f *testing.F) {
	f.Add([]byte(`{"action":"create","type":"Issue","data":{"id":"i1","title":"Decision: ship","teamId":"t1"},"organizationId":"org-1","webhookTimestamp":1793782800000,"webhookId":"wh-1"}`))
	l := fake.NewLinear(fake.Options{})
	c := New(Config{})
	now := time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte) {
		h := l.SignWebhook(secret, body)
		h.Set("Linear-Delivery", "8f0c3e8e-4d5b-4a7e-9d68-0a1b2c3d4e5f")
		if err := c.Verify(h, body, secret, now); err != nil && !errors.Is(err, ErrStaleWebhook) {
			t.Fatalf("signed body refused: %v", err)
		}
		if err := c.Verify(h, append(body[:len(body):len(body)], ' '), secret, now); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("a changed body: %v", err)
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
		if d == nil || d.ID != h.Get("Linear-Delivery") || d.Challenge != "" {
			t.Fatalf("delivery %+v", d)
		}
		var env struct {
			Action, Type string
		}
		_ = json.Unmarshal(body, &env)
		if d.Refresh != (env.Type == "Comment") || len(d.Items) > 1 ||
			len(d.Items) == 1 && (env.Type != "Issue" || env.Action != "create" && env.Action != "update" && env.Action != "remove") {
			t.Fatalf("delivery %+v of a %q %q", d, env.Type, env.Action)
		}
		// The id is the header's (checked above); the rest comes from the body.
		fuzzcheck.Bounded(t, reflect.ValueOf(d.Items), len(body), 16, "items")
		fuzzcheck.Bounded(t, reflect.ValueOf(d.WorkspaceID), len(body), 16, "workspace")
		for _, it := range d.Items {
			if it.Service != pmassist.ServiceLinear || it.Type != pmassist.ItemIssue || it.ExternalID == "" ||
				it.TenantID != "" || it.ConnectionID != "" || it.ID != "" || it.Deleted != (env.Action == "remove") {
				t.Fatalf("item %+v", it)
			}
			fuzzcheck.Stored(t, it)
		}
		h.Del("Linear-Delivery")
		if d3, err := c.Parse(h, body); err != nil || d3.Refresh != d.Refresh || !reflect.DeepEqual(d3.Items, d.Items) {
			t.Fatalf("without Linear-Delivery: %+v, %v", d3, err)
		}
	})
}
