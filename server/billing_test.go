package server

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

// stripeWebhook posts a signed Stripe event to the appliance.
func (e *env) stripeWebhook(payload []byte, signature string) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/webhooks/stripe", bytes.NewReader(payload))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return resp{res, b.Bytes()}
}

func (e *env) auditActions(c *client) []string {
	e.t.Helper()
	var out []string
	for _, ev := range c.expect(200, "GET", "/api/v1/audit", nil)["events"].([]any) {
		out = append(out, ev.(map[string]any)["action"].(string))
	}
	return out
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestBillingOff(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	b := op.expect(200, "GET", "/api/v1/billing", nil)
	if b["billing_enabled"] != false || b["tier"] != "enterprise" || b["status"] != "none" || len(b["plans"].([]any)) != 3 ||
		len(b["can_checkout"].([]any)) != 0 {
		t.Fatalf("billing off: %v", b)
	}
	free := b["plans"].([]any)[0].(map[string]any)
	limits := free["limits"].(map[string]any)
	if free["tier"] != "free" || free["price_usd"].(float64) != 0 || limits["integrations"].(float64) != 1 ||
		limits["items_per_month"].(float64) != 100 || limits["api_requests_per_minute"].(float64) != 60 {
		t.Fatalf("free plan: %v", free)
	}
	if ent := b["plans"].([]any)[2].(map[string]any)["limits"].(map[string]any); ent["integrations"] != nil || ent["custom_detection_rules"] != true {
		t.Fatalf("enterprise limits: %v", ent)
	}
	for _, path := range []string{"/api/v1/billing/checkout", "/api/v1/billing/portal"} {
		r := op.do("POST", path, map[string]string{"tier": "pro"})
		if r.StatusCode != 409 || r.errCode(t) != "conflict" || !strings.Contains(string(r.body), "billing is off") {
			t.Fatalf("%s with billing off: %d %s", path, r.StatusCode, r.body)
		}
	}
	if r := e.stripeWebhook([]byte(`{}`), "t=1,v1=00"); r.StatusCode != 404 {
		t.Fatalf("stripe webhook with billing off: %d %s", r.StatusCode, r.body)
	}
	page := op.get("/billing").want(t, 200)
	page.has(t, "Billing", "operator")
	if strings.Contains(string(page.body), `action="/billing/checkout"`) {
		t.Fatal("checkout form with billing off")
	}
}

func TestCheckoutAndPortalOwnerOnly(t *testing.T) {
	e := newEnvWith(t, envOptions{stripe: true}, func(c *Config) { c.DefaultTier = pmassist.TierFree })
	op, tenantID := e.setup()
	admin := e.invite(op, "admin@acme.test", "admin")
	for _, path := range []string{"/api/v1/billing/checkout", "/api/v1/billing/portal"} {
		if r := admin.do("POST", path, map[string]string{"tier": "pro"}); r.StatusCode != 403 {
			t.Fatalf("admin %s: %d", path, r.StatusCode)
		}
	}
	b := admin.expect(200, "GET", "/api/v1/billing", nil)
	if b["billing_enabled"] != true || b["tier"] != "free" || len(b["can_checkout"].([]any)) != 2 {
		t.Fatalf("billing on, free: %v", b)
	}
	if r := op.do("POST", "/api/v1/billing/portal", nil); r.StatusCode != 409 {
		t.Fatalf("portal before any checkout: %d %s", r.StatusCode, r.body)
	}
	if r := op.do("POST", "/api/v1/billing/checkout", map[string]string{"tier": "gold"}); r.StatusCode != 400 {
		t.Fatalf("bad tier: %d %s", r.StatusCode, r.body)
	}
	out := op.expect(200, "POST", "/api/v1/billing/checkout", map[string]string{"tier": "pro"})
	cs, ok := e.stripe.LastCheckout()
	if !ok || out["url"] != cs.URL || !strings.HasPrefix(cs.URL, fake.StripeCheckoutURL) {
		t.Fatalf("checkout url %v, session %+v", out, cs)
	}
	if cs.Mode != "subscription" || cs.ClientReferenceID != tenantID || cs.PriceID != stripePricePro || cs.Quantity != 1 ||
		cs.SubscriptionMetadata["tenant_id"] != tenantID || cs.CustomerID == "" ||
		cs.SuccessURL != "http://pm.test/billing?checkout=success" || cs.CancelURL != "http://pm.test/billing?checkout=canceled" {
		t.Fatalf("checkout session: %+v", cs)
	}
	// The customer is made once and reused.
	op.expect(200, "POST", "/api/v1/billing/checkout", map[string]string{"tier": "enterprise"})
	if cs2, _ := e.stripe.LastCheckout(); cs2.CustomerID != cs.CustomerID || cs2.PriceID != stripePriceEnt || len(e.stripe.Customers()) != 1 {
		t.Fatalf("second checkout: %+v, customers %v", cs2, e.stripe.Customers())
	}
	portal := op.expect(200, "POST", "/api/v1/billing/portal", nil)
	if ps := e.stripe.PortalSessions(); len(ps) != 1 || portal["url"] != ps[0].URL || ps[0].ReturnURL != "http://pm.test/billing" ||
		ps[0].CustomerID != cs.CustomerID {
		t.Fatalf("portal: %v %+v", portal, ps)
	}
	// The page's forms do the same for a browser.
	page := op.get("/billing").want(t, 200)
	csrf := csrfField(t, page)
	page.has(t, `action="/billing/checkout"`, `value="pro"`)
	r := op.post("/billing/checkout", form("csrf_token", csrf, "tier", "pro"))
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), fake.StripeCheckoutURL) {
		t.Fatalf("checkout form: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	if r := admin.post("/billing/checkout", form("csrf_token", csrfField(t, admin.get("/billing")), "tier", "pro")); r.StatusCode != 403 {
		t.Fatalf("admin checkout form: %d", r.StatusCode)
	}
	if strings.Contains(string(admin.get("/billing").body), `action="/billing/checkout"`) {
		t.Fatal("a non-owner sees checkout forms")
	}
}

