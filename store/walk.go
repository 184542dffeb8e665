package store

import (
	"bytes"
	"context"
	"errors"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.ItemWalker = (*DB)(nil)

// defaultWalkPage is the page size of the walkers when the caller gives none.
const defaultWalkPage = 1000

// WalkItems calls fn with pages of the items of every tenant, tenant by
// tenant and in key order within each. It is not tenant-scoped: each item
// carries its TenantID. Every page is read in its own short read
// transaction and handed to fn outside it, so writers are never held up by
// the walk, and a cancelled ctx stops it between pages. The walk stops at
// fn's first error and returns it.
func (db *DB) WalkItems(ctx context.Context, pageSize int, fn func(items []*pmassist.Item) error) error {
	return walkCollection(ctx, db, bucketItems, pageSize, func(it *pmassist.Item, tenantID string) { it.TenantID = tenantID }, fn)
}

// WalkDecisions is WalkItems for the decisions of every tenant.
func (db *DB) WalkDecisions(ctx context.Context, pageSize int, fn func(ds []*pmassist.Decision) error) error {
	return walkCollection(ctx, db, bucketDecisions, pageSize, func(d *pmassist.Decision, tenantID string) { d.TenantID = tenantID }, fn)
}

// walkCollection walks the collection coll of every tenant bucket in pages.
// Between pages it remembers only where it stopped, the tenant bucket's
// name and the last key read, and the next page resumes after that key in
// a new transaction. Records written or deleted meanwhile may or may not be
// seen; none is seen twice. A page may span tenants.
func walkCollection[T any](ctx context.Context, db *DB, coll []byte, pageSize int, setTenant func(*T, string), fn func([]*T) error) error {
	if pageSize <= 0 {
		pageSize = defaultWalkPage
	}
	prefix := []byte(tenantPrefix)
	var tenant, last []byte // where the previous page stopped; nil at the start
	for {
		var page []*T
		done := false
		err := db.view(ctx, func(tx *bolt.Tx) error {
			tc := tx.Cursor()
			start := prefix
			if tenant != nil {
				start = tenant
			}
			for name, _ := tc.Seek(start); name != nil && bytes.HasPrefix(name, prefix); name, _ = tc.Next() {
				tb := tx.Bucket(name)
				if tb == nil {
					continue
				}
				records := tb.Bucket(coll)
				if records == nil {
					continue
				}
				tenantID := string(name[len(prefix):])
				c := records.Cursor()
				var k, v []byte
				if bytes.Equal(name, tenant) {
					// Resume after the last key read, wherever it went.
					if k, v = c.Seek(last); bytes.Equal(k, last) {
						k, v = c.Next()
					}
				} else {
					k, v = c.First()
				}
				for ; k != nil; k, v = c.Next() {
					if v == nil {
						continue // a nested bucket, not a record
					}
					rec := new(T)
					if err := decode(k, v, rec); err != nil {
						return err
					}
					setTenant(rec, tenantID)
					page = append(page, rec)
					if len(page) == pageSize {
						tenant, last = bytes.Clone(name), bytes.Clone(k)
						return nil
					}
				}
			}
			done = true
			return nil
		})
		if err != nil {
			return err
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
}

// DataVersion returns the data file's id, which its copies share, and the
// id of its last committed bbolt transaction, which grows with every write.
// It is not tenant-scoped.
func (db *DB) DataVersion() (fileID string, txID uint64, err error) {
	err = db.viewBolt(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return errors.New("data file has no meta bucket")
		}
		id := meta.Get(keyFileID)
		if len(id) == 0 {
			return errors.New("data file has no file id")
		}
		fileID, txID = string(id), uint64(tx.ID())
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	return fileID, txID, nil
}
