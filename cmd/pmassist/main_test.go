package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/password"
)

// MustRunMain starts the real server on :0 with a temporary data folder.
func MustRunMain(tb testing.TB, dataDir string) *app.Main {
	tb.Helper()
	m := app.NewMain()
	m.Config.Addr = "127.0.0.1:0"
	m.Config.DataDir = dataDir
	m.PasswordParams = password.Cheap
	if err := m.Open(); err != nil {
		tb.Fatal(err)
	}
	m.Config.BaseURL = "http://" + m.Server.Addr()
	tb.Cleanup(func() {
		if err := m.Close(); err != nil {
			tb.Error(err)
		}
	})
	return m
}

type apiClient struct {
	tb    testing.TB
	base  string
	http  *http.Client
	token string
	csrf  string
}

func newClient(tb testing.TB, base string) *apiClient {
	jar, _ := cookiejar.New(nil)
	return &apiClient{tb: tb, base: base, http: &http.Client{Jar: jar}}
}

func (c *apiClient) call(method, path string, body any, want int) map[string]any {
	c.tb.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, c.base+path, rd)
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
		c.tb.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		c.tb.Fatalf("%s %s: %d, want %d: %s", method, path, res.StatusCode, want, raw)
	}
	var out map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			c.tb.Fatalf("%s %s: not JSON: %s", method, path, raw)
		}
	}
	return out
}

const pw = "correct horse battery"

func TestEndToEnd(t *testing.T) {
	dir := t.TempDir()
	m := MustRunMain(t, dir)
	base := "http://" + m.Server.Addr()

	if fi, err := os.Stat(filepath.Join(dir, "master.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("master key: %v %v", fi, err)
	}
	if _, err := os.Stat(filepath.Join(dir, app.DataFileName)); err != nil {
		t.Fatal(err)
	}

	anon := newClient(t, base)
	anon.call("GET", "/readyz", nil, 200)
	anon.call("POST", "/api/v1/setup", map[string]string{"email": "op@acme.test", "password": pw, "name": "Op", "tenant_name": "Acme"}, 201)

	op := newClient(t, base)
	op.call("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": pw}, 200)
	op.csrf = op.call("GET", "/api/v1/me", nil, 200)["csrf_token"].(string)
	tok := op.call("POST", "/api/v1/tokens", map[string]string{"name": "e2e"}, 201)["token"].(string)

	bearer := newClient(t, base)
	bearer.token = tok
	me := bearer.call("GET", "/api/v1/me", nil, 200)
	if me["user"].(map[string]any)["email"] != "op@acme.test" || me["tenant"].(map[string]any)["name"] != "Acme" {
		t.Fatalf("me: %v", me)
	}
	// Invite a member into Acme so there is tenant data to hide.
	bearer.call("POST", "/api/v1/invitations", map[string]string{"email": "ada@acme.test", "role": "member"}, 201)

	beta := bearer.call("POST", "/api/v1/admin/tenants", map[string]string{"name": "Beta", "owner_email": "boss@beta.test", "owner_name": "Boss", "owner_password": pw}, 201)
	betaID := beta["tenant"].(map[string]any)["id"].(string)

	boss := newClient(t, base)
	boss.call("POST", "/api/v1/auth/login", map[string]string{"email": "boss@beta.test", "password": pw}, 200)
	boss.csrf = boss.call("GET", "/api/v1/me", nil, 200)["csrf_token"].(string)
	bossTok := boss.call("POST", "/api/v1/tokens", map[string]string{"name": "beta"}, 201)["id"].(string)
	bossInv := boss.call("POST", "/api/v1/invitations", map[string]string{"email": "x@beta.test"}, 201)["id"].(string)

	// Beta sees only Beta; Acme's token sees only Acme and cannot touch Beta's ids.
	if ms := boss.call("GET", "/api/v1/members", nil, 200)["members"].([]any); len(ms) != 1 {
		t.Fatalf("beta members: %v", ms)
	}
	if invs := boss.call("GET", "/api/v1/invitations", nil, 200)["invitations"].([]any); len(invs) != 1 || invs[0].(map[string]any)["email"] != "x@beta.test" {
		t.Fatalf("beta invitations: %v", invs)
	}
	for _, inv := range bearer.call("GET", "/api/v1/invitations", nil, 200)["invitations"].([]any) {
		if inv.(map[string]any)["email"] == "x@beta.test" {
			t.Fatal("Acme sees Beta's invitation")
		}
	}
	if tn := bearer.call("GET", "/api/v1/tenant", nil, 200); tn["id"] == betaID {
		t.Fatal("Acme's token reads Beta")
	}
	bearer.call("DELETE", "/api/v1/tokens/"+bossTok, nil, 404)
	bearer.call("DELETE", "/api/v1/invitations/"+bossInv, nil, 404)
	bearer.call("POST", "/api/v1/me/tenant", map[string]string{"tenant_id": betaID}, 400)
	op.call("POST", "/api/v1/me/tenant", map[string]string{"tenant_id": betaID}, 404)
	for _, ev := range boss.call("GET", "/api/v1/audit", nil, 200)["events"].([]any) {
		if strings.Contains(ev.(map[string]any)["target"].(string), "ada@acme.test") {
			t.Fatal("Acme's audit event in Beta's log")
		}
	}

	// The setup page is gone once set up, and pages are served.
	res, err := http.Get(base + "/login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), "csrf_token") {
		t.Fatalf("login page: %d", res.StatusCode)
	}

	// A second process cannot open the same data file while this one runs.
	var out, errOut bytes.Buffer
	code := runAdmin(context.Background(), []string{"create-operator", "--email", "x@y.test", "--password-stdin", "--data", dir},
		strings.NewReader(pw+"\n"), &out, &errOut, os.Getenv)
	if code == nil || !strings.Contains(code.Error(), "in use") {
		t.Fatalf("second open: %v", code)
	}

	// healthcheck against the running server.
	if rc := Run(context.Background(), []string{"healthcheck", "--url", base}, nil, io.Discard, os.Stderr, os.Getenv); rc != 0 {
		t.Fatalf("healthcheck exit %d", rc)
	}
}

func TestDataSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	m := app.NewMain()
	m.Config.Addr, m.Config.DataDir, m.PasswordParams = "127.0.0.1:0", dir, password.Cheap
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, "http://"+m.Server.Addr())
	c.call("POST", "/api/v1/setup", map[string]string{"email": "op@acme.test", "password": pw, "name": "Op", "tenant_name": "Acme"}, 201)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	m2 := MustRunMain(t, dir)
	c2 := newClient(t, "http://"+m2.Server.Addr())
	c2.call("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": pw}, 200)
	c2.call("POST", "/api/v1/setup", map[string]string{"email": "b@acme.test", "password": pw, "name": "B", "tenant_name": "B"}, 409)
}

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out bytes.Buffer
	errFile, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if len(args) == 0 || args[0] == "serve" || strings.HasPrefix(args[0], "-") {
		cancel() // serve returns as soon as it is up
	}
	rc := Run(ctx, args, strings.NewReader(env["STDIN"]), &out, errFile, func(k string) string { return env[k] })
	errBytes, _ := os.ReadFile(errFile.Name())
	return rc, out.String(), string(errBytes)
}

func TestSettingsAndCommands(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		rc      int
		wantErr string
	}{
		{"bad signup env", map[string]string{"PMASSIST_SIGNUP": "maybe"}, []string{"serve", "--data", dir}, 2, "PMASSIST_SIGNUP"},
		{"bad addr flag", nil, []string{"--addr", "nonsense", "--data", dir}, 2, "--addr"},
		{"bad base url", map[string]string{"PMASSIST_BASE_URL": "ftp://x"}, []string{"--data", dir}, 2, "PMASSIST_BASE_URL"},
		{"bad tier", nil, []string{"--default-tier", "gold", "--data", dir}, 2, "--default-tier"},
		{"bad log level", map[string]string{"PMASSIST_LOG_LEVEL": "loud"}, []string{"--data", dir}, 2, "PMASSIST_LOG_LEVEL"},
		{"bad master key", map[string]string{"PMASSIST_MASTER_KEY": "c2hvcnQ="}, []string{"--data", dir}, 2, "PMASSIST_MASTER_KEY"},
		{"stripe key without webhook secret", map[string]string{"PMASSIST_STRIPE_SECRET_KEY": "sk_test_c2hvcnQ=", "PMASSIST_STRIPE_PRICE_PRO": "price_1"}, []string{"--data", dir}, 2, "PMASSIST_STRIPE_WEBHOOK_SECRET"},
		{"stripe without prices", map[string]string{"PMASSIST_STRIPE_SECRET_KEY": "sk_test_c2hvcnQ=", "PMASSIST_STRIPE_WEBHOOK_SECRET": "whsec_c2hvcnQ="}, []string{"--data", dir}, 2, "PMASSIST_STRIPE_PRICE_PRO"},
		{"stripe secret without key", map[string]string{"PMASSIST_STRIPE_WEBHOOK_SECRET": "whsec_c2hvcnQ="}, []string{"--data", dir}, 2, "PMASSIST_STRIPE_SECRET_KEY"},
		{"bad stripe url", map[string]string{"PMASSIST_STRIPE_SECRET_KEY": "sk_test_c2hvcnQ=", "PMASSIST_STRIPE_WEBHOOK_SECRET": "whsec_c2hvcnQ=", "PMASSIST_STRIPE_PRICE_PRO": "price_1", "PMASSIST_STRIPE_API_URL": "stripe"}, []string{"--data", dir}, 2, "PMASSIST_STRIPE_API_URL"},
		{"unknown flag", nil, []string{"--nope"}, 2, "nope"},
		{"unknown command", nil, []string{"frobnicate"}, 2, "unknown command"},
		{"flag beats env", map[string]string{"PMASSIST_SIGNUP": "maybe"}, []string{"--signup", "open", "--addr", "127.0.0.1:0", "--data", dir, "--log-format", "json"}, 0, ""},
		{"weak operator password", map[string]string{"STDIN": "short\n"}, []string{"admin", "create-operator", "--email", "o@x.test", "--password-stdin", "--data", dir}, 2, "password"},
		{"create operator", map[string]string{"STDIN": pw + "\n"}, []string{"admin", "create-operator", "--email", "o@x.test", "--password-stdin", "--data", dir}, 0, ""},
		{"operator exists", map[string]string{"STDIN": pw + "\n"}, []string{"admin", "create-operator", "--email", "O@x.test", "--password-stdin", "--data", dir}, 1, "already"},
		{"healthcheck down", nil, []string{"healthcheck", "--url", "http://127.0.0.1:1"}, 1, "not healthy"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, _, stderr := run(t, tc.env, tc.args...)
			if rc != tc.rc || !strings.Contains(stderr, tc.wantErr) {
				t.Fatalf("rc %d (want %d), stderr %q (want %q)", rc, tc.rc, stderr, tc.wantErr)
			}
			if tc.rc == 2 && strings.Count(strings.TrimSpace(stderr), "\n") > 0 && !strings.Contains(tc.name, "flag") {
				t.Fatalf("more than one line: %q", stderr)
			}
			if strings.Contains(stderr, "c2hvcnQ=") {
				t.Fatal("master key echoed")
			}
		})
	}
	rc, out, _ := run(t, nil, "version")
	if rc != 0 || !strings.HasPrefix(out, "pmassist ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: %d %q", rc, out)
	}
	// The operator made on the command line can sign in.
	m := MustRunMain(t, dir)
	newClient(t, "http://"+m.Server.Addr()).call("POST", "/api/v1/auth/login", map[string]string{"email": "o@x.test", "password": pw}, 200)
}
