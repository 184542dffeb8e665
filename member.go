package pmassist

import (
	"context"
	"time"
)

// Role is what a member may do in a tenant.
type Role string

// Roles, from most to least powerful. Owners and admins change settings,
// connections and members; members read, search, edit decisions and run
// workflows. Only owners manage billing and other owners.
const (
	RoleOwner  Role = "owner"
	RoleAdmin  Role = "admin"
	RoleMember Role = "member"
)

func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleAdmin:
		return 2
	case RoleMember:
		return 1
	}
	return 0
}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r.rank() > 0 }

// AtLeast reports whether r is as powerful as min.
func (r Role) AtLeast(min Role) bool { return r.Valid() && r.rank() >= min.rank() }

// Membership makes a user a member of a tenant with a role.
type Membership struct {
	TenantID string    `json:"tenant_id"`
	UserID   string    `json:"user_id"`
	Role     Role      `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
}

// Member is a membership joined with its user, for listings.
type Member struct {
	Membership
	Email string
	Name  string
}

// UserTenant is one tenant a user belongs to, with the user's role there.
type UserTenant struct {
	Tenant *Tenant
	Role   Role
}

// MemberService manages the members of the context's tenant (tenant-scoped),
// and answers which tenants a user belongs to (ListUserTenants, by user).
type MemberService interface {
	FindMember(ctx context.Context, userID string) (*Member, error)
	ListMembers(ctx context.Context) ([]*Member, error)
	// UpdateMemberRole changes a role; demoting the last owner is ECONFLICT.
	UpdateMemberRole(ctx context.Context, userID string, role Role) (*Member, error)
	// RemoveMember ends a membership and deletes the user's API tokens in the
	// tenant; removing the last owner is ECONFLICT.
	RemoveMember(ctx context.Context, userID string) error
	ListUserTenants(ctx context.Context, userID string) ([]*UserTenant, error)
}
