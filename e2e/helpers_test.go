package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/integrations/oauth"
	"github.com/pmassist/pmassist/password"
	"github.com/pmassist/pmassist/server"
)

// actionTimeout bounds one browser step (an action and the page load it
// causes). It is generous: the machine that runs the tests may be busy.
const actionTimeout = 20 * time.Second

// ---------------------------------------------------------------------------
// Chromium.

// chromiumPath finds the browser: PMASSIST_CHROMIUM, else chromium,
// chromium-browser or google-chrome on PATH. Without one the test is
// skipped, or fails when PMASSIST_REQUIRE_CHROMIUM=1.
func chromiumPath(t *testing.T) string {
	t.Helper()
	var tried []string
	if p := os.Getenv("PMASSIST_CHROMIUM"); p != "" {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
		tried = append(tried, "PMASSIST_CHROMIUM="+p)
	} else {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if path, err := exec.LookPath(name); err == nil {
				return path
			}
			tried = append(tried, name)
		}
	}
	msg := fmt.Sprintf("no Chromium for the browser tests (tried %s); install Debian's chromium or set PMASSIST_CHROMIUM",
		strings.Join(tried, ", "))
	if os.Getenv("PMASSIST_REQUIRE_CHROMIUM") == "1" {
		t.Fatal(msg + " (PMASSIST_REQUIRE_CHROMIUM=1)")
	}
	t.Skip(msg)
	return ""
}

// startChromium starts one headless browser for the test, with a fresh
// profile, and returns its first tab's context.
func startChromium(t *testing.T) context.Context {
	t.Helper()
	path := chromiumPath(t)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	// The first call starts the browser and binds it to ctx, which has no
	// deadline; each step then runs with its own timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting %s: %v", path, err)
	}
	return ctx
}

// ---------------------------------------------------------------------------
// The appliance and the stand-ins.

// Untrusted text planted in the stand-ins: each piece sets window.__xss or
// opens a dialog if a page ever renders it as markup.
const (
	xssSlackDecision = `Decision: ship the importer <img src=x onerror="window.__xss=1"><script>window.__xss=2</script>`
	xssLinearTitle   = `"><svg onload=window.__xss=3> Adopt a strict CSP`
	xssPullTitle     = `ADR 0010: <iframe srcdoc="<script>parent.__xss=4</script>"></iframe> token storage`
	xssManualTitle   = `<script>window.__xss=5</script>Use "quotes" & <b>bold</b> 'safely'`
	xssManualSummary = `Summary with <img src=y onerror=alert("xss-summary")> inside`
	xssPersonName    = `Mallory <img src=z onerror=window.__xss=6>`
	xssBlocker       = `I'm blocked on the vendor <img src=w onerror=alert("xss-blocker")> contract`
)

// env is the appliance under test with its stand-ins, and what the test
// collects along the way: every text that must hold no secret, and the
// pages to save when the test fails.
type env struct {
	// t is the test or subtest that runs now: helpers fail it.
	t         *testing.T
	base      string // the appliance's base URL, http://127.0.0.1:port
	m         *app.Main
	closeOnce sync.Once
	logs      *syncBuffer

	slack  *fake.Slack
	linear *fake.Linear
	github *fake.GitHub
	stripe *fake.Stripe
	week   *fake.DemoWeek

	apps          map[pmassist.Service]oauth.AppCredentials
	stripeKey     string
	webhookSecret string
	email         string
	password      string
	apiToken      string // made in the pass without JavaScript

	mu sync.Mutex
	// seen is every page, response and answer of the run (what: where it
	// came from), for the secret sweep.
	seen []capture
	// unlogged are values a page may show once (an API token, an invitation
	// link) or that travel in cookies, which must still never be logged.
	unlogged []string
	pages    []artifact
}

type capture struct{ what, text string }

// artifact is one visited page: its screenshot and its HTML.
type artifact struct {
	name string
	png  []byte
	html string
}

