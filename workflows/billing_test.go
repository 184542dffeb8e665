package workflows

import (
	"bytes"
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/integrations/stripe"
)

// The billing tests run the real workflow against the real bbolt store and
// the real Stripe client, talking to the fake.Stripe stand-in over HTTP;
// webhook events are signed the way Stripe signs them.
const (
	billingSecretKey = "sk_test_pmassistBillingKey42"
	billingWhsec     = "whsec_pmassist_billing_test"
	pricePro         = "price_pro"
	priceEnt         = "price_ent"
	billingBase      = "https://pm.test"
	billingCustomer  = "cus_acme"
)

// billingWorld is a world with Stripe (the stand-in), a settable clock and
// the billing workflow.
type billingWorld struct {
	*world
	stripe *fake.Stripe
	client *stripe.Client
	clock  *fake.Clock
	b      *Billing
	seq    int
}

func newBillingWorld(t *testing.T, tier pmassist.Tier) *billingWorld {
	t.Helper()
	w := newWorld(t, tier)
	fs := fake.NewStripe(billingSecretKey)
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	client, err := stripe.New(stripe.Config{SecretKey: billingSecretKey, WebhookSecret: billingWhsec, APIURL: srv.URL,
		PricePro: pricePro, PriceEnterprise: priceEnt})
	if err != nil {
		t.Fatal(err)
	}
	bw := &billingWorld{world: w, stripe: fs, client: client, clock: fake.NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))}
	bw.b = NewBilling(bw.config(client))
	return bw
}

// config wires billing to the world's store and clock.
func (bw *billingWorld) config(p pmassist.PaymentProvider) BillingConfig {
	return BillingConfig{Provider: p, Store: bw.db, Tenants: bw.db, Connections: bw.db, Audit: bw.db,
		BaseURL: billingBase, Now: bw.clock.Now}
}

func (bw *billingWorld) eventID() string {
	bw.seq++
	return fmt.Sprintf("evt_test_%d", bw.seq)
}

// deliver signs an event with the endpoint's secret (now, in real time, as
// the signature tolerance is checked against it) and hands it to the
// workflow.
func (bw *billingWorld) deliver(id, typ string, obj map[string]any) error {
	payload, sig := fake.StripeEvent(billingWhsec, id, typ, obj, bw.clock.Now())
	return bw.b.HandleWebhook(context.Background(), payload, sig)
}

func (bw *billingWorld) mustDeliver(t *testing.T, id, typ string, obj map[string]any) {
	t.Helper()
	if err := bw.deliver(id, typ, obj); err != nil {
		t.Fatalf("%s %s: %v", typ, id, err)
	}
}

// sub is a subscription of the tenant's customer at the stand-in.
func (bw *billingWorld) sub(id, status, price string) fake.StripeSubscription {
	return fake.StripeSubscription{ID: id, CustomerID: billingCustomer, Status: status, PriceID: price,
		CurrentPeriodEnd: bw.clock.Now().AddDate(0, 1, 0), TenantID: bw.tenant.ID}
}

// subObject is the stand-in's subscription as an event carries it.
func (bw *billingWorld) subObject(t *testing.T, id string) map[string]any {
	t.Helper()
	obj, ok := bw.stripe.SubscriptionObject(id)
	if !ok {
		t.Fatalf("no subscription %s at the stand-in", id)
	}
	return obj
}

// subscribe makes the tenant pay for price through a completed checkout
// (as a payment link would: the customer is new to the appliance).
func (bw *billingWorld) subscribe(t *testing.T, subID, price string) fake.StripeSubscription {
	t.Helper()
	s := bw.sub(subID, "active", price)
	bw.stripe.SetSubscription(s)
	bw.mustDeliver(t, bw.eventID(), pmassist.EventCheckoutCompleted, checkoutObject("cs_test_"+subID, bw.tenant.ID, s.CustomerID, s.ID))
	return s
}

// checkoutObject is a completed Checkout session as Stripe renders it.
func checkoutObject(id, tenantID, customer, sub string) map[string]any {
	return map[string]any{"id": id, "object": "checkout.session", "mode": "subscription", "status": "complete",
		"payment_status": "paid", "customer": customer, "subscription": sub, "client_reference_id": tenantID,
		"metadata": map[string]string{}, "livemode": false}
}

// invoiceObject is an invoice of a subscription as Stripe renders it (no
// tenant metadata: the tenant is found by its customer).
func invoiceObject(id, customer, sub, status string) map[string]any {
	return map[string]any{"id": id, "object": "invoice", "customer": customer, "subscription": sub, "status": status,
		"livemode": false}
}

