package search

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/pmassist/pmassist"
)

// seed stores items and decisions of two tenants and indexes them.
func seed(t *testing.T, f *fakeStore, ix *Index) {
	t.Helper()
	for i := range 40 {
		tenant := []string{"acme", "globex"}[i%2]
		add(f, ix, msg(tenant, fmt.Sprintf("m%02d", i), fmt.Sprintf("message %d about the launch", i), t0.Add(time.Duration(i)*time.Minute)))
	}
	f.putDecision(&pmassist.Decision{ID: "d1", TenantID: "acme", Title: "Launch in March", Summary: "after the launch review", DecidedAt: t0.Add(-time.Minute)})
	ix.QueueDecisions(tenantCtx("acme"), "d1")
	waitIdle(t, ix)
}

func results(t *testing.T, ix *Index) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, tenant := range []string{"acme", "globex"} {
		// Equal scores keep the index's order: compare those as sets.
		out[tenant+" launch"] = sortedIDs(t, ix, tenant, pmassist.SearchQuery{Q: "launch", Limit: 100})
		out[tenant+" phrase"] = sortedIDs(t, ix, tenant, pmassist.SearchQuery{Q: `"launch review"`})
		out[tenant+" by date"] = searchIDs(t, ix, tenant, pmassist.SearchQuery{Limit: 100, Sort: "date"})
	}
	return out
}

func sameSnapshot(t *testing.T, got, want map[string][]string) {
	t.Helper()
	for k, w := range want {
		if !equal(got[k], w) {
			t.Errorf("%s: %v, want %v", k, got[k], w)
		}
	}
}

// gate holds the fake's walks until the returned func is called.
func gate(f *fakeStore) func() {
	ch := make(chan struct{})
	f.mu.Lock()
	f.gate = ch
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.gate = nil
		f.mu.Unlock()
		close(ch)
	}
}

// waitWalk waits for the fake's walks to reach n.
func waitWalk(t *testing.T, f *fakeStore, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for f.walkCount() < n {
		if time.Now().After(deadline) {
			t.Fatalf("walk %d did not start", n)
		}
		time.Sleep(time.Millisecond)
	}
}

func wantBuilding(t *testing.T, ix *Index) {
	t.Helper()
	if st := ix.IndexState(); st.State != StateBuilding {
		t.Errorf("state %+v, want building", st)
	}
	_, err := ix.Search(tenantCtx("acme"), pmassist.SearchQuery{Q: "launch"})
	wantCode(t, err, pmassist.EUNAVAILABLE)
	if msg := pmassist.ErrorMessage(err); msg != "the search index is being built; try again in a minute" {
		t.Errorf("message %q", msg)
	}
}

func TestRebuildWhenMissing(t *testing.T) {
	f := newFakeStore()
	dir := t.TempDir() + "/index"
	ix := openReady(t, dir, f)
	seed(t, f, ix)
	before := results(t, ix)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	walks := f.walkCount()
	release := gate(f)
	ix = openIndex(t, dir, f)
	wantBuilding(t, ix)
	waitWalk(t, f, walks+1)
	// Updates queued meanwhile (and missed by the walk) wait for the build.
	add(f, ix, msg("initech", "late", "late launch note", t0))
	release()
	waitIdle(t, ix)
	sameSnapshot(t, results(t, ix), before)
	wantIDs(t, ix, "initech", pmassist.SearchQuery{Q: "launch"}, "late")
}

func TestRebuildAfterRestore(t *testing.T) {
	f := newFakeStore()
	dir := t.TempDir()
	ix := openReady(t, dir, f)
	seed(t, f, ix)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	_, tx, _ := f.DataVersion()

	// A restore: an older data file, without what came later and with
	// something the index never saw, and a smaller transaction id.
	f.deleteItem("m00")
	f.deleteDecision("d1")
	f.putItem(msg("acme", "restored", "restored launch plan", t0))
	f.setTx(tx - 5)

	release := gate(f)
	ix = openIndex(t, dir, f)
	wantBuilding(t, ix)
	release()
	waitIdle(t, ix)
	ids := sortedIDs(t, ix, "acme", pmassist.SearchQuery{Q: "launch", Limit: 100})
	want := []string{"m02", "m04", "m06", "m08", "m10", "m12", "m14", "m16", "m18", "m20", "m22", "m24", "m26", "m28", "m30", "m32", "m34", "m36", "m38", "restored"}
	if !equal(ids, want) {
		t.Errorf("after a restore: %v\nwant %v", ids, want)
	}
}

