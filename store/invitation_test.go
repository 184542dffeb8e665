package store

import (
	"context"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

func mustInvite(tb testing.TB, db *DB, ctx context.Context, email, hash string) *pmassist.Invitation {
	tb.Helper()
	inv := &pmassist.Invitation{Email: email, Role: pmassist.RoleAdmin, TokenHash: hash}
	if err := db.CreateInvitation(ctx, inv); err != nil {
		tb.Fatal(err)
	}
	return inv
}

func TestCreateInvitation(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	inv := &pmassist.Invitation{TenantID: pmassist.NewID(), Email: "New@Example.com", Role: pmassist.RoleMember, TokenHash: "h"}
	if err := db.CreateInvitation(ctx, inv); err != nil {
		t.Fatal(err)
	}
	if inv.TenantID != tenant.ID || inv.Email != "new@example.com" || !inv.ExpiresAt.Equal(inv.CreatedAt.Add(pmassist.InvitationTTL)) {
		t.Errorf("created invitation %+v", inv)
	}
	wantCode(t, db.CreateInvitation(ctx, &pmassist.Invitation{Email: "x@example.com", Role: "boss", TokenHash: "h2"}), pmassist.EINVALID)
	wantCode(t, db.CreateInvitation(ctx, &pmassist.Invitation{Email: "x@example.com", Role: pmassist.RoleMember}), pmassist.EINVALID)
	wantCode(t, db.CreateInvitation(ctx, &pmassist.Invitation{Email: "x@example.com", Role: pmassist.RoleMember, TokenHash: "h"}), pmassist.ECONFLICT)
}

func TestAcceptInvitation_NewUser(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	inv := mustInvite(t, db, ctx, "new@example.com", "h")
	now := time.Now()

	found, err := db.FindInvitationByHash(context.Background(), "h", now)
	if err != nil || found.ID != inv.ID || found.TenantID != tenant.ID {
		t.Fatalf("FindInvitationByHash = %+v, %v", found, err)
	}
	u := newUser("new@example.com")
	accepted, err := db.AcceptInvitation(context.Background(), "h", u, now)
	if err != nil {
		t.Fatal(err)
	}
	if accepted.TenantID != tenant.ID || accepted.AcceptedAt == nil || !accepted.AcceptedAt.Equal(now) {
		t.Errorf("accepted invitation %+v", accepted)
	}
	if _, err := db.FindUserByEmail(context.Background(), "new@example.com"); err != nil || u.ID == "" {
		t.Errorf("new user %q not stored: %v", u.ID, err)
	}
	if m, err := db.FindMember(ctx, u.ID); err != nil || m.Role != pmassist.RoleAdmin || !m.JoinedAt.Equal(now) {
		t.Errorf("membership %+v, %v", m, err)
	}

	// Single use: the link is dead, and the invitation leaves the list.
	_, err = db.FindInvitationByHash(context.Background(), "h", now)
	wantCode(t, err, pmassist.ENOTFOUND)
	if indexed(t, db, bucketInvitationHashes, "h") {
		t.Error("hash lookup survives the accepted invitation")
	}
	_, err = db.AcceptInvitation(context.Background(), "h", newUser("again@example.com"), now)
	wantCode(t, err, pmassist.ENOTFOUND)
	if list, err := db.ListInvitations(ctx); err != nil || len(list) != 0 {
		t.Errorf("ListInvitations after accept = %+v, %v", list, err)
	}
	if _, err := db.FindUserByEmail(context.Background(), "again@example.com"); pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
		t.Errorf("a refused accept created a user: %v", err)
	}
}

