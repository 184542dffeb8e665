package store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.ConnectionService = (*DB)(nil)

// sealedToken is the JSON sealed into connection_tokens. It is private so
// that nothing outside the store can come to depend on (or log) its shape.
type sealedToken struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expiry       time.Time `json:"expiry"`
}

// SaveConnection stores the connection for (c.Service, c.WorkspaceID) in the
// context's tenant with its sealed token. Authorizing a workspace the tenant
// already holds re-authorizes that connection: it keeps its id and
// connected time (and so its ingested data), takes the new details and
// token, and its health starts over as connected. A paused connection stays
// paused (with its PausedAt): pausing follows the plan, not the token. On
// success *c is the stored record.
func (db *DB) SaveConnection(ctx context.Context, c *pmassist.Connection, tok pmassist.Token) (bool, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return false, err
	}
	f := map[string]string{}
	if !c.Service.Valid() {
		f["service"] = "must be slack, linear or github"
	}
	if c.WorkspaceID == "" {
		f["workspace_id"] = "required"
	}
	if tok.AccessToken == "" {
		f["access_token"] = "required"
	}
	if len(f) > 0 {
		return false, pmassist.FieldError(f)
	}
	var created bool
	var stored *pmassist.Connection
	err = db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		index := tb.Bucket(bucketConnectionWorkspaces)
		wkey := workspaceKey(c.Service, c.WorkspaceID)
		if id := index.Get(wkey); id != nil {
			existing, err := readConnection(tb, string(id))
			if err != nil && pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
				return err
			}
			stored = existing
		}
		if stored != nil {
			stored.WorkspaceName = c.WorkspaceName
			stored.Scopes = slices.Clone(c.Scopes)
			stored.ExpiresAt = utcPtr(c.ExpiresAt)
			stored.Refreshable = c.Refreshable
			stored.OwnApp = c.OwnApp
			stored.ConnectedBy = c.ConnectedBy
			stored.Status = pmassist.ConnectionConnected
			stored.LastRefreshError = ""
			stored.RefreshFailures = 0
			stored.NextRefreshAt = nil
			stored.LastError = ""
			// Paused and PausedAt stay as they were.
		} else {
			created = true
			nc := *c
			stored = &nc
			stored.TenantID = tenantID
			if stored.ID == "" {
				stored.ID = pmassist.NewID()
			} else if tb.Bucket(bucketConnections).Get([]byte(stored.ID)) != nil {
				return pmassist.Errorf(pmassist.ECONFLICT, "connection already exists")
			}
			if stored.ConnectedAt.IsZero() {
				stored.ConnectedAt = time.Now()
			}
			stored.ConnectedAt = stored.ConnectedAt.UTC()
			stored.Scopes = slices.Clone(c.Scopes)
			stored.ExpiresAt = utcPtr(c.ExpiresAt)
			stored.LastRefreshAt = utcPtr(c.LastRefreshAt)
			stored.NextRefreshAt = utcPtr(c.NextRefreshAt)
			stored.LastSyncAt = utcPtr(c.LastSyncAt)
			stored.Status = pmassist.ConnectionConnected
			if err := index.Put(wkey, []byte(stored.ID)); err != nil {
				return err
			}
		}
		if err := db.putToken(tb, tenantID, stored.ID, tok); err != nil {
			return err
		}
		return putJSON(tb.Bucket(bucketConnections), []byte(stored.ID), stored)
	})
	if err != nil {
		return false, err
	}
	*c = *stored
	return created, nil
}

// FindConnection returns a connection of the context's tenant.
func (db *DB) FindConnection(ctx context.Context, id string) (*pmassist.Connection, error) {
	var c *pmassist.Connection
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		c, err = readConnection(tb, id)
		return err
	})
	return c, err
}

// ListConnections returns the context tenant's connections by service (in
// the display order of pmassist.Services), then oldest first.
func (db *DB) ListConnections(ctx context.Context) ([]*pmassist.Connection, error) {
	var list []*pmassist.Connection
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		list, err = tenantConnections(tb)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, compareConnections)
	return list, nil
}

