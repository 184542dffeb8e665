package ui

import (
	"html/template"
	"time"
)

// NavItem is one entry of the sidebar. A Soon item is shown disabled with a
// "soon" badge instead of a link.
type NavItem struct {
	Key, Label, Href string
	Soon             bool
}

// TenantOption is one tenant in the sidebar switcher.
type TenantOption struct {
	ID, Name, Role string
	Current        bool
}

// Banner is a global notice under the page header: Kind is "info", "warn" or
// "error"; Href (an http(s) URL or a path on this site) links to the fix.
type Banner struct {
	Kind, Text, LinkText, Href string
}

// Layout is embedded in every page struct; it carries what the surrounding
// chrome needs. The user fields are empty on anonymous pages.
type Layout struct {
	Title     string
	Active    string // nav key of the current page
	CSRFToken string // hidden field "csrf_token" in every form
	Flash     string // one-line success message
	FlashErr  string // one-line error message

	UserName, UserEmail string
	Operator            bool // show the Operator nav entry
	TenantName          string
	Role                string
	Tenants             []TenantOption
	Nav                 []NavItem
	Banners             []Banner
}

// FormErrors maps a form field name to the message shown next to it. The key
// "form" holds an error about the form as a whole, shown above the fields.
type FormErrors map[string]string

// SetupPage is the first-run setup form (POST /setup: email, name, password,
// tenant_name).
type SetupPage struct {
	Layout
	Email, Name, TenantName string
	Errors                  FormErrors
}

// LoginPage is the sign-in form (POST /login: email, password, next).
type LoginPage struct {
	Layout
	Email, Next string
	SignupOpen  bool
	Errors      FormErrors
}

// SignupPage is the open sign-up form (POST /signup: email, name, password,
// tenant_name).
type SignupPage struct {
	Layout
	Email, Name, TenantName string
	Errors                  FormErrors
}

// InvitePage accepts an invitation (POST /invite/{Token}: name, password; no
// name when ExistingUser).
type InvitePage struct {
	Layout
	Token, TenantName, Email, Role string
	Name                           string // kept after a failed attempt
	ExistingUser                   bool
	Errors                         FormErrors
}

// DashboardPage is the tenant summary. A limit of -1 means unlimited.
type DashboardPage struct {
	Layout
	MemberCount                         int
	Tier                                string
	ItemsUsed, ItemsLimit               int
	IntegrationsUsed, IntegrationsLimit int
	Connections                         []ConnectionRow
	Activity                            ActivityChart
	RecentDecisions                     []DecisionRow // the newest first; the card shows up to 5
}

// ActivityChart is items ingested per day per service (oldest day first).
type ActivityChart struct {
	Days   []string // labels, e.g. "Nov 2"
	Series []ActivitySeries
	Max    int // the largest day total (0 when empty)
}

// ActivitySeries is one service's daily counts in an ActivityChart.
type ActivitySeries struct {
	Service, Title string
	Counts         []int // one per day, aligned with Days
}

// MemberRow is one member of the current tenant.
type MemberRow struct {
	UserID, Name, Email, Role string
	JoinedAt                  time.Time
	IsSelf                    bool
}

// InvitationRow is one pending invitation.
type InvitationRow struct {
	ID, Email, Role string
	ExpiresAt       time.Time
}

// MembersPage lists members and invitations. InviteURL is shown once, right
// after an invitation was created.
type MembersPage struct {
	Layout
	Members                    []MemberRow
	Invitations                []InvitationRow
	CanManage, CanManageOwners bool
	InviteURL                  string
	InviteEmail, InviteRole    string
	Errors                     FormErrors
}

// TokenRow is one API token of the signed-in user.
type TokenRow struct {
	ID, Name   string
	CreatedAt  time.Time
	LastUsedAt *time.Time
}

// TokensPage lists API tokens. NewToken is shown once, right after creation;
// Name is the kept value of the create form.
type TokensPage struct {
	Layout
	Tokens                 []TokenRow
	NewToken, NewTokenName string
	Name                   string
	Errors                 FormErrors
}