// randomHex is n random bytes in hex, for secrets nobody could guess.
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// newEnv starts the stand-ins, seeded with the demo week and the hostile
// items, and the appliance on a free loopback port, Stripe configured
// against the Stripe stand-in and mail off.
func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, logs: &syncBuffer{},
		email: "owner@acme.test", password: "pw-" + randomHex(t, 12),
		stripeKey: "sk_test_e2e" + randomHex(t, 16), webhookSecret: "whsec_e2e" + randomHex(t, 16)}
	e.apps = map[pmassist.Service]oauth.AppCredentials{}
	for _, svc := range []pmassist.Service{pmassist.ServiceSlack, pmassist.ServiceLinear, pmassist.ServiceGitHub} {
		e.apps[svc] = oauth.AppCredentials{ClientID: "e2e-" + string(svc) + "-client",
			ClientSecret: string(svc) + "-client-secret-" + randomHex(t, 16), SigningSecret: string(svc) + "-signing-secret-" + randomHex(t, 16)}
	}
	opts := func(svc pmassist.Service, ttl time.Duration) fake.Options {
		// No AutoApprove: the browser clicks Allow on the consent page.
		return fake.Options{ClientID: e.apps[svc].ClientID, ClientSecret: e.apps[svc].ClientSecret, AccessTTL: ttl}
	}
	// Expiring tokens with rotating refresh tokens, so that the sweep also
	// looks for refresh tokens.
	e.slack = fake.NewSlack(opts(pmassist.ServiceSlack, 12*time.Hour))
	e.linear = fake.NewLinear(opts(pmassist.ServiceLinear, 0))
	e.github = fake.NewGitHub(opts(pmassist.ServiceGitHub, 8*time.Hour))
	week, err := fake.SeedDemoWeek(e.slack, e.linear, e.github, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.week = week
	e.plantHostileItems()
	e.stripe = fake.NewStripe(e.stripeKey)

	urls := map[string]string{}
	for name, h := range map[string]http.Handler{"slack": e.slack, "linear": e.linear, "github": e.github, "stripe": e.stripe} {
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		urls[name] = srv.URL
	}

	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		listen, err := freeAddr()
		if err != nil {
			t.Fatal(err)
		}
		m := app.NewMain()
		m.Config.Addr, m.Config.DataDir, m.Config.BaseURL = listen, dir, "http://"+listen
		m.Config.Signup, m.Config.DefaultTier = server.SignupInvite, string(pmassist.TierPro)
		m.Config.Providers = app.ProviderConfig{Apps: e.apps,
			SlackURL: urls["slack"], LinearURL: urls["linear"], LinearAPIURL: urls["linear"],
			GitHubURL: urls["github"], GitHubAPIURL: urls["github"]}
		m.Config.Stripe = app.StripeConfig{SecretKey: e.stripeKey, WebhookSecret: e.webhookSecret, APIURL: urls["stripe"],
			PricePro: "price_e2e_pro", PriceEnterprise: "price_e2e_enterprise"}
		m.PasswordParams = password.Cheap
		// Every level, so that the sweep sees every line the appliance can
		// write.
		m.Logger = slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		err = m.Open()
		if errors.Is(err, syscall.EADDRINUSE) && attempt < 5 {
			continue // someone took the port between freeAddr and Open
		}
		if err != nil {
			t.Fatal(err)
		}
		e.m, e.base = m, m.Config.BaseURL
		break
	}
	t.Cleanup(e.close)
	return e
}

// close stops the appliance (once), so that the sweep also sees the lines
// it logs while stopping.
func (e *env) close() {
	e.closeOnce.Do(func() {
		if err := e.m.Close(); err != nil {
			e.t.Errorf("closing the appliance: %v", err)
		}
	})
}