// UpdateConnection applies the non-nil fields of upd to a connection of the
// context's tenant. Pausing a paused connection keeps the time it was first
// paused; resuming clears it.
func (db *DB) UpdateConnection(ctx context.Context, id string, upd pmassist.ConnectionUpdate) (*pmassist.Connection, error) {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return nil, err
	}
	f := map[string]string{}
	if upd.Status != nil && !validConnectionStatus(*upd.Status) {
		f["status"] = "must be connected, needs_reauth or error"
	}
	if upd.RefreshFailures != nil && *upd.RefreshFailures < 0 {
		f["refresh_failures"] = "must not be negative"
	}
	if len(f) > 0 {
		return nil, pmassist.FieldError(f)
	}
	var c *pmassist.Connection
	err := db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		if c, err = readConnection(tb, id); err != nil {
			return err
		}
		if upd.Status != nil {
			c.Status = *upd.Status
		}
		if upd.ExpiresAt != nil {
			c.ExpiresAt = utcPtr(*upd.ExpiresAt)
		}
		if upd.LastRefreshAt != nil {
			c.LastRefreshAt = utcPtr(upd.LastRefreshAt)
		}
		if upd.LastRefreshError != nil {
			c.LastRefreshError = *upd.LastRefreshError
		}
		if upd.RefreshFailures != nil {
			c.RefreshFailures = *upd.RefreshFailures
		}
		if upd.NextRefreshAt != nil {
			c.NextRefreshAt = utcPtr(*upd.NextRefreshAt)
		}
		if upd.LastSyncAt != nil {
			c.LastSyncAt = utcPtr(upd.LastSyncAt)
		}
		if upd.LastError != nil {
			c.LastError = *upd.LastError
		}
		if upd.Paused != nil {
			if !*upd.Paused {
				c.Paused, c.PausedAt = false, nil
			} else if !c.Paused || c.PausedAt == nil {
				now := time.Now().UTC()
				c.Paused, c.PausedAt = true, &now
			}
		}
		return putJSON(tb.Bucket(bucketConnections), []byte(id), c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// DeleteConnection removes a connection of the context's tenant together
// with its workspace entry, its sealed token and its entry in jobs_active (a
// deleted connection cannot keep a job "active"). Its items and watermarks
// stay unless DeleteConnectionItems removes them.
func (db *DB) DeleteConnection(ctx context.Context, id string) error {
	return db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		c, err := readConnection(tb, id)
		if err != nil {
			return err
		}
		index := tb.Bucket(bucketConnectionWorkspaces)
		wkey := workspaceKey(c.Service, c.WorkspaceID)
		// The entry could only lead elsewhere if the file were damaged;
		// then it is not this connection's to remove.
		if bytes.Equal(index.Get(wkey), []byte(id)) {
			if err := index.Delete(wkey); err != nil {
				return err
			}
		}
		if err := tb.Bucket(bucketConnectionTokens).Delete([]byte(id)); err != nil {
			return err
		}
		if err := tb.Bucket(bucketJobsActive).Delete([]byte(id)); err != nil {
			return err
		}
		return tb.Bucket(bucketConnections).Delete([]byte(id))
	})
}

// ConnectionToken opens the sealed token of a connection of the context's
// tenant.
func (db *DB) ConnectionToken(ctx context.Context, id string) (pmassist.Token, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return pmassist.Token{}, err
	}
	var tok pmassist.Token
	err = db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		if _, err := readConnection(tb, id); err != nil {
			return err
		}
		sealed := tb.Bucket(bucketConnectionTokens).Get([]byte(id))
		if sealed == nil {
			return fmt.Errorf("connection %s has no token", id)
		}
		plain, err := db.vault.open(tenantID, kindConnectionToken, id, sealed)
		if err != nil {
			return err
		}
		defer clear(plain)
		var st sealedToken
		if err := json.Unmarshal(plain, &st); err != nil {
			// The JSON error could quote the token; say only where it is.
			return fmt.Errorf("sealed %s of %s does not decode", kindConnectionToken, id)
		}
		tok = pmassist.Token{AccessToken: st.AccessToken, RefreshToken: st.RefreshToken, Expiry: st.Expiry}
		return nil
	})
	if err != nil {
		return pmassist.Token{}, err
	}
	return tok, nil
}

