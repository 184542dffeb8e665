package store

import (
	"context"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

func TestListMembers(t *testing.T) {
	db := MustOpen(t)
	tenant, owner := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	// Neither ids (the order of the keys) nor emails follow the joining order.
	zed := &pmassist.User{ID: "z", Email: "zed@example.com", Name: "Zed", PasswordHash: "x"}
	amy := &pmassist.User{ID: "m", Email: "amy@example.com", Name: "Amy", PasswordHash: "x"}
	for i, u := range []*pmassist.User{zed, amy} {
		if err := db.CreateUser(context.Background(), u); err != nil {
			t.Fatal(err)
		}
		inv := mustInvite(t, db, ctx, u.Email, u.Email)
		joined := owner.CreatedAt.Add(time.Duration(i+1) * time.Hour)
		if _, err := db.AcceptInvitation(context.Background(), inv.TokenHash, &pmassist.User{ID: u.ID}, joined); err != nil {
			t.Fatal(err)
		}
	}

	ms, err := db.ListMembers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []*pmassist.User{owner, zed, amy}
	if len(ms) != len(want) {
		t.Fatalf("ListMembers returned %d members, want %d", len(ms), len(want))
	}
	for i, u := range want {
		if ms[i].UserID != u.ID || ms[i].Email != u.Email || ms[i].Name != u.Name || ms[i].TenantID != tenant.ID {
			t.Errorf("member %d = %+v, want user %s", i, ms[i], u.Email)
		}
	}
	_, err = db.FindMember(ctx, pmassist.NewID())
	wantCode(t, err, pmassist.ENOTFOUND)
}

func TestUpdateMemberRole(t *testing.T) {
	db := MustOpen(t)
	tenant, owner := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	u := addMemberVia(t, db, ctx, "member@example.com", pmassist.RoleMember)

	m, err := db.UpdateMemberRole(ctx, u.ID, pmassist.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if m.Role != pmassist.RoleAdmin || m.Email != u.Email {
		t.Errorf("UpdateMemberRole returned %+v", m)
	}
	if stored, _ := db.FindMember(ctx, u.ID); stored.Role != pmassist.RoleAdmin {
		t.Errorf("role not stored: %+v", stored)
	}
	uts, err := db.ListUserTenants(context.Background(), u.ID)
	if err != nil || len(uts) != 1 || uts[0].Role != pmassist.RoleAdmin {
		t.Errorf("user_tenants not updated: %+v, %v", uts, err)
	}

	_, err = db.UpdateMemberRole(ctx, u.ID, "boss")
	wantCode(t, err, pmassist.EINVALID)
	if f := pmassist.ErrorFields(err); f["role"] == "" {
		t.Errorf("fields %v, want role", f)
	}
	_, err = db.UpdateMemberRole(ctx, pmassist.NewID(), pmassist.RoleAdmin)
	wantCode(t, err, pmassist.ENOTFOUND)
	// Re-affirming the last owner is not a demotion.
	if _, err := db.UpdateMemberRole(ctx, owner.ID, pmassist.RoleOwner); err != nil {
		t.Errorf("owner to owner: %v", err)
	}
}

func TestLastOwner(t *testing.T) {
	db := MustOpen(t)
	tenant, owner := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	other := addMemberVia(t, db, ctx, "other@example.com", pmassist.RoleAdmin)

	_, err := db.UpdateMemberRole(ctx, owner.ID, pmassist.RoleAdmin)
	wantCode(t, err, pmassist.ECONFLICT)
	if msg := pmassist.ErrorMessage(err); msg != "a tenant needs at least one owner" {
		t.Errorf("message %q", msg)
	}
	wantCode(t, db.RemoveMember(ctx, owner.ID), pmassist.ECONFLICT)
	if m, err := db.FindMember(ctx, owner.ID); err != nil || m.Role != pmassist.RoleOwner {
		t.Fatalf("last owner changed: %+v, %v", m, err)
	}

	// With a second owner, the first may step down and then leave.
	if _, err := db.UpdateMemberRole(ctx, other.ID, pmassist.RoleOwner); err != nil {
		t.Fatal(err)
	}
	if _, err := db.UpdateMemberRole(ctx, owner.ID, pmassist.RoleMember); err != nil {
		t.Fatal(err)
	}
	wantCode(t, db.RemoveMember(ctx, other.ID), pmassist.ECONFLICT)
	if err := db.RemoveMember(ctx, owner.ID); err != nil {
		t.Fatal(err)
	}
	if n, _ := db.CountMembers(context.Background(), tenant.ID); n != 1 {
		t.Errorf("CountMembers = %d, want 1", n)
	}
}

func TestRemoveMember_RevokesTokens(t *testing.T) {
	db := MustOpen(t)
	tenant, owner := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	u := addMemberVia(t, db, ctx, "member@example.com", pmassist.RoleMember)
	// The member also belongs to another tenant, where nothing may change.
	other, _ := mustTenant(t, db, "Other", "other-owner@example.com")
	octx := tenantCtx(other.ID)
	addMemberViaExisting(t, db, octx, u)

	for _, tk := range []*pmassist.APIToken{
		{UserID: u.ID, Name: "one", Hash: "h1"},
		{UserID: u.ID, Name: "two", Hash: "h2"},
		{UserID: owner.ID, Name: "owner's", Hash: "h3"},
	} {
		if err := db.CreateAPIToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	elsewhere := &pmassist.APIToken{UserID: u.ID, Name: "elsewhere", Hash: "h4"}
	if err := db.CreateAPIToken(octx, elsewhere); err != nil {
		t.Fatal(err)
	}

	if err := db.RemoveMember(ctx, u.ID); err != nil {
		t.Fatal(err)
	}
	_, err := db.FindMember(ctx, u.ID)
	wantCode(t, err, pmassist.ENOTFOUND)
	if tks, err := db.ListAPITokens(ctx, u.ID); err != nil || len(tks) != 0 {
		t.Errorf("removed member keeps tokens %+v, %v", tks, err)
	}
	for _, h := range []string{"h1", "h2"} {
		_, err := db.FindAPITokenByHash(context.Background(), h)
		wantCode(t, err, pmassist.ENOTFOUND)
		if indexed(t, db, bucketAPITokenHashes, h) {
			t.Errorf("hash lookup %s survives its token", h)
		}
	}
	for _, h := range []string{"h3", "h4"} {
		if _, err := db.FindAPITokenByHash(context.Background(), h); err != nil {
			t.Errorf("token %s of someone else or elsewhere: %v", h, err)
		}
	}
	uts, err := db.ListUserTenants(context.Background(), u.ID)
	if err != nil || len(uts) != 1 || uts[0].Tenant.ID != other.ID {
		t.Errorf("ListUserTenants after removal = %+v, %v", uts, err)
	}
	wantCode(t, db.RemoveMember(ctx, u.ID), pmassist.ENOTFOUND)
}

// addMemberViaExisting invites an existing user into the context's tenant.
func addMemberViaExisting(tb testing.TB, db *DB, ctx context.Context, u *pmassist.User) {
	tb.Helper()
	inv := &pmassist.Invitation{Email: u.Email, Role: pmassist.RoleMember, TokenHash: "inv-existing-" + u.ID}
	if err := db.CreateInvitation(ctx, inv); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.AcceptInvitation(context.Background(), inv.TokenHash, &pmassist.User{ID: u.ID}, inv.CreatedAt); err != nil {
		tb.Fatal(err)
	}
}

func TestListUserTenants_ByName(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	u := newUser("u@example.com")
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	// Bucket order (by id) is neither the byte order nor the case-blind
	// order of the names.
	for id, name := range map[string]string{"a": "Zeta", "b": "alpha", "c": "Beta"} {
		if err := db.CreateTenant(ctx, &pmassist.Tenant{ID: id, Name: name, Tier: pmassist.TierFree}, &pmassist.User{ID: u.ID}); err != nil {
			t.Fatal(err)
		}
	}
	uts, err := db.ListUserTenants(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ut := range uts {
		names = append(names, ut.Tenant.Name)
	}
	if len(names) != 3 || names[0] != "alpha" || names[1] != "Beta" || names[2] != "Zeta" {
		t.Errorf("ListUserTenants order %v", names)
	}
	if uts, err := db.ListUserTenants(ctx, pmassist.NewID()); err != nil || len(uts) != 0 {
		t.Errorf("unknown user: %v, %v", uts, err)
	}
}
