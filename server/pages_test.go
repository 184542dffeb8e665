package server

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/pmassist/pmassist"
)

// These tests drive the HTML pages the way a browser without JavaScript
// does: GET a page, read the csrf_token hidden input, POST the form as
// application/x-www-form-urlencoded, and follow the 303 by hand.

var (
	csrfInputRe = regexp.MustCompile(`<input type="hidden" name="csrf_token" value="([^"]*)">`)
	inviteURLRe = regexp.MustCompile(`http://pm\.test/invite/[A-Za-z0-9_-]+`)
	newTokenRe  = regexp.MustCompile(`pma_[A-Za-z0-9_-]{20,}`)
	tokenIDRe   = regexp.MustCompile(`action="/tokens/([^/"]+)/revoke"`)
	staticRe    = regexp.MustCompile(`(?:href|src)="(/static/[0-9a-f]+/app\.(?:css|js))"`)
)

// csrfField returns the csrf_token of a page's forms (all of them carry the same).
func csrfField(t *testing.T, r resp) string {
	t.Helper()
	all := csrfInputRe.FindAllSubmatch(r.body, -1)
	if len(all) == 0 || len(all[0][1]) == 0 {
		t.Fatalf("no csrf_token in page (%d): %s", r.StatusCode, r.body)
	}
	for _, m := range all[1:] {
		if string(m[1]) != string(all[0][1]) {
			t.Fatalf("forms of one page carry different CSRF tokens: %q, %q", all[0][1], m[1])
		}
	}
	return string(all[0][1])
}

// form builds form values from name, value pairs.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Add(kv[i], kv[i+1])
	}
	return v
}

// get fetches a page as a browser would.
func (c *client) get(path string) resp {
	c.e.t.Helper()
	r := c.do("GET", path, nil)
	c.e.checkPage(r)
	return r
}

