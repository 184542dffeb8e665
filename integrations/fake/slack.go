package fake

import (
	"net/http"
	"strings"
)

// Slack identifiers reported by the stand-in.
const (
	SlackAppID      = "A0ACMEAPP1"
	SlackBotUserID  = "U0ACMEBOT1"
	SlackBotID      = "B0ACMEBOT1"
	SlackAuthedUser = "U0ACMEADM1" // the installing user
)

// slackScopes are the scopes the stand-in accepts (providers.md).
var slackScopes = set(
	"channels:read", "channels:history", "groups:read", "groups:history",
	"users:read", "users:read.email", "reactions:read", "chat:write", "team:read",
)

// Slack is the Slack stand-in (SLACK_URL): OAuth v2 with optional token
// rotation (Options.AccessTTL > 0), auth.test and auth.revoke, and the Web
// API methods ingestion and standups use (conversations.list, .history,
// .replies, users.info, chat.postMessage) over a seeded workspace
// (NewSlackData), plus signed Events API deliveries (SignEvent).
type Slack struct {
	oauthServer
	ws  Workspace
	mux *http.ServeMux
	api slackWebAPI
}

// NewSlack returns a Slack stand-in. Defaults: team T0ACME0001 "Acme" at
// https://acme.slack.com/, seeded with NewSlackData(1, now).
func NewSlack(o Options) *Slack {
	s := &Slack{ws: o.Workspace.withDefaults(Workspace{ID: "T0ACME0001", Name: "Acme", Login: "acme"})}
	s.api.data = NewSlackData(1, o.now())
	s.api.calls = map[string]int{}
	rotating := o.AccessTTL > 0
	s.init(o, policy{
		accessTTL: o.AccessTTL,
		refresh:   rotating,
		newCode: func() string {
			return randString(12, digits) + "." + randString(13, digits) + "." + randString(64, hexdig)
		},
		newAccess: func() string {
			if rotating {
				return "xoxe.xoxb-1-" + randString(80, alnum)
			}
			return "xoxb-" + randString(13, digits) + "-" + randString(13, digits) + "-" + randString(24, alnum)
		},
		newRefresh: func() string { return "xoxe-1-" + randString(80, alnum) },
	})
	s.mux = http.NewServeMux()
	s.routes()
	return s
}

func (s *Slack) routes() {
	auth := s.authorize(authorizeSpec{
		service:      "Slack",
		workspace:    s.ws.Name,
		scopeSep:     ",",
		userScope:    true,
		known:        slackScopes,
		requireScope: true,
	})
	s.mux.Handle("GET /oauth/v2/authorize", auth)
	s.mux.Handle("POST /oauth/v2/authorize", auth)
	s.mux.HandleFunc("POST /api/oauth.v2.access", s.token)
	s.mux.HandleFunc("GET /api/auth.test", s.authTest)
	s.mux.HandleFunc("POST /api/auth.test", s.authTest)
	s.mux.HandleFunc("POST /api/auth.revoke", s.authRevoke)
	s.apiRoutes()
}

// ServeHTTP serves the Slack paths; anything else is 404.
func (s *Slack) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// URL is the workspace URL reported by auth.test.
func (s *Slack) URL() string { return "https://" + s.ws.Login + ".slack.com/" }

func slackError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]any{"ok": false, "error": code})
}

type slackTeam struct {
	Name string `json:"name"`
	ID   string `json:"id"`
}

type slackAccess struct {
	OK                  bool              `json:"ok"`
	AppID               string            `json:"app_id"`
	AuthedUser          map[string]string `json:"authed_user"`
	Scope               string            `json:"scope"`
	TokenType           string            `json:"token_type"`
	AccessToken         string            `json:"access_token"`
	BotUserID           string            `json:"bot_user_id"`
	RefreshToken        string            `json:"refresh_token,omitempty"`
	ExpiresIn           int               `json:"expires_in,omitempty"`
	Team                slackTeam         `json:"team"`
	Enterprise          *slackTeam        `json:"enterprise"`
	IsEnterpriseInstall bool              `json:"is_enterprise_install"`
}

