package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/integrations/github"
	"github.com/pmassist/pmassist/integrations/linear"
	"github.com/pmassist/pmassist/integrations/oauth"
	"github.com/pmassist/pmassist/integrations/slack"
	"github.com/pmassist/pmassist/integrations/stripe"
	"github.com/pmassist/pmassist/internal/metrics"
	"github.com/pmassist/pmassist/password"
	"github.com/pmassist/pmassist/store"
	"github.com/pmassist/pmassist/store/search"
	"github.com/pmassist/pmassist/workflows"
)

// env is a server on a real bbolt file, served by httptest, with the
// Slack, Linear and GitHub stand-ins behind a real OAuth manager.
type env struct {
	t        *testing.T
	db       *store.DB
	srv      *Server
	ts       *httptest.Server
	clock    *fake.Clock
	ready    map[string]error
	oauth    *oauth.Manager
	ingestor *workflows.Ingestor
	index    *search.Index
	standups *workflows.Standups
	logs     *syncBuffer
	metrics  *metrics.Metrics

	slack  *fake.Slack
	linear *fake.Linear
	github *fake.GitHub
	// stripe is the Stripe stand-in when the env has billing on (nil off).
	stripe  *fake.Stripe
	billing *workflows.Billing
	// keys open the data file and its backups; ops backs it up and
	// compacts it; started is when the env's server started (System).
	keys    *store.Keyring
	ops     *store.Operations
	started time.Time
}

// Stripe settings of the billing env.
const (
	stripeKey           = "sk_test_server_env_key"
	stripeWebhookSecret = "whsec_server_env_secret"
	stripePricePro      = "price_pro_test"
	stripePriceEnt      = "price_enterprise_test"
)

// envOptions change the env beyond the server's Config.
type envOptions struct {
	stripe    bool   // billing on, against the Stripe stand-in
	backupDir string // scheduled backups into this folder ("" = off)
}

// syncBuffer collects the server's log lines for leak checks.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func newEnv(t *testing.T, mutate ...func(*Config)) *env {
	t.Helper()
	return newEnvWith(t, envOptions{}, mutate...)
}

