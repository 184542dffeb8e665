package store

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

func seen(tb testing.TB, db *DB, service pmassist.Service, id string, now time.Time) bool {
	tb.Helper()
	s, err := db.SeenDelivery(context.Background(), service, id, now)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// deliveryCounts returns the entries of the two delivery buckets.
func deliveryCounts(tb testing.TB, db *DB) (deliveries, times int) {
	tb.Helper()
	err := db.bolt.View(func(tx *bolt.Tx) error {
		deliveries = countKeys(tx.Bucket(bucketWebhookDeliveries))
		times = countKeys(tx.Bucket(bucketWebhookDeliveryTimes))
		return nil
	})
	if err != nil {
		tb.Fatal(err)
	}
	return deliveries, times
}

func TestSeenDelivery(t *testing.T) {
	db := MustOpen(t)
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	if seen(t, db, pmassist.ServiceGitHub, "d1", t0) {
		t.Error("a new delivery was seen before")
	}
	if !seen(t, db, pmassist.ServiceGitHub, "d1", t0.Add(time.Minute)) {
		t.Error("a repeated delivery was not seen before")
	}
	if seen(t, db, pmassist.ServiceSlack, "d1", t0.Add(time.Minute)) {
		t.Error("the same id of another service was seen before")
	}
	if !seen(t, db, pmassist.ServiceGitHub, "d1", t0.Add(48*time.Hour)) {
		t.Error("a delivery 48 h old was forgotten")
	}
	// Past 48 h the delivery is pruned, and counts as new once more.
	if seen(t, db, pmassist.ServiceGitHub, "d1", t0.Add(48*time.Hour+time.Second)) {
		t.Error("a delivery older than 48 h was still seen")
	}
	if !seen(t, db, pmassist.ServiceGitHub, "d1", t0.Add(49*time.Hour)) {
		t.Error("a delivery recorded again was not seen")
	}
	if d, tm := deliveryCounts(t, db); d != 1 || tm != 1 {
		t.Errorf("%d deliveries and %d time entries, want 1 and 1 (github d1 again)", d, tm)
	}

	_, err := db.SeenDelivery(context.Background(), pmassist.ServiceGitHub, "", t0)
	wantCode(t, err, pmassist.EINVALID)
}

func TestSeenDelivery_PrunesInBatches(t *testing.T) {
	db := MustOpen(t)
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	for i := range 250 {
		seen(t, db, pmassist.ServiceSlack, fmt.Sprint("old-", i), t0.Add(time.Duration(i)*time.Second))
	}
	later := t0.Add(72 * time.Hour)
	seen(t, db, pmassist.ServiceSlack, "new-1", later)
	if d, tm := deliveryCounts(t, db); d != 151 || tm != 151 {
		t.Errorf("after one prune: %d deliveries, %d time entries; want 150 old and 1 new", d, tm)
	}
	// The second call prunes old-100 to old-199; old-249 has expired but
	// awaits pruning, and counts as new.
	if seen(t, db, pmassist.ServiceSlack, "old-249", later) {
		t.Error("an expired delivery awaiting pruning was seen")
	}
	if d, tm := deliveryCounts(t, db); d != 51 || tm != 51 {
		t.Errorf("after the second prune: %d deliveries, %d time entries; want 49 old, old-249 again and new-1", d, tm)
	}
	if !seen(t, db, pmassist.ServiceSlack, "old-249", later) {
		t.Error("a delivery recorded again after expiry was not seen")
	}
	if d, tm := deliveryCounts(t, db); d != 2 || tm != 2 {
		t.Errorf("after the third prune: %d deliveries, %d time entries; want 2", d, tm)
	}
}
