package server

// The server-level security suite (issue item 2): one row per API route with
// who may call it, refused callers and other tenants' ids; open redirects;
// webhook forgeries; login brute force; security headers; secrets in
// answers and logs; bad bodies. Browser XSS and the end-to-end secret sweep
// live in e2e/.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/password"
)

// ---- recording every answer ----

// exchange is one answer of the server, as a client received it.
type exchange struct {
	method, uri string
	status      int
	header      http.Header
	body        []byte
}

// transcript collects the answers of the server under test (not of the
// stand-ins) for the leak checks.
type transcript struct {
	host string
	mu   sync.Mutex
	list []exchange
}

func (tr *transcript) add(x exchange) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.list = append(tr.list, x)
}

func (tr *transcript) all() []exchange {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return slices.Clone(tr.list)
}

type recordingTransport struct{ tr *transcript }

func (rt recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || req.URL.Host != rt.tr.host {
		return res, err
	}
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return nil, err
	}
	res.Body = io.NopCloser(bytes.NewReader(b))
	rt.tr.add(exchange{req.Method, req.URL.RequestURI(), res.StatusCode, res.Header.Clone(), b})
	return res, nil
}

// secWorld is an env whose every answer is recorded.
type secWorld struct {
	t   *testing.T
	e   *env
	rec *transcript
	// secrets must appear in no answer and no log line, beside the env's
	// own (app secrets, Stripe keys, the stand-ins' tokens).
	secrets []string
}

func newSecWorld(t *testing.T, opts envOptions, mutate ...func(*Config)) *secWorld {
	t.Helper()
	e := newEnvWith(t, opts, mutate...)
	u, err := url.Parse(e.ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	return &secWorld{t: t, e: e, rec: &transcript{host: u.Host}, secrets: []string{pw}}
}

// client is a browser or program whose answers are recorded.
func (w *secWorld) client() *client {
	c := w.e.client()
	c.http.Transport = recordingTransport{w.rec}
	return c
}

func (w *secWorld) login(email string) *client {
	w.t.Helper()
	c := w.client()
	c.login(email, pw)
	return c
}

// setup runs first-run setup; the operator owns tenant "Ops HQ".
func (w *secWorld) setup() *client {
	w.t.Helper()
	w.client().expect(201, "POST", "/api/v1/setup", map[string]string{"email": "op@ops.test", "password": pw, "name": "Olga Operator", "tenant_name": "Ops HQ"})
	return w.login("op@ops.test")
}

// tenant has the operator create an enterprise tenant; it returns the owner,
// signed in, and the tenant's id.
func (w *secWorld) tenant(op *client, name, email, owner string) (*client, string) {
	w.t.Helper()
	out := op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": name, "owner_email": email,
		"owner_name": owner, "owner_password": pw, "tier": "enterprise"})
	return w.login(email), out["tenant"].(map[string]any)["id"].(string)
}

// invite makes a new member of the inviter's tenant, signed in.
func (w *secWorld) invite(inviter *client, email, role string) *client {
	w.t.Helper()
	out := inviter.expect(201, "POST", "/api/v1/invitations", map[string]string{"email": email, "role": role})
	link := out["invite_url"].(string)
	w.client().expect(201, "POST", "/api/v1/invitations/"+link[strings.LastIndex(link, "/")+1:]+"/accept",
		map[string]string{"name": email, "password": pw})
	return w.login(email)
}

// token makes an API token of c's user and tenant: a client using it and
// the token's id.
func (w *secWorld) token(c *client, name string) (*client, string) {
	w.t.Helper()
	out := c.expect(201, "POST", "/api/v1/tokens", map[string]string{"name": name})
	b := w.client()
	b.token = out["token"].(string)
	return b, out["id"].(string)
}

// call sends a request straight to the handler as if from remote.
func (w *secWorld) call(method, path, remote string, h http.Header, body string) resp {
	w.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = remote
	for k, v := range h {
		req.Header[k] = v
	}
	if body != "" && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	w.e.srv.Handler().ServeHTTP(rec, req)
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	res.Request = req
	w.rec.add(exchange{method, path, res.StatusCode, res.Header.Clone(), b})
	return resp{res, b}
}

// raw sends any body with any media type as c, with extra headers.
func (w *secWorld) raw(c *client, method, path, ctype string, body io.Reader, extra http.Header) resp {
	w.t.Helper()
	req, err := http.NewRequest(method, w.e.ts.URL+path, body)
	if err != nil {
		w.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	for k, v := range extra {
		req.Header[k] = v
	}
	res, err := c.http.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res, b}
}

// webhook posts a delivery to /api/v1/webhooks/{svc} (stripe included).
func (w *secWorld) webhook(svc string, body []byte, h http.Header) resp {
	w.t.Helper()
	return w.raw(&client{http: &http.Client{Transport: recordingTransport{w.rec}}}, "POST", v1+"/webhooks/"+svc, "", bytes.NewReader(body), h)
}

// refusedAs reports whether r is the JSON error shape with status and code.
func refusedAs(r resp, status int, code string) bool {
	if r.StatusCode != status || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		return false
	}
	var e struct {
		Error *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(r.body, &e) != nil || e.Error == nil {
		return false
	}
	return e.Error.Code == code && e.Error.Message != ""
}

func jsonOf(r resp) map[string]any {
	var m map[string]any
	_ = json.Unmarshal(r.body, &m)
	return m
}

// checkLeaks asserts that no recorded answer and no log line of the env
// carries a secret: the stand-ins' OAuth tokens, the apps' client and
// signing secrets, the Stripe keys, passwords; API tokens and invitation
// links only in the answer that created them; session ids and CSRF tokens
// in no log line (and session ids in no body).
func (w *secWorld) checkLeaks() {
	t := w.t
	t.Helper()
	logs := w.e.logs.String()
	if !strings.Contains(logs, `"msg":"request"`) {
		t.Fatal("the env's log lines are not captured")
	}
	all := w.rec.all()
	if len(all) < 5 {
		t.Fatalf("only %d answers recorded", len(all))
	}
	full := func(x exchange) string {
		var b strings.Builder
		for k, vs := range x.header {
			b.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
		}
		b.Write(x.body)
		return b.String()
	}
	texts := make([]string, len(all))
	for i, x := range all {
		texts[i] = full(x)
	}
	never := map[string]string{}
	for _, s := range w.e.secrets() {
		never[s] = "an OAuth token issued by a stand-in"
	}
	for _, s := range []string{"slack-secret", "linear-secret", "github-secret"} {
		never[s] = "an OAuth app client secret"
	}
	never[slackSigningSecret], never[linearWebhookSecret], never[githubWebhookSecret] = "a signing secret", "a signing secret", "a signing secret"
	never[stripeKey], never[stripeWebhookSecret] = "the Stripe secret key", "the Stripe webhook secret"
	for _, s := range w.secrets {
		never[s] = "a password or secret of the test"
	}
	for s, what := range never {
		if s == "" {
			continue
		}
		for i, x := range all {
			if strings.Contains(texts[i], s) {
				t.Errorf("%s (%.6s…) in the answer to %s %s", what, s, x.method, x.uri)
			}
		}
		if strings.Contains(logs, s) {
			t.Errorf("%s (%.6s…) in the log", what, s)
		}
	}
	// Shown once: API tokens and invitation links, in the answer that made them.
	once := func(at int, s, what string) {
		if s == "" {
			t.Errorf("%s missing from its creation answer", what)
			return
		}
		for i, x := range all {
			if i != at && strings.Contains(texts[i], s) && !strings.Contains(x.uri, s) {
				t.Errorf("%s (%.8s…) shown again, in the answer to %s %s", what, s, x.method, x.uri)
			}
		}
		if strings.Contains(logs, s) {
			t.Errorf("%s (%.8s…) in the log", what, s)
		}
	}
	var sessions, csrfs []string
	for i, x := range all {
		switch {
		case x.method == "POST" && x.uri == v1+"/tokens" && x.status == 201:
			var out struct{ Token string }
			_ = json.Unmarshal(x.body, &out)
			once(i, out.Token, "an API token")
		case x.method == "POST" && x.uri == v1+"/invitations" && x.status == 201:
			var out struct {
				InviteURL string `json:"invite_url"`
			}
			_ = json.Unmarshal(x.body, &out)
			once(i, out.InviteURL[strings.LastIndex(out.InviteURL, "/")+1:], "an invitation secret")
		case x.method == "GET" && x.uri == v1+"/me" && x.status == 200:
			var out struct {
				CSRF string `json:"csrf_token"`
			}
			_ = json.Unmarshal(x.body, &out)
			if out.CSRF != "" {
				csrfs = append(csrfs, out.CSRF)
			}
		}
		for _, c := range (&http.Response{Header: x.header}).Cookies() {
			if c.Name == sessionCookie && c.Value != "" {
				sessions = append(sessions, c.Value)
			}
		}
	}
	if len(sessions) == 0 {
		t.Error("no session cookie recorded")
	}
	for _, s := range sessions {
		if strings.Contains(logs, s) {
			t.Errorf("a session id (%.6s…) in the log", s)
		}
		for _, x := range all {
			if bytes.Contains(x.body, []byte(s)) {
				t.Errorf("a session id (%.6s…) in the body of %s %s", s, x.method, x.uri)
			}
		}
	}
	for _, s := range csrfs {
		if strings.Contains(logs, s) {
			t.Errorf("a CSRF token (%.6s…) in the log", s)
		}
	}
}

// ---- 1. every route: who may call it ----

// secRole is the least a caller needs for a route.
type secRole int

const (
	rolePublic   secRole = iota // no credentials (their own checks apply)
	roleUser                    // anyone signed in
	roleMember                  // a member of the current tenant
	roleAdmin                   // an admin or owner
	roleOwner                   // an owner
	roleOperator                // the appliance's operator
)

// secRow describes one API route (method and mux template, as apiRoutes
// lists them) and a valid request to it about tenant A's objects.
type secRow struct {
	route string
	min   secRole
	path  string
	body  any
	// owned: the request names tenant A's objects (in the path or body), so
	// tenant B's callers must get 404.
	owned bool
	// ok is what an allowed caller gets for a GET (0: not tried).
	ok int
	// crossToken, when set, is what B's API token gets instead of 404.
	crossToken int
}

