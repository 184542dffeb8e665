package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
)

const testStripeKey = "sk_test_51FakeKeyForTheStandIn0123456789"

// stripeCall makes a form-encoded Stripe request and decodes the JSON
// answer.
func stripeCall(t *testing.T, base, key, method, path string, form url.Values, hdr ...string) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s %s: status %d, body not JSON: %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, m
}

func stripeErr(t *testing.T, m map[string]any) map[string]any {
	t.Helper()
	e, ok := m["error"].(map[string]any)
	if !ok {
		t.Fatalf("no error object in %v", m)
	}
	return e
}

func TestStripeKeyCheck(t *testing.T) {
	srv := serve(t, NewStripe(testStripeKey))
	for _, key := range []string{"", "sk_test_wrongwrongwrongwrong9876"} {
		st, m := stripeCall(t, srv.URL, key, "GET", "/v1/subscriptions/sub_1", nil)
		if st != http.StatusUnauthorized {
			t.Fatalf("key %q: status %d, want 401", key, st)
		}
		e := stripeErr(t, m)
		msg, _ := e["message"].(string)
		if e["type"] != "invalid_request_error" || !strings.HasPrefix(msg, "Invalid API Key provided: ") {
			t.Errorf("key %q: error %v", key, e)
		}
		if key != "" && strings.Contains(msg, key) {
			t.Errorf("401 message quotes the whole key: %q", msg)
		}
	}
	// Basic auth with the key as user name is accepted, as by Stripe.
	req, _ := http.NewRequest("POST", srv.URL+"/v1/customers", strings.NewReader("name=A"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testStripeKey, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("basic auth: status %d", resp.StatusCode)
	}
}

func TestStripeNotFoundShape(t *testing.T) {
	s := NewStripe(testStripeKey)
	srv := serve(t, s)
	st, m := stripeCall(t, srv.URL, testStripeKey, "GET", "/v1/subscriptions/sub_123", nil)
	if st != http.StatusNotFound {
		t.Fatalf("status %d, want 404", st)
	}
	e := stripeErr(t, m)
	if e["type"] != "invalid_request_error" || e["code"] != "resource_missing" ||
		e["message"] != "No such subscription: 'sub_123'" || e["param"] != "id" {
		t.Errorf("error = %v", e)
	}
	st, m = stripeCall(t, srv.URL, testStripeKey, "GET", "/v1/nothing_here", nil)
	if st != http.StatusNotFound || stripeErr(t, m)["type"] != "invalid_request_error" {
		t.Errorf("unknown path: %d %v", st, m)
	}

	s.SetSubscription(StripeSubscription{ID: "sub_123", CustomerID: "cus_1", Status: "active", PriceID: "price_pro"})
	if st, _ := stripeCall(t, srv.URL, testStripeKey, "GET", "/v1/subscriptions/sub_123", nil); st != http.StatusOK {
		t.Fatalf("after SetSubscription: status %d", st)
	}
	s.DeleteSubscription("sub_123")
	if st, _ := stripeCall(t, srv.URL, testStripeKey, "GET", "/v1/subscriptions/sub_123", nil); st != http.StatusNotFound {
		t.Fatalf("after DeleteSubscription: status %d", st)
	}
}

func TestStripeCheckoutAndComplete(t *testing.T) {
	s := NewStripe(testStripeKey)
	srv := serve(t, s)
	st, cus := stripeCall(t, srv.URL, testStripeKey, "POST", "/v1/customers",
		url.Values{"name": {"Acme"}, "email": {"a@acme.test"}, "metadata[tenant_id]": {"ten_1"}})
	if st != 200 || cus["object"] != "customer" || !strings.HasPrefix(cus["id"].(string), "cus_") {
		t.Fatalf("customer: %d %v", st, cus)
	}
	cusID := cus["id"].(string)
	if cs := s.Customers(); len(cs) != 1 || cs[0].Metadata["tenant_id"] != "ten_1" || cs[0].Email != "a@acme.test" {
		t.Errorf("Customers() = %+v", cs)
	}

	form := url.Values{
		"mode":                                   {"subscription"},
		"customer":                               {cusID},
		"client_reference_id":                    {"ten_1"},
		"line_items[0][price]":                   {"price_pro"},
		"line_items[0][quantity]":                {"1"},
		"subscription_data[metadata][tenant_id]": {"ten_1"},
		"metadata[tenant_id]":                    {"ten_1"},
		"metadata[tier]":                         {"pro"},
		"success_url":                            {"https://app.test/billing?ok=1"},
		"cancel_url":                             {"https://app.test/billing"},
	}
	st, sess := stripeCall(t, srv.URL, testStripeKey, "POST", "/v1/checkout/sessions", form)
	if st != 200 || sess["object"] != "checkout.session" {
		t.Fatalf("checkout: %d %v", st, sess)
	}
	id := sess["id"].(string)
	if sess["url"] != StripeCheckoutURL+id || !strings.HasPrefix(id, "cs_") {
		t.Errorf("session id %q url %v", id, sess["url"])
	}
	last, ok := s.LastCheckout()
	if !ok || last.ID != id || last.CustomerID != cusID || last.PriceID != "price_pro" || last.Quantity != 1 ||
		last.ClientReferenceID != "ten_1" || last.SubscriptionMetadata["tenant_id"] != "ten_1" ||
		last.Metadata["tier"] != "pro" || last.Status != "open" {
		t.Errorf("LastCheckout() = %+v", last)
	}

	sub, err := s.CompleteCheckout(id, time.Date(2025, 1, 15, 10, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if sub.Status != "active" || sub.CustomerID != cusID || sub.PriceID != "price_pro" || sub.TenantID != "ten_1" ||
		!sub.CurrentPeriodEnd.Equal(time.Date(2025, 2, 15, 10, 0, 0, 0, time.UTC)) {
		t.Errorf("CompleteCheckout = %+v", sub)
	}
	if _, err := s.CompleteCheckout(id, time.Now()); err == nil {
		t.Error("a session completed twice")
	}
	if _, err := s.CompleteCheckout("cs_nope", time.Now()); err == nil {
		t.Error("an unknown session completed")
	}
	if obj, _ := s.CheckoutSessionObject(id); obj["subscription"] != sub.ID || obj["status"] != "complete" {
		t.Errorf("session object after completion: %v", obj)
	}

	st, got := stripeCall(t, srv.URL, testStripeKey, "GET", "/v1/subscriptions/"+sub.ID, nil)
	if st != 200 || got["object"] != "subscription" || got["customer"] != cusID || got["status"] != "active" ||
		got["cancel_at_period_end"] != false || got["current_period_end"] != float64(sub.CurrentPeriodEnd.Unix()) {
		t.Fatalf("subscription: %d %v", st, got)
	}
	if md := got["metadata"].(map[string]any); md["tenant_id"] != "ten_1" {
		t.Errorf("metadata = %v", md)
	}
	items := got["items"].(map[string]any)
	data := items["data"].([]any)
	if items["object"] != "list" || len(data) != 1 || data[0].(map[string]any)["price"].(map[string]any)["id"] != "price_pro" {
		t.Errorf("items = %v", items)
	}

	st, portal := stripeCall(t, srv.URL, testStripeKey, "POST", "/v1/billing_portal/sessions",
		url.Values{"customer": {cusID}, "return_url": {"https://app.test/billing"}})
	if st != 200 || portal["object"] != "billing_portal.session" || !strings.HasPrefix(portal["url"].(string), StripePortalURL) {
		t.Errorf("portal: %d %v", st, portal)
	}
	if ps := s.PortalSessions(); len(ps) != 1 || ps[0].ReturnURL != "https://app.test/billing" {
		t.Errorf("PortalSessions() = %+v", ps)
	}
}

func TestStripeRefusesBadRequests(t *testing.T) {
	s := NewStripe(testStripeKey)
	srv := serve(t, s)
	cases := []struct {
		path  string
		form  url.Values
		code  string
		param string
	}{
		{"/v1/customers", url.Values{"nickname": {"x"}}, "parameter_unknown", "nickname"},
		{"/v1/checkout/sessions", url.Values{"success_url": {"https://a.test"}}, "parameter_missing", "mode"},
		{"/v1/checkout/sessions", url.Values{"mode": {"subscription"}, "success_url": {"https://a.test"}}, "parameter_missing", "line_items[0][price]"},
		{"/v1/checkout/sessions", url.Values{"mode": {"subscription"}, "success_url": {"https://a.test"},
			"line_items[0][price]": {"price_1"}, "customer": {"cus_unknown"}}, "resource_missing", "customer"},
		{"/v1/billing_portal/sessions", url.Values{"customer": {"cus_unknown"}}, "resource_missing", "customer"},
	}
	for _, c := range cases {
		st, m := stripeCall(t, srv.URL, testStripeKey, "POST", c.path, c.form)
		e := stripeErr(t, m)
		if st != http.StatusBadRequest || e["code"] != c.code || e["param"] != c.param {
			t.Errorf("%s %v: %d %v", c.path, c.form, st, e)
		}
	}
	if len(s.Sessions()) != 0 {
		t.Errorf("refused sessions were recorded: %+v", s.Sessions())
	}
}

func TestStripeFailAndIdempotency(t *testing.T) {
	s := NewStripe(testStripeKey)
	srv := serve(t, s)
	s.Fail(http.StatusInternalServerError, 1)
	st, m := stripeCall(t, srv.URL, testStripeKey, "GET", "/v1/subscriptions/sub_1", nil)
	if st != 500 || stripeErr(t, m)["type"] != "api_error" {
		t.Errorf("injected 500: %d %v", st, m)
	}
	s.Fail(http.StatusTooManyRequests, 1)
	st, m = stripeCall(t, srv.URL, testStripeKey, "GET", "/v1/subscriptions/sub_1", nil)
	if st != 429 || stripeErr(t, m)["code"] != "rate_limit" {
		t.Errorf("injected 429: %d %v", st, m)
	}
	if st, _ := stripeCall(t, srv.URL, testStripeKey, "GET", "/v1/subscriptions/sub_1", nil); st != 404 {
		t.Errorf("after the failures: %d", st)
	}
	if s.Calls() != 3 {
		t.Errorf("Calls() = %d", s.Calls())
	}

	_, a := stripeCall(t, srv.URL, testStripeKey, "POST", "/v1/customers", url.Values{"name": {"A"}}, "Idempotency-Key", "k1")
	_, b := stripeCall(t, srv.URL, testStripeKey, "POST", "/v1/customers", url.Values{"name": {"A"}}, "Idempotency-Key", "k1")
	if a["id"] != b["id"] || len(s.Customers()) != 1 {
		t.Errorf("idempotent replay created %d customers (%v, %v)", len(s.Customers()), a["id"], b["id"])
	}
}

func TestStripeEventVerifies(t *testing.T) {
	const secret = "whsec_test_secret"
	obj := map[string]any{"id": "sub_1", "object": "subscription", "customer": "cus_1", "metadata": map[string]any{"tenant_id": "ten_1"}}
	created := time.Now().Add(-time.Minute).Truncate(time.Second)
	payload, header := StripeEvent(secret, "evt_1", "customer.subscription.updated", obj, created)
	// The strict ConstructEvent also checks api_version: the stand-in's
	// events carry the one stripe-go v76 pins.
	ev, err := webhook.ConstructEvent(payload, header, secret)
	if err != nil {
		t.Fatal(err)
	}
	if ev.ID != "evt_1" || ev.Type != "customer.subscription.updated" || ev.Created != created.Unix() ||
		ev.GetObjectValue("customer") != "cus_1" || ev.APIVersion != StripeAPIVersion {
		t.Errorf("event = %+v", ev)
	}
	_, stale := StripeEventAt(secret, "evt_2", "invoice.paid", obj, created, time.Now().Add(-10*time.Minute))
	if _, err := webhook.ConstructEvent(payload, stale, secret); err == nil {
		t.Error("a stale signature (of another payload) verified")
	}
	p2, stale2 := StripeEventAt(secret, "evt_2", "invoice.paid", obj, created, time.Now().Add(-10*time.Minute))
	if _, err := webhook.ConstructEvent(p2, stale2, secret); err != webhook.ErrTooOld {
		t.Errorf("stale signature: err = %v, want ErrTooOld", err)
	}
	if err := webhook.ValidatePayload([]byte("not json"), SignStripe(secret, []byte("not json"), time.Now()), secret); err != nil {
		t.Errorf("SignStripe: %v", err)
	}
}
