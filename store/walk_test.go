package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

// walkFixture makes two tenants with ten items and ten decisions between
// them (six in A, four in B) and returns the tenants and, per id, its tenant.
func walkFixture(t *testing.T, db *DB) (a, b *pmassist.Tenant, items, decisions map[string]string) {
	t.Helper()
	a, _ = mustTenant(t, db, "A", "a@example.com")
	b, _ = mustTenant(t, db, "B", "b@example.com")
	items, decisions = map[string]string{}, map[string]string{}
	for tenant, n := range map[*pmassist.Tenant]int{a: 6, b: 4} {
		ctx := tenantCtx(tenant.ID)
		list := slackItems(tenant.Name+":", n)
		mustUpsert(t, db, ctx, list, nil, pmassist.Unlimited)
		for i, it := range list {
			items[it.ID] = tenant.ID
			d := mustDecision(t, db, ctx, newDecision(fmt.Sprint(tenant.Name, i), i))
			decisions[d.ID] = tenant.ID
		}
	}
	// Records store their tenant, but the walk must not rely on that: blank
	// it in the first item and decision of each tenant.
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		for _, tenant := range []*pmassist.Tenant{a, b} {
			tb := tx.Bucket(tenantBucketName(tenant.ID))
			for _, coll := range [][]byte{bucketItems, bucketDecisions} {
				k, v := tb.Bucket(coll).Cursor().First()
				var rec map[string]any
				if err := decode(k, v, &rec); err != nil {
					return err
				}
				rec["tenant_id"] = ""
				if err := putJSON(tb.Bucket(coll), bytes.Clone(k), rec); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, b, items, decisions
}

func TestWalkItems(t *testing.T) {
	db := MustOpen(t)
	_, _, want, _ := walkFixture(t, db)

	seen := map[string]string{}
	var sizes []int
	err := db.WalkItems(context.Background(), 3, func(items []*pmassist.Item) error {
		sizes = append(sizes, len(items))
		for _, it := range items {
			if _, dup := seen[it.ID]; dup {
				t.Errorf("item %s seen twice", it.ID)
			}
			seen[it.ID] = it.TenantID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sizes, []int{3, 3, 3, 1}) {
		t.Errorf("page sizes %v", sizes)
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("walked %v, want %v", seen, want)
	}

	// The default page holds them all.
	sizes = nil
	err = db.WalkItems(context.Background(), 0, func(items []*pmassist.Item) error {
		sizes = append(sizes, len(items))
		return nil
	})
	if err != nil || !slices.Equal(sizes, []int{10}) {
		t.Errorf("default page sizes %v, %v", sizes, err)
	}
}

func TestWalkDecisions(t *testing.T) {
	db := MustOpen(t)
	_, _, _, want := walkFixture(t, db)

	seen := map[string]string{}
	var sizes []int
	err := db.WalkDecisions(context.Background(), 3, func(ds []*pmassist.Decision) error {
		sizes = append(sizes, len(ds))
		for _, d := range ds {
			if _, dup := seen[d.ID]; dup {
				t.Errorf("decision %s seen twice", d.ID)
			}
			seen[d.ID] = d.TenantID
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sizes, []int{3, 3, 3, 1}) {
		t.Errorf("page sizes %v", sizes)
	}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("walked %v, want %v", seen, want)
	}

	// A page size that divides the records evenly ends without an empty page.
	sizes = nil
	err = db.WalkDecisions(context.Background(), 5, func(ds []*pmassist.Decision) error {
		sizes = append(sizes, len(ds))
		return nil
	})
	if err != nil || !slices.Equal(sizes, []int{5, 5}) {
		t.Errorf("page sizes %v, %v", sizes, err)
	}

	// An empty file calls fn never.
	empty := MustOpen(t)
	err = empty.WalkDecisions(context.Background(), 3, func([]*pmassist.Decision) error {
		t.Error("fn called on an empty file")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestWalk_StopsAtError(t *testing.T) {
	db := MustOpen(t)
	walkFixture(t, db)
	stop := errors.New("stop")

	calls := 0
	err := db.WalkItems(context.Background(), 3, func([]*pmassist.Item) error {
		calls++
		if calls == 2 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || calls != 2 {
		t.Errorf("items: %v after %d calls", err, calls)
	}
	calls = 0
	err = db.WalkDecisions(context.Background(), 3, func([]*pmassist.Decision) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Errorf("decisions: %v after %d calls", err, calls)
	}

	// A cancelled context stops the walk between pages.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls = 0
	err = db.WalkDecisions(ctx, 3, func([]*pmassist.Decision) error {
		calls++
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("cancelled: %v after %d calls", err, calls)
	}
}

// TestWalk_PageTransactions: each page is read in a transaction of its own,
// so fn may write, and what it writes shows in the later pages.
func TestWalk_PageTransactions(t *testing.T) {
	db := MustOpen(t)
	_, b, _, decisions := walkFixture(t, db)
	var last string // the last decision of B in key order
	for id, tenant := range decisions {
		if tenant == b.ID && id > last {
			last = id
		}
	}
	seen := 0
	err := db.WalkDecisions(context.Background(), 3, func(ds []*pmassist.Decision) error {
		if seen == 0 {
			if err := db.DeleteDecision(tenantCtx(b.ID), last); err != nil {
				return err
			}
		}
		for _, d := range ds {
			if d.ID == last {
				t.Error("the walk saw a decision deleted before its page was read")
			}
		}
		seen += len(ds)
		return nil
	})
	if err != nil || seen != 9 {
		t.Errorf("walked %d decisions, %v; want 9", seen, err)
	}
}

func TestDataVersion(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pmassist.db")
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)

	fileID, tx1, err := db.DataVersion()
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(fileID) {
		t.Errorf("file id %q", fileID)
	}
	id2, tx2, err := db.DataVersion()
	if err != nil || id2 != fileID || tx2 != tx1 {
		t.Errorf("without a write: %s %d, %v; want %s %d", id2, tx2, err, fileID, tx1)
	}
	mustDecision(t, db, ctx, newDecision("one", 1))
	if id2, tx2, err = db.DataVersion(); err != nil || id2 != fileID || tx2 <= tx1 {
		t.Errorf("after a write: %s %d, %v; want %s and more than %d", id2, tx2, err, fileID, tx1)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	// A byte copy: a backup taken now.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(backup, data, 0o600); err != nil {
		t.Fatal(err)
	}

	// The original lives on.
	db, err = Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for i := range 3 {
		mustDecision(t, db, ctx, newDecision(fmt.Sprint("later ", i), i))
	}
	id3, tx3, err := db.DataVersion()
	if err != nil || id3 != fileID || tx3 <= tx2 {
		t.Errorf("reopened: %s %d, %v; want %s and more than %d", id3, tx3, err, fileID, tx2)
	}

	// The restored copy is the same file, in an older state.
	restored, err := Open(backup, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	id4, tx4, err := restored.DataVersion()
	if err != nil || id4 != fileID || tx4 >= tx3 {
		t.Errorf("restored copy: %s %d, %v; want %s and less than %d", id4, tx4, err, fileID, tx3)
	}

	// Another file has another id.
	other := MustOpen(t)
	if id5, _, err := other.DataVersion(); err != nil || id5 == fileID {
		t.Errorf("another file: %s, %v", id5, err)
	}
}

func TestOpeningAnUpToDateFileWritesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pmassist.db")
	keys, err := GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	db, err := Open(path, Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.FailInterruptedJobs(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	_, before, _ := db.DataVersion()
	_ = db.Close()
	db, err = Open(path, Options{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.FailInterruptedJobs(context.Background(), time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, after, _ := db.DataVersion(); after != before {
		t.Fatalf("opening moved the data version from %d to %d: the search index would rebuild at every start", before, after)
	}
}
