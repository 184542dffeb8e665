package store

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.NotificationLog = (*DB)(nil)

// FirstNotice records that the event key of the context's tenant was told
// about at now; it reports false when it had been already.
func (db *DB) FirstNotice(ctx context.Context, key string, now time.Time) (bool, error) {
	if key == "" {
		return false, pmassist.FieldError(map[string]string{"key": "required"})
	}
	first := false
	err := db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		b := tb.Bucket(bucketNotifications)
		if b.Get([]byte(key)) != nil {
			return nil
		}
		first = true
		v := make([]byte, 8)
		binary.BigEndian.PutUint64(v, uint64(now.Unix()))
		return b.Put([]byte(key), v)
	})
	return first, err
}

// ForgetNotice lets the event be told about again (it is over: a
// connection was repaired, a new month began).
func (db *DB) ForgetNotice(ctx context.Context, key string) error {
	return db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		return tb.Bucket(bucketNotifications).Delete([]byte(key))
	})
}
