package stripe

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

const (
	testKey           = "sk_test_51PmAssistSecretKey0123456789abcdef"
	testWebhookSecret = "whsec_PmAssistWebhookSecret0123456789"
	pricePro          = "price_pro_monthly"
	priceEnterprise   = "price_enterprise_monthly"
)

// syncBuffer is a log sink safe for stripe-go's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	fake *fake.Stripe
	srv  *httptest.Server
	c    *Client
	logs *syncBuffer
}

// newEnv serves a fake Stripe and returns a client for it; mod adjusts the
// client's configuration.
func newEnv(t *testing.T, mod ...func(*Config)) *env {
	t.Helper()
	e := &env{fake: fake.NewStripe(testKey), logs: &syncBuffer{}}
	e.srv = httptest.NewServer(e.fake)
	t.Cleanup(e.srv.Close)
	cfg := Config{
		SecretKey:       testKey,
		WebhookSecret:   testWebhookSecret,
		APIURL:          e.srv.URL,
		PricePro:        pricePro,
		PriceEnterprise: priceEnterprise,
		HTTPClient:      e.srv.Client(),
		Logger:          slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.c = c
	return e
}

// noSecrets fails when err or the logs quote the secret key.
func (e *env) noSecrets(t *testing.T, err error) {
	t.Helper()
	for _, s := range []string{err.Error(), pmassist.ErrorMessage(err), e.logs.String()} {
		if strings.Contains(s, testKey) || strings.Contains(s, testWebhookSecret) {
			t.Errorf("a secret leaks: %q", s)
		}
	}
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := pmassist.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func TestNewValidates(t *testing.T) {
	bad := []Config{
		{},
		{SecretKey: "  "},
		{SecretKey: "sk_test_1 2"},
		{SecretKey: "sk_test_1", APIURL: "api.stripe.com"},
		{SecretKey: "sk_test_1", APIURL: "/v1"},
		{SecretKey: "sk_test_1", APIURL: "ftp://api.stripe.com"},
		{SecretKey: "sk_test_1", APIURL: "http://"},
		{SecretKey: "sk_test_1", APIURL: "http://localhost:12111/?x=1"},
		{SecretKey: "sk_test_1", APIURL: "http://user:pw@localhost:12111"},
	}
	for _, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if cfg.SecretKey != "" && strings.Contains(err.Error(), cfg.SecretKey) {
			t.Errorf("New error quotes the key: %v", err)
		}
	}
	for _, u := range []string{"", "https://api.stripe.com", "http://127.0.0.1:12111/", "https://stripe.internal/proxy"} {
		if _, err := New(Config{SecretKey: "sk_test_1", APIURL: u}); err != nil {
			t.Errorf("New(APIURL %q): %v", u, err)
		}
	}
}

func TestCreateCustomerAndCheckout(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cus, err := e.c.CreateCustomer(ctx, "ten_1", "Acme", "owner@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	got := e.fake.Customers()
	if len(got) != 1 || got[0].ID != cus || got[0].Name != "Acme" || got[0].Email != "owner@acme.test" ||
		got[0].Metadata["tenant_id"] != "ten_1" {
		t.Fatalf("customers = %+v (id %q)", got, cus)
	}

	for _, tier := range []pmassist.Tier{pmassist.TierPro, pmassist.TierEnterprise} {
		u, err := e.c.CheckoutURL(ctx, pmassist.CheckoutRequest{
			TenantID: "ten_1", CustomerID: cus, Tier: tier,
			SuccessURL: "https://app.test/billing?checkout=done", CancelURL: "https://app.test/billing",
		})
		if err != nil {
			t.Fatal(err)
		}
		s, _ := e.fake.LastCheckout()
		want := map[pmassist.Tier]string{pmassist.TierPro: pricePro, pmassist.TierEnterprise: priceEnterprise}[tier]
		if u != s.URL || s.Mode != "subscription" || s.CustomerID != cus || s.ClientReferenceID != "ten_1" ||
			s.PriceID != want || s.Quantity != 1 || s.SubscriptionMetadata["tenant_id"] != "ten_1" ||
			s.Metadata["tenant_id"] != "ten_1" || s.Metadata["tier"] != string(tier) ||
			s.SuccessURL != "https://app.test/billing?checkout=done" || s.CancelURL != "https://app.test/billing" {
			t.Errorf("%s: url %q, session %+v", tier, u, s)
		}
	}

	u, err := e.c.PortalURL(ctx, cus, "https://app.test/billing")
	if err != nil {
		t.Fatal(err)
	}
	if ps := e.fake.PortalSessions(); len(ps) != 1 || ps[0].URL != u || ps[0].CustomerID != cus || ps[0].ReturnURL != "https://app.test/billing" {
		t.Errorf("portal %q, sessions %+v", u, ps)
	}

	// A customer Stripe does not know: resource_missing on a parameter
	// (HTTP 400) is ENOTFOUND too.
	_, err = e.c.PortalURL(ctx, "cus_gone", "")
	wantCode(t, err, pmassist.ENOTFOUND)
	e.noSecrets(t, err)
}

func TestCheckoutRefusals(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.PriceEnterprise = "" })
	ctx := context.Background()
	if !e.c.PriceConfigured(pmassist.TierPro) || e.c.PriceConfigured(pmassist.TierEnterprise) || e.c.PriceConfigured(pmassist.TierFree) {
		t.Error("PriceConfigured is wrong")
	}
	req := pmassist.CheckoutRequest{TenantID: "ten_1", Tier: pmassist.TierEnterprise, SuccessURL: "https://app.test/ok"}
	_, err := e.c.CheckoutURL(ctx, req)
	wantCode(t, err, pmassist.EINVALID)
	if msg := pmassist.ErrorMessage(err); msg != "the enterprise plan has no Stripe price configured (PMASSIST_STRIPE_PRICE_ENTERPRISE)" {
		t.Errorf("message %q", msg)
	}
	for _, r := range []pmassist.CheckoutRequest{
		{TenantID: "ten_1", Tier: pmassist.TierFree, SuccessURL: "https://app.test/ok"},
		{TenantID: "ten_1", Tier: "gold", SuccessURL: "https://app.test/ok"},
		{Tier: pmassist.TierPro, SuccessURL: "https://app.test/ok"},
		{TenantID: "ten_1", Tier: pmassist.TierPro},
	} {
		_, err := e.c.CheckoutURL(ctx, r)
		wantCode(t, err, pmassist.EINVALID)
	}
	if n := e.fake.Calls(); n != 0 {
		t.Errorf("refused checkouts reached Stripe %d times", n)
	}
}

