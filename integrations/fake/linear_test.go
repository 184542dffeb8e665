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

func linearConfig(srv *httptest.Server) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   srv.URL + "/oauth/authorize",
			TokenURL:  srv.URL + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
		RedirectURL: testRedirect,
		Scopes:      []string{"read,write"}, // comma-separated, one string
	}
}

func newLinear(t *testing.T, o Options) (*Linear, *httptest.Server, *oauth2.Config) {
	t.Helper()
	o.ClientID, o.ClientSecret = testClientID, testClientSecret
	l := NewLinear(o)
	srv := serve(t, l)
	return l, srv, linearConfig(srv)
}

func linearAuthURL(cfg *oauth2.Config, state, verifier string) string {
	return cfg.AuthCodeURL(state,
		oauth2.SetAuthURLParam("response_type", "code"),
		oauth2.SetAuthURLParam("prompt", "consent"),
		oauth2.S256ChallengeOption(verifier))
}

const viewerQuery = `{"query":"query { viewer { id name email organization { id name urlKey } } }"}`

// viewer runs the viewer query with the given Authorization.
func viewer(t *testing.T, srv *httptest.Server, auth string) (int, map[string]any) {
	t.Helper()
	return call(t, srv.Client(), http.MethodPost, srv.URL+"/graphql", auth, strings.NewReader(viewerQuery))
}

// wantViewerRefused checks the viewer query with auth gets Linear's
// authentication error.
func wantViewerRefused(t *testing.T, srv *httptest.Server, auth string) {
	t.Helper()
	status, m := viewer(t, srv, auth)
	errs, _ := m["errors"].([]any)
	if status != http.StatusBadRequest || len(errs) != 1 {
		t.Fatalf("status %d, answer %v; want 400 with one error", status, m)
	}
	e, _ := errs[0].(map[string]any)
	ext, _ := e["extensions"].(map[string]any)
	if e["message"] != "Authentication required, not authenticated" ||
		ext["type"] != "authentication error" || ext["code"] != "AUTHENTICATION_ERROR" {
		t.Fatalf("error %v", e)
	}
}

func TestLinearFlow(t *testing.T) {
	clk := newClock()
	l, srv, cfg := newLinear(t, Options{AutoApprove: true, Now: clk.Now})
	ctx := ctxWith(srv.Client())

	verifier := oauth2.GenerateVerifier()
	code := authorizeCode(t, srv, linearAuthURL(cfg, "lin-state", verifier), "lin-state")
	tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if !strings.HasPrefix(tok.AccessToken, "lin_oauth_") || !strings.HasPrefix(tok.RefreshToken, "lin_refresh_") {
		t.Fatalf("token shapes %.10s… %.12s…", tok.AccessToken, tok.RefreshToken)
	}
	if tok.TokenType != "Bearer" || tok.ExpiresIn != 86400 || tok.Extra("scope") != "read,write" {
		t.Fatalf("type %q expires_in %d scope %v", tok.TokenType, tok.ExpiresIn, tok.Extra("scope"))
	}

	// x/oauth2's own client sends Bearer, which Linear wants.
	status, m := call(t, cfg.Client(ctx, tok), http.MethodPost, srv.URL+"/graphql", "", strings.NewReader(viewerQuery))
	data, _ := m["data"].(map[string]any)
	v, _ := data["viewer"].(map[string]any)
	org, _ := v["organization"].(map[string]any)
	if status != http.StatusOK || v["id"] != LinearViewerID || v["email"] != LinearViewerEmail ||
		org["id"] != LinearOrganizationID || org["name"] != "Acme" || org["urlKey"] != "acme" {
		t.Fatalf("viewer: %d %v", status, m)
	}

	// Refresh rotates; the used refresh token is refused with invalid_grant.
	tok2, err := refresh(ctx, cfg, tok.RefreshToken)
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken {
		t.Fatal("refresh did not rotate")
	}
	_, err = refresh(ctx, cfg, tok.RefreshToken)
	re := retrieveError(t, err, "invalid_grant")
	if re.Response.StatusCode != http.StatusBadRequest {
		t.Fatalf("used refresh token: HTTP %d, want 400", re.Response.StatusCode)
	}

	// Access tokens expire after a day.
	clk.Add(24 * time.Hour)
	wantViewerRefused(t, srv, "Bearer "+tok2.AccessToken)
	tok3, err := refresh(ctx, cfg, tok2.RefreshToken)
	if err != nil {
		t.Fatalf("refresh after expiry: %v", err)
	}
	if status, _ := viewer(t, srv, "Bearer "+tok3.AccessToken); status != http.StatusOK {
		t.Fatalf("viewer with refreshed token: %d", status)
	}

	// Revoke (form token=…): the token and its refresh token stop working.
	resp, err := srv.Client().PostForm(srv.URL+"/oauth/revoke", url.Values{"token": {tok3.AccessToken}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	wantViewerRefused(t, srv, "Bearer "+tok3.AccessToken)
	_, err = refresh(ctx, cfg, tok3.RefreshToken)
	retrieveError(t, err, "invalid_grant")

	if got := l.TokenRequests("authorization_code"); got != 1 {
		t.Errorf("TokenRequests(authorization_code) = %d, want 1", got)
	}
	if got := l.TokenRequests("refresh_token"); got != 4 {
		t.Errorf("TokenRequests(refresh_token) = %d, want 4", got)
	}
	checkSecrets(t, l.IssuedSecrets(), tok.AccessToken, tok.RefreshToken, tok2.AccessToken, tok3.RefreshToken)
}

func TestLinearPKCE(t *testing.T) {
	_, srv, cfg := newLinear(t, Options{AutoApprove: true})
	ctx := ctxWith(srv.Client())
	verifier := oauth2.GenerateVerifier()
	code := authorizeCode(t, srv, linearAuthURL(cfg, "s", verifier), "s")

	_, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
	retrieveError(t, err, "invalid_grant")
	_, err = cfg.Exchange(ctx, code) // no verifier at all
	retrieveError(t, err, "invalid_grant")
	if _, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("right verifier: %v", err)
	}
	_, err = cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	retrieveError(t, err, "invalid_grant")

	// Without PKCE the code works without a verifier.
	code = authorizeCode(t, srv, cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("response_type", "code")), "s")
	if _, err := cfg.Exchange(ctx, code); err != nil {
		t.Fatalf("no PKCE: %v", err)
	}
}