func TestStripeWebhooksChangeTheTier(t *testing.T) {
	e := newEnvWith(t, envOptions{stripe: true}, func(c *Config) { c.DefaultTier = pmassist.TierFree })
	op, tenantID := e.setup()
	op.expect(200, "POST", "/api/v1/billing/checkout", map[string]string{"tier": "pro"})
	cs, _ := e.stripe.LastCheckout()
	sub, err := e.stripe.CompleteCheckout(cs.ID, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	obj, _ := e.stripe.CheckoutSessionObject(cs.ID)
	payload, sig := fake.StripeEvent(stripeWebhookSecret, "evt_checkout_1", pmassist.EventCheckoutCompleted, obj, time.Now())

	// Refused: no signature, wrong secret, tampered body, stale.
	if r := e.stripeWebhook(payload, ""); r.StatusCode != 401 {
		t.Fatalf("no signature: %d %s", r.StatusCode, r.body)
	}
	_, wrong := fake.StripeEvent("whsec_wrong", "evt_checkout_1", pmassist.EventCheckoutCompleted, obj, time.Now())
	if r := e.stripeWebhook(payload, wrong); r.StatusCode != 401 {
		t.Fatalf("wrong secret: %d %s", r.StatusCode, r.body)
	}
	if r := e.stripeWebhook(bytes.Replace(payload, []byte(tenantID), []byte(pmassist.NewID()), 1), sig); r.StatusCode != 401 {
		t.Fatalf("tampered body: %d %s", r.StatusCode, r.body)
	}
	stale, staleSig := fake.StripeEventAt(stripeWebhookSecret, "evt_checkout_1", pmassist.EventCheckoutCompleted, obj, time.Now(), time.Now().Add(-301*time.Second))
	if r := e.stripeWebhook(stale, staleSig); r.StatusCode != 401 {
		t.Fatalf("stale timestamp: %d %s", r.StatusCode, r.body)
	}
	if tier := op.expect(200, "GET", "/api/v1/tenant", nil)["tier"]; tier != "free" {
		t.Fatalf("a refused event changed the tier to %v", tier)
	}

	// Upgrade, applied once however often it is delivered.
	for i := 0; i < 2; i++ {
		if r := e.stripeWebhook(payload, sig); r.StatusCode != 200 {
			t.Fatalf("delivery %d: %d %s", i, r.StatusCode, r.body)
		}
	}
	b := op.expect(200, "GET", "/api/v1/billing", nil)
	if b["tier"] != "pro" || b["status"] != "active" || b["subscribed_tier"] != "pro" || b["current_period_end"] == nil ||
		len(b["can_checkout"].([]any)) != 0 {
		t.Fatalf("after checkout: %v", b)
	}
	if n := count(e.auditActions(op), pmassist.AuditTierChanged); n != 1 {
		t.Fatalf("%d tier changes recorded for one event", n)
	}
	if r := op.do("POST", "/api/v1/billing/checkout", map[string]string{"tier": "enterprise"}); r.StatusCode != 409 {
		t.Fatalf("second subscription: %d %s", r.StatusCode, r.body)
	}

	// Payment fails: grace, banner on every page, then free.
	sub.Status = pmassist.StripePastDue
	e.stripe.SetSubscription(sub)
	inv := map[string]any{"id": "in_1", "object": "invoice", "customer": sub.CustomerID, "subscription": sub.ID}
	payload, sig = fake.StripeEvent(stripeWebhookSecret, "evt_fail_1", pmassist.EventInvoicePaymentFail, inv, time.Now())
	if r := e.stripeWebhook(payload, sig); r.StatusCode != 200 {
		t.Fatalf("payment failed: %d %s", r.StatusCode, r.body)
	}
	b = op.expect(200, "GET", "/api/v1/billing", nil)
	grace, _ := time.Parse(time.RFC3339, b["grace_until"].(string))
	if b["tier"] != "pro" || b["status"] != "past_due" || !grace.Equal(e.clock.Now().Add(pmassist.GracePeriod)) {
		t.Fatalf("in grace: %v", b)
	}
	op.get("/").has(t, "The last payment failed")
	e.clock.Add(pmassist.GracePeriod + time.Minute)
	if err := e.billing.CheckExpiries(t.Context()); err != nil {
		t.Fatal(err)
	}
	op.login("op@acme.test", pw) // the session expired meanwhile
	if b = op.expect(200, "GET", "/api/v1/billing", nil); b["tier"] != "free" {
		t.Fatalf("after grace: %v", b)
	}

	// Deleted: free, whatever order the rest arrives in.
	e.stripe.DeleteSubscription(sub.ID)
	subObj := map[string]any{"id": sub.ID, "object": "subscription", "customer": sub.CustomerID, "status": "canceled",
		"metadata": map[string]any{"tenant_id": tenantID}}
	payload, sig = fake.StripeEvent(stripeWebhookSecret, "evt_deleted", pmassist.EventSubscriptionDeleted, subObj, time.Now())
	if r := e.stripeWebhook(payload, sig); r.StatusCode != 200 {
		t.Fatalf("deleted: %d %s", r.StatusCode, r.body)
	}
	// A late "updated" whose payload still says active changes nothing:
	// the subscription is read again.
	subObj["status"] = "active"
	payload, sig = fake.StripeEvent(stripeWebhookSecret, "evt_late_update", pmassist.EventSubscriptionUpdated, subObj, time.Now())
	if r := e.stripeWebhook(payload, sig); r.StatusCode != 200 {
		t.Fatalf("late update: %d %s", r.StatusCode, r.body)
	}
	if b = op.expect(200, "GET", "/api/v1/billing", nil); b["tier"] != "free" || b["status"] != "canceled" {
		t.Fatalf("after deletion: %v", b)
	}
}

func TestTenantAPIRateLimitByTier(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DefaultTier = pmassist.TierFree })
	op, _ := e.setup()
	bot := op.bearer("script")
	spent := 2 // /me after login and the token creation, by this tenant's session
	for i := spent; i < 60; i++ {
		r := bot.do("GET", "/api/v1/tenant", nil)
		if r.StatusCode != 200 || r.Header.Get("X-RateLimit-Limit") != "60" || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(59-i) {
			t.Fatalf("request %d: %d %v", i, r.StatusCode, r.Header)
		}
	}
	r := bot.do("GET", "/api/v1/tenant", nil)
	if r.StatusCode != 429 || r.errCode(t) != "rate_limited" || r.Header.Get("Retry-After") != "1" ||
		r.Header.Get("X-RateLimit-Remaining") != "0" || r.Header.Get("X-RateLimit-Reset") == "" {
		t.Fatalf("over the limit: %d %v %s", r.StatusCode, r.Header, r.body)
	}
	// The bucket is the tenant's: the session of the same tenant is limited too.
	if r := op.do("GET", "/api/v1/me", nil); r.StatusCode != 429 {
		t.Fatalf("same tenant, other credential: %d", r.StatusCode)
	}
	// Pages are not counted.
	op.get("/").want(t, 200)
	// It refills evenly: one request a second at 60/min.
	e.clock.Add(time.Second)
	bot.expect(200, "GET", "/api/v1/tenant", nil)
	// A pro tenant has a larger bucket.
	e.clock.Add(time.Minute)
	row := op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Beta", "owner_email": "b@beta.test", "owner_name": "B", "owner_password": pw, "tier": "pro"})
	_ = row
	beta := e.client()
	beta.login("b@beta.test", pw)
	if r := beta.do("GET", "/api/v1/tenant", nil); r.StatusCode != 200 || r.Header.Get("X-RateLimit-Limit") != "600" {
		t.Fatalf("pro tenant: %d %v", r.StatusCode, r.Header)
	}
}

