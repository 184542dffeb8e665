package oauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
	"golang.org/x/oauth2"
)

// provider is what differs between Slack, Linear and GitHub.
type provider struct {
	service    pmassist.Service
	endpoint   oauth2.Endpoint
	scopes     []string
	acceptJSON bool // ask the token endpoint for JSON (GitHub)
	pkce       bool
	authParams []oauth2.AuthCodeOption
	// identify names the workspace a new token belongs to.
	identify func(ctx context.Context, m *Manager, tok *oauth2.Token) (id, name string, err error)
	// check tells whether an access token still works.
	check func(ctx context.Context, m *Manager, access string) error
	// revoke invalidates a token at the provider.
	revoke func(ctx context.Context, m *Manager, app AppCredentials, tok pmassist.Token) error
}

// Scopes requested (providers.md). Slack and Linear document comma-separated
// scopes, while x/oauth2 joins with spaces: each is passed as one string.
var (
	slackScopes  = []string{"channels:read", "channels:history", "groups:read", "groups:history", "users:read", "users:read.email", "reactions:read", "chat:write"}
	linearScopes = []string{"read"}
	githubScopes = []string{"repo", "read:org"}
)

func slackProvider(cfg Config) *provider {
	base := strings.TrimRight(cfg.SlackURL, "/")
	return &provider{
		service: pmassist.ServiceSlack,
		endpoint: oauth2.Endpoint{AuthURL: base + "/oauth/v2/authorize", TokenURL: base + "/api/oauth.v2.access",
			AuthStyle: oauth2.AuthStyleInHeader},
		scopes: []string{strings.Join(slackScopes, ",")},
		identify: func(ctx context.Context, m *Manager, tok *oauth2.Token) (string, string, error) {
			if team, ok := tok.Extra("team").(map[string]any); ok {
				id, _ := team["id"].(string)
				name, _ := team["name"].(string)
				if id != "" {
					return id, name, nil
				}
			}
			var out struct {
				TeamID string `json:"team_id"`
				Team   string `json:"team"`
			}
			if err := m.slackCall(ctx, base, tok.AccessToken, "auth.test", nil, &out); err != nil {
				return "", "", err
			}
			return out.TeamID, out.Team, nil
		},
		check: func(ctx context.Context, m *Manager, access string) error {
			return m.slackCall(ctx, base, access, "auth.test", nil, nil)
		},
		revoke: func(ctx context.Context, m *Manager, _ AppCredentials, tok pmassist.Token) error {
			return m.slackCall(ctx, base, tok.AccessToken, "auth.revoke", nil, nil)
		},
	}
}

func linearProvider(cfg Config) *provider {
	api := strings.TrimRight(cfg.LinearAPIURL, "/")
	viewer := func(ctx context.Context, m *Manager, access string) (string, string, error) {
		var out struct {
			Viewer struct {
				Organization struct {
					ID, Name string
				} `json:"organization"`
			} `json:"viewer"`
		}
		err := m.linearQuery(ctx, api, access, `query { viewer { organization { id name urlKey } } }`, &out)
		return out.Viewer.Organization.ID, out.Viewer.Organization.Name, err
	}
	return &provider{
		service: pmassist.ServiceLinear,
		endpoint: oauth2.Endpoint{AuthURL: strings.TrimRight(cfg.LinearURL, "/") + "/oauth/authorize", TokenURL: api + "/oauth/token",
			AuthStyle: oauth2.AuthStyleInParams},
		scopes:     []string{strings.Join(linearScopes, ",")},
		pkce:       true,
		authParams: []oauth2.AuthCodeOption{oauth2.SetAuthURLParam("prompt", "consent")},
		identify: func(ctx context.Context, m *Manager, tok *oauth2.Token) (string, string, error) {
			return viewer(ctx, m, tok.AccessToken)
		},
		check: func(ctx context.Context, m *Manager, access string) error {
			_, _, err := viewer(ctx, m, access)
			return err
		},
		revoke: func(ctx context.Context, m *Manager, _ AppCredentials, tok pmassist.Token) error {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, api+"/oauth/revoke",
				strings.NewReader(url.Values{"token": {tok.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			return m.expectStatus(req, pmassist.ServiceLinear, http.StatusOK)
		},
	}
}

func githubProvider(cfg Config) *provider {
	api := strings.TrimRight(cfg.GitHubAPIURL, "/")
	user := func(ctx context.Context, m *Manager, access string) (string, string, error) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"/user", nil)
		req.Header.Set("Authorization", "Bearer "+access)
		req.Header.Set("Accept", "application/vnd.github+json")
		var out struct {
			ID    json.Number `json:"id"`
			Login string      `json:"login"`
		}
		if err := m.doJSON(req, pmassist.ServiceGitHub, &out); err != nil {
			return "", "", err
		}
		return out.ID.String(), out.Login, nil
	}
	return &provider{
		service: pmassist.ServiceGitHub,
		endpoint: oauth2.Endpoint{AuthURL: strings.TrimRight(cfg.GitHubURL, "/") + "/login/oauth/authorize",
			TokenURL: strings.TrimRight(cfg.GitHubURL, "/") + "/login/oauth/access_token", AuthStyle: oauth2.AuthStyleInParams},
		scopes:     githubScopes,
		acceptJSON: true,
		identify: func(ctx context.Context, m *Manager, tok *oauth2.Token) (string, string, error) {
			return user(ctx, m, tok.AccessToken)
		},
		check: func(ctx context.Context, m *Manager, access string) error {
			_, _, err := user(ctx, m, access)
			return err
		},
		revoke: func(ctx context.Context, m *Manager, app AppCredentials, tok pmassist.Token) error {
			body, _ := json.Marshal(map[string]string{"access_token": tok.AccessToken})
			req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, api+"/applications/"+url.PathEscape(app.ClientID)+"/grant", bytes.NewReader(body))
			req.SetBasicAuth(app.ClientID, app.ClientSecret)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/vnd.github+json")
			return m.expectStatus(req, pmassist.ServiceGitHub, http.StatusNoContent)
		},
	}
}