// ConnectionRow is one connection with its health (api.md Connection).
type ConnectionRow struct {
	ID, Service, ServiceTitle, WorkspaceID, WorkspaceName, Status string // Status: connected | needs_reauth | error | paused
	Scopes                                                        []string
	ConnectedAt                                                   time.Time
	ExpiresAt, LastRefreshAt, LastSyncAt                          *time.Time
	LastRefreshError, LastError                                   string
	RefreshFailures                                               int
	Refreshable, OwnApp                                           bool
	ReconnectHref                                                 string // e.g. /api/v1/oauth/slack/authorize (a plain link: GET starts the OAuth flow)
	LastJob                                                       *JobRow
}

// ServiceOption is a service the tenant may connect.
type ServiceOption struct {
	Service, Title string
	Available      bool   // an OAuth app is configured (appliance-wide or the tenant's own)
	ConnectHref    string // /api/v1/oauth/{service}/authorize
	OwnApp         bool   // the tenant has stored its own app for this service
	Unavailable    string // why not available, e.g. "The operator has not configured a Slack app (PMASSIST_SLACK_CLIENT_ID …)."
	RedirectURL    string // the callback URL to register in the provider's app settings
}

// IntegrationsPage lists the tenant's connections with their health, the
// services it may connect and, for owners, the forms for its own OAuth apps
// (POST /integrations/{service}/app: client_id, client_secret,
// signing_secret).
type IntegrationsPage struct {
	Layout
	Services      []ServiceOption
	Connections   []ConnectionRow
	CanManage     bool // owner/admin: connect, reconnect, refresh, disconnect
	CanRun        bool // any member: run ingestion now (POST /integrations/{id}/run)
	CanManageApps bool // owner: may store own OAuth apps …
	AppsAllowed   bool // … and the tier includes them (enterprise); when false but CanManageApps, show "Enterprise feature" note
	AtLimit       bool // the tier's integration limit is reached: connect buttons disabled with LimitText
	LimitText     string
	AppForm       struct{ Service, ClientID string } // values kept after a failed save
	Errors        FormErrors
}

// JobRow is one ingestion job (api.md Job) with its connection's name.
type JobRow struct {
	ID, Service, ServiceTitle, ConnectionID, WorkspaceName, Trigger, Status, Error string // Status: queued|running|succeeded|partial|failed
	CreatedAt                                                                      time.Time
	StartedAt, FinishedAt                                                          *time.Time
	ItemsNew, ItemsUpdated                                                         int
}

// JobsPage lists ingestion jobs, newest first, with the filter form
// (GET /jobs: service, status).
type JobsPage struct {
	Layout
	Jobs            []JobRow
	Service, Status string // current filters ("" = all)
	NextHref        string // link to the next page ("" at the end)
}

// SettingsPage is the tenant settings form (POST /settings). List fields are edited as text, one entry per line.
type SettingsPage struct {
	Layout
	CanEdit                                               bool // owner/admin; others see the values read-only
	Timezone                                              string
	Timezones                                             []string // suggestions for a <datalist>
	SlackChannels, LinearTeamIDs, GitHubOrgs, GitHubRepos string
	IntervalMinutes                                       int
	DecisionPhrases                                       string
	DecisionReaction                                      string
	StandupEnabled                                        bool
	StandupTime                                           string
	StandupWeekdays                                       []int // 1 = Monday … 7 = Sunday (checkboxes named "standup_weekdays" with values 1..7)
	StandupChannel                                        string
	StandupEmailTo                                        string
	Errors                                                FormErrors // keys as the API's: "timezone", "slack_channels", "linear_team_ids", "github_orgs", "github_repos", "ingestion_interval_minutes", "decisions.phrases", "decisions.reaction", "standup.time", "standup.weekdays", "standup.slack_channel", "standup.email_to"
}

// TenantRow is one tenant in the operator console with its usage of the
// month against its plan (a limit of -1 means unlimited).
type TenantRow struct {
	ID, Name, Tier, SubscriptionStatus  string
	Suspended                           bool
	Members                             int
	CreatedAt                           time.Time
	ItemsUsed, ItemsLimit               int
	IntegrationsUsed, IntegrationsLimit int
}

