package store

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

// billingFn is an UpdateBilling function that counts its calls.
type billingFn struct {
	calls int
	fn    func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error)
}

func (f *billingFn) call(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
	f.calls++
	if f.fn == nil {
		return nil, nil
	}
	return f.fn(t, b)
}

// mustUpdateBilling runs UpdateBilling at now and returns applied.
func mustUpdateBilling(tb testing.TB, db *DB, ctx context.Context, eventID string, now time.Time,
	fn func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error)) bool {
	tb.Helper()
	applied, err := db.updateBilling(ctx, eventID, now, fn)
	if err != nil {
		tb.Fatal(err)
	}
	return applied
}

func mustBilling(tb testing.TB, db *DB, ctx context.Context) *pmassist.BillingState {
	tb.Helper()
	b, err := db.BillingState(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// subscribe is an UpdateBilling function that gives the tenant a pro
// subscription of customer.
func subscribe(customer, sub string) func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
	return func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		b.CustomerID, b.SubscriptionID, b.Status, b.SubscribedTier = customer, sub, pmassist.StripeActive, pmassist.TierPro
		t.Tier = pmassist.TierPro
		return nil, nil
	}
}

// billingEventCounts returns the entries of the two billing event buckets.
func billingEventCounts(tb testing.TB, db *DB) (events, times int) {
	tb.Helper()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		events = countKeys(tx.Bucket(bucketBillingEvents))
		times = countKeys(tx.Bucket(bucketBillingEventTimes))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return events, times
}

func wantTenantByCustomer(tb testing.TB, db *DB, customer, want string) {
	tb.Helper()
	got, err := db.TenantByCustomer(context.Background(), customer)
	if err != nil || got != want {
		tb.Errorf("TenantByCustomer(%q) = %q, %v; want %q", customer, got, err, want)
	}
}

func TestBillingState_ZeroUntilSet(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	if b := mustBilling(t, db, ctx); !reflect.DeepEqual(*b, pmassist.BillingState{}) {
		t.Errorf("billing state of a new tenant %+v, want the zero value", b)
	}
	mustUpdateBilling(t, db, ctx, "", time.Now(), subscribe("cus_1", "sub_1"))
	b := mustBilling(t, db, ctx)
	if b.CustomerID != "cus_1" || b.SubscriptionID != "sub_1" {
		t.Fatalf("billing state %+v", b)
	}
	// What BillingState returns is the caller's to change.
	b.CustomerID = "changed"
	if again := mustBilling(t, db, ctx); again.CustomerID != "cus_1" {
		t.Errorf("changing a returned state changed the stored one: %+v", again)
	}

	_, err := db.BillingState(tenantCtx("missing"))
	wantCode(t, err, pmassist.ENOTFOUND)
}