// freeAddr is a loopback address with a port free right now: the base URL
// (and so the OAuth redirect URLs) needs the port before the server starts.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// plantHostileItems adds untrusted markup to the demo week: a Slack
// decision and a blocker by a person whose name is markup, a Linear issue
// labelled "decision" and an ADR pull request whose titles are markup. All
// of it happens on the week's last day, the day a default standup covers.
func (e *env) plantHostileItems() {
	t := e.t
	last := e.week.Days[len(e.week.Days)-1]
	data := e.slack.Data()
	data.Users = append(data.Users, fake.SlackUser{ID: "U0ACMEMAL1", Name: "mallory", RealName: xssPersonName,
		DisplayName: xssPersonName, Email: "mallory@acme.test", TZ: "Europe/London"})
	e.slack.SetData(data)
	alice := e.week.People[0]
	slackTS := func(at time.Time) string { return fmt.Sprintf("%d.000700", at.Unix()) }
	if _, err := e.slack.AddMessage(fake.SlackChanEng, fake.SlackMessage{TS: slackTS(last.Add(11*time.Hour + 7*time.Minute)),
		User: alice.SlackID, Text: xssSlackDecision}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.slack.AddMessage(fake.SlackChanEng, fake.SlackMessage{TS: slackTS(last.Add(11*time.Hour + 9*time.Minute)),
		User: "U0ACMEMAL1", Text: xssBlocker}); err != nil {
		t.Fatal(err)
	}
	done := last.Add(13 * time.Hour)
	assignee := &fake.LinearUser{ID: alice.LinearID, Name: alice.Name, Email: alice.Email}
	e.linear.UpsertIssue(fake.LinearIssue{Title: xssLinearTitle, Description: "Decided in the security review: " + xssLinearTitle,
		Team: fake.LinearTeamENG, StateName: "Done", Assignee: assignee, Creator: assignee, Labels: []string{"decision"},
		CreatedAt: last.Add(9 * time.Hour), CompletedAt: &done})
	merged := last.Add(14 * time.Hour)
	if _, err := e.github.UpsertPull("acme/api", fake.GitHubPull{Title: xssPullTitle, Body: "Where the tokens live. " + xssPullTitle,
		User: e.week.People[1].GitHubLogin, State: "closed", CreatedAt: last.Add(10 * time.Hour), ClosedAt: &merged, MergedAt: &merged,
		Files: []fake.GitHubFile{{Filename: "docs/adr/0010-token-storage.md", Status: "added"}}}); err != nil {
		t.Fatal(err)
	}
}

// see records text that must hold no secret.
func (e *env) see(what, text string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.seen = append(e.seen, capture{what, text})
}

// mustNotLog records a value that a page may show (once) but that no log
// line may hold.
func (e *env) mustNotLog(v string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.unlogged = append(e.unlogged, v)
}

// apiGet reads the appliance's API with a bearer token and returns the
// answer (kept for the sweep); it fails the test unless the answer is 200.
func (e *env) apiGet(token, path string) []byte {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.base+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	return e.send(req, http.StatusOK)
}

// send sends a request to the appliance, keeps the answer for the sweep and
// fails the test on another status than want.
func (e *env) send(req *http.Request, want int) []byte {
	e.t.Helper()
	client := &http.Client{Timeout: actionTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	headers, _ := json.Marshal(res.Header)
	e.see(req.Method+" "+req.URL.Path+" (API answer)", string(headers)+"\n"+string(raw))
	if res.StatusCode != want {
		e.t.Fatalf("%s %s: HTTP %d, want %d: %.500s", req.Method, req.URL.Path, res.StatusCode, want, raw)
	}
	return raw
}

// secrets lists what must never show up in a page, a response or a log
// line: the tokens the stand-ins issued, the apps' client and signing
// secrets, the Stripe keys, the master key and the password.
func (e *env) secrets() map[string]string {
	complete := !e.t.Failed() // a run that stopped early may not have connected
	out := map[string]string{"the owner's password": e.password, "the Stripe secret key": e.stripeKey,
		"the Stripe webhook secret": e.webhookSecret}
	for svc, a := range e.apps {
		out[string(svc)+" client secret"] = a.ClientSecret
		out[string(svc)+" signing secret"] = a.SigningSecret
	}
	for name, s := range map[string]interface{ IssuedSecrets() []string }{"slack": e.slack, "linear": e.linear, "github": e.github} {
		issued := s.IssuedSecrets()
		if len(issued) == 0 && complete {
			e.t.Errorf("the %s stand-in issued no token: the sweep would prove nothing", name)
		}
		for i, tok := range issued {
			out[fmt.Sprintf("%s token #%d", name, i+1)] = tok
		}
	}
	raw, err := os.ReadFile(filepath.Join(e.m.Config.DataDir, app.MasterKeyFile))
	if err != nil {
		e.t.Fatalf("reading the master key: %v", err)
	}
	for i, item := range strings.FieldsFunc(string(raw), func(r rune) bool { return r == ',' || r == '\n' || r == '\r' }) {
		_, key, found := strings.Cut(strings.TrimSpace(item), ":")
		if !found {
			key = strings.TrimSpace(item)
		}
		out[fmt.Sprintf("master key #%d", i+1)] = key
		if b, err := base64.StdEncoding.DecodeString(key); err == nil {
			out[fmt.Sprintf("master key #%d (hex)", i+1)] = hex.EncodeToString(b)
			out[fmt.Sprintf("master key #%d (base64url)", i+1)] = base64.RawURLEncoding.EncodeToString(b)
		}
	}
	return out
}

// sweep checks every page, response and log line of the run for secrets
// (of a run that stopped early too: what it saw must hold none either).
func (e *env) sweep() {
	t := e.t
	complete := !t.Failed()
	secrets := e.secrets()
	for name, s := range secrets {
		if len(s) < 12 {
			t.Errorf("secret %s is too short to look for: %q", name, s)
		}
	}
	e.mu.Lock()
	seen := slices.Clone(e.seen)
	unlogged := slices.Clone(e.unlogged)
	e.mu.Unlock()
	if len(seen) < 20 && complete {
		t.Errorf("only %d pages and answers were captured: the sweep would prove little", len(seen))
	}
	for _, c := range seen {
		for name, s := range secrets {
			if strings.Contains(c.text, s) {
				t.Errorf("%s shows %s", c.what, name)
			}
		}
	}
	logs := e.logs.String()
	if !strings.Contains(logs, `"msg"`) {
		t.Error("no log line was captured: the sweep would prove nothing")
	}
	for name, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("a log line shows %s: %s", name, lineWith(logs, s))
		}
	}
	for i, s := range unlogged {
		if strings.Contains(logs, s) {
			t.Errorf("a log line shows a one-time value (#%d: token, invitation or session): %s", i+1, lineWith(logs, s))
		}
	}
	t.Logf("secret sweep: %d secrets, %d pages and answers, %d log lines", len(secrets), len(seen), strings.Count(logs, "\n"))
}

