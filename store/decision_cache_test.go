package store

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

// A list serves decoded decisions from the cache while their stored bytes
// are unchanged: what it returns is the same as a fresh decode, callers may
// change it freely, and any write is seen at once.
func TestListDecisionsCache(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	other, _ := mustTenant(t, db, "Beta", "owner@beta.example")
	ctx, otherCtx := tenantCtx(tenant.ID), tenantCtx(other.ID)
	d := mustDecision(t, db, ctx, detected("slack:C1:1", "Use Postgres", 1, "C1:1"))
	mustDecision(t, db, otherCtx, detected("slack:C1:1", "Use MySQL", 1, "C1:1"))
	list := func(ctx context.Context) []*pmassist.Decision {
		t.Helper()
		ds, _, err := db.ListDecisions(ctx, pmassist.DecisionFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	first := list(ctx)
	if len(db.decisions.entries) != 1 {
		t.Fatalf("%d cached", len(db.decisions.entries))
	}
	second := list(ctx)
	if !reflect.DeepEqual(first, second) || len(second) != 1 || second[0].Title != "Use Postgres" {
		t.Fatalf("from the cache %+v, decoded %+v", second[0], first[0])
	}
	// A caller changing what it got changes nothing for the next.
	second[0].Tags = append(second[0].Tags, "x")
	second[0].Sources[0].Excerpt = "changed"
	second[0].Signals[0] = "changed"
	second[0].Participants[0] = "changed"
	second[0].Title = "changed"
	if third := list(ctx); !reflect.DeepEqual(third, first) {
		t.Fatalf("a caller's change reached the cache: %+v", third[0])
	}
	// The other tenant's decision of the same thread is its own.
	if ds := list(otherCtx); len(ds) != 1 || ds[0].Title != "Use MySQL" {
		t.Fatalf("other tenant: %+v", ds)
	}
	// A write is seen at once.
	if _, err := db.UpdateDecision(ctx, d.ID, pmassist.DecisionUpdate{Title: ptr("Use SQLite")}); err != nil {
		t.Fatal(err)
	}
	if ds := list(ctx); ds[0].Title != "Use SQLite" || !ds[0].UserEdited {
		t.Fatalf("after the update: %+v", ds[0])
	}
}

func TestDecisionCacheBounded(t *testing.T) {
	var c decodedDecisions
	for i := range decisionCacheSize + 10 {
		key := []byte(fmt.Sprintf("id%05d", i))
		data := []byte(fmt.Sprintf(`{"id":"id%05d","title":"t"}`, i))
		d, err := c.decode("t1", key, data)
		if err != nil || d.ID != string(key) {
			t.Fatalf("%+v %v", d, err)
		}
	}
	if len(c.entries) != decisionCacheSize {
		t.Fatalf("%d entries", len(c.entries))
	}
	if _, err := c.decode("t1", []byte("bad"), []byte("{")); err == nil {
		t.Fatal("garbage decoded")
	}
}

// cloneDecision must copy every field that shares memory: a new slice,
// map or pointer field in pmassist.Decision must be added there.
func TestCloneDecisionIsDeep(t *testing.T) {
	cloned := map[string]bool{"Signals": true, "Participants": true, "Tags": true, "Sources": true}
	var check func(typ reflect.Type, path string)
	check = func(typ reflect.Type, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			if f.Type == reflect.TypeFor[time.Time]() {
				continue // a value that shares nothing mutable
			}
			switch f.Type.Kind() {
			case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface, reflect.Chan, reflect.Func:
				if !cloned[path+f.Name] {
					t.Errorf("cloneDecision does not copy %s%s (%s)", path, f.Name, f.Type)
				}
				if f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct {
					check(f.Type.Elem(), path+f.Name+".")
				}
			case reflect.Struct:
				check(f.Type, path+f.Name+".")
			}
		}
	}
	check(reflect.TypeFor[pmassist.Decision](), "")
}