// alphaWorld is tenant A (Alphaville) with real objects, tenant B
// (Betamax), and the operator, with sessions and API tokens at every role.
type alphaWorld struct {
	*secWorld
	op, opTok                   *client
	alice, aliceTok             *client // A's owner
	adam, adamTok               *client // A's admin
	mia, miaTok                 *client // A's member
	bob, bobTok                 *client // B's owner
	alphaID                     string
	decision, item, itemExt     string
	job, standup, person        string
	tokenID, invitation, member string
	conn, workspace, bobDecided string
	cursor                      string
	config                      map[string]any
	// names are A's words that no answer to B may carry; ids A's ids.
	names, ids []string
}

func newAlphaWorld(t *testing.T) *alphaWorld {
	w := &alphaWorld{secWorld: newSecWorld(t, envOptions{stripe: true})}
	e := w.e
	w.op = w.setup()
	w.opTok, _ = w.token(w.op, "op-ci")
	w.alice, w.alphaID = w.tenant(w.op, "Alphaville Widgets", "alice@alpha.test", "Alice Alpha")
	w.bob, _ = w.tenant(w.op, "Betamax Gadgets", "bob@beta.test", "Bob Beta")
	w.adam = w.invite(w.alice, "adam@alpha.test", "admin")
	w.mia = w.invite(w.alice, "mia@alpha.test", "member")
	w.invite(w.alice, "max@alpha.test", "member")
	w.aliceTok, w.tokenID = w.token(w.alice, "alpha-deploy-token")
	w.adamTok, _ = w.token(w.adam, "alpha-admin-token")
	w.miaTok, _ = w.token(w.mia, "alpha-member-token")
	w.bobTok, _ = w.token(w.bob, "beta-token")

	for _, svc := range []string{"slack", "linear", "github"} {
		if r := e.connect(w.alice, svc); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/integrations?connected="+svc {
			t.Fatalf("connect %s: %d %s", svc, r.StatusCode, r.Header.Get("Location"))
		}
	}
	for _, c := range e.connections(w.alice) {
		w.ids = append(w.ids, c["id"].(string))
		w.names = append(w.names, c["workspace_id"].(string))
		if c["service"] == "slack" {
			w.conn, w.workspace = c["id"].(string), c["workspace_id"].(string)
		}
	}
	e.ingest(w.alice, "slack")
	e.ingest(w.alice, "github")
	items := w.alice.expect(200, "GET", v1+"/items?limit=1", nil)
	it := items["items"].([]any)[0].(map[string]any)
	w.item, w.itemExt, w.cursor = it["id"].(string), it["external_id"].(string), items["next_cursor"].(string)
	w.job = w.alice.expect(200, "GET", v1+"/jobs?limit=1", nil)["jobs"].([]any)[0].(map[string]any)["id"].(string)
	w.decision = w.alice.expect(201, "POST", v1+"/decision-logs", map[string]any{"title": "Zanzibar rollout goes ahead",
		"summary": "Alpha only: the Zanzibar rollout starts in December.", "status": "accepted", "tags": []string{"alpha-secret-tag"}})["id"].(string)
	w.standup = w.alice.expect(200, "POST", v1+"/workflows/standup", map[string]any{})["standup"].(map[string]any)["id"].(string)
	people := w.alice.expect(200, "GET", v1+"/people", nil)["people"].([]any)
	if len(people) == 0 {
		t.Fatal("no people after ingestion")
	}
	w.person = people[0].(map[string]any)["id"].(string)
	w.invitation = w.alice.expect(201, "POST", v1+"/invitations", map[string]string{"email": "invitee@alpha.test", "role": "member"})["id"].(string)
	for _, m := range w.alice.expect(200, "GET", v1+"/members", nil)["members"].([]any) {
		if mm := m.(map[string]any); mm["email"] == "max@alpha.test" {
			w.member = mm["user_id"].(string)
		}
	}
	w.config = w.alice.expect(200, "GET", v1+"/tenant/config", nil)
	w.bobDecided = w.bob.expect(201, "POST", v1+"/decision-logs", map[string]any{"title": "Betamax keeps its tapes", "status": "accepted"})["id"].(string)

	w.names = append(w.names, "Alphaville", "alice@alpha.test", "adam@alpha.test", "mia@alpha.test", "max@alpha.test",
		"invitee@alpha.test", "alpha-deploy-token", "alpha-admin-token", "alpha-member-token", "Zanzibar", "alpha-secret-tag", w.itemExt)
	w.ids = append(w.ids, w.alphaID, w.decision, w.item, w.job, w.standup, w.person, w.tokenID, w.invitation, w.member)
	return w
}

// rows is the table: one row per API route.
func (w *alphaWorld) rows() []secRow {
	return []secRow{
		// Public: their own credentials (signatures, invitation secrets) are tested elsewhere.
		{route: "POST /api/v1/setup", min: rolePublic},
		{route: "POST /api/v1/auth/signup", min: rolePublic},
		{route: "POST /api/v1/auth/login", min: rolePublic},
		{route: "POST /api/v1/invitations/{token}/accept", min: rolePublic},
		{route: "POST /api/v1/webhooks/{service}", min: rolePublic},
		{route: "POST /api/v1/webhooks/stripe", min: rolePublic},
		{route: "GET /api/v1/openapi.json", min: rolePublic, path: v1 + "/openapi.json", ok: 200},

		{route: "POST /api/v1/auth/logout", min: roleUser, path: v1 + "/auth/logout"},
		{route: "GET /api/v1/me", min: roleUser, path: v1 + "/me", ok: 200},
		{route: "POST /api/v1/me/tenant", min: roleUser, path: v1 + "/me/tenant", body: map[string]string{"tenant_id": w.alphaID}, owned: true, crossToken: 400},

		{route: "GET /api/v1/tokens", min: roleMember, path: v1 + "/tokens", ok: 200},
		{route: "POST /api/v1/tokens", min: roleMember, path: v1 + "/tokens", body: map[string]string{"name": "another"}},
		{route: "DELETE /api/v1/tokens/{id}", min: roleMember, path: v1 + "/tokens/" + w.tokenID, owned: true},

		{route: "GET /api/v1/tenant", min: roleMember, path: v1 + "/tenant", ok: 200},
		{route: "GET /api/v1/tenant/config", min: roleMember, path: v1 + "/tenant/config", ok: 200},
		{route: "PUT /api/v1/tenant/config", min: roleAdmin, path: v1 + "/tenant/config", body: w.config},
		{route: "GET /api/v1/audit", min: roleAdmin, path: v1 + "/audit", ok: 200},
		{route: "GET /api/v1/audit/export", min: roleAdmin, path: v1 + "/audit/export?format=json", ok: 200},

		{route: "GET /api/v1/members", min: roleMember, path: v1 + "/members", ok: 200},
		{route: "PATCH /api/v1/members/{user_id}", min: roleAdmin, path: v1 + "/members/" + w.member, body: map[string]string{"role": "admin"}, owned: true},
		// Members may leave; removing someone else needs an admin.
		{route: "DELETE /api/v1/members/{user_id}", min: roleAdmin, path: v1 + "/members/" + w.member, owned: true},
		{route: "GET /api/v1/invitations", min: roleAdmin, path: v1 + "/invitations", ok: 200},
		{route: "POST /api/v1/invitations", min: roleAdmin, path: v1 + "/invitations", body: map[string]string{"email": "new@alpha.test", "role": "member"}},
		{route: "DELETE /api/v1/invitations/{id}", min: roleAdmin, path: v1 + "/invitations/" + w.invitation, owned: true},

		{route: "GET /api/v1/oauth/{service}/authorize", min: roleAdmin, path: v1 + "/oauth/slack/authorize", ok: http.StatusFound},
		{route: "POST /api/v1/oauth/{service}/authorize", min: roleAdmin, path: v1 + "/oauth/slack/authorize"},
		{route: "GET /api/v1/oauth/{service}/callback", min: roleAdmin, path: v1 + "/oauth/slack/callback?code=x&state=forged", ok: 400},
		{route: "POST /api/v1/oauth/{service}/callback", min: roleAdmin, path: v1 + "/oauth/slack/callback", body: map[string]string{"code": "x", "state": "forged"}},
		{route: "GET /api/v1/integrations", min: roleMember, path: v1 + "/integrations", ok: 200},
		{route: "GET /api/v1/integrations/apps", min: roleMember, path: v1 + "/integrations/apps", ok: 200},
		{route: "GET /api/v1/integrations/{service}/status", min: roleMember, path: v1 + "/integrations/slack/status", ok: 200},
		{route: "PUT /api/v1/integrations/{service}/app", min: roleOwner, path: v1 + "/integrations/slack/app",
			body: map[string]string{"client_id": "alpha-own-app", "client_secret": "alpha-own-app-secret", "signing_secret": "alpha-own-signing"}},
		{route: "DELETE /api/v1/integrations/{service}/app", min: roleOwner, path: v1 + "/integrations/slack/app"},
		{route: "POST /api/v1/integrations/{id}/refresh", min: roleAdmin, path: v1 + "/integrations/" + w.conn + "/refresh", owned: true},
		{route: "DELETE /api/v1/integrations/{id}", min: roleAdmin, path: v1 + "/integrations/" + w.conn + "?purge=true", owned: true},

		{route: "POST /api/v1/ingestion/{service}", min: roleMember, path: v1 + "/ingestion/slack", body: map[string]string{"connection_id": w.conn}, owned: true},
		{route: "GET /api/v1/jobs", min: roleMember, path: v1 + "/jobs", ok: 200},
		{route: "GET /api/v1/jobs/{id}", min: roleMember, path: v1 + "/jobs/" + w.job, owned: true, ok: 200},
		{route: "GET /api/v1/items", min: roleMember, path: v1 + "/items", ok: 200},
		{route: "GET /api/v1/items/{id}", min: roleMember, path: v1 + "/items/" + w.item, owned: true, ok: 200},
		{route: "GET /api/v1/search", min: roleMember, path: v1 + "/search?q=Zanzibar", ok: 200},

		{route: "GET /api/v1/decision-logs", min: roleMember, path: v1 + "/decision-logs", ok: 200},
		{route: "POST /api/v1/decision-logs", min: roleMember, path: v1 + "/decision-logs", body: map[string]string{"title": "Forged decision", "status": "accepted"}},
		{route: "GET /api/v1/decision-logs/export", min: roleMember, path: v1 + "/decision-logs/export?format=json", ok: 200},
		{route: "GET /api/v1/decision-logs/{id}", min: roleMember, path: v1 + "/decision-logs/" + w.decision, owned: true, ok: 200},
		{route: "PATCH /api/v1/decision-logs/{id}", min: roleMember, path: v1 + "/decision-logs/" + w.decision, body: map[string]string{"title": "Hijacked"}, owned: true},
		{route: "DELETE /api/v1/decision-logs/{id}", min: roleMember, path: v1 + "/decision-logs/" + w.decision, owned: true},

		{route: "POST /api/v1/workflows/standup", min: roleMember, path: v1 + "/workflows/standup", body: map[string]any{}},
		{route: "GET /api/v1/standups", min: roleMember, path: v1 + "/standups", ok: 200},
		{route: "GET /api/v1/standups/{id}", min: roleMember, path: v1 + "/standups/" + w.standup, owned: true, ok: 200},
		{route: "POST /api/v1/standups/{id}/deliver", min: roleMember, path: v1 + "/standups/" + w.standup + "/deliver", owned: true},
		{route: "GET /api/v1/people", min: roleMember, path: v1 + "/people", ok: 200},
		{route: "POST /api/v1/people/{id}/link", min: roleAdmin, path: v1 + "/people/" + w.person + "/link",
			body: map[string]string{"service": "slack", "external_id": "U0FORGED01"}, owned: true},
		{route: "POST /api/v1/people/{id}/unlink", min: roleAdmin, path: v1 + "/people/" + w.person + "/unlink",
			body: map[string]string{"service": "slack", "external_id": "U0FORGED01"}, owned: true},

		{route: "GET /api/v1/billing", min: roleMember, path: v1 + "/billing", ok: 200},
		{route: "POST /api/v1/billing/checkout", min: roleOwner, path: v1 + "/billing/checkout", body: map[string]string{"tier": "pro"}},
		{route: "POST /api/v1/billing/portal", min: roleOwner, path: v1 + "/billing/portal"},

		{route: "GET /api/v1/admin/tenants", min: roleOperator, path: v1 + "/admin/tenants", ok: 200},
		{route: "POST /api/v1/admin/tenants", min: roleOperator, path: v1 + "/admin/tenants",
			body: map[string]string{"name": "Forged", "owner_email": "forged@evil.test", "owner_name": "F", "owner_password": pw}},
		{route: "PATCH /api/v1/admin/tenants/{id}", min: roleOperator, path: v1 + "/admin/tenants/" + w.alphaID, body: map[string]any{"suspended": true}},
		{route: "GET /api/v1/admin/jobs", min: roleOperator, path: v1 + "/admin/jobs", ok: 200},
		{route: "GET /api/v1/admin/system", min: roleOperator, path: v1 + "/admin/system", ok: 200},
		{route: "GET /api/v1/admin/backup", min: roleOperator, path: v1 + "/admin/backup", ok: 200},
		{route: "GET /api/v1/admin/backups", min: roleOperator, path: v1 + "/admin/backups", ok: 200},
		{route: "POST /api/v1/admin/backups", min: roleOperator, path: v1 + "/admin/backups"},
		{route: "POST /api/v1/admin/compact", min: roleOperator, path: v1 + "/admin/compact"},
		{route: "POST /api/v1/admin/reindex", min: roleOperator, path: v1 + "/admin/reindex"},
	}
}

