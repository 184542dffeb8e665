package store

import (
	"context"
	"encoding/base64"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.AuditService = (*DB)(nil)

// Page sizes of ListAuditEvents (api.md: default 50, max 200).
const (
	defaultAuditLimit = 50
	maxAuditLimit     = 200
)

// auditKeyLen is the length of an audit key: 8 bytes of time, 8 of sequence.
const auditKeyLen = 16

// CreateAuditEvent appends an event to the context tenant's log. The key
// starts with the time so the log reads in time order without an index; the
// bucket sequence after it keeps events of the same nanosecond apart and in
// the order they were written.
func (db *DB) CreateAuditEvent(ctx context.Context, e *pmassist.AuditEvent) error {
	// A call without a tenant fails before e is touched.
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return err
	}
	prepareAuditEvent(e, time.Now())
	return db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		return putAuditEvent(tb, e)
	})
}

// prepareAuditEvent gives a new event its id and, when it has none, the
// time now, in UTC.
func prepareAuditEvent(e *pmassist.AuditEvent, now time.Time) {
	if e.ID == "" {
		e.ID = pmassist.NewID()
	}
	if e.At.IsZero() {
		e.At = now
	}
	e.At = e.At.UTC()
}

// putAuditEvent appends a prepared event to the log of the tenant bucket tb,
// inside the caller's transaction.
func putAuditEvent(tb *bolt.Bucket, e *pmassist.AuditEvent) error {
	b := tb.Bucket(bucketAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	key := append(u64(uint64(e.At.UnixNano())), u64(seq)...)
	return putJSON(b, key, e)
}

// ListAuditEvents returns a page of the context tenant's events, newest
// first, and the cursor of the next page ("" when this one is the last).
// The cursor is the key of the page's last event, so pages stay stable while
// new events arrive.
func (db *DB) ListAuditEvents(ctx context.Context, f pmassist.AuditFilter) ([]*pmassist.AuditEvent, string, error) {
	// A call without a tenant fails as such, whatever the cursor.
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return nil, "", err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultAuditLimit
	}
	limit = min(limit, maxAuditLimit)
	var after []byte
	if f.Cursor != "" {
		var err error
		after, err = base64.RawURLEncoding.DecodeString(f.Cursor)
		if err != nil || len(after) != auditKeyLen {
			return nil, "", pmassist.Errorf(pmassist.EINVALID, "invalid cursor")
		}
	}

	var list []*pmassist.AuditEvent
	var next string
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		c := tb.Bucket(bucketAudit).Cursor()
		var k, v []byte
		if after == nil {
			k, v = c.Last()
		} else if sk, _ := c.Seek(after); sk != nil {
			// Seek lands on the first key >= after, so the one before it is
			// the newest event strictly older than the cursor.
			k, v = c.Prev()
		} else {
			k, v = c.Last()
		}
		var last []byte
		for ; k != nil && len(list) < limit; k, v = c.Prev() {
			var e pmassist.AuditEvent
			if err := decode(k, v, &e); err != nil {
				return err
			}
			list = append(list, &e)
			last = k
		}
		if k != nil {
			next = base64.RawURLEncoding.EncodeToString(last)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}
