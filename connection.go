package pmassist

import (
	"context"
	"time"
)

// Service is an outside service a tenant connects.
type Service string

// The services PM Assistant connects.
const (
	ServiceSlack  Service = "slack"
	ServiceLinear Service = "linear"
	ServiceGitHub Service = "github"
)

// Services lists the services in display order.
var Services = []Service{ServiceSlack, ServiceLinear, ServiceGitHub}

// Valid reports whether s is a known service.
func (s Service) Valid() bool {
	return s == ServiceSlack || s == ServiceLinear || s == ServiceGitHub
}

// Title is the service's display name.
func (s Service) Title() string {
	switch s {
	case ServiceSlack:
		return "Slack"
	case ServiceLinear:
		return "Linear"
	case ServiceGitHub:
		return "GitHub"
	}
	return string(s)
}

// Connection health (product.md §2).
const (
	ConnectionConnected   = "connected"
	ConnectionNeedsReauth = "needs_reauth"
	ConnectionError       = "error"
)

// Connection is one authorized Slack workspace, Linear workspace or GitHub
// account of a tenant, unique by (service, workspace id). It never carries a
// token: those live sealed beside it in the store.
type Connection struct {
	ID               string     `json:"id"`
	TenantID         string     `json:"tenant_id"`
	Service          Service    `json:"service"`
	WorkspaceID      string     `json:"workspace_id"`
	WorkspaceName    string     `json:"workspace_name"`
	Status           string     `json:"status"`
	Scopes           []string   `json:"scopes"`
	ConnectedAt      time.Time  `json:"connected_at"`
	ConnectedBy      string     `json:"connected_by"` // user id
	ExpiresAt        *time.Time `json:"expires_at,omitempty"`
	Refreshable      bool       `json:"refreshable"`
	LastRefreshAt    *time.Time `json:"last_refresh_at,omitempty"`
	LastRefreshError string     `json:"last_refresh_error"`
	RefreshFailures  int        `json:"refresh_failures"`
	// NextRefreshAt delays the next attempt after a transient failure
	// (exponential backoff); nil means "when due".
	NextRefreshAt *time.Time `json:"next_refresh_at,omitempty"`
	LastSyncAt    *time.Time `json:"last_sync_at,omitempty"`
	LastError     string     `json:"last_error"`
	// OwnApp is set when the tenant's own OAuth app authorized it.
	OwnApp bool `json:"own_app"`
	// Paused is set while the connection is over the plan's integration
	// limit (after a downgrade): nothing is ingested, nothing is deleted.
	Paused   bool       `json:"paused"`
	PausedAt *time.Time `json:"paused_at,omitempty"`
}

// Token is an OAuth token pair in plaintext. It exists only inside the OAuth
// machinery (to call providers) and the store (to seal it): never in
// handlers, pages, logs or errors. String() hides it from accidental logs.
type Token struct {
	AccessToken  string
	RefreshToken string
	Expiry       time.Time // zero: does not expire
}

// String keeps tokens out of logs and error messages.
func (Token) String() string { return "pmassist.Token{redacted}" }

// GoString keeps tokens out of %#v.
func (t Token) GoString() string { return t.String() }

// OAuthApp is a tenant's own OAuth app for one service (enterprise tier).
// The secrets are plaintext only inside the OAuth machinery and the store.
type OAuthApp struct {
	Service       Service
	ClientID      string
	ClientSecret  string
	SigningSecret string
	UpdatedAt     time.Time
}

// String keeps app secrets out of logs.
func (OAuthApp) String() string { return "pmassist.OAuthApp{redacted}" }

// GoString keeps app secrets out of %#v.
func (a OAuthApp) GoString() string { return a.String() }

// ConnectionUpdate changes a connection's health; nil leaves a field as is.
type ConnectionUpdate struct {
	Status           *string
	ExpiresAt        **time.Time
	LastRefreshAt    *time.Time
	LastRefreshError *string
	RefreshFailures  *int
	NextRefreshAt    **time.Time
	LastSyncAt       *time.Time
	LastError        *string
	// Paused pauses (true) or resumes (false) the connection; PausedAt is
	// set with it.
	Paused *bool
}