type namedClient struct {
	name string
	c    *client
}

// lacksAlpha reports A's words (and with ids, A's ids) found in r.
func (w *alphaWorld) lacksAlpha(r resp, ids bool) []string {
	var found []string
	check := append([]string(nil), w.names...)
	if ids {
		check = append(check, w.ids...)
	}
	for _, s := range check {
		if strings.Contains(string(r.body), s) || strings.Contains(r.Header.Get("Location"), s) {
			found = append(found, s)
		}
	}
	return found
}

func TestSecurityEveryRouteRefusesWhoItMust(t *testing.T) {
	w := newAlphaWorld(t)
	e := w.e
	rows := w.rows()

	// The table covers the router exactly: a new route needs a row.
	byRoute := map[string]secRow{}
	for _, r := range rows {
		if _, dup := byRoute[r.route]; dup {
			t.Errorf("two rows for %s", r.route)
		}
		byRoute[r.route] = r
	}
	routed := apiRoutes(t, e.srv)
	for _, rt := range routed {
		if _, ok := byRoute[rt]; !ok {
			t.Errorf("route %s has no row in the security table (server/security_test.go)", rt)
		}
	}
	for _, r := range rows {
		if !slices.Contains(routed, r.route) {
			t.Errorf("row %s names no route", r.route)
		}
	}
	t.Logf("security table: %d rows for %d routed API endpoints", len(rows), len(routed))

	forgedCookie := w.client()
	u, _ := url.Parse(e.ts.URL)
	forgedCookie.http.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: randomToken(32), Path: "/"}})
	forgedBearer := w.client()
	forgedBearer.token = pmassist.APITokenPrefix + randomToken(32)
	anonymous := []namedClient{{"no credentials", w.client()}, {"forged session cookie", forgedCookie}, {"forged API token", forgedBearer}}
	below := map[secRole][]namedClient{
		roleAdmin:    {{"member session", w.mia}, {"member token", w.miaTok}},
		roleOwner:    {{"member session", w.mia}, {"member token", w.miaTok}, {"admin session", w.adam}, {"admin token", w.adamTok}},
		roleOperator: {{"owner session", w.alice}, {"owner token", w.aliceTok}, {"admin session", w.adam}, {"member token", w.miaTok}, {"other tenant's owner", w.bob}},
	}

	for _, row := range rows {
		if row.min == rolePublic || row.path == "" {
			continue
		}
		method, _, _ := strings.Cut(row.route, " ")
		browser := method == "GET" && strings.HasPrefix(row.path, v1+"/oauth/")
		name := row.route

		// (a) No (valid) credentials: 401, or the login page for the
		// browser's OAuth flow.
		e.clock.Add(2 * time.Second) // keeps the per-address budget of anonymous requests
		for _, a := range anonymous {
			r := a.c.do(method, row.path, row.body)
			if browser {
				if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login?next=") {
					t.Errorf("%s, %s: %d %q", name, a.name, r.StatusCode, r.Header.Get("Location"))
				}
			} else if !refusedAs(r, 401, "unauthorized") {
				t.Errorf("%s, %s: %d %s", name, a.name, r.StatusCode, r.body)
			}
		}

		// (b) A session cookie without its CSRF token, or with another
		// session's, changes nothing.
		actor := w.alice
		if row.min == roleOperator {
			actor = w.op
		}
		if !safeMethod(method) {
			for what, tok := range map[string]string{"no CSRF token": "", "another session's CSRF token": w.bob.csrf} {
				c := *actor
				c.csrf = tok
				if r := c.do(method, row.path, row.body); !refusedAs(r, 403, "forbidden") || !strings.Contains(string(r.body), "CSRF") {
					t.Errorf("%s, %s: %d %s", name, what, r.StatusCode, r.body)
				}
			}
		}

		// (c) Below the route's role: 403 (the operator's routes refuse
		// even tenant owners).
		for _, b := range below[row.min] {
			r := b.c.do(method, row.path, row.body)
			if r.StatusCode != 403 || (!browser && !refusedAs(r, 403, "forbidden")) {
				t.Errorf("%s, %s: %d %s", name, b.name, r.StatusCode, r.body)
			}
		}

		// (d) Tenant B naming A's objects: 404, and nothing of A in the
		// answer; B's own reads carry nothing of A either.
		if row.min != roleOperator {
			for _, b := range []namedClient{{"other tenant's session", w.bob}, {"other tenant's token", w.bobTok}} {
				switch {
				case row.owned:
					r := b.c.do(method, row.path, row.body)
					want := 404
					if b.c.token != "" && row.crossToken != 0 {
						want = row.crossToken
					}
					if r.StatusCode != want || (want == 404 && !refusedAs(r, 404, "not_found")) {
						t.Errorf("%s, %s with A's ids: %d %s", name, b.name, r.StatusCode, r.body)
					}
					if found := w.lacksAlpha(r, false); len(found) > 0 {
						t.Errorf("%s, %s: the answer carries A's %q", name, b.name, found)
					}
				case method == "GET":
					r := b.c.do(method, row.path, nil)
					if r.StatusCode >= 500 || r.StatusCode == 401 || r.StatusCode == 403 {
						t.Errorf("%s, %s reading its own tenant: %d %s", name, b.name, r.StatusCode, r.body)
					}
					if found := w.lacksAlpha(r, true); len(found) > 0 {
						t.Errorf("%s, %s: the answer carries A's %q", name, b.name, found)
					}
				}
			}
		}

		// The allowed caller gets its answer (GET only: the objects stay).
		if row.ok != 0 {
			allowed := []namedClient{{"owner session", w.alice}, {"owner token", w.aliceTok}}
			if row.min == roleOperator {
				allowed = []namedClient{{"operator session", w.op}, {"operator token", w.opTok}}
			}
			for _, a := range allowed {
				r := a.c.do(method, row.path, nil)
				if r.StatusCode != row.ok {
					t.Errorf("%s, %s: %d, want %d: %.300s", name, a.name, r.StatusCode, row.ok, r.body)
				}
				// Private answers are not kept by caches on the way.
				if r.StatusCode == 200 && !strings.Contains(r.Header.Get("Cache-Control"), "no-store") {
					t.Errorf("%s, %s: Cache-Control %q", name, a.name, r.Header.Get("Cache-Control"))
				}
			}
		}
	}

	// Within A, a token is its user's: another member cannot revoke it.
	for _, c := range []*client{w.mia, w.adamTok} {
		if r := c.do("DELETE", v1+"/tokens/"+w.tokenID, nil); !refusedAs(r, 404, "not_found") {
			t.Errorf("another member revokes A's owner's token: %d %s", r.StatusCode, r.body)
		}
	}
	// Ids in bodies and cursors of A do not reach A's objects either.
	if r := w.bob.do("PATCH", v1+"/decision-logs/"+w.bobDecided, map[string]string{"superseded_by": w.decision, "status": "superseded"}); !refusedAs(r, 404, "not_found") {
		t.Errorf("B supersedes its decision by A's: %d %s", r.StatusCode, r.body)
	}
	for _, p := range []string{"/items?limit=5&cursor=", "/jobs?limit=5&cursor=", "/decision-logs?limit=5&cursor=", "/standups?limit=5&cursor=", "/audit?limit=5&cursor="} {
		r := w.bobTok.do("GET", v1+p+url.QueryEscape(w.cursor), nil)
		if found := w.lacksAlpha(r, true); len(found) > 0 || r.StatusCode >= 500 {
			t.Errorf("B pages with A's cursor %s: %d, carries %q", p, r.StatusCode, found)
		}
	}
	// The operator's job list carries no item data.
	if r := w.op.do("GET", v1+"/admin/jobs", nil); strings.Contains(string(r.body), w.itemExt) {
		t.Errorf("admin jobs carry item data: %s", r.body)
	}

	// Pages behave alike: B's browser cannot read or change A's objects.
	for _, p := range []string{"/decisions/" + w.decision, "/standups/" + w.standup} {
		r := w.bob.do("GET", p, nil)
		if r.StatusCode != 404 || len(w.lacksAlpha(r, false)) > 0 {
			t.Errorf("B's page %s: %d %q", p, r.StatusCode, w.lacksAlpha(r, false))
		}
	}
	jobsBefore := len(w.alice.expect(200, "GET", v1+"/jobs?limit=200", nil)["jobs"].([]any))
	for _, p := range []string{"/decisions/" + w.decision + "/delete", "/decisions/" + w.decision, "/decisions/" + w.decision + "/status",
		"/integrations/" + w.conn + "/run", "/integrations/" + w.conn + "/disconnect", "/integrations/" + w.conn + "/refresh",
		"/members/" + w.member + "/remove", "/members/" + w.member + "/role", "/tokens/" + w.tokenID + "/revoke",
		"/invitations/" + w.invitation + "/revoke", "/people/" + w.person + "/link", "/standups/" + w.standup + "/deliver"} {
		f := url.Values{"csrf_token": {w.bob.csrf}, "title": {"Hijacked"}, "status": {"rejected"}, "role": {"owner"},
			"service": {"slack"}, "external_id": {"U0FORGED01"}}
		r := w.raw(w.bob, "POST", p, "application/x-www-form-urlencoded", strings.NewReader(f.Encode()), nil)
		if r.StatusCode < 300 || r.StatusCode >= 500 || len(w.lacksAlpha(r, false)) > 0 {
			t.Errorf("B's form POST %s: %d %q", p, r.StatusCode, w.lacksAlpha(r, false))
		}
	}
	if n := len(w.alice.expect(200, "GET", v1+"/jobs?limit=200", nil)["jobs"].([]any)); n != jobsBefore {
		t.Errorf("B's form started a job of A: %d jobs, %d before", n, jobsBefore)
	}

	w.checkAlphaIntact()
	w.secretTour()
	w.checkLeaks()
}

