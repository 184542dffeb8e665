package store

import (
	"context"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

func TestAPITokens(t *testing.T) {
	db := MustOpen(t)
	tenant, owner := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	// Ids and creation order disagree, so the listing order has to come
	// from sorting by time.
	second := &pmassist.APIToken{ID: "0-sorts-first", UserID: owner.ID, Name: "second", Hash: "h2", CreatedAt: base.Add(time.Hour)}
	first := &pmassist.APIToken{TenantID: pmassist.NewID(), UserID: owner.ID, Name: " first ", Hash: "h1", CreatedAt: base}
	for _, tk := range []*pmassist.APIToken{second, first} {
		if err := db.CreateAPIToken(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	if first.TenantID != tenant.ID || first.Name != "first" || !pmassist.ValidID(first.ID) {
		t.Errorf("created token %+v", first)
	}
	list, err := db.ListAPITokens(ctx, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != first.ID || list[1].ID != second.ID {
		t.Errorf("ListAPITokens = %+v", list)
	}

	byHash, err := db.FindAPITokenByHash(context.Background(), "h1")
	if err != nil || byHash.ID != first.ID || byHash.TenantID != tenant.ID {
		t.Errorf("FindAPITokenByHash = %+v, %v", byHash, err)
	}
	_, err = db.FindAPITokenByHash(context.Background(), "unknown")
	wantCode(t, err, pmassist.ENOTFOUND)

	used := base.Add(2 * time.Hour)
	if err := db.TouchAPIToken(ctx, first.ID, used); err != nil {
		t.Fatal(err)
	}
	if got, err := db.FindAPIToken(ctx, first.ID); err != nil || got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) {
		t.Errorf("touched token %+v, %v", got, err)
	}

	if err := db.DeleteAPIToken(ctx, first.ID); err != nil {
		t.Fatal(err)
	}
	_, err = db.FindAPIToken(ctx, first.ID)
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.FindAPITokenByHash(context.Background(), "h1")
	wantCode(t, err, pmassist.ENOTFOUND)
	if indexed(t, db, bucketAPITokenHashes, "h1") {
		t.Error("hash lookup survives its token")
	}
	wantCode(t, db.DeleteAPIToken(ctx, first.ID), pmassist.ENOTFOUND)
	wantCode(t, db.TouchAPIToken(ctx, first.ID, used), pmassist.ENOTFOUND)
}

func TestCreateAPIToken_Refusals(t *testing.T) {
	db := MustOpen(t)
	tenant, owner := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	if err := db.CreateAPIToken(ctx, &pmassist.APIToken{UserID: owner.ID, Name: "ci", Hash: "h"}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		ctx   context.Context
		token *pmassist.APIToken
		code  string
	}{
		{"no name", ctx, &pmassist.APIToken{UserID: owner.ID, Hash: "x"}, pmassist.EINVALID},
		{"no hash", ctx, &pmassist.APIToken{UserID: owner.ID, Name: "ci"}, pmassist.EINVALID},
		{"taken hash", ctx, &pmassist.APIToken{UserID: owner.ID, Name: "ci", Hash: "h"}, pmassist.ECONFLICT},
		{"not a member", ctx, &pmassist.APIToken{UserID: pmassist.NewID(), Name: "ci", Hash: "y"}, pmassist.ENOTFOUND},
		{"no such tenant", tenantCtx(pmassist.NewID()), &pmassist.APIToken{UserID: owner.ID, Name: "ci", Hash: "z"}, pmassist.ENOTFOUND},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantCode(t, db.CreateAPIToken(c.ctx, c.token), c.code)
		})
	}
	if list, _ := db.ListAPITokens(ctx, owner.ID); len(list) != 1 {
		t.Errorf("refused tokens were stored: %d tokens", len(list))
	}
}
