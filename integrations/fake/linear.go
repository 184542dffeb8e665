package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Linear identities reported by the stand-in.
const (
	LinearOrganizationID = "6f1c2d3e-4b5a-4c6d-9e7f-a0b1c2d3e4f5"
	LinearViewerID       = "0d2e1f0a-7b6c-4d5e-8f9a-b0c1d2e3f4a5"
	LinearViewerName     = "Alex Admin"
	LinearViewerEmail    = "alex@acme.example"
)

// linearDefaultTTL is Linear's access token lifetime when Options.AccessTTL
// is zero: Linear tokens always expire.
const linearDefaultTTL = 24 * time.Hour

var linearScopes = set("read", "write", "issues:create", "comments:create", "timeSchedule:write", "admin")

// Linear is the Linear stand-in. It serves both hosts: the authorize page
// of LINEAR_URL and the token, revoke and GraphQL endpoints of
// LINEAR_API_URL. Refresh tokens always rotate.
//
// Its workspace holds the teams ENG, PRD and DES and about forty issues of
// the week before the stand-in was made (linear_data.go), which the
// GraphQL endpoint serves and tests change with UpsertIssue.
type Linear struct {
	oauthServer
	ws   Workspace
	mux  *http.ServeMux
	data *linearData
}

// NewLinear returns a Linear stand-in. Defaults: organization
// LinearOrganizationID "Acme", urlKey "acme".
func NewLinear(o Options) *Linear {
	l := &Linear{ws: o.Workspace.withDefaults(Workspace{ID: LinearOrganizationID, Name: "Acme", Login: "acme"})}
	l.data = newLinearData(l.ws.Login, o.now())
	ttl := o.AccessTTL
	if ttl <= 0 {
		ttl = linearDefaultTTL
	}
	l.init(o, policy{
		accessTTL:  ttl,
		refresh:    true,
		newCode:    func() string { return randString(32, hexdig) },
		newAccess:  func() string { return "lin_oauth_" + randString(64, hexdig) },
		newRefresh: func() string { return "lin_refresh_" + randString(64, hexdig) },
	})
	l.mux = http.NewServeMux()
	l.routes()
	return l
}

func (l *Linear) routes() {
	auth := l.authorize(authorizeSpec{
		service:       "Linear",
		workspace:     l.ws.Name,
		scopeSep:      ",",
		known:         linearScopes,
		defaultScopes: []string{"read"},
		pkce:          true,
		check: func(q url.Values) string {
			if q.Get("response_type") != "code" {
				return "unsupported_response_type"
			}
			return ""
		},
	})
	l.mux.Handle("GET /oauth/authorize", auth)
	l.mux.Handle("POST /oauth/authorize", auth)
	l.mux.HandleFunc("POST /oauth/token", l.token)
	l.mux.HandleFunc("POST /oauth/revoke", l.revokeToken)
	l.mux.HandleFunc("POST /graphql", l.graphql)
}

// ServeHTTP serves the Linear paths; anything else is 404.
func (l *Linear) ServeHTTP(w http.ResponseWriter, r *http.Request) { l.mux.ServeHTTP(w, r) }

func linearOAuthError(w http.ResponseWriter, status int, code, desc string) {
	body := map[string]string{"error": code}
	if desc != "" {
		body["error_description"] = desc
	}
	writeJSON(w, status, body)
}

type linearToken struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
}

// token serves POST /oauth/token: errors are HTTP 400 invalid_grant (bad
// code, verifier or refresh token) or 401 invalid_client.
func (l *Linear) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		linearOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	grantType := r.Form.Get("grant_type")
	if st := l.tokenRequest(grantType); st != 0 {
		writeFailure(w, st, func(w http.ResponseWriter, status int) {
			switch status {
			case http.StatusTooManyRequests:
				linearOAuthError(w, status, "rate_limited", "Too many requests, retry later")
			case http.StatusUnauthorized:
				linearOAuthError(w, status, "invalid_client", "")
			default:
				linearOAuthError(w, status, "invalid_request", http.StatusText(status))
			}
		})
		return
	}
	id, secret := clientCredentials(r)
	var ts tokenSet
	gerr := l.checkClient(id, secret)
	if gerr == errNone {
		switch grantType {
		case "authorization_code":
			ts, gerr = l.exchange(r.Form.Get("code"), id, r.Form.Get("redirect_uri"), r.Form.Get("code_verifier"))
		case "refresh_token":
			ts, gerr = l.refreshGrant(r.Form.Get("refresh_token"), id)
		default:
			gerr = errGrantType
		}
	}
	switch gerr {
	case errNone:
		writeJSON(w, http.StatusOK, linearToken{
			AccessToken:  ts.AccessToken,
			TokenType:    "Bearer",
			ExpiresIn:    ts.ExpiresIn,
			Scope:        strings.Join(ts.Scopes, ","),
			RefreshToken: ts.RefreshToken,
		})
	case errInvalidClient, errBadSecret:
		linearOAuthError(w, http.StatusUnauthorized, "invalid_client", "")
	case errGrantType:
		linearOAuthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	case errBadCode:
		linearOAuthError(w, http.StatusBadRequest, "invalid_grant", "authorization code is invalid, expired or already used")
	case errRedirectMismatch:
		linearOAuthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
	case errBadVerifier:
		linearOAuthError(w, http.StatusBadRequest, "invalid_grant", "code_verifier does not match the code_challenge")
	case errBadRefresh:
		linearOAuthError(w, http.StatusBadRequest, "invalid_grant", "refresh token is invalid, expired or already used")
	}
}