// OperatorTenantsPage lists all tenants and the form to create one.
type OperatorTenantsPage struct {
	Layout
	Tenants []TenantRow
	Tiers   []string
	Form    struct{ Name, OwnerEmail, OwnerName, Tier string }
	Errors  FormErrors
}

// OperatorSystemPage is the operator's overview of the appliance (GET
// /operator) with the form that rebuilds the search index (POST
// /operator/reindex). Available is false when the server was started
// without a system overview; the other fields are then empty.
type OperatorSystemPage struct {
	Layout
	Available              bool
	Version, Commit        string
	StartedAt              time.Time
	Uptime                 time.Duration
	DataFileBytes          int64
	IndexState, IndexError string // IndexState: ready | building | failed
	IndexDocs              uint64
	IndexVersion           int
	SchedulerRunning       bool
	SchedulerJobs          int
	GoVersion              string
	Goroutines             int
	HeapBytes              uint64
	// The backups summary: whether a folder is set, the newest backup and
	// the last failure.
	BackupsEnabled bool
	LastBackup     *BackupRow
	BackupError    string
}

// OperatorJobRow is one ingestion job of any tenant.
type OperatorJobRow struct {
	JobRow
	TenantID, TenantName string
}

// OperatorJobsPage lists the newest ingestion jobs of all tenants (GET
// /operator/jobs); Limit is how many of the newest are asked for.
type OperatorJobsPage struct {
	Layout
	Jobs  []OperatorJobRow
	Limit int
}

// BackupRow is one backup file in the backup folder.
type BackupRow struct {
	Name      string
	Size      int64
	CreatedAt time.Time
}

// OperatorBackupsPage shows scheduled backups (PMASSIST_BACKUP_DIR), the
// link that downloads a backup (GET /api/v1/admin/backup) and the forms that
// back up into the folder now (POST /operator/backups) and compact the data
// file (POST /operator/compact). Available is false when the server runs
// without the operations service; Enabled when a backup folder is set.
type OperatorBackupsPage struct {
	Layout
	Available, Enabled bool
	Dir                string
	Interval           time.Duration
	Keep               int
	LastSuccess        *BackupRow
	LastError          string
	LastErrorAt        *time.Time
	NextAt             *time.Time
	Backups            []BackupRow // newest first
	DataFileBytes      int64       // 0 when unknown
}

// SourceRow is one source of a decision (api.md Decision "sources"): the
// item it came from, or a link for a manual decision.
type SourceRow struct{ Service, ServiceTitle, Kind, ExternalID, URL, Excerpt string }

// DecisionRow is one entry of the decision log (api.md Decision).
type DecisionRow struct {
	ID, Title, Summary, Status, Origin string // Status: proposed|accepted|rejected|superseded; Origin: detected|manual
	Confidence                         float64
	Signals, Participants, Tags        []string
	DecidedAt                          time.Time
	DecidedBy                          string
	Sources                            []SourceRow
	SupersededBy                       string // decision id
	SupersededByTitle                  string
}

// TimelineWeek is one bar of the decisions timeline.
type TimelineWeek struct {
	Label  string         // "Nov 2" (the week's Monday)
	Counts map[string]int // status → count
}

// DecisionsPage is the decision log: the timeline, the filter form
// (GET /decisions: status, origin, q, service, tag, from, to), the list with
// in-place Confirm and Reject (POST /decisions/{id}/status: status), the
// export links and the manual-add form (POST /decisions: title, summary,
// status, tags, source_url).
type DecisionsPage struct {
	Layout
	Decisions   []DecisionRow
	Filter      struct{ Status, Origin, Q, Service, Tag, From, To string } // GET form values kept
	NextHref    string
	Timeline    []TimelineWeek                                           // 12 weeks, oldest first
	CanEdit     bool                                                     // any member may confirm, reject, edit, supersede, add
	New         struct{ Title, Summary, Status, Tags, SourceURL string } // manual-add form values kept after an error
	Errors      FormErrors
	ExportQuery string // the current filters as a query string for the export links, e.g. "status=accepted&tag=infra"
}

