// Package server is PM Assistant's HTTP layer: the gorilla/mux routes of the
// JSON API (api.md) and of the server-rendered pages, the middleware that
// every request passes (request id, logs, security headers, body limit,
// authentication, CSRF), and the handlers. It depends on the domain's service
// interfaces and on ui; it never opens the data file or calls a provider.
package server

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/password"
	"github.com/pmassist/pmassist/ui"
)

// Sign-up modes (config.md PMASSIST_SIGNUP).
const (
	SignupClosed = "closed"
	SignupInvite = "invite"
	SignupOpen   = "open"
)

// Config holds the settings the HTTP layer needs; it is passed in, never read
// from globals.
type Config struct {
	BaseURL     string        // public URL, e.g. https://pm.example.com
	SignupMode  string        // closed, invite or open
	DefaultTier pmassist.Tier // tier of tenants created by setup and sign-up
	Logger      *slog.Logger
	// Now is the clock; tests move it to expire sessions and invitations.
	Now func() time.Time
	// PasswordParams are the argon2id costs of new password hashes.
	PasswordParams password.Params
	// Metrics serves GET /metrics (Prometheus text) to loopback peers and
	// to requests bearing MetricsToken; nil: /metrics is not found.
	Metrics      http.Handler
	MetricsToken string
	// ObserveRequest, optional, is told about every answered request: the
	// route template ("" when no route matched, never the raw path), the
	// method, the status and the time taken.
	ObserveRequest func(route, method string, status int, d time.Duration)
	// BenchmarkTenantRatePerMinute, when > 0, replaces every plan's API
	// requests per minute per tenant (the limiter still runs on every
	// request). Only the benchmark harness sets it, so that its concurrent
	// clients measure the handlers rather than the limiter's refusals
	// (docs/benchmarks.md, figure 3). It is no setting: no environment
	// variable or flag reaches it.
	BenchmarkTenantRatePerMinute int
}

// Services are the domain services the handlers use.
type Services struct {
	Tenants      pmassist.TenantService
	Users        pmassist.UserService
	Members      pmassist.MemberService
	Sessions     pmassist.SessionService
	Tokens       pmassist.APITokenService
	Invitations  pmassist.InvitationService
	Audit        pmassist.AuditService
	Connections  pmassist.ConnectionService
	Apps         pmassist.OAuthAppService
	OAuth        pmassist.OAuthService
	Items        pmassist.ItemService
	Jobs         pmassist.JobService
	Configs      pmassist.TenantConfigService
	Ingestion    pmassist.IngestionService
	Webhooks     pmassist.WebhookService
	Decisions    pmassist.DecisionService
	Search       pmassist.SearchService
	Indexer      pmassist.Indexer
	Standups     pmassist.StandupGenerator
	StandupStore pmassist.StandupService
	Teammates    pmassist.TeammateService
	Billing      pmassist.BillingService
	// Planner re-plans schedules after changes; nil in tests without one.
	Planner pmassist.Planner
	// Operations backs up and compacts the data file (operators only); nil
	// answers 503 unavailable.
	Operations pmassist.OperationsService
	// System composes the operator's overview of the running appliance;
	// nil answers 503 unavailable.
	System func(ctx context.Context) pmassist.SystemInfo
	// Ready reports the state of each dependency for /readyz: a nil error
	// means ready.
	Ready func(ctx context.Context) map[string]error
}

// Server serves the API and the pages.
type Server struct {
	cfg    Config
	svc    Services
	logger *slog.Logger
	now    func() time.Time
	// decisionPages are encoded answers of GET /decision-logs.
	decisionPages pageCache
	secure        bool // cookies get the Secure flag (https base URL)
	templates     *ui.Templates
	throttle      *loginThrottle
	// dummyHash is verified against when the email is unknown, so that a
	// login's duration does not tell whether an account exists: it has the
	// cost of the hashes that new accounts get.
	dummyHash string
	// anonLimiter limits unauthenticated requests per client address.
	anonLimiter *rateLimiter
	// tenantLimiter limits API requests per tenant by plan.
	tenantLimiter *rateLimiter
	handler       http.Handler
	router        *mux.Router

	ln   net.Listener
	http *http.Server
	done chan error
}

