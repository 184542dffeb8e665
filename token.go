package pmassist

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// APITokenPrefix starts every API token, so that leaked tokens are easy to
// recognise by secret scanners.
const APITokenPrefix = "pma_"

// APIToken lets a program act as one user in one tenant. The secret is shown
// once at creation; only its SHA-256 hash is stored.
type APIToken struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	Hash       string     `json:"hash"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
}

// Validate checks a token before it is stored.
func (t *APIToken) Validate() error {
	t.Name = strings.TrimSpace(t.Name)
	switch {
	case t.Name == "":
		return FieldError(map[string]string{"name": "required"})
	case utf8.RuneCountInString(t.Name) > MaxNameLength || !utf8.ValidString(t.Name):
		return FieldError(map[string]string{"name": "at most 100 characters"})
	}
	return nil
}

// APITokenService stores API tokens. All calls but FindAPITokenByHash are
// tenant-scoped; FindAPITokenByHash is how a bearer request finds its tenant.
type APITokenService interface {
	CreateAPIToken(ctx context.Context, t *APIToken) error
	// ListAPITokens lists the tokens of one user in the context's tenant.
	ListAPITokens(ctx context.Context, userID string) ([]*APIToken, error)
	FindAPIToken(ctx context.Context, id string) (*APIToken, error)
	DeleteAPIToken(ctx context.Context, id string) error
	TouchAPIToken(ctx context.Context, id string, at time.Time) error
	FindAPITokenByHash(ctx context.Context, hash string) (*APIToken, error)
}