func TestSubscription(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	end := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	e.fake.SetSubscription(fake.StripeSubscription{ID: "sub_pro", CustomerID: "cus_1", Status: "past_due",
		PriceID: pricePro, CurrentPeriodEnd: end, CancelAtPeriodEnd: true, TenantID: "ten_1"})
	e.fake.SetSubscription(fake.StripeSubscription{ID: "sub_ent", CustomerID: "cus_2", Status: "active",
		PriceID: priceEnterprise, CurrentPeriodEnd: end})
	e.fake.SetSubscription(fake.StripeSubscription{ID: "sub_other", CustomerID: "cus_3", Status: "trialing", PriceID: "price_someone_else"})

	got, err := e.c.Subscription(ctx, "sub_pro")
	if err != nil {
		t.Fatal(err)
	}
	want := pmassist.SubscriptionInfo{ID: "sub_pro", CustomerID: "cus_1", Status: pmassist.StripePastDue, Tier: pmassist.TierPro,
		PriceID: pricePro, CurrentPeriodEnd: end, CancelAtPeriodEnd: true, TenantID: "ten_1"}
	if *got != want {
		t.Errorf("sub_pro = %+v\nwant      %+v", *got, want)
	}
	got, err = e.c.Subscription(ctx, "sub_ent")
	if err != nil || got.Tier != pmassist.TierEnterprise || got.Status != pmassist.StripeActive || got.TenantID != "" || got.CancelAtPeriodEnd {
		t.Errorf("sub_ent = %+v, %v", got, err)
	}
	got, err = e.c.Subscription(ctx, "sub_other")
	if err != nil || got.Tier != "" || got.PriceID != "price_someone_else" || !got.CurrentPeriodEnd.IsZero() {
		t.Errorf("sub_other = %+v, %v", got, err)
	}

	// CompleteCheckout's subscription carries the checkout's tenant.
	cus, _ := e.c.CreateCustomer(ctx, "ten_9", "Nine", "")
	if _, err := e.c.CheckoutURL(ctx, pmassist.CheckoutRequest{TenantID: "ten_9", CustomerID: cus, Tier: pmassist.TierPro, SuccessURL: "https://a.test"}); err != nil {
		t.Fatal(err)
	}
	s, _ := e.fake.LastCheckout()
	sub, err := e.fake.CompleteCheckout(s.ID, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	got, err = e.c.Subscription(ctx, sub.ID)
	if err != nil || got.TenantID != "ten_9" || got.CustomerID != cus || got.Tier != pmassist.TierPro || got.Status != "active" {
		t.Errorf("completed checkout's subscription = %+v, %v", got, err)
	}

	e.fake.DeleteSubscription("sub_pro")
	_, err = e.c.Subscription(ctx, "sub_pro")
	wantCode(t, err, pmassist.ENOTFOUND)
	var ae *APIError
	if !errors.As(err, &ae) || ae.HTTPStatus != 404 || ae.Code != "resource_missing" {
		t.Errorf("error %#v", err)
	}
	if !strings.Contains(pmassist.ErrorMessage(err), "No such subscription: 'sub_pro'") {
		t.Errorf("message %q", pmassist.ErrorMessage(err))
	}
	e.noSecrets(t, err)

	_, err = e.c.Subscription(ctx, "")
	wantCode(t, err, pmassist.EINVALID)
	// An id with path characters stays one path segment.
	_, err = e.c.Subscription(ctx, "../customers")
	wantCode(t, err, pmassist.ENOTFOUND)
}

func TestRefusedKey(t *testing.T) {
	e := newEnv(t)
	// The fake accepts testKey only; this client sends another key.
	const otherKey = "sk_test_51TheWrongKeyEntirely99999999zzzz"
	c, err := New(Config{SecretKey: otherKey, APIURL: e.srv.URL, PricePro: pricePro, Logger: slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	calls := []func() error{
		func() error { _, err := c.Subscription(ctx, "sub_1"); return err },
		func() error { _, err := c.CreateCustomer(ctx, "ten_1", "A", ""); return err },
		func() error {
			_, err := c.CheckoutURL(ctx, pmassist.CheckoutRequest{TenantID: "ten_1", Tier: pmassist.TierPro, SuccessURL: "https://a.test"})
			return err
		},
		func() error { _, err := c.PortalURL(ctx, "cus_1", ""); return err },
	}
	for _, call := range calls {
		err := call()
		wantCode(t, err, pmassist.EUNAVAILABLE)
		if !strings.Contains(pmassist.ErrorMessage(err), "Stripe refused the secret key") {
			t.Errorf("message %q", pmassist.ErrorMessage(err))
		}
		for _, s := range []string{err.Error(), pmassist.ErrorMessage(err), e.logs.String()} {
			if strings.Contains(s, otherKey) {
				t.Errorf("the key leaks: %q", s)
			}
		}
	}
	if !strings.Contains(e.logs.String(), "stripe-go") {
		t.Error("stripe-go's log lines did not reach the logger")
	}
}

func TestUnavailable(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fake.SetSubscription(fake.StripeSubscription{ID: "sub_1", CustomerID: "cus_1", Status: "active", PriceID: pricePro})

	// A GET that fails with 500 once is retried by stripe-go and succeeds.
	e.fake.Fail(http.StatusInternalServerError, 1)
	if _, err := e.c.Subscription(ctx, "sub_1"); err != nil {
		t.Fatalf("one 500 then success: %v", err)
	}
	if n := e.fake.Calls(); n != 2 {
		t.Errorf("calls = %d, want 2 (one retry)", n)
	}

	// Persistent 500: EUNAVAILABLE after the one retry.
	e.fake.Fail(http.StatusInternalServerError, 5)
	before := e.fake.Calls()
	_, err := e.c.Subscription(ctx, "sub_1")
	wantCode(t, err, pmassist.EUNAVAILABLE)
	if n := e.fake.Calls() - before; n != 1+maxNetworkRetries {
		t.Errorf("calls = %d, want %d", n, 1+maxNetworkRetries)
	}
	e.noSecrets(t, err)

	// 429 (rate limit, not a lock timeout): not retried, EUNAVAILABLE.
	e.fake.Fail(http.StatusTooManyRequests, 1)
	before = e.fake.Calls()
	_, err = e.c.CreateCustomer(ctx, "ten_1", "A", "")
	wantCode(t, err, pmassist.EUNAVAILABLE)
	if !strings.Contains(pmassist.ErrorMessage(err), "rate limiting") {
		t.Errorf("message %q", pmassist.ErrorMessage(err))
	}
	if n := e.fake.Calls() - before; n != 1 {
		t.Errorf("429: calls = %d, want 1", n)
	}
	e.noSecrets(t, err)

	// A 500 on a POST is not retried (Stripe's idempotency layer would
	// answer the same).
	e.fake.Fail(http.StatusInternalServerError, 1)
	_, err = e.c.CheckoutURL(ctx, pmassist.CheckoutRequest{TenantID: "ten_1", Tier: pmassist.TierPro, SuccessURL: "https://a.test"})
	wantCode(t, err, pmassist.EUNAVAILABLE)

	// A cancelled context: EUNAVAILABLE that is also context.Canceled.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.c.Subscription(cctx, "sub_1")
	wantCode(t, err, pmassist.EUNAVAILABLE)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v is not context.Canceled", err)
	}

	// Nobody listening.
	e.srv.Close()
	_, err = e.c.Subscription(ctx, "sub_1")
	wantCode(t, err, pmassist.EUNAVAILABLE)
	e.noSecrets(t, err)
}

// A 400 for a request Stripe finds invalid (say, a price that does not
// exist in this account) is internal: our configuration or our bug.
func TestInvalidRequestIsInternal(t *testing.T) {
	e := newEnv(t)
	err := e.c.fail("create checkout session", stripeErrorFor(400, "invalid_request_error", "parameter_unknown", "Received unknown parameter: foo"))
	wantCode(t, err, pmassist.EINTERNAL)
	if !strings.Contains(err.Error(), "Received unknown parameter: foo") {
		t.Errorf("error %q", err)
	}
}

func stripeErrorFor(status int, typ, code, msg string) error {
	return &stripego.Error{HTTPStatusCode: status, Type: stripego.ErrorType(typ), Code: stripego.ErrorCode(code), Msg: msg}
}