// lineWith returns the log line holding s, with s masked.
func lineWith(logs, s string) string {
	for line := range strings.Lines(logs) {
		if strings.Contains(line, s) {
			return strings.TrimSpace(strings.ReplaceAll(line, s, "<SECRET>"))
		}
	}
	return ""
}

// syncBuffer is the appliance's log, written from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// saveArtifacts writes the screenshots and HTML of the pages visited when
// the test failed.
func (e *env) saveArtifacts() {
	t := e.t
	if !t.Failed() {
		return
	}
	dir := os.Getenv("PMASSIST_E2E_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "e2e-artifacts-"+time.Now().Format("20060102-150405.000"))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Logf("cannot save the screenshots: %v", err)
		return
	}
	e.mu.Lock()
	pages := slices.Clone(e.pages)
	e.mu.Unlock()
	unsafe := regexp.MustCompile(`[^A-Za-z0-9._-]+`)
	for i, p := range pages {
		base := filepath.Join(dir, fmt.Sprintf("%03d-%s", i+1, strings.Trim(unsafe.ReplaceAllString(p.name, "-"), "-")))
		if len(p.png) > 0 {
			if err := os.WriteFile(base+".png", p.png, 0o644); err != nil {
				t.Logf("saving %s: %v", base, err)
			}
		}
		if p.html != "" {
			_ = os.WriteFile(base+".html", []byte(p.html), 0o644)
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "appliance.log"), []byte(e.logs.String()), 0o644)
	t.Logf("screenshots and HTML of the %d pages visited, and the appliance's log, are in %s", len(pages), dir)
}

