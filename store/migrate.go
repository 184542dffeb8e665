package store

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// migration brings the data file from version-1 to version.
type migration struct {
	version int
	name    string
	up      func(tx *bolt.Tx) error
}

// migrations is the schema history, oldest first. Open runs, in one
// transaction, every migration newer than the file's meta/schema_version and
// records the last one it ran, so a crash midway leaves the file as it was.
//
// To change the schema, append a migration with the next version number.
// Never edit or reorder one that has been released: data files in the field
// have already run it and will not run it again. A migration that adds a
// tenant collection must create it in every existing "t/" bucket and append
// it to tenantCollections.
var migrations = []migration{
	{
		version: 1,
		name:    "global buckets",
		up: func(tx *bolt.Tx) error {
			// Spelled out rather than taken from the package's bucket
			// variables, so that later additions cannot change what
			// version 1 did.
			for _, name := range []string{
				"meta", "users", "users_by_email", "user_tenants",
				"sessions", "api_token_hashes", "invitation_hashes",
			} {
				if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
					return err
				}
			}
			return tx.Bucket(bucketMeta).Put(keyApp, []byte(appName))
		},
	},
	{
		version: 2,
		name:    "connections and own OAuth apps",
		up: func(tx *bolt.Tx) error {
			return createInTenants(tx, "connections", "connection_workspaces", "connection_tokens", "oauth_apps")
		},
	},
	{
		version: 3,
		name:    "items, watermarks, usage, jobs and webhook deliveries",
		up: func(tx *bolt.Tx) error {
			for _, name := range []string{"webhook_deliveries", "webhook_delivery_times"} {
				if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
					return err
				}
			}
			return createInTenants(tx, "items", "items_by_external", "items_by_time", "watermarks", "usage", "jobs", "jobs_active")
		},
	},
	{
		version: 4,
		name:    "decisions and file id",
		up: func(tx *bolt.Tx) error {
			meta := tx.Bucket([]byte("meta"))
			if meta.Get([]byte("file_id")) == nil {
				id, err := newFileID()
				if err != nil {
					return err
				}
				if err := meta.Put([]byte("file_id"), []byte(id)); err != nil {
					return err
				}
			}
			return createInTenants(tx, "decisions", "decisions_by_time", "decisions_by_thread")
		},
	},
	{
		version: 5,
		name:    "items by updated time, teammates and standups",
		up: func(tx *bolt.Tx) error {
			if err := createInTenants(tx, "items_by_updated", "teammates", "teammate_identities", "teammate_emails",
				"standups", "standups_by_date"); err != nil {
				return err
			}
			for _, name := range tenantBucketNames(tx) {
				if err := indexItemsByUpdated(tx.Bucket(name)); err != nil {
					return fmt.Errorf("tenant %s: %w", name[len("t/"):], err)
				}
			}
			return nil
		},
	},
	{
		version: 6,
		name:    "notifications sent",
		up: func(tx *bolt.Tx) error {
			return createInTenants(tx, "notifications")
		},
	},
	{
		version: 7,
		name:    "billing events and Stripe customers",
		up: func(tx *bolt.Tx) error {
			// Global buckets only: a tenant's billing state is a key of its
			// bucket, read as the zero value while absent.
			for _, name := range []string{"billing_events", "billing_event_times", "stripe_customers"} {
				if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
					return err
				}
			}
			return nil
		},
	},
}

// indexItemsByUpdated files every item of a tenant bucket in
// items_by_updated (migration 5). Only the two times are decoded.
func indexItemsByUpdated(tb *bolt.Bucket) error {
	items := tb.Bucket([]byte("items"))
	if items == nil {
		return nil
	}
	byUpdated := tb.Bucket([]byte("items_by_updated"))
	return items.ForEach(func(k, v []byte) error {
		if v == nil {
			return nil // a nested bucket, not an item
		}
		var probe struct {
			CreatedAt time.Time `json:"created_at"`
			UpdatedAt time.Time `json:"updated_at"`
		}
		if err := decode(k, v, &probe); err != nil {
			return err
		}
		// Writing another bucket than the one ForEach walks is allowed.
		return byUpdated.Put(itemUpdatedKey(probe.CreatedAt, probe.UpdatedAt, string(k)), nil)
	})
}

// newFileID returns a new random file id: 16 bytes as 32 hex digits.
func newFileID() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make file id: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// LatestSchemaVersion returns the schema version this build writes.
func LatestSchemaVersion() int { return migrations[len(migrations)-1].version }

// migrate runs the migrations of list that the file has not run yet.
func migrate(bdb *bolt.DB, list []migration) error {
	latest := list[len(list)-1].version
	// Look before writing: a file that is up to date is not written to, so
	// that opening it does not move its transaction id (the search index
	// compares that id with the one it recorded to know it is current).
	upToDate := false
	if err := bdb.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return nil
		}
		if err := checkApp(tx); err != nil {
			return err
		}
		current, err := schemaVersion(tx)
		upToDate = err == nil && current == latest
		return nil
	}); err != nil {
		return err
	}
	if upToDate {
		return nil
	}
	return bdb.Update(func(tx *bolt.Tx) error {
		if err := checkApp(tx); err != nil {
			return err
		}
		current, err := schemaVersion(tx)
		if err != nil {
			return err
		}
		if current > latest {
			return fmt.Errorf("data file schema version %d is newer than this pmassist supports (%d); upgrade pmassist", current, latest)
		}
		for _, m := range list {
			if m.version <= current {
				continue
			}
			if err := m.up(tx); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
			if err := tx.Bucket(bucketMeta).Put(keySchemaVersion, u64(uint64(m.version))); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkApp refuses files written by something else, before any migration
// writes to them: a bbolt file of another program must stay untouched.
func checkApp(tx *bolt.Tx) error {
	errForeign := errors.New("not a PM Assistant data file")
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		// A new file has no buckets at all; one with buckets but no meta is
		// someone else's.
		if k, _ := tx.Cursor().First(); k != nil {
			return errForeign
		}
		return nil
	}
	if app := meta.Get(keyApp); app != nil && string(app) != appName {
		return errForeign
	}
	return nil
}

// schemaVersion reads meta/schema_version; a file without one is at 0.
func schemaVersion(tx *bolt.Tx) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, nil
	}
	v := meta.Get(keySchemaVersion)
	if v == nil {
		return 0, nil
	}
	if len(v) != 8 {
		return 0, fmt.Errorf("schema_version has %d bytes, want 8", len(v))
	}
	return int(binary.BigEndian.Uint64(v)), nil
}

// createInTenants creates collections in every tenant bucket (migrations
// that add a collection). Tenant names are collected first: bbolt does not
// promise a cursor survives writes under it.
func createInTenants(tx *bolt.Tx, names ...string) error {
	for _, tenant := range tenantBucketNames(tx) {
		tb := tx.Bucket(tenant)
		for _, coll := range names {
			if _, err := tb.CreateBucketIfNotExists([]byte(coll)); err != nil {
				return err
			}
		}
	}
	return nil
}

// tenantBucketNames lists the names of the top-level tenant buckets.
func tenantBucketNames(tx *bolt.Tx) [][]byte {
	var out [][]byte
	c := tx.Cursor()
	for k, _ := c.Seek([]byte("t/")); k != nil && bytes.HasPrefix(k, []byte("t/")); k, _ = c.Next() {
		out = append(out, bytes.Clone(k))
	}
	return out
}
