// Package oauth connects tenants to Slack, Linear and GitHub: the provider
// registry, the authorize/callback flows (random single-use state bound to
// the caller, PKCE for Linear), identification of the connected workspace,
// token refresh with one refresh per connection at a time, the background
// pass that keeps refresh tokens alive, and revocation on disconnect.
//
// It is built on golang.org/x/oauth2 with the traps of providers.md in mind:
// an explicit AuthStyle per provider, comma-joined scopes for Slack and
// Linear, Accept: application/json for GitHub's token endpoint, and Slack's
// "token_type":"bot" never used as an Authorization scheme. Plaintext tokens
// exist only here (to call providers) and in the store (to seal them).
package oauth

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/pmassist/pmassist"
	"golang.org/x/oauth2"
)

// AppCredentials are an OAuth app's client credentials.
type AppCredentials struct {
	ClientID, ClientSecret, SigningSecret string
}

// Config holds the appliance-wide settings (config.md).
type Config struct {
	// BaseURL is the appliance's public URL; redirect URIs are
	// BaseURL/api/v1/oauth/{service}/callback.
	BaseURL string
	// Apps are the appliance-wide OAuth apps; a service without one can be
	// connected only by tenants that store their own app.
	Apps map[pmassist.Service]AppCredentials

	SlackURL     string // https://slack.com
	LinearURL    string // https://linear.app
	LinearAPIURL string // https://api.linear.app
	GitHubURL    string // https://github.com
	GitHubAPIURL string // https://api.github.com

	HTTPClient *http.Client
	Now        func() time.Time
	Logger     *slog.Logger
	// OnRefresh, optional, is told the outcome of every refresh attempt
	// (or check of a token that does not expire): nil, or why it failed
	// (metrics).
	OnRefresh func(service pmassist.Service, err error)
}

// Services are the store interfaces the manager uses.
type Services struct {
	Connections pmassist.ConnectionService
	Apps        pmassist.OAuthAppService
	Tenants     pmassist.TenantService
}

// Timing of refreshes.
const (
	// RefreshMargin: a token is refreshed when it expires within this.
	RefreshMargin = 15 * time.Minute
	// KeepAliveEvery: refresh tokens are exercised at least this often, so
	// that unused ones are not lost.
	KeepAliveEvery = 24 * time.Hour
	// stateTTL bounds a connect flow from authorize to callback.
	stateTTL = 10 * time.Minute
	// maxBackoff caps the wait between attempts after transient failures.
	maxBackoff = 6 * time.Hour
)

// Manager implements pmassist.OAuthService.
type Manager struct {
	cfg       Config
	svc       Services
	client    *http.Client
	now       func() time.Time
	logger    *slog.Logger
	providers map[pmassist.Service]*provider
	states    *stateStore

	mu    sync.Mutex
	locks map[string]*sync.Mutex // one refresh per connection at a time
}

var _ pmassist.OAuthService = (*Manager)(nil)

// New returns a manager.
func New(cfg Config, svc Services) *Manager {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	m := &Manager{
		cfg: cfg, svc: svc, client: cfg.HTTPClient, now: func() time.Time { return cfg.Now().UTC() },
		logger: cfg.Logger, states: newStateStore(), locks: map[string]*sync.Mutex{},
	}
	m.providers = map[pmassist.Service]*provider{
		pmassist.ServiceSlack:  slackProvider(cfg),
		pmassist.ServiceLinear: linearProvider(cfg),
		pmassist.ServiceGitHub: githubProvider(cfg),
	}
	return m
}

// RedirectURL is the callback URL to register with the provider.
func (m *Manager) RedirectURL(service pmassist.Service) string {
	return m.cfg.BaseURL + "/api/v1/oauth/" + string(service) + "/callback"
}