// StoreRefreshedToken replaces a connection's token after a successful
// refresh and records the success, in one transaction: a crash in between
// must not leave a new (single-use) refresh token lost or an old one marked
// fresh.
func (db *DB) StoreRefreshedToken(ctx context.Context, id string, tok pmassist.Token, at time.Time) (*pmassist.Connection, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return nil, err
	}
	if tok.AccessToken == "" {
		return nil, pmassist.FieldError(map[string]string{"access_token": "required"})
	}
	var c *pmassist.Connection
	err = db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		if c, err = readConnection(tb, id); err != nil {
			return err
		}
		if err := db.putToken(tb, tenantID, id, tok); err != nil {
			return err
		}
		c.ExpiresAt = nil
		if !tok.Expiry.IsZero() {
			c.ExpiresAt = utcPtr(&tok.Expiry)
		}
		c.LastRefreshAt = utcPtr(&at)
		c.Status = pmassist.ConnectionConnected
		c.LastRefreshError = ""
		c.RefreshFailures = 0
		c.NextRefreshAt = nil
		return putJSON(tb.Bucket(bucketConnections), []byte(id), c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ListAllConnections returns the connections of every tenant, each with its
// TenantID, for the background refresh. It is not tenant-scoped and never
// opens a token.
func (db *DB) ListAllConnections(ctx context.Context) ([]*pmassist.Connection, error) {
	var list []*pmassist.Connection
	err := db.view(ctx, func(tx *bolt.Tx) error {
		return forEachTenant(tx, func(tenantID string, tb *bolt.Bucket) error {
			conns, err := tenantConnections(tb)
			for _, c := range conns {
				c.TenantID = tenantID
			}
			list = append(list, conns...)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b *pmassist.Connection) int {
		return cmp.Or(strings.Compare(a.TenantID, b.TenantID), compareConnections(a, b))
	})
	return list, nil
}

// putToken seals tok for connection id of tenantID and stores it.
func (db *DB) putToken(tb *bolt.Bucket, tenantID, id string, tok pmassist.Token) error {
	plain, err := json.Marshal(sealedToken{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry})
	if err != nil {
		return fmt.Errorf("encode token of connection %s: %w", id, err)
	}
	defer clear(plain)
	sealed, err := db.vault.seal(tenantID, kindConnectionToken, id, plain)
	if err != nil {
		return err
	}
	return tb.Bucket(bucketConnectionTokens).Put([]byte(id), sealed)
}

func readConnection(tb *bolt.Bucket, id string) (*pmassist.Connection, error) {
	var c pmassist.Connection
	ok, err := getJSON(tb.Bucket(bucketConnections), []byte(id), &c)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "connection not found")
	}
	return &c, nil
}

func tenantConnections(tb *bolt.Bucket) ([]*pmassist.Connection, error) {
	var list []*pmassist.Connection
	err := tb.Bucket(bucketConnections).ForEach(func(k, v []byte) error {
		var c pmassist.Connection
		if err := decode(k, v, &c); err != nil {
			return err
		}
		list = append(list, &c)
		return nil
	})
	return list, err
}

// forEachTenant calls fn with every tenant bucket. It collects the names
// first, so fn may write into the buckets.
func forEachTenant(tx *bolt.Tx, fn func(tenantID string, tb *bolt.Bucket) error) error {
	var names [][]byte
	prefix := []byte(tenantPrefix)
	c := tx.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		names = append(names, bytes.Clone(k))
	}
	for _, name := range names {
		tb := tx.Bucket(name)
		if tb == nil {
			continue
		}
		if err := fn(string(name[len(prefix):]), tb); err != nil {
			return err
		}
	}
	return nil
}

// workspaceKey is the key of a connection in connection_workspaces. No
// service name contains a zero byte, so keys of different services cannot
// collide.
func workspaceKey(s pmassist.Service, workspaceID string) []byte {
	return []byte(string(s) + "\x00" + workspaceID)
}

func compareConnections(a, b *pmassist.Connection) int {
	return cmp.Or(
		cmp.Compare(serviceRank(a.Service), serviceRank(b.Service)),
		strings.Compare(string(a.Service), string(b.Service)),
		a.ConnectedAt.Compare(b.ConnectedAt),
		strings.Compare(a.ID, b.ID),
	)
}

// serviceRank orders services as pmassist.Services lists them.
func serviceRank(s pmassist.Service) int {
	if i := slices.Index(pmassist.Services, s); i >= 0 {
		return i
	}
	return len(pmassist.Services)
}

func validConnectionStatus(s string) bool {
	return s == pmassist.ConnectionConnected || s == pmassist.ConnectionNeedsReauth || s == pmassist.ConnectionError
}

// utcPtr returns a copy of *t in UTC, or nil.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
