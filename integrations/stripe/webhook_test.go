package stripe

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

// expanded turns the id fields named in keys into expanded objects, as an
// event rendered with expand[] (or an older API version) carries them.
func expanded(obj map[string]any, extra map[string]map[string]any, keys ...string) map[string]any {
	out := make(map[string]any, len(obj))
	for k, v := range obj {
		out[k] = v
	}
	for _, k := range keys {
		id, _ := obj[k].(string)
		o := map[string]any{"id": id, "object": k, "created": 1700000000, "livemode": false}
		for ek, ev := range extra[k] {
			o[ek] = ev
		}
		out[k] = o
	}
	return out
}

func TestParseWebhookEventTypes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cus, err := e.c.CreateCustomer(ctx, "ten_1", "Acme", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.CheckoutURL(ctx, pmassist.CheckoutRequest{TenantID: "ten_1", CustomerID: cus, Tier: pmassist.TierPro, SuccessURL: "https://a.test"}); err != nil {
		t.Fatal(err)
	}
	cs, _ := e.fake.LastCheckout()
	sub, err := e.fake.CompleteCheckout(cs.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sessionObj, _ := e.fake.CheckoutSessionObject(cs.ID)
	subObj, _ := e.fake.SubscriptionObject(sub.ID)
	invoiceObj := map[string]any{
		"id": "in_1", "object": "invoice", "customer": cus, "subscription": sub.ID, "status": "paid",
		"subscription_details": map[string]any{"metadata": map[string]any{"tenant_id": "ten_1"}},
	}
	subMeta := map[string]map[string]any{"subscription": {"metadata": map[string]any{"tenant_id": "ten_1"}, "status": "active"}}

	// Checkout without client_reference_id: the session's metadata names
	// the tenant.
	metaOnly := expanded(sessionObj, nil)
	metaOnly["client_reference_id"] = nil
	// An invoice as API versions from 2025-03-31 render it: the
	// subscription under parent.subscription_details.
	basilInvoice := map[string]any{
		"id": "in_2", "object": "invoice", "customer": cus,
		"parent": map[string]any{"type": "subscription_details", "subscription_details": map[string]any{
			"subscription": sub.ID, "metadata": map[string]any{"tenant_id": "ten_1"},
		}},
	}
	// An invoice without subscription_details whose subscription is
	// expanded: the expanded subscription's metadata names the tenant.
	expandedOnly := expanded(invoiceObj, subMeta, "customer", "subscription")
	delete(expandedOnly, "subscription_details")

	want := pmassist.BillingEvent{CustomerID: cus, SubscriptionID: sub.ID, TenantID: "ten_1"}
	cases := []struct {
		name string
		typ  string
		obj  map[string]any
	}{
		{"ids", pmassist.EventCheckoutCompleted, sessionObj},
		{"expanded", pmassist.EventCheckoutCompleted, expanded(sessionObj, subMeta, "customer", "subscription")},
		{"metadata only", pmassist.EventCheckoutCompleted, metaOnly},
		{"ids", pmassist.EventSubscriptionCreated, subObj},
		{"expanded", pmassist.EventSubscriptionCreated, expanded(subObj, nil, "customer")},
		{"ids", pmassist.EventSubscriptionUpdated, subObj},
		{"expanded", pmassist.EventSubscriptionUpdated, expanded(subObj, nil, "customer")},
		{"ids", pmassist.EventSubscriptionDeleted, subObj},
		{"expanded", pmassist.EventSubscriptionDeleted, expanded(subObj, nil, "customer")},
		{"ids", pmassist.EventInvoicePaid, invoiceObj},
		{"expanded", pmassist.EventInvoicePaid, expanded(invoiceObj, subMeta, "customer", "subscription")},
		{"expanded, no details", pmassist.EventInvoicePaid, expandedOnly},
		{"parent (2025-03-31)", pmassist.EventInvoicePaid, basilInvoice},
		{"ids", pmassist.EventInvoicePaymentFail, invoiceObj},
		{"expanded", pmassist.EventInvoicePaymentFail, expanded(invoiceObj, subMeta, "customer", "subscription")},
	}
	created := time.Now().Add(-time.Minute).Truncate(time.Second).UTC()
	for i, c := range cases {
		id := "evt_" + strings.Repeat("x", i+1)
		payload, header := fake.StripeEvent(testWebhookSecret, id, c.typ, c.obj, created)
		got, err := e.c.ParseWebhook(payload, header)
		if err != nil {
			t.Errorf("%s %s: %v", c.typ, c.name, err)
			continue
		}
		w := want
		w.ID, w.Type, w.Created = id, c.typ, created
		if *got != w {
			t.Errorf("%s %s:\n got  %+v\n want %+v", c.typ, c.name, *got, w)
		}
	}
}

// The ids read leniently agree with what stripe-go's own types make of the
// same objects (which handle an id or an expanded object alike).
func TestParseWebhookAgreesWithStripeGo(t *testing.T) {
	e := newEnv(t)
	objs := []struct {
		typ string
		obj map[string]any
	}{
		{pmassist.EventCheckoutCompleted, map[string]any{"id": "cs_1", "object": "checkout.session", "customer": "cus_1", "subscription": "sub_1", "client_reference_id": "ten_1"}},
		{pmassist.EventCheckoutCompleted, expanded(map[string]any{"id": "cs_1", "customer": "cus_1", "subscription": "sub_1", "client_reference_id": "ten_1"}, nil, "customer", "subscription")},
		{pmassist.EventSubscriptionUpdated, expanded(map[string]any{"id": "sub_1", "object": "subscription", "customer": "cus_1", "metadata": map[string]any{"tenant_id": "ten_1"}}, nil, "customer")},
		{pmassist.EventInvoicePaid, expanded(map[string]any{"id": "in_1", "customer": "cus_1", "subscription": "sub_1", "subscription_details": map[string]any{"metadata": map[string]any{"tenant_id": "ten_1"}}}, nil, "customer", "subscription")},
	}
	for _, o := range objs {
		raw, _ := json.Marshal(o.obj)
		var wantCus, wantSub, wantTenant string
		switch {
		case strings.HasPrefix(o.typ, "checkout."):
			var s stripego.CheckoutSession
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			wantCus, wantSub, wantTenant = s.Customer.ID, s.Subscription.ID, s.ClientReferenceID
		case strings.HasPrefix(o.typ, "customer.subscription."):
			var s stripego.Subscription
			if err := json.Unmarshal(raw, &s); err != nil {
				t.Fatal(err)
			}
			wantCus, wantSub, wantTenant = s.Customer.ID, s.ID, s.Metadata["tenant_id"]
		default:
			var in stripego.Invoice
			if err := json.Unmarshal(raw, &in); err != nil {
				t.Fatal(err)
			}
			wantCus, wantSub, wantTenant = in.Customer.ID, in.Subscription.ID, in.SubscriptionDetails.Metadata["tenant_id"]
		}
		payload, header := fake.StripeEvent(testWebhookSecret, "evt_1", o.typ, o.obj, time.Now())
		got, err := e.c.ParseWebhook(payload, header)
		if err != nil {
			t.Fatal(err)
		}
		if got.CustomerID != wantCus || got.SubscriptionID != wantSub || got.TenantID != wantTenant || wantCus != "cus_1" || wantSub != "sub_1" {
			t.Errorf("%s: got %+v, stripe-go says %s %s %s", o.typ, got, wantCus, wantSub, wantTenant)
		}
	}
}

func TestParseWebhookOtherTypes(t *testing.T) {
	e := newEnv(t)
	created := time.Unix(1700000000, 0).UTC()
	payload := fake.StripeEventPayload("evt_other", "charge.succeeded", map[string]any{"id": "ch_1", "object": "charge", "customer": "cus_1"}, created)
	got, err := e.c.ParseWebhook(payload, fake.SignStripe(testWebhookSecret, payload, time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	if *got != (pmassist.BillingEvent{ID: "evt_other", Type: "charge.succeeded", Created: created}) {
		t.Errorf("got %+v", *got)
	}
}

// An endpoint created with a newer API version sends events whose
// api_version is not v76's: accepted on purpose (see ParseWebhook).
func TestParseWebhookOtherAPIVersion(t *testing.T) {
	e := newEnv(t)
	obj := map[string]any{"id": "sub_1", "object": "subscription", "customer": "cus_1", "metadata": map[string]any{"tenant_id": "ten_1"},
		"items": map[string]any{"object": "list", "data": []any{map[string]any{"id": "si_1", "current_period_end": 1800000000}}}}
	payload := fake.StripeEventPayload("evt_new", pmassist.EventSubscriptionUpdated, obj, time.Now())
	for _, v := range []string{"2025-03-31.basil", "2024-06-20", "2020-08-27", ""} {
		p := bytes.Replace(payload, []byte(`"api_version":"`+fake.StripeAPIVersion+`"`), []byte(`"api_version":"`+v+`"`), 1)
		if bytes.Equal(p, payload) {
			t.Fatal("api_version not found in the payload")
		}
		got, err := e.c.ParseWebhook(p, fake.SignStripe(testWebhookSecret, p, time.Now()))
		if err != nil {
			t.Fatalf("api_version %q: %v", v, err)
		}
		if got.SubscriptionID != "sub_1" || got.CustomerID != "cus_1" || got.TenantID != "ten_1" {
			t.Errorf("api_version %q: %+v", v, got)
		}
	}
}

func TestParseWebhookRefused(t *testing.T) {
	e := newEnv(t)
	obj := map[string]any{"id": "sub_1", "object": "subscription", "customer": "cus_1"}
	now := time.Now()
	payload, good := fake.StripeEvent(testWebhookSecret, "evt_1", pmassist.EventSubscriptionUpdated, obj, now)
	_, wrongSecret := fake.StripeEvent("whsec_someone_elses_secret", "evt_1", pmassist.EventSubscriptionUpdated, obj, now)
	_, stale := fake.StripeEventAt(testWebhookSecret, "evt_1", pmassist.EventSubscriptionUpdated, obj, now, now.Add(-301*time.Second))
	tampered := bytes.Replace(payload, []byte("cus_1"), []byte("cus_2"), 1)
	ts := strings.SplitN(good, ",", 2)[0]

	cases := []struct {
		name    string
		payload []byte
		header  string
	}{
		{"no header", payload, ""},
		{"malformed header", payload, "garbage"},
		{"no v1 signature", payload, ts},
		{"bad signature", payload, ts + ",v1=" + strings.Repeat("ab", 32)},
		{"not hex", payload, ts + ",v1=zz"},
		{"wrong secret", payload, wrongSecret},
		{"stale timestamp", payload, stale},
		{"tampered payload", tampered, good},
		{"no timestamp", payload, strings.SplitN(good, ",", 2)[1]},
	}
	for _, c := range cases {
		got, err := e.c.ParseWebhook(c.payload, c.header)
		if got != nil || pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED {
			t.Errorf("%s: %+v, %v; want EUNAUTHORIZED", c.name, got, err)
			continue
		}
		e.noSecrets(t, err)
	}
	if _, err := e.c.ParseWebhook(payload, stale); !strings.Contains(pmassist.ErrorMessage(err), "old") {
		t.Errorf("stale: message %q", pmassist.ErrorMessage(err))
	}

	// Without a webhook secret nothing verifies (an empty HMAC key would
	// let anyone sign).
	noSecret := newEnv(t, func(c *Config) { c.WebhookSecret = "" })
	_, emptySigned := fake.StripeEvent("", "evt_1", pmassist.EventSubscriptionUpdated, obj, now)
	_, err := noSecret.c.ParseWebhook(payload, emptySigned)
	wantCode(t, err, pmassist.EUNAUTHORIZED)

	// The good one passes.
	if _, err := e.c.ParseWebhook(payload, good); err != nil {
		t.Fatal(err)
	}
}

func TestParseWebhookMalformed(t *testing.T) {
	e := newEnv(t)
	cases := []struct {
		body string
		code string // "" means accepted
	}{
		{`not json`, pmassist.EINVALID},
		{``, pmassist.EINVALID},
		{`[]`, pmassist.EINVALID},
		{`"evt_1"`, pmassist.EINVALID},
		{`{`, pmassist.EINVALID},
		{`{}`, pmassist.EINVALID},
		{`{"id":"evt_1"}`, pmassist.EINVALID},
		{`{"type":"invoice.paid"}`, pmassist.EINVALID},
		{`{"id":42,"type":"invoice.paid"}`, pmassist.EINVALID},
		{`{"id":"evt_1","type":"invoice.paid","created":"yesterday"}`, pmassist.EINVALID},
		{`{"id":"evt_1","type":"invoice.paid","data":{"object":{"customer":42}}}`, pmassist.EINVALID},
		{`{"id":"evt_1","type":"invoice.paid","data":{"object":{"customer":["cus_1"]}}}`, pmassist.EINVALID},
		{`{"id":"evt_1","type":"invoice.paid","data":{"object":{"subscription_details":{"metadata":{"tenant_id":7}}}}}`, pmassist.EINVALID},
		{`{"id":"evt_1","type":"customer.subscription.updated","data":{"object":{"id":{"nested":true}}}}`, pmassist.EINVALID},
		{`{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"client_reference_id":false}}}`, pmassist.EINVALID},
		{`{"id":"evt_1","type":"checkout.session.completed","data":{"object":"cs_1"}}`, pmassist.EINVALID},
		{`{"id":"evt_1","type":"checkout.session.completed","data":{}}`, pmassist.EINVALID},
		{`{"id":"evt_1","type":"invoice.paid","data":null}`, ""},
		{`{"id":"evt_1","type":"invoice.paid","data":{"object":null}}`, ""},
		{`{"id":"evt_1","type":"invoice.paid","data":{"object":{}}}`, ""},
		{`{"id":"evt_1","type":"invoice.paid","data":{"object":{"customer":null,"subscription":{},"parent":null,"subscription_details":null}}}`, ""},
		{`{"id":"evt_1","type":"invoice.paid","data":{"object":{"parent":{"subscription_details":{"subscription":{"id":"sub_9"},"metadata":null}}}}}`, ""},
		{`{"id":"evt_1","type":"customer.subscription.updated","data":{"object":{"id":"sub_1","metadata":{"other":{"deep":[1,2]},"tenant_id":null}}}}`, ""},
		{`{"id":"evt_1","type":"customer.subscription.updated","created":-5,"data":{"object":{"id":"sub_1"}}}`, ""},
	}
	for _, c := range cases {
		body := []byte(c.body)
		got, err := e.c.ParseWebhook(body, fake.SignStripe(testWebhookSecret, body, time.Now()))
		if code := pmassist.ErrorCode(err); code != c.code {
			t.Errorf("%s: %+v, %v; want code %q", c.body, got, err, c.code)
		}
		if err == nil && got == nil {
			t.Errorf("%s: nil event without error", c.body)
		}
	}
}

// FuzzParseWebhook feeds signed bodies (more seeds in
// testdata/fuzz/FuzzParseWebhook): nothing may panic, every refusal is
// EINVALID (the signature is good), parsing is deterministic, and an
// accepted event has an id and a type and ids no longer than the body
// could spell (three bytes per body byte: JSON turns an invalid byte into
// U+FFFD), in valid UTF-8.
func FuzzParseWebhook(f *testing.F) {
	f.Add([]byte(`{"id":"evt_1","type":"invoice.paid","data":{"object":{"customer":"cus_1","subscription":"sub_1"}}}`))
	f.Add([]byte(`{"id":"evt_1","type":"checkout.session.completed","data":{"object":{"customer":{"id":"cus_1"},"client_reference_id":"t"}}}`))
	f.Add([]byte(`{"id":"evt_1","type":"customer.subscription.deleted","data":{"object":{"id":"sub_1","metadata":{"tenant_id":"t"}}},"request":"req_1"}`))
	f.Add([]byte(`{"id":"evt_1","type":"invoice.payment_failed","data":{"object":{"parent":{"subscription_details":{"subscription":"sub_1"}}},"previous_attributes":[]}}`))
	f.Add([]byte(`{"data":{"object":{"a":{"b":{"c":[[[[[]]]]]}}}}}`))
	c, err := New(Config{SecretKey: "sk_test_fuzz", WebhookSecret: "whsec_fuzz"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := c.ParseWebhook(body, fake.SignStripe("whsec_fuzz", body, time.Now()))
		if err != nil && pmassist.ErrorCode(err) != pmassist.EINVALID {
			t.Fatalf("signed body refused with %v", err)
		}
		if err == nil && (ev == nil || ev.ID == "" || ev.Type == "") {
			t.Fatalf("accepted %+v", ev)
		}
		ev2, err2 := c.ParseWebhook(body, fake.SignStripe("whsec_fuzz", body, time.Now()))
		if (err == nil) != (err2 == nil) || !reflect.DeepEqual(ev, ev2) {
			t.Fatalf("not deterministic: %+v, %v then %+v, %v", ev, err, ev2, err2)
		}
		if err != nil {
			return
		}
		for _, s := range []string{ev.ID, ev.Type, ev.CustomerID, ev.SubscriptionID, ev.TenantID} {
			if len(s) > 3*len(body) || !utf8.ValidString(s) {
				t.Fatalf("accepted %+v out of %d bytes", ev, len(body))
			}
		}
		if !ev.Created.IsZero() && ev.Created.Unix() <= 0 {
			t.Fatalf("created %v", ev.Created)
		}
	})
}
