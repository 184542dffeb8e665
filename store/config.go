package store

import (
	"context"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.TenantConfigService = (*DB)(nil)

// TenantConfig returns the context tenant's saved configuration, or
// pmassist.DefaultTenantConfig when it saved none. A configuration saved
// before a field existed reads that field's default.
func (db *DB) TenantConfig(ctx context.Context) (pmassist.TenantConfig, error) {
	c := pmassist.DefaultTenantConfig()
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		_, err := getJSON(tb, keyConfig, &c)
		return err
	})
	if err != nil {
		return pmassist.TenantConfig{}, err
	}
	return c, nil
}

// PutTenantConfig validates (and so normalizes) c and saves it as the
// context tenant's configuration.
func (db *DB) PutTenantConfig(ctx context.Context, c pmassist.TenantConfig) error {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return err
	}
	if err := c.Validate(); err != nil {
		return err
	}
	return db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		return putJSON(tb, keyConfig, &c)
	})
}