// ---------------------------------------------------------------------------
// The browser.

// browser is one tab, signed in as one person. It records every page it
// shows (for the artifacts and the secret sweep), answers every JavaScript
// dialog (there must be none), notes every script the pages' Content
// Security Policy refused (there must be none: a refusal is markup that
// escaped escaping) and lands the Stripe Checkout and portal redirects on a
// stand-in page.
type browser struct {
	t    *testing.T
	e    *env
	name string
	ctx  context.Context
	// shotFailure is set once the whole page was saved at a failure.
	shotFailure bool

	mu      sync.Mutex
	dialogs []string
	bodies  []network.RequestID // finished responses whose bodies to read
	kinds   map[network.RequestID]string
}

// tab says how a tab is set up.
type tab struct {
	// noJS turns script execution off.
	noJS bool
	// ownCookies opens the tab in a new browser context: nobody is signed
	// in there. Otherwise the tab shares the parent's cookies.
	ownCookies bool
	// bypassCSP makes the browser ignore the pages' Content Security
	// Policy, so that markup that was not escaped would run: the pages'
	// escaping is then all that stands between planted text and script.
	bypassCSP bool
}

// cspWatch runs first in every document: it keeps the script-related
// Content Security Policy violations in window.__csp.
const cspWatch = `document.addEventListener("securitypolicyviolation", function (e) {
	if (/^script-src/.test(e.effectiveDirective) || /^(object|frame|child)-src/.test(e.effectiveDirective)) {
		(window.__csp = window.__csp || []).push(e.effectiveDirective + " refused " + (e.blockedURI || "inline") + " at " + e.documentURI);
	}
}, true);`

// newBrowser opens a tab in the running browser.
func (e *env) newBrowser(parent context.Context, name string, o tab) *browser {
	t := e.t
	t.Helper()
	var opts []chromedp.ContextOption
	if o.ownCookies {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(parent, opts...)
	t.Cleanup(cancel)
	b := &browser{t: t, e: e, name: name, ctx: ctx, kinds: map[network.RequestID]string{}}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("%s: opening a tab: %v", name, err)
	}
	if err := chromedp.Listen(ctx, b.event); err != nil {
		t.Fatal(err)
	}
	// Cleanups run last first: this one runs while the tab is still open.
	t.Cleanup(func() {
		if t.Failed() && !b.shotFailure {
			b.record("at the failure", true)
		}
	})
	// A desktop window: narrower ones fold the sidebar into a menu.
	b.do("setting up the tab", chromedp.EmulateViewport(1280, 900), chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if o.noJS {
			if _, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
				return err
			}
		}
		if o.bypassCSP {
			if _, err := cdp.Call(ctx, tg, page.SetBypassCSP, page.SetBypassCSPParams{Enabled: true}); err != nil {
				return err
			}
		}
		if _, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspWatch}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{
			{URLPattern: fake.StripeCheckoutURL + "*"}, {URLPattern: fake.StripePortalURL + "*"}}})
		return err
	}))
	return b
}