func newEnvWith(t *testing.T, opts envOptions, mutate ...func(*Config)) *env {
	t.Helper()
	keys, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "pmassist.db"), store.Options{NoSync: true, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, db: db, clock: fake.NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)), logs: &syncBuffer{},
		metrics: metrics.New()}
	e.keys, e.started = keys, e.clock.Now()
	cfg := Config{BaseURL: "http://pm.test", Now: e.clock.Now, PasswordParams: password.Cheap,
		Metrics: e.metrics.Handler(), ObserveRequest: e.metrics.ObserveRequest,
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, m := range mutate {
		m(&cfg)
	}
	fakeOpts := func(svc string, ttl time.Duration) fake.Options {
		return fake.Options{ClientID: svc + "-client", ClientSecret: svc + "-secret", AccessTTL: ttl, AutoApprove: true, Now: e.clock.Now}
	}
	e.slack = fake.NewSlack(fakeOpts("slack", 12*time.Hour))
	e.linear = fake.NewLinear(fakeOpts("linear", 24*time.Hour))
	e.github = fake.NewGitHub(fakeOpts("github", 8*time.Hour))
	slackTS, linearTS, githubTS := httptest.NewServer(e.slack), httptest.NewServer(e.linear), httptest.NewServer(e.github)
	t.Cleanup(func() { slackTS.Close(); linearTS.Close(); githubTS.Close() })
	e.oauth = oauth.New(oauth.Config{
		BaseURL: cfg.BaseURL,
		Apps: map[pmassist.Service]oauth.AppCredentials{
			pmassist.ServiceSlack:  {ClientID: "slack-client", ClientSecret: "slack-secret", SigningSecret: slackSigningSecret},
			pmassist.ServiceLinear: {ClientID: "linear-client", ClientSecret: "linear-secret", SigningSecret: linearWebhookSecret},
			pmassist.ServiceGitHub: {ClientID: "github-client", ClientSecret: "github-secret", SigningSecret: githubWebhookSecret},
		},
		SlackURL: slackTS.URL, LinearURL: linearTS.URL, LinearAPIURL: linearTS.URL, GitHubURL: githubTS.URL, GitHubAPIURL: githubTS.URL,
		Now: e.clock.Now, Logger: cfg.Logger, OnRefresh: e.metrics.TokenRefreshed,
	}, oauth.Services{Connections: db, Apps: db, Tenants: db})
	sleep := func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	slackClient := slack.New(slack.Config{BaseURL: slackTS.URL, Tokens: e.oauth, Now: e.clock.Now, Sleep: sleep, Logger: cfg.Logger,
		OnResponse: e.metrics.ProviderResponse(pmassist.ServiceSlack), OnWait: e.metrics.ProviderWait(pmassist.ServiceSlack)})
	linearClient := linear.New(linear.Config{APIURL: linearTS.URL, Tokens: e.oauth, Now: e.clock.Now, Sleep: sleep, Logger: cfg.Logger})
	githubClient := github.New(github.Config{APIURL: githubTS.URL, Tokens: e.oauth, Now: e.clock.Now, Sleep: sleep, Logger: cfg.Logger})
	e.index, err = search.Open(search.Options{Dir: filepath.Join(t.TempDir(), "index"), Items: db, Decisions: db, Walker: db,
		Logger: cfg.Logger, FlushEvery: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	finder := workflows.NewDecisions(workflows.DecisionsConfig{Detector: workflows.RuleDetector{}, Decisions: db, Configs: db,
		Tenants: db, Index: e.index, Logger: cfg.Logger})
	e.ingestor = workflows.NewIngestor(workflows.IngestorConfig{Connections: db, Items: db, Jobs: db, Configs: db, Tenants: db,
		AfterStore: func(ctx context.Context, items []*pmassist.Item) {
			ids := make([]string, len(items))
			for i, it := range items {
				ids[i] = it.ID
			}
			e.index.QueueItems(ctx, ids...)
			if err := finder.Process(ctx, items); err != nil {
				t.Errorf("decision detection: %v", err)
			}
			if err := db.ObserveIdentities(ctx, workflows.IdentitiesOf(items)); err != nil {
				t.Errorf("people: %v", err)
			}
		},
		Now: e.clock.Now, Logger: cfg.Logger, OnJobFinished: e.metrics.JobFinished, Sources: map[pmassist.Service]pmassist.Source{
			pmassist.ServiceSlack: slackClient, pmassist.ServiceLinear: linearClient, pmassist.ServiceGitHub: githubClient}})
	e.metrics.Index(e.index.IndexState, e.index.Pending)
	e.metrics.ActiveJobs(e.ingestor.Active)
	e.standups = workflows.NewStandups(workflows.StandupsConfig{Items: db, Decisions: db, Teammates: db, Standups: db, Configs: db,
		Tenants: db, Connections: db, Slack: slackClient, BaseURL: cfg.BaseURL, Now: e.clock.Now, Logger: cfg.Logger})
	webhooks := workflows.NewWebhooks(workflows.WebhooksConfig{Ingestor: e.ingestor, Verifier: e.oauth, Deliveries: db,
		Connections: db, Configs: db, Items: db, Now: e.clock.Now, Logger: cfg.Logger, OnDelivery: e.metrics.WebhookDelivered,
		Receivers: map[pmassist.Service]pmassist.WebhookReceiver{
			pmassist.ServiceSlack: slackClient, pmassist.ServiceLinear: linearClient, pmassist.ServiceGitHub: githubClient}})
	var payments pmassist.PaymentProvider
	if opts.stripe {
		e.stripe = fake.NewStripe(stripeKey)
		stripeTS := httptest.NewServer(e.stripe)
		t.Cleanup(stripeTS.Close)
		sc, err := stripe.New(stripe.Config{SecretKey: stripeKey, WebhookSecret: stripeWebhookSecret, APIURL: stripeTS.URL,
			PricePro: stripePricePro, PriceEnterprise: stripePriceEnt, Logger: cfg.Logger})
		if err != nil {
			t.Fatal(err)
		}
		payments = sc
	}
	e.billing = workflows.NewBilling(workflows.BillingConfig{Provider: payments, Store: db, Tenants: db, Connections: db, Audit: db,
		BaseURL: cfg.BaseURL, Now: e.clock.Now, Logger: cfg.Logger})
	e.ops = store.NewOperations(db, store.OperationsConfig{Dir: opts.backupDir, Now: e.clock.Now, Logger: cfg.Logger})
	e.srv, err = New(cfg, Services{Tenants: db, Users: db, Members: db, Sessions: db, Tokens: db,
		Invitations: db, Audit: db, Connections: db, Apps: db, OAuth: e.oauth, Items: db, Jobs: db, Configs: db,
		Ingestion: e.ingestor, Webhooks: webhooks, Decisions: db, Search: e.index, Indexer: e.index,
		Standups: e.standups, StandupStore: db, Teammates: db, Billing: e.billing, Operations: e.ops, System: e.system, Ready: func(ctx context.Context) map[string]error {
			if e.ready != nil {
				return e.ready
			}
			return map[string]error{"data_file": db.Ping(ctx)}
		}})
	if err != nil {
		t.Fatal(err)
	}
	e.ts = httptest.NewServer(e.srv.Handler())
	// The order of Main.Close: HTTP, running jobs, the index, the data file.
	t.Cleanup(func() {
		e.ts.Close()
		e.ingestor.Close()
		if err := e.index.Close(); err != nil {
			t.Error(err)
		}
		_ = db.Close()
	})
	return e
}

// client is one browser or program talking to the server.
type client struct {
	e     *env
	http  *http.Client
	token string // bearer token, when set
	csrf  string // X-CSRF-Token, when set
}

func (e *env) client() *client {
	jar, _ := cookiejar.New(nil)
	return &client{e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type resp struct {
	*http.Response
	body []byte
}

func (r resp) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("not JSON (%d): %s", r.StatusCode, r.body)
	}
	return m
}

func (r resp) errCode(t *testing.T) string {
	t.Helper()
	e, _ := r.json(t)["error"].(map[string]any)
	if e == nil {
		t.Fatalf("no error object in %s", r.body)
	}
	return e["code"].(string)
}

func (c *client) do(method, path string, body any) resp {
	c.e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			buf, _ := json.Marshal(b)
			rd = bytes.NewReader(buf)
		}
	}
	req, _ := http.NewRequest(method, c.e.ts.URL+path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res, b}
}

func (c *client) expect(status int, method, path string, body any) map[string]any {
	c.e.t.Helper()
	r := c.do(method, path, body)
	if r.StatusCode != status {
		c.e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.StatusCode, status, r.body)
	}
	if len(r.body) == 0 {
		return nil
	}
	return r.json(c.e.t)
}

