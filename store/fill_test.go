package store

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

// Pages of the buckets whose keys only grow are filled before they split:
// 20 pages of 200 items of realistic size leave the items bucket's pages
// at least 70% used (79% here; bbolt's default fill left 47%).
func TestAppendedBucketsArePacked(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	for page := range 20 {
		items := slackItems(fmt.Sprintf("C%d:", page), 200)
		for i, it := range items {
			it.Text = strings.Repeat(fmt.Sprintf("message %d of page %d ", i, page), 8)
			it.Author = pmassist.Person{Name: "Alice Martin", Email: "alice@acme.example", ExternalID: "U0ALICE"}
		}
		mustUpsert(t, db, ctx, items, nil, pmassist.Unlimited)
	}
	var st bolt.BucketStats
	if err := db.bolt.View(func(tx *bolt.Tx) error {
		st = tx.Bucket(tenantBucketName(tenant.ID)).Bucket(bucketItems).Stats()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if st.KeyN != 4000 {
		t.Fatalf("%d items", st.KeyN)
	}
	if used := float64(st.LeafInuse) / float64(st.LeafAlloc); used < 0.7 {
		t.Fatalf("items' leaf pages %.0f%% used (%d of %d bytes)", 100*used, st.LeafInuse, st.LeafAlloc)
	}
}