// checkAlphaIntact asserts that none of the refused requests changed A's
// objects (or created anything in B).
func (w *alphaWorld) checkAlphaIntact() {
	t, a := w.t, w.alice
	t.Helper()
	if d := a.expect(200, "GET", v1+"/decision-logs/"+w.decision, nil); d["title"] != "Zanzibar rollout goes ahead" || d["status"] != "accepted" {
		t.Errorf("A's decision changed: %v", d)
	}
	a.expect(200, "GET", v1+"/standups/"+w.standup, nil)
	if it := a.expect(200, "GET", v1+"/items/"+w.item, nil); it["deleted"] == true {
		t.Errorf("A's item deleted: %v", it)
	}
	a.expect(200, "GET", v1+"/jobs/"+w.job, nil)
	has := func(path, key, field, want string) {
		t.Helper()
		for _, x := range a.expect(200, "GET", path, nil)[key].([]any) {
			if x.(map[string]any)[field] == want {
				return
			}
		}
		t.Errorf("A's %s lacks %s", path, want)
	}
	has(v1+"/tokens", "tokens", "id", w.tokenID)
	has(v1+"/invitations", "invitations", "id", w.invitation)
	has(v1+"/integrations", "connections", "id", w.conn)
	has(v1+"/people", "people", "id", w.person)
	for _, m := range a.expect(200, "GET", v1+"/members", nil)["members"].([]any) {
		if mm := m.(map[string]any); mm["user_id"] == w.member && mm["role"] != "member" {
			t.Errorf("A's member's role changed: %v", mm)
		}
	}
	has(v1+"/members", "members", "user_id", w.member)
	if n := len(a.expect(200, "GET", v1+"/decision-logs", nil)["decision_logs"].([]any)); n < 1 {
		t.Errorf("A's decisions: %d", n)
	}
	for _, d := range a.expect(200, "GET", v1+"/decision-logs?limit=200", nil)["decision_logs"].([]any) {
		if d.(map[string]any)["title"] == "Forged decision" {
			t.Error("a refused caller created a decision in A")
		}
	}
	ten := a.expect(200, "GET", v1+"/tenant", nil)
	if ten["suspended"] != false || ten["tier"] != "enterprise" {
		t.Errorf("A's tenant changed: %v", ten)
	}
	if got := a.expect(200, "GET", v1+"/tenant/config", nil); fmt.Sprint(got) != fmt.Sprint(w.config) {
		t.Errorf("A's config changed: %v", got)
	}
	for _, app := range a.expect(200, "GET", v1+"/integrations/apps", nil)["apps"].([]any) {
		if app.(map[string]any)["configured"] == true {
			t.Errorf("a refused caller stored an own app: %v", app)
		}
	}
	for _, ev := range a.expect(200, "GET", v1+"/audit?limit=200", nil)["events"].([]any) {
		if act := ev.(map[string]any)["action"]; act == pmassist.AuditMemberRemoved || act == pmassist.AuditConnectionDeleted ||
			act == pmassist.AuditDecisionDeleted || act == pmassist.AuditTokenRevoked || act == pmassist.AuditInvitationRevoked {
			t.Errorf("a refused request left %v in A's audit log", act)
		}
	}
	for _, c := range []string{"/items", "/jobs", "/standups", "/people"} {
		out := w.bob.expect(200, "GET", v1+c, nil)
		for k, v := range out {
			if l, ok := v.([]any); ok && len(l) != 0 {
				t.Errorf("B has %d %s: %v", len(l), k, l[0])
			}
		}
	}
	if n := len(w.op.expect(200, "GET", v1+"/admin/tenants", nil)["tenants"].([]any)); n != 3 {
		t.Errorf("%d tenants, want 3", n)
	}
}

// secretTour makes the requests most likely to leak a secret: a token
// refresh, a disconnect (revocation at the provider), refused webhooks and
// logins, error pages.
func (w *alphaWorld) secretTour() {
	e, a := w.e, w.alice
	a.expect(200, "POST", v1+"/integrations/"+w.conn+"/refresh", nil)
	for _, p := range []string{"/", "/integrations", "/members", "/tokens", "/settings", "/jobs", "/decisions", "/standups", "/people", "/billing", "/audit"} {
		if r := a.do("GET", p, nil); r.StatusCode != 200 {
			w.t.Errorf("page %s: %d", p, r.StatusCode)
		}
	}
	for _, p := range []string{"/operator", "/operator/tenants", "/operator/jobs", "/operator/backups"} {
		w.op.do("GET", p, nil)
	}
	w.secrets = append(w.secrets, "tour-wrong-password-77")
	w.call("POST", v1+"/auth/login", "192.0.2.77:1", nil, `{"email":"alice@alpha.test","password":"tour-wrong-password-77"}`)
	body := []byte(`{"type":"event_callback","team_id":"` + w.workspace + `","event_id":"EvTOUR","event":{"type":"message"}}`)
	w.webhook("slack", body, e.slack.SignEvent("wrong-secret", body, e.clock.Now()))
	w.webhook("github", body, e.github.SignWebhook("wrong-secret", body, "pull_request", "tour-1"))
	w.webhook("linear", body, e.linear.SignWebhook("wrong-secret", body))
	w.webhook("stripe", body, http.Header{"Stripe-Signature": {"t=1,v1=00"}})
	for _, c := range e.connections(a) {
		if c["service"] == "linear" {
			a.expect(204, "DELETE", v1+"/integrations/"+c["id"].(string), nil)
		}
	}
	e.slack.RevokeAll()
	a.do("POST", v1+"/integrations/"+w.conn+"/refresh", nil) // a refused refresh: its error is shown, not the token
	a.do("GET", "/integrations", nil)
	if len(e.secrets()) < 6 {
		w.t.Fatalf("the stand-ins issued only %d secrets", len(e.secrets()))
	}
}

// ---- 2. open redirects ----

// onSite reports whether a browser at http://pm.test/login that follows
// loc stays on pm.test. Browsers drop tabs and newlines from URLs and read
// a backslash as a slash.
func onSite(loc string) bool {
	if !strings.HasPrefix(loc, "/") {
		return false
	}
	clean := strings.NewReplacer("\t", "", "\r", "", "\n", "", "\\", "/").Replace(loc)
	ref, err := url.Parse(clean)
	if err != nil {
		return false
	}
	base, _ := url.Parse("http://pm.test/login")
	got := base.ResolveReference(ref)
	return got.Scheme == "http" && got.Host == "pm.test" && got.User == nil
}

var hiddenNextRe = regexp.MustCompile(`name="next" value="([^"]*)"`)