// revokeToken serves POST /oauth/revoke: the access or refresh token given
// as form field `token` (or else the Bearer token) and its whole
// authorization stop working. Like RFC 7009 it answers 200 for unknown
// tokens too.
func (l *Linear) revokeToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		linearOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	tok := r.Form.Get("token")
	if tok == "" {
		tok = authToken(r, "Bearer")
	}
	if tok == "" {
		linearOAuthError(w, http.StatusBadRequest, "invalid_request", "token is required")
		return
	}
	l.revoke(tok, true, true)
	w.WriteHeader(http.StatusOK)
}

type graphqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

func graphqlErrors(w http.ResponseWriter, status int, errs ...graphqlError) {
	writeJSON(w, status, map[string]any{"errors": errs})
}

// authenticate checks the request's Bearer token; on failure it answers
// Linear's authentication error and reports false.
func (l *Linear) authenticate(w http.ResponseWriter, r *http.Request) (accessInfo, bool) {
	info, st := l.checkAccess(authToken(r, "Bearer"))
	if st != tokenValid {
		graphqlErrors(w, http.StatusBadRequest, graphqlError{
			Message: "Authentication required, not authenticated",
			Extensions: map[string]any{
				"type":                   "authentication error",
				"code":                   "AUTHENTICATION_ERROR",
				"userPresentableMessage": "You need to authenticate to access this operation.",
			},
		})
		return info, false
	}
	return info, true
}

// graphql serves POST /graphql: injected faults first, then the Bearer
// token, then the query. The root fields `viewer`, `teams` and `issues`
// are answered (linear_query.go), shaped to the query's selections; any
// other root field is refused as unsupported.
func (l *Linear) graphql(w http.ResponseWriter, r *http.Request) {
	if l.injectedFault(w) {
		return
	}
	if _, ok := l.authenticate(w, r); !ok {
		return
	}
	var req struct {
		Query         string         `json:"query"`
		Variables     map[string]any `json:"variables"`
		OperationName string         `json:"operationName"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &req)
	}
	if err != nil || strings.TrimSpace(req.Query) == "" {
		graphqlErrors(w, http.StatusBadRequest, graphqlError{
			Message:    "Must provide query string.",
			Extensions: map[string]any{"type": "invalid input", "code": "INVALID_INPUT"},
		})
		return
	}
	sel, err := parseGraphQL(req.Query, req.Variables)
	if err != nil {
		graphqlErrors(w, http.StatusBadRequest, graphqlError{
			Message:    err.Error(),
			Extensions: map[string]any{"type": "graphql error", "code": "GRAPHQL_PARSE_FAILED", "userError": true},
		})
		return
	}
	data := map[string]any{}
	for _, f := range sel {
		var v any
		switch f.Name {
		case "viewer":
			v = l.viewerObject()
		case "teams":
			v = l.teamsConnection()
		case "issues":
			if v, err = l.issuesConnection(f.Args); err != nil {
				graphqlErrors(w, http.StatusBadRequest, graphqlError{
					Message:    "Argument Validation Error: " + err.Error(),
					Extensions: map[string]any{"type": "invalid input", "code": "INVALID_INPUT", "userError": true},
				})
				return
			}
		default:
			graphqlErrors(w, http.StatusBadRequest, graphqlError{
				Message:    "unsupported query in stand-in: " + f.Name,
				Extensions: map[string]any{"type": "graphql error", "code": "GRAPHQL_VALIDATION_FAILED"},
			})
			return
		}
		out, err := project(map[string]any{"__typename": "Query", f.Name: v}, []*gqlField{f})
		if err != nil {
			graphqlErrors(w, http.StatusBadRequest, graphqlError{
				Message:    err.Error(),
				Extensions: map[string]any{"type": "graphql error", "code": "GRAPHQL_VALIDATION_FAILED", "userError": true},
			})
			return
		}
		data[f.Alias] = out.(map[string]any)[f.Alias]
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
}

// injectedFault answers a fault set by RateLimitNext or ErrorNext, if one
// is due, and counts the request.
func (l *Linear) injectedFault(w http.ResponseWriter) bool {
	d := l.data
	d.mu.Lock()
	d.requests++
	limited := d.rateLimitFor > 0
	status := 0
	switch {
	case limited:
		d.rateLimitFor--
	case d.errorFor > 0:
		d.errorFor--
		status = d.errorStatus
	}
	d.mu.Unlock()
	switch {
	case limited:
		h := w.Header()
		h.Set("X-RateLimit-Requests-Limit", "5000")
		h.Set("X-RateLimit-Requests-Remaining", "0")
		h.Set("X-RateLimit-Requests-Reset", strconv.FormatInt(l.now().Add(time.Second).UnixMilli(), 10))
		h.Set("Retry-After", "1")
		graphqlErrors(w, http.StatusBadRequest, graphqlError{
			Message: "Rate limit exceeded",
			Extensions: map[string]any{
				"type":                   "ratelimited",
				"code":                   "RATELIMITED",
				"userPresentableMessage": "Rate limit exceeded. Please try again later.",
			},
		})
		return true
	case status != 0:
		writeFailure(w, status, func(w http.ResponseWriter, status int) {
			graphqlErrors(w, status, graphqlError{Message: http.StatusText(status)})
		})
		return true
	}
	return false
}