func (bw *billingWorld) tenantNow(t *testing.T) *pmassist.Tenant {
	t.Helper()
	tn, err := bw.db.FindTenantByID(context.Background(), bw.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}

func (bw *billingWorld) state(t *testing.T) *pmassist.BillingState {
	t.Helper()
	st, err := bw.db.BillingState(bw.ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// expectTier checks the stored tenant's tier and subscription status.
func (bw *billingWorld) expectTier(t *testing.T, tier pmassist.Tier, status string) {
	t.Helper()
	tn := bw.tenantNow(t)
	if tn.Tier != tier || tn.SubscriptionStatus != status {
		t.Fatalf("tenant is %s/%s, want %s/%s", tn.Tier, tn.SubscriptionStatus, tier, status)
	}
}

// audits lists the tenant's audit events of an action, newest first.
func (bw *billingWorld) audits(t *testing.T, action string) []*pmassist.AuditEvent {
	t.Helper()
	var out []*pmassist.AuditEvent
	cursor := ""
	for {
		evs, next, err := bw.db.ListAuditEvents(bw.ctx, pmassist.AuditFilter{Limit: 100, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.Action == action {
				out = append(out, e)
			}
		}
		if next == "" {
			return out
		}
		cursor = next
	}
}

// expectTierChange checks the newest billing.tier_changed event.
func (bw *billingWorld) expectTierChange(t *testing.T, count int, actor string, from, to pmassist.Tier) *pmassist.AuditEvent {
	t.Helper()
	evs := bw.audits(t, pmassist.AuditTierChanged)
	if len(evs) != count {
		t.Fatalf("%d tier changes audited, want %d: %v", len(evs), count, auditDetails(evs))
	}
	if count == 0 {
		return nil
	}
	e := evs[0]
	if e.Actor != actor || e.Target != bw.tenant.ID || e.Details["from"] != string(from) || e.Details["to"] != string(to) {
		t.Fatalf("tier change audited as %s %s %v, want %s %s→%s", e.Actor, e.Target, e.Details, actor, from, to)
	}
	return e
}

func auditDetails(evs []*pmassist.AuditEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, fmt.Sprintf("%s:%s:%v", e.Actor, e.Action, e.Details))
	}
	return out
}

func expectCode(t *testing.T, err error, code string) {
	t.Helper()
	if pmassist.ErrorCode(err) != code {
		t.Fatalf("error %v (code %q), want %s", err, pmassist.ErrorCode(err), code)
	}
}

func TestBillingUpgradeThroughCheckout(t *testing.T) {
	t.Run("checkout started here", func(t *testing.T) {
		bw := newBillingWorld(t, pmassist.TierFree)
		url, err := bw.b.Checkout(bw.ctx, pmassist.TierPro, &pmassist.User{Email: "op@acme.test"})
		if err != nil {
			t.Fatal(err)
		}
		cs, ok := bw.stripe.LastCheckout()
		if !ok || url != fake.StripeCheckoutURL+cs.ID {
			t.Fatalf("checkout URL %q, session %+v", url, cs)
		}
		// The customer pays; Stripe sends checkout.session.completed.
		sub, err := bw.stripe.CompleteCheckout(cs.ID, bw.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		obj, _ := bw.stripe.CheckoutSessionObject(cs.ID)
		bw.mustDeliver(t, bw.eventID(), pmassist.EventCheckoutCompleted, obj)
		bw.expectTier(t, pmassist.TierPro, pmassist.StripeActive)
		st := bw.state(t)
		if st.CustomerID != cs.CustomerID || st.CustomerID == "" || st.SubscriptionID != sub.ID || st.Status != pmassist.StripeActive ||
			st.SubscribedTier != pmassist.TierPro || st.AppliedTier != pmassist.TierPro || st.GraceUntil != nil ||
			st.CurrentPeriodEnd == nil || !st.CurrentPeriodEnd.Equal(sub.CurrentPeriodEnd) || !st.UpdatedAt.Equal(bw.clock.Now()) {
			t.Fatalf("billing state %+v (subscription %+v)", st, sub)
		}
		e := bw.expectTierChange(t, 1, "stripe", pmassist.TierFree, pmassist.TierPro)
		if e.Details["reason"] != pmassist.EventCheckoutCompleted || !e.At.Equal(bw.clock.Now()) {
			t.Fatalf("audit event %+v", e)
		}
		if id, err := bw.db.TenantByCustomer(context.Background(), cs.CustomerID); err != nil || id != bw.tenant.ID {
			t.Fatalf("tenant of the customer: %q %v", id, err)
		}
		if ids, err := bw.db.ListBilledTenants(context.Background()); err != nil || len(ids) != 1 || ids[0] != bw.tenant.ID {
			t.Fatalf("billed tenants: %v %v", ids, err)
		}
	})

	t.Run("customer new to the appliance", func(t *testing.T) {
		bw := newBillingWorld(t, pmassist.TierFree)
		s := bw.sub("sub_A", "active", pricePro)
		s.TenantID = "" // the tenant comes from client_reference_id only
		bw.stripe.SetSubscription(s)
		bw.mustDeliver(t, bw.eventID(), pmassist.EventCheckoutCompleted, checkoutObject("cs_test_A", bw.tenant.ID, billingCustomer, "sub_A"))
		bw.expectTier(t, pmassist.TierPro, pmassist.StripeActive)
		if st := bw.state(t); st.CustomerID != billingCustomer || st.SubscriptionID != "sub_A" {
			t.Fatalf("billing state %+v", st)
		}
		bw.expectTierChange(t, 1, "stripe", pmassist.TierFree, pmassist.TierPro)
		if id, err := bw.db.TenantByCustomer(context.Background(), billingCustomer); err != nil || id != bw.tenant.ID {
			t.Fatalf("tenant of the customer: %q %v", id, err)
		}
		// A later event naming only the customer reaches the tenant.
		s.PriceID = priceEnt
		bw.stripe.SetSubscription(s)
		bw.mustDeliver(t, bw.eventID(), pmassist.EventInvoicePaid, invoiceObject("in_1", billingCustomer, "sub_A", "paid"))
		bw.expectTier(t, pmassist.TierEnterprise, pmassist.StripeActive)
		bw.expectTierChange(t, 2, "stripe", pmassist.TierPro, pmassist.TierEnterprise)
	})
}

func TestBillingCheckoutWithoutSubscriptionRecordsTheCustomer(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierFree)
	obj := checkoutObject("cs_test_A", bw.tenant.ID, billingCustomer, "")
	obj["subscription"] = nil
	calls := bw.stripe.Calls()
	bw.mustDeliver(t, bw.eventID(), pmassist.EventCheckoutCompleted, obj)
	if bw.stripe.Calls() != calls {
		t.Fatal("an event without a subscription read one")
	}
	bw.expectTier(t, pmassist.TierFree, pmassist.SubscriptionNone)
	if st := bw.state(t); st.CustomerID != billingCustomer || st.SubscriptionID != "" {
		t.Fatalf("billing state %+v", st)
	}
	if id, _ := bw.db.TenantByCustomer(context.Background(), billingCustomer); id != bw.tenant.ID {
		t.Fatalf("customer indexed to %q", id)
	}
	bw.expectTierChange(t, 0, "", "", "")
}

func TestBillingDuplicateEventAppliedOnce(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierFree)
	s := bw.sub("sub_A", "active", pricePro)
	bw.stripe.SetSubscription(s)
	obj := checkoutObject("cs_test_A", bw.tenant.ID, billingCustomer, "sub_A")
	bw.mustDeliver(t, "evt_dup", pmassist.EventCheckoutCompleted, obj)
	bw.expectTier(t, pmassist.TierPro, pmassist.StripeActive)
	// Stripe now says enterprise; the same event delivered again must not
	// be applied (a re-read would otherwise make the tenant enterprise).
	s.PriceID = priceEnt
	bw.stripe.SetSubscription(s)
	bw.clock.Add(time.Minute)
	bw.mustDeliver(t, "evt_dup", pmassist.EventCheckoutCompleted, obj)
	bw.expectTier(t, pmassist.TierPro, pmassist.StripeActive)
	if st := bw.state(t); st.SubscribedTier != pmassist.TierPro || !st.UpdatedAt.Equal(bw.clock.Now().Add(-time.Minute)) {
		t.Fatalf("the duplicate changed the state: %+v", st)
	}
	bw.expectTierChange(t, 1, "stripe", pmassist.TierFree, pmassist.TierPro)
	// Another event is applied.
	bw.mustDeliver(t, "evt_next", pmassist.EventSubscriptionUpdated, bw.subObject(t, "sub_A"))
	bw.expectTier(t, pmassist.TierEnterprise, pmassist.StripeActive)
	bw.expectTierChange(t, 2, "stripe", pmassist.TierPro, pmassist.TierEnterprise)
}

func TestBillingOutOfOrderEventsReReadTheSubscription(t *testing.T) {
	for _, updatedFirst := range []bool{true, false} {
		t.Run(fmt.Sprintf("updated first %v", updatedFirst), func(t *testing.T) {
			bw := newBillingWorld(t, pmassist.TierFree)
			s := bw.sub("sub_A", "active", pricePro)
			bw.stripe.SetSubscription(s)
			created := bw.subObject(t, "sub_A") // says pro
			s.PriceID = priceEnt
			bw.stripe.SetSubscription(s)
			updated := bw.subObject(t, "sub_A") // says enterprise
			steps := []func(){
				func() { bw.mustDeliver(t, "evt_created", pmassist.EventSubscriptionCreated, created) },
				func() { bw.mustDeliver(t, "evt_updated", pmassist.EventSubscriptionUpdated, updated) },
			}
			if updatedFirst {
				steps[0], steps[1] = steps[1], steps[0]
			}
			steps[0]()
			bw.expectTier(t, pmassist.TierEnterprise, pmassist.StripeActive)
			steps[1]()
			bw.expectTier(t, pmassist.TierEnterprise, pmassist.StripeActive)
			if st := bw.state(t); st.SubscribedTier != pmassist.TierEnterprise || st.SubscriptionID != "sub_A" || st.CustomerID != billingCustomer {
				t.Fatalf("billing state %+v", st)
			}
			bw.expectTierChange(t, 1, "stripe", pmassist.TierFree, pmassist.TierEnterprise)
		})
	}
}

func TestBillingPaymentFailedGraceThenFree(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierFree)
	second := bw.connectAt(t, "T2", time.Now().Add(time.Hour))
	s := bw.subscribe(t, "sub_A", pricePro)
	bw.expectTier(t, pmassist.TierPro, pmassist.StripeActive)

	// The renewal fails: the tenant keeps pro for the grace period.
	s.Status = pmassist.StripePastDue
	bw.stripe.SetSubscription(s)
	failedAt := bw.clock.Now().Add(time.Hour)
	bw.clock.Add(time.Hour)
	bw.mustDeliver(t, bw.eventID(), pmassist.EventInvoicePaymentFail, invoiceObject("in_1", billingCustomer, "sub_A", "open"))
	bw.expectTier(t, pmassist.TierPro, pmassist.StripePastDue)
	graceEnd := failedAt.Add(7 * 24 * time.Hour)
	if st := bw.state(t); st.GraceUntil == nil || !st.GraceUntil.Equal(graceEnd) || st.AppliedTier != pmassist.TierPro {
		t.Fatalf("billing state after the failure %+v, want grace until %v", st, graceEnd)
	}
	bw.expectTierChange(t, 1, "stripe", pmassist.TierFree, pmassist.TierPro)

	// Stripe's retry fails again: the grace period does not start over.
	bw.clock.Add(48 * time.Hour)
	bw.mustDeliver(t, bw.eventID(), pmassist.EventInvoicePaymentFail, invoiceObject("in_1", billingCustomer, "sub_A", "open"))
	if st := bw.state(t); st.GraceUntil == nil || !st.GraceUntil.Equal(graceEnd) {
		t.Fatalf("grace restarted: %+v", st)
	}

	// Six days in: still pro.
	bw.clock.Add(4 * 24 * time.Hour)
	if err := bw.b.CheckExpiries(context.Background()); err != nil {
		t.Fatal(err)
	}
	bw.expectTier(t, pmassist.TierPro, pmassist.StripePastDue)
	bw.expectTierChange(t, 1, "stripe", pmassist.TierFree, pmassist.TierPro)

	// A minute after the seventh day: free, and the newer connection pauses.
	bw.clock.Add(24*time.Hour + time.Minute)
	if err := bw.b.CheckExpiries(context.Background()); err != nil {
		t.Fatal(err)
	}
	bw.expectTier(t, pmassist.TierFree, pmassist.StripePastDue)
	e := bw.expectTierChange(t, 2, "system", pmassist.TierPro, pmassist.TierFree)
	if e.Details["reason"] != "expiry" || e.Details["grace_until"] != graceEnd.Format(time.RFC3339) {
		t.Fatalf("expiry audited as %v", e.Details)
	}
	if st := bw.state(t); st.AppliedTier != pmassist.TierFree || st.SubscribedTier != pmassist.TierPro {
		t.Fatalf("billing state after the grace %+v", st)
	}
	bw.expectPaused(t, map[string]bool{bw.conn.ID: false, second.ID: true})
	// Another pass changes nothing.
	if err := bw.b.CheckExpiries(context.Background()); err != nil {
		t.Fatal(err)
	}
	bw.expectTierChange(t, 2, "system", pmassist.TierPro, pmassist.TierFree)

	// Paid at last: pro again, grace over, the connection resumed.
	s.Status = pmassist.StripeActive
	bw.stripe.SetSubscription(s)
	bw.clock.Add(time.Hour)
	bw.mustDeliver(t, bw.eventID(), pmassist.EventInvoicePaid, invoiceObject("in_1", billingCustomer, "sub_A", "paid"))
	bw.expectTier(t, pmassist.TierPro, pmassist.StripeActive)
	if st := bw.state(t); st.GraceUntil != nil || st.AppliedTier != pmassist.TierPro {
		t.Fatalf("billing state after payment %+v", st)
	}
	bw.expectTierChange(t, 3, "stripe", pmassist.TierFree, pmassist.TierPro)
	bw.expectPaused(t, map[string]bool{bw.conn.ID: false, second.ID: false})
}