// DecisionPage is one decision with its edit form (POST /decisions/{id}:
// title, summary, tags, status), the supersede form
// (POST /decisions/{id}/supersede: superseded_by) and the delete form
// (POST /decisions/{id}/delete).
type DecisionPage struct {
	Layout
	Decision   DecisionRow
	CanEdit    bool
	Candidates []DecisionRow // other decisions to choose from when superseding (id + title)
	Errors     FormErrors
}

// SearchResultRow is one search hit (api.md Search).
type SearchResultRow struct {
	Type, ID, Title, URL, Service, ServiceTitle, Channel, Author string
	Snippet                                                      template.HTML // already escaped by the server, with <mark> only — render as is
	CreatedAt                                                    time.Time
	Href                                                         string // where the title links: the provider URL for items (new tab), /decisions/{id} for decisions
}

// SearchPage is the search form (GET /search: q, type, service, channel,
// author, from, to, sort) and its results.
type SearchPage struct {
	Layout
	Query              struct{ Q, Type, Service, Channel, Author, From, To, Sort string } // kept in the URL (GET form)
	Results            []SearchResultRow
	Total              int
	TotalEstimated     bool // Total is an estimate (a broad search)
	TookMS             int64
	PrevHref, NextHref string
	Unavailable        string // the index is being built: show this instead of results
	Error              string // a malformed query: show it next to the search box
	Searched           bool   // a search was run (else show tips)
}

// StandupEntryRow is one line of a person's standup (api.md Standup): an
// issue, pull request or message with its provider link and state.
type StandupEntryRow struct{ Type, Title, URL, Service, ServiceTitle, State string }

// StandupPersonRow is one person's part of a standup. NoActivity people are
// named in one line instead of a card.
type StandupPersonRow struct {
	Name                       string
	Done, InProgress, Blockers []StandupEntryRow
	NoActivity                 bool
}

// DeliveryRow is one delivery of a standup to Slack or by email.
type DeliveryRow struct {
	Channel, Target, Status, LastError string // Status: pending|sent|failed|abandoned
	Attempts                           int
	SentAt, NextTryAt                  *time.Time
}

// StandupRow is one standup (api.md Standup) with its decisions resolved.
type StandupRow struct {
	ID, Date, DateLabel, Timezone string // DateLabel e.g. "Friday 27 November 2026"
	People                        []StandupPersonRow
	Decisions                     []DecisionRow
	Deliveries                    []DeliveryRow
	CreatedAt                     time.Time
}

// StandupsPage shows the latest standup in full, the older ones as a table
// and the generate form (POST /standups: date, deliver); the deliver form
// is POST /standups/{id}/deliver.
type StandupsPage struct {
	Layout
	Latest       *StandupRow  // shown in full
	History      []StandupRow // older ones: date, counts, delivery status, link to /standups/{id}
	NextHref     string
	GenerateDate string // the date input's default (the previous working day, YYYY-MM-DD)
	CanDeliver   bool   // the tier allows delivery (pro/enterprise)
	DeliveryNote string // e.g. "Delivery to Slack and email is a Pro feature." or "Set a Slack channel in Settings."
	Errors       FormErrors
}

// StandupPage is one standup in full with the deliver form
// (POST /standups/{id}/deliver).
type StandupPage struct {
	Layout
	Standup    StandupRow
	CanDeliver bool
}

// IdentityRow is how one service knows a person.
type IdentityRow struct{ Service, ServiceTitle, ExternalID, Handle, Email string }

// PersonRow is one person across Slack, Linear and GitHub.
type PersonRow struct {
	ID, Name   string
	Emails     []string
	Identities []IdentityRow
}

// PeoplePage lists the people merged across services, with the forms to
// link an identity into a person (POST /people/{id}/link: identity, as
// "service:external_id") and to unlink one (POST /people/{id}/unlink:
// service, external_id).
type PeoplePage struct {
	Layout
	People  []PersonRow
	CanEdit bool // owner/admin may link and unlink
}

