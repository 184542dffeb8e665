package store

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"slices"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var _ pmassist.TenantService = (*DB)(nil)

// CreateTenant stores t with owner as its owner, creating owner first when
// owner.ID is empty. All of it happens in one transaction, so a taken email
// leaves no ownerless tenant behind.
func (db *DB) CreateTenant(ctx context.Context, t *pmassist.Tenant, owner *pmassist.User) error {
	if owner == nil {
		return pmassist.FieldError(map[string]string{"owner": "required"})
	}
	now := time.Now().UTC()
	if err := prepareTenant(t, now); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bolt.Tx) error {
		if owner.ID == "" {
			if err := createUser(tx, owner, now); err != nil {
				return err
			}
		} else if err := requireUser(tx, owner.ID); err != nil {
			return err
		}
		return insertTenant(tx, t, owner.ID, now)
	})
}

// prepareTenant fills the defaults of a new tenant and validates it.
func prepareTenant(t *pmassist.Tenant, now time.Time) error {
	if t.ID == "" {
		t.ID = pmassist.NewID()
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = now
	}
	t.CreatedAt = t.CreatedAt.UTC()
	if t.UpdatedAt.IsZero() {
		t.UpdatedAt = t.CreatedAt
	}
	t.UpdatedAt = t.UpdatedAt.UTC()
	if t.SubscriptionStatus == "" {
		t.SubscriptionStatus = pmassist.SubscriptionNone
	}
	return t.Validate()
}

// insertTenant creates the bucket of a prepared tenant with all its
// collections and makes ownerID (an existing user) its owner.
func insertTenant(tx *bolt.Tx, t *pmassist.Tenant, ownerID string, now time.Time) error {
	tb, err := tx.CreateBucket(tenantBucketName(t.ID))
	if errors.Is(err, berrors.ErrBucketExists) {
		return pmassist.Errorf(pmassist.ECONFLICT, "tenant already exists")
	} else if err != nil {
		return err
	}
	for _, name := range tenantCollections {
		if _, err := tb.CreateBucket(name); err != nil {
			return err
		}
	}
	if err := putJSON(tb, keyTenant, t); err != nil {
		return err
	}
	return addMember(tx, tb, &pmassist.Membership{
		TenantID: t.ID,
		UserID:   ownerID,
		Role:     pmassist.RoleOwner,
		JoinedAt: now,
	})
}

// FindTenantByID returns a tenant; ENOTFOUND when there is none.
func (db *DB) FindTenantByID(ctx context.Context, id string) (*pmassist.Tenant, error) {
	var t *pmassist.Tenant
	err := db.view(ctx, func(tx *bolt.Tx) error {
		tb, err := tenantBucket(tx, id)
		if err != nil {
			return err
		}
		t, err = readTenant(tb)
		return err
	})
	return t, err
}

// ListTenants returns every tenant, oldest first.
func (db *DB) ListTenants(ctx context.Context) ([]*pmassist.Tenant, error) {
	var list []*pmassist.Tenant
	err := db.view(ctx, func(tx *bolt.Tx) error {
		prefix := []byte(tenantPrefix)
		c := tx.Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			t, err := readTenant(tx.Bucket(k))
			if err != nil {
				return err
			}
			list = append(list, t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b *pmassist.Tenant) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), cmp.Compare(a.ID, b.ID))
	})
	return list, nil
}

// UpdateTenant applies the non-nil fields of upd to a tenant.
func (db *DB) UpdateTenant(ctx context.Context, id string, upd pmassist.TenantUpdate) (*pmassist.Tenant, error) {
	var t *pmassist.Tenant
	err := db.update(ctx, func(tx *bolt.Tx) error {
		tb, err := tenantBucket(tx, id)
		if err != nil {
			return err
		}
		if t, err = readTenant(tb); err != nil {
			return err
		}
		if upd.Name != nil {
			t.Name = *upd.Name
		}
		if upd.Tier != nil {
			t.Tier = *upd.Tier
		}
		if upd.SubscriptionStatus != nil {
			t.SubscriptionStatus = *upd.SubscriptionStatus
		}
		if upd.Suspended != nil {
			t.Suspended = *upd.Suspended
		}
		t.UpdatedAt = time.Now().UTC()
		if err := t.Validate(); err != nil {
			return err
		}
		return putJSON(tb, keyTenant, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// CountMembers reports how many members a tenant has.
func (db *DB) CountMembers(ctx context.Context, tenantID string) (int, error) {
	var n int
	err := db.view(ctx, func(tx *bolt.Tx) error {
		tb, err := tenantBucket(tx, tenantID)
		if err != nil {
			return err
		}
		n = countKeys(tb.Bucket(bucketMembers))
		return nil
	})
	return n, err
}

func readTenant(tb *bolt.Bucket) (*pmassist.Tenant, error) {
	var t pmassist.Tenant
	ok, err := getJSON(tb, keyTenant, &t)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, errors.New("tenant bucket has no tenant record")
	}
	return &t, nil
}