const pw = "correct horse battery"

// Webhook secrets of the appliance's apps in tests.
const (
	slackSigningSecret  = "slack-signing-secret"
	linearWebhookSecret = "linear-webhook-secret"
	githubWebhookSecret = "github-webhook-secret"
)

// setup runs first-run setup and returns the operator, signed in with a
// session and its CSRF token, and the tenant id.
func (e *env) setup() (*client, string) {
	e.t.Helper()
	c := e.client()
	out := c.expect(201, "POST", "/api/v1/setup", map[string]string{"email": "op@acme.test", "password": pw, "name": "Op", "tenant_name": "Acme"})
	tenantID := out["tenant"].(map[string]any)["id"].(string)
	c.login("op@acme.test", pw)
	return c, tenantID
}

func (c *client) login(email, password string) {
	c.e.t.Helper()
	c.expect(200, "POST", "/api/v1/auth/login", map[string]string{"email": email, "password": password})
	me := c.expect(200, "GET", "/api/v1/me", nil)
	c.csrf = me["csrf_token"].(string)
}

// invite makes a new member of the inviter's tenant and returns them signed in.
func (e *env) invite(inviter *client, email, role string) *client {
	e.t.Helper()
	out := inviter.expect(201, "POST", "/api/v1/invitations", map[string]string{"email": email, "role": role})
	link := out["invite_url"].(string)
	secret := link[strings.LastIndex(link, "/")+1:]
	c := e.client()
	c.expect(201, "POST", "/api/v1/invitations/"+secret+"/accept", map[string]string{"name": email, "password": pw})
	c.login(email, pw)
	return c
}

// bearer returns a client that uses a new API token of c's user and tenant.
func (c *client) bearer(name string) *client {
	c.e.t.Helper()
	out := c.expect(201, "POST", "/api/v1/tokens", map[string]string{"name": name})
	b := c.e.client()
	b.token = out["token"].(string)
	return b
}

func TestSetup(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.do("POST", "/api/v1/setup", map[string]string{"email": "not-an-email", "password": "short", "name": "", "tenant_name": ""})
	if r.StatusCode != 400 {
		t.Fatalf("status %d", r.StatusCode)
	}
	fields := r.json(t)["error"].(map[string]any)["fields"].(map[string]any)
	for _, f := range []string{"email", "password", "name", "tenant_name"} {
		if fields[f] == nil {
			t.Errorf("field %s not reported: %v", f, fields)
		}
	}
	out := c.expect(201, "POST", "/api/v1/setup", map[string]string{"email": "Op@Acme.test", "password": pw, "name": "Op", "tenant_name": "Acme"})
	user := out["user"].(map[string]any)
	if user["email"] != "op@acme.test" || user["operator"] != true || out["tenant"].(map[string]any)["tier"] != "enterprise" {
		t.Fatalf("setup answer: %v", out)
	}
	if _, leaked := user["password_hash"]; leaked {
		t.Fatal("password hash in API answer")
	}
	r = c.do("POST", "/api/v1/setup", map[string]string{"email": "b@acme.test", "password": pw, "name": "B", "tenant_name": "B"})
	if r.StatusCode != 409 || r.errCode(t) != "conflict" {
		t.Fatalf("second setup: %d %s", r.StatusCode, r.body)
	}
}

