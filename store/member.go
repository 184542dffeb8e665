package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.MemberService = (*DB)(nil)

// FindMember returns the membership of a user in the context's tenant.
func (db *DB) FindMember(ctx context.Context, userID string) (*pmassist.Member, error) {
	var m *pmassist.Member
	err := db.viewTenant(ctx, func(tx *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		m, err = readMember(tx, tb, userID)
		return err
	})
	return m, err
}

// ListMembers returns the members of the context's tenant in the order they
// joined.
func (db *DB) ListMembers(ctx context.Context) ([]*pmassist.Member, error) {
	var list []*pmassist.Member
	err := db.viewTenant(ctx, func(tx *bolt.Tx, tb *bolt.Bucket) error {
		return tb.Bucket(bucketMembers).ForEach(func(k, _ []byte) error {
			m, err := readMember(tx, tb, string(k))
			if err != nil {
				return err
			}
			list = append(list, m)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b *pmassist.Member) int {
		return cmp.Or(a.JoinedAt.Compare(b.JoinedAt), cmp.Compare(a.Email, b.Email))
	})
	return list, nil
}

// UpdateMemberRole changes the role of a member of the context's tenant.
func (db *DB) UpdateMemberRole(ctx context.Context, userID string, role pmassist.Role) (*pmassist.Member, error) {
	// A call without a tenant fails as such, whatever the role.
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return nil, err
	}
	if !role.Valid() {
		return nil, pmassist.FieldError(map[string]string{"role": "must be owner, admin or member"})
	}
	var m *pmassist.Member
	err := db.updateTenant(ctx, func(tx *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		if m, err = readMember(tx, tb, userID); err != nil {
			return err
		}
		if role != pmassist.RoleOwner {
			if err := keepAnOwner(tb, &m.Membership); err != nil {
				return err
			}
		}
		m.Role = role
		return addMember(tx, tb, &m.Membership)
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// RemoveMember ends a membership of the context's tenant together with the
// user's API tokens there: a token must not outlive its owner's access.
func (db *DB) RemoveMember(ctx context.Context, userID string) error {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return err
	}
	return db.updateTenant(ctx, func(tx *bolt.Tx, tb *bolt.Bucket) error {
		m, err := readMembership(tb, userID)
		if err != nil {
			return err
		}
		if err := keepAnOwner(tb, m); err != nil {
			return err
		}
		if err := deleteUserTokens(tx, tb, userID); err != nil {
			return err
		}
		if err := tb.Bucket(bucketMembers).Delete([]byte(userID)); err != nil {
			return err
		}
		if ut := tx.Bucket(bucketUserTenants).Bucket([]byte(userID)); ut != nil {
			return ut.Delete([]byte(tenantID))
		}
		return nil
	})
}

// ListUserTenants returns the tenants a user belongs to, by name. It is not
// tenant-scoped: it is how a signed-in user picks a tenant.
func (db *DB) ListUserTenants(ctx context.Context, userID string) ([]*pmassist.UserTenant, error) {
	var list []*pmassist.UserTenant
	err := db.view(ctx, func(tx *bolt.Tx) error {
		ut := tx.Bucket(bucketUserTenants).Bucket([]byte(userID))
		if ut == nil {
			return nil
		}
		return ut.ForEach(func(k, v []byte) error {
			tb, err := tenantBucket(tx, string(k))
			if err != nil {
				// %v, not %w: a dangling entry is corruption, not a 404.
				return fmt.Errorf("user %s belongs to tenant %s: %v", userID, k, err)
			}
			t, err := readTenant(tb)
			if err != nil {
				return err
			}
			list = append(list, &pmassist.UserTenant{Tenant: t, Role: pmassist.Role(v)})
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	// Sorted for people picking from a menu, so case does not matter.
	slices.SortFunc(list, func(a, b *pmassist.UserTenant) int {
		return cmp.Or(
			cmp.Compare(strings.ToLower(a.Tenant.Name), strings.ToLower(b.Tenant.Name)),
			cmp.Compare(a.Tenant.ID, b.Tenant.ID),
		)
	})
	return list, nil
}

// addMember writes a membership and its mirror in user_tenants, which must
// always agree; it serves both new memberships and role changes.
func addMember(tx *bolt.Tx, tb *bolt.Bucket, m *pmassist.Membership) error {
	m.JoinedAt = m.JoinedAt.UTC()
	if err := putJSON(tb.Bucket(bucketMembers), []byte(m.UserID), m); err != nil {
		return err
	}
	ut, err := tx.Bucket(bucketUserTenants).CreateBucketIfNotExists([]byte(m.UserID))
	if err != nil {
		return err
	}
	return ut.Put([]byte(m.TenantID), []byte(m.Role))
}

// keepAnOwner refuses to take away m's owner role when it is the tenant's
// last: nobody could then manage billing or other owners.
func keepAnOwner(tb *bolt.Bucket, m *pmassist.Membership) error {
	if m.Role != pmassist.RoleOwner {
		return nil
	}
	owners := 0
	err := tb.Bucket(bucketMembers).ForEach(func(k, v []byte) error {
		var o pmassist.Membership
		if err := decode(k, v, &o); err != nil {
			return err
		}
		if o.Role == pmassist.RoleOwner {
			owners++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if owners <= 1 {
		return pmassist.Errorf(pmassist.ECONFLICT, "a tenant needs at least one owner")
	}
	return nil
}

func readMembership(tb *bolt.Bucket, userID string) (*pmassist.Membership, error) {
	var m pmassist.Membership
	ok, err := getJSON(tb.Bucket(bucketMembers), []byte(userID), &m)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "member not found")
	}
	return &m, nil
}

// readMember joins a membership with its user.
func readMember(tx *bolt.Tx, tb *bolt.Bucket, userID string) (*pmassist.Member, error) {
	m, err := readMembership(tb, userID)
	if err != nil {
		return nil, err
	}
	u, err := readUser(tx, userID)
	if err != nil {
		// %v, not %w: a member without a user is corruption, not a 404.
		return nil, fmt.Errorf("member %s: %v", userID, err)
	}
	return &pmassist.Member{Membership: *m, Email: u.Email, Name: u.Name}, nil
}