// token serves oauth.v2.access: code exchange and, with rotation, refresh.
// Every error is HTTP 200 {"ok":false,"error":…}.
func (s *Slack) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		slackError(w, http.StatusOK, "invalid_form_data")
		return
	}
	grantType := r.Form.Get("grant_type")
	if grantType == "" {
		grantType = "authorization_code"
	}
	if st := s.tokenRequest(grantType); st != 0 {
		writeFailure(w, st, func(w http.ResponseWriter, status int) {
			code := "invalid_request"
			if status == http.StatusTooManyRequests {
				code = "ratelimited"
			}
			slackError(w, status, code)
		})
		return
	}
	id, secret := clientCredentials(r)
	var ts tokenSet
	gerr := s.checkClient(id, secret)
	if gerr == errNone {
		switch grantType {
		case "authorization_code":
			ts, gerr = s.exchange(r.Form.Get("code"), id, r.Form.Get("redirect_uri"), "")
		case "refresh_token":
			ts, gerr = s.refreshGrant(r.Form.Get("refresh_token"), id)
		default:
			gerr = errGrantType
		}
	}
	if gerr != errNone {
		slackError(w, http.StatusOK, map[grantError]string{
			errInvalidClient:    "invalid_client_id",
			errBadSecret:        "bad_client_secret",
			errBadCode:          "invalid_code",
			errRedirectMismatch: "bad_redirect_uri",
			errBadVerifier:      "invalid_code",
			errBadRefresh:       "invalid_refresh_token",
			errGrantType:        "invalid_grant_type",
		}[gerr])
		return
	}
	writeJSON(w, http.StatusOK, slackAccess{
		OK:           true,
		AppID:        SlackAppID,
		AuthedUser:   map[string]string{"id": SlackAuthedUser},
		Scope:        strings.Join(ts.Scopes, ","),
		TokenType:    "bot",
		AccessToken:  ts.AccessToken,
		BotUserID:    SlackBotUserID,
		RefreshToken: ts.RefreshToken,
		ExpiresIn:    ts.ExpiresIn,
		Team:         slackTeam{Name: s.ws.Name, ID: s.ws.ID},
	})
}

// authenticate checks the request's `Authorization: Bearer` token and
// returns Slack's error code when it is not valid. Any other scheme (such
// as "bot", what an oauth2.Client sends for "token_type":"bot") is
// invalid_auth.
func (s *Slack) authenticate(r *http.Request) (accessInfo, string) {
	info, st := s.checkAccess(authToken(r, "Bearer"))
	switch st {
	case tokenValid:
		return info, ""
	case tokenRevoked:
		return info, "token_revoked"
	case tokenExpired:
		return info, "token_expired"
	}
	return info, "invalid_auth"
}

func (s *Slack) authTest(w http.ResponseWriter, r *http.Request) {
	if _, code := s.authenticate(r); code != "" {
		slackError(w, http.StatusOK, code)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"ok":                    true,
		"url":                   s.URL(),
		"team":                  s.ws.Name,
		"user":                  "pmassist",
		"team_id":               s.ws.ID,
		"user_id":               SlackBotUserID,
		"bot_id":                SlackBotID,
		"is_enterprise_install": false,
	})
}

// authRevoke revokes the presented token and the refresh token of its
// installation.
func (s *Slack) authRevoke(w http.ResponseWriter, r *http.Request) {
	switch s.revoke(authToken(r, "Bearer"), false, false) {
	case tokenValid:
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "revoked": true})
	case tokenRevoked:
		slackError(w, http.StatusOK, "token_revoked")
	case tokenExpired:
		slackError(w, http.StatusOK, "token_expired")
	default:
		slackError(w, http.StatusOK, "invalid_auth")
	}
}
