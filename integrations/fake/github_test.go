package fake

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// acceptJSON adds `Accept: application/json`, as GitHub token requests need
// to get JSON instead of a form-encoded answer.
type acceptJSON struct{ base http.RoundTripper }

func (a acceptJSON) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "application/json")
	return a.base.RoundTrip(r)
}

func jsonClient(srv *httptest.Server) *http.Client {
	return &http.Client{Transport: acceptJSON{srv.Client().Transport}}
}

func githubConfig(srv *httptest.Server) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   srv.URL + "/login/oauth/authorize",
			TokenURL:  srv.URL + "/login/oauth/access_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: testRedirect,
		Scopes:      []string{"repo", "read:org"}, // space-separated
	}
}

func newGitHub(t *testing.T, o Options) (*GitHub, *httptest.Server, *oauth2.Config) {
	t.Helper()
	o.ClientID, o.ClientSecret = testClientID, testClientSecret
	g := NewGitHub(o)
	srv := serve(t, g)
	return g, srv, githubConfig(srv)
}

// ghUser calls GET /user with the given Authorization.
func ghUser(t *testing.T, srv *httptest.Server, auth string) (int, map[string]any) {
	t.Helper()
	return call(t, srv.Client(), http.MethodGet, srv.URL+"/user", auth, nil)
}

func wantBadCredentials(t *testing.T, srv *httptest.Server, auth string) {
	t.Helper()
	status, m := ghUser(t, srv, auth)
	if status != http.StatusUnauthorized || m["message"] != "Bad credentials" || m["documentation_url"] != "https://docs.github.com/rest" {
		t.Fatalf("GET /user: %d %v, want 401 Bad credentials", status, m)
	}
}

// deleteGrant calls DELETE /applications/{client_id}/grant.
func deleteGrant(t *testing.T, srv *httptest.Server, id, secret, token string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/applications/"+url.PathEscape(id)+"/grant",
		strings.NewReader(`{"access_token":"`+token+`"}`))
	req.SetBasicAuth(id, secret)
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestGitHubOAuthAppFlow(t *testing.T) {
	g, srv, cfg := newGitHub(t, Options{AutoApprove: true})
	ctx := ctxWith(jsonClient(srv))

	code := authorizeCode(t, srv, cfg.AuthCodeURL("gh-state"), "gh-state")
	tok, err := cfg.Exchange(ctx, code)
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if !strings.HasPrefix(tok.AccessToken, "gho_") || tok.RefreshToken != "" || !tok.Expiry.IsZero() {
		t.Fatalf("want a lasting gho_ token, got %.4s… refresh %t expiry %v", tok.AccessToken, tok.RefreshToken != "", tok.Expiry)
	}
	if tok.TokenType != "bearer" || tok.Extra("scope") != "repo,read:org" {
		t.Fatalf("type %q scope %v", tok.TokenType, tok.Extra("scope"))
	}

	for _, auth := range []string{"Bearer " + tok.AccessToken, "token " + tok.AccessToken} {
		status, m := ghUser(t, srv, auth)
		if status != http.StatusOK || m["login"] != "acme-bot" || m["id"] != float64(5550001) {
			t.Fatalf("GET /user (%.6s…): %d %v", auth, status, m)
		}
	}
	// x/oauth2's own client works as is.
	if status, _ := call(t, cfg.Client(ctx, tok), http.MethodGet, srv.URL+"/user", "", nil); status != http.StatusOK {
		t.Fatalf("GET /user through oauth2.Client: %d", status)
	}
	if status, m := ghUser(t, srv, ""); status != http.StatusUnauthorized {
		t.Fatalf("GET /user without credentials: %d %v", status, m)
	}
	wantBadCredentials(t, srv, "Bearer gho_forged")

	// An OAuth App has no refresh tokens.
	_, err = refresh(ctx, cfg, "ghr_made_up")
	retrieveError(t, err, "bad_refresh_token")

	// Revoke the grant.
	if st := deleteGrant(t, srv, testClientID, "wrong", tok.AccessToken); st != http.StatusUnauthorized {
		t.Fatalf("delete grant with a wrong secret: %d, want 401", st)
	}
	if st := deleteGrant(t, srv, testClientID, testClientSecret, "gho_unknown"); st != http.StatusUnprocessableEntity {
		t.Fatalf("delete grant of an unknown token: %d, want 422", st)
	}
	if st := deleteGrant(t, srv, testClientID, testClientSecret, tok.AccessToken); st != http.StatusNoContent {
		t.Fatalf("delete grant: %d, want 204", st)
	}
	wantBadCredentials(t, srv, "Bearer "+tok.AccessToken)
	if st := deleteGrant(t, srv, testClientID, testClientSecret, tok.AccessToken); st != http.StatusUnprocessableEntity {
		t.Fatalf("delete grant again: %d, want 422", st)
	}
	if g.TokenRequests("authorization_code") != 1 || g.TokenRequests("refresh_token") != 1 {
		t.Fatalf("TokenRequests: %d code, %d refresh", g.TokenRequests("authorization_code"), g.TokenRequests("refresh_token"))
	}
}