func TestLinearTokenErrors(t *testing.T) {
	_, srv, cfg := newLinear(t, Options{AutoApprove: true})
	ctx := ctxWith(srv.Client())
	verifier := oauth2.GenerateVerifier()
	code := authorizeCode(t, srv, linearAuthURL(cfg, "s", verifier), "s")

	bad := *cfg
	bad.ClientSecret = "wrong"
	_, err := bad.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if re := retrieveError(t, err, "invalid_client"); re.Response.StatusCode != http.StatusUnauthorized {
		t.Fatalf("bad secret: HTTP %d, want 401", re.Response.StatusCode)
	}
	other := *cfg
	other.RedirectURL = "http://127.0.0.1:8080/other"
	_, err = other.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	retrieveError(t, err, "invalid_grant")
	_, err = cfg.Exchange(ctx, "nope")
	if re := retrieveError(t, err, "invalid_grant"); re.Response.StatusCode != http.StatusBadRequest {
		t.Fatalf("bad code: HTTP %d", re.Response.StatusCode)
	}

	// Basic credentials are accepted too.
	basic := *cfg
	basic.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	if _, err := basic.Exchange(ctx, code, oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("exchange with Basic: %v", err)
	}

	// Space-joined scopes are an unknown scope; response_type is required.
	spaced := *cfg
	spaced.Scopes = []string{"read", "write"}
	if q := follow(t, srv, spaced.AuthCodeURL("s", oauth2.SetAuthURLParam("response_type", "code"))); q.Get("error") != "invalid_scope" {
		t.Fatalf("space-joined scopes: %v", q)
	}
	if q := follow(t, srv, cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("response_type", "token"))); q.Get("error") != "unsupported_response_type" {
		t.Fatalf("response_type=token: %v", q)
	}
}

func TestLinearGraphQLErrors(t *testing.T) {
	l, srv, cfg := newLinear(t, Options{AutoApprove: true})
	ctx := ctxWith(srv.Client())
	wantViewerRefused(t, srv, "")
	wantViewerRefused(t, srv, "Bearer lin_oauth_forged")

	tok, err := cfg.Exchange(ctx, authorizeCode(t, srv, cfg.AuthCodeURL("s", oauth2.SetAuthURLParam("response_type", "code")), "s"))
	if err != nil {
		t.Fatal(err)
	}
	status, m := call(t, srv.Client(), http.MethodPost, srv.URL+"/graphql", "Bearer "+tok.AccessToken,
		strings.NewReader(`{"query":"{ cycles { nodes { id } } }"}`))
	errs, _ := m["errors"].([]any)
	if status != http.StatusBadRequest || len(errs) != 1 || !strings.Contains(errs[0].(map[string]any)["message"].(string), "unsupported query in stand-in") {
		t.Fatalf("unsupported query: %d %v", status, m)
	}

	l.RevokeAll()
	wantViewerRefused(t, srv, "Bearer "+tok.AccessToken)
	_, err = refresh(ctx, cfg, tok.RefreshToken)
	retrieveError(t, err, "invalid_grant")
}

func TestLinearConsentDeny(t *testing.T) {
	l, srv, cfg := newLinear(t, Options{})
	q := consent(t, srv, linearAuthURL(cfg, "d", oauth2.GenerateVerifier()), "deny", "Acme", "read", "write")
	if q.Get("error") != "access_denied" || q.Get("state") != "d" {
		t.Fatalf("deny: %v", q)
	}
	verifier := oauth2.GenerateVerifier()
	q = consent(t, srv, linearAuthURL(cfg, "a", verifier), "allow")
	if _, err := cfg.Exchange(ctxWith(srv.Client()), q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("exchange after consent (PKCE carried through the form): %v", err)
	}
	if l.Authorized() != 1 {
		t.Fatalf("Authorized() = %d", l.Authorized())
	}
}

func TestLinearFailNext(t *testing.T) {
	l, srv, cfg := newLinear(t, Options{AutoApprove: true})
	ctx := ctxWith(srv.Client())
	verifier := oauth2.GenerateVerifier()
	code := authorizeCode(t, srv, linearAuthURL(cfg, "s", verifier), "s")
	failNextThenSucceed(t, l.FailNext, func() (*oauth2.Token, error) {
		return cfg.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	})
	if got := l.TokenRequests("authorization_code"); got != 2 {
		t.Fatalf("TokenRequests = %d, want 2", got)
	}
}
