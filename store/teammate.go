package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.TeammateService = (*DB)(nil)

// identityKey is the key of an identity in teammate_identities, built like
// an item's external key: no service name contains a zero byte.
func identityKey(s pmassist.Service, externalID string) []byte { return externalKey(s, externalID) }

// observable reports whether ObserveIdentities records an identity at all.
func observable(id pmassist.Identity) bool { return !id.Bot && id.ExternalID != "" }

// displayName is the name a teammate made from an identity gets: the
// identity's name, else its handle.
func displayName(id pmassist.Identity) string {
	if n := strings.TrimSpace(id.Name); n != "" {
		return n
	}
	return strings.TrimSpace(id.Handle)
}

// readTeammate returns a teammate of a tenant bucket, with Emails and
// Identities never nil.
func readTeammate(tb *bolt.Bucket, id []byte) (*pmassist.Teammate, error) {
	var t pmassist.Teammate
	ok, err := getJSON(tb.Bucket(bucketTeammates), id, &t)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "person not found")
	}
	t.Emails = nonNil(t.Emails)
	t.Identities = nonNil(t.Identities)
	return &t, nil
}

func putTeammate(tb *bolt.Bucket, t *pmassist.Teammate) error {
	return putJSON(tb.Bucket(bucketTeammates), []byte(t.ID), t)
}

// indexedTeammate follows an index entry (an id read from teammate_identities
// or teammate_emails) to its teammate; nil when the entry is missing or
// leads to no teammate (a damaged file), which callers treat as no entry.
func indexedTeammate(tb *bolt.Bucket, id []byte) (*pmassist.Teammate, error) {
	if id == nil {
		return nil, nil
	}
	t, err := readTeammate(tb, id)
	if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
		return nil, nil
	}
	return t, err
}

// identityIndex returns the position of an identity in t, -1 if t lacks it.
func identityIndex(t *pmassist.Teammate, s pmassist.Service, externalID string) int {
	return slices.IndexFunc(t.Identities, func(id pmassist.Identity) bool {
		return id.Service == s && id.ExternalID == externalID
	})
}

// identityOwner returns the teammate that has an identity and its position
// there. An identity the tenant does not know is ENOTFOUND.
func identityOwner(tb *bolt.Bucket, s pmassist.Service, externalID string) (*pmassist.Teammate, int, error) {
	t, err := indexedTeammate(tb, tb.Bucket(bucketTeammateIdentities).Get(identityKey(s, externalID)))
	if err != nil {
		return nil, 0, err
	}
	if t != nil {
		if i := identityIndex(t, s, externalID); i >= 0 {
			return t, i, nil
		}
	}
	return nil, 0, pmassist.Errorf(pmassist.ENOTFOUND, "identity not found")
}

// emailFreeFor reports whether email may go to teammate id: it has no owner
// yet (or a dangling entry), or id already owns it.
func emailFreeFor(tb *bolt.Bucket, email, id string) (bool, error) {
	owner := tb.Bucket(bucketTeammateEmails).Get([]byte(email))
	if owner == nil || string(owner) == id {
		return true, nil
	}
	t, err := indexedTeammate(tb, owner)
	return t == nil, err
}

// giveEmail makes email t's: in its Emails and in teammate_emails. The
// caller has removed it from its previous owner's record.
func giveEmail(tb *bolt.Bucket, t *pmassist.Teammate, email string) error {
	if !slices.Contains(t.Emails, email) {
		t.Emails = append(t.Emails, email)
	}
	return tb.Bucket(bucketTeammateEmails).Put([]byte(email), []byte(t.ID))
}

// dropEmail removes email from t's Emails (not from the index).
func dropEmail(t *pmassist.Teammate, email string) {
	t.Emails = slices.DeleteFunc(t.Emails, func(e string) bool { return e == email })
}

// newTeammate returns a teammate of one identity, not yet stored.
func newTeammate(id pmassist.Identity, now time.Time) *pmassist.Teammate {
	return &pmassist.Teammate{
		ID:         pmassist.NewID(),
		Name:       displayName(id),
		Emails:     []string{},
		Identities: []pmassist.Identity{id},
		CreatedAt:  now,
	}
}