// credentials picks the OAuth app for a tenant: its own (enterprise tier)
// when stored, else the appliance's.
func (m *Manager) credentials(ctx context.Context, service pmassist.Service) (AppCredentials, bool, error) {
	if ok, err := m.ownAppsAllowed(ctx); err != nil {
		return AppCredentials{}, false, err
	} else if ok {
		app, err := m.svc.Apps.FindOAuthApp(ctx, service)
		switch {
		case err == nil:
			return AppCredentials{ClientID: app.ClientID, ClientSecret: app.ClientSecret, SigningSecret: app.SigningSecret}, true, nil
		case pmassist.ErrorCode(err) != pmassist.ENOTFOUND:
			return AppCredentials{}, false, err
		}
	}
	if app, ok := m.cfg.Apps[service]; ok && app.ClientID != "" {
		return app, false, nil
	}
	return AppCredentials{}, false, pmassist.Errorf(pmassist.ECONFLICT,
		"%s is not configured on this appliance: the operator sets PMASSIST_%s_CLIENT_ID and _CLIENT_SECRET", service.Title(), strings.ToUpper(string(service)))
}

// appFor returns the app that issued a connection's token.
func (m *Manager) appFor(ctx context.Context, c *pmassist.Connection) (AppCredentials, error) {
	if c.OwnApp {
		app, err := m.svc.Apps.FindOAuthApp(ctx, c.Service)
		if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
			return AppCredentials{}, pmassist.Errorf(pmassist.ECONFLICT, "the tenant's own %s app that authorized this connection was removed; reconnect", c.Service.Title())
		} else if err != nil {
			return AppCredentials{}, err
		}
		return AppCredentials{ClientID: app.ClientID, ClientSecret: app.ClientSecret, SigningSecret: app.SigningSecret}, nil
	}
	if app, ok := m.cfg.Apps[c.Service]; ok && app.ClientID != "" {
		return app, nil
	}
	return AppCredentials{}, pmassist.Errorf(pmassist.ECONFLICT, "%s is no longer configured on this appliance", c.Service.Title())
}

func (m *Manager) tenant(ctx context.Context) (*pmassist.Tenant, error) {
	id, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return nil, err
	}
	return m.svc.Tenants.FindTenantByID(ctx, id)
}

func (m *Manager) ownAppsAllowed(ctx context.Context) (bool, error) {
	t, err := m.tenant(ctx)
	if err != nil {
		return false, err
	}
	return pmassist.PlanFor(t.Tier).Has(pmassist.FeatureOwnOAuthApps), nil
}

// AvailableServices reports which services the context's tenant can connect.
func (m *Manager) AvailableServices(ctx context.Context) ([]pmassist.ServiceAvailability, error) {
	out := make([]pmassist.ServiceAvailability, 0, len(pmassist.Services))
	for _, s := range pmassist.Services {
		_, own, err := m.credentials(ctx, s)
		a := pmassist.ServiceAvailability{Service: s, Available: err == nil, OwnApp: own}
		if err != nil {
			if pmassist.ErrorCode(err) != pmassist.ECONFLICT {
				return nil, err
			}
			a.Reason = pmassist.ErrorMessage(err)
		}
		out = append(out, a)
	}
	return out, nil
}

// oauthConfig is the x/oauth2 configuration of a provider with an app.
func (m *Manager) oauthConfig(p *provider, app AppCredentials) *oauth2.Config {
	return &oauth2.Config{
		ClientID: app.ClientID, ClientSecret: app.ClientSecret,
		Endpoint:    p.endpoint,
		RedirectURL: m.RedirectURL(p.service),
		Scopes:      p.scopes,
	}
}

// httpContext makes x/oauth2 use the manager's client (and, for GitHub, ask
// for JSON answers).
func (m *Manager) httpContext(ctx context.Context, p *provider) context.Context {
	c := m.client
	if p.acceptJSON {
		c = &http.Client{Timeout: m.client.Timeout, Jar: m.client.Jar, CheckRedirect: m.client.CheckRedirect,
			Transport: acceptJSON{base: m.client.Transport}}
	}
	return context.WithValue(ctx, oauth2.HTTPClient, c)
}

// acceptJSON asks for JSON token answers (GitHub answers form-encoded
// otherwise).
type acceptJSON struct{ base http.RoundTripper }

func (a acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	base := a.base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

func (m *Manager) provider(service pmassist.Service) (*provider, error) {
	p, ok := m.providers[service]
	if !ok {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "unknown service %q", service)
	}
	return p, nil
}

// lockFor returns the refresh lock of a connection.
func (m *Manager) lockFor(id string) *sync.Mutex {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.locks[id]
	if !ok {
		l = &sync.Mutex{}
		m.locks[id] = l
	}
	return l
}
