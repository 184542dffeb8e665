package store

import (
	"context"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

func TestCreateTenant(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	tenant, owner := mustTenant(t, db, "  Acme  ", "Owner@Example.com")
	if !pmassist.ValidID(tenant.ID) || !pmassist.ValidID(owner.ID) {
		t.Fatalf("ids not assigned: tenant %q, owner %q", tenant.ID, owner.ID)
	}
	got, err := db.FindTenantByID(ctx, tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "Acme" || got.SubscriptionStatus != pmassist.SubscriptionNone || got.CreatedAt.Location() != time.UTC {
		t.Errorf("stored tenant %+v", got)
	}
	m, err := db.FindMember(tenantCtx(tenant.ID), owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if m.Role != pmassist.RoleOwner || m.Email != "owner@example.com" {
		t.Errorf("owner membership %+v", m)
	}
	if n, err := db.CountMembers(ctx, tenant.ID); err != nil || n != 1 {
		t.Errorf("CountMembers = %d, %v; want 1", n, err)
	}

	// An existing user can own a second tenant.
	second := &pmassist.Tenant{Name: "Second", Tier: pmassist.TierPro, SubscriptionStatus: pmassist.SubscriptionActive}
	if err := db.CreateTenant(ctx, second, &pmassist.User{ID: owner.ID}); err != nil {
		t.Fatal(err)
	}
	if second.SubscriptionStatus != pmassist.SubscriptionActive {
		t.Errorf("given subscription status replaced by %q", second.SubscriptionStatus)
	}
	uts, err := db.ListUserTenants(ctx, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(uts) != 2 || uts[0].Tenant.Name != "Acme" || uts[1].Tenant.Name != "Second" || uts[1].Role != pmassist.RoleOwner {
		t.Errorf("ListUserTenants = %+v", uts)
	}
}

func TestCreateTenant_Refusals(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	_, owner := mustTenant(t, db, "Acme", "owner@example.com")

	err := db.CreateTenant(ctx, &pmassist.Tenant{Name: "", Tier: pmassist.TierFree}, newUser("a@example.com"))
	wantCode(t, err, pmassist.EINVALID)
	err = db.CreateTenant(ctx, &pmassist.Tenant{Name: "X", Tier: "gold"}, newUser("a@example.com"))
	wantCode(t, err, pmassist.EINVALID)
	err = db.CreateTenant(ctx, &pmassist.Tenant{Name: "X", Tier: pmassist.TierFree}, &pmassist.User{ID: pmassist.NewID()})
	wantCode(t, err, pmassist.ENOTFOUND)
	noPassword := newUser("b@example.com")
	noPassword.PasswordHash = ""
	err = db.CreateTenant(ctx, &pmassist.Tenant{Name: "X", Tier: pmassist.TierFree}, noPassword)
	wantCode(t, err, pmassist.EINVALID)
	if f := pmassist.ErrorFields(err); f["password"] != "required" {
		t.Errorf("fields %v, want password required", f)
	}
	err = db.CreateTenant(ctx, &pmassist.Tenant{Name: "X", Tier: pmassist.TierFree}, newUser("OWNER@example.com"))
	wantCode(t, err, pmassist.ECONFLICT)

	// None of the refused calls may have left a tenant or a user behind.
	if ts, err := db.ListTenants(ctx); err != nil || len(ts) != 1 {
		t.Errorf("ListTenants = %d tenants, %v; want 1", len(ts), err)
	}
	if n, err := db.CountUsers(ctx); err != nil || n != 1 {
		t.Errorf("CountUsers = %d, %v; want only %s", n, err, owner.Email)
	}
}

func TestListTenants_Ordered(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// Ids (the order of the buckets) in neither creation order nor its
	// reverse, so only sorting by time gives the expected order.
	for _, c := range []struct {
		id, name string
		created  time.Time
	}{
		{"b", "First", base},
		{"a", "Second", base.Add(time.Hour)},
		{"c", "Third", base.Add(2 * time.Hour)},
	} {
		tn := &pmassist.Tenant{ID: c.id, Name: c.name, Tier: pmassist.TierFree, CreatedAt: c.created}
		if err := db.CreateTenant(ctx, tn, newUser(c.name+"@example.com")); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := db.ListTenants(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tn := range ts {
		names = append(names, tn.Name)
	}
	if len(names) != 3 || names[0] != "First" || names[1] != "Second" || names[2] != "Third" {
		t.Errorf("ListTenants order %v", names)
	}
}

func TestUpdateTenant(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")

	tier, suspended := pmassist.TierEnterprise, true
	got, err := db.UpdateTenant(ctx, tenant.ID, pmassist.TenantUpdate{Tier: &tier, Suspended: &suspended})
	if err != nil {
		t.Fatal(err)
	}
	if got.Tier != tier || !got.Suspended || got.Name != "Acme" || !got.UpdatedAt.After(tenant.UpdatedAt) {
		t.Errorf("updated tenant %+v", got)
	}
	if stored, _ := db.FindTenantByID(ctx, tenant.ID); stored.Tier != tier || !stored.Suspended {
		t.Errorf("update not stored: %+v", stored)
	}

	empty := " "
	_, err = db.UpdateTenant(ctx, tenant.ID, pmassist.TenantUpdate{Name: &empty})
	wantCode(t, err, pmassist.EINVALID)
	if stored, _ := db.FindTenantByID(ctx, tenant.ID); stored.Name != "Acme" {
		t.Errorf("invalid update stored: %+v", stored)
	}

	_, err = db.UpdateTenant(ctx, pmassist.NewID(), pmassist.TenantUpdate{Tier: &tier})
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.FindTenantByID(ctx, pmassist.NewID())
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.CountMembers(ctx, pmassist.NewID())
	wantCode(t, err, pmassist.ENOTFOUND)
}
