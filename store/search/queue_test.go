package search

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

func TestQueue(t *testing.T) {
	f := newFakeStore()
	ix := openReady(t, t.TempDir(), f)
	add(f, ix, msg("acme", "a1", "quarterly budget review", t0), msg("acme", "a2", "budget approved", t0))
	add(f, ix, msg("globex", "g1", "budget cuts", t0), msg("globex", "g2", "budget freeze", t0))
	waitIdle(t, ix)
	wantIDs(t, ix, "acme", pmassist.SearchQuery{Q: "budget"}, "a1", "a2")

	// An update is indexed as the record is when its batch runs.
	changed := msg("acme", "a1", "quarterly forecast review", t0)
	add(f, ix, changed)
	waitIdle(t, ix)
	wantIDs(t, ix, "acme", pmassist.SearchQuery{Q: "budget"}, "a2")
	wantIDs(t, ix, "acme", pmassist.SearchQuery{Q: "forecast"}, "a1")

	// Gone from the store (ENOTFOUND on load), or marked deleted: out.
	f.deleteItem("a2")
	ix.QueueItems(tenantCtx("acme"), "a2")
	deleted := msg("acme", "a1", "quarterly forecast review", t0)
	deleted.Deleted = true
	add(f, ix, deleted)
	waitIdle(t, ix)
	wantIDs(t, ix, "acme", pmassist.SearchQuery{})

	// Another tenant's id queued with this tenant does not load.
	ix.QueueItems(tenantCtx("acme"), "g1")
	waitIdle(t, ix)
	wantIDs(t, ix, "acme", pmassist.SearchQuery{})

	// Decisions, and their removal.
	f.putDecision(&pmassist.Decision{ID: "d1", TenantID: "acme", Title: "Freeze budget", Summary: "until Q3", DecidedAt: t0})
	ix.QueueDecisions(tenantCtx("acme"), "d1")
	waitIdle(t, ix)
	wantIDs(t, ix, "acme", pmassist.SearchQuery{Q: "budget"}, "d1")
	ix.RemoveDecision(tenantCtx("acme"), "d1")
	waitIdle(t, ix)
	wantIDs(t, ix, "acme", pmassist.SearchQuery{Q: "budget"})

	f.putDecision(&pmassist.Decision{ID: "d2", TenantID: "acme", Title: "Budget owner", DecidedAt: t0})
	ix.QueueDecisions(tenantCtx("acme"), "d2")
	waitIdle(t, ix)
	f.deleteDecision("d2")
	ix.QueueDecisions(tenantCtx("acme"), "d2")
	waitIdle(t, ix)
	wantIDs(t, ix, "acme", pmassist.SearchQuery{Q: "budget"})

	// RemoveItems takes documents out even while the records exist.
	ix.RemoveItems(tenantCtx("globex"), "g1")
	waitIdle(t, ix)
	wantIDs(t, ix, "globex", pmassist.SearchQuery{Q: "budget"}, "g2")

	// Without a tenant in the context nothing is queued.
	ix.QueueItems(context.Background(), "g1")
	waitIdle(t, ix)
	wantIDs(t, ix, "globex", pmassist.SearchQuery{Q: "budget"}, "g2")
}

func TestRemoveTenant(t *testing.T) {
	f := newFakeStore()
	ix := openReady(t, t.TempDir(), f, func(o *Options) { o.BatchSize = 7 })
	for i := range 30 {
		add(f, ix, msg("acme", fmt.Sprintf("a%d", i), "standup notes", t0))
		add(f, ix, msg("globex", fmt.Sprintf("g%d", i), "standup notes", t0))
	}
	f.putDecision(&pmassist.Decision{ID: "d1", TenantID: "acme", Title: "standup at ten", DecidedAt: t0})
	ix.QueueDecisions(tenantCtx("acme"), "d1")
	waitIdle(t, ix)
	if res := mustSearch(t, ix, "acme", pmassist.SearchQuery{}); res.Total != 31 {
		t.Fatalf("acme has %d documents", res.Total)
	}
	ix.RemoveTenant(context.Background(), "acme")
	waitIdle(t, ix)
	if res := mustSearch(t, ix, "acme", pmassist.SearchQuery{}); res.Total != 0 {
		t.Errorf("acme still has %d documents", res.Total)
	}
	if res := mustSearch(t, ix, "globex", pmassist.SearchQuery{Q: "standup"}); res.Total != 30 {
		t.Errorf("globex has %d documents, want 30", res.Total)
	}
	if st := ix.IndexState(); st.Docs != 30 || st.Version != Version {
		t.Errorf("state %+v", st)
	}
}

// A queued id becomes searchable within about FlushEvery, without WaitIdle.
func TestFlushEvery(t *testing.T) {
	f := newFakeStore()
	ix := openReady(t, t.TempDir(), f, func(o *Options) { o.FlushEvery = 20 * time.Millisecond })
	add(f, ix, msg("acme", "a1", "hello world", t0))
	deadline := time.Now().Add(10 * time.Second)
	for len(searchIDs(t, ix, "acme", pmassist.SearchQuery{Q: "hello"})) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("a queued item was not searchable after 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCloseFlushesQueue(t *testing.T) {
	f := newFakeStore()
	dir := t.TempDir()
	// Batches wait for an hour: only Close indexes them.
	ix := openReady(t, dir, f, func(o *Options) { o.FlushEvery = time.Hour })
	for i := range 5 {
		add(f, ix, msg("acme", fmt.Sprintf("a%d", i), "pending work", t0))
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	walks := f.walkCount()
	ix = openIndex(t, dir, f)
	if st := ix.IndexState(); st.State != StateReady || st.Docs != 5 {
		t.Errorf("after a clean close: %+v", st)
	}
	if f.walkCount() != walks {
		t.Error("a clean close led to a rebuild")
	}
	wantIDs(t, ix, "acme", pmassist.SearchQuery{Q: "pending"}, "a0", "a1", "a2", "a3", "a4")
}

// A full queue drops ids; the next start rebuilds, so they are not lost.
func TestQueueFull(t *testing.T) {
	f := newFakeStore()
	dir := t.TempDir()
	ix := openReady(t, dir, f, func(o *Options) {
		o.FlushEvery = time.Hour
		o.maxQueue = 3
	})
	for i := range 6 {
		add(f, ix, msg("acme", fmt.Sprintf("a%d", i), "overflow", t0))
	}
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	walks := f.walkCount()
	ix = openIndex(t, dir, f)
	if st := ix.IndexState(); st.State != StateBuilding {
		t.Errorf("state %q, want building", st.State)
	}
	waitIdle(t, ix)
	if f.walkCount() != walks+1 {
		t.Error("no rebuild after dropped ids")
	}
	if res := mustSearch(t, ix, "acme", pmassist.SearchQuery{Q: "overflow"}); res.Total != 6 {
		t.Errorf("%d of 6 after the rebuild", res.Total)
	}
}

// Pending counts what is queued and not yet in the index (the lag).
func TestPending(t *testing.T) {
	f := newFakeStore()
	ix := openReady(t, t.TempDir(), f, func(o *Options) { o.FlushEvery = time.Hour })
	if n := ix.Pending(); n != 0 {
		t.Fatalf("pending %d on an idle index", n)
	}
	add(f, ix, msg("acme", "a1", "hello", t0), msg("acme", "a2", "world", t0))
	if n := ix.Pending(); n != 2 {
		t.Fatalf("pending %d, want 2 (the batch waits an hour to fill)", n)
	}
	waitIdle(t, ix)
	if n := ix.Pending(); n != 0 {
		t.Fatalf("pending %d after WaitIdle", n)
	}
}
