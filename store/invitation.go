package store

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.InvitationService = (*DB)(nil)

// CreateInvitation stores an invitation to the context's tenant; the tenant
// comes from the context alone and inv.TenantID is overwritten.
func (db *DB) CreateInvitation(ctx context.Context, inv *pmassist.Invitation) error {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return err
	}
	inv.TenantID = tenantID
	if inv.ID == "" {
		inv.ID = pmassist.NewID()
	}
	if inv.CreatedAt.IsZero() {
		inv.CreatedAt = time.Now()
	}
	inv.CreatedAt = inv.CreatedAt.UTC()
	if inv.ExpiresAt.IsZero() {
		inv.ExpiresAt = inv.CreatedAt.Add(pmassist.InvitationTTL)
	}
	inv.ExpiresAt = inv.ExpiresAt.UTC()
	if err := inv.Validate(); err != nil {
		return err
	}
	if inv.TokenHash == "" {
		return pmassist.FieldError(map[string]string{"token_hash": "required"})
	}
	return db.updateTenant(ctx, func(tx *bolt.Tx, tb *bolt.Bucket) error {
		return insertIndexed(tx, tb, bucketInvitationHashes, bucketInvitations, tenantID, inv.ID, inv.TokenHash, inv, "invitation")
	})
}

// ListInvitations returns the context tenant's invitations that have not been
// accepted, expired ones included (so they can be revoked), newest first.
func (db *DB) ListInvitations(ctx context.Context) ([]*pmassist.Invitation, error) {
	var list []*pmassist.Invitation
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		return tb.Bucket(bucketInvitations).ForEach(func(k, v []byte) error {
			var inv pmassist.Invitation
			if err := decode(k, v, &inv); err != nil {
				return err
			}
			if inv.AcceptedAt == nil {
				list = append(list, &inv)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b *pmassist.Invitation) int {
		return cmp.Or(b.CreatedAt.Compare(a.CreatedAt), cmp.Compare(b.ID, a.ID))
	})
	return list, nil
}

// DeleteInvitation revokes an invitation of the context's tenant; its link
// stops working at once.
func (db *DB) DeleteInvitation(ctx context.Context, id string) error {
	return db.updateTenant(ctx, func(tx *bolt.Tx, tb *bolt.Bucket) error {
		invs := tb.Bucket(bucketInvitations)
		var inv pmassist.Invitation
		ok, err := getJSON(invs, []byte(id), &inv)
		if err != nil {
			return err
		}
		if !ok {
			return pmassist.Errorf(pmassist.ENOTFOUND, "invitation not found")
		}
		if err := tx.Bucket(bucketInvitationHashes).Delete([]byte(inv.TokenHash)); err != nil {
			return err
		}
		return invs.Delete([]byte(id))
	})
}

// FindInvitationByHash returns the invitation a link's secret leads to, if it
// can still be accepted at now. Not tenant-scoped: the link is all the
// invitee has.
func (db *DB) FindInvitationByHash(ctx context.Context, hash string, now time.Time) (*pmassist.Invitation, error) {
	var inv *pmassist.Invitation
	err := db.view(ctx, func(tx *bolt.Tx) error {
		var err error
		inv, _, err = usableInvitation(tx, hash, now)
		return err
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// AcceptInvitation makes u (created when u.ID is empty) a member of the
// invitation's tenant and uses the invitation up. The usability check and
// the writes share one transaction, so a link cannot be used twice.
func (db *DB) AcceptInvitation(ctx context.Context, hash string, u *pmassist.User, now time.Time) (*pmassist.Invitation, error) {
	if u == nil {
		return nil, pmassist.FieldError(map[string]string{"user": "required"})
	}
	now = now.UTC()
	var inv *pmassist.Invitation
	err := db.update(ctx, func(tx *bolt.Tx) error {
		var tb *bolt.Bucket
		var err error
		if inv, tb, err = usableInvitation(tx, hash, now); err != nil {
			return err
		}
		if u.ID == "" {
			if err := createUser(tx, u, now); err != nil {
				return err
			}
		} else if err := requireUser(tx, u.ID); err != nil {
			return err
		}
		if tb.Bucket(bucketMembers).Get([]byte(u.ID)) != nil {
			return pmassist.Errorf(pmassist.ECONFLICT, "already a member")
		}
		err = addMember(tx, tb, &pmassist.Membership{
			TenantID: inv.TenantID,
			UserID:   u.ID,
			Role:     inv.Role,
			JoinedAt: now,
		})
		if err != nil {
			return err
		}
		inv.AcceptedAt = &now
		if err := putJSON(tb.Bucket(bucketInvitations), []byte(inv.ID), inv); err != nil {
			return err
		}
		return tx.Bucket(bucketInvitationHashes).Delete([]byte(hash))
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// usableInvitation resolves a link's hash to its invitation and tenant
// bucket. Unknown, used and expired links get the same answer, so the
// response tells a guesser nothing.
func usableInvitation(tx *bolt.Tx, hash string, now time.Time) (*pmassist.Invitation, *bolt.Bucket, error) {
	var inv pmassist.Invitation
	tb, err := findIndexed(tx, bucketInvitationHashes, bucketInvitations, hash, &inv)
	if err != nil {
		return nil, nil, err
	}
	if tb == nil || inv.TokenHash != hash || !inv.Usable(now) {
		return nil, nil, pmassist.Errorf(pmassist.ENOTFOUND, "invitation not found or expired")
	}
	return &inv, tb, nil
}