// providerError is a refusal or failure of a provider call. Code is the
// provider's error code (e.g. Slack's "token_revoked"); Status the HTTP
// status, 0 for network errors. It never holds a token.
type providerError struct {
	Service pmassist.Service
	Code    string
	Status  int
	Detail  string
}

func (e *providerError) Error() string {
	msg := describe(e.Service, e.Code)
	if e.Code == "" && e.Status >= 500 {
		msg = fmt.Sprintf("%s is unavailable (HTTP %d)", e.Service.Title(), e.Status)
	} else if e.Code == "" && e.Status == 0 {
		msg = fmt.Sprintf("cannot reach %s: %s", e.Service.Title(), e.Detail)
	} else if e.Code == "" {
		msg = fmt.Sprintf("%s answered HTTP %d", e.Service.Title(), e.Status)
	}
	return msg
}

// Unwrap makes the message reach clients: it says what the provider said,
// never anything secret.
func (e *providerError) Unwrap() error {
	return pmassist.Errorf(pmassist.EINVALID, "%s", e.Error())
}

// reauth reports whether the grant itself is gone: only reconnecting helps.
func (e *providerError) reauth() bool {
	switch e.Code {
	case "invalid_grant", "invalid_refresh_token", "bad_refresh_token", "token_revoked", "token_expired",
		"invalid_auth", "account_inactive", "not_authed", "bad_verification_code", "authentication error", "AUTHENTICATION_ERROR":
		return true
	}
	return e.Status == http.StatusUnauthorized
}

var messages = map[string]string{
	"access_denied":                    "access was declined on the consent screen",
	"invalid_code":                     "the authorization code is invalid or has expired; connect again",
	"bad_verification_code":            "the authorization code is invalid or has expired; connect again",
	"invalid_grant":                    "the grant is invalid, expired or was revoked; reconnect",
	"bad_client_secret":                "the app's client secret is wrong; check the appliance's settings",
	"incorrect_client_credentials":     "the app's client id or secret is wrong; check the appliance's settings",
	"invalid_client":                   "the app's client id or secret is wrong; check the appliance's settings",
	"invalid_client_id":                "the app's client id is unknown to the provider; check the appliance's settings",
	"bad_redirect_uri":                 "the redirect URL does not match the one registered for the app",
	"redirect_uri_mismatch":            "the redirect URL does not match the one registered for the app",
	"oauth_authorization_url_mismatch": "the authorization URL does not match the app's distribution settings",
	"invalid_scope":                    "the app asked for a scope the provider does not know",
	"invalid_refresh_token":            "the refresh token is invalid or was already used; reconnect",
	"bad_refresh_token":                "the refresh token is invalid or has expired; reconnect",
	"invalid_grant_type":               "the provider refused the grant type",
	"token_revoked":                    "the token was revoked; reconnect",
	"token_expired":                    "the token has expired",
	"invalid_auth":                     "the token is not valid; reconnect",
	"account_inactive":                 "the account that authorized the app was deactivated; reconnect",
	"ratelimited":                      "rate limited; will try again later",
}

func describe(service pmassist.Service, code string) string {
	if msg, ok := messages[code]; ok {
		return fmt.Sprintf("%s: %s (%s)", service.Title(), msg, code)
	}
	return fmt.Sprintf("%s refused the request (%s)", service.Title(), code)
}