// post submits a form as a browser would: no JSON, no CSRF header.
func (c *client) post(path string, values url.Values) resp {
	c.e.t.Helper()
	req, _ := http.NewRequest("POST", c.e.ts.URL+path, strings.NewReader(values.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.http.Do(req)
	if err != nil {
		c.e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	r := resp{res, b}
	c.e.checkPage(r)
	return r
}

// checkPage asserts what every rendered page (not a redirect) carries.
func (e *env) checkPage(r resp) {
	e.t.Helper()
	if r.StatusCode == http.StatusSeeOther {
		return
	}
	h := r.Header
	if ct := h.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		e.t.Fatalf("%s %s: Content-Type %q (status %d): %s", r.Request.Method, r.Request.URL.Path, ct, r.StatusCode, r.body)
	}
	csp := h.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
		!strings.Contains(csp, "script-src 'self'") || h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" {
		e.t.Fatalf("%s %s: page headers: %v", r.Request.Method, r.Request.URL.Path, h)
	}
}

func (r resp) want(t *testing.T, status int) resp {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	return r
}

func (r resp) redirect(t *testing.T, to string) {
	t.Helper()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != to {
		t.Fatalf("%s %s: %d to %q, want 303 to %q: %s", r.Request.Method, r.Request.URL.Path,
			r.StatusCode, r.Header.Get("Location"), to, r.body)
	}
}

func (r resp) has(t *testing.T, subs ...string) resp {
	t.Helper()
	for _, s := range subs {
		if !strings.Contains(string(r.body), s) {
			t.Fatalf("%s %s (%d) lacks %q:\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, s, r.body)
		}
	}
	return r
}

func (r resp) lacks(t *testing.T, subs ...string) resp {
	t.Helper()
	for _, s := range subs {
		if strings.Contains(string(r.body), s) {
			t.Fatalf("%s %s (%d) contains %q:\n%s", r.Request.Method, r.Request.URL.Path, r.StatusCode, s, r.body)
		}
	}
	return r
}

func (r resp) setCookie(name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// browser signs in through the login form and returns the signed-in client.
func (e *env) browser(email, password string) *client {
	e.t.Helper()
	c := e.client()
	tok := csrfField(e.t, c.get("/login").want(e.t, 200))
	c.post("/login", form("csrf_token", tok, "email", email, "password", password)).redirect(e.t, "/")
	return c
}

func (e *env) userID(email string) string {
	e.t.Helper()
	u, err := e.db.FindUserByEmail(context.Background(), email)
	if err != nil {
		e.t.Fatalf("user %s: %v", email, err)
	}
	return u.ID
}

func (e *env) tenantNamed(name string) *pmassist.Tenant {
	e.t.Helper()
	list, err := e.db.ListTenants(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, t := range list {
		if t.Name == name {
			return t
		}
	}
	e.t.Fatalf("no tenant %q", name)
	return nil
}

func (e *env) role(tenantID, userID string) pmassist.Role {
	e.t.Helper()
	m, err := e.db.FindMember(pmassist.NewContextWithTenant(context.Background(), tenantID), userID)
	if err != nil {
		e.t.Fatalf("member %s of %s: %v", userID, tenantID, err)
	}
	return m.Role
}

func (e *env) countUsers() int {
	e.t.Helper()
	n, err := e.db.CountUsers(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

const flashError = `class="flash flash-error"`

func TestPageSetupFlow(t *testing.T) {
	e := newEnv(t)
	c := e.client()
	c.get("/").redirect(t, "/login?next=%2F")
	c.get("/login").redirect(t, "/setup")

	r := c.get("/setup").want(t, 200).has(t, `action="/setup"`)
	ck := r.setCookie(anonCSRFCookie)
	if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || len(ck.Value) < 32 {
		t.Fatalf("csrf cookie: %+v", ck)
	}
	tok := csrfField(t, r)
	if tok != ck.Value {
		t.Fatalf("form token %q, cookie %q", tok, ck.Value)
	}
	// The cookie is kept: reloading the form shows the same token.
	if again := csrfField(t, c.get("/setup").want(t, 200)); again != tok {
		t.Fatalf("token changed on reload: %q, %q", again, tok)
	}

	good := form("email", "ada@acme.test", "password", pw, "name", "Ada", "tenant_name", "Acme Corp")
	c.post("/setup", good).want(t, 403).has(t, "Form expired")
	// The token without its cookie (another browser) is refused too.
	e.client().post("/setup", form("csrf_token", tok, "email", "ada@acme.test", "password", pw, "name", "Ada", "tenant_name", "Acme Corp")).want(t, 403)
	if n := e.countUsers(); n != 0 {
		t.Fatalf("%d users after refused setups", n)
	}

	r = c.post("/setup", form("csrf_token", tok, "email", "not-an-email", "password", "pw-Zq9", "name", "Ada Lovelace", "tenant_name", "Acme Corp")).want(t, 400)
	r.has(t, `<p class="field-error" id="f-email-error">not a valid email address</p>`,
		`<p class="field-error" id="f-password-error">at least 10 characters</p>`,
		`value="not-an-email"`, `value="Ada Lovelace"`, `value="Acme Corp"`).
		lacks(t, "pw-Zq9", `id="f-name-error"`, `id="f-tenant_name-error"`)
	if csrfField(t, r) != tok {
		t.Fatal("re-rendered form lost its token")
	}
	if n := e.countUsers(); n != 0 {
		t.Fatalf("%d users after a bad setup", n)
	}

	good.Set("csrf_token", tok)
	r = c.post("/setup", good)
	r.redirect(t, "/")
	if s := r.setCookie(sessionCookie); s == nil || s.Value == "" || !s.HttpOnly {
		t.Fatalf("session cookie: %+v", s)
	}
	c.get("/").want(t, 200).has(t, `<span class="brand-name">Acme Corp</span>`, "Welcome! Acme Corp is ready.", "ada@acme.test")
	c.get("/").want(t, 200).lacks(t, "Welcome!") // a flash is shown once
	c.get("/setup").redirect(t, "/login")

	// Setup from another browser now sends it to the login page.
	o := e.client()
	otok := csrfField(t, o.get("/login").want(t, 200))
	o.post("/setup", form("csrf_token", otok, "email", "eve@evil.test", "password", pw, "name", "Eve", "tenant_name", "Evil")).redirect(t, "/login")
	o.get("/login").want(t, 200).has(t, flashError, "setup has already been done")
	if n := e.countUsers(); n != 1 {
		t.Fatalf("%d users, want 1", n)
	}
}

func TestPageLogin(t *testing.T) {
	e := newEnv(t)
	e.setup()
	c := e.client()
	tok := csrfField(t, c.get("/login").want(t, 200))
	r := c.post("/login", form("csrf_token", tok, "email", "op@acme.test", "password", "not-the-pw-4242")).want(t, 401)
	r.has(t, flashError, "wrong email or password", `value="op@acme.test"`).lacks(t, "not-the-pw-4242")
	if r.setCookie(sessionCookie) != nil {
		t.Fatal("session cookie after a wrong password")
	}
	c.get("/").redirect(t, "/login?next=%2F")

	// Only a path on this site is followed after sign-in.
	for next, want := range map[string]string{"//evil.test/x": "/", "https://evil.test": "/", "/members": "/members"} {
		b := e.client()
		r := b.get("/login?next="+url.QueryEscape(next)).want(t, 200).has(t, `<input type="hidden" name="next" value="`+want+`">`)
		// The server checks the posted value too, not just the one it rendered.
		b.post("/login", form("csrf_token", csrfField(t, r), "email", "op@acme.test", "password", pw, "next", next)).redirect(t, want)
		b.get(want).want(t, 200)
		b.get("/login?next="+url.QueryEscape(next)).redirect(t, want) // already signed in
	}

	// Five failures for one account: the right password is refused for a while.
	th := e.client()
	tok = csrfField(t, th.get("/login").want(t, 200))
	for i := 0; i < maxAccountFailures; i++ {
		th.post("/login", form("csrf_token", tok, "email", "op@acme.test", "password", "wrong password")).want(t, 401)
	}
	r = th.post("/login", form("csrf_token", tok, "email", "op@acme.test", "password", pw)).want(t, 429)
	r.has(t, flashError, "too many failed attempts; try again in 15 minutes", `value="op@acme.test"`)
	if ra := r.Header.Get("Retry-After"); ra != "900" {
		t.Fatalf("Retry-After %q, want 900", ra)
	}
	if r.setCookie(sessionCookie) != nil {
		t.Fatal("session cookie while throttled")
	}
	e.clock.Add(throttleWindow)
	th.post("/login", form("csrf_token", tok, "email", "op@acme.test", "password", pw)).redirect(t, "/")

	// No CSRF cookie and no token; a cookie but no token; a token from
	// another browser: all refused, nobody signed in.
	n := e.client()
	n.post("/login", form("email", "op@acme.test", "password", pw)).want(t, 403).has(t, "Form expired")
	n.get("/").redirect(t, "/login?next=%2F")
	n.get("/login").want(t, 200)
	n.post("/login", form("email", "op@acme.test", "password", pw)).want(t, 403)
	n.post("/login", form("csrf_token", tok, "email", "op@acme.test", "password", pw)).want(t, 403)
	n.get("/").redirect(t, "/login?next=%2F")
}

func TestPageLogout(t *testing.T) {
	e := newEnv(t)
	e.setup()
	c := e.browser("op@acme.test", pw)
	tok := csrfField(t, c.get("/").want(t, 200).has(t, `action="/logout"`))
	base, _ := url.Parse(e.ts.URL)
	var raw string
	for _, ck := range c.http.Jar.Cookies(base) {
		if ck.Name == sessionCookie {
			raw = ck.Value
		}
	}
	if raw == "" {
		t.Fatal("no session cookie in the jar")
	}

	c.post("/logout", nil).want(t, 403)
	c.post("/logout", form("csrf_token", tok+"x")).want(t, 403)
	c.get("/").want(t, 200)

	c.post("/logout", form("csrf_token", tok)).redirect(t, "/login")
	c.get("/").redirect(t, "/login?next=%2F")
	c.get("/login").want(t, 200).has(t, "You have been signed out.")

	// The session is gone on the server, not just from the jar.
	replay := e.client()
	replay.http.Jar.SetCookies(base, []*http.Cookie{{Name: sessionCookie, Value: raw}})
	replay.get("/").redirect(t, "/login?next=%2F")
}

func TestPageMembersAndInvitations(t *testing.T) {
	e := newEnv(t)
	_, acmeID := e.setup()
	op := e.browser("op@acme.test", pw)

	tok := csrfField(t, op.get("/members").want(t, 200).has(t, `action="/members/invite"`))
	r := op.post("/members/invite", form("csrf_token", tok, "email", "New@Acme.test", "role", "member")).want(t, 200)
	links := inviteURLRe.FindAll(r.body, -1)
	if len(links) != 1 {
		t.Fatalf("invite links on the page: %q", links)
	}
	link := string(links[0])
	secret := link[strings.LastIndex(link, "/")+1:]
	r.has(t, "Invitation created for new@acme.test.")
	op.get("/members").want(t, 200).has(t, "new@acme.test").lacks(t, secret)

	// A bad invitation keeps the typed values and creates nothing.
	op.post("/members/invite", form("csrf_token", tok, "email", "nope", "role", "admin")).want(t, 400).
		has(t, `<p class="field-error" id="f-email-error">not a valid email address</p>`, `value="nope"`, `<option value="admin" selected>`).
		lacks(t, "http://pm.test/invite/")

	// The invitee's browser.
	nu := e.client()
	r = nu.get("/invite/"+secret).want(t, 200).has(t, "Join Acme", "<strong>Acme</strong>", "new@acme.test")
	itok := csrfField(t, r)
	nu.post("/invite/"+secret, form("csrf_token", itok, "name", "Nia New", "password", "pw-Zq9")).want(t, 400).
		has(t, `value="Nia New"`, `<p class="field-error" id="f-password-error">at least 10 characters</p>`).lacks(t, "pw-Zq9")
	nu.post("/invite/"+secret, form("name", "Nia New", "password", pw)).want(t, 403)
	nu.post("/invite/"+secret, form("csrf_token", itok, "name", "Nia New", "password", pw)).redirect(t, "/")
	nu.get("/").want(t, 200).has(t, "You joined Acme.", "Nia New", "new@acme.test", `<span class="brand-name">Acme</span>`)
	nu.post("/invite/"+secret, form("csrf_token", itok, "name", "Nia New", "password", pw)).want(t, 404).has(t, "Invitation not valid")
	e.client().get("/invite/"+secret).want(t, 404).has(t, "Invitation not valid")

	// A member sees no invite or management forms and cannot invite.
	r = nu.get("/members").want(t, 200).has(t, "Nia New").lacks(t, `action="/members/invite"`, `/role"`, `/remove"`)
	nu.post("/members/invite", form("csrf_token", csrfField(t, r), "email", "x@acme.test")).want(t, 403)
	op.get("/members").want(t, 200).lacks(t, "x@acme.test")

	// The owner changes the role, then removes the member.
	nuID := e.userID("new@acme.test")
	op.post("/members/"+nuID+"/role", form("csrf_token", tok, "role", "admin")).redirect(t, "/members")
	op.get("/members").want(t, 200).has(t, `class="flash flash-ok"`, "new@acme.test is now admin.")
	if got := e.role(acmeID, nuID); got != pmassist.RoleAdmin {
		t.Fatalf("role %s, want admin", got)
	}
	op.post("/members/"+nuID+"/role", form("role", "member")).want(t, 403) // no token
	op.post("/members/"+nuID+"/remove", form("csrf_token", tok)).redirect(t, "/members")
	op.get("/members").want(t, 200).has(t, "Member removed.").lacks(t, "new@acme.test", "Nia New")
	nu.get("/members").want(t, 403)
	nu.get("/").want(t, 200).has(t, "You are not a member of any tenant yet.").lacks(t, `<span class="brand-name">Acme</span>`)

	// The last owner can be neither removed nor demoted.
	opID := e.userID("op@acme.test")
	op.post("/members/"+opID+"/remove", form("csrf_token", tok)).redirect(t, "/members")
	op.get("/members").want(t, 200).has(t, flashError, "a tenant needs at least one owner")
	op.post("/members/"+opID+"/role", form("csrf_token", tok, "role", "member")).redirect(t, "/members")
	op.get("/members").want(t, 200).has(t, flashError, "a tenant needs at least one owner")
	if got := e.role(acmeID, opID); got != pmassist.RoleOwner {
		t.Fatalf("last owner's role is %s", got)
	}
}

func TestPageTokens(t *testing.T) {
	e := newEnv(t)
	e.setup()
	op := e.browser("op@acme.test", pw)
	tok := csrfField(t, op.get("/tokens").want(t, 200))

	r := op.post("/tokens", form("csrf_token", tok, "name", "deploy")).want(t, 200).has(t, "Token “deploy” created")
	secrets := newTokenRe.FindAllString(string(r.body), -1)
	if len(secrets) != 1 {
		t.Fatalf("token secrets on the page: %q", secrets)
	}
	secret := secrets[0]
	r = op.get("/tokens").want(t, 200).has(t, "deploy").lacks(t, secret)
	if newTokenRe.Match(r.body) {
		t.Fatal("a token secret is shown again")
	}
	m := tokenIDRe.FindSubmatch(r.body)
	if m == nil {
		t.Fatalf("no revoke form: %s", r.body)
	}
	tokenID := string(m[1])

	b := e.client()
	b.token = secret
	if me := b.expect(200, "GET", "/api/v1/me", nil); me["user"].(map[string]any)["email"] != "op@acme.test" {
		t.Fatalf("me by token: %v", me)
	}

	op.post("/tokens", form("csrf_token", tok, "name", "  ")).want(t, 400).has(t, `id="f-name-error"`)
	if newTokenRe.Match(op.get("/tokens").body) {
		t.Fatal("secret on the page after a failed create")
	}

	op.post("/tokens/"+tokenID+"/revoke", nil).want(t, 403)
	b.expect(200, "GET", "/api/v1/me", nil)
	op.post("/tokens/"+tokenID+"/revoke", form("csrf_token", tok)).redirect(t, "/tokens")
	op.get("/tokens").want(t, 200).has(t, "Token revoked").lacks(t, "/tokens/"+tokenID+"/revoke")
	if r := b.do("GET", "/api/v1/me", nil); r.StatusCode != 401 {
		t.Fatalf("revoked token: %d", r.StatusCode)
	}
	op.post("/tokens/"+tokenID+"/revoke", form("csrf_token", tok)).redirect(t, "/tokens")
	op.get("/tokens").want(t, 200).has(t, flashError, "token not found")
}

func TestPageOperatorTenants(t *testing.T) {
	e := newEnv(t)
	api, _ := e.setup()
	e.invite(api, "m@acme.test", "member")
	mem := e.browser("m@acme.test", pw)
	mtok := csrfField(t, mem.get("/").want(t, 200).lacks(t, `href="/operator/tenants"`))
	mem.get("/operator/tenants").want(t, 403)
	mem.post("/operator/tenants", form("csrf_token", mtok, "name", "Evil", "owner_email", "m@acme.test")).want(t, 403)

	op := e.browser("op@acme.test", pw)
	tok := csrfField(t, op.get("/operator/tenants").want(t, 200).has(t, ">Acme<", `action="/operator/tenants"`))
	op.post("/operator/tenants", form("name", "Beta", "owner_email", "boss@beta.test", "owner_name", "Boss", "owner_password", pw)).want(t, 403)

	r := op.post("/operator/tenants", form("csrf_token", tok, "name", "", "owner_email", "not-an-email",
		"owner_name", "Bo Boss", "owner_password", "pw-Zq9", "tier", "pro")).want(t, 400)
	r.has(t, `<p class="field-error" id="f-name-error">required</p>`,
		`<p class="field-error" id="f-owner_email-error">not a valid email address</p>`,
		`<p class="field-error" id="f-owner_password-error">at least 10 characters</p>`,
		`value="not-an-email"`, `value="Bo Boss"`, `<option value="pro" selected>`).lacks(t, "pw-Zq9")
	if list, _ := e.db.ListTenants(context.Background()); len(list) != 1 {
		t.Fatalf("%d tenants after refused creates", len(list))
	}

	op.post("/operator/tenants", form("csrf_token", tok, "name", "Beta", "owner_email", "boss@beta.test",
		"owner_name", "Boss", "owner_password", pw, "tier", "pro")).redirect(t, "/operator/tenants")
	op.get("/operator/tenants").want(t, 200).has(t, "Tenant Beta created.", ">Beta<")
	beta := e.tenantNamed("Beta")
	if beta.Tier != pmassist.TierPro || beta.Suspended {
		t.Fatalf("new tenant: %+v", beta)
	}

	boss := e.browser("boss@beta.test", pw)
	boss.get("/members").want(t, 200).has(t, "Boss")

	op.post("/operator/tenants/"+beta.ID, form("csrf_token", tok, "tier", "pro", "suspended", "on")).redirect(t, "/operator/tenants")
	op.get("/operator/tenants").want(t, 200).has(t, "Saved Beta.", `<span class="badge badge-error">Suspended</span>`)
	if !e.tenantNamed("Beta").Suspended {
		t.Fatal("not suspended")
	}
	boss.get("/members").want(t, 403).has(t, "tenant suspended")
	boss.get("/").want(t, 200).has(t, "This tenant is suspended")

	op.post("/operator/tenants/"+beta.ID, form("csrf_token", tok, "tier", "pro")).redirect(t, "/operator/tenants")
	op.get("/operator/tenants").want(t, 200).has(t, "Saved Beta.").lacks(t, `<span class="badge badge-error">Suspended</span>`)
	if b := e.tenantNamed("Beta"); b.Suspended || b.Tier != pmassist.TierPro {
		t.Fatalf("after unsuspending: %+v", b)
	}
	boss.get("/members").want(t, 200)

	op.post("/operator/tenants/"+pmassist.NewID(), form("csrf_token", tok, "tier", "pro")).redirect(t, "/operator/tenants")
	op.get("/operator/tenants").want(t, 200).has(t, flashError, "tenant not found")
	op.post("/operator/tenants/"+beta.ID, form("csrf_token", tok, "tier", "gold")).redirect(t, "/operator/tenants")
	op.get("/operator/tenants").want(t, 200).has(t, flashError)
	if e.tenantNamed("Beta").Tier != pmassist.TierPro {
		t.Fatal("a bad tier was saved")
	}
}

func TestPagesEscapeUntrustedText(t *testing.T) {
	const (
		evilTenant  = `<script>alert(1)</script>`
		evilName    = `"><img src=x onerror=alert(1)>`
		tenantShown = `&lt;script&gt;alert(1)&lt;/script&gt;`
		nameShown   = `&lt;img src=x onerror=alert(1)&gt;`
	)
	raw := []string{"<script>alert", "<img src=x"}
	e := newEnv(t)
	op := e.client()
	tok := csrfField(t, op.get("/setup").want(t, 200))
	op.post("/setup", form("csrf_token", tok, "email", "op@acme.test", "password", pw, "name", "Op", "tenant_name", evilTenant)).redirect(t, "/")
	tok = csrfField(t, op.get("/").want(t, 200).has(t, tenantShown).lacks(t, raw...))

	r := op.post("/members/invite", form("csrf_token", tok, "email", "m@acme.test", "role", "member")).want(t, 200)
	link := string(inviteURLRe.Find(r.body))
	secret := link[strings.LastIndex(link, "/")+1:]
	mem := e.client()
	itok := csrfField(t, mem.get("/invite/"+secret).want(t, 200).has(t, tenantShown).lacks(t, raw...))
	mem.post("/invite/"+secret, form("csrf_token", itok, "name", evilName, "password", "short")).want(t, 400).lacks(t, raw...)
	mem.post("/invite/"+secret, form("csrf_token", itok, "name", evilName, "password", pw)).redirect(t, "/")

	mem.get("/").want(t, 200).has(t, tenantShown, nameShown).lacks(t, raw...)
	mem.get("/members").want(t, 200).has(t, tenantShown, nameShown).lacks(t, raw...)
	op.get("/").want(t, 200).has(t, tenantShown).lacks(t, raw...)
	op.get("/members").want(t, 200).has(t, tenantShown, nameShown).lacks(t, raw...)
	op.get("/operator/tenants").want(t, 200).has(t, tenantShown).lacks(t, raw...)
}

func TestPageHeadersAndStaticFiles(t *testing.T) {
	e := newEnv(t)
	anon := e.client()
	setup := anon.get("/setup").want(t, 200)
	e.setup()
	op := e.browser("op@acme.test", pw)
	pages := []resp{
		setup,
		anon.get("/login").want(t, 200),
		anon.get("/no-such-page").want(t, 404),
		anon.get("/invite/bogus").want(t, 404),
		anon.post("/login", form("email", "op@acme.test")).want(t, 403),
		op.get("/").want(t, 200),
		op.get("/members").want(t, 200),
		op.get("/tokens").want(t, 200),
		op.get("/operator/tenants").want(t, 200),
		op.post("/tokens", nil).want(t, 403),
	}
	for _, r := range pages {
		h := r.Header
		if !strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
			h.Get("X-Frame-Options") != "DENY" || h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: headers %v", r.Request.Method, r.Request.URL.Path, h)
		}
	}

	for _, page := range []resp{pages[0], pages[5]} {
		links := staticRe.FindAllSubmatch(page.body, -1)
		if len(links) != 2 {
			t.Fatalf("static links of %s: %q", page.Request.URL.Path, links)
		}
		for _, l := range links {
			r := anon.do("GET", string(l[1]), nil)
			if r.StatusCode != 200 || len(r.body) == 0 {
				t.Fatalf("GET %s: %d", l[1], r.StatusCode)
			}
			if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "immutable") || !strings.Contains(cc, "max-age=31536000") {
				t.Errorf("GET %s: Cache-Control %q", l[1], cc)
			}
			wantType := "text/css; charset=utf-8"
			if strings.HasSuffix(string(l[1]), ".js") {
				wantType = "text/javascript; charset=utf-8"
			}
			if ct := r.Header.Get("Content-Type"); ct != wantType {
				t.Errorf("GET %s: Content-Type %q", l[1], ct)
			}
		}
	}
	if r := anon.do("GET", "/static/0000000000000000/app.css", nil); r.StatusCode != 404 {
		t.Fatalf("stale hash: %d", r.StatusCode)
	}
}

func TestPageSwitchTenant(t *testing.T) {
	e := newEnv(t)
	_, acmeID := e.setup()
	op := e.browser("op@acme.test", pw)
	tok := csrfField(t, op.get("/").want(t, 200).lacks(t, `action="/switch-tenant"`))
	// Beta gets the operator (an existing account) as owner; Gamma does not.
	op.post("/operator/tenants", form("csrf_token", tok, "name", "Beta", "owner_email", "op@acme.test", "tier", "pro")).redirect(t, "/operator/tenants")
	op.post("/operator/tenants", form("csrf_token", tok, "name", "Gamma", "owner_email", "g@gamma.test",
		"owner_name", "G", "owner_password", pw)).redirect(t, "/operator/tenants")
	betaID, gammaID := e.tenantNamed("Beta").ID, e.tenantNamed("Gamma").ID

	op.get("/").want(t, 200).has(t, `action="/switch-tenant"`, `<span class="brand-name">Acme</span>`,
		`<option value="`+acmeID+`" selected>Acme</option>`, `<option value="`+betaID+`">Beta</option>`).lacks(t, ">Gamma</option>")

	op.post("/switch-tenant", form("tenant_id", betaID)).want(t, 403)
	op.get("/").want(t, 200).has(t, `<span class="brand-name">Acme</span>`)

	op.post("/switch-tenant", form("csrf_token", tok, "tenant_id", betaID)).redirect(t, "/")
	op.get("/").want(t, 200).has(t, `<span class="brand-name">Beta</span>`, `<option value="`+betaID+`" selected>Beta</option>`).lacks(t, flashError)
	op.get("/members").want(t, 200).has(t, `<span class="brand-name">Beta</span>`)

	for _, foreign := range []string{gammaID, "../../x", ""} {
		op.post("/switch-tenant", form("csrf_token", tok, "tenant_id", foreign)).redirect(t, "/")
		op.get("/").want(t, 200).has(t, flashError, "tenant not found", `<span class="brand-name">Beta</span>`)
	}

	op.post("/switch-tenant", form("csrf_token", tok, "tenant_id", acmeID)).redirect(t, "/")
	op.get("/").want(t, 200).has(t, `<span class="brand-name">Acme</span>`)
}

func TestPageInviteExistingAccount(t *testing.T) {
	e := newEnv(t)
	api, _ := e.setup()
	api.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Beta", "owner_email": "boss@beta.test", "owner_name": "Boss", "owner_password": pw})
	boss := e.client()
	boss.login("boss@beta.test", pw)
	link := boss.expect(201, "POST", "/api/v1/invitations", map[string]string{"email": "op@acme.test", "role": "admin"})["invite_url"].(string)
	secret := link[strings.LastIndex(link, "/")+1:]

	c := e.client()
	r := c.get("/invite/"+secret).want(t, 200).has(t, "Join Beta", "You already have an account", `id="f-password"`).lacks(t, `id="f-name"`)
	tok := csrfField(t, r)
	for i := 0; i < maxAccountFailures; i++ {
		c.post("/invite/"+secret, form("csrf_token", tok, "password", "wrong password")).want(t, 401).has(t, flashError, "wrong email or password")
	}
	r = c.post("/invite/"+secret, form("csrf_token", tok, "password", pw)).want(t, 429).has(t, "too many failed attempts")
	if ra := r.Header.Get("Retry-After"); ra != "900" {
		t.Fatalf("Retry-After %q, want 900", ra)
	}
	e.clock.Add(throttleWindow)
	c.post("/invite/"+secret, form("csrf_token", tok, "password", pw)).redirect(t, "/")
	c.get("/").want(t, 200).has(t, "You joined Beta.", "op@acme.test", `>Beta</option>`)
}