func TestUpdateBilling_OncePerEvent(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

	f := &billingFn{fn: subscribe("cus_1", "sub_1")}
	if !mustUpdateBilling(t, db, ctx, "evt_1", now, f.call) || f.calls != 1 {
		t.Fatalf("first delivery of an event: %d calls", f.calls)
	}
	before := mustBilling(t, db, ctx)
	beforeTenant, err := db.FindTenantByID(context.Background(), tenant.ID)
	if err != nil {
		t.Fatal(err)
	}

	// Stripe delivers the event again: fn is not called, nothing changes.
	f.fn = func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		b.Status, t.Tier = pmassist.StripeCanceled, pmassist.TierFree
		return &pmassist.AuditEvent{Actor: "system", Action: "billing.test"}, nil
	}
	if mustUpdateBilling(t, db, ctx, "evt_1", now.Add(time.Hour), f.call) {
		t.Error("a repeated event was applied")
	}
	if f.calls != 1 {
		t.Errorf("fn called %d times, want 1", f.calls)
	}
	if after := mustBilling(t, db, ctx); !reflect.DeepEqual(after, before) {
		t.Errorf("billing state after a repeated event %+v, want %+v", after, before)
	}
	if after, err := db.FindTenantByID(context.Background(), tenant.ID); err != nil || !reflect.DeepEqual(after, beforeTenant) {
		t.Errorf("tenant after a repeated event %+v, %v; want %+v", after, err, beforeTenant)
	}
	if list, _, err := db.ListAuditEvents(ctx, pmassist.AuditFilter{}); err != nil || len(list) != 0 {
		t.Errorf("audit log after a repeated event %+v, %v", list, err)
	}

	// Another event applies; an empty id is never deduplicated.
	if !mustUpdateBilling(t, db, ctx, "evt_2", now, f.call) || f.calls != 2 {
		t.Errorf("a new event was not applied (%d calls)", f.calls)
	}
	for range 2 {
		if !mustUpdateBilling(t, db, ctx, "", now, f.call) {
			t.Error("an update without event id was not applied")
		}
	}
	if f.calls != 4 {
		t.Errorf("fn called %d times, want 4", f.calls)
	}
	if e, tm := billingEventCounts(t, db); e != 2 || tm != 2 {
		t.Errorf("%d events and %d time entries, want 2 and 2", e, tm)
	}
}

func TestUpdateBilling_FailureStoresNothing(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	boom := errors.New("stripe is down")

	for name, fn := range map[string]func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error){
		"fn fails": func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
			subscribe("cus_1", "sub_1")(t, b)
			return &pmassist.AuditEvent{Actor: "system", Action: "billing.test"}, boom
		},
		"invalid tier": func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
			subscribe("cus_1", "sub_1")(t, b)
			t.Tier = "gold"
			return &pmassist.AuditEvent{Actor: "system", Action: "billing.test"}, nil
		},
	} {
		applied, err := db.updateBilling(ctx, "evt_1", now, fn)
		if applied || err == nil {
			t.Fatalf("%s: applied %v, error %v", name, applied, err)
		}
		if name == "fn fails" && !errors.Is(err, boom) {
			t.Errorf("%s: error %v, want fn's", name, err)
		}
		if name == "invalid tier" {
			wantCode(t, err, pmassist.EINVALID)
		}
		if b := mustBilling(t, db, ctx); !reflect.DeepEqual(*b, pmassist.BillingState{}) {
			t.Errorf("%s: billing state stored: %+v", name, b)
		}
		if got, err := db.FindTenantByID(context.Background(), tenant.ID); err != nil || got.Tier != pmassist.TierFree || !got.UpdatedAt.Equal(tenant.UpdatedAt) {
			t.Errorf("%s: tenant changed: %+v, %v", name, got, err)
		}
		if list, _, err := db.ListAuditEvents(ctx, pmassist.AuditFilter{}); err != nil || len(list) != 0 {
			t.Errorf("%s: audit event stored: %+v, %v", name, list, err)
		}
		wantTenantByCustomer(t, db, "cus_1", "")
		if e, tm := billingEventCounts(t, db); e != 0 || tm != 0 {
			t.Errorf("%s: event id recorded (%d, %d)", name, e, tm)
		}
	}

	// The retry of the event applies.
	f := &billingFn{fn: subscribe("cus_1", "sub_1")}
	if !mustUpdateBilling(t, db, ctx, "evt_1", now, f.call) || f.calls != 1 {
		t.Errorf("the retry was not applied (%d calls)", f.calls)
	}
	if b := mustBilling(t, db, ctx); b.SubscriptionID != "sub_1" {
		t.Errorf("billing state after the retry %+v", b)
	}
}

