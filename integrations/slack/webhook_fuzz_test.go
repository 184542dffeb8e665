package slack

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
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
		checkBounded(t, reflect.ValueOf(d).Elem(), len(body), "delivery")
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
// body (JSON decoding turns an invalid byte into U+FFFD), plus a little for
// the separators of composed ids; every slice is shorter than the body.
func checkBounded(t *testing.T, v reflect.Value, n int, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.String:
		if s := v.String(); len(s) > 3*n+16 || !utf8.ValidString(s) {
			t.Fatalf("%s: %d bytes out of a %d-byte body, valid UTF-8 %v", path, len(s), n, utf8.ValidString(s))
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
			t.Fatalf("%s: %d elements out of a %d-byte body", path, v.Len(), n)
		}
		for i := 0; i < v.Len(); i++ {
			checkBounded(t, v.Index(i), n, path)
		}
	}
}
