package pmassist

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Tenant is one customer organisation. Every other record belongs to exactly
// one tenant and lives inside that tenant's bucket.
type Tenant struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Tier               Tier      `json:"tier"`
	SubscriptionStatus string    `json:"subscription_status"`
	Suspended          bool      `json:"suspended"`
	CreatedAt          time.Time `json:"created_at"`
	UpdatedAt          time.Time `json:"updated_at"`
}

// Subscription statuses that do not come from Stripe.
const (
	SubscriptionNone   = "none"   // billing off, or never subscribed
	SubscriptionActive = "active" // paid, or set by the operator
)

// MaxNameLength bounds tenant and user names.
const MaxNameLength = 100

// Validate checks a tenant before it is stored.
func (t *Tenant) Validate() error {
	f := map[string]string{}
	t.Name = strings.TrimSpace(t.Name)
	if t.Name == "" {
		f["name"] = "required"
	} else if utf8.RuneCountInString(t.Name) > MaxNameLength || !utf8.ValidString(t.Name) {
		f["name"] = "at most 100 characters"
	}
	if !t.Tier.Valid() {
		f["tier"] = "must be free, pro or enterprise"
	}
	if len(f) > 0 {
		return FieldError(f)
	}
	return nil
}

// TenantUpdate holds the fields an operator may change; nil leaves a field as is.
type TenantUpdate struct {
	Name               *string
	Tier               *Tier
	SubscriptionStatus *string
	Suspended          *bool
}

// TenantService manages the tenant registry. Its calls are not tenant-scoped:
// they serve the operator, setup and sign-up, and the authentication layer.
type TenantService interface {
	// CreateTenant stores t and makes owner its owner in one transaction.
	// An owner with an empty ID is created as a new user (its email must be
	// free); otherwise the existing user with that ID becomes owner.
	CreateTenant(ctx context.Context, t *Tenant, owner *User) error
	FindTenantByID(ctx context.Context, id string) (*Tenant, error)
	ListTenants(ctx context.Context) ([]*Tenant, error)
	UpdateTenant(ctx context.Context, id string, upd TenantUpdate) (*Tenant, error)
	// CountMembers reports the number of members of a tenant.
	CountMembers(ctx context.Context, tenantID string) (int, error)
}