func TestBillingSubscriptionDeletedFallsToFree(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierFree)
	second := bw.connectAt(t, "T2", time.Now().Add(time.Hour))
	bw.subscribe(t, "sub_A", priceEnt)
	bw.expectTier(t, pmassist.TierEnterprise, pmassist.StripeActive)
	obj := bw.subObject(t, "sub_A")
	obj["status"] = pmassist.StripeCanceled
	bw.stripe.DeleteSubscription("sub_A") // GET answers 404 from now on
	bw.mustDeliver(t, bw.eventID(), pmassist.EventSubscriptionDeleted, obj)
	bw.expectTier(t, pmassist.TierFree, pmassist.StripeCanceled)
	st := bw.state(t)
	if st.Status != pmassist.StripeCanceled || st.HasLiveSubscription() || st.AppliedTier != pmassist.TierFree || st.CustomerID != billingCustomer {
		t.Fatalf("billing state %+v", st)
	}
	bw.expectTierChange(t, 2, "stripe", pmassist.TierEnterprise, pmassist.TierFree)
	bw.expectPaused(t, map[string]bool{bw.conn.ID: false, second.ID: true})
	// The periodic check leaves a settled tenant alone.
	bw.clock.Add(30 * 24 * time.Hour)
	if err := bw.b.CheckExpiries(context.Background()); err != nil {
		t.Fatal(err)
	}
	bw.expectTierChange(t, 2, "stripe", pmassist.TierEnterprise, pmassist.TierFree)
	// It can buy again.
	if info, err := bw.b.Info(bw.ctx); err != nil || len(info.CanCheckout) != 2 {
		t.Fatalf("info after cancellation: %+v %v", info, err)
	}
}

