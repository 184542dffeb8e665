package pmassist

import (
	"context"
	"time"
)

// Identity is how one service knows a person.
type Identity struct {
	Service    Service `json:"service"`
	ExternalID string  `json:"external_id"` // Slack user id, Linear user id, GitHub login
	Handle     string  `json:"handle"`      // display name or login
	Name       string  `json:"name,omitempty"`
	Email      string  `json:"email,omitempty"`
	Bot        bool    `json:"bot,omitempty"`
}

// Teammate is one human across Slack, Linear and GitHub: identities are
// merged automatically by email and linked by hand where emails differ.
type Teammate struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Emails     []string   `json:"emails"`
	Identities []Identity `json:"identities"`
	CreatedAt  time.Time  `json:"created_at"`
}

// TeammateService stores the people of the context's tenant.
type TeammateService interface {
	// ObserveIdentities records identities seen in items: one with a known
	// (service, external id) updates its teammate; a new one joins the
	// teammate with the same email, or becomes a new teammate. Bots are
	// never recorded.
	ObserveIdentities(ctx context.Context, ids []Identity) error
	ListTeammates(ctx context.Context) ([]*Teammate, error)
	FindTeammate(ctx context.Context, id string) (*Teammate, error)
	// LinkIdentity moves an identity into a teammate; a teammate left
	// without identities disappears.
	LinkIdentity(ctx context.Context, teammateID string, service Service, externalID string) (*Teammate, error)
	// UnlinkIdentity makes an identity a teammate of its own again.
	UnlinkIdentity(ctx context.Context, teammateID string, service Service, externalID string) (*Teammate, error)
}

// StandupEntry is one line of a person's standup.
type StandupEntry struct {
	Type    ItemType `json:"type"`
	Title   string   `json:"title"`
	URL     string   `json:"url"`
	Service Service  `json:"service"`
	State   string   `json:"state,omitempty"`
	ItemID  string   `json:"item_id,omitempty"`
}

// StandupPerson is one teammate's part of a standup.
type StandupPerson struct {
	TeammateID string         `json:"teammate_id,omitempty"`
	Name       string         `json:"name"`
	Done       []StandupEntry `json:"done"`
	InProgress []StandupEntry `json:"in_progress"`
	Blockers   []StandupEntry `json:"blockers"`
	NoActivity bool           `json:"no_activity,omitempty"`
}

// Delivery channels and statuses of a standup.
const (
	DeliverySlack = "slack"
	DeliveryEmail = "email"

	DeliveryPending   = "pending"
	DeliverySent      = "sent"
	DeliveryFailed    = "failed" // will be retried until attempts run out
	DeliveryAbandoned = "abandoned"
)

// Delivery is one attempt history of posting or mailing a standup.
type Delivery struct {
	Channel   string     `json:"channel"` // slack or email
	Target    string     `json:"target"`  // channel id/name, or the recipients
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
	NextTryAt *time.Time `json:"next_try_at,omitempty"`
	SentAt    *time.Time `json:"sent_at,omitempty"`
	UpdatedAt time.Time  `json:"updated_at"`
}

// Standup is a day's summary of a tenant's activity (one per tenant and
// date; a re-run replaces its content and keeps its deliveries).
type Standup struct {
	ID          string          `json:"id"`
	TenantID    string          `json:"tenant_id"`
	Date        string          `json:"date"` // the day reported, 2006-01-02 in Timezone
	Timezone    string          `json:"timezone"`
	WindowFrom  time.Time       `json:"window_from"`
	WindowTo    time.Time       `json:"window_to"`
	People      []StandupPerson `json:"people"`
	DecisionIDs []string        `json:"decision_ids"`
	Markdown    string          `json:"markdown"`
	Deliveries  []Delivery      `json:"deliveries"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
}

// StandupService stores standups (tenant-scoped).
type StandupService interface {
	// SaveStandup stores the standup of s.Date: a new one, or the
	// replacement of that date's (same id, deliveries kept).
	SaveStandup(ctx context.Context, s *Standup) error
	FindStandup(ctx context.Context, id string) (*Standup, error)
	FindStandupByDate(ctx context.Context, date string) (*Standup, error)
	// ListStandups lists newest date first.
	ListStandups(ctx context.Context, cursor string, limit int) ([]*Standup, string, error)
	UpdateDeliveries(ctx context.Context, id string, ds []Delivery) (*Standup, error)
}

// SlackPoster posts a message to a Slack channel through a connection.
type SlackPoster interface {
	PostMessage(ctx context.Context, connectionID, channel, text string) (ts string, err error)
}

// Mailer sends email (nil when SMTP is not configured).
type Mailer interface {
	SendMail(ctx context.Context, to []string, subject, text, html string) error
}

// StandupGenerator composes standups and delivers them (tenant-scoped).
type StandupGenerator interface {
	// Generate composes the standup of date ("" = the previous working day
	// in the tenant's timezone), stores it (replacing that date's), and with
	// deliver posts and mails it — which needs a tier with delivery
	// (EPAYMENTREQUIRED otherwise).
	Generate(ctx context.Context, date string, deliver bool) (*Standup, error)
	// Deliver (re)tries a standup's pending and failed deliveries now.
	Deliver(ctx context.Context, id string) (*Standup, error)
}

// NotificationLog remembers which events a tenant's owners were emailed
// about, so that each is told once (tenant-scoped).
type NotificationLog interface {
	// FirstNotice records the event and reports whether it is new.
	FirstNotice(ctx context.Context, key string, now time.Time) (bool, error)
	// ForgetNotice lets the event be told again once it is over.
	ForgetNotice(ctx context.Context, key string) error
}
