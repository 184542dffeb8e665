package pmassist

import (
	"context"
	"time"
)

// SessionIdleTimeout is how long a session lives without being used.
const SessionIdleTimeout = 7 * 24 * time.Hour

// Session is a server-side login session. The browser holds a random 256-bit
// id; only its SHA-256 hash is stored, so a copy of the data file cannot be
// used to sign in.
type Session struct {
	IDHash     string    `json:"id_hash"`
	UserID     string    `json:"user_id"`
	TenantID   string    `json:"tenant_id"` // the session's current tenant; "" when the user has none
	CSRFToken  string    `json:"csrf_token"`
	CreatedAt  time.Time `json:"created_at"`
	LastSeenAt time.Time `json:"last_seen_at"`
}

// Expired reports whether the session has been idle too long at now.
func (s *Session) Expired(now time.Time) bool {
	return now.Sub(s.LastSeenAt) > SessionIdleTimeout
}

// SessionUpdate changes a session; nil leaves a field as is.
type SessionUpdate struct {
	TenantID   *string
	LastSeenAt *time.Time
}

// SessionService stores sessions. Sessions are keyed by user, not tenant (a
// session switches tenants), so its calls are not tenant-scoped.
type SessionService interface {
	CreateSession(ctx context.Context, s *Session) error
	FindSessionByHash(ctx context.Context, idHash string) (*Session, error)
	UpdateSession(ctx context.Context, idHash string, upd SessionUpdate) error
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteExpiredSessions removes sessions idle since before cutoff and
	// returns how many it removed.
	DeleteExpiredSessions(ctx context.Context, cutoff time.Time) (int, error)
}
