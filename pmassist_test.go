package pmassist_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/pmassist/pmassist"
)

func TestNewIDSortsAndIsValid(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	for i := 0; i < 10000; i++ {
		id := pmassist.NewID()
		if !pmassist.ValidID(id) {
			t.Fatalf("invalid id %q", id)
		}
		if seen[id] {
			t.Fatalf("duplicate id %q", id)
		}
		if id <= prev {
			t.Fatalf("ids out of order: %q after %q", id, prev)
		}
		seen[id], prev = true, id
	}
	for _, bad := range []string{"", "short", "01M8H864GN3QCJSEEGCGK1YTVM", "01m8h864gn3qcjseegcgk1ytv!", "../../../../../../../../../"} {
		if pmassist.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestErrorCode(t *testing.T) {
	if pmassist.ErrorCode(nil) != "" {
		t.Fatal("nil error has a code")
	}
	wrapped := fmt.Errorf("ctx: %w", pmassist.Errorf(pmassist.ENOTFOUND, "thing not found"))
	if pmassist.ErrorCode(wrapped) != pmassist.ENOTFOUND || pmassist.ErrorMessage(wrapped) != "thing not found" {
		t.Fatal("wrapped *Error not recognised")
	}
	plain := errors.New("disk on fire at /var/x")
	if pmassist.ErrorCode(plain) != pmassist.EINTERNAL || pmassist.ErrorMessage(plain) != "internal error" {
		t.Fatal("plain errors must be internal with a generic message")
	}
}

func TestRolesAndPlans(t *testing.T) {
	if !pmassist.RoleOwner.AtLeast(pmassist.RoleAdmin) || pmassist.RoleMember.AtLeast(pmassist.RoleAdmin) || pmassist.Role("x").AtLeast(pmassist.RoleMember) {
		t.Fatal("role order wrong")
	}
	if p := pmassist.PlanFor(pmassist.TierFree); p.Integrations != 1 || p.ItemsPerMonth != 100 || p.RateLimitPerMinute != 60 {
		t.Fatalf("free plan %+v", p)
	}
	if p := pmassist.PlanFor(pmassist.TierPro); p.PriceUSD != 29 || p.Integrations != pmassist.Unlimited || !p.Has(pmassist.FeatureDelivery) || p.Has(pmassist.FeatureOwnOAuthApps) {
		t.Fatalf("pro plan %+v", p)
	}
	if p := pmassist.PlanFor(pmassist.TierEnterprise); p.RateLimitPerMinute != 3000 || !p.Has(pmassist.FeatureCustomRules) {
		t.Fatalf("enterprise plan %+v", p)
	}
	if pmassist.Tier("gold").Valid() || pmassist.PlanFor("gold").Tier != pmassist.TierFree {
		t.Fatal("unknown tier")
	}
}

func TestValidation(t *testing.T) {
	u := &pmassist.User{Email: " Ada@Example.TEST ", Name: " Ada "}
	if err := u.Validate(); err != nil || u.Email != "ada@example.test" || u.Name != "Ada" {
		t.Fatalf("normalisation: %v %+v", err, u)
	}
	for _, e := range []string{"ada", "Ada <ada@x.test>", "a@", ""} {
		if err := (&pmassist.User{Email: e, Name: "A"}).Validate(); pmassist.ErrorFields(err)["email"] == "" {
			t.Errorf("email %q accepted", e)
		}
	}
	if pmassist.ValidatePassword("123456789") == "" || pmassist.ValidatePassword("1234567890") != "" {
		t.Fatal("password minimum is 10")
	}
}