// The benchmark harness's knob replaces every plan's limit; the limiter
// still runs and answers its headers.
func TestBenchmarkTenantRate(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DefaultTier, c.BenchmarkTenantRatePerMinute = pmassist.TierFree, 1000 })
	op, _ := e.setup()
	bot := op.bearer("script")
	for i := 0; i < 100; i++ {
		if r := bot.do("GET", "/api/v1/tenant", nil); r.StatusCode != 200 || r.Header.Get("X-RateLimit-Limit") != "1000" {
			t.Fatalf("request %d: %d %v", i, r.StatusCode, r.Header)
		}
	}
}

func TestDowngradePausesAndUpgradeResumes(t *testing.T) {
	e := newEnv(t)
	op, tenantID := e.setup()
	for _, svc := range []string{"slack", "linear", "github"} {
		e.connect(op, svc)
		e.clock.Add(time.Minute)
	}
	op.expect(200, "PATCH", "/api/v1/admin/tenants/"+tenantID, map[string]any{"tier": "free"})
	paused := map[string]bool{}
	for _, c := range e.connections(op) {
		if c["paused"] == true {
			if c["paused_at"] == nil {
				t.Fatalf("paused without paused_at: %v", c)
			}
			paused[c["service"].(string)] = true
		}
	}
	// The newest are paused; the first connected keeps working.
	if len(paused) != 2 || !paused["linear"] || !paused["github"] {
		t.Fatalf("paused after downgrade: %v", paused)
	}
	r := op.do("POST", "/api/v1/ingestion/github", nil)
	if r.StatusCode != 402 || r.errCode(t) != "payment_required" || !strings.Contains(string(r.body), "paused") {
		t.Fatalf("ingesting a paused connection: %d %s", r.StatusCode, r.body)
	}
	if job := e.ingest(op, "slack"); job["status"] == "failed" {
		t.Fatalf("the kept connection: %v", job)
	}
	page := op.get("/integrations").want(t, 200)
	page.has(t, "Paused (over the plan)")
	// Nothing was deleted: still three, and a fourth is refused.
	if n := len(e.connections(op)); n != 3 {
		t.Fatalf("%d connections after downgrade", n)
	}
	actions := e.auditActions(op)
	if count(actions, pmassist.AuditConnectionPaused) != 2 || count(actions, pmassist.AuditTierChanged) != 1 {
		t.Fatalf("audit: %v", actions)
	}
	op.expect(200, "PATCH", "/api/v1/admin/tenants/"+tenantID, map[string]any{"tier": "pro"})
	for _, c := range e.connections(op) {
		if c["paused"] != false || c["paused_at"] != nil {
			t.Fatalf("not resumed: %v", c)
		}
	}
	if job := e.ingest(op, "github"); job["status"] == "failed" {
		t.Fatalf("resumed connection: %v", job)
	}
	if n := count(e.auditActions(op), pmassist.AuditConnectionResumed); n != 2 {
		t.Fatalf("%d resumed events", n)
	}
}