func TestBillingCancelAtPeriodEnd(t *testing.T) {
	for _, end := range []string{"canceled", "deleted", "event not sent yet"} {
		t.Run(end, func(t *testing.T) {
			bw := newBillingWorld(t, pmassist.TierFree)
			bw.subscribe(t, "sub_A", pricePro)
			s := bw.sub("sub_A", pmassist.StripeActive, pricePro)
			s.CancelAtPeriodEnd = true
			s.CurrentPeriodEnd = bw.clock.Now().Add(10 * 24 * time.Hour)
			bw.stripe.SetSubscription(s)
			bw.mustDeliver(t, bw.eventID(), pmassist.EventSubscriptionUpdated, bw.subObject(t, "sub_A"))
			bw.expectTier(t, pmassist.TierPro, pmassist.StripeActive)
			if st := bw.state(t); !st.CancelAtPeriodEnd || st.CurrentPeriodEnd == nil || !st.CurrentPeriodEnd.Equal(s.CurrentPeriodEnd) {
				t.Fatalf("billing state %+v", st)
			}
			bw.clock.Add(10*24*time.Hour - time.Minute)
			if err := bw.b.CheckExpiries(context.Background()); err != nil {
				t.Fatal(err)
			}
			bw.expectTier(t, pmassist.TierPro, pmassist.StripeActive)

			switch end {
			case "canceled":
				s.Status = pmassist.StripeCanceled
				bw.stripe.SetSubscription(s)
			case "deleted":
				bw.stripe.DeleteSubscription("sub_A")
			}
			bw.clock.Add(2 * time.Minute)
			if err := bw.b.CheckExpiries(context.Background()); err != nil {
				t.Fatal(err)
			}
			status := pmassist.StripeCanceled
			if end == "event not sent yet" {
				status = pmassist.StripeActive // Stripe still says so; the period is over all the same
			}
			bw.expectTier(t, pmassist.TierFree, status)
			e := bw.expectTierChange(t, 2, "system", pmassist.TierPro, pmassist.TierFree)
			if e.Details["reason"] != "expiry" {
				t.Fatalf("audit details %v", e.Details)
			}
		})
	}
}

func TestBillingWebhookSignature(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierFree)
	bw.stripe.SetSubscription(bw.sub("sub_A", "active", pricePro))
	obj := checkoutObject("cs_test_A", bw.tenant.ID, billingCustomer, "sub_A")
	payload, sig := fake.StripeEvent(billingWhsec, "evt_sig", pmassist.EventCheckoutCompleted, obj, bw.clock.Now())
	_, otherSig := fake.StripeEvent("whsec_another_endpoint", "evt_sig", pmassist.EventCheckoutCompleted, obj, bw.clock.Now())
	_, staleSig := fake.StripeEventAt(billingWhsec, "evt_sig", pmassist.EventCheckoutCompleted, obj, bw.clock.Now(), time.Now().Add(-301*time.Second))
	tampered := bytes.Replace(payload, []byte(`"livemode":false`), []byte(`"livemode":true`), 1)
	if bytes.Equal(tampered, payload) {
		t.Fatal("the payload was not tampered with")
	}
	calls := bw.stripe.Calls()
	for name, d := range map[string]struct {
		payload []byte
		sig     string
	}{
		"tampered payload": {tampered, sig},
		"bad signature":    {payload, strings.SplitN(sig, ",", 2)[0] + ",v1=" + strings.Repeat("ab", 32)},
		"wrong secret":     {payload, otherSig},
		"missing header":   {payload, ""},
		"stale timestamp":  {payload, staleSig},
	} {
		err := bw.b.HandleWebhook(context.Background(), d.payload, d.sig)
		if pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED {
			t.Errorf("%s: %v, want unauthorized", name, err)
		}
	}
	if bw.stripe.Calls() != calls {
		t.Fatal("an unverified event made Stripe calls")
	}
	bw.expectTier(t, pmassist.TierFree, pmassist.SubscriptionNone)
	if st := bw.state(t); st.CustomerID != "" || st.SubscriptionID != "" {
		t.Fatalf("billing state %+v", st)
	}
	bw.expectTierChange(t, 0, "", "", "")
	// None of them recorded the event id: the genuine delivery applies.
	if err := bw.b.HandleWebhook(context.Background(), payload, sig); err != nil {
		t.Fatal(err)
	}
	bw.expectTier(t, pmassist.TierPro, pmassist.StripeActive)
}

