package fake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	githubDocs = "https://docs.github.com/rest"
	// githubRefreshTTL is the lifetime of GitHub App refresh tokens (about
	// six months).
	githubRefreshTTL = 15811200 * time.Second
	githubErrorDocs  = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/"
)

// githubScopes are GitHub's OAuth App scopes.
var githubScopes = set(
	"repo", "repo:status", "repo_deployment", "public_repo", "repo:invite", "security_events",
	"admin:repo_hook", "write:repo_hook", "read:repo_hook",
	"admin:org", "write:org", "read:org", "admin:public_key", "write:public_key", "read:public_key",
	"admin:org_hook", "gist", "notifications", "user", "read:user", "user:email", "user:follow",
	"project", "read:project", "delete_repo", "write:packages", "read:packages", "delete:packages",
	"admin:gpg_key", "write:gpg_key", "read:gpg_key", "codespace", "workflow",
)

// GitHub is the GitHub stand-in. It serves both hosts: the OAuth paths of
// GITHUB_URL (github.com) and the REST paths of GITHUB_API_URL, also under
// GitHub Enterprise Server's /api/v3 prefix. The REST API serves a seeded
// week of pull requests (github_data.go, github_rest.go) and the stand-in
// signs webhook deliveries (github_webhook.go).
//
// With Options.AccessTTL zero it is an OAuth App: gho_ tokens that do not
// expire, scopes as requested. With AccessTTL > 0 it is a GitHub App
// issuing user tokens: ghu_ tokens with rotating ghr_ refresh tokens; like
// GitHub Apps it ignores the scope parameter and reports an empty scope.
type GitHub struct {
	oauthServer
	ws        Workspace
	accountID int64
	app       bool
	mux       *http.ServeMux
	data      *githubData
}

// NewGitHub returns a GitHub stand-in. Defaults: account 5550001
// "acme-bot". A Workspace.ID that is not a number panics.
func NewGitHub(o Options) *GitHub {
	g := &GitHub{
		ws:  o.Workspace.withDefaults(Workspace{ID: "5550001", Name: "Acme Bot", Login: "acme-bot"}),
		app: o.AccessTTL > 0,
	}
	id, err := strconv.ParseInt(g.ws.ID, 10, 64)
	if err != nil {
		panic(fmt.Sprintf("fake: GitHub account id %q is not a number", g.ws.ID))
	}
	g.accountID = id
	p := policy{
		accessTTL:        o.AccessTTL,
		redirectOptional: true,
		newCode:          func() string { return randString(20, hexdig) },
		newAccess:        func() string { return "gho_" + randString(36, alnum) },
	}
	if g.app {
		p.refresh = true
		p.refreshTTL = githubRefreshTTL
		p.refreshRevokesAccess = true
		p.newAccess = func() string { return "ghu_" + randString(36, alnum) }
		p.newRefresh = func() string { return "ghr_" + randString(76, alnum) }
	}
	g.init(o, p)
	g.data = newGitHubData(GitHubUser{Login: g.ws.Login, ID: id, Name: g.ws.Name}, g.now())
	g.mux = http.NewServeMux()
	g.routes()
	return g
}

func (g *GitHub) routes() {
	spec := authorizeSpec{
		service:   "GitHub",
		workspace: g.ws.Login,
		scopeSep:  " ",
		known:     githubScopes,
		pkce:      true,
	}
	if g.app {
		spec.known = nil
	}
	auth := g.authorize(spec)
	g.mux.Handle("GET /login/oauth/authorize", auth)
	g.mux.Handle("POST /login/oauth/authorize", auth)
	g.mux.HandleFunc("POST /login/oauth/access_token", g.token)
	g.mux.HandleFunc("GET /user", g.rest(g.user))
	g.mux.HandleFunc("DELETE /applications/{client_id}/grant", g.deleteGrant)
	g.restRoutes()
}

// ServeHTTP serves the GitHub paths; anything else is a JSON 404.
func (g *GitHub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r = withAPIPrefix(r)
	if _, pattern := g.mux.Handler(r); pattern == "" {
		githubMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	g.mux.ServeHTTP(w, r)
}

func githubMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg, "documentation_url": githubDocs})
}

// wantsJSON tells whether a token request asked for JSON; otherwise GitHub
// answers form-encoded.
func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// writeGitHubToken answers the token endpoint in the format asked for; pairs
// are (key, value) with values string or int.
func writeGitHubToken(w http.ResponseWriter, r *http.Request, status int, pairs ...any) {
	if wantsJSON(r) {
		m := make(map[string]any, len(pairs)/2)
		for i := 0; i+1 < len(pairs); i += 2 {
			m[pairs[i].(string)] = pairs[i+1]
		}
		writeJSON(w, status, m)
		return
	}
	var b strings.Builder
	for i := 0; i+1 < len(pairs); i += 2 {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(pairs[i].(string)))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(fmt.Sprint(pairs[i+1])))
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

func githubTokenError(w http.ResponseWriter, r *http.Request, code, desc string) {
	writeGitHubToken(w, r, http.StatusOK,
		"error", code,
		"error_description", desc,
		"error_uri", githubErrorDocs+"#"+strings.ReplaceAll(code, "_", "-"))
}