func TestUpdateBilling_WritesTenantStateAndAuditTogether(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	now := time.Date(2026, 3, 10, 12, 0, 0, 0, time.FixedZone("X", 3600))
	end := now.Add(30 * 24 * time.Hour)

	var seenTenant pmassist.Tenant
	applied := mustUpdateBilling(t, db, ctx, "evt_1", now, func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		seenTenant = *t
		b.Apply(&pmassist.SubscriptionInfo{ID: "sub_1", CustomerID: "cus_1", Status: pmassist.StripeActive,
			Tier: pmassist.TierPro, CurrentPeriodEnd: end}, now)
		b.AppliedTier = b.EffectiveTier(now)
		t.Tier = b.AppliedTier
		t.SubscriptionStatus = b.Status
		t.ID = "another-tenant" // ignored: fn changes fields, not which tenant
		return &pmassist.AuditEvent{Actor: "system", Action: "billing.tier_changed", Target: "pro",
			Details: map[string]string{"event": "evt_1"}}, nil
	})
	if !applied {
		t.Fatal("not applied")
	}
	if seenTenant.ID != tenant.ID || seenTenant.Name != "Acme" || seenTenant.Tier != pmassist.TierFree {
		t.Errorf("fn saw tenant %+v", seenTenant)
	}

	got, err := db.FindTenantByID(context.Background(), tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tenant.ID || got.Tier != pmassist.TierPro || got.SubscriptionStatus != pmassist.StripeActive ||
		!got.UpdatedAt.Equal(now) || got.UpdatedAt.Location() != time.UTC || !got.CreatedAt.Equal(tenant.CreatedAt) {
		t.Errorf("tenant after update %+v", got)
	}
	if _, err := db.FindTenantByID(context.Background(), "another-tenant"); pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
		t.Errorf("fn's change of the tenant id was stored: %v", err)
	}
	b := mustBilling(t, db, ctx)
	if b.CustomerID != "cus_1" || b.SubscriptionID != "sub_1" || b.Status != pmassist.StripeActive || b.SubscribedTier != pmassist.TierPro ||
		b.AppliedTier != pmassist.TierPro || b.CurrentPeriodEnd == nil || !b.CurrentPeriodEnd.Equal(end) || !b.UpdatedAt.Equal(now) {
		t.Errorf("billing state after update %+v", b)
	}
	list, _, err := db.ListAuditEvents(ctx, pmassist.AuditFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("audit log %+v, %v", list, err)
	}
	e := list[0]
	if !pmassist.ValidID(e.ID) || !e.At.Equal(now) || e.At.Location() != time.UTC || e.Action != "billing.tier_changed" ||
		e.Target != "pro" || e.Details["event"] != "evt_1" {
		t.Errorf("audit event %+v", e)
	}
	wantTenantByCustomer(t, db, "cus_1", tenant.ID)

	// An event's own time is kept.
	at := now.Add(-time.Minute)
	mustUpdateBilling(t, db, ctx, "", now, func(*pmassist.Tenant, *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		return &pmassist.AuditEvent{At: at, Actor: "system", Action: "billing.test"}, nil
	})
	if list, _, err := db.ListAuditEvents(ctx, pmassist.AuditFilter{}); err != nil || len(list) != 2 || !list[1].At.Equal(at) {
		t.Errorf("audit log %+v, %v", list, err)
	}
}

