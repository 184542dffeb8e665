package ui

// auditActions says each audit action code in words.
var auditActions = map[string]string{
	"tenant.created":          "Workspace created",
	"tenant.updated":          "Workspace changed by the operator",
	"member.invited":          "Member invited",
	"invitation.revoked":      "Invitation revoked",
	"member.joined":           "Member joined",
	"member.role_changed":     "Role changed",
	"member.removed":          "Member removed",
	"token.created":           "API token created",
	"token.revoked":           "API token revoked",
	"connection.connected":    "Connection added",
	"connection.reconnected":  "Connection reconnected",
	"connection.disconnected": "Connection disconnected",
	"connection.paused":       "Connection paused",
	"connection.resumed":      "Connection resumed",
	"oauth_app.saved":         "Own OAuth app saved",
	"oauth_app.removed":       "Own OAuth app removed",
	"settings.changed":        "Settings changed",
	"decision.created":        "Decision added",
	"decision.updated":        "Decision edited",
	"decision.deleted":        "Decision deleted",
	"decisions.exported":      "Decisions exported",
	"person.linked":           "Identity linked",
	"person.unlinked":         "Identity unlinked",
	"billing.tier_changed":    "Plan changed",
	"audit.exported":          "Audit log exported",
}

// ActionText is the action in words ("Plan changed"); an unknown code is
// shown as it is.
func (r AuditRow) ActionText() string {
	if s, ok := auditActions[r.Action]; ok {
		return s
	}
	return r.Action
}

// When is the event's time in UTC, to the second: "2026-11-02 09:00:05 UTC".
func (r AuditRow) When() string {
	if r.At.IsZero() {
		return ""
	}
	return r.At.UTC().Format("2006-01-02 15:04:05") + " UTC"
}
