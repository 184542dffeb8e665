package store

import (
	"bytes"
	"context"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.SessionService = (*DB)(nil)

// CreateSession stores a new session under the hash of its id.
func (db *DB) CreateSession(ctx context.Context, s *pmassist.Session) error {
	if s.IDHash == "" {
		return pmassist.FieldError(map[string]string{"id_hash": "required"})
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now()
	}
	s.CreatedAt = s.CreatedAt.UTC()
	if s.LastSeenAt.IsZero() {
		s.LastSeenAt = s.CreatedAt
	}
	s.LastSeenAt = s.LastSeenAt.UTC()
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSessions)
		if b.Get([]byte(s.IDHash)) != nil {
			return pmassist.Errorf(pmassist.ECONFLICT, "session already exists")
		}
		return putJSON(b, []byte(s.IDHash), s)
	})
}

// FindSessionByHash returns a session whether or not it has expired; the
// caller decides with Session.Expired.
func (db *DB) FindSessionByHash(ctx context.Context, idHash string) (*pmassist.Session, error) {
	var s *pmassist.Session
	err := db.view(ctx, func(tx *bolt.Tx) error {
		var err error
		s, err = readSession(tx.Bucket(bucketSessions), idHash)
		return err
	})
	return s, err
}

// UpdateSession applies the non-nil fields of upd to a session.
func (db *DB) UpdateSession(ctx context.Context, idHash string, upd pmassist.SessionUpdate) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSessions)
		s, err := readSession(b, idHash)
		if err != nil {
			return err
		}
		if upd.TenantID != nil {
			s.TenantID = *upd.TenantID
		}
		if upd.LastSeenAt != nil {
			s.LastSeenAt = upd.LastSeenAt.UTC()
		}
		return putJSON(b, []byte(idHash), s)
	})
}

// DeleteSession removes a session. Deleting one that is already gone
// succeeds, so that signing out twice is harmless.
func (db *DB) DeleteSession(ctx context.Context, idHash string) error {
	return db.update(ctx, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSessions).Delete([]byte(idHash))
	})
}

// DeleteExpiredSessions removes the sessions last seen before cutoff.
func (db *DB) DeleteExpiredSessions(ctx context.Context, cutoff time.Time) (int, error) {
	var n int
	err := db.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSessions)
		// Collected (and copied, as the pages they point into change) first:
		// deleting under a running cursor skips keys.
		var expired [][]byte
		err := b.ForEach(func(k, v []byte) error {
			var s pmassist.Session
			if err := decode(k, v, &s); err != nil {
				return err
			}
			if s.LastSeenAt.Before(cutoff) {
				expired = append(expired, bytes.Clone(k))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, k := range expired {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		n = len(expired)
		return nil
	})
	return n, err
}

func readSession(b *bolt.Bucket, idHash string) (*pmassist.Session, error) {
	var s pmassist.Session
	ok, err := getJSON(b, []byte(idHash), &s)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "session not found")
	}
	return &s, nil
}
