package pmassist

import "context"

type contextKey int

const (
	tenantKey contextKey = iota + 1
	userKey
)

// NewContextWithTenant returns ctx carrying the id of the tenant every
// tenant-scoped store call made with it acts on.
func NewContextWithTenant(ctx context.Context, tenantID string) context.Context {
	return context.WithValue(ctx, tenantKey, tenantID)
}

// TenantIDFromContext returns the tenant id carried by ctx, or "".
func TenantIDFromContext(ctx context.Context) string {
	id, _ := ctx.Value(tenantKey).(string)
	return id
}

// TenantRequired returns the tenant id of ctx, or an error when there is none.
// Every tenant-scoped store call begins with it, so a caller that forgot the
// tenant gets an error rather than another tenant's data.
func TenantRequired(ctx context.Context) (string, error) {
	id := TenantIDFromContext(ctx)
	if id == "" {
		return "", Errorf(EINTERNAL, "no tenant in context")
	}
	return id, nil
}

// NewContextWithUser returns ctx carrying the authenticated user.
func NewContextWithUser(ctx context.Context, u *User) context.Context {
	return context.WithValue(ctx, userKey, u)
}

// UserFromContext returns the authenticated user of ctx, or nil.
func UserFromContext(ctx context.Context) *User {
	u, _ := ctx.Value(userKey).(*User)
	return u
}

// UserIDFromContext returns the id of the authenticated user, or "".
func UserIDFromContext(ctx context.Context) string {
	if u := UserFromContext(ctx); u != nil {
		return u.ID
	}
	return ""
}
