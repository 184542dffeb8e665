package store

import (
	"reflect"
	"testing"

	"github.com/pmassist/pmassist"
)

func TestTenantConfig(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	got, err := db.TenantConfig(ctx)
	if err != nil || !reflect.DeepEqual(got, pmassist.DefaultTenantConfig()) {
		t.Fatalf("config of a new tenant %+v, %v; want the defaults", got, err)
	}

	c := pmassist.DefaultTenantConfig()
	c.Timezone = "Europe/Berlin"
	c.SlackChannels = []string{"#general", " general ", "C0123ABC"}
	c.GitHubRepos = []string{"acme/api"}
	c.IngestionIntervalMinutes = 15
	c.Decisions.Phrases = []string{"We Decided"}
	c.Standup = pmassist.StandupConfig{Enabled: true, Time: "10:15", Weekdays: []int{1, 3}, EmailTo: []string{"Team@Example.com"}}
	if err := db.PutTenantConfig(ctx, c); err != nil {
		t.Fatal(err)
	}
	want := c
	if err := want.Validate(); err != nil {
		t.Fatal(err)
	}
	got, err = db.TenantConfig(ctx)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("stored config %+v, %v; want %+v", got, err, want)
	}
	if !reflect.DeepEqual(got.SlackChannels, []string{"general", "C0123ABC"}) || got.Location().String() != "Europe/Berlin" {
		t.Errorf("stored config not normalized: %+v", got)
	}

	bad := want
	bad.Timezone = "Mars/Olympus"
	bad.IngestionIntervalMinutes = 1
	err = db.PutTenantConfig(ctx, bad)
	wantCode(t, err, pmassist.EINVALID)
	for _, f := range []string{"timezone", "ingestion_interval_minutes"} {
		if _, ok := pmassist.ErrorFields(err)[f]; !ok {
			t.Errorf("fields %v lack %s", pmassist.ErrorFields(err), f)
		}
	}
	if got, err := db.TenantConfig(ctx); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("config after a refused put %+v, %v", got, err)
	}
}