func TestUpdateBilling_CustomerIndex(t *testing.T) {
	db := MustOpen(t)
	a, _ := mustTenant(t, db, "A", "a@example.com")
	b, _ := mustTenant(t, db, "B", "b@example.com")
	actx, bctx := tenantCtx(a.ID), tenantCtx(b.ID)
	now := time.Now()
	customer := func(id string) func(*pmassist.Tenant, *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		return func(_ *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
			b.CustomerID = id
			return nil, nil
		}
	}

	wantTenantByCustomer(t, db, "", "")
	wantTenantByCustomer(t, db, "cus_unknown", "")
	mustUpdateBilling(t, db, actx, "", now, customer("cus_a1"))
	mustUpdateBilling(t, db, bctx, "", now, customer("cus_b"))
	wantTenantByCustomer(t, db, "cus_a1", a.ID)
	wantTenantByCustomer(t, db, "cus_b", b.ID)

	// A's customer changes: the old id leads nowhere.
	mustUpdateBilling(t, db, actx, "", now, customer("cus_a2"))
	wantTenantByCustomer(t, db, "cus_a1", "")
	wantTenantByCustomer(t, db, "cus_a2", a.ID)
	// An update that keeps the customer keeps its entry.
	mustUpdateBilling(t, db, actx, "", now, func(_ *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		b.Status = pmassist.StripePastDue
		return nil, nil
	})
	wantTenantByCustomer(t, db, "cus_a2", a.ID)

	// B comes to hold A's old customer (after the operator moved it in
	// Stripe), then A moves off it: B's entry stays.
	mustUpdateBilling(t, db, bctx, "", now, customer("cus_a2"))
	wantTenantByCustomer(t, db, "cus_a2", b.ID)
	wantTenantByCustomer(t, db, "cus_b", "")
	mustUpdateBilling(t, db, actx, "", now, customer("cus_a3"))
	wantTenantByCustomer(t, db, "cus_a2", b.ID)
	wantTenantByCustomer(t, db, "cus_a3", a.ID)

	// Clearing the customer forgets it.
	mustUpdateBilling(t, db, actx, "", now, customer(""))
	wantTenantByCustomer(t, db, "cus_a3", "")

	// An entry whose tenant bucket is gone leads nowhere.
	err := db.bolt.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(tenantBucketName(b.ID)) })
	if err != nil {
		t.Fatal(err)
	}
	wantTenantByCustomer(t, db, "cus_a2", "")
}

func TestRecordBillingEvent(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	for i, want := range []bool{true, false, false} {
		if first, err := db.RecordBillingEvent(ctx, "evt_1"); err != nil || first != want {
			t.Errorf("call %d: %v, %v; want %v", i+1, first, err, want)
		}
	}
	if first, err := db.RecordBillingEvent(ctx, "evt_2"); err != nil || !first {
		t.Errorf("another event: %v, %v", first, err)
	}
	_, err := db.RecordBillingEvent(ctx, "")
	wantCode(t, err, pmassist.EINVALID)

	// The ids are shared with UpdateBilling, both ways.
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	tctx := tenantCtx(tenant.ID)
	f := &billingFn{}
	if mustUpdateBilling(t, db, tctx, "evt_1", time.Now(), f.call) || f.calls != 0 {
		t.Errorf("an event recorded by RecordBillingEvent was applied (%d calls)", f.calls)
	}
	if !mustUpdateBilling(t, db, tctx, "evt_3", time.Now(), f.call) {
		t.Error("a new event was not applied")
	}
	if first, err := db.RecordBillingEvent(ctx, "evt_3"); err != nil || first {
		t.Errorf("an event applied by UpdateBilling: %v, %v", first, err)
	}
}

func TestBillingEvents_Expire(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	record := func(id string, at time.Time) bool {
		t.Helper()
		first, err := db.recordBillingEvent(ctx, id, at)
		if err != nil {
			t.Fatal(err)
		}
		return first
	}
	if !record("evt_1", t0) {
		t.Fatal("a new event was seen before")
	}
	if record("evt_1", t0.Add(billingEventTTL)) {
		t.Error("an event 30 days old was forgotten")
	}
	// Past 30 days it is pruned, and counts as new once more.
	if !record("evt_1", t0.Add(billingEventTTL+time.Second)) {
		t.Error("an event older than 30 days was still seen")
	}
	if record("evt_1", t0.Add(billingEventTTL+time.Hour)) {
		t.Error("an event recorded again was not seen")
	}
	if e, tm := billingEventCounts(t, db); e != 1 || tm != 1 {
		t.Errorf("%d events and %d time entries, want 1 and 1", e, tm)
	}

	// UpdateBilling applies an expired event again.
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	tctx := tenantCtx(tenant.ID)
	f := &billingFn{}
	mustUpdateBilling(t, db, tctx, "evt_2", t0, f.call)
	if mustUpdateBilling(t, db, tctx, "evt_2", t0.Add(billingEventTTL), f.call) {
		t.Error("an event 30 days old was applied again")
	}
	if !mustUpdateBilling(t, db, tctx, "evt_2", t0.Add(billingEventTTL+time.Second), f.call) || f.calls != 2 {
		t.Errorf("an expired event was not applied again (%d calls)", f.calls)
	}
}

