package store

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.APITokenService = (*DB)(nil)

// CreateAPIToken stores a token of a member of the context's tenant. The
// tenant comes from the context alone; t.TenantID is overwritten.
func (db *DB) CreateAPIToken(ctx context.Context, t *pmassist.APIToken) error {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return err
	}
	t.TenantID = tenantID
	if t.ID == "" {
		t.ID = pmassist.NewID()
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = time.Now()
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if err := t.Validate(); err != nil {
		return err
	}
	if t.Hash == "" {
		return pmassist.FieldError(map[string]string{"hash": "required"})
	}
	return db.updateTenant(ctx, func(tx *bolt.Tx, tb *bolt.Bucket) error {
		// Only members hold tokens, so RemoveMember finds every token to revoke.
		if _, err := readMembership(tb, t.UserID); err != nil {
			return err
		}
		return insertIndexed(tx, tb, bucketAPITokenHashes, bucketAPITokens, tenantID, t.ID, t.Hash, t, "token")
	})
}

// ListAPITokens returns a user's tokens in the context's tenant, oldest first.
func (db *DB) ListAPITokens(ctx context.Context, userID string) ([]*pmassist.APIToken, error) {
	var list []*pmassist.APIToken
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		list, err = userTokens(tb, userID)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b *pmassist.APIToken) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return list, nil
}

// FindAPIToken returns a token of the context's tenant.
func (db *DB) FindAPIToken(ctx context.Context, id string) (*pmassist.APIToken, error) {
	var t *pmassist.APIToken
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		t, err = readAPIToken(tb, id)
		return err
	})
	return t, err
}

// DeleteAPIToken revokes a token of the context's tenant.
func (db *DB) DeleteAPIToken(ctx context.Context, id string) error {
	return db.updateTenant(ctx, func(tx *bolt.Tx, tb *bolt.Bucket) error {
		t, err := readAPIToken(tb, id)
		if err != nil {
			return err
		}
		return deleteAPIToken(tx, tb, t)
	})
}

// TouchAPIToken records when a token of the context's tenant was last used.
func (db *DB) TouchAPIToken(ctx context.Context, id string, at time.Time) error {
	return db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		t, err := readAPIToken(tb, id)
		if err != nil {
			return err
		}
		at = at.UTC()
		t.LastUsedAt = &at
		return putJSON(tb.Bucket(bucketAPITokens), []byte(id), t)
	})
}

// FindAPITokenByHash returns the token with a secret's hash, from whichever
// tenant holds it: it is how a bearer request learns its tenant, so it cannot
// be tenant-scoped.
func (db *DB) FindAPITokenByHash(ctx context.Context, hash string) (*pmassist.APIToken, error) {
	var t pmassist.APIToken
	err := db.view(ctx, func(tx *bolt.Tx) error {
		tb, err := findIndexed(tx, bucketAPITokenHashes, bucketAPITokens, hash, &t)
		if err != nil {
			return err
		}
		if tb == nil || t.Hash != hash {
			return pmassist.Errorf(pmassist.ENOTFOUND, "token not found")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

func readAPIToken(tb *bolt.Bucket, id string) (*pmassist.APIToken, error) {
	var t pmassist.APIToken
	ok, err := getJSON(tb.Bucket(bucketAPITokens), []byte(id), &t)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "token not found")
	}
	return &t, nil
}

func userTokens(tb *bolt.Bucket, userID string) ([]*pmassist.APIToken, error) {
	var list []*pmassist.APIToken
	err := tb.Bucket(bucketAPITokens).ForEach(func(k, v []byte) error {
		var t pmassist.APIToken
		if err := decode(k, v, &t); err != nil {
			return err
		}
		if t.UserID == userID {
			list = append(list, &t)
		}
		return nil
	})
	return list, err
}

// deleteAPIToken removes a token together with the hash lookup through which
// its secret authenticates.
func deleteAPIToken(tx *bolt.Tx, tb *bolt.Bucket, t *pmassist.APIToken) error {
	if err := tx.Bucket(bucketAPITokenHashes).Delete([]byte(t.Hash)); err != nil {
		return err
	}
	return tb.Bucket(bucketAPITokens).Delete([]byte(t.ID))
}

// deleteUserTokens revokes every token a user holds in a tenant.
func deleteUserTokens(tx *bolt.Tx, tb *bolt.Bucket, userID string) error {
	tokens, err := userTokens(tb, userID)
	if err != nil {
		return err
	}
	for _, t := range tokens {
		if err := deleteAPIToken(tx, tb, t); err != nil {
			return err
		}
	}
	return nil
}