func TestRebuildWhenUntrusted(t *testing.T) {
	cases := map[string]func(idx bleve.Index) error{
		"version bump": func(idx bleve.Index) error { return idx.SetInternal(keyVersion, []byte("0")) },
		"not closed":   func(idx bleve.Index) error { return idx.DeleteInternal(keyDataVersion) },
		"other data file": func(idx bleve.Index) error {
			return idx.SetInternal(keyDataVersion, []byte(`{"file_id":"x","tx_id":1}`))
		},
		"clean (no build)": nil,
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			f := newFakeStore()
			dir := t.TempDir()
			ix := openReady(t, dir, f)
			seed(t, f, ix)
			before := results(t, ix)
			if err := ix.Close(); err != nil {
				t.Fatal(err)
			}
			if spoil != nil {
				idx, err := bleve.Open(dir)
				if err != nil {
					t.Fatal(err)
				}
				// Leave a trace that only a rebuild removes.
				if err := idx.Index(itemPrefix+"ghost", itemDoc(msg("acme", "ghost", "launch ghost", t0))); err != nil {
					t.Fatal(err)
				}
				if err := spoil(idx); err != nil {
					t.Fatal(err)
				}
				if err := idx.Close(); err != nil {
					t.Fatal(err)
				}
			}
			walks := f.walkCount()
			ix = openIndex(t, dir, f)
			waitIdle(t, ix)
			rebuilt := f.walkCount() > walks
			if rebuilt != (spoil != nil) {
				t.Errorf("rebuilt = %v", rebuilt)
			}
			sameSnapshot(t, results(t, ix), before)
		})
	}
}

// An operator's rebuild keeps the old index serving, and updates queued
// meanwhile reach the new one.
func TestRebuildOnDemand(t *testing.T) {
	f := newFakeStore()
	dir := t.TempDir()
	ix := openReady(t, dir, f)
	seed(t, f, ix)
	before := results(t, ix)
	// The store changed behind the index's back (say, a bug lost an update).
	f.putItem(msg("acme", "unqueued", "launch checklist", t0))

	walks := f.walkCount()
	release := gate(f)
	if err := ix.Rebuild(tenantCtx("acme")); err != nil {
		t.Fatal(err)
	}
	waitWalk(t, f, walks+1)
	if err := ix.Rebuild(tenantCtx("acme")); err != nil {
		t.Errorf("a second rebuild: %v", err)
	}
	if st := ix.IndexState(); st.State != StateReady {
		t.Errorf("state %+v during an operator's rebuild", st)
	}
	sameSnapshot(t, results(t, ix), before)
	add(f, ix, msg("acme", "during", "launch party", t0))
	f.deleteItem("m02")
	ix.QueueItems(tenantCtx("acme"), "m02")
	deadline := time.Now().Add(10 * time.Second)
	for !equal(searchIDs(t, ix, "acme", pmassist.SearchQuery{Q: "party"}), []string{"during"}) {
		if time.Now().After(deadline) {
			t.Fatal("the old index did not take updates during the rebuild")
		}
		time.Sleep(5 * time.Millisecond)
	}
	release()
	waitIdle(t, ix)
	wantIDs(t, ix, "acme", pmassist.SearchQuery{Q: "launch checklist"}, "unqueued")
	wantIDs(t, ix, "acme", pmassist.SearchQuery{Q: "party"}, "during")
	if got := searchIDs(t, ix, "acme", pmassist.SearchQuery{Q: "message 2"}); len(got) != 0 {
		t.Errorf("the deleted item is back: %v", got)
	}
	if _, err := os.Stat(dir + rebuildSuffix); !os.IsNotExist(err) {
		t.Errorf("the rebuild's folder is left: %v", err)
	}

	// The new index is the one in Dir: it survives a restart.
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	walks = f.walkCount()
	ix = openIndex(t, dir, f)
	if f.walkCount() != walks || ix.IndexState().State != StateReady {
		t.Errorf("reopened: %+v", ix.IndexState())
	}
	wantIDs(t, ix, "acme", pmassist.SearchQuery{Q: "launch checklist"}, "unqueued")
}

func TestCloseDuringRebuild(t *testing.T) {
	f := newFakeStore()
	dir := t.TempDir()
	ix := openReady(t, dir, f)
	seed(t, f, ix)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}

	walks := f.walkCount()
	release := gate(f)
	ix = openIndex(t, dir, f)
	waitWalk(t, f, walks+1)
	add(f, ix, msg("acme", "late", "late launch", t0))
	done := make(chan error, 1)
	go func() { done <- ix.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not cancel the rebuild")
	}
	release()

	// The interrupted build is not trusted.
	walks = f.walkCount()
	ix = openReady(t, dir, f)
	if f.walkCount() != walks+1 {
		t.Error("no rebuild after an interrupted one")
	}
	if res := mustSearch(t, ix, "acme", pmassist.SearchQuery{Q: "launch", Limit: 100}); res.Total != 22 {
		t.Errorf("%d results, want 22", res.Total)
	}
}

// While the index is open it may fall behind the data file (queued ids
// are lost in a crash): it holds no data version until a clean Close, so
// that a crash leads to a rebuild.
func TestNoDataVersionWhileOpen(t *testing.T) {
	f := newFakeStore()
	dir := t.TempDir()
	ix := openReady(t, dir, f)
	seed(t, f, ix)
	if err := ix.Close(); err != nil {
		t.Fatal(err)
	}
	ix = openIndex(t, dir, f)
	if st := ix.IndexState(); st.State != StateReady {
		t.Fatalf("state %+v", st)
	}
	ix.mu.RLock()
	v, err := ix.idx.GetInternal(keyDataVersion)
	ix.mu.RUnlock()
	if err != nil || len(v) != 0 {
		t.Errorf("data version %q (%v) while open", v, err)
	}
}