// ObserveIdentities records identities seen in items, in one transaction.
// Bots and identities without an external id are skipped. A known
// identity takes the handle, name and email it now has (an empty one keeps
// what was stored) and stays with its teammate, which gains the email
// unless another teammate owns it. A new identity joins the teammate that
// owns its email, or becomes a teammate of its own. Emails are normalized
// and belong to one teammate each; a teammate keeps the first name it got.
// Observing the same identities again changes nothing.
func (db *DB) ObserveIdentities(ctx context.Context, ids []pmassist.Identity) error {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return err
	}
	f := map[string]string{}
	n := 0
	for i, id := range ids {
		if !observable(id) {
			continue
		}
		n++
		if !id.Service.Valid() {
			f[fmt.Sprintf("ids[%d].service", i)] = "must be slack, linear or github"
		}
	}
	if len(f) > 0 {
		return pmassist.FieldError(f)
	}
	if n == 0 {
		return nil
	}
	now := time.Now().UTC()
	return db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		for _, id := range ids {
			if !observable(id) {
				continue
			}
			id.Email = pmassist.NormalizeEmail(id.Email)
			id.Bot = false
			if err := observeIdentity(tb, id, now); err != nil {
				return err
			}
		}
		return nil
	})
}

// observeIdentity records one normalized identity.
func observeIdentity(tb *bolt.Bucket, in pmassist.Identity, now time.Time) error {
	key := identityKey(in.Service, in.ExternalID)
	idents := tb.Bucket(bucketTeammateIdentities)

	if t, i, err := identityOwner(tb, in.Service, in.ExternalID); err == nil {
		cur := t.Identities[i]
		next := cur
		if in.Handle != "" {
			next.Handle = in.Handle
		}
		if in.Name != "" {
			next.Name = in.Name
		}
		if in.Email != "" {
			next.Email = in.Email
		}
		changed := next != cur
		t.Identities[i] = next
		if next.Email != "" && !slices.Contains(t.Emails, next.Email) {
			free, err := emailFreeFor(tb, next.Email, t.ID)
			if err != nil {
				return err
			}
			if free {
				if err := giveEmail(tb, t, next.Email); err != nil {
					return err
				}
				changed = true
			}
		}
		if t.Name == "" && displayName(next) != "" {
			t.Name = displayName(next)
			changed = true
		}
		if !changed {
			return nil
		}
		return putTeammate(tb, t)
	} else if pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
		return err
	}

	// A new identity (or one whose index entry leads nowhere, which is
	// overwritten). It joins the owner of its email if there is one.
	if in.Email != "" {
		t, err := indexedTeammate(tb, tb.Bucket(bucketTeammateEmails).Get([]byte(in.Email)))
		if err != nil {
			return err
		}
		if t != nil {
			t.Identities = append(t.Identities, in)
			if t.Name == "" {
				t.Name = displayName(in)
			}
			if err := idents.Put(key, []byte(t.ID)); err != nil {
				return err
			}
			return putTeammate(tb, t)
		}
	}
	t := newTeammate(in, now)
	if in.Email != "" {
		if err := giveEmail(tb, t, in.Email); err != nil {
			return err
		}
	}
	if err := idents.Put(key, []byte(t.ID)); err != nil {
		return err
	}
	return putTeammate(tb, t)
}

// ListTeammates returns the context tenant's teammates by name (ignoring
// case), then id.
func (db *DB) ListTeammates(ctx context.Context) ([]*pmassist.Teammate, error) {
	list := []*pmassist.Teammate{}
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		return tb.Bucket(bucketTeammates).ForEach(func(k, v []byte) error {
			var t pmassist.Teammate
			if err := decode(k, v, &t); err != nil {
				return err
			}
			t.Emails = nonNil(t.Emails)
			t.Identities = nonNil(t.Identities)
			list = append(list, &t)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b *pmassist.Teammate) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.ID, b.ID))
	})
	return list, nil
}

