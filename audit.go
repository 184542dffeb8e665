package pmassist

import (
	"context"
	"time"
)

// Audit actions recorded so far.
const (
	AuditTenantCreated     = "tenant.created"
	AuditTenantUpdated     = "tenant.updated"
	AuditMemberInvited     = "member.invited"
	AuditInvitationRevoked = "invitation.revoked"
	AuditMemberJoined      = "member.joined"
	AuditMemberRole        = "member.role_changed"
	AuditMemberRemoved     = "member.removed"
	AuditTokenCreated      = "token.created"
	AuditTokenRevoked      = "token.revoked"

	AuditConnectionCreated     = "connection.connected"
	AuditConnectionReconnected = "connection.reconnected"
	AuditConnectionDeleted     = "connection.disconnected"
	AuditOAuthAppSaved         = "oauth_app.saved"
	AuditOAuthAppRemoved       = "oauth_app.removed"
	AuditSettingsChanged       = "settings.changed"
	AuditDecisionCreated       = "decision.created"
	AuditDecisionUpdated       = "decision.updated"
	AuditDecisionDeleted       = "decision.deleted"
	AuditDecisionsExported     = "decisions.exported"
	AuditPersonLinked          = "person.linked"
	AuditPersonUnlinked        = "person.unlinked"
	AuditTierChanged           = "billing.tier_changed"
	AuditConnectionPaused      = "connection.paused"
	AuditConnectionResumed     = "connection.resumed"
	AuditExported              = "audit.exported"
)

// AuditEvent records who changed what in a tenant.
type AuditEvent struct {
	ID      string            `json:"id"`
	At      time.Time         `json:"at"`
	ActorID string            `json:"actor_id"`
	Actor   string            `json:"actor"` // email at the time, or "operator"/"system"
	Action  string            `json:"action"`
	Target  string            `json:"target"`
	Details map[string]string `json:"details,omitempty"`
}

// AuditFilter pages through a tenant's events, newest first.
type AuditFilter struct {
	Cursor string
	Limit  int
}

// AuditService keeps the audit log of the context's tenant (tenant-scoped).
type AuditService interface {
	CreateAuditEvent(ctx context.Context, e *AuditEvent) error
	// ListAuditEvents returns events newest first and the cursor of the next
	// page ("" at the end).
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, string, error)
}
