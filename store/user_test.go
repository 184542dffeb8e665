package store

import (
	"context"
	"testing"

	"github.com/pmassist/pmassist"
)

func TestSetup_OnlyOnce(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	if n, err := db.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers on a new file = %d, %v", n, err)
	}
	u := newUser("op@example.com")
	tenant := &pmassist.Tenant{Name: "First", Tier: pmassist.TierFree}
	if err := db.Setup(ctx, u, tenant); err != nil {
		t.Fatal(err)
	}
	stored, err := db.FindUserByID(ctx, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !stored.Operator {
		t.Error("the setup user is not the operator")
	}
	if m, err := db.FindMember(tenantCtx(tenant.ID), u.ID); err != nil || m.Role != pmassist.RoleOwner {
		t.Errorf("setup user's membership %+v, %v", m, err)
	}

	err = db.Setup(ctx, newUser("second@example.com"), &pmassist.Tenant{Name: "Second", Tier: pmassist.TierFree})
	wantCode(t, err, pmassist.ECONFLICT)
	// Done is done, whatever else is wrong with the request.
	err = db.Setup(ctx, newUser("third@example.com"), &pmassist.Tenant{})
	wantCode(t, err, pmassist.ECONFLICT)
	if ts, _ := db.ListTenants(ctx); len(ts) != 1 {
		t.Errorf("a refused setup left %d tenants", len(ts))
	}
}

func TestSetup_AfterCreateUser(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	if err := db.CreateUser(ctx, newUser("someone@example.com")); err != nil {
		t.Fatal(err)
	}
	err := db.Setup(ctx, newUser("op@example.com"), &pmassist.Tenant{Name: "First", Tier: pmassist.TierFree})
	wantCode(t, err, pmassist.ECONFLICT)
}

func TestCreateUser_EmailUniqueIgnoringCase(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	u := newUser(" Ann@Example.com ")
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if u.Email != "ann@example.com" || u.Operator {
		t.Errorf("stored user %+v", u)
	}
	wantCode(t, db.CreateUser(ctx, newUser("ann@example.COM")), pmassist.ECONFLICT)

	got, err := db.FindUserByEmail(ctx, "ANN@example.com")
	if err != nil || got.ID != u.ID || got.PasswordHash != u.PasswordHash {
		t.Errorf("FindUserByEmail = %+v, %v", got, err)
	}
	if n, _ := db.CountUsers(ctx); n != 1 {
		t.Errorf("CountUsers = %d, want 1", n)
	}
	if uts, err := db.ListUserTenants(ctx, u.ID); err != nil || len(uts) != 0 {
		t.Errorf("a user created alone belongs to %v, %v", uts, err)
	}
}

func TestCreateUser_Invalid(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	wantCode(t, db.CreateUser(ctx, newUser("not an email")), pmassist.EINVALID)
	noName := newUser("a@example.com")
	noName.Name = ""
	wantCode(t, db.CreateUser(ctx, noName), pmassist.EINVALID)
	noPassword := newUser("a@example.com")
	noPassword.PasswordHash = ""
	err := db.CreateUser(ctx, noPassword)
	wantCode(t, err, pmassist.EINVALID)
	if f := pmassist.ErrorFields(err); f["password"] != "required" {
		t.Errorf("fields %v, want password required", f)
	}
}

func TestFindUser_NotFound(t *testing.T) {
	db := MustOpen(t)
	ctx := context.Background()
	_, err := db.FindUserByID(ctx, pmassist.NewID())
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.FindUserByEmail(ctx, "nobody@example.com")
	wantCode(t, err, pmassist.ENOTFOUND)
}