// event runs in the tab's event loop: it must return at once and send no
// command itself.
func (b *browser) event(ev any) {
	switch ev := ev.(type) {
	case *page.EventJavascriptDialogOpening:
		b.mu.Lock()
		b.dialogs = append(b.dialogs, fmt.Sprintf("%s %q on %s", ev.Type, ev.Message, ev.URL))
		b.mu.Unlock()
		go func() {
			_, _ = chromedp.Call(b.ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}()
	case *fetch.EventRequestPaused:
		// Stripe's hosted pages do not exist here: a stand-in page takes
		// their place, so that the browser shows where it was sent.
		go func() {
			_, _ = chromedp.Call(b.ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: 200,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}},
				Body:            []byte(`<!doctype html><title>Stripe (stand-in)</title><h1 id="stripe-stand-in">Stripe hosted page (stand-in)</h1>`)})
		}()
	case *network.EventRequestWillBeSent:
		text := ev.Request.URL
		if ev.RedirectResponse != nil {
			h, _ := json.Marshal(ev.RedirectResponse.Headers)
			text += "\n" + string(h)
		}
		b.e.see(b.name+": request "+ev.Request.URL, text)
	case *network.EventResponseReceived:
		h, _ := json.Marshal(ev.Response.Headers)
		b.e.see(b.name+": response headers of "+ev.Response.URL, string(h))
		switch ev.Type {
		case network.ResourceTypeDocument, network.ResourceTypeXHR, network.ResourceTypeFetch:
			b.mu.Lock()
			b.kinds[ev.RequestID] = ev.Response.URL
			b.mu.Unlock()
		}
	case *network.EventLoadingFinished:
		b.mu.Lock()
		if _, ok := b.kinds[ev.RequestID]; ok {
			b.bodies = append(b.bodies, ev.RequestID)
		}
		b.mu.Unlock()
	}
}

// do runs actions as one step, failing the test (with a screenshot) on an
// error.
func (b *browser) do(step string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.fail(step, err)
	}
}

// get runs an action that returns a value as one step.
func get[T any](b *browser, step string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.fail(step, err)
	}
	return v
}

func (b *browser) fail(step string, err error) {
	b.t.Helper()
	b.record("FAILED "+step, true)
	b.shotFailure = true
	b.t.Fatalf("%s: %s: %v", b.name, step, err)
}

// open loads a page of the appliance and checks it (see checkPage).
func (b *browser) open(step, path string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	res, err := chromedp.Run(ctx, chromedp.NavigateResponse(b.e.base+path))
	if err != nil {
		b.fail(step, err)
	}
	b.checkPage(step, res)
}

// submit clicks a button (or link) that loads another page, waits for it
// and checks it.
func (b *browser) submit(step string, sel chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, sel)
	if err != nil {
		b.fail(step, err)
	}
	b.checkPage(step, res)
}

// checkPage records the page now shown and checks that it loaded with 200
// and that no injected script ran and no dialog opened.
func (b *browser) checkPage(step string, res *network.Response) {
	b.t.Helper()
	b.record(step, false)
	if res != nil && res.Status != http.StatusOK {
		b.t.Fatalf("%s: %s: %s answered HTTP %d", b.name, step, res.URL, res.Status)
	}
	b.noScriptRan(step)
}

// noScriptRan fails the test if planted markup ran in the page (it sets
// window.__xss or opens a dialog) or tried to and was refused by the
// Content Security Policy.
func (b *browser) noScriptRan(step string) {
	b.t.Helper()
	got := get(b, step+": reading window.__xss", chromedp.Evaluate[[]string](
		`[typeof window.__xss === "undefined" ? "" : String(window.__xss)].concat(window.__csp || [])`))
	if len(got) > 0 && got[0] != "" {
		b.t.Errorf("%s: %s: an injected script ran (window.__xss = %s)", b.name, step, got[0])
	}
	for _, v := range got[min(1, len(got)):] {
		b.t.Errorf("%s: %s: the Content Security Policy refused a script: %s", b.name, step, v)
	}
	b.mu.Lock()
	dialogs := slices.Clone(b.dialogs)
	b.dialogs = nil
	b.mu.Unlock()
	for _, d := range dialogs {
		b.t.Errorf("%s: %s: a JavaScript dialog opened: %s", b.name, step, d)
	}
}