func TestBadBodies(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	cases := []struct {
		name, body, ctype string
		status            int
		code              string
	}{
		{"unknown field", `{"email":"a@b.test","password":"x","extra":1}`, "application/json", 400, "invalid"},
		{"malformed", `{"email":`, "application/json", 400, "invalid"},
		{"wrong type", `{"email":5}`, "application/json", 400, "invalid"},
		{"two objects", `{"email":"a"}{"email":"b"}`, "application/json", 400, "invalid"},
		{"empty", ``, "application/json", 400, "invalid"},
		{"form body", `email=a`, "application/x-www-form-urlencoded", 415, "unsupported_media_type"},
		{"too large", `{"email":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, "application/json", 413, "too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/auth/login", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ctype)
			res, err := c.http.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			r := resp{res, b}
			if r.StatusCode != tc.status || r.errCode(t) != tc.code {
				t.Fatalf("got %d %s", r.StatusCode, b)
			}
		})
	}
	// The unknown field is named.
	r := c.do("POST", "/api/v1/auth/login", `{"email":"a@b.test","password":"x","extra":1}`)
	if f := r.json(t)["error"].(map[string]any)["fields"].(map[string]any); f["extra"] != "unknown field" {
		t.Fatalf("fields: %v", f)
	}
}

func TestLoginLogoutAndCookieFlags(t *testing.T) {
	for _, base := range []string{"http://pm.test", "https://pm.test"} {
		t.Run(base, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.BaseURL = base })
			e.setup()
			c := e.client()
			if r := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": "wrong password"}); r.StatusCode != 401 {
				t.Fatalf("wrong password: %d", r.StatusCode)
			}
			if r := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "nobody@acme.test", "password": pw}); r.StatusCode != 401 {
				t.Fatalf("unknown email: %d", r.StatusCode)
			}
			r := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "OP@acme.test", "password": pw})
			if r.StatusCode != 200 {
				t.Fatalf("login: %d %s", r.StatusCode, r.body)
			}
			var cookie *http.Cookie
			for _, ck := range r.Cookies() {
				if ck.Name == sessionCookie {
					cookie = ck
				}
			}
			if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure != strings.HasPrefix(base, "https") {
				t.Fatalf("session cookie flags: %+v", cookie)
			}
			if len(r.json(t)["tenants"].([]any)) != 1 {
				t.Fatalf("tenants: %s", r.body)
			}
			// The cookie value is not what is stored: only its hash is.
			if _, err := e.db.FindSessionByHash(context.Background(), cookie.Value); err == nil {
				t.Fatal("session stored under the raw cookie value")
			}
			if _, err := e.db.FindSessionByHash(context.Background(), hashSecret(cookie.Value)); err != nil {
				t.Fatal("session not stored under its hash")
			}
			if base == "https://pm.test" {
				return // the cookie jar keeps Secure cookies off plain-http test servers
			}
			me := c.expect(200, "GET", "/api/v1/me", nil)
			if me["role"] != "owner" || me["csrf_token"] == "" || me["tenant"].(map[string]any)["name"] != "Acme" {
				t.Fatalf("me: %v", me)
			}
			if r := c.do("POST", "/api/v1/auth/logout", nil); r.StatusCode != 403 {
				t.Fatalf("logout without CSRF: %d", r.StatusCode)
			}
			c.csrf = me["csrf_token"].(string)
			c.expect(204, "POST", "/api/v1/auth/logout", nil)
			if r := c.do("GET", "/api/v1/me", nil); r.StatusCode != 401 {
				t.Fatalf("me after logout: %d", r.StatusCode)
			}
		})
	}
}

func TestLoginThrottled(t *testing.T) {
	e := newEnv(t)
	e.setup()
	c := e.client()
	for i := 0; i < maxAccountFailures; i++ {
		if r := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": "wrong password"}); r.StatusCode != 401 {
			t.Fatalf("attempt %d: %d", i, r.StatusCode)
		}
	}
	r := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": pw})
	if r.StatusCode != 429 || r.errCode(t) != "rate_limited" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("right password while throttled: %d %v %s", r.StatusCode, r.Header, r.body)
	}
	if ra := r.Header.Get("Retry-After"); ra != "900" {
		t.Fatalf("Retry-After %s, want 900", ra)
	}
	e.clock.Add(throttleWindow)
	c.expect(200, "POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": pw})

	// One address guessing many accounts is throttled too.
	for i := 0; i < maxAddressFailures; i++ {
		c.do("POST", "/api/v1/auth/login", map[string]string{"email": "x" + string(rune('a'+i)) + "@acme.test", "password": "wrong password"})
	}
	if r := c.do("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": pw}); r.StatusCode != 429 {
		t.Fatalf("address not throttled: %d", r.StatusCode)
	}
}

func TestSessionsExpireWhenIdle(t *testing.T) {
	e := newEnv(t)
	c, _ := e.setup()
	// Use within the idle timeout keeps a session alive...
	for i := 0; i < 3; i++ {
		e.clock.Add(6 * 24 * time.Hour)
		c.expect(200, "GET", "/api/v1/me", nil)
	}
	// ...idleness beyond it ends it.
	e.clock.Add(pmassist.SessionIdleTimeout + time.Minute)
	if r := c.do("GET", "/api/v1/me", nil); r.StatusCode != 401 {
		t.Fatalf("expired session: %d", r.StatusCode)
	}
}

func TestCSRFRequiredForCookieStateChanges(t *testing.T) {
	e := newEnv(t)
	c, _ := e.setup()
	good := c.csrf
	for _, tok := range []string{"", "wrong", good + "x"} {
		c.csrf = tok
		if r := c.do("POST", "/api/v1/tokens", map[string]string{"name": "ci"}); r.StatusCode != 403 || r.errCode(t) != "forbidden" {
			t.Fatalf("csrf %q: %d", tok, r.StatusCode)
		}
	}
	c.csrf = good
	b := c.bearer("ci")
	// Bearer requests need no CSRF token.
	b.expect(201, "POST", "/api/v1/tokens", map[string]string{"name": "second"})
}

func TestAPITokens(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	out := op.expect(201, "POST", "/api/v1/tokens", map[string]string{"name": "deploy"})
	secret := out["token"].(string)
	if !strings.HasPrefix(secret, "pma_") || len(secret) < 40 {
		t.Fatalf("token %q", secret)
	}
	list := op.expect(200, "GET", "/api/v1/tokens", nil)
	toks := list["tokens"].([]any)
	if len(toks) != 1 || toks[0].(map[string]any)["last_used_at"] != nil {
		t.Fatalf("list: %v", list)
	}
	if strings.Contains(string(op.do("GET", "/api/v1/tokens", nil).body), secret) {
		t.Fatal("token secret shown again")
	}
	b := e.client()
	b.token = secret
	me := b.expect(200, "GET", "/api/v1/me", nil)
	if me["csrf_token"] != "" || me["user"].(map[string]any)["email"] != "op@acme.test" {
		t.Fatalf("me by token: %v", me)
	}
	toks = op.expect(200, "GET", "/api/v1/tokens", nil)["tokens"].([]any)
	if toks[0].(map[string]any)["last_used_at"] == nil {
		t.Fatal("last_used_at not recorded")
	}
	if r := op.do("POST", "/api/v1/tokens", map[string]string{"name": ""}); r.StatusCode != 400 {
		t.Fatalf("empty name: %d", r.StatusCode)
	}
	// A bad token is 401, not anonymous.
	bad := e.client()
	bad.token = "pma_nope"
	if r := bad.do("GET", "/api/v1/me", nil); r.StatusCode != 401 || !strings.Contains(string(r.body), "invalid API token") {
		t.Fatalf("bad token: %d %s", r.StatusCode, r.body)
	}
	// Another user's token cannot be revoked by id; a malformed id is 404.
	member := e.invite(op, "m@acme.test", "member")
	if r := member.do("DELETE", "/api/v1/tokens/"+out["id"].(string), nil); r.StatusCode != 404 {
		t.Fatalf("revoking another's token: %d", r.StatusCode)
	}
	if r := op.do("DELETE", "/api/v1/tokens/../../x", nil); r.StatusCode != 404 {
		t.Fatalf("bad id: %d", r.StatusCode)
	}
	op.expect(204, "DELETE", "/api/v1/tokens/"+out["id"].(string), nil)
	if r := b.do("GET", "/api/v1/me", nil); r.StatusCode != 401 {
		t.Fatalf("revoked token still works: %d", r.StatusCode)
	}
	if r := e.client().do("GET", "/api/v1/tokens", nil); r.StatusCode != 401 {
		t.Fatalf("anonymous: %d", r.StatusCode)
	}
	// Audit has both changes.
	events := op.expect(200, "GET", "/api/v1/audit", nil)["events"].([]any)
	actions := map[string]bool{}
	for _, ev := range events {
		actions[ev.(map[string]any)["action"].(string)] = true
	}
	for _, a := range []string{pmassist.AuditTokenCreated, pmassist.AuditTokenRevoked, pmassist.AuditMemberInvited, pmassist.AuditMemberJoined} {
		if !actions[a] {
			t.Errorf("audit lacks %s: %v", a, actions)
		}
	}
}

func TestMembersRolesAndInvitations(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.setup()
	admin := e.invite(owner, "admin@acme.test", "admin")
	member := e.invite(owner, "m@acme.test", "member")

	members := owner.expect(200, "GET", "/api/v1/members", nil)["members"].([]any)
	if len(members) != 3 {
		t.Fatalf("members: %v", members)
	}
	ids := map[string]string{}
	for _, m := range members {
		mm := m.(map[string]any)
		ids[mm["email"].(string)] = mm["user_id"].(string)
	}
	opID, memberID, adminID := ids["op@acme.test"], ids["m@acme.test"], ids["admin@acme.test"]

	// A member reads but does not manage.
	member.expect(200, "GET", "/api/v1/members", nil)
	for _, tc := range []struct{ method, path string }{
		{"POST", "/api/v1/invitations"}, {"GET", "/api/v1/invitations"}, {"PATCH", "/api/v1/members/" + adminID},
		{"DELETE", "/api/v1/members/" + adminID}, {"GET", "/api/v1/audit"},
	} {
		var body any
		if tc.method == "POST" {
			body = map[string]string{"email": "x@acme.test", "role": "member"}
		} else if tc.method == "PATCH" {
			body = map[string]string{"role": "member"}
		}
		if r := member.do(tc.method, tc.path, body); r.StatusCode != 403 {
			t.Errorf("member %s %s: %d", tc.method, tc.path, r.StatusCode)
		}
	}
	// An admin manages members but not owners.
	admin.expect(200, "PATCH", "/api/v1/members/"+memberID, map[string]string{"role": "admin"})
	admin.expect(200, "PATCH", "/api/v1/members/"+memberID, map[string]string{"role": "member"})
	for _, r := range []resp{
		admin.do("PATCH", "/api/v1/members/"+memberID, map[string]string{"role": "owner"}),
		admin.do("PATCH", "/api/v1/members/"+opID, map[string]string{"role": "member"}),
		admin.do("DELETE", "/api/v1/members/"+opID, nil),
		admin.do("POST", "/api/v1/invitations", map[string]string{"email": "o2@acme.test", "role": "owner"}),
	} {
		if r.StatusCode != 403 {
			t.Errorf("admin doing owner things: %d %s", r.StatusCode, r.body)
		}
	}
	if r := owner.do("PATCH", "/api/v1/members/"+memberID, map[string]string{"role": "boss"}); r.StatusCode != 400 {
		t.Fatalf("bad role: %d", r.StatusCode)
	}
	// The last owner can neither be demoted nor removed.
	if r := owner.do("PATCH", "/api/v1/members/"+opID, map[string]string{"role": "admin"}); r.StatusCode != 409 {
		t.Fatalf("demote last owner: %d", r.StatusCode)
	}
	if r := owner.do("DELETE", "/api/v1/members/"+opID, nil); r.StatusCode != 409 {
		t.Fatalf("remove last owner: %d", r.StatusCode)
	}
	// Anyone may leave; a removed member's session and tokens stop working.
	memberToken := member.bearer("mine")
	admin.expect(204, "DELETE", "/api/v1/members/"+memberID, nil)
	if r := memberToken.do("GET", "/api/v1/members", nil); r.StatusCode != 401 {
		t.Fatalf("removed member's token: %d", r.StatusCode)
	}
	if r := member.do("GET", "/api/v1/members", nil); r.StatusCode != 403 {
		t.Fatalf("removed member's session: %d %s", r.StatusCode, r.body)
	}
	admin.expect(204, "DELETE", "/api/v1/members/"+adminID, nil)
	if r := owner.do("DELETE", "/api/v1/members/not-an-id", nil); r.StatusCode != 404 {
		t.Fatalf("bad member id: %d", r.StatusCode)
	}
	// Inviting an existing member conflicts.
	if r := owner.do("POST", "/api/v1/invitations", map[string]string{"email": "op@acme.test", "role": "member"}); r.StatusCode != 409 {
		t.Fatalf("invite member: %d", r.StatusCode)
	}
}

func TestInvitationLifecycle(t *testing.T) {
	e := newEnv(t)
	owner, _ := e.setup()
	secretOf := func(out map[string]any) string {
		link := out["invite_url"].(string)
		if !strings.HasPrefix(link, "http://pm.test/invite/") {
			t.Fatalf("link %s", link)
		}
		return link[strings.LastIndex(link, "/")+1:]
	}
	out := owner.expect(201, "POST", "/api/v1/invitations", map[string]string{"email": "new@acme.test", "role": "member"})
	exp, _ := time.Parse(time.RFC3339, out["expires_at"].(string))
	if want := e.clock.Now().Add(7 * 24 * time.Hour); !exp.Equal(want) {
		t.Fatalf("expires %v, want %v", exp, want)
	}
	s1 := secretOf(out)
	anon := e.client()
	if r := anon.do("POST", "/api/v1/invitations/"+s1+"/accept", map[string]string{"name": "New", "password": "short"}); r.StatusCode != 400 {
		t.Fatalf("weak password: %d", r.StatusCode)
	}
	got := anon.expect(201, "POST", "/api/v1/invitations/"+s1+"/accept", map[string]string{"name": "New", "password": pw})
	if got["tenant"].(map[string]any)["name"] != "Acme" || got["user"].(map[string]any)["email"] != "new@acme.test" {
		t.Fatalf("accept: %v", got)
	}
	if r := anon.do("POST", "/api/v1/invitations/"+s1+"/accept", map[string]string{"name": "New", "password": pw}); r.StatusCode != 404 {
		t.Fatalf("second use: %d", r.StatusCode)
	}
	// Expired after 7 days.
	s2 := secretOf(owner.expect(201, "POST", "/api/v1/invitations", map[string]string{"email": "late@acme.test"}))
	e.clock.Add(7*24*time.Hour + time.Second)
	if r := anon.do("POST", "/api/v1/invitations/"+s2+"/accept", map[string]string{"name": "Late", "password": pw}); r.StatusCode != 404 {
		t.Fatalf("expired: %d", r.StatusCode)
	}
	owner.login("op@acme.test", pw)
	// Revoked.
	out = owner.expect(201, "POST", "/api/v1/invitations", map[string]string{"email": "rev@acme.test", "role": "admin"})
	pending := owner.expect(200, "GET", "/api/v1/invitations", nil)["invitations"].([]any)
	if len(pending) != 1 || pending[0].(map[string]any)["email"] != "rev@acme.test" {
		t.Fatalf("pending: %v", pending)
	}
	owner.expect(204, "DELETE", "/api/v1/invitations/"+out["id"].(string), nil)
	if r := anon.do("POST", "/api/v1/invitations/"+secretOf(out)+"/accept", map[string]string{"name": "R", "password": pw}); r.StatusCode != 404 {
		t.Fatalf("revoked: %d", r.StatusCode)
	}
	// An existing account joins a second tenant with its own password.
	op2 := owner.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Beta", "owner_email": "boss@beta.test", "owner_name": "Boss", "owner_password": pw})
	_ = op2
	boss := e.client()
	boss.login("boss@beta.test", pw)
	s3 := secretOf(boss.expect(201, "POST", "/api/v1/invitations", map[string]string{"email": "new@acme.test", "role": "member"}))
	if r := anon.do("POST", "/api/v1/invitations/"+s3+"/accept", map[string]string{"password": "wrong password"}); r.StatusCode != 401 {
		t.Fatalf("existing account, wrong password: %d", r.StatusCode)
	}
	anon.expect(201, "POST", "/api/v1/invitations/"+s3+"/accept", map[string]string{"password": pw})
	nu := e.client()
	nu.login("new@acme.test", pw)
	if n := len(nu.expect(200, "GET", "/api/v1/me", nil)["tenants"].([]any)); n != 2 {
		t.Fatalf("tenants of new user: %d", n)
	}
}

func TestSignupModes(t *testing.T) {
	body := map[string]string{"email": "s@x.test", "password": pw, "name": "S", "tenant_name": "X"}
	t.Run("invite", func(t *testing.T) {
		e := newEnv(t)
		e.setup()
		if r := e.client().do("POST", "/api/v1/auth/signup", body); r.StatusCode != 403 {
			t.Fatalf("signup in invite mode: %d", r.StatusCode)
		}
	})
	t.Run("open", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.SignupMode = SignupOpen; c.DefaultTier = pmassist.TierFree })
		e.setup()
		out := e.client().expect(201, "POST", "/api/v1/auth/signup", body)
		if out["tenant"].(map[string]any)["tier"] != "free" || out["user"].(map[string]any)["operator"] != false {
			t.Fatalf("signup: %v", out)
		}
		if r := e.client().do("POST", "/api/v1/auth/signup", body); r.StatusCode != 409 {
			t.Fatalf("same email again: %d", r.StatusCode)
		}
		c := e.client()
		c.login("s@x.test", pw)
		ten := c.expect(200, "GET", "/api/v1/tenant", nil)
		usage := ten["usage"].(map[string]any)
		if usage["items_limit"].(float64) != 100 || usage["integrations_limit"].(float64) != 1 || usage["period"] != "2026-11" {
			t.Fatalf("free usage: %v", usage)
		}
	})
	t.Run("closed", func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.SignupMode = SignupClosed })
		op, _ := e.setup()
		if r := e.client().do("POST", "/api/v1/auth/signup", body); r.StatusCode != 403 {
			t.Fatalf("signup in closed mode: %d", r.StatusCode)
		}
		boss := e.client()
		op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "B", "owner_email": "b@b.test", "owner_name": "B", "owner_password": pw})
		boss.login("b@b.test", pw)
		if r := boss.do("POST", "/api/v1/invitations", map[string]string{"email": "z@b.test"}); r.StatusCode != 403 {
			t.Fatalf("owner invite in closed mode: %d", r.StatusCode)
		}
		op.expect(201, "POST", "/api/v1/invitations", map[string]string{"email": "z@acme.test"})
	})
}

func TestAdminTenants(t *testing.T) {
	e := newEnv(t)
	op, acmeID := e.setup()
	member := e.invite(op, "m@acme.test", "member")
	if r := member.do("GET", "/api/v1/admin/tenants", nil); r.StatusCode != 403 {
		t.Fatalf("member lists tenants: %d", r.StatusCode)
	}
	if r := e.client().do("GET", "/api/v1/admin/tenants", nil); r.StatusCode != 401 {
		t.Fatalf("anonymous: %d", r.StatusCode)
	}
	if r := op.do("POST", "/api/v1/admin/tenants", map[string]string{"name": "B", "owner_email": "new@b.test"}); r.StatusCode != 400 {
		t.Fatalf("new owner without name/password: %d %s", r.StatusCode, r.body)
	}
	out := op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Beta", "owner_email": "boss@beta.test", "owner_name": "Boss", "owner_password": pw, "tier": "free"})
	betaID := out["tenant"].(map[string]any)["id"].(string)
	// An existing user becomes owner without a password.
	out = op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Gamma", "owner_email": "m@acme.test"})
	if out["user"].(map[string]any)["email"] != "m@acme.test" {
		t.Fatalf("existing owner: %v", out)
	}
	list := op.expect(200, "GET", "/api/v1/admin/tenants", nil)["tenants"].([]any)
	if len(list) != 3 {
		t.Fatalf("tenants: %v", list)
	}
	first := list[0].(map[string]any)
	if first["id"] != acmeID || first["members"].(float64) != 2 || first["usage"] == nil {
		t.Fatalf("first row: %v", first)
	}
	row := op.expect(200, "PATCH", "/api/v1/admin/tenants/"+betaID, map[string]any{"tier": "pro"})
	if row["tier"] != "pro" {
		t.Fatalf("patch: %v", row)
	}
	if r := op.do("PATCH", "/api/v1/admin/tenants/"+betaID, map[string]any{"tier": "gold"}); r.StatusCode != 400 {
		t.Fatalf("bad tier: %d", r.StatusCode)
	}
	if r := op.do("PATCH", "/api/v1/admin/tenants/"+pmassist.NewID(), map[string]any{"tier": "pro"}); r.StatusCode != 404 {
		t.Fatalf("unknown tenant: %d", r.StatusCode)
	}
	// Suspension: members get 403 "tenant suspended".
	boss := e.client()
	boss.login("boss@beta.test", pw)
	boss.expect(200, "GET", "/api/v1/members", nil)
	op.expect(200, "PATCH", "/api/v1/admin/tenants/"+betaID, map[string]any{"suspended": true})
	r := boss.do("GET", "/api/v1/members", nil)
	if r.StatusCode != 403 || !strings.Contains(string(r.body), "tenant suspended") {
		t.Fatalf("suspended: %d %s", r.StatusCode, r.body)
	}
	op.expect(200, "PATCH", "/api/v1/admin/tenants/"+betaID, map[string]any{"suspended": false})
	boss.expect(200, "GET", "/api/v1/members", nil)
	// The operator's changes are in the tenant's audit log.
	events := boss.expect(200, "GET", "/api/v1/audit", nil)["events"].([]any)
	if len(events) < 3 || events[0].(map[string]any)["action"] != pmassist.AuditTenantUpdated {
		t.Fatalf("audit: %v", events)
	}
}

func TestTenantIsolationAndSwitch(t *testing.T) {
	e := newEnv(t)
	op, acmeID := e.setup()
	out := op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Beta", "owner_email": "boss@beta.test", "owner_name": "Boss", "owner_password": pw})
	betaID := out["tenant"].(map[string]any)["id"].(string)
	boss := e.client()
	boss.login("boss@beta.test", pw)
	bossTok := boss.expect(201, "POST", "/api/v1/tokens", map[string]string{"name": "b"})
	bossInv := boss.expect(201, "POST", "/api/v1/invitations", map[string]string{"email": "x@beta.test"})
	bossID := boss.expect(200, "GET", "/api/v1/me", nil)["user"].(map[string]any)["id"].(string)

	// Acme's owner cannot see or touch Beta's records by id.
	for _, tc := range []struct{ method, path string }{
		{"DELETE", "/api/v1/tokens/" + bossTok["id"].(string)},
		{"DELETE", "/api/v1/invitations/" + bossInv["id"].(string)},
		{"PATCH", "/api/v1/members/" + bossID},
		{"DELETE", "/api/v1/members/" + bossID},
	} {
		var body any
		if tc.method == "PATCH" {
			body = map[string]string{"role": "member"}
		}
		if r := op.do(tc.method, tc.path, body); r.StatusCode != 404 {
			t.Errorf("%s %s across tenants: %d", tc.method, tc.path, r.StatusCode)
		}
	}
	for _, m := range op.expect(200, "GET", "/api/v1/members", nil)["members"].([]any) {
		if m.(map[string]any)["email"] == "boss@beta.test" {
			t.Fatal("Beta's owner listed in Acme")
		}
	}
	// Switching to a tenant one is not a member of is 404; a member switches.
	if r := op.do("POST", "/api/v1/me/tenant", map[string]string{"tenant_id": betaID}); r.StatusCode != 404 {
		t.Fatalf("switch to foreign tenant: %d", r.StatusCode)
	}
	inv := boss.expect(201, "POST", "/api/v1/invitations", map[string]string{"email": "op@acme.test", "role": "admin"})
	link := inv["invite_url"].(string)
	e.client().expect(201, "POST", "/api/v1/invitations/"+link[strings.LastIndex(link, "/")+1:]+"/accept", map[string]string{"password": pw})
	me := op.expect(200, "POST", "/api/v1/me/tenant", map[string]string{"tenant_id": betaID})
	if me["tenant"].(map[string]any)["id"] != betaID || me["role"] != "admin" {
		t.Fatalf("after switch: %v", me)
	}
	if op.expect(200, "GET", "/api/v1/tenant", nil)["name"] != "Beta" {
		t.Fatal("tenant endpoint does not follow the switch")
	}
	op.expect(200, "POST", "/api/v1/me/tenant", map[string]string{"tenant_id": acmeID})
	// A token stays bound to its tenant.
	tok := op.bearer("acme")
	if r := tok.do("POST", "/api/v1/me/tenant", map[string]string{"tenant_id": betaID}); r.StatusCode != 400 {
		t.Fatalf("switch with token: %d", r.StatusCode)
	}
}

func TestUnknownAPIPathsAnswer404(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	bad := e.client()
	bad.token = "pma_bogus"
	for _, c := range []*client{e.client(), op, bad, op.bearer("x")} {
		r := c.do("GET", "/api/v1/does-not-exist", nil)
		if r.StatusCode != 404 || r.errCode(t) != "not_found" {
			t.Fatalf("unknown path: %d %s", r.StatusCode, r.body)
		}
		if r.Header.Get("X-Request-Id") == "" {
			t.Fatal("no X-Request-Id")
		}
	}
	if r := op.do("PUT", "/api/v1/tokens", nil); r.StatusCode != 405 {
		t.Fatalf("wrong method: %d", r.StatusCode)
	}
}

func TestSecurityHeadersAndHealth(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	r := c.do("GET", "/healthz", nil)
	if r.StatusCode != 200 || r.json(t)["status"] != "ok" {
		t.Fatalf("healthz: %d %s", r.StatusCode, r.body)
	}
	for h, want := range map[string]string{
		"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
	} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Error("CSP missing")
	}
	if r.Header.Get("X-Request-Id") == "" {
		t.Error("no request id")
	}
	c.expect(200, "GET", "/readyz", nil)
	e.ready = map[string]error{"data_file": context.Canceled}
	r = c.do("GET", "/readyz", nil)
	if r.StatusCode != 503 || r.json(t)["status"] != "starting" {
		t.Fatalf("readyz not ready: %d %s", r.StatusCode, r.body)
	}
}

func TestOpenAPIMatchesRouter(t *testing.T) {
	e := newEnv(t)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	r := e.client().do("GET", "/api/v1/openapi.json", nil)
	if err := json.Unmarshal(r.body, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("not an OpenAPI 3 document: %v", err)
	}
	documented := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = true
		}
	}
	routed := map[string]bool{}
	err := e.srv.router.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return nil
		}
		if !strings.HasPrefix(tpl, "/api/") && tpl != "/healthz" && tpl != "/readyz" && tpl != "/metrics" {
			return nil
		}
		methods, err := route.GetMethods()
		if err != nil {
			return nil // a subrouter prefix
		}
		for _, m := range methods {
			routed[m+" "+tpl] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for k := range routed {
		if !documented[k] {
			t.Errorf("route %s is not in openapi.json", k)
		}
	}
	for k := range documented {
		if !routed[k] {
			t.Errorf("openapi.json documents %s, which the router lacks", k)
		}
	}
	if len(routed) < 20 {
		t.Fatalf("only %d routes found: walk is broken", len(routed))
	}
}

func TestPostLoginRedirectStaysOnSite(t *testing.T) {
	for in, want := range map[string]string{
		"/members": "/members", "": "/", "//evil.test/x": "/", "https://evil.test": "/", "/\\evil.test": "/",
		"javascript:alert(1)": "/", "/ok?x=1": "/ok?x=1", "/%0d%0aSet-Cookie:x": "/%0d%0aSet-Cookie:x",
	} {
		if got := safeNext(in); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", in, got, want)
		}
	}
}
