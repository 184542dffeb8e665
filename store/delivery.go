package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.DeliveryLog = (*DB)(nil)

// deliveryTTL is how long a webhook delivery id is remembered. Providers
// retry for less than that (Slack minutes, GitHub and Linear hours).
const deliveryTTL = 48 * time.Hour

// deliveryPruneBatch bounds the expired entries one call removes, so that
// no webhook waits for a large clean-up.
const deliveryPruneBatch = 100

// SeenDelivery records a webhook delivery id and reports whether it was seen
// before (within 48 h). Not tenant-scoped: a delivery is deduplicated before
// it is routed to its tenants. Each call also forgets up to 100 deliveries
// older than 48 h.
func (db *DB) SeenDelivery(ctx context.Context, service pmassist.Service, id string, now time.Time) (bool, error) {
	f := map[string]string{}
	if service == "" {
		f["service"] = "required"
	}
	if id == "" {
		f["id"] = "required"
	}
	if len(f) > 0 {
		return false, pmassist.FieldError(f)
	}
	key := []byte(string(service) + ":" + id)
	at := unixSeconds(now)
	cutoff := unixSeconds(now.Add(-deliveryTTL))
	var seen bool
	err := db.update(ctx, func(tx *bolt.Tx) error {
		seen = false
		deliveries := tx.Bucket(bucketWebhookDeliveries)
		times := tx.Bucket(bucketWebhookDeliveryTimes)
		if err := pruneDeliveries(deliveries, times, cutoff); err != nil {
			return err
		}
		if v := deliveries.Get(key); len(v) == 8 {
			first := binary.BigEndian.Uint64(v)
			if first >= cutoff {
				seen = true
				return nil
			}
			// Expired but not pruned yet: it counts as new.
			if err := times.Delete(append(u64(first), key...)); err != nil {
				return err
			}
		}
		if err := deliveries.Put(key, u64(at)); err != nil {
			return err
		}
		return times.Put(append(u64(at), key...), nil)
	})
	if err != nil {
		return false, err
	}
	return seen, nil
}

// pruneDeliveries removes up to deliveryPruneBatch deliveries first seen
// before cutoff, oldest first.
func pruneDeliveries(deliveries, times *bolt.Bucket, cutoff uint64) error {
	var expired [][]byte
	c := times.Cursor()
	for k, _ := c.First(); k != nil && len(expired) < deliveryPruneBatch; k, _ = c.Next() {
		if len(k) >= 8 && binary.BigEndian.Uint64(k[:8]) >= cutoff {
			break
		}
		expired = append(expired, bytes.Clone(k))
	}
	for _, k := range expired {
		if err := times.Delete(k); err != nil {
			return err
		}
		if len(k) <= 8 {
			continue
		}
		// The delivery entry goes only if it is this time's: one seen
		// again after expiry has a newer time entry of its own.
		if v := deliveries.Get(k[8:]); bytes.Equal(v, k[:8]) {
			if err := deliveries.Delete(k[8:]); err != nil {
				return err
			}
		}
	}
	return nil
}

// unixSeconds returns t as unsigned unix seconds, times before 1970 as 0.
func unixSeconds(t time.Time) uint64 {
	if s := t.Unix(); s > 0 {
		return uint64(s)
	}
	return 0
}