func TestBillingEventForNoTenant(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierFree)
	bw.stripe.SetSubscription(fake.StripeSubscription{ID: "sub_X", CustomerID: "cus_elsewhere", Status: "active", PriceID: pricePro,
		CurrentPeriodEnd: bw.clock.Now().AddDate(0, 1, 0)})
	calls := bw.stripe.Calls()
	bw.mustDeliver(t, "evt_x1", pmassist.EventInvoicePaid, invoiceObject("in_X", "cus_elsewhere", "sub_X", "paid"))
	// A tenant id of no tenant here, with an unknown customer.
	bw.mustDeliver(t, "evt_x2", pmassist.EventCheckoutCompleted, checkoutObject("cs_X", pmassist.NewID(), "cus_elsewhere", "sub_X"))
	// An event of a type billing does not handle.
	bw.mustDeliver(t, "evt_x3", "customer.created", map[string]any{"id": "cus_elsewhere", "object": "customer"})
	if bw.stripe.Calls() != calls {
		t.Fatal("an event for no tenant made Stripe calls")
	}
	bw.expectTier(t, pmassist.TierFree, pmassist.SubscriptionNone)
	if st := bw.state(t); st.CustomerID != "" || st.SubscriptionID != "" || st.Status != "" {
		t.Fatalf("billing state %+v", st)
	}
	bw.expectTierChange(t, 0, "", "", "")
	for _, id := range []string{"evt_x1", "evt_x2"} {
		if first, err := bw.db.RecordBillingEvent(context.Background(), id); err != nil || first {
			t.Fatalf("%s was not recorded: %v %v", id, first, err)
		}
	}
	// Delivered again: acknowledged, nothing happens.
	bw.mustDeliver(t, "evt_x1", pmassist.EventInvoicePaid, invoiceObject("in_X", "cus_elsewhere", "sub_X", "paid"))
	bw.expectTier(t, pmassist.TierFree, pmassist.SubscriptionNone)
	if id, _ := bw.db.TenantByCustomer(context.Background(), "cus_elsewhere"); id != "" {
		t.Fatalf("the unknown customer was indexed to %q", id)
	}
}

func TestBillingStaleSubscriptionEventDoesNotDowngrade(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierFree)
	// B was the tenant's earlier subscription, replaced by A.
	old := bw.sub("sub_B", pmassist.StripeCanceled, pricePro)
	bw.stripe.SetSubscription(old)
	oldObj := bw.subObject(t, "sub_B")
	bw.stripe.DeleteSubscription("sub_B")
	bw.subscribe(t, "sub_A", priceEnt)
	bw.expectTier(t, pmassist.TierEnterprise, pmassist.StripeActive)
	// B's deletion arrives late.
	bw.mustDeliver(t, bw.eventID(), pmassist.EventSubscriptionDeleted, oldObj)
	bw.expectTier(t, pmassist.TierEnterprise, pmassist.StripeActive)
	if st := bw.state(t); st.SubscriptionID != "sub_A" || st.Status != pmassist.StripeActive || st.SubscribedTier != pmassist.TierEnterprise {
		t.Fatalf("billing state %+v", st)
	}
	bw.expectTierChange(t, 1, "stripe", pmassist.TierFree, pmassist.TierEnterprise)
	// And the late invoice of B (past due, then gone) neither.
	bw.mustDeliver(t, bw.eventID(), pmassist.EventInvoicePaymentFail, invoiceObject("in_B", billingCustomer, "sub_B", "open"))
	if st := bw.state(t); st.SubscriptionID != "sub_A" || st.GraceUntil != nil {
		t.Fatalf("billing state after B's invoice %+v", st)
	}
	bw.expectTier(t, pmassist.TierEnterprise, pmassist.StripeActive)
}

func TestBillingStripeUnreachable(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierFree)
	bw.stripe.SetSubscription(bw.sub("sub_A", "active", pricePro))
	obj := checkoutObject("cs_test_A", bw.tenant.ID, billingCustomer, "sub_A")
	// Enough failures for the client's own retry.
	bw.stripe.Fail(500, 2)
	err := bw.deliver("evt_retry", pmassist.EventCheckoutCompleted, obj)
	bw.stripe.Fail(0, 0)
	if err == nil {
		t.Fatal("an event whose subscription could not be read was acknowledged")
	}
	expectCode(t, err, pmassist.EUNAVAILABLE)
	bw.expectTier(t, pmassist.TierFree, pmassist.SubscriptionNone)
	if st := bw.state(t); st.CustomerID != "" || st.SubscriptionID != "" {
		t.Fatalf("billing state %+v", st)
	}
	// Stripe retries the event: it is applied now.
	bw.mustDeliver(t, "evt_retry", pmassist.EventCheckoutCompleted, obj)
	bw.expectTier(t, pmassist.TierPro, pmassist.StripeActive)
	bw.expectTierChange(t, 1, "stripe", pmassist.TierFree, pmassist.TierPro)

	// The expiry check during an outage changes nothing until Stripe is back.
	s := bw.sub("sub_A", pmassist.StripePastDue, pricePro)
	bw.stripe.SetSubscription(s)
	bw.mustDeliver(t, bw.eventID(), pmassist.EventInvoicePaymentFail, invoiceObject("in_1", billingCustomer, "sub_A", "open"))
	bw.clock.Add(8 * 24 * time.Hour)
	bw.stripe.Fail(503, 2)
	err = bw.b.CheckExpiries(context.Background())
	bw.stripe.Fail(0, 0)
	if err == nil {
		t.Fatal("the expiry check hid Stripe's outage")
	}
	bw.expectTier(t, pmassist.TierPro, pmassist.StripePastDue)
	if err := bw.b.CheckExpiries(context.Background()); err != nil {
		t.Fatal(err)
	}
	bw.expectTier(t, pmassist.TierFree, pmassist.StripePastDue)
	bw.expectTierChange(t, 2, "system", pmassist.TierPro, pmassist.TierFree)
}

// connectAt adds a Slack connection connected at a given time.
func (w *world) connectAt(t *testing.T, workspace string, at time.Time) *pmassist.Connection {
	t.Helper()
	c := &pmassist.Connection{Service: pmassist.ServiceSlack, WorkspaceID: workspace, WorkspaceName: workspace, ConnectedAt: at}
	if _, err := w.db.SaveConnection(w.ctx, c, pmassist.Token{AccessToken: "xoxb-test"}); err != nil {
		t.Fatal(err)
	}
	if !c.ConnectedAt.Equal(at) {
		t.Fatalf("connected at %v, want %v", c.ConnectedAt, at)
	}
	return c
}

