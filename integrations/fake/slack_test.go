package fake

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func slackConfig(srv *httptest.Server) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   srv.URL + "/oauth/v2/authorize",
			TokenURL:  srv.URL + "/api/oauth.v2.access",
			AuthStyle: oauth2.AuthStyleInHeader,
		},
		RedirectURL: testRedirect,
		// Slack wants comma-separated scopes: one comma-joined string,
		// since AuthCodeURL joins with spaces.
		Scopes: []string{"channels:read,channels:history,chat:write"},
	}
}

func newSlack(t *testing.T, o Options) (*Slack, *httptest.Server, *oauth2.Config) {
	t.Helper()
	o.ClientID, o.ClientSecret = testClientID, testClientSecret
	s := NewSlack(o)
	srv := serve(t, s)
	return s, srv, slackConfig(srv)
}

// slackAPI calls a Slack Web API method with the given Authorization.
func slackAPI(t *testing.T, srv *httptest.Server, method, auth string) map[string]any {
	t.Helper()
	status, m := call(t, srv.Client(), http.MethodPost, srv.URL+"/api/"+method, auth, nil)
	if status != http.StatusOK {
		t.Fatalf("%s: HTTP %d, want 200", method, status)
	}
	return m
}

func wantSlackError(t *testing.T, m map[string]any, code string) {
	t.Helper()
	if m["ok"] != false || m["error"] != code {
		t.Fatalf("answer %v, want ok:false error %q", m, code)
	}
}

