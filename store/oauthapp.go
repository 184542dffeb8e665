package store

import (
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

var _ pmassist.OAuthAppService = (*DB)(nil)

// sealedApp is the JSON sealed into oauth_apps. The client id is not secret
// but is sealed with the rest so the record is one value.
type sealedApp struct {
	ClientID      string    `json:"client_id"`
	ClientSecret  string    `json:"client_secret"`
	SigningSecret string    `json:"signing_secret"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// SaveOAuthApp stores (or replaces) the context tenant's own app for
// app.Service, sealed. Whether the tenant's plan allows one is for the
// caller to decide.
func (db *DB) SaveOAuthApp(ctx context.Context, app pmassist.OAuthApp) error {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return err
	}
	f := map[string]string{}
	if !app.Service.Valid() {
		f["service"] = "must be slack, linear or github"
	}
	if app.ClientID == "" {
		f["client_id"] = "required"
	}
	if app.ClientSecret == "" {
		f["client_secret"] = "required"
	}
	if len(f) > 0 {
		return pmassist.FieldError(f)
	}
	if app.UpdatedAt.IsZero() {
		app.UpdatedAt = time.Now()
	}
	plain, err := json.Marshal(sealedApp{
		ClientID:      app.ClientID,
		ClientSecret:  app.ClientSecret,
		SigningSecret: app.SigningSecret,
		UpdatedAt:     app.UpdatedAt.UTC(),
	})
	if err != nil {
		return fmt.Errorf("encode own app for %s: %w", app.Service, err)
	}
	defer clear(plain)
	return db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		sealed, err := db.vault.seal(tenantID, kindOAuthApp, string(app.Service), plain)
		if err != nil {
			return err
		}
		return tb.Bucket(bucketOAuthApps).Put([]byte(app.Service), sealed)
	})
}

// FindOAuthApp opens the context tenant's own app for a service.
func (db *DB) FindOAuthApp(ctx context.Context, service pmassist.Service) (*pmassist.OAuthApp, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return nil, err
	}
	var app *pmassist.OAuthApp
	err = db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		sealed := tb.Bucket(bucketOAuthApps).Get([]byte(service))
		if sealed == nil {
			return errNoOwnApp(service)
		}
		plain, err := db.vault.open(tenantID, kindOAuthApp, string(service), sealed)
		if err != nil {
			return err
		}
		defer clear(plain)
		var sa sealedApp
		if err := json.Unmarshal(plain, &sa); err != nil {
			// The JSON error could quote a secret; say only where it is.
			return fmt.Errorf("sealed %s of %s does not decode", kindOAuthApp, service)
		}
		app = &pmassist.OAuthApp{
			Service:       service,
			ClientID:      sa.ClientID,
			ClientSecret:  sa.ClientSecret,
			SigningSecret: sa.SigningSecret,
			UpdatedAt:     sa.UpdatedAt,
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return app, nil
}

// DeleteOAuthApp removes the context tenant's own app for a service.
func (db *DB) DeleteOAuthApp(ctx context.Context, service pmassist.Service) error {
	return db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		apps := tb.Bucket(bucketOAuthApps)
		if apps.Get([]byte(service)) == nil {
			return errNoOwnApp(service)
		}
		return apps.Delete([]byte(service))
	})
}

// ListOAuthAppServices tells which services the context's tenant has an own
// app for, in the order of pmassist.Services, without opening any.
func (db *DB) ListOAuthAppServices(ctx context.Context) ([]pmassist.Service, error) {
	var list []pmassist.Service
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		return tb.Bucket(bucketOAuthApps).ForEach(func(k, _ []byte) error {
			list = append(list, pmassist.Service(k))
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(list, func(a, b pmassist.Service) int {
		return cmp.Or(cmp.Compare(serviceRank(a), serviceRank(b)), strings.Compare(string(a), string(b)))
	})
	return list, nil
}

func errNoOwnApp(service pmassist.Service) error {
	return pmassist.Errorf(pmassist.ENOTFOUND, "no own app for %s", service)
}