// expectPaused checks the Paused flag (and PausedAt) of connections by id.
func (w *world) expectPaused(t *testing.T, want map[string]bool) map[string]*pmassist.Connection {
	t.Helper()
	conns, err := w.db.ListConnections(w.ctx)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]*pmassist.Connection{}
	for _, c := range conns {
		byID[c.ID] = c
	}
	for id, paused := range want {
		c, ok := byID[id]
		if !ok {
			t.Fatalf("connection %s is gone", id)
		}
		if c.Paused != paused || (c.PausedAt != nil) != paused {
			t.Fatalf("connection %s (%s): paused %v at %v, want paused %v", id, c.WorkspaceName, c.Paused, c.PausedAt, paused)
		}
	}
	return byID
}

func TestBillingDowngradePausesNewestAndUpgradeResumes(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierPro)
	// Connected in the order T1 (now), T2 (two days before), T3 (a day
	// before): the oldest is T2, the newest T1.
	newest := bw.conn
	oldest := bw.connectAt(t, "T2", time.Now().Add(-48*time.Hour))
	middle := bw.connectAt(t, "T3", time.Now().Add(-24*time.Hour))
	src := &pagedSource{messages: seq(1, 3), pageSize: 10}
	in := bw.ingestor(src)
	defer in.Close()
	sc, err := NewScheduler(SchedulerConfig{Ingestor: in, Connections: bw.db, Configs: bw.db, Tenants: bw.db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sc.Shutdown() })
	if err := sc.Replan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sc.Jobs() != 3 {
		t.Fatalf("%d schedules before the downgrade", sc.Jobs())
	}
	cfg := bw.config(bw.client)
	cfg.Planner = sc
	b := NewBilling(cfg)

	opCtx := pmassist.NewContextWithUser(context.Background(), &pmassist.User{ID: "op-user", Email: "root@pm.test"})
	before := time.Now().Add(-time.Second)
	tn, err := b.SetTier(opCtx, bw.tenant.ID, pmassist.TierFree, "operator")
	if err != nil || tn.Tier != pmassist.TierFree {
		t.Fatalf("set tier: %+v %v", tn, err)
	}
	bw.expectTier(t, pmassist.TierFree, tn.SubscriptionStatus)
	e := bw.expectTierChange(t, 1, "operator", pmassist.TierPro, pmassist.TierFree)
	if e.Details["reason"] != "operator" || e.ActorID != "op-user" {
		t.Fatalf("operator change audited as %+v", e)
	}
	conns := bw.expectPaused(t, map[string]bool{oldest.ID: false, middle.ID: true, newest.ID: true})
	for _, id := range []string{newest.ID, middle.ID} {
		if at := conns[id].PausedAt; at.Before(before) || at.After(time.Now()) {
			t.Fatalf("%s paused at %v, not now", conns[id].WorkspaceName, at)
		}
	}
	paused := bw.audits(t, pmassist.AuditConnectionPaused)
	if len(paused) != 2 || !(paused[0].Target == newest.ID || paused[1].Target == newest.ID) ||
		!(paused[0].Target == middle.ID || paused[1].Target == middle.ID) || paused[0].Actor != "system" ||
		paused[0].Details["tier"] != string(pmassist.TierFree) {
		t.Fatalf("paused audit events: %v", auditDetails(paused))
	}
	// A paused connection is not ingested, by hand or on schedule.
	for _, id := range []string{newest.ID, middle.ID} {
		_, err := in.Run(bw.ctx, id, pmassist.TriggerManual)
		expectCode(t, err, pmassist.EPAYMENTREQUIRED)
		_, started, err := in.Start(bw.ctx, id, pmassist.TriggerManual)
		if started {
			t.Fatal("a paused connection started")
		}
		expectCode(t, err, pmassist.EPAYMENTREQUIRED)
	}
	if iv := sc.Intervals(); len(iv) != 1 || iv[oldest.ID] == 0 {
		t.Fatalf("schedules after the downgrade: %v", iv)
	}
	if src.fetches.Load() != 0 {
		t.Fatalf("%d fetches of paused connections", src.fetches.Load())
	}
	// Setting the same tier again changes nothing.
	if _, err := b.SetTier(opCtx, bw.tenant.ID, pmassist.TierFree, "operator"); err != nil {
		t.Fatal(err)
	}
	bw.expectTierChange(t, 1, "operator", pmassist.TierPro, pmassist.TierFree)
	if _, err := b.SetTier(opCtx, bw.tenant.ID, "gold", "operator"); pmassist.ErrorCode(err) != pmassist.EINVALID {
		t.Fatalf("bogus tier: %v", err)
	}

	// Upgrade: all resumed.
	if _, err := b.SetTier(opCtx, bw.tenant.ID, pmassist.TierPro, "operator"); err != nil {
		t.Fatal(err)
	}
	bw.expectTierChange(t, 2, "operator", pmassist.TierFree, pmassist.TierPro)
	bw.expectPaused(t, map[string]bool{oldest.ID: false, middle.ID: false, newest.ID: false})
	if resumed := bw.audits(t, pmassist.AuditConnectionResumed); len(resumed) != 2 {
		t.Fatalf("resumed audit events: %v", auditDetails(resumed))
	}
	if len(bw.audits(t, pmassist.AuditConnectionPaused)) != 2 {
		t.Fatal("the upgrade paused something")
	}
	if sc.Jobs() != 3 {
		t.Fatalf("%d schedules after the upgrade", sc.Jobs())
	}
	if job, err := in.Run(bw.ctx, newest.ID, pmassist.TriggerManual); err != nil || job.Status != pmassist.JobSucceeded {
		t.Fatalf("run after the upgrade: %+v %v", job, err)
	}
}