// FindTeammate returns a teammate of the context's tenant.
func (db *DB) FindTeammate(ctx context.Context, id string) (*pmassist.Teammate, error) {
	var t *pmassist.Teammate
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		t, err = readTeammate(tb, []byte(id))
		return err
	})
	return t, err
}

// LinkIdentity moves an identity of the context's tenant into teammate
// teammateID, with its email when its old teammate owned it (or nobody
// did). An old teammate left without identities is removed and its other
// emails go to the target too. Linking an identity to the teammate that
// has it changes nothing. It returns the target teammate.
func (db *DB) LinkIdentity(ctx context.Context, teammateID string, service pmassist.Service, externalID string) (*pmassist.Teammate, error) {
	var out *pmassist.Teammate
	err := db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		target, err := readTeammate(tb, []byte(teammateID))
		if err != nil {
			return err
		}
		src, i, err := identityOwner(tb, service, externalID)
		if err != nil {
			return err
		}
		if src.ID == target.ID {
			out = target
			return nil
		}
		ident := src.Identities[i]
		src.Identities = slices.Delete(src.Identities, i, i+1)
		target.Identities = append(target.Identities, ident)
		if target.Name == "" {
			target.Name = displayName(ident)
		}
		if err := tb.Bucket(bucketTeammateIdentities).Put(identityKey(service, externalID), []byte(target.ID)); err != nil {
			return err
		}
		if ident.Email != "" {
			if err := moveEmail(tb, ident.Email, src, target); err != nil {
				return err
			}
		}
		if len(src.Identities) == 0 {
			for _, e := range slices.Clone(src.Emails) {
				if err := moveEmail(tb, e, src, target); err != nil {
					return err
				}
			}
			if err := tb.Bucket(bucketTeammates).Delete([]byte(src.ID)); err != nil {
				return err
			}
		} else if err := putTeammate(tb, src); err != nil {
			return err
		}
		if err := putTeammate(tb, target); err != nil {
			return err
		}
		out = target
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// moveEmail gives email to teammate to if from owns it or nobody does; an
// email a third teammate owns stays there. The caller stores both records.
func moveEmail(tb *bolt.Bucket, email string, from, to *pmassist.Teammate) error {
	free, err := emailFreeFor(tb, email, from.ID)
	if err != nil || !free {
		return err
	}
	dropEmail(from, email)
	return giveEmail(tb, to, email)
}

// UnlinkIdentity takes an identity out of teammate teammateID of the
// context's tenant and makes it a new teammate, which takes the identity's
// email from the old one. The identity must be the teammate's, and may not
// be its last. It returns the new teammate.
func (db *DB) UnlinkIdentity(ctx context.Context, teammateID string, service pmassist.Service, externalID string) (*pmassist.Teammate, error) {
	var out *pmassist.Teammate
	now := time.Now().UTC()
	err := db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		t, err := readTeammate(tb, []byte(teammateID))
		if err != nil {
			return err
		}
		owner, i, err := identityOwner(tb, service, externalID)
		if err != nil {
			return err
		}
		if owner.ID != t.ID {
			return pmassist.Errorf(pmassist.ENOTFOUND, "identity not found")
		}
		if len(t.Identities) == 1 {
			return pmassist.Errorf(pmassist.EINVALID, "a person needs at least one identity")
		}
		ident := t.Identities[i]
		t.Identities = slices.Delete(t.Identities, i, i+1)
		n := newTeammate(ident, now)
		if ident.Email != "" {
			if err := moveEmail(tb, ident.Email, t, n); err != nil {
				return err
			}
		}
		if err := tb.Bucket(bucketTeammateIdentities).Put(identityKey(service, externalID), []byte(n.ID)); err != nil {
			return err
		}
		if err := putTeammate(tb, t); err != nil {
			return err
		}
		if err := putTeammate(tb, n); err != nil {
			return err
		}
		out = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
