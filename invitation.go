package pmassist

import (
	"context"
	"time"
)

// InvitationTTL is how long an invitation link stays valid.
const InvitationTTL = 7 * 24 * time.Hour

// Invitation asks a person to join a tenant with a role. The link carries a
// random secret of which only the SHA-256 hash is stored; it works once.
type Invitation struct {
	ID         string     `json:"id"`
	TenantID   string     `json:"tenant_id"`
	Email      string     `json:"email"`
	Role       Role       `json:"role"`
	TokenHash  string     `json:"token_hash"`
	InvitedBy  string     `json:"invited_by"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
}

// Usable reports whether the invitation can still be accepted at now.
func (inv *Invitation) Usable(now time.Time) bool {
	return inv.AcceptedAt == nil && now.Before(inv.ExpiresAt)
}

// Validate checks an invitation before it is stored.
func (inv *Invitation) Validate() error {
	f := map[string]string{}
	inv.Email = NormalizeEmail(inv.Email)
	if inv.Email == "" {
		f["email"] = "required"
	} else if !ValidateEmail(inv.Email) {
		f["email"] = "not a valid email address"
	}
	if !inv.Role.Valid() {
		f["role"] = "must be owner, admin or member"
	}
	if len(f) > 0 {
		return FieldError(f)
	}
	return nil
}

// InvitationService stores invitations. Create, list and delete are
// tenant-scoped; the accept path is reached by the link's secret alone.
type InvitationService interface {
	CreateInvitation(ctx context.Context, inv *Invitation) error
	// ListInvitations lists the context tenant's invitations not yet accepted.
	ListInvitations(ctx context.Context) ([]*Invitation, error)
	DeleteInvitation(ctx context.Context, id string) error
	// FindInvitationByHash returns a usable invitation (ENOTFOUND when it is
	// unknown, used or expired at now).
	FindInvitationByHash(ctx context.Context, hash string, now time.Time) (*Invitation, error)
	// AcceptInvitation, in one transaction, checks the invitation is still
	// usable at now, creates u when u.ID is empty (else uses the existing
	// user), adds the membership and marks the invitation used.
	AcceptInvitation(ctx context.Context, hash string, u *User, now time.Time) (*Invitation, error)
}