// BillingPage shows the tenant's plan, usage and subscription (product.md §7).
// Owners of a tenant with billing enabled get the forms
// POST /billing/checkout (tier) on each plan card that may be upgraded to and
// POST /billing/portal (no fields) to manage the subscription or update the
// payment method; both carry csrf_token.
type BillingPage struct {
	Layout
	Enabled                             bool   // Stripe configured; false: "billing is managed by your operator"
	IsOwner                             bool   // only owners see the upgrade/manage buttons
	Tier                                string // effective tier: free, pro, enterprise
	Status                              string // "none", "active", "past_due", "canceled", … (Stripe status)
	CurrentPeriodEnd                    string // formatted date or ""
	CancelAtPeriodEnd                   bool
	GraceUntil                          string // formatted date or "" — when set, show a grace-period banner
	HasSubscription                     bool   // a live subscription exists: show "Manage billing" (portal) instead of checkout
	ItemsUsed, ItemsLimit               int    // limit -1 = unlimited
	IntegrationsUsed, IntegrationsLimit int
	RatePerMinute                       int
	Period                              string // "2026-11"
	PausedConnections                   int    // connections paused because they exceed the plan
	Plans                               []PlanCard
	Error                               string // e.g. a failed checkout start, shown as an alert
}

// PlanCard is one column of the plan comparison.
type PlanCard struct {
	Tier, Name    string // "pro", "Pro"
	PriceUSD      int
	Integrations  int // -1 unlimited
	ItemsPerMonth int // -1 unlimited
	RatePerMinute int
	Features      []string // human sentences, e.g. "Scheduled standups with Slack and email delivery"
	Current       bool
	CanUpgrade    bool // show an "Upgrade to Pro" button (POST /billing/checkout, field tier)
}

// ErrorPage explains an error. It uses the signed-in layout when UserName is
// set and the anonymous one otherwise.
type ErrorPage struct {
	Layout
	Status                               int
	Heading, Message, BackHref, BackText string
}

// pageData maps each page name to a zero value of its data type; New executes
// every page with it as a start-up check.
var pageData = map[string]any{
	"setup":            SetupPage{},
	"login":            LoginPage{},
	"signup":           SignupPage{},
	"invite":           InvitePage{},
	"dashboard":        DashboardPage{},
	"members":          MembersPage{},
	"tokens":           TokensPage{},
	"integrations":     IntegrationsPage{},
	"jobs":             JobsPage{},
	"settings":         SettingsPage{},
	"operator_tenants": OperatorTenantsPage{},
	"operator_system":  OperatorSystemPage{},
	"operator_jobs":    OperatorJobsPage{},
	"operator_backups": OperatorBackupsPage{},
	"decisions":        DecisionsPage{},
	"decision":         DecisionPage{},
	"search":           SearchPage{},
	"standups":         StandupsPage{},
	"standup":          StandupPage{},
	"people":           PeoplePage{},
	"billing":          BillingPage{},
	"audit":            AuditPage{},
	"error":            ErrorPage{},
}

// AuditDetail is one fact of an audit event ("role": "admin").
type AuditDetail struct{ Key, Value string }

// AuditRow is one audit event (api.md GET /api/v1/audit). Action is the
// code ("billing.tier_changed"); ActionText says it in words. Every text
// field may hold provider-supplied names.
type AuditRow struct {
	At                    time.Time
	Actor, Action, Target string        // Actor: an email, "operator" or "system"
	Details               []AuditDetail // sorted by key
}

// AuditPage is the tenant's audit log, newest first (owners and admins).
// CanExport (enterprise) shows the links to
// GET /api/v1/audit/export?format=csv|json; below it a note links /billing.
type AuditPage struct {
	Layout
	Events    []AuditRow
	NextHref  string // the "Older" link ("" at the end)
	Paged     bool   // an older page is shown: offer a link back to the newest
	CanExport bool
}