// asProviderError turns x/oauth2 and transport errors into providerErrors.
func asProviderError(service pmassist.Service, err error) *providerError {
	if err == nil {
		return nil
	}
	var pe *providerError
	if errors.As(err, &pe) {
		return pe
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		e := &providerError{Service: service, Code: re.ErrorCode}
		if re.Response != nil {
			e.Status = re.Response.StatusCode
			if e.Status == http.StatusOK && e.Code == "" {
				e.Status = http.StatusBadGateway
			}
		}
		return e
	}
	return &providerError{Service: service, Detail: networkDetail(err)}
}

// networkDetail describes a transport error without its URL (which could
// carry query parameters).
func networkDetail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return err.Error()
}

// doJSON sends req and decodes a JSON answer, turning HTTP failures into
// providerErrors.
func (m *Manager) doJSON(req *http.Request, service pmassist.Service, out any) error {
	res, err := m.client.Do(req)
	if err != nil {
		return &providerError{Service: service, Detail: networkDetail(err)}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return &providerError{Service: service, Detail: networkDetail(err)}
	}
	if res.StatusCode != http.StatusOK {
		return &providerError{Service: service, Status: res.StatusCode, Code: errorCodeOf(body)}
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			return &providerError{Service: service, Status: http.StatusBadGateway, Detail: "malformed answer"}
		}
	}
	return nil
}

// expectStatus sends req and wants one status.
func (m *Manager) expectStatus(req *http.Request, service pmassist.Service, want int) error {
	res, err := m.client.Do(req)
	if err != nil {
		return &providerError{Service: service, Detail: networkDetail(err)}
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<16))
	if res.StatusCode != want {
		return &providerError{Service: service, Status: res.StatusCode, Code: errorCodeOf(body)}
	}
	return nil
}

// errorCodeOf finds an error code in a provider's JSON error body.
func errorCodeOf(body []byte) string {
	var e struct {
		Error  any `json:"error"`
		Errors []struct {
			Extensions struct {
				Type string `json:"type"`
				Code string `json:"code"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	if s, ok := e.Error.(string); ok {
		return s
	}
	if len(e.Errors) > 0 {
		if e.Errors[0].Extensions.Type != "" {
			return e.Errors[0].Extensions.Type
		}
		return e.Errors[0].Extensions.Code
	}
	return ""
}

// slackCall calls a Slack Web API method. Slack answers HTTP 200 with
// {"ok":false,"error":…} for refusals; the token always goes as Bearer
// (never the "bot" token_type Slack reports).
func (m *Manager) slackCall(ctx context.Context, base, access, method string, form url.Values, out any) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/api/"+method, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+access)
	var raw json.RawMessage
	if err := m.doJSON(req, pmassist.ServiceSlack, &raw); err != nil {
		return err
	}
	var head struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return &providerError{Service: pmassist.ServiceSlack, Status: http.StatusBadGateway, Detail: "malformed answer"}
	}
	if !head.OK {
		return &providerError{Service: pmassist.ServiceSlack, Status: http.StatusOK, Code: head.Error}
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// linearQuery runs a GraphQL query; GraphQL errors become providerErrors.
func (m *Manager) linearQuery(ctx context.Context, api, access, query string, out any) error {
	body, _ := json.Marshal(map[string]string{"query": query})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, api+"/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+access)
	var res struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Message    string `json:"message"`
			Extensions struct {
				Type string `json:"type"`
			} `json:"extensions"`
		} `json:"errors"`
	}
	if err := m.doJSON(req, pmassist.ServiceLinear, &res); err != nil {
		return err
	}
	if len(res.Errors) > 0 {
		code := res.Errors[0].Extensions.Type
		if code == "" {
			code = res.Errors[0].Message
		}
		return &providerError{Service: pmassist.ServiceLinear, Status: http.StatusOK, Code: code}
	}
	return json.Unmarshal(res.Data, out)
}

// scopesOf reads the granted scopes from a token answer.
func scopesOf(tok *oauth2.Token) []string {
	s, _ := tok.Extra("scope").(string)
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// expiry computes a token's expiry from expires_in with the manager's
// clock (x/oauth2 uses the wall clock, which tests and skewed hosts do not
// share). Zero means the token does not expire.
func (m *Manager) expiry(tok *oauth2.Token) time.Time {
	var secs float64
	switch v := tok.Extra("expires_in").(type) {
	case float64:
		secs = v
	case string:
		secs, _ = strconv.ParseFloat(v, 64)
	}
	if secs <= 0 {
		if tok.Expiry.IsZero() {
			return time.Time{}
		}
		return tok.Expiry.UTC()
	}
	return m.now().Add(time.Duration(secs) * time.Second)
}