func TestAcceptInvitation_ExistingUser(t *testing.T) {
	db := MustOpen(t)
	tenant, owner := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	other, _ := mustTenant(t, db, "Other", "other@example.com")
	existing, err := db.FindUserByEmail(context.Background(), "other@example.com")
	if err != nil {
		t.Fatal(err)
	}
	mustInvite(t, db, ctx, "other@example.com", "h")
	now := time.Now()

	_, err = db.AcceptInvitation(context.Background(), "h", &pmassist.User{ID: pmassist.NewID()}, now)
	wantCode(t, err, pmassist.ENOTFOUND)
	if _, err := db.AcceptInvitation(context.Background(), "h", &pmassist.User{ID: existing.ID}, now); err != nil {
		t.Fatal(err)
	}
	uts, err := db.ListUserTenants(context.Background(), existing.ID)
	if err != nil || len(uts) != 2 || uts[0].Tenant.ID != tenant.ID || uts[0].Role != pmassist.RoleAdmin || uts[1].Tenant.ID != other.ID {
		t.Errorf("ListUserTenants = %+v, %v", uts, err)
	}

	// Inviting someone who is already a member.
	mustInvite(t, db, ctx, owner.Email, "h2")
	_, err = db.AcceptInvitation(context.Background(), "h2", &pmassist.User{ID: owner.ID}, now)
	wantCode(t, err, pmassist.ECONFLICT)
	if msg := pmassist.ErrorMessage(err); msg != "already a member" {
		t.Errorf("message %q", msg)
	}
	if m, _ := db.FindMember(ctx, owner.ID); m.Role != pmassist.RoleOwner {
		t.Errorf("the conflict changed the member's role to %s", m.Role)
	}
	if _, err := db.FindInvitationByHash(context.Background(), "h2", now); err != nil {
		t.Errorf("a refused accept used up the invitation: %v", err)
	}
}

func TestAcceptInvitation_NewUserEmailTaken(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	mustInvite(t, db, ctx, "owner@example.com", "h")
	_, err := db.AcceptInvitation(context.Background(), "h", newUser("OWNER@example.com"), time.Now())
	wantCode(t, err, pmassist.ECONFLICT)
	noPassword := newUser("fresh@example.com")
	noPassword.PasswordHash = ""
	_, err = db.AcceptInvitation(context.Background(), "h", noPassword, time.Now())
	wantCode(t, err, pmassist.EINVALID)
	if n, _ := db.CountMembers(context.Background(), tenant.ID); n != 1 {
		t.Errorf("refused accepts added members: %d", n)
	}
}

func TestInvitation_Expiry(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	inv := mustInvite(t, db, ctx, "late@example.com", "h")

	justBefore := inv.ExpiresAt.Add(-time.Second)
	if _, err := db.FindInvitationByHash(context.Background(), "h", justBefore); err != nil {
		t.Errorf("invitation before expiry: %v", err)
	}
	for _, now := range []time.Time{inv.ExpiresAt, inv.CreatedAt.Add(pmassist.InvitationTTL + time.Hour)} {
		_, err := db.FindInvitationByHash(context.Background(), "h", now)
		wantCode(t, err, pmassist.ENOTFOUND)
		if msg := pmassist.ErrorMessage(err); msg != "invitation not found or expired" {
			t.Errorf("message %q", msg)
		}
		_, err = db.AcceptInvitation(context.Background(), "h", newUser("late@example.com"), now)
		wantCode(t, err, pmassist.ENOTFOUND)
	}
	// Expired but not accepted: still listed, so an admin can revoke it.
	if list, _ := db.ListInvitations(ctx); len(list) != 1 {
		t.Errorf("ListInvitations = %d invitations, want 1", len(list))
	}
}

func TestListAndDeleteInvitations(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	// Ids in neither creation order nor its reverse, so only sorting by time
	// gives the expected order.
	ids := []string{"inv-b", "inv-a", "inv-c"}
	for i, email := range []string{"a@example.com", "b@example.com", "c@example.com"} {
		inv := &pmassist.Invitation{ID: ids[i], Email: email, Role: pmassist.RoleMember, TokenHash: email,
			CreatedAt: base.Add(time.Duration(i) * time.Hour)}
		if err := db.CreateInvitation(ctx, inv); err != nil {
			t.Fatal(err)
		}
	}
	list, err := db.ListInvitations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != ids[2] || list[1].ID != ids[1] || list[2].ID != ids[0] {
		t.Errorf("ListInvitations not newest first: %+v", list)
	}

	if err := db.DeleteInvitation(ctx, ids[1]); err != nil {
		t.Fatal(err)
	}
	_, err = db.FindInvitationByHash(context.Background(), "b@example.com", base)
	wantCode(t, err, pmassist.ENOTFOUND)
	if indexed(t, db, bucketInvitationHashes, "b@example.com") {
		t.Error("hash lookup survives the deleted invitation")
	}
	if list, _ := db.ListInvitations(ctx); len(list) != 2 {
		t.Errorf("ListInvitations after delete = %d, want 2", len(list))
	}
	wantCode(t, db.DeleteInvitation(ctx, ids[1]), pmassist.ENOTFOUND)
}
