package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.BillingStore = (*DB)(nil)

// The billing buckets and key of the tree drawn in the package comment.
var (
	bucketBillingEvents     = []byte("billing_events")
	bucketBillingEventTimes = []byte("billing_event_times")
	bucketStripeCustomers   = []byte("stripe_customers")

	keyBilling = []byte("billing")
)

// billingEventTTL is how long a Stripe event id is remembered. Stripe
// retries an undelivered event for up to three days; a month leaves room for
// events replayed by hand from the dashboard.
const billingEventTTL = 30 * 24 * time.Hour

// BillingState returns the context tenant's billing state, the zero value
// when the tenant never had one.
func (db *DB) BillingState(ctx context.Context) (*pmassist.BillingState, error) {
	var b *pmassist.BillingState
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		b, err = readBilling(tb)
		return err
	})
	if err != nil {
		return nil, err
	}
	return b, nil
}

// UpdateBilling reads the context tenant and its billing state, lets fn
// change them, and stores both with the audit event fn returns and the event
// id, in one transaction. An event id recorded within the last 30 days is
// not applied again: fn is not called and applied is false. When fn fails
// nothing is stored, not even the event id, so that a retry applies it.
// fn runs inside the write transaction: it must be quick and must not call
// the store.
func (db *DB) UpdateBilling(ctx context.Context, eventID string, fn func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error)) (bool, error) {
	return db.updateBilling(ctx, eventID, time.Now(), fn)
}

// updateBilling is UpdateBilling at now (the tests' clock).
func (db *DB) updateBilling(ctx context.Context, eventID string, now time.Time, fn func(t *pmassist.Tenant, b *pmassist.BillingState) (*pmassist.AuditEvent, error)) (bool, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return false, err
	}
	now = now.UTC()
	var applied bool
	err = db.updateTenant(ctx, func(tx *bolt.Tx, tb *bolt.Bucket) error {
		applied = false
		if eventID != "" {
			seen, err := billingEventSeen(tx, eventID, now)
			if err != nil || seen {
				return err
			}
		}
		t, err := readTenant(tb)
		if err != nil {
			return err
		}
		b, err := readBilling(tb)
		if err != nil {
			return err
		}
		previousCustomer := b.CustomerID
		event, err := fn(t, b)
		if err != nil {
			return err
		}
		// fn changes the tenant's fields, not which tenant it is.
		t.ID = tenantID
		if err := t.Validate(); err != nil {
			return err
		}
		t.UpdatedAt = now
		if err := putJSON(tb, keyTenant, t); err != nil {
			return err
		}
		if err := putJSON(tb, keyBilling, b); err != nil {
			return err
		}
		if err := indexCustomer(tx, tenantID, previousCustomer, b.CustomerID); err != nil {
			return err
		}
		if event != nil {
			prepareAuditEvent(event, now)
			if err := putAuditEvent(tb, event); err != nil {
				return err
			}
		}
		if eventID != "" {
			if err := putBillingEvent(tx, eventID, now); err != nil {
				return err
			}
		}
		applied = true
		return nil
	})
	if err != nil {
		return false, err
	}
	return applied, nil
}

// RecordBillingEvent records a Stripe event id that changes no tenant and
// reports false when it was recorded within the last 30 days. Not
// tenant-scoped.
func (db *DB) RecordBillingEvent(ctx context.Context, eventID string) (bool, error) {
	return db.recordBillingEvent(ctx, eventID, time.Now())
}

// recordBillingEvent is RecordBillingEvent at now (the tests' clock).
func (db *DB) recordBillingEvent(ctx context.Context, eventID string, now time.Time) (bool, error) {
	if eventID == "" {
		return false, pmassist.FieldError(map[string]string{"event_id": "required"})
	}
	var first bool
	err := db.update(ctx, func(tx *bolt.Tx) error {
		first = false
		seen, err := billingEventSeen(tx, eventID, now)
		if err != nil || seen {
			return err
		}
		first = true
		return putBillingEvent(tx, eventID, now)
	})
	if err != nil {
		return false, err
	}
	return first, nil
}

// TenantByCustomer returns the id of the tenant a Stripe customer belongs
// to, "" when the customer is unknown or its tenant is gone. Not
// tenant-scoped: a Stripe event names a customer, not a tenant.
func (db *DB) TenantByCustomer(ctx context.Context, customerID string) (string, error) {
	if customerID == "" {
		return "", nil
	}
	var tenantID string
	err := db.view(ctx, func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketStripeCustomers).Get([]byte(customerID))
		if len(v) == 0 || tx.Bucket(tenantBucketName(string(v))) == nil {
			return nil
		}
		tenantID = string(v) // string() copies out of the transaction's memory
		return nil
	})
	if err != nil {
		return "", err
	}
	return tenantID, nil
}

// ListBilledTenants returns the ids of the tenants whose billing state has
// a subscription, in the order of their buckets. Not tenant-scoped: it
// serves the periodic grace and period-end check.
func (db *DB) ListBilledTenants(ctx context.Context) ([]string, error) {
	var ids []string
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return forEachTenant(tx, func(tenantID string, tb *bolt.Bucket) error {
			b, err := readBilling(tb)
			if err != nil {
				return err
			}
			if b.SubscriptionID != "" {
				ids = append(ids, tenantID)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// readBilling decodes the billing state of a tenant bucket, the zero value
// when it has none.
func readBilling(tb *bolt.Bucket) (*pmassist.BillingState, error) {
	var b pmassist.BillingState
	if _, err := getJSON(tb, keyBilling, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// indexCustomer points stripe_customers at tenantID for its customer id now,
// and forgets the previous id when it changed, unless that one has since
// come to point at another tenant.
func indexCustomer(tx *bolt.Tx, tenantID, previous, current string) error {
	customers := tx.Bucket(bucketStripeCustomers)
	if previous != "" && previous != current && bytes.Equal(customers.Get([]byte(previous)), []byte(tenantID)) {
		if err := customers.Delete([]byte(previous)); err != nil {
			return err
		}
	}
	if current == "" || bytes.Equal(customers.Get([]byte(current)), []byte(tenantID)) {
		return nil
	}
	return customers.Put([]byte(current), []byte(tenantID))
}

// billingEventSeen forgets up to deliveryPruneBatch event ids older than 30
// days and reports whether eventID was recorded within them.
func billingEventSeen(tx *bolt.Tx, eventID string, now time.Time) (bool, error) {
	events := tx.Bucket(bucketBillingEvents)
	times := tx.Bucket(bucketBillingEventTimes)
	cutoff := unixSeconds(now.Add(-billingEventTTL))
	// Same layout as the webhook delivery buckets, so the same pruning.
	if err := pruneDeliveries(events, times, cutoff); err != nil {
		return false, err
	}
	v := events.Get([]byte(eventID))
	return len(v) == 8 && binary.BigEndian.Uint64(v) >= cutoff, nil
}

// putBillingEvent records eventID as first seen at now. An expired entry
// that awaits pruning is replaced, with its time entry.
func putBillingEvent(tx *bolt.Tx, eventID string, now time.Time) error {
	events := tx.Bucket(bucketBillingEvents)
	times := tx.Bucket(bucketBillingEventTimes)
	key := []byte(eventID)
	if v := events.Get(key); len(v) == 8 {
		if err := times.Delete(append(bytes.Clone(v), key...)); err != nil {
			return err
		}
	}
	at := unixSeconds(now)
	if err := events.Put(key, u64(at)); err != nil {
		return err
	}
	return times.Put(append(u64(at), key...), nil)
}