func TestBillingEvents_PrunedInBatches(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for i := range 250 {
		if _, err := db.recordBillingEvent(ctx, fmt.Sprint("old-", i), t0.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	later := t0.Add(billingEventTTL + time.Hour)
	if _, err := db.recordBillingEvent(ctx, "new-1", later); err != nil {
		t.Fatal(err)
	}
	if e, tm := billingEventCounts(t, db); e != 151 || tm != 151 {
		t.Errorf("after one prune: %d events, %d time entries; want 150 old and 1 new", e, tm)
	}
	// UpdateBilling prunes too, even when it applies nothing.
	if mustUpdateBilling(t, db, tenantCtx(tenant.ID), "new-1", later, (&billingFn{}).call) {
		t.Error("a repeated event was applied")
	}
	if e, tm := billingEventCounts(t, db); e != 51 || tm != 51 {
		t.Errorf("after the second prune: %d events, %d time entries; want 50 old and 1 new", e, tm)
	}
	// A failed update prunes nothing: its transaction is rolled back.
	_, err := db.updateBilling(tenantCtx(tenant.ID), "new-2", later, func(*pmassist.Tenant, *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		return nil, errors.New("failed")
	})
	if err == nil {
		t.Fatal("a failing fn did not fail the update")
	}
	if e, tm := billingEventCounts(t, db); e != 51 || tm != 51 {
		t.Errorf("after a failed update: %d events, %d time entries; want 51", e, tm)
	}
	if _, err := db.recordBillingEvent(ctx, "new-2", later); err != nil {
		t.Fatal(err)
	}
	if e, tm := billingEventCounts(t, db); e != 2 || tm != 2 {
		t.Errorf("after the third prune: %d events, %d time entries; want 2", e, tm)
	}
}

func TestListBilledTenants(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	if ids, err := db.ListBilledTenants(ctx); err != nil || len(ids) != 0 {
		t.Errorf("billed tenants of an empty file %v, %v", ids, err)
	}
	var tenants []*pmassist.Tenant
	for i := range 4 {
		tenant, _ := mustTenant(t, db, fmt.Sprint("T", i), fmt.Sprintf("t%d@example.com", i))
		tenants = append(tenants, tenant)
	}
	now := time.Now()
	// 0 and 2 subscribe; 1 only has a customer; 3 never touches billing.
	mustUpdateBilling(t, db, tenantCtx(tenants[2].ID), "", now, subscribe("cus_2", "sub_2"))
	mustUpdateBilling(t, db, tenantCtx(tenants[0].ID), "", now, subscribe("cus_0", "sub_0"))
	mustUpdateBilling(t, db, tenantCtx(tenants[1].ID), "", now, func(_ *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		b.CustomerID = "cus_1"
		return nil, nil
	})
	want := []string{tenants[0].ID, tenants[2].ID}
	slices.Sort(want) // tenant bucket order
	if ids, err := db.ListBilledTenants(ctx); err != nil || !slices.Equal(ids, want) {
		t.Errorf("billed tenants %v, %v; want %v", ids, err, want)
	}

	// A subscription that is gone is no longer listed.
	mustUpdateBilling(t, db, tenantCtx(tenants[0].ID), "", now, func(_ *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		b.SubscriptionID = ""
		return nil, nil
	})
	if ids, err := db.ListBilledTenants(ctx); err != nil || !slices.Equal(ids, []string{tenants[2].ID}) {
		t.Errorf("billed tenants %v, %v; want only %s", ids, err, tenants[2].ID)
	}
}
