package github

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
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
		checkBounded(t, reflect.ValueOf(d.Items), len(body), "items")
		checkBounded(t, reflect.ValueOf(d.WorkspaceID), len(body), "workspace id")
		checkBounded(t, reflect.ValueOf(d.WorkspaceLogin), len(body), "workspace login")
		for _, it := range d.Items {
			k := strings.LastIndexByte(it.ExternalID, '#')
			if _, err := strconv.Atoi(it.ExternalID[k+1:]); k < 0 || err != nil || it.ExternalID[:k] != it.Channel || it.Channel == "" {
				t.Fatalf("external id %q of %q", it.ExternalID, it.Channel)
			}
			if it.Service != pmassist.ServiceGitHub || it.Type != pmassist.ItemPullRequest || it.TenantID != "" || it.ConnectionID != "" || it.ID != "" ||
				it.MergedAt != nil && it.State != "merged" {
				t.Fatalf("item %+v", it)
			}
			checkStored(t, it)
		}
	})
}

// checkStored: the item encodes as the store encodes it, and reads back
// the same.
func checkStored(t *testing.T, it *pmassist.Item) {
	t.Helper()
	b, err := json.Marshal(it)
	if err != nil {
		t.Fatalf("the item cannot be stored: %v\n%+v", err, it)
	}
	var back pmassist.Item
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("the stored item does not read back: %v", err)
	}
	b2, _ := json.Marshal(&back)
	if string(b) != string(b2) {
		t.Fatalf("the item changes when stored:\n%s\n%s", b, b2)
	}
}

// checkBounded: every string is valid UTF-8 and at most three times the
// input (JSON decoding turns an invalid byte into U+FFFD) plus the digits
// of a number; every slice is shorter than the input.
func checkBounded(t *testing.T, v reflect.Value, n int, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); len(s) > 3*n+24 || !utf8.ValidString(s) {
			t.Fatalf("%s: %d bytes out of %d input bytes, valid UTF-8 %v", path, len(s), n, utf8.ValidString(s))
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			checkBounded(t, v.Elem(), n, path)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				checkBounded(t, v.Field(i), n, path+"."+v.Type().Field(i).Name)
			}
		}
	case reflect.Slice:
		if v.Len() > n {
			t.Fatalf("%s: %d elements out of %d input bytes", path, v.Len(), n)
		}
		for i := 0; i < v.Len(); i++ {
			checkBounded(t, v.Index(i), n, path)
		}
	}
}