func TestSecurityNoOpenRedirects(t *testing.T) {
	w := newSecWorld(t, envOptions{})
	e := w.e
	op := w.setup()
	// next as the decoded value, and raw query strings.
	nexts := []string{"https://evil.example", "//evil.example", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
		"///evil.example", "/.//evil.example", "/./..//evil.example", "https:evil.example", "/\t/evil.example", " //evil.example",
		"//evil.example/%2F..", "/%2F%2Fevil.example", "/%5Cevil.example", "http://pm.test@evil.example", "//pm.test@evil.example",
		"data:text/html,<script>alert(1)</script>", "/\r\nLocation: https://evil.example", "ftp://evil.example", "/members"}
	var queries []string
	for _, n := range nexts {
		queries = append(queries, url.QueryEscape(n))
	}
	queries = append(queries, "%2F%2Fevil.example", "%2F%5Cevil.example", "https%3A%2F%2Fevil.example", "%09%2F%2Fevil.example",
		"/%2F%2Fevil.example", "//evil.example", "/%09/evil.example", "%252F%252Fevil.example", "%E3%80%82evil.example")
	for _, q := range queries {
		e.clock.Add(2 * time.Second) // the anonymous per-address budget
		b := w.client()
		r := b.do("GET", "/login?next="+q, nil)
		m := hiddenNextRe.FindSubmatch(r.body)
		if r.StatusCode != 200 || m == nil {
			t.Errorf("login page with next=%s: %d", q, r.StatusCode)
			continue
		}
		rendered := html.UnescapeString(string(m[1]))
		if !onSite(rendered) {
			t.Errorf("login page with next=%s renders next=%q", q, rendered)
		}
		raw, _ := url.QueryUnescape(q)
		for _, posted := range []string{rendered, raw} {
			c := w.client()
			tok := csrfField(t, c.do("GET", "/login", nil))
			f := url.Values{"csrf_token": {tok}, "email": {"op@ops.test"}, "password": {pw}, "next": {posted}}
			res := w.raw(c, "POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(f.Encode()), nil)
			if res.StatusCode != http.StatusSeeOther || !onSite(res.Header.Get("Location")) {
				t.Errorf("sign-in with next=%q: %d to %q", posted, res.StatusCode, res.Header.Get("Location"))
			}
			// Already signed in, the login page sends one on, on site.
			if res := c.do("GET", "/login?next="+q, nil); res.StatusCode != http.StatusSeeOther || !onSite(res.Header.Get("Location")) {
				t.Errorf("signed in, /login?next=%s: %d to %q", q, res.StatusCode, res.Header.Get("Location"))
			}
		}
	}
	// The login page anonymous callers are sent to keeps them on site.
	for _, p := range []string{"/decisions", "/%2F%2Fevil.example", "/api/v1/oauth/slack/authorize?next=https://evil.example"} {
		r := w.client().do("GET", p, nil)
		if loc := r.Header.Get("Location"); r.StatusCode == http.StatusSeeOther && !onSite(loc) {
			t.Errorf("anonymous %s sent to %q", p, loc)
		}
	}

	// Decision status changes go back to the referring page, on site only.
	d := op.expect(201, "POST", v1+"/decision-logs", map[string]string{"title": "Redirect test", "status": "proposed"})["id"].(string)
	for _, ref := range []string{"https://evil.example/decisions", "http://pm.test/decisions/..//evil.example", "http://pm.test/decisions%2F..%2F%2Fevil.example",
		"http://pm.test//evil.example/decisions", "http://pm.test/decisions/%5C%5Cevil.example", "http://pm.test/decisions/../\\evil.example"} {
		f := url.Values{"csrf_token": {op.csrf}, "status": {"accepted"}}
		r := w.raw(op, "POST", "/decisions/"+d+"/status", "application/x-www-form-urlencoded", strings.NewReader(f.Encode()), http.Header{"Referer": {ref}})
		if r.StatusCode != http.StatusSeeOther || !onSite(r.Header.Get("Location")) {
			t.Errorf("status change with Referer %q: %d to %q", ref, r.StatusCode, r.Header.Get("Location"))
		}
	}

	// OAuth: the authorize redirect goes to the provider's configured URL
	// with the appliance's own callback, whatever the request adds.
	evilParams := "?next=https://evil.example&return=https://evil.example&return_to=//evil.example&redirect_uri=https://evil.example/cb&redirect=https://evil.example&state=attacker"
	for _, svc := range []string{"slack", "linear", "github"} {
		base := op.do("GET", v1+"/oauth/"+svc+"/authorize", nil)
		want, err := url.Parse(base.Header.Get("Location"))
		if base.StatusCode != http.StatusFound || err != nil || want.Host == "" || want.Host == "pm.test" {
			t.Fatalf("%s authorize: %d %q", svc, base.StatusCode, base.Header.Get("Location"))
		}
		callback := "http://pm.test/api/v1/oauth/" + svc + "/callback"
		if got := want.Query().Get("redirect_uri"); got != callback {
			t.Errorf("%s redirect_uri %q, want %q", svc, got, callback)
		}
		for _, variant := range []struct {
			name string
			loc  func() string
		}{
			{"browser", func() string {
				return op.do("GET", v1+"/oauth/"+svc+"/authorize"+evilParams, nil).Header.Get("Location")
			}},
			{"API", func() string {
				out, _ := jsonOf(op.do("POST", v1+"/oauth/"+svc+"/authorize"+evilParams, nil))["url"].(string)
				return out
			}},
		} {
			loc := variant.loc()
			got, err := url.Parse(loc)
			if err != nil || got.Scheme != want.Scheme || got.Host != want.Host || got.Path != want.Path ||
				got.Query().Get("redirect_uri") != callback || strings.Contains(loc, "evil.example") || got.Query().Get("state") == "attacker" {
				t.Errorf("%s %s authorize with redirect parameters: %q", svc, variant.name, loc)
			}
		}
		if r := op.do("POST", v1+"/oauth/"+svc+"/authorize", map[string]string{"redirect_uri": "https://evil.example/cb"}); !refusedAs(r, 400, "invalid") {
			t.Errorf("%s API authorize with a redirect_uri: %d %s", svc, r.StatusCode, r.body)
		}
	}

	// The callback only ever sends the browser to a page of the appliance.
	start := func(c *client, svc string) url.Values {
		r := c.do("GET", v1+"/oauth/"+svc+"/authorize", nil)
		res, err := c.http.Get(r.Header.Get("Location"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		back, _ := url.Parse(res.Header.Get("Location"))
		return back.Query()
	}
	q := start(op, "slack")
	for k, v := range map[string]string{"next": "https://evil.example", "return": "//evil.example", "redirect_uri": "https://evil.example", "return_to": "/\\evil.example"} {
		q.Set(k, v)
	}
	if r := op.do("GET", v1+"/oauth/slack/callback?"+q.Encode(), nil); r.StatusCode != http.StatusFound || r.Header.Get("Location") != "/integrations?connected=slack" {
		t.Errorf("callback with redirect parameters: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	bob, _ := w.tenant(op, "Betamax Gadgets", "bob@beta.test", "Bob Beta")
	tampered := start(op, "github")
	st := tampered.Get("state")
	flip := "A"
	if strings.HasSuffix(st, "A") {
		flip = "B"
	}
	tampered.Set("state", st[:len(st)-1]+flip)
	tampered.Set("next", "https://evil.example")
	foreign := start(op, "github")
	foreign.Set("next", "https://evil.example")
	denied := start(op, "linear")
	denied.Del("code")
	denied.Set("error", "https://evil.example")
	denied.Set("error_description", "//evil.example")
	for _, cb := range []struct {
		name, svc string
		c         *client
		q         url.Values
		status    int
	}{
		{"tampered state", "github", op, tampered, 400},
		{"another tenant's state", "github", bob, foreign, 400},
		{"provider error", "linear", op, denied, http.StatusFound},
	} {
		r := cb.c.do("GET", v1+"/oauth/"+cb.svc+"/callback?"+cb.q.Encode(), nil)
		loc := r.Header.Get("Location")
		if r.StatusCode != cb.status || (loc != "" && (!onSite(loc) || !strings.HasPrefix(loc, "/integrations?"))) {
			t.Errorf("callback, %s: %d %q", cb.name, r.StatusCode, loc)
		}
	}
	// A flow started in one tenant does not finish in another one the
	// same person switched to meanwhile.
	inv := bob.expect(201, "POST", v1+"/invitations", map[string]string{"email": "op@ops.test", "role": "admin"})["invite_url"].(string)
	w.client().expect(201, "POST", v1+"/invitations/"+inv[strings.LastIndex(inv, "/")+1:]+"/accept", map[string]string{"password": pw})
	opsID := op.expect(200, "GET", v1+"/tenant", nil)["id"].(string)
	q = start(op, "github")
	betaID := bob.expect(200, "GET", v1+"/tenant", nil)["id"].(string)
	op.expect(200, "POST", v1+"/me/tenant", map[string]string{"tenant_id": betaID})
	if r := op.do("GET", v1+"/oauth/github/callback?"+q.Encode(), nil); r.StatusCode != 400 {
		t.Errorf("callback after switching tenants: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	op.expect(200, "POST", v1+"/me/tenant", map[string]string{"tenant_id": opsID})
	for _, c := range []*client{op, bob} {
		for _, conn := range e.connections(c) {
			if conn["service"] != "slack" {
				t.Errorf("a refused callback stored a connection: %v", conn)
			}
		}
	}
	w.checkLeaks()
}

// ---- 3. webhook forgeries ----

// signed is a delivery: its body and headers.
type signed struct {
	body []byte
	h    http.Header
}

// forgery describes one webhook sender for the forgery table.
type forgery struct {
	service string
	// fresh is a new delivery correctly signed now, which changes state.
	fresh func() signed
	// wrongSecret signs a body with another secret, as fresh would.
	wrongSecret func(body []byte) http.Header
	sigHeader   string // the signature header
	tamper      func(body []byte) []byte
	// stale makes a correctly signed delivery older than the tolerance
	// (nil: the provider signs no time; replays are caught by delivery id).
	stale func() signed
	// state is what applied deliveries change.
	state func() string
	// dupFlag: the answer to a repeated delivery says "duplicate".
	dupFlag bool
}

func (w *secWorld) checkForgeries(f forgery) {
	t := w.t
	t.Helper()
	before := f.state()
	refused := func(what string, d signed) {
		t.Helper()
		if r := w.webhook(f.service, d.body, d.h); !refusedAs(r, 401, "unauthorized") {
			t.Errorf("%s, %s: %d %s", f.service, what, r.StatusCode, r.body)
		}
		if got := f.state(); got != before {
			t.Errorf("%s, %s: applied (%s, was %s)", f.service, what, got, before)
		}
	}
	d := f.fresh()
	without := d.h.Clone()
	without.Del(f.sigHeader)
	refused("no signature", signed{d.body, without})
	garbage := d.h.Clone()
	garbage.Set(f.sigHeader, "v0=00")
	refused("garbage signature", signed{d.body, garbage})
	refused("wrong secret", signed{d.body, f.wrongSecret(d.body)})
	refused("body tampered after signing", signed{f.tamper(d.body), d.h})
	refused("empty body", signed{nil, d.h})

	// The genuine delivery is applied, once however often it comes.
	r := w.webhook(f.service, d.body, d.h)
	if r.StatusCode != 200 {
		t.Fatalf("%s genuine delivery: %d %s", f.service, r.StatusCode, r.body)
	}
	applied := f.state()
	if applied == before {
		t.Fatalf("%s genuine delivery changed nothing (%s)", f.service, applied)
	}
	for i := 0; i < 2; i++ {
		r := w.webhook(f.service, d.body, d.h)
		if r.StatusCode != 200 || (f.dupFlag && jsonOf(r)["duplicate"] != true) {
			t.Errorf("%s replayed delivery: %d %s", f.service, r.StatusCode, r.body)
		}
		if got := f.state(); got != applied {
			t.Errorf("%s replayed delivery applied again: %s, was %s", f.service, got, applied)
		}
	}
	if f.stale != nil {
		before = applied
		refused("stale timestamp", f.stale())
	}
}

func TestSecurityWebhookForgeriesAreRefused(t *testing.T) {
	t.Run("providers", func(t *testing.T) {
		w := newSecWorld(t, envOptions{})
		e := w.e
		op := w.setup()
		for _, svc := range []string{"slack", "linear", "github"} {
			e.connect(op, svc)
		}
		e.ingest(op, "github") // GitHub deliveries go to connections that read the repository
		state := func() string {
			jobs := 0
			for _, j := range op.expect(200, "GET", v1+"/jobs?limit=200", nil)["jobs"].([]any) {
				if j.(map[string]any)["trigger"] == pmassist.TriggerWebhook {
					jobs++
				}
			}
			return fmt.Sprintf("%d items, %d webhook jobs", len(e.itemIDs(op, "")), jobs)
		}
		channel, user := e.slack.Data().Channels[0].ID, e.slack.Data().Users[0].ID
		n := 0
		slackMessage := func() []byte {
			n++
			m, err := e.slack.AddMessage(channel, fake.SlackMessage{User: user, Text: fmt.Sprintf("Security suite message %d", n)})
			if err != nil {
				t.Fatal(err)
			}
			return e.slack.MessageEvent(channel, m)
		}
		issue := e.linear.Issues()[0]
		pulls := e.github.Pulls("acme/api")
		deliveries := 0
		w.secrets = append(w.secrets, "wrong-secret")
		for _, f := range []forgery{
			{service: "slack", sigHeader: "X-Slack-Signature", dupFlag: true, state: state,
				fresh: func() signed {
					b := slackMessage()
					return signed{b, e.slack.SignEvent(slackSigningSecret, b, e.clock.Now())}
				},
				wrongSecret: func(b []byte) http.Header { return e.slack.SignEvent("wrong-secret", b, e.clock.Now()) },
				tamper: func(b []byte) []byte {
					return bytes.Replace(b, []byte("Security suite message"), []byte("Wire the money, message"), 1)
				},
				stale: func() signed {
					b := slackMessage()
					return signed{b, e.slack.SignEvent(slackSigningSecret, b, e.clock.Now().Add(-slackSkew()))}
				}},
			{service: "linear", sigHeader: "Linear-Signature", dupFlag: true, state: state,
				fresh: func() signed {
					b := e.linear.IssueWebhook("update", issue)
					return signed{b, e.linear.SignWebhook(linearWebhookSecret, b)}
				},
				wrongSecret: func(b []byte) http.Header { return e.linear.SignWebhook("wrong-secret", b) },
				tamper: func(b []byte) []byte {
					return bytes.Replace(b, []byte(`"action":"update"`), []byte(`"action":"remove"`), 1)
				},
				stale: func() signed {
					b := e.linear.IssueWebhook("update", issue)
					e.clock.Add(61 * time.Second) // Linear allows 60 s
					return signed{b, e.linear.SignWebhook(linearWebhookSecret, b)}
				}},
			{service: "github", sigHeader: "X-Hub-Signature-256", dupFlag: true, state: state,
				fresh: func() signed {
					deliveries++
					b, err := e.github.PullRequestEvent("closed", "acme/api", pulls[deliveries%len(pulls)].Number)
					if err != nil {
						t.Fatal(err)
					}
					return signed{b, e.github.SignWebhook(githubWebhookSecret, b, "pull_request", fmt.Sprintf("sec-delivery-%d", deliveries))}
				},
				wrongSecret: func(b []byte) http.Header {
					return e.github.SignWebhook("wrong-secret", b, "pull_request", "sec-delivery-wrong")
				},
				tamper: func(b []byte) []byte { return append(bytes.TrimRight(b, "\n"), ' ') }},
		} {
			w.checkForgeries(f)
		}
		// A stale Slack timestamp from the future is refused too.
		b := slackMessage()
		before := state()
		if r := w.webhook("slack", b, e.slack.SignEvent(slackSigningSecret, b, e.clock.Now().Add(slackSkew()))); !refusedAs(r, 401, "unauthorized") || state() != before {
			t.Errorf("slack, timestamp from the future: %d %s", r.StatusCode, r.body)
		}
		// A genuine delivery replayed after the tolerance is stale.
		e.clock.Add(time.Minute)
		d := signed{b, e.slack.SignEvent(slackSigningSecret, b, e.clock.Now())}
		if r := w.webhook("slack", d.body, d.h); r.StatusCode != 200 {
			t.Fatalf("slack: %d %s", r.StatusCode, r.body)
		}
		e.clock.Add(slackSkew() + time.Second)
		if r := w.webhook("slack", d.body, d.h); !refusedAs(r, 401, "unauthorized") {
			t.Errorf("slack delivery replayed after 5 minutes: %d %s", r.StatusCode, r.body)
		}
		// Oversized deliveries are refused before any work.
		big := bytes.Repeat([]byte("x"), MaxBodyBytes+1)
		for _, svc := range []string{"slack", "linear", "github", "stripe"} {
			if r := w.webhook(svc, big, nil); !refusedAs(r, 413, "too_large") {
				t.Errorf("%s oversized delivery: %d %.200s", svc, r.StatusCode, r.body)
			}
		}
		w.checkLeaks()
	})

	t.Run("stripe", func(t *testing.T) {
		w := newSecWorld(t, envOptions{stripe: true}, func(c *Config) { c.DefaultTier = pmassist.TierFree })
		e := w.e
		op := w.setup()
		tenantID := op.expect(200, "GET", v1+"/tenant", nil)["id"].(string)
		op.expect(200, "POST", v1+"/billing/checkout", map[string]string{"tier": "pro"})
		cs, _ := e.stripe.LastCheckout()
		if _, err := e.stripe.CompleteCheckout(cs.ID, e.clock.Now()); err != nil {
			t.Fatal(err)
		}
		obj, _ := e.stripe.CheckoutSessionObject(cs.ID)
		payload, sig := fake.StripeEvent(stripeWebhookSecret, "evt_security_1", pmassist.EventCheckoutCompleted, obj, time.Now())
		hdr := func(sig string) http.Header {
			return http.Header{"Stripe-Signature": {sig}, "Content-Type": {"application/json"}}
		}
		w.secrets = append(w.secrets, "whsec_wrong")
		w.checkForgeries(forgery{service: "stripe", sigHeader: "Stripe-Signature",
			fresh: func() signed { return signed{payload, hdr(sig)} },
			wrongSecret: func(b []byte) http.Header {
				return hdr(fake.SignStripe("whsec_wrong", b, time.Now()))
			},
			tamper: func(b []byte) []byte { return bytes.Replace(b, []byte(tenantID), []byte(pmassist.NewID()), 1) },
			stale: func() signed {
				p, s := fake.StripeEventAt(stripeWebhookSecret, "evt_security_2", pmassist.EventCheckoutCompleted, obj, time.Now(), time.Now().Add(-301*time.Second))
				return signed{p, hdr(s)}
			},
			state: func() string {
				b := op.expect(200, "GET", v1+"/billing", nil)
				return fmt.Sprintf("tier %v, %d tier changes", b["tier"], count(e.auditActions(op), pmassist.AuditTierChanged))
			}})
		w.checkLeaks()
	})
}

// slackSkew is how far off a Slack timestamp may be, and a little more.
func slackSkew() time.Duration { return 5*time.Minute + time.Second }

// A tenant's own OAuth app (enterprise) brings its own signing secret: what
// it signs is about that tenant's connections only. Otherwise any enterprise
// tenant could write into, or delete from, every other tenant's data by
// signing deliveries that name their workspace.
func TestSecurityOwnAppSigningSecretsVouchOnlyForTheirTenant(t *testing.T) {
	w := newSecWorld(t, envOptions{})
	e := w.e
	op := w.setup()
	victim, _ := w.tenant(op, "Alphaville Widgets", "alice@alpha.test", "Alice Alpha")
	for _, svc := range []string{"slack", "linear"} {
		e.connect(victim, svc)
		e.ingest(victim, svc)
	}
	mallory, _ := w.tenant(op, "Mallory Ltd", "mallory@evil.test", "Mallory")
	const malSlack, malLinear = "mallory-slack-signing", "mallory-linear-signing"
	w.secrets = append(w.secrets, malSlack, malLinear, "mallory-client-secret")
	for svc, secret := range map[string]string{"slack": malSlack, "linear": malLinear} {
		mallory.expect(200, "PUT", v1+"/integrations/"+svc+"/app", map[string]string{"client_id": "mallory-" + svc + "-app",
			"client_secret": "mallory-client-secret", "signing_secret": secret})
	}
	itemsBefore := e.itemIDs(victim, "")

	// A message in the victim's workspace, signed with Mallory's secret.
	channel, user := e.slack.Data().Channels[0].ID, e.slack.Data().Users[0].ID
	msg, err := e.slack.AddMessage(channel, fake.SlackMessage{User: user, Text: "Decision: wire the budget to Mallory"})
	if err != nil {
		t.Fatal(err)
	}
	body := e.slack.MessageEvent(channel, msg)
	r := w.webhook("slack", body, e.slack.SignEvent(malSlack, body, e.clock.Now()))
	if r.StatusCode != 401 && (r.StatusCode != 200 || jsonOf(r)["routed"] != float64(0)) {
		t.Errorf("message signed with another tenant's secret: %d %s", r.StatusCode, r.body)
	}
	if contains(e.itemIDs(victim, ""), channel+":"+msg.TS) {
		t.Error("a message signed with another tenant's own-app secret was stored in the victim's tenant")
	}
	// A deletion of one of the victim's messages, likewise.
	var victimMsg map[string]any
	for _, it := range victim.expect(200, "GET", v1+"/items?service=slack&limit=1", nil)["items"].([]any) {
		victimMsg = it.(map[string]any)
	}
	ch, ts, _ := strings.Cut(victimMsg["external_id"].(string), ":")
	del := e.slack.MessageDeletedEvent(ch, ts, e.clock.Now())
	w.webhook("slack", del, e.slack.SignEvent(malSlack, del, e.clock.Now()))
	if it := victim.expect(200, "GET", v1+"/items/"+victimMsg["id"].(string), nil); it["deleted"] == true {
		t.Error("a deletion signed with another tenant's own-app secret deleted the victim's message")
	}
	// A Linear issue renamed, likewise.
	issue := e.linear.Issues()[0]
	lb := bytes.Replace(e.linear.IssueWebhook("update", issue), []byte(`"title":"`), []byte(`"title":"FORGED `), 1)
	w.webhook("linear", lb, e.linear.SignWebhook(malLinear, lb))
	for _, it := range victim.expect(200, "GET", v1+"/items?service=linear&limit=200", nil)["items"].([]any) {
		if strings.HasPrefix(it.(map[string]any)["title"].(string), "FORGED") {
			t.Error("a Linear delivery signed with another tenant's own-app secret renamed the victim's issue")
		}
	}
	if got := e.itemIDs(victim, ""); len(got) != len(itemsBefore) {
		t.Errorf("the victim's items: %d, were %d", len(got), len(itemsBefore))
	}

	// The appliance's secret still routes the same delivery to the victim
	// (Mallory's forgery did not use up its event id).
	if r := w.webhook("slack", body, e.slack.SignEvent(slackSigningSecret, body, e.clock.Now())); r.StatusCode != 200 || jsonOf(r)["routed"] != float64(1) {
		t.Errorf("genuine delivery after the forgery: %d %s", r.StatusCode, r.body)
	}
	if !contains(e.itemIDs(victim, ""), channel+":"+msg.TS) {
		t.Error("the genuine delivery was not applied")
	}
	w.checkLeaks()
}

// GitHub deliveries name a repository; they reach the connections that
// have read it (or whose account owns it), not any tenant that lists the
// repository in its settings: settings prove no access.
func TestSecurityGitHubWebhooksReachOnlyConnectionsThatReadTheRepository(t *testing.T) {
	w := newSecWorld(t, envOptions{})
	e := w.e
	op := w.setup()
	victim, _ := w.tenant(op, "Alphaville Widgets", "alice@alpha.test", "Alice Alpha")
	e.connect(victim, "github")
	e.ingest(victim, "github")
	mallory, _ := w.tenant(op, "Mallory Ltd", "mallory@evil.test", "Mallory")
	e.connect(mallory, "github")
	cfg := mallory.expect(200, "GET", v1+"/tenant/config", nil)
	cfg["github_repos"], cfg["github_orgs"] = []string{"acme/api"}, []string{"acme"}
	mallory.expect(200, "PUT", v1+"/tenant/config", cfg)

	pull := e.github.Pulls("acme/api")[0]
	body, err := e.github.PullRequestEvent("closed", "acme/api", pull.Number)
	if err != nil {
		t.Fatal(err)
	}
	r := w.webhook("github", body, e.github.SignWebhook(githubWebhookSecret, body, "pull_request", "sec-gh-1"))
	if r.StatusCode != 200 || jsonOf(r)["routed"] != float64(1) {
		t.Errorf("delivery for acme/api: %d %s", r.StatusCode, r.body)
	}
	if got := e.itemIDs(mallory, ""); len(got) != 0 {
		t.Errorf("a tenant that only lists acme/api in its settings received its pull requests: %v", got)
	}
	// Once the connection has read the repository (its account can, in
	// the stand-in), deliveries reach it as well.
	e.ingest(mallory, "github")
	body, err = e.github.PullRequestEvent("closed", "acme/api", e.github.Pulls("acme/api")[1].Number)
	if err != nil {
		t.Fatal(err)
	}
	if r := w.webhook("github", body, e.github.SignWebhook(githubWebhookSecret, body, "pull_request", "sec-gh-2")); r.StatusCode != 200 || jsonOf(r)["routed"] != float64(2) {
		t.Errorf("delivery after both read acme/api: %d %s", r.StatusCode, r.body)
	}
	w.checkLeaks()
}

// ---- 4. brute force ----

func TestSecurityLoginBruteForceIsThrottled(t *testing.T) {
	w := newSecWorld(t, envOptions{})
	e := w.e
	op := w.setup()
	w.tenant(op, "Alphaville Widgets", "alice@alpha.test", "Alice Alpha")
	bob, _ := w.tenant(op, "Betamax Gadgets", "bob@beta.test", "Bob Beta")
	const home, elsewhere, office, cafe = "192.0.2.10:5000", "198.51.100.20:6000", "203.0.113.30:7000", "203.0.113.40:7000"
	login := func(remote, email, password string, h http.Header) resp {
		t.Helper()
		b, _ := json.Marshal(map[string]string{"email": email, "password": password})
		return w.call("POST", v1+"/auth/login", remote, h, string(b))
	}
	guess := func(i int) string {
		g := fmt.Sprintf("guess-%04d-xyzzy", i)
		w.secrets = append(w.secrets, g)
		return g
	}
	throttled := func(what string, r resp) {
		t.Helper()
		ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if !refusedAs(r, 429, "rate_limited") || err != nil || ra < 1 || ra > int(throttleWindow/time.Second) {
			t.Errorf("%s: %d Retry-After %q %s", what, r.StatusCode, r.Header.Get("Retry-After"), r.body)
		}
		if r.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s: a cookie while throttled: %s", what, r.Header.Get("Set-Cookie"))
		}
	}

	// One account, repeated wrong passwords.
	for i := 0; i < maxAccountFailures; i++ {
		if r := login(home, "alice@alpha.test", guess(i), nil); !refusedAs(r, 401, "unauthorized") {
			t.Fatalf("wrong password %d: %d %s", i, r.StatusCode, r.body)
		}
	}
	// The right password is refused now: from any address, however the
	// address is spelled, through the form and through an invitation.
	throttled("right password", login(home, "alice@alpha.test", pw, nil))
	throttled("right password from elsewhere", login(elsewhere, "alice@alpha.test", pw, nil))
	throttled("address spelled otherwise", login(elsewhere, "  ALICE@Alpha.TEST ", pw, nil))
	throttled("wrong password while throttled", login(elsewhere, "alice@alpha.test", guess(99), nil))
	page := w.client()
	tok := csrfField(t, page.do("GET", "/login", nil))
	f := url.Values{"csrf_token": {tok}, "email": {"alice@alpha.test"}, "password": {pw}}
	if r := w.raw(page, "POST", "/login", "application/x-www-form-urlencoded", strings.NewReader(f.Encode()), nil); r.StatusCode != 429 || r.Header.Get("Retry-After") == "" || r.setCookie(sessionCookie) != nil {
		t.Errorf("login form while throttled: %d %v", r.StatusCode, r.Header)
	}
	inv := bob.expect(201, "POST", v1+"/invitations", map[string]string{"email": "alice@alpha.test", "role": "member"})["invite_url"].(string)
	accept := v1 + "/invitations/" + inv[strings.LastIndex(inv, "/")+1:] + "/accept"
	throttled("invitation accepted with the right password", w.call("POST", accept, cafe, nil, `{"password":"`+pw+`"}`))
	// Other accounts from the same address are not affected.
	if r := login(home, "op@ops.test", pw, nil); r.StatusCode != 200 {
		t.Errorf("another account from the same address: %d %s", r.StatusCode, r.body)
	}
	// Once the window has passed the account opens again.
	e.clock.Add(throttleWindow)
	if r := login(home, "alice@alpha.test", pw, nil); r.StatusCode != 200 || r.setCookie(sessionCookie) == nil {
		t.Errorf("after the window: %d %s", r.StatusCode, r.body)
	}
	if r := w.call("POST", accept, cafe, nil, `{"password":"`+pw+`"}`); r.StatusCode != 201 {
		t.Errorf("invitation after the window: %d %s", r.StatusCode, r.body)
	}

	// One address guessing many accounts (known and unknown).
	for i := 0; i < maxAddressFailures; i++ {
		email := fmt.Sprintf("user%02d@nowhere.test", i)
		if i%4 == 0 {
			email = []string{"alice@alpha.test", "bob@beta.test"}[i/4%2]
		}
		if r := login(office, email, guess(100+i), nil); !refusedAs(r, 401, "unauthorized") {
			t.Fatalf("guess %d from one address: %d %s", i, r.StatusCode, r.body)
		}
	}
	throttled("another account from the guessing address", login(office, "mia@nowhere.test", pw, nil))
	throttled("a right password from the guessing address", login(office, "op@ops.test", pw, nil))
	spoof := http.Header{"X-Forwarded-For": {"192.0.2.99"}, "X-Real-Ip": {"192.0.2.99"}, "Forwarded": {"for=192.0.2.99"}}
	throttled("with a forwarded-for header", login(office, "op@ops.test", pw, spoof))
	if r := login(elsewhere, "op@ops.test", pw, nil); r.StatusCode != 200 {
		t.Errorf("the same account from another address: %d %s", r.StatusCode, r.body)
	}

	// Guesses through an invitation count like failed logins.
	inv = bob.expect(201, "POST", v1+"/invitations", map[string]string{"email": "op@ops.test", "role": "member"})["invite_url"].(string)
	accept = v1 + "/invitations/" + inv[strings.LastIndex(inv, "/")+1:] + "/accept"
	for i := 0; i < maxAccountFailures; i++ {
		if r := w.call("POST", accept, cafe, nil, `{"password":"`+guess(200+i)+`"}`); !refusedAs(r, 401, "unauthorized") {
			t.Fatalf("invitation guess %d: %d %s", i, r.StatusCode, r.body)
		}
	}
	throttled("login after guesses through an invitation", login(home, "op@ops.test", pw, nil))
	w.checkLeaks()
}

// An unknown email is checked against a stand-in hash of the configured
// cost, so that the time a login takes does not tell whether the account
// exists.
func TestSecurityUnknownAccountsCostAsMuchAsKnownOnes(t *testing.T) {
	params := password.Params{Memory: 96, Time: 2, Threads: 1}
	e := newEnv(t, func(c *Config) { c.PasswordParams = params })
	e.setup()
	u, err := e.db.FindUserByEmail(t.Context(), "op@acme.test")
	if err != nil {
		t.Fatal(err)
	}
	cost := func(hash string) string {
		parts := strings.Split(hash, "$")
		if len(parts) != 6 {
			t.Fatalf("hash %q", hash)
		}
		return parts[3]
	}
	if got, want := cost(e.srv.dummyHash), cost(u.PasswordHash); got != want {
		t.Fatalf("unknown accounts are checked at %s, known ones at %s: the login time tells which accounts exist", got, want)
	}
}

// ---- 5. security headers ----

func TestSecurityHeadersOnEveryKindOfAnswer(t *testing.T) {
	for _, base := range []string{"http://pm.test", "https://pm.test"} {
		t.Run(base, func(t *testing.T) {
			w := newSecWorld(t, envOptions{}, func(c *Config) { c.BaseURL = base })
			const local = "127.0.0.1:5555"
			if r := w.call("POST", v1+"/setup", local, nil, `{"email":"op@ops.test","password":"`+pw+`","name":"Op","tenant_name":"Ops HQ"}`); r.StatusCode != 201 {
				t.Fatalf("setup: %d %s", r.StatusCode, r.body)
			}
			r := w.call("POST", v1+"/auth/login", local, nil, `{"email":"op@ops.test","password":"`+pw+`"}`)
			sess := r.setCookie(sessionCookie)
			if sess == nil || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Secure != strings.HasPrefix(base, "https") {
				t.Fatalf("session cookie: %+v", sess)
			}
			cookie := http.Header{"Cookie": {sessionCookie + "=" + sess.Value}}
			loginPage := w.call("GET", "/login", local, nil, "")
			static := regexp.MustCompile(`/static/[0-9a-f]{16}/[A-Za-z0-9._-]+`).Find(loginPage.body)
			if static == nil {
				t.Fatal("no static file linked from the login page")
			}
			answers := []struct {
				name string
				r    resp
				json bool
			}{
				{"page", w.call("GET", "/login", local, nil, ""), false},
				{"signed-in page", w.call("GET", "/", local, cookie, ""), false},
				{"redirect to the login page", w.call("GET", "/decisions", local, nil, ""), false},
				{"404 page", w.call("GET", "/no-such-page", local, nil, ""), false},
				{"static file", w.call("GET", string(static), local, nil, ""), false},
				{"API answer", w.call("GET", v1+"/me", local, cookie, ""), true},
				{"API 401", w.call("GET", v1+"/me", local, nil, ""), true},
				{"API 403", w.call("POST", v1+"/tokens", local, cookie, `{"name":"x"}`), true},
				{"API 404", w.call("GET", v1+"/no-such-endpoint", local, cookie, ""), true},
				{"API 405", w.call("PUT", v1+"/tokens", local, cookie, ""), true},
				{"API 413", w.call("POST", v1+"/auth/login", local, nil, strings.Repeat("x", MaxBodyBytes+1)), true},
				{"webhook 401", w.call("POST", v1+"/webhooks/slack", local, nil, `{}`), true},
				{"OpenAPI", w.call("GET", v1+"/openapi.json", local, nil, ""), true},
				{"health", w.call("GET", "/healthz", local, nil, ""), true},
				{"metrics", w.call("GET", "/metrics", local, nil, ""), false},
			}
			for _, a := range answers {
				h := a.r.Header
				csp := h.Get("Content-Security-Policy")
				for _, d := range []string{"default-src 'self'", "script-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'self'"} {
					if !strings.Contains(csp, d) {
						t.Errorf("%s (%d): CSP lacks %q: %q", a.name, a.r.StatusCode, d, csp)
					}
				}
				if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
					t.Errorf("%s: CSP allows unsafe scripts or styles: %q", a.name, csp)
				}
				if h.Get("X-Frame-Options") != "DENY" || h.Get("X-Content-Type-Options") != "nosniff" {
					t.Errorf("%s: X-Frame-Options %q, X-Content-Type-Options %q", a.name, h.Get("X-Frame-Options"), h.Get("X-Content-Type-Options"))
				}
				if rp := h.Get("Referrer-Policy"); rp != "same-origin" && rp != "no-referrer" && rp != "strict-origin" && rp != "strict-origin-when-cross-origin" {
					t.Errorf("%s: Referrer-Policy %q", a.name, rp)
				}
				hsts := h.Get("Strict-Transport-Security")
				if strings.HasPrefix(base, "https") {
					var age int
					if _, err := fmt.Sscanf(hsts, "max-age=%d", &age); err != nil || age < 180*24*3600 {
						t.Errorf("%s: Strict-Transport-Security %q with an https base URL", a.name, hsts)
					}
				} else if hsts != "" {
					t.Errorf("%s: Strict-Transport-Security %q with an http base URL", a.name, hsts)
				}
				if a.json && a.r.StatusCode != 200 && !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
					t.Errorf("%s: error as %q", a.name, h.Get("Content-Type"))
				}
				if a.json && a.r.Request.URL.Path == v1+"/me" && a.r.StatusCode == 200 && h.Get("Cache-Control") != "no-store" {
					t.Errorf("%s: Cache-Control %q on a private answer", a.name, h.Get("Cache-Control"))
				}
				if h.Get("X-Request-Id") == "" {
					t.Errorf("%s: no X-Request-Id", a.name)
				}
			}
			if r := answers[1].r; r.StatusCode != 200 {
				t.Errorf("signed-in page: %d", r.StatusCode)
			}
			if r := answers[4].r; r.StatusCode != 200 {
				t.Errorf("static file: %d", r.StatusCode)
			}
		})
	}
}

// ---- 7. oversized and malformed bodies ----

func TestSecurityBadBodiesAreRefusedAndStoreNothing(t *testing.T) {
	w := newSecWorld(t, envOptions{stripe: true})
	e := w.e
	op := w.setup()
	tok, _ := w.token(op, "ci")
	tenantID := op.expect(200, "GET", v1+"/tenant", nil)["id"].(string)
	opID := op.expect(200, "GET", v1+"/me", nil)["user"].(map[string]any)["id"].(string)
	dec := op.expect(201, "POST", v1+"/decision-logs", map[string]string{"title": "Body test", "status": "proposed"})["id"].(string)
	e.connect(op, "slack")
	snapshot := func() string {
		var b strings.Builder
		for _, p := range []string{"/decision-logs?limit=200", "/tokens", "/invitations", "/tenant/config", "/members", "/standups", "/jobs?limit=200",
			"/integrations/apps", "/people", "/decision-logs/" + dec} {
			out := op.expect(200, "GET", v1+p, nil)
			delete(out, "next_cursor")
			for _, k := range []string{"tokens"} {
				for _, x := range toList(out[k]) {
					delete(x.(map[string]any), "last_used_at")
				}
			}
			fmt.Fprintf(&b, "%s %v\n", p, out)
		}
		fmt.Fprintf(&b, "tenants %d\n", len(op.expect(200, "GET", v1+"/admin/tenants", nil)["tenants"].([]any)))
		return b.String()
	}
	before := snapshot()
	endpoints := []struct{ method, path string }{
		{"POST", v1 + "/decision-logs"}, {"PATCH", v1 + "/decision-logs/" + dec}, {"PUT", v1 + "/tenant/config"},
		{"POST", v1 + "/tokens"}, {"POST", v1 + "/invitations"}, {"PATCH", v1 + "/members/" + opID},
		{"POST", v1 + "/workflows/standup"}, {"POST", v1 + "/ingestion/slack"}, {"POST", v1 + "/admin/tenants"},
		{"PATCH", v1 + "/admin/tenants/" + tenantID}, {"POST", v1 + "/me/tenant"}, {"POST", v1 + "/oauth/slack/callback"},
		{"POST", v1 + "/oauth/slack/authorize"}, {"PUT", v1 + "/integrations/slack/app"}, {"POST", v1 + "/billing/checkout"},
		{"POST", v1 + "/auth/login"}, {"POST", v1 + "/auth/signup"}, {"POST", v1 + "/setup"},
	}
	big := `{"title":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	cases := []struct {
		name, ctype string
		body        func() io.Reader
		status      int
		code        string
	}{
		{"over 1 MiB", "application/json", func() io.Reader { return strings.NewReader(big) }, 413, "too_large"},
		{"over 1 MiB, chunked", "application/json", func() io.Reader { return io.MultiReader(strings.NewReader(big)) }, 413, "too_large"},
		{"malformed", "application/json", func() io.Reader { return strings.NewReader(`{"title":`) }, 400, "invalid"},
		{"not an object", "application/json", func() io.Reader { return strings.NewReader(`["title"]`) }, 400, "invalid"},
		{"unknown field", "application/json", func() io.Reader { return strings.NewReader(`{"zz_unknown":1}`) }, 400, "invalid"},
		{"two objects", "application/json", func() io.Reader { return strings.NewReader(`{}{"title":"x"}`) }, 400, "invalid"},
		{"form", "application/x-www-form-urlencoded", func() io.Reader { return strings.NewReader("title=x") }, 415, "unsupported_media_type"},
		{"text", "text/plain", func() io.Reader { return strings.NewReader(`{"title":"x"}`) }, 415, "unsupported_media_type"},
	}
	callers := []namedClient{{"token", tok}, {"session", op}}
	for _, ep := range endpoints {
		for _, tc := range cases {
			for _, c := range callers {
				if ep.path == v1+"/auth/login" || ep.path == v1+"/auth/signup" || ep.path == v1+"/setup" {
					c = namedClient{"anonymous", w.client()}
					e.clock.Add(time.Second) // the anonymous per-address budget
				}
				r := w.raw(c.c, ep.method, ep.path, tc.ctype, tc.body(), nil)
				if !refusedAs(r, tc.status, tc.code) {
					t.Errorf("%s %s, %s, %s: %d %.300s", ep.method, ep.path, tc.name, c.name, r.StatusCode, r.body)
				}
				if tc.name == "unknown field" {
					errObj, _ := jsonOf(r)["error"].(map[string]any)
					if f, _ := errObj["fields"].(map[string]any); f["zz_unknown"] == nil {
						t.Errorf("%s %s: the unknown field is not named: %s", ep.method, ep.path, r.body)
					}
				}
			}
		}
	}
	// Webhooks: oversized and malformed (but signed) deliveries.
	for _, svc := range []string{"slack", "github", "linear", "stripe"} {
		big := bytes.Repeat([]byte("{"), MaxBodyBytes+10)
		if r := w.webhook(svc, big, nil); !refusedAs(r, 413, "too_large") {
			t.Errorf("%s oversized: %d %.200s", svc, r.StatusCode, r.body)
		}
		if r := w.raw(&client{http: &http.Client{Transport: recordingTransport{w.rec}}}, "POST", v1+"/webhooks/"+svc, "application/json", io.MultiReader(bytes.NewReader(big)), nil); !refusedAs(r, 413, "too_large") {
			t.Errorf("%s oversized, chunked: %d %.200s", svc, r.StatusCode, r.body)
		}
	}
	bad := []byte(`{"type":"event_callback","event":`)
	if r := w.webhook("slack", bad, e.slack.SignEvent(slackSigningSecret, bad, e.clock.Now())); !refusedAs(r, 400, "invalid") {
		t.Errorf("slack, signed but malformed: %d %s", r.StatusCode, r.body)
	}
	if r := w.webhook("github", bad, e.github.SignWebhook(githubWebhookSecret, bad, "pull_request", "bad-1")); !refusedAs(r, 400, "invalid") {
		t.Errorf("github, signed but malformed: %d %s", r.StatusCode, r.body)
	}
	if after := snapshot(); after != before {
		t.Errorf("refused bodies changed something:\nbefore %s\nafter  %s", before, after)
	}
	w.checkLeaks()
}

func toList(v any) []any {
	l, _ := v.([]any)
	return l
}