// record keeps the page now shown: its HTML and the bodies of the
// responses since the last record for the sweep, and a screenshot (of the
// whole page when full) and the HTML for the artifacts. It never fails the test (it also runs when a
// step has failed).
func (b *browser) record(step string, full bool) {
	ctx, cancel := context.WithTimeout(b.ctx, actionTimeout)
	defer cancel()
	name := b.name + " " + step
	html, err := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
	if err != nil {
		html = fmt.Sprintf("<!-- no HTML: %v -->", err)
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	b.e.see(name+" (page "+loc+")", html)
	b.mu.Lock()
	ids := b.bodies
	b.bodies = nil
	b.mu.Unlock()
	for _, id := range ids {
		res, err := chromedp.Call(ctx, network.GetResponseBody, network.GetResponseBodyParams{RequestID: id})
		if err == nil {
			b.mu.Lock()
			u := b.kinds[id]
			b.mu.Unlock()
			b.e.see(b.name+": body of "+u, string(res.Body))
		}
	}
	// The window is enough for a page that loaded well (and much faster to
	// take); a failing step gets the whole page.
	shot := chromedp.CaptureScreenshot()
	if full {
		shot = chromedp.FullScreenshot(100)
	}
	png, err := chromedp.Run(ctx, shot)
	if err != nil {
		b.t.Logf("%s: no screenshot: %v", name, err)
	}
	b.e.mu.Lock()
	b.e.pages = append(b.e.pages, artifact{name: name, png: png, html: "<!-- " + loc + " -->\n" + html})
	b.e.mu.Unlock()
}

// noteSession records the tab's session cookie: no log line may hold it.
func (b *browser) noteSession() {
	b.t.Helper()
	cookies := get(b, "reading the cookies", chromedp.Action[network.GetCookiesResult](
		func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
			return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{b.e.base + "/"}})
		}))
	found := false
	for _, c := range cookies.Cookies {
		if c.Name == "pmassist_session" {
			b.e.mustNotLog(c.Value)
			found = true
		}
	}
	if !found {
		b.t.Errorf("%s: no session cookie after signing in", b.name)
	}
}

// location is the URL the tab shows.
func (b *browser) location() string {
	b.t.Helper()
	return get(b, "reading the location", chromedp.Location())
}

// text is the rendered text (innerText) of the first element matching a
// CSS selector.
func (b *browser) text(css string) string {
	b.t.Helper()
	return get(b, "reading "+css, chromedp.Text(chromedp.CSS(css)))
}

// bodyText is the rendered text of the whole page.
func (b *browser) bodyText() string {
	b.t.Helper()
	return get(b, "reading the page's text", chromedp.Evaluate[string](`document.body.innerText`))
}

// count is the number of elements matching a CSS selector.
func (b *browser) count(css string) int {
	b.t.Helper()
	q, _ := json.Marshal(css)
	return get(b, "counting "+css, chromedp.Evaluate[int](`document.querySelectorAll(`+string(q)+`).length`))
}

// wantText fails the test unless the page's text holds every piece.
func (b *browser) wantText(step string, pieces ...string) {
	b.t.Helper()
	text := b.bodyText()
	for _, p := range pieces {
		if !strings.Contains(text, p) {
			b.t.Errorf("%s: %s: the page does not show %q", b.name, step, p)
		}
	}
}

// wantPath fails the test unless the tab shows the appliance's path (the
// query is ignored unless path has one).
func (b *browser) wantPath(step, path string) {
	b.t.Helper()
	loc := b.location()
	got := strings.TrimPrefix(loc, b.e.base)
	if !strings.Contains(path, "?") {
		got, _, _ = strings.Cut(got, "?")
	}
	if got != path {
		b.t.Fatalf("%s: %s: the browser is at %s, want %s", b.name, step, loc, b.e.base+path)
	}
}

// xpath is a chromedp search selector by XPath, quoting text for it.
func xpath(format string, texts ...string) chromedp.Search {
	args := make([]any, len(texts))
	for i, s := range texts {
		args[i] = xpathLiteral(s)
	}
	return chromedp.Search(fmt.Sprintf(format, args...))
}

// xpathLiteral quotes s as an XPath 1.0 string literal.
func xpathLiteral(s string) string {
	if !strings.Contains(s, `"`) {
		return `"` + s + `"`
	}
	if !strings.Contains(s, `'`) {
		return `'` + s + `'`
	}
	parts := strings.Split(s, `"`)
	for i, p := range parts {
		parts[i] = `"` + p + `"`
	}
	return "concat(" + strings.Join(parts, `, '"', `) + ")"
}
