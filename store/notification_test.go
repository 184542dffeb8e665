package store

import (
	"context"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

func TestNotificationsOncePerEvent(t *testing.T) {
	db := MustOpen(t)
	a, b := &pmassist.Tenant{Name: "A", Tier: pmassist.TierPro}, &pmassist.Tenant{Name: "B", Tier: pmassist.TierPro}
	for i, tn := range []*pmassist.Tenant{a, b} {
		if err := db.CreateTenant(context.Background(), tn, &pmassist.User{Email: []string{"a@x.test", "b@x.test"}[i], Name: "U", PasswordHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	ctxA, ctxB := pmassist.NewContextWithTenant(context.Background(), a.ID), pmassist.NewContextWithTenant(context.Background(), b.ID)
	now := time.Now()
	if first, err := db.FirstNotice(ctxA, "reauth:c1", now); err != nil || !first {
		t.Fatalf("first: %v %v", first, err)
	}
	if first, _ := db.FirstNotice(ctxA, "reauth:c1", now); first {
		t.Fatal("told twice")
	}
	if first, _ := db.FirstNotice(ctxB, "reauth:c1", now); !first {
		t.Fatal("tenants share notices")
	}
	if err := db.ForgetNotice(ctxA, "reauth:c1"); err != nil {
		t.Fatal(err)
	}
	if first, _ := db.FirstNotice(ctxA, "reauth:c1", now); !first {
		t.Fatal("a forgotten event is not told again")
	}
	if _, err := db.FirstNotice(context.Background(), "x", now); err == nil {
		t.Fatal("no tenant accepted")
	}
}