// token serves POST /login/oauth/access_token. Errors are HTTP 200 with an
// `error` field, form-encoded unless JSON was asked for.
func (g *GitHub) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		githubMessage(w, http.StatusBadRequest, "Problems parsing request body")
		return
	}
	grantType := r.Form.Get("grant_type")
	if grantType == "" {
		grantType = "authorization_code"
	}
	if st := g.tokenRequest(grantType); st != 0 {
		writeFailure(w, st, func(w http.ResponseWriter, status int) {
			msg := http.StatusText(status)
			if status == http.StatusTooManyRequests {
				msg = "API rate limit exceeded. Please retry later."
			}
			githubMessage(w, status, msg)
		})
		return
	}
	id, secret := clientCredentials(r)
	var ts tokenSet
	gerr := g.checkClient(id, secret)
	if gerr == errNone {
		switch grantType {
		case "authorization_code":
			ts, gerr = g.exchange(r.Form.Get("code"), id, r.Form.Get("redirect_uri"), r.Form.Get("code_verifier"))
		case "refresh_token":
			ts, gerr = g.refreshGrant(r.Form.Get("refresh_token"), id)
		default:
			gerr = errGrantType
		}
	}
	switch gerr {
	case errNone:
	case errInvalidClient, errBadSecret:
		githubTokenError(w, r, "incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
		return
	case errBadCode, errBadVerifier:
		githubTokenError(w, r, "bad_verification_code", "The code passed is incorrect or expired.")
		return
	case errRedirectMismatch:
		githubTokenError(w, r, "redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
		return
	case errBadRefresh:
		githubTokenError(w, r, "bad_refresh_token", "The refresh token passed is incorrect or expired.")
		return
	case errGrantType:
		githubTokenError(w, r, "unsupported_grant_type", "The grant type passed is not supported.")
		return
	}
	if g.app {
		writeGitHubToken(w, r, http.StatusOK,
			"access_token", ts.AccessToken,
			"expires_in", ts.ExpiresIn,
			"refresh_token", ts.RefreshToken,
			"refresh_token_expires_in", ts.RefreshExpiresIn,
			"scope", "",
			"token_type", "bearer")
		return
	}
	writeGitHubToken(w, r, http.StatusOK,
		"access_token", ts.AccessToken,
		"scope", strings.Join(ts.Scopes, ","),
		"token_type", "bearer")
}

// authenticate checks `Authorization: Bearer|token`; on failure it answers
// GitHub's 401 and reports false.
func (g *GitHub) authenticate(w http.ResponseWriter, r *http.Request) (accessInfo, bool) {
	tok := authToken(r, "Bearer", "token")
	if tok == "" && r.Header.Get("Authorization") == "" {
		githubMessage(w, http.StatusUnauthorized, "Requires authentication")
		return accessInfo{}, false
	}
	info, st := g.checkAccess(tok)
	if st != tokenValid {
		githubMessage(w, http.StatusUnauthorized, "Bad credentials")
		return info, false
	}
	if !g.app {
		w.Header().Set("X-OAuth-Scopes", strings.Join(info.Scopes, ", "))
	}
	return info, true
}

func (g *GitHub) user(c *githubCall) {
	if !c.authed {
		githubMessage(c.w, http.StatusUnauthorized, "Requires authentication")
		return
	}
	c.reply(http.StatusOK, map[string]any{
		"login":      g.ws.Login,
		"id":         g.accountID,
		"node_id":    "U_kgDO" + strconv.FormatInt(g.accountID, 10),
		"avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(g.accountID, 10) + "?v=4",
		"html_url":   "https://github.com/" + g.ws.Login,
		"type":       "User",
		"site_admin": false,
		"name":       g.ws.Name,
		"company":    nil,
		"email":      nil,
		"created_at": "2020-01-06T09:00:00Z",
		"updated_at": "2026-01-05T09:00:00Z",
	}, "")
}

// IssueToken issues an access token as a completed authorization would,
// for tests that call the REST API without an OAuth flow.
func (g *GitHub) IssueToken(scopes ...string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := &grant{clientID: g.opts.ClientID, scopes: scopes}
	g.grants = append(g.grants, gr)
	return g.issueLocked(gr).AccessToken
}

// deleteGrant serves DELETE /applications/{client_id}/grant: with the
// app's Basic credentials and {"access_token"} it revokes that token's
// whole authorization (204); wrong credentials 401; an unknown or already
// revoked token 422.
func (g *GitHub) deleteGrant(w http.ResponseWriter, r *http.Request) {
	u, p, ok := r.BasicAuth()
	if !ok || r.PathValue("client_id") != u || g.checkClient(u, p) != errNone {
		githubMessage(w, http.StatusUnauthorized, "Bad credentials")
		return
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil {
		githubMessage(w, http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	switch g.revoke(body.AccessToken, false, true) {
	case tokenValid, tokenExpired:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeJSON(w, http.StatusUnprocessableEntity, map[string]any{
			"message":           "Validation Failed",
			"errors":            []map[string]string{{"resource": "OauthAccess", "field": "access_token", "code": "invalid"}},
			"documentation_url": githubDocs + "/apps/oauth-applications#delete-an-app-authorization",
		})
	}
}