func TestBillingCheckoutAndPortal(t *testing.T) {
	owner := &pmassist.User{Email: "op@acme.test", Name: "Op"}
	t.Run("billing off", func(t *testing.T) {
		bw := newBillingWorld(t, pmassist.TierFree)
		off := NewBilling(bw.config(nil))
		if off.Enabled() {
			t.Fatal("billing without a provider is enabled")
		}
		_, err := off.Checkout(bw.ctx, pmassist.TierPro, owner)
		expectCode(t, err, pmassist.ECONFLICT)
		_, err = off.Portal(bw.ctx)
		expectCode(t, err, pmassist.ECONFLICT)
		payload, sig := fake.StripeEvent(billingWhsec, "evt_off", pmassist.EventCheckoutCompleted,
			checkoutObject("cs_off", bw.tenant.ID, billingCustomer, "sub_A"), bw.clock.Now())
		expectCode(t, off.HandleWebhook(context.Background(), payload, sig), pmassist.ENOTFOUND)
		// The operator still sets plans.
		if tn, err := off.SetTier(context.Background(), bw.tenant.ID, pmassist.TierEnterprise, "operator"); err != nil || tn.Tier != pmassist.TierEnterprise {
			t.Fatalf("set tier with billing off: %+v %v", tn, err)
		}
		if bw.stripe.Calls() != 0 {
			t.Fatal("billing off called Stripe")
		}
	})

	t.Run("checkout", func(t *testing.T) {
		bw := newBillingWorld(t, pmassist.TierFree)
		for _, tier := range []pmassist.Tier{pmassist.TierFree, "bogus"} {
			_, err := bw.b.Checkout(bw.ctx, tier, owner)
			expectCode(t, err, pmassist.EINVALID)
		}
		if len(bw.stripe.Customers()) != 0 {
			t.Fatal("an invalid checkout created a customer")
		}
		_, err := bw.b.Portal(bw.ctx)
		expectCode(t, err, pmassist.ECONFLICT)

		url, err := bw.b.Checkout(bw.ctx, pmassist.TierPro, owner)
		if err != nil {
			t.Fatal(err)
		}
		custs := bw.stripe.Customers()
		if len(custs) != 1 || custs[0].Metadata["tenant_id"] != bw.tenant.ID || custs[0].Email != owner.Email || custs[0].Name != "Acme" {
			t.Fatalf("customers: %+v", custs)
		}
		cus := custs[0].ID
		if st := bw.state(t); st.CustomerID != cus || st.SubscriptionID != "" {
			t.Fatalf("billing state %+v", st)
		}
		if id, _ := bw.db.TenantByCustomer(context.Background(), cus); id != bw.tenant.ID {
			t.Fatalf("customer %s belongs to %q", cus, id)
		}
		cs, _ := bw.stripe.LastCheckout()
		if url != cs.URL || cs.CustomerID != cus || cs.ClientReferenceID != bw.tenant.ID || cs.PriceID != pricePro || cs.Mode != "subscription" ||
			cs.SuccessURL != billingBase+"/billing?checkout=success" || cs.CancelURL != billingBase+"/billing?checkout=canceled" ||
			cs.SubscriptionMetadata["tenant_id"] != bw.tenant.ID {
			t.Fatalf("checkout %q: %+v", url, cs)
		}
		bw.expectTier(t, pmassist.TierFree, pmassist.SubscriptionNone)

		// Abandoned and started again, for enterprise: same customer.
		if _, err := bw.b.Checkout(bw.ctx, pmassist.TierEnterprise, owner); err != nil {
			t.Fatal(err)
		}
		if n := len(bw.stripe.Customers()); n != 1 {
			t.Fatalf("%d customers after the second checkout", n)
		}
		if cs, _ := bw.stripe.LastCheckout(); cs.CustomerID != cus || cs.PriceID != priceEnt {
			t.Fatalf("second checkout %+v", cs)
		}

		portal, err := bw.b.Portal(bw.ctx)
		if err != nil {
			t.Fatal(err)
		}
		ps := bw.stripe.PortalSessions()
		if len(ps) != 1 || portal != ps[0].URL || !strings.HasPrefix(portal, fake.StripePortalURL) || ps[0].CustomerID != cus ||
			ps[0].ReturnURL != billingBase+"/billing" {
			t.Fatalf("portal %q: %+v", portal, ps)
		}

		// Paid: a second checkout would double-charge.
		cs, _ = bw.stripe.LastCheckout()
		if _, err := bw.stripe.CompleteCheckout(cs.ID, bw.clock.Now()); err != nil {
			t.Fatal(err)
		}
		obj, _ := bw.stripe.CheckoutSessionObject(cs.ID)
		bw.mustDeliver(t, bw.eventID(), pmassist.EventCheckoutCompleted, obj)
		bw.expectTier(t, pmassist.TierEnterprise, pmassist.StripeActive)
		sessions := len(bw.stripe.Sessions())
		for _, tier := range []pmassist.Tier{pmassist.TierPro, pmassist.TierEnterprise} {
			_, err := bw.b.Checkout(bw.ctx, tier, owner)
			expectCode(t, err, pmassist.ECONFLICT)
		}
		if len(bw.stripe.Sessions()) != sessions || len(bw.stripe.Customers()) != 1 {
			t.Fatal("a refused checkout reached Stripe")
		}
	})

	t.Run("price not configured", func(t *testing.T) {
		bw := newBillingWorld(t, pmassist.TierFree)
		proOnly, err := stripe.New(stripe.Config{SecretKey: billingSecretKey, WebhookSecret: billingWhsec, APIURL: "http://127.0.0.1:1", PricePro: pricePro})
		if err != nil {
			t.Fatal(err)
		}
		b := NewBilling(bw.config(proOnly))
		_, err = b.Checkout(bw.ctx, pmassist.TierEnterprise, owner)
		expectCode(t, err, pmassist.ECONFLICT)
		info, err := b.Info(bw.ctx)
		if err != nil || fmt.Sprint(info.CanCheckout) != "[pro]" {
			t.Fatalf("info: %+v %v", info, err)
		}
	})
}