func TestGitHubFormEncoded(t *testing.T) {
	_, srv, cfg := newGitHub(t, Options{AutoApprove: true})
	plain := ctxWith(srv.Client()) // no Accept header: GitHub answers form-encoded

	// The raw answer is form-encoded.
	code := authorizeCode(t, srv, cfg.AuthCodeURL("s"), "s")
	resp, err := srv.Client().PostForm(cfg.Endpoint.TokenURL, url.Values{
		"client_id": {testClientID}, "client_secret": {testClientSecret}, "code": {code}, "redirect_uri": {testRedirect},
	})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	vals, err := url.ParseQuery(string(body))
	if err != nil || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-www-form-urlencoded") ||
		!strings.HasPrefix(vals.Get("access_token"), "gho_") || vals.Get("scope") != "repo,read:org" || vals.Get("token_type") != "bearer" {
		t.Fatalf("form answer %q (%s)", body, resp.Header.Get("Content-Type"))
	}
	if !strings.Contains(string(body), "scope=repo%2Cread%3Aorg") {
		t.Fatalf("form answer %q", body)
	}

	// x/oauth2 parses it, and the form-encoded errors too.
	tok, err := cfg.Exchange(plain, authorizeCode(t, srv, cfg.AuthCodeURL("s"), "s"))
	if err != nil {
		t.Fatalf("form-encoded exchange: %v", err)
	}
	if !strings.HasPrefix(tok.AccessToken, "gho_") || tok.Extra("scope") != "repo,read:org" {
		t.Fatalf("form-encoded token %.4s… scope %v", tok.AccessToken, tok.Extra("scope"))
	}
	_, err = cfg.Exchange(plain, "bad-code")
	re := retrieveError(t, err, "bad_verification_code")
	if re.Response.StatusCode != http.StatusOK || !strings.HasPrefix(re.Response.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		t.Fatalf("form-encoded error: HTTP %d %s", re.Response.StatusCode, re.Response.Header.Get("Content-Type"))
	}
}

func TestGitHubTokenErrors(t *testing.T) {
	_, srv, cfg := newGitHub(t, Options{AutoApprove: true})
	ctx := ctxWith(jsonClient(srv))
	code := authorizeCode(t, srv, cfg.AuthCodeURL("s"), "s")

	_, err := cfg.Exchange(ctx, "bad-code")
	re := retrieveError(t, err, "bad_verification_code")
	if re.Response.StatusCode != http.StatusOK || re.ErrorURI == "" || re.ErrorDescription == "" {
		t.Fatalf("bad code: HTTP %d uri %q desc %q", re.Response.StatusCode, re.ErrorURI, re.ErrorDescription)
	}
	other := *cfg
	other.RedirectURL = "http://127.0.0.1:8080/other"
	_, err = other.Exchange(ctx, code)
	retrieveError(t, err, "redirect_uri_mismatch")
	bad := *cfg
	bad.ClientSecret = "wrong"
	_, err = bad.Exchange(ctx, code)
	retrieveError(t, err, "incorrect_client_credentials")

	// GitHub lets the exchange leave redirect_uri out.
	noRedirect := *cfg
	noRedirect.RedirectURL = ""
	if _, err := noRedirect.Exchange(ctx, code); err != nil {
		t.Fatalf("exchange without redirect_uri: %v", err)
	}
	_, err = cfg.Exchange(ctx, code)
	retrieveError(t, err, "bad_verification_code")

	// Comma-joined scopes are one unknown scope for GitHub.
	commas := *cfg
	commas.Scopes = []string{"repo,read:org"}
	if q := follow(t, srv, commas.AuthCodeURL("s")); q.Get("error") != "invalid_scope" {
		t.Fatalf("comma-joined scopes: %v", q)
	}

	// PKCE is enforced when a challenge was given.
	verifier := oauth2.GenerateVerifier()
	code = authorizeCode(t, srv, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier)), "s")
	_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption("wrong-"+verifier))
	retrieveError(t, err, "bad_verification_code")
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("right verifier: %v", err)
	}
}