func TestSlackRotationFlow(t *testing.T) {
	clk := newClock()
	s, srv, cfg := newSlack(t, Options{AccessTTL: 12 * time.Hour, AutoApprove: true, Now: clk.Now})
	ctx := ctxWith(srv.Client())

	authURL := cfg.AuthCodeURL("st-1", oauth2.SetAuthURLParam("team", "T0ACME0001"))
	code := authorizeCode(t, srv, authURL, "st-1")
	tok, err := cfg.Exchange(ctx, code)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if !strings.HasPrefix(tok.AccessToken, "xoxe.xoxb-1-") || !strings.HasPrefix(tok.RefreshToken, "xoxe-1-") {
		t.Fatalf("token shapes: access %.14s…, refresh %.8s…", tok.AccessToken, tok.RefreshToken)
	}
	if tok.ExpiresIn != 43200 || time.Until(tok.Expiry) < 11*time.Hour {
		t.Fatalf("expires_in %d, expiry %v", tok.ExpiresIn, tok.Expiry)
	}
	if tok.TokenType != "bot" || tok.Extra("scope") != "channels:read,channels:history,chat:write" ||
		tok.Extra("bot_user_id") != SlackBotUserID || tok.Extra("app_id") != SlackAppID {
		t.Fatalf("token fields: type %q scope %v bot %v app %v", tok.TokenType, tok.Extra("scope"), tok.Extra("bot_user_id"), tok.Extra("app_id"))
	}
	team, _ := tok.Extra("team").(map[string]any)
	if team["id"] != "T0ACME0001" || team["name"] != "Acme" {
		t.Fatalf("team %v", tok.Extra("team"))
	}
	if raw := tok.Extra("enterprise"); raw != nil {
		t.Fatalf("enterprise %v, want null", raw)
	}
	user, _ := tok.Extra("authed_user").(map[string]any)
	if user["id"] != SlackAuthedUser {
		t.Fatalf("authed_user %v", tok.Extra("authed_user"))
	}

	m := slackAPI(t, srv, "auth.test", "Bearer "+tok.AccessToken)
	if m["ok"] != true || m["team_id"] != "T0ACME0001" || m["team"] != "Acme" ||
		m["url"] != "https://acme.slack.com/" || m["user_id"] != SlackBotUserID || m["bot_id"] != SlackBotID {
		t.Fatalf("auth.test: %v", m)
	}

	// Refresh rotates: a new pair, and the old refresh token is refused.
	clk.Add(11 * time.Hour)
	tok2, err := refresh(ctx, cfg, tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.AccessToken == tok.AccessToken || tok2.RefreshToken == tok.RefreshToken || tok2.RefreshToken == "" {
		t.Fatal("refresh did not rotate the pair")
	}
	_, err = refresh(ctx, cfg, tok.RefreshToken)
	retrieveError(t, err, "invalid_refresh_token")
	// The old access token lives until it expires.
	if m := slackAPI(t, srv, "auth.test", "Bearer "+tok.AccessToken); m["ok"] != true {
		t.Fatalf("old access token before expiry: %v", m)
	}
	clk.Add(2 * time.Hour)
	wantSlackError(t, slackAPI(t, srv, "auth.test", "Bearer "+tok.AccessToken), "token_expired")
	if m := slackAPI(t, srv, "auth.test", "Bearer "+tok2.AccessToken); m["ok"] != true {
		t.Fatalf("new access token: %v", m)
	}

	// Revoke: the token and its refresh token stop working.
	if m := slackAPI(t, srv, "auth.revoke", "Bearer "+tok2.AccessToken); m["ok"] != true || m["revoked"] != true {
		t.Fatalf("auth.revoke: %v", m)
	}
	wantSlackError(t, slackAPI(t, srv, "auth.test", "Bearer "+tok2.AccessToken), "token_revoked")
	_, err = refresh(ctx, cfg, tok2.RefreshToken)
	retrieveError(t, err, "invalid_refresh_token")

	if got := s.TokenRequests("authorization_code"); got != 1 {
		t.Errorf("TokenRequests(authorization_code) = %d, want 1", got)
	}
	if got := s.TokenRequests("refresh_token"); got != 3 {
		t.Errorf("TokenRequests(refresh_token) = %d, want 3", got)
	}
	if got := s.Authorized(); got != 1 {
		t.Errorf("Authorized() = %d, want 1", got)
	}
	checkSecrets(t, s.IssuedSecrets(), tok.AccessToken, tok.RefreshToken, tok2.AccessToken, tok2.RefreshToken)
	if got := len(s.IssuedSecrets()); got != 4 {
		t.Errorf("%d issued secrets, want 4", got)
	}
}

func TestSlackWithoutRotation(t *testing.T) {
	s, srv, cfg := newSlack(t, Options{AutoApprove: true})
	ctx := ctxWith(srv.Client())
	tok, err := cfg.Exchange(ctx, authorizeCode(t, srv, cfg.AuthCodeURL("x"), "x"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.AccessToken, "xoxb-") || tok.RefreshToken != "" || !tok.Expiry.IsZero() {
		t.Fatalf("want a lasting xoxb- token without refresh token, got %.6s… refresh %t expiry %v",
			tok.AccessToken, tok.RefreshToken != "", tok.Expiry)
	}
	_, err = refresh(ctx, cfg, "xoxe-1-made-up")
	retrieveError(t, err, "invalid_refresh_token")
	s.RevokeAll()
	wantSlackError(t, slackAPI(t, srv, "auth.test", "Bearer "+tok.AccessToken), "token_revoked")
}

func TestSlackTokenErrors(t *testing.T) {
	_, srv, cfg := newSlack(t, Options{AutoApprove: true})
	ctx := ctxWith(srv.Client())

	_, err := cfg.Exchange(ctx, "not-a-code")
	retrieveError(t, err, "invalid_code")

	code := authorizeCode(t, srv, cfg.AuthCodeURL("x"), "x")
	other := *cfg
	other.RedirectURL = "http://127.0.0.1:8080/elsewhere"
	_, err = other.Exchange(ctx, code)
	retrieveError(t, err, "bad_redirect_uri")

	bad := *cfg
	bad.ClientSecret = "wrong"
	_, err = bad.Exchange(ctx, code)
	retrieveError(t, err, "bad_client_secret")

	bad.ClientID = "nobody"
	_, err = bad.Exchange(ctx, code)
	retrieveError(t, err, "invalid_client_id")

	// Credentials in the body are accepted too; refused attempts above did
	// not use the code up.
	inParams := *cfg
	inParams.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	if _, err := inParams.Exchange(ctx, code); err != nil {
		t.Fatalf("exchange with credentials in params: %v", err)
	}
	_, err = cfg.Exchange(ctx, code)
	retrieveError(t, err, "invalid_code")

	_, err = cfg.Exchange(ctx, code, oauth2.SetAuthURLParam("grant_type", "password"))
	retrieveError(t, err, "invalid_grant_type")
}

func TestSlackExpiredCode(t *testing.T) {
	clk := newClock()
	_, srv, cfg := newSlack(t, Options{AutoApprove: true, Now: clk.Now})
	code := authorizeCode(t, srv, cfg.AuthCodeURL("x"), "x")
	clk.Add(10*time.Minute + time.Second)
	_, err := cfg.Exchange(ctxWith(srv.Client()), code)
	retrieveError(t, err, "invalid_code")
}

func TestSlackAuthorizeErrors(t *testing.T) {
	s, srv, cfg := newSlack(t, Options{AutoApprove: true})

	// Scopes joined with spaces (x/oauth2's default) are one unknown scope.
	spaced := *cfg
	spaced.Scopes = []string{"channels:read", "channels:history"}
	q := follow(t, srv, spaced.AuthCodeURL("s1"))
	if q.Get("error") != "invalid_scope" || q.Get("state") != "s1" || q.Get("code") != "" {
		t.Fatalf("space-joined scopes: %v", q)
	}
	// chat:read is not a Slack scope.
	wrong := *cfg
	wrong.Scopes = []string{"channels:read,chat:read"}
	if q := follow(t, srv, wrong.AuthCodeURL("s2")); q.Get("error") != "invalid_scope" {
		t.Fatalf("chat:read: %v", q)
	}
	none := *cfg
	none.Scopes = nil
	if q := follow(t, srv, none.AuthCodeURL("s3")); q.Get("error") != "invalid_scope" {
		t.Fatalf("no scope: %v", q)
	}
	// user_scope alone is enough.
	if q := follow(t, srv, none.AuthCodeURL("s4", oauth2.SetAuthURLParam("user_scope", "users:read"))); q.Get("code") == "" {
		t.Fatalf("user_scope only: %v", q)
	}

	// An unknown client gets an error page, never a redirect.
	stranger := *cfg
	stranger.ClientID = "stranger"
	resp, err := noRedirect(srv).Get(stranger.AuthCodeURL("s5"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" ||
		!strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("unknown client: status %d location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if got := s.Authorized(); got != 1 {
		t.Fatalf("Authorized() = %d, want 1", got)
	}
}

func TestSlackConsent(t *testing.T) {
	s, srv, cfg := newSlack(t, Options{Workspace: Workspace{Name: "Globex Corp"}})
	authURL := cfg.AuthCodeURL("st<&>", oauth2.SetAuthURLParam("user_scope", "users:read"))

	q := consent(t, srv, authURL, "deny", "Globex Corp", "channels:history", "chat:write", testClientID)
	if q.Get("error") != "access_denied" || q.Get("state") != "st<&>" || q.Get("code") != "" {
		t.Fatalf("deny redirected with %v", q)
	}
	if s.Authorized() != 0 {
		t.Fatal("deny handed out a code")
	}

	q = consent(t, srv, authURL, "allow")
	if q.Get("state") != "st<&>" || q.Get("code") == "" {
		t.Fatalf("allow redirected with %v", q)
	}
	tok, err := cfg.Exchange(ctxWith(srv.Client()), q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if m := slackAPI(t, srv, "auth.test", "Bearer "+tok.AccessToken); m["team"] != "Globex Corp" {
		t.Fatalf("auth.test: %v", m)
	}
}

func TestSlackAuthTestRefusesOtherSchemes(t *testing.T) {
	_, srv, cfg := newSlack(t, Options{AutoApprove: true})
	ctx := ctxWith(srv.Client())
	tok, err := cfg.Exchange(ctx, authorizeCode(t, srv, cfg.AuthCodeURL("x"), "x"))
	if err != nil {
		t.Fatal(err)
	}
	wantSlackError(t, slackAPI(t, srv, "auth.test", "bot "+tok.AccessToken), "invalid_auth")
	wantSlackError(t, slackAPI(t, srv, "auth.test", ""), "invalid_auth")
	wantSlackError(t, slackAPI(t, srv, "auth.test", "Bearer xoxb-1-2-forged"), "invalid_auth")

	// The x/oauth2 trap: an oauth2.Client sends "Authorization: bot …".
	client := cfg.Client(ctx, tok)
	_, m := call(t, client, http.MethodGet, srv.URL+"/api/auth.test", "", nil)
	wantSlackError(t, m, "invalid_auth")

	// GET works too, with Bearer.
	if _, m := call(t, srv.Client(), http.MethodGet, srv.URL+"/api/auth.test", "Bearer "+tok.AccessToken, nil); m["ok"] != true {
		t.Fatalf("GET auth.test: %v", m)
	}
}

func TestSlackFailNext(t *testing.T) {
	s, srv, cfg := newSlack(t, Options{AutoApprove: true})
	ctx := ctxWith(srv.Client())
	code := authorizeCode(t, srv, cfg.AuthCodeURL("x"), "x")
	failNextThenSucceed(t, s.FailNext, func() (*oauth2.Token, error) { return cfg.Exchange(ctx, code) })
	if got := s.TokenRequests("authorization_code"); got != 2 {
		t.Fatalf("TokenRequests = %d, want 2", got)
	}

	s.FailNext(1, http.StatusTooManyRequests)
	resp, err := srv.Client().PostForm(srv.URL+"/api/oauth.v2.access", url.Values{"code": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "1" {
		t.Fatalf("429: status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

func TestSlackNotFound(t *testing.T) {
	_, srv, _ := newSlack(t, Options{})
	for _, p := range []string{"/api/conversations.unknown", "/oauth/authorize", "/"} {
		resp, err := srv.Client().Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", p, resp.StatusCode)
		}
	}
}