func TestBillingInfo(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierFree)
	info, err := bw.b.Info(bw.ctx)
	if err != nil || !info.Enabled || info.Tier != pmassist.TierFree || fmt.Sprint(info.CanCheckout) != "[pro enterprise]" {
		t.Fatalf("free tenant: %+v %v", info, err)
	}
	off, err := NewBilling(bw.config(nil)).Info(bw.ctx)
	if err != nil || off.Enabled || len(off.CanCheckout) != 0 || off.Tier != pmassist.TierFree {
		t.Fatalf("billing off: %+v %v", off, err)
	}
	bw.subscribe(t, "sub_A", pricePro)
	info, err = bw.b.Info(bw.ctx)
	if err != nil || info.Tier != pmassist.TierPro || len(info.CanCheckout) != 0 || info.State.SubscriptionID != "sub_A" ||
		info.State.Status != pmassist.StripeActive || info.State.SubscribedTier != pmassist.TierPro {
		t.Fatalf("subscribed tenant: %+v %v", info, err)
	}
	// Past due is still a live subscription.
	bw.stripe.SetSubscription(bw.sub("sub_A", pmassist.StripePastDue, pricePro))
	bw.mustDeliver(t, bw.eventID(), pmassist.EventInvoicePaymentFail, invoiceObject("in_1", billingCustomer, "sub_A", "open"))
	if info, err = bw.b.Info(bw.ctx); err != nil || len(info.CanCheckout) != 0 || info.State.GraceUntil == nil {
		t.Fatalf("past due tenant: %+v %v", info, err)
	}
	if _, err := bw.b.Info(context.Background()); err == nil {
		t.Fatal("info without a tenant")
	}
}

func TestBillingNotifierTellsOwnersOfFailedPaymentOnce(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierFree)
	mailer := &recordingMailer{}
	n := NewNotifier(NotifierConfig{Mailer: mailer, Tenants: bw.db, Members: bw.db, Connections: bw.db, Items: bw.db, Configs: bw.db,
		Log: bw.db, Billing: bw.db, BaseURL: billingBase, Now: bw.clock.Now})
	s := bw.subscribe(t, "sub_A", pricePro)
	n.Pass(context.Background())
	if len(mailer.sent) != 0 {
		t.Fatalf("a paying tenant got mail: %v", mailer.sent)
	}
	s.Status = pmassist.StripePastDue
	bw.stripe.SetSubscription(s)
	bw.mustDeliver(t, bw.eventID(), pmassist.EventInvoicePaymentFail, invoiceObject("in_1", billingCustomer, "sub_A", "open"))
	n.Pass(context.Background())
	bw.clock.Add(24 * time.Hour)
	n.Pass(context.Background())
	if len(mailer.sent) != 1 {
		t.Fatalf("%d mails: %v", len(mailer.sent), mailer.sent)
	}
	m := mailer.sent[0]
	until := bw.state(t).GraceUntil.Format("January 2, 2006")
	if !strings.HasPrefix(m, "Payment failed for Acme") || !strings.Contains(m, "|op@acme.test|") ||
		!strings.Contains(m, billingBase+"/billing") || !strings.Contains(m, until) {
		t.Fatalf("payment mail: %s", m)
	}
	// Paid: nothing more to tell.
	s.Status = pmassist.StripeActive
	bw.stripe.SetSubscription(s)
	bw.mustDeliver(t, bw.eventID(), pmassist.EventInvoicePaid, invoiceObject("in_1", billingCustomer, "sub_A", "paid"))
	n.Pass(context.Background())
	if len(mailer.sent) != 1 {
		t.Fatalf("%d mails after payment", len(mailer.sent))
	}
}

func TestCustomDetectionPhrasesNeedEnterprise(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierPro)
	cfg, err := bw.db.TenantConfig(bw.ctx)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Decisions.Phrases = []string{"blue ocean verdict"}
	if err := bw.db.PutTenantConfig(bw.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	finder := NewDecisions(DecisionsConfig{Detector: RuleDetector{}, Decisions: bw.db, Configs: bw.db, Tenants: bw.db})
	item := &pmassist.Item{ID: "it1", Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: "C1:100.1",
		Text: "Blue ocean verdict: the onboarding flow moves to the new editor", Author: pmassist.Person{Name: "Ada"},
		CreatedAt: time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)}
	list := func() []*pmassist.Decision {
		ds, _, err := bw.db.ListDecisions(bw.ctx, pmassist.DecisionFilter{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	if err := finder.Process(bw.ctx, []*pmassist.Item{item}); err != nil {
		t.Fatal(err)
	}
	if ds := list(); len(ds) != 0 {
		t.Fatalf("a pro tenant's own phrase made a decision: %+v", ds[0])
	}
	if _, err := bw.b.SetTier(context.Background(), bw.tenant.ID, pmassist.TierEnterprise, "operator"); err != nil {
		t.Fatal(err)
	}
	if err := finder.Process(bw.ctx, []*pmassist.Item{item}); err != nil {
		t.Fatal(err)
	}
	ds := list()
	if len(ds) != 1 || !strings.Contains(strings.Join(ds[0].Signals, ","), "phrase:blue ocean verdict") {
		t.Fatalf("enterprise decisions: %+v", ds)
	}
	// Kept in the settings after a downgrade, but not applied.
	if _, err := bw.b.SetTier(context.Background(), bw.tenant.ID, pmassist.TierPro, "operator"); err != nil {
		t.Fatal(err)
	}
	if cfg, _ := bw.db.TenantConfig(bw.ctx); len(cfg.Decisions.Phrases) != 1 {
		t.Fatalf("phrases after the downgrade: %v", cfg.Decisions.Phrases)
	}
	other := *item
	other.ID, other.ExternalID = "it2", "C1:200.1"
	if err := finder.Process(bw.ctx, []*pmassist.Item{&other}); err != nil {
		t.Fatal(err)
	}
	if n := len(list()); n != 1 {
		t.Fatalf("%d decisions after the downgrade", n)
	}
}

// An operator's tier survives events that name no subscription (a one-off
// invoice): they say nothing about the tier.
func TestBillingEventWithoutSubscriptionKeepsTheTier(t *testing.T) {
	bw := newBillingWorld(t, pmassist.TierFree)
	if _, err := bw.b.SetTier(bw.ctx, bw.tenant.ID, pmassist.TierEnterprise, "operator"); err != nil {
		t.Fatal(err)
	}
	obj := checkoutObject("cs_test_B", bw.tenant.ID, billingCustomer, "")
	obj["subscription"] = nil
	bw.mustDeliver(t, bw.eventID(), pmassist.EventCheckoutCompleted, obj)
	inv := invoiceObject("in_oneoff", billingCustomer, "", "paid")
	inv["subscription"] = nil
	bw.mustDeliver(t, bw.eventID(), pmassist.EventInvoicePaid, inv)
	if tier := bw.tenantNow(t).Tier; tier != pmassist.TierEnterprise {
		t.Fatalf("a one-off invoice moved the operator's enterprise tier to %s", tier)
	}
}