func TestGitHubAppFlow(t *testing.T) {
	clk := newClock()
	g, srv, cfg := newGitHub(t, Options{AccessTTL: 8 * time.Hour, AutoApprove: true, Now: clk.Now,
		Workspace: Workspace{ID: "4242", Login: "octo-acme"}})
	ctx := ctxWith(jsonClient(srv))

	tok, err := cfg.Exchange(ctx, authorizeCode(t, srv, cfg.AuthCodeURL("s"), "s"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok.AccessToken, "ghu_") || !strings.HasPrefix(tok.RefreshToken, "ghr_") ||
		tok.ExpiresIn != 28800 || tok.Extra("refresh_token_expires_in") != float64(15811200) {
		t.Fatalf("app token %.4s… %.4s… expires_in %d refresh_expires %v", tok.AccessToken, tok.RefreshToken, tok.ExpiresIn, tok.Extra("refresh_token_expires_in"))
	}
	if status, m := ghUser(t, srv, "Bearer "+tok.AccessToken); status != http.StatusOK || m["login"] != "octo-acme" || m["id"] != float64(4242) {
		t.Fatalf("GET /user: %d %v", status, m)
	}

	// Refresh (form-encoded this time) invalidates the old pair.
	plain := ctxWith(srv.Client())
	tok2, err := refresh(plain, cfg, tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if !strings.HasPrefix(tok2.AccessToken, "ghu_") || tok2.RefreshToken == tok.RefreshToken || tok2.Expiry.IsZero() {
		t.Fatal("refresh did not rotate")
	}
	wantBadCredentials(t, srv, "Bearer "+tok.AccessToken)
	_, err = refresh(ctx, cfg, tok.RefreshToken)
	if re := retrieveError(t, err, "bad_refresh_token"); re.Response.StatusCode != http.StatusOK {
		t.Fatalf("bad refresh: HTTP %d, want 200", re.Response.StatusCode)
	}

	clk.Add(8 * time.Hour)
	wantBadCredentials(t, srv, "token "+tok2.AccessToken)
	tok3, err := refresh(ctx, cfg, tok2.RefreshToken)
	if err != nil {
		t.Fatalf("refresh after expiry: %v", err)
	}
	if status, _ := ghUser(t, srv, "token "+tok3.AccessToken); status != http.StatusOK {
		t.Fatalf("GET /user after refresh: %d", status)
	}

	if st := deleteGrant(t, srv, testClientID, testClientSecret, tok3.AccessToken); st != http.StatusNoContent {
		t.Fatalf("delete grant: %d", st)
	}
	wantBadCredentials(t, srv, "Bearer "+tok3.AccessToken)
	_, err = refresh(ctx, cfg, tok3.RefreshToken)
	retrieveError(t, err, "bad_refresh_token")
	if got := g.TokenRequests("refresh_token"); got != 4 {
		t.Fatalf("TokenRequests(refresh_token) = %d, want 4", got)
	}

	// Refresh tokens expire after about six months.
	tok4, err := cfg.Exchange(ctx, authorizeCode(t, srv, cfg.AuthCodeURL("s"), "s"))
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(15811200 * time.Second)
	_, err = refresh(ctx, cfg, tok4.RefreshToken)
	retrieveError(t, err, "bad_refresh_token")
}

func TestGitHubConsentAndRevokeAll(t *testing.T) {
	g, srv, cfg := newGitHub(t, Options{})
	if q := consent(t, srv, cfg.AuthCodeURL("d"), "deny", "acme-bot", "repo", "read:org"); q.Get("error") != "access_denied" || q.Get("state") != "d" {
		t.Fatalf("deny: %v", q)
	}
	q := consent(t, srv, cfg.AuthCodeURL("a"), "allow")
	ctx := ctxWith(jsonClient(srv))
	tok, err := cfg.Exchange(ctx, q.Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	g.RevokeAll()
	wantBadCredentials(t, srv, "Bearer "+tok.AccessToken)
}

func TestGitHubFailNextAndNotFound(t *testing.T) {
	g, srv, cfg := newGitHub(t, Options{AutoApprove: true})
	ctx := ctxWith(jsonClient(srv))
	code := authorizeCode(t, srv, cfg.AuthCodeURL("s"), "s")
	failNextThenSucceed(t, g.FailNext, func() (*oauth2.Token, error) { return cfg.Exchange(ctx, code) })
	if got := g.TokenRequests("authorization_code"); got != 2 {
		t.Fatalf("TokenRequests = %d, want 2", got)
	}

	status, m := call(t, srv.Client(), http.MethodGet, srv.URL+"/repos/acme/app/pulls", "", nil)
	if status != http.StatusNotFound || m["message"] != "Not Found" {
		t.Fatalf("unknown path: %d %v", status, m)
	}
}
