package store

import (
	"context"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.UserService = (*DB)(nil)

// Setup creates the operator and the first tenant. The "no user yet" check and
// the writes share one transaction, so two racing setups cannot both win.
func (db *DB) Setup(ctx context.Context, u *pmassist.User, t *pmassist.Tenant) error {
	now := time.Now().UTC()
	return db.update(ctx, func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketUsers).Cursor().First(); k != nil {
			return pmassist.Errorf(pmassist.ECONFLICT, "setup has already been done")
		}
		if err := prepareTenant(t, now); err != nil {
			return err
		}
		u.Operator = true
		if err := createUser(tx, u, now); err != nil {
			return err
		}
		return insertTenant(tx, t, u.ID, now)
	})
}

// CountUsers reports how many users exist (0 means setup has not run).
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := db.view(ctx, func(tx *bolt.Tx) error {
		n = countKeys(tx.Bucket(bucketUsers))
		return nil
	})
	return n, err
}

// CreateUser stores a user who belongs to no tenant.
func (db *DB) CreateUser(ctx context.Context, u *pmassist.User) error {
	now := time.Now().UTC()
	return db.update(ctx, func(tx *bolt.Tx) error { return createUser(tx, u, now) })
}

// FindUserByID returns a user; ENOTFOUND when there is none.
func (db *DB) FindUserByID(ctx context.Context, id string) (*pmassist.User, error) {
	var u *pmassist.User
	err := db.view(ctx, func(tx *bolt.Tx) error {
		var err error
		u, err = readUser(tx, id)
		return err
	})
	return u, err
}

// FindUserByEmail returns the user with an email, compared case-insensitively.
func (db *DB) FindUserByEmail(ctx context.Context, email string) (*pmassist.User, error) {
	var u *pmassist.User
	err := db.view(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketUsersByEmail).Get([]byte(pmassist.NormalizeEmail(email)))
		if id == nil {
			return pmassist.Errorf(pmassist.ENOTFOUND, "user not found")
		}
		var err error
		u, err = readUser(tx, string(id))
		return err
	})
	return u, err
}

// createUser validates and stores a new user and its email index entry. The
// email index is what makes addresses unique, so every path that creates a
// user goes through here.
func createUser(tx *bolt.Tx, u *pmassist.User, now time.Time) error {
	if u.ID == "" {
		u.ID = pmassist.NewID()
	}
	if u.CreatedAt.IsZero() {
		u.CreatedAt = now
	}
	u.CreatedAt = u.CreatedAt.UTC()
	if err := u.Validate(); err != nil {
		return err
	}
	if u.PasswordHash == "" {
		return pmassist.FieldError(map[string]string{"password": "required"})
	}
	byEmail := tx.Bucket(bucketUsersByEmail)
	if byEmail.Get([]byte(u.Email)) != nil {
		return pmassist.Errorf(pmassist.ECONFLICT, "email already registered")
	}
	users := tx.Bucket(bucketUsers)
	if users.Get([]byte(u.ID)) != nil {
		return pmassist.Errorf(pmassist.ECONFLICT, "user already exists")
	}
	if err := putJSON(users, []byte(u.ID), u); err != nil {
		return err
	}
	return byEmail.Put([]byte(u.Email), []byte(u.ID))
}

func readUser(tx *bolt.Tx, id string) (*pmassist.User, error) {
	var u pmassist.User
	ok, err := getJSON(tx.Bucket(bucketUsers), []byte(id), &u)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "user not found")
	}
	return &u, nil
}

func requireUser(tx *bolt.Tx, id string) error {
	if tx.Bucket(bucketUsers).Get([]byte(id)) == nil {
		return pmassist.Errorf(pmassist.ENOTFOUND, "user not found")
	}
	return nil
}
