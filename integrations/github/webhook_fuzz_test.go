package github

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/internal/fuzzcheck"
)

// FuzzWebhook feeds deliveries (event, delivery id, body) under a valid
// X-Hub-Signature-256 (seeds in testdata/fuzz/FuzzWebhook: the stand-in's
// and GitHub's documented pull_request payloads, ping, form-encoded bodies
// and hostile shapes). Properties:
//   - the signature verifies for any body, and no longer once it changes;
//   - Parse never panics and is deterministic; a refusal is EINVALID
//     without a delivery, and a delivery without an id is always refused;
//   - a delivery carries the X-GitHub-Delivery id; only a pull_request
//     event yields an item, one pull request of GitHub, "{repo}#{number}",
//     with no tenant, connection or id of its own, fields bounded by the
//     body, and it survives the store's JSON encoding unchanged.
func FuzzWebhook(f *testing.F) {
	f.Add("pull_request", "d-1", []byte(`{"action":"opened","pull_request":{"number":7,"title":"ADR 7: use Postgres","state":"open"},"repository":{"full_name":"acme/api","owner":{"login":"acme","id":7770001}}}`))
	const secret = "whsec"
	g := fake.NewGitHub(fake.Options{})
	c := New(Config{})
	f.Fuzz(func(t *testing.T, event, delivery string, body []byte) {
		h := g.SignWebhook(secret, body, event, delivery)
		if err := c.Verify(h, body, secret, time.Time{}); err != nil {
			t.Fatalf("signed body refused: %v", err)
		}
		if err := c.Verify(h, append(body[:len(body):len(body)], ' '), secret, time.Time{}); err == nil {
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
		if d == nil || d.ID == "" || d.ID != h.Get("X-GitHub-Delivery") || d.Challenge != "" || d.Refresh || len(d.Items) > 1 ||
			len(d.Items) == 1 && h.Get("X-GitHub-Event") != "pull_request" || d.WorkspaceLogin == "" && d.WorkspaceID != "" {
			t.Fatalf("delivery %+v", d)
		}
		// The id is the header's (checked above); the rest comes from the body.
		fuzzcheck.Bounded(t, reflect.ValueOf(d.Items), len(body), 24, "items")
		fuzzcheck.Bounded(t, reflect.ValueOf(d.WorkspaceID), len(body), 24, "workspace id")
		fuzzcheck.Bounded(t, reflect.ValueOf(d.WorkspaceLogin), len(body), 24, "workspace login")
		for _, it := range d.Items {
			k := strings.LastIndexByte(it.ExternalID, '#')
			if _, err := strconv.Atoi(it.ExternalID[k+1:]); k < 0 || err != nil || it.ExternalID[:k] != it.Channel || it.Channel == "" {
				t.Fatalf("external id %q of %q", it.ExternalID, it.Channel)
			}
			if it.Service != pmassist.ServiceGitHub || it.Type != pmassist.ItemPullRequest || it.TenantID != "" || it.ConnectionID != "" || it.ID != "" ||
				it.MergedAt != nil && it.State != "merged" {
				t.Fatalf("item %+v", it)
			}
			fuzzcheck.Stored(t, it)
		}
	})
}
