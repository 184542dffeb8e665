package store

import (
	"context"
	"sync"
	"testing"

	"github.com/pmassist/pmassist"
)

// Every committed change to a tenant's decisions moves its version, by
// whichever path; a failed write, a read, another tenant's write and a write
// that changes nothing of the decisions do not.
func TestDecisionsVersion(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	other, _ := mustTenant(t, db, "Beta", "owner@beta.example")
	ctx, otherCtx := tenantCtx(tenant.ID), tenantCtx(other.ID)
	version := func() uint64 {
		t.Helper()
		v, err := db.DecisionsVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if _, err := db.DecisionsVersion(context.Background()); err == nil {
		t.Fatal("a version without a tenant")
	}
	moves := func(what string, change func() error) {
		t.Helper()
		before := version()
		if err := change(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if after := version(); after == before {
			t.Fatalf("%s: the version stayed %d", what, before)
		}
	}
	stays := func(what string, change func() error) {
		t.Helper()
		before := version()
		_ = change()
		if after := version(); after != before {
			t.Fatalf("%s: the version moved %d -> %d", what, before, after)
		}
	}
	var d *pmassist.Decision
	moves("create", func() error {
		d = &pmassist.Decision{Title: "Use Postgres", Origin: pmassist.OriginManual}
		return db.CreateDecision(ctx, d)
	})
	moves("update", func() error {
		_, err := db.UpdateDecision(ctx, d.ID, pmassist.DecisionUpdate{Title: ptr("Use SQLite")})
		return err
	})
	moves("detected", func() error {
		_, _, err := db.UpsertDetected(ctx, detected("slack:C1:1", "Use Redis", 1, "C1:1"))
		return err
	})
	moves("detected, many", func() error {
		_, err := db.UpsertDetectedMany(ctx, []*pmassist.Decision{detected("slack:C1:2", "Use Kafka", 1, "C1:2")})
		return err
	})
	moves("delete", func() error { return db.DeleteDecision(ctx, d.ID) })

	stays("a read", func() error {
		_, _, err := db.ListDecisions(ctx, pmassist.DecisionFilter{})
		return err
	})
	stays("a refused update", func() error {
		_, err := db.UpdateDecision(ctx, "nope", pmassist.DecisionUpdate{Title: ptr("x")})
		return err
	})
	stays("a refused create", func() error {
		return db.CreateDecision(ctx, &pmassist.Decision{Title: "", Origin: pmassist.OriginManual})
	})
	stays("another tenant's write", func() error {
		return db.CreateDecision(otherCtx, &pmassist.Decision{Title: "Theirs", Origin: pmassist.OriginManual})
	})
}

// Versions handed out while writers commit concurrently never go back.
func TestDecisionsVersionConcurrent(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	var wg sync.WaitGroup
	for i := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 10 {
				if err := db.CreateDecision(ctx, &pmassist.Decision{Title: "D", Origin: pmassist.OriginManual,
					ThreadKey: string(rune('a'+i)) + string(rune('a'+j))}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	var last uint64
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for {
		v, err := db.DecisionsVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v < last {
			t.Fatalf("version went back from %d to %d", last, v)
		}
		last = v
		select {
		case <-done:
			if v, _ := db.DecisionsVersion(ctx); v == 0 {
				t.Fatal("no version after 40 writes")
			}
			return
		default:
		}
	}
}
