// Package fake holds the built-in stand-ins for the outside services PM
// Assistant connects: Slack, Linear, GitHub and Stripe. Each is an http.Handler that
// speaks the providers' real wire formats, errors included (see
// spec/providers.md), so that what passes against a stand-in works against
// the real service. Tests serve them with httptest; `pmassist demo` serves
// them on loopback.
//
// Each integration stand-in is an OAuth 2 authorization server (authorize with a consent
// page, code exchange, rotating refresh tokens, revocation) plus the
// provider's identity call. The shared OAuth machinery lives in oauthServer;
// every provider keeps its own file and route table so that further APIs
// (ingestion) can be added beside the existing ones. The Stripe stand-in
// (stripe.go) is billing's API only, authenticated by a secret key.
//
// All state is in memory and every method is safe for concurrent use.
package fake

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Options configures a stand-in.
type Options struct {
	// ClientID and ClientSecret are the only OAuth client the stand-in knows.
	ClientID, ClientSecret string
	// AccessTTL is the lifetime of access tokens. Zero means they do not
	// expire and no refresh tokens are issued (Slack without token
	// rotation, GitHub OAuth App); a positive value turns on expiring tokens
	// with rotating refresh tokens (Slack token rotation, GitHub App user
	// tokens). Linear tokens always expire: zero means 24 hours there.
	AccessTTL time.Duration
	// AutoApprove makes GET authorize redirect at once with a code instead
	// of showing the consent page.
	AutoApprove bool
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Workspace is the identity the stand-in reports; empty fields take the
	// provider's defaults.
	Workspace Workspace
}

// Workspace is the identity a stand-in reports.
//
//   - Slack: team ID and Name; Login is the workspace domain
//     (https://{Login}.slack.com/).
//   - Linear: organization ID and Name; Login is the urlKey.
//   - GitHub: account ID (numeric) and Login; Name is the display name.
type Workspace struct{ ID, Name, Login string }

func (w Workspace) withDefaults(d Workspace) Workspace {
	if w.ID == "" {
		w.ID = d.ID
	}
	if w.Name == "" {
		w.Name = d.Name
	}
	if w.Login == "" {
		w.Login = d.Login
	}
	return w
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

const (
	alnum  = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	digits = "0123456789"
	hexdig = "0123456789abcdef"
)

// randString returns n characters drawn from alphabet with crypto/rand.
func randString(n int, alphabet string) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("fake: no randomness: " + err.Error())
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// writeJSON answers v as JSON with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// authToken returns the credential of an Authorization header whose scheme
// is one of schemes (case-insensitive), or "".
func authToken(r *http.Request, schemes ...string) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !ok {
		return ""
	}
	for _, s := range schemes {
		if strings.EqualFold(scheme, s) {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}

// clientCredentials reads the client id and secret from HTTP Basic (as
// x/oauth2 sends them, query-escaped) or else from the form.
func clientCredentials(r *http.Request) (id, secret string) {
	if u, p, ok := r.BasicAuth(); ok {
		return unescape(u), unescape(p)
	}
	return r.Form.Get("client_id"), r.Form.Get("client_secret")
}

func unescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}