func TestSettingsBeyondThePlanNeedAnUpgrade(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DefaultTier = pmassist.TierFree })
	op, tenantID := e.setup()
	cfg := op.expect(200, "GET", "/api/v1/tenant/config", nil)
	cfg["standup"].(map[string]any)["enabled"] = true
	r := op.do("PUT", "/api/v1/tenant/config", cfg)
	if r.StatusCode != 402 || r.errCode(t) != "payment_required" {
		t.Fatalf("scheduled standup on free: %d %s", r.StatusCode, r.body)
	}
	op.expect(200, "PATCH", "/api/v1/admin/tenants/"+tenantID, map[string]any{"tier": "pro"})
	op.expect(200, "PUT", "/api/v1/tenant/config", cfg)
	cfg["decisions"].(map[string]any)["phrases"] = []string{"ship it"}
	if r := op.do("PUT", "/api/v1/tenant/config", cfg); r.StatusCode != 402 || !strings.Contains(string(r.body), "enterprise") {
		t.Fatalf("custom phrases on pro: %d %s", r.StatusCode, r.body)
	}
	op.expect(200, "PATCH", "/api/v1/admin/tenants/"+tenantID, map[string]any{"tier": "enterprise"})
	op.expect(200, "PUT", "/api/v1/tenant/config", cfg)
	// After a downgrade what was saved may stay (it is not applied), but
	// nothing can be added.
	op.expect(200, "PATCH", "/api/v1/admin/tenants/"+tenantID, map[string]any{"tier": "pro"})
	cfg["timezone"] = "Europe/Berlin"
	op.expect(200, "PUT", "/api/v1/tenant/config", cfg)
	cfg["decisions"].(map[string]any)["phrases"] = []string{"ship it", "we go with"}
	if r := op.do("PUT", "/api/v1/tenant/config", cfg); r.StatusCode != 402 {
		t.Fatalf("adding a phrase after downgrade: %d %s", r.StatusCode, r.body)
	}
	// The settings page says so too.
	page := op.get("/settings").want(t, 200)
	vals := form("csrf_token", csrfField(t, page), "timezone", "UTC", "ingestion_interval_minutes", "60",
		"decision_phrases", "ship it\nbrand new phrase", "standup_time", "09:30", "standup_weekdays", "1")
	op.post("/settings", vals).want(t, 402).has(t, "custom detection phrases are part of the enterprise plan", "brand new phrase")
	vals.Set("decision_phrases", "ship it")
	op.post("/settings", vals).redirect(t, "/settings")
	got := op.expect(200, "GET", "/api/v1/tenant/config", nil)["decisions"].(map[string]any)["phrases"].([]any)
	if len(got) != 1 || got[0] != "ship it" {
		t.Fatalf("phrases after the refused form: %v", got)
	}
}