// New builds a server; it fails when a setting is invalid or a page template
// does not parse.
func New(cfg Config, svc Services) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.PasswordParams == (password.Params{}) {
		cfg.PasswordParams = password.Default
	}
	switch cfg.SignupMode {
	case "":
		cfg.SignupMode = SignupInvite
	case SignupClosed, SignupInvite, SignupOpen:
	default:
		return nil, errors.New("server: sign-up mode must be closed, invite or open")
	}
	if cfg.DefaultTier == "" {
		cfg.DefaultTier = pmassist.TierEnterprise
	}
	if !cfg.DefaultTier.Valid() {
		return nil, errors.New("server: default tier must be free, pro or enterprise")
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, errors.New("server: base URL must be an absolute http(s) URL")
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	tpl, err := ui.New()
	if err != nil {
		return nil, err
	}
	dummy, err := cfg.PasswordParams.Hash(randomToken(16))
	if err != nil {
		return nil, err
	}
	s := &Server{
		dummyHash:     dummy,
		cfg:           cfg,
		svc:           svc,
		logger:        cfg.Logger,
		now:           func() time.Time { return cfg.Now().UTC() },
		secure:        base.Scheme == "https",
		templates:     tpl,
		throttle:      newLoginThrottle(),
		anonLimiter:   newRateLimiter(),
		tenantLimiter: newRateLimiter(),
	}
	s.router = s.routes()
	s.handler = s.middleware(s.router)
	return s, nil
}

// Handler returns the server's root handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Open listens on addr and serves in the background until Close.
func (s *Server) Open(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	s.ln = ln
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.done = make(chan error, 1)
	go func() {
		err := s.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	return nil
}

// Addr returns the address the server listens on (useful with ":0").
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops accepting connections and waits for running requests to
// finish, up to ctx's deadline.
func (s *Server) Close(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	err := s.http.Shutdown(ctx)
	if serveErr := <-s.done; err == nil {
		err = serveErr
	}
	return err
}

func (s *Server) routes() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(s.handleNotFound)
	r.MethodNotAllowedHandler = http.HandlerFunc(s.handleMethodNotAllowed)
	// Paths are matched as sent: "/api/v1/tokens/../x" is not found rather
	// than redirected somewhere else.
	r.SkipClean(true)
	r.Use(s.recordRoute)

	s.registerHealthRoutes(r)
	s.registerAuthRoutes(r)
	s.registerTokenRoutes(r)
	s.registerTenantRoutes(r)
	s.registerMemberRoutes(r)
	s.registerAdminRoutes(r)
	s.registerOperatorRoutes(r)
	s.registerBillingRoutes(r)
	s.registerIntegrationRoutes(r)
	s.registerIngestionRoutes(r)
	s.registerDecisionRoutes(r)
	s.registerSearchRoutes(r)
	s.registerStandupRoutes(r)
	s.registerMetricsRoutes(r)
	s.registerPageRoutes(r)
	return r
}

// v1 prefixes every API path. The API routes hang off the root router, not
// a mux subrouter, so that a wrong method answers 405 rather than 404.
const v1 = "/api/v1"

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// wantsPage reports whether the answer is for a person in a browser: every
// page, and the browser variant of the OAuth flow under /api/.
func wantsPage(r *http.Request) bool { return !isAPI(r) || browserFlow(r) }

func (s *Server) handleNotFound(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) {
		s.writeError(w, r, pmassist.Errorf(pmassist.ENOTFOUND, "no such API endpoint"))
		return
	}
	s.renderError(w, r, http.StatusNotFound, "Page not found", "There is nothing at this address.")
}

func (s *Server) handleMethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) {
		writeJSON(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
			Code: pmassist.EINVALID, Message: "method " + r.Method + " is not allowed on this path",
		}})
		return
	}
	s.renderError(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page does not accept that request.")
}
