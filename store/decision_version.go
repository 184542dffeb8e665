package store

import (
	"context"
	"sync"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

// decisionVersions hands out, per tenant, a number that changes after every
// committed change to the tenant's decisions (DecisionsVersion). Numbers
// come from one counter, so a tenant's number never repeats within a
// process. They live in memory only: a new process starts with no cached
// answers to compare them with.
type decisionVersions struct {
	mu      sync.Mutex
	counter uint64
	byID    map[string]uint64
}

func (v *decisionVersions) bump(tenantID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.byID == nil {
		v.byID = map[string]uint64{}
	}
	v.counter++
	v.byID[tenantID] = v.counter
}

func (v *decisionVersions) get(tenantID string) uint64 {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.byID[tenantID]
}

// DecisionsVersion returns a number that changes after every committed
// change to the context tenant's decisions. Read it before reading the
// decisions: an answer built after reading version v is at least as new as
// v, so it may be reused for as long as the version is still v.
func (db *DB) DecisionsVersion(ctx context.Context) (uint64, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return 0, err
	}
	return db.decisionVersions.get(tenantID), nil
}

// updateDecisions is updateTenant for every transaction that may change a
// tenant's decisions: once it has committed, the tenant's decisions version
// moves. bbolt runs commit handlers after the commit, so no reader can take
// the new version and then see the old decisions.
func (db *DB) updateDecisions(ctx context.Context, fn func(tx *bolt.Tx, tb *bolt.Bucket) error) error {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return err
	}
	return db.updateTenant(ctx, func(tx *bolt.Tx, tb *bolt.Bucket) error {
		tx.OnCommit(func() { db.decisionVersions.bump(tenantID) })
		return fn(tx, tb)
	})
}