// ConnectionService stores connections and their sealed tokens. All calls
// but ListAllConnections are tenant-scoped.
type ConnectionService interface {
	// SaveConnection creates the connection for (service, workspace id), or
	// re-authorizes the existing one (same id, fresh token, status
	// connected, failures cleared). It reports whether it was created.
	SaveConnection(ctx context.Context, c *Connection, tok Token) (created bool, err error)
	FindConnection(ctx context.Context, id string) (*Connection, error)
	ListConnections(ctx context.Context) ([]*Connection, error)
	UpdateConnection(ctx context.Context, id string, upd ConnectionUpdate) (*Connection, error)
	// DeleteConnection removes the connection and its tokens.
	DeleteConnection(ctx context.Context, id string) error
	// ConnectionToken opens the connection's sealed token.
	ConnectionToken(ctx context.Context, id string) (Token, error)
	// StoreRefreshedToken replaces the token after a refresh and records the
	// refresh's success, in one transaction.
	StoreRefreshedToken(ctx context.Context, id string, tok Token, at time.Time) (*Connection, error)
	// ListAllConnections lists every tenant's connections (background refresh).
	ListAllConnections(ctx context.Context) ([]*Connection, error)
}

// OAuthAppService stores tenants' own OAuth apps, sealed (tenant-scoped).
type OAuthAppService interface {
	SaveOAuthApp(ctx context.Context, app OAuthApp) error
	FindOAuthApp(ctx context.Context, service Service) (*OAuthApp, error)
	DeleteOAuthApp(ctx context.Context, service Service) error
	// ListOAuthAppServices tells which services have an own app, without
	// opening any secret.
	ListOAuthAppServices(ctx context.Context) ([]Service, error)
}

// OAuthCaller is who starts or finishes a connect flow: the state of an
// OAuth authorization is bound to it, so that a state taken from one
// person's flow cannot complete another's.
type OAuthCaller struct {
	TenantID string
	UserID   string
	// SessionKey identifies the browser session ("session:<hash>") or the
	// API token ("token:<id>") that started the flow.
	SessionKey string
}

// ErrOAuthState refuses a callback whose state is unknown, expired, already
// used, or bound to someone else. Nothing is stored.
var ErrOAuthState = &Error{Code: EINVALID, Message: "this connection attempt is unknown, has expired or was already used; start again from the Integrations page"}

// OAuthService runs the connect flows and keeps connections healthy. The
// HTTP layer calls it; tokens never leave it except sealed into the store.
type OAuthService interface {
	// AvailableServices reports, for the context's tenant, which services
	// can be connected (an appliance-wide app or the tenant's own) and,
	// for the others, why not.
	AvailableServices(ctx context.Context) ([]ServiceAvailability, error)
	// AuthorizeURL starts a flow and returns the provider's authorize URL.
	AuthorizeURL(ctx context.Context, service Service, caller OAuthCaller) (string, error)
	// Callback finishes a flow: it checks the state, exchanges the code,
	// identifies the workspace and stores the connection. providerError is
	// the provider's `error` parameter, if it sent one instead of a code.
	Callback(ctx context.Context, service Service, code, state, providerError string, caller OAuthCaller) (c *Connection, created bool, err error)
	// Refresh refreshes a connection's token now (or, for tokens that do
	// not expire, checks they still work) and returns its health.
	Refresh(ctx context.Context, id string) (*Connection, error)
	// Disconnect revokes the token at the provider where possible and
	// deletes the connection; revokeFailure says why a revocation failed
	// (the connection is deleted anyway).
	Disconnect(ctx context.Context, id string) (revokeFailure string, err error)
	// RedirectURL is the callback URL to register with the provider.
	RedirectURL(service Service) string
}

// ServiceAvailability says whether a tenant can connect a service.
type ServiceAvailability struct {
	Service   Service
	Available bool
	OwnApp    bool   // the tenant's own app will be used
	Reason    string // why not available
}
