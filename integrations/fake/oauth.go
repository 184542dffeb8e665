package fake

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"slices"
	"sync"
	"time"
)

// codeTTL is how long an authorization code can be exchanged.
const codeTTL = 10 * time.Minute

// policy is what differs between the providers' OAuth servers.
type policy struct {
	accessTTL time.Duration // 0: access tokens do not expire
	// refresh issues a rotating, single-use refresh token with every
	// access token.
	refresh    bool
	refreshTTL time.Duration // 0: refresh tokens do not expire
	// refreshRevokesAccess makes a refresh invalidate the access token
	// issued with the refresh token used (GitHub: "invalidates the old
	// pair"); otherwise the old access token lives until it expires.
	refreshRevokesAccess bool
	// redirectOptional lets a code exchange omit redirect_uri (GitHub);
	// otherwise it must equal the one given to authorize.
	redirectOptional bool
	// Generators of the provider's code and token formats.
	newCode, newAccess, newRefresh func() string
}

// grantError is why a token-endpoint request was refused; each provider
// maps it to its own wire error.
type grantError int

const (
	errNone             grantError = iota
	errInvalidClient               // unknown or missing client_id
	errBadSecret                   // wrong client_secret
	errBadCode                     // unknown, used, expired or another client's code
	errRedirectMismatch            // redirect_uri differs from authorize's
	errBadVerifier                 // PKCE code_verifier does not match
	errBadRefresh                  // unknown, used, expired or revoked refresh token
	errGrantType                   // unsupported grant_type
)

// tokenStatus is the state of a presented access token.
type tokenStatus int

const (
	tokenUnknown tokenStatus = iota
	tokenValid
	tokenExpired
	tokenRevoked // revoked, or replaced by a refresh that revokes it
)

// grant is one authorization: the code exchange and every refresh after it.
// Revoking any of its tokens revokes the whole grant.
type grant struct {
	clientID string
	scopes   []string
	revoked  bool
}

type authCode struct {
	clientID    string
	redirectURI string
	scopes      []string
	challenge   string // PKCE
	method      string // "plain" or "S256"
	expires     time.Time
}

type accessRecord struct {
	grant      *grant
	expires    time.Time // zero: never
	superseded bool
}

type refreshRecord struct {
	grant   *grant
	access  string    // the access token issued with it
	expires time.Time // zero: never
	used    bool
}

// tokenSet is what a successful exchange or refresh issued.
type tokenSet struct {
	AccessToken      string
	RefreshToken     string // "" without refresh tokens
	ExpiresIn        int    // seconds; 0: does not expire
	RefreshExpiresIn int    // seconds; 0: does not expire
	Scopes           []string
}

// accessInfo describes a valid access token.
type accessInfo struct {
	Scopes  []string
	Expires time.Time
}

// oauthServer is the OAuth machinery shared by the stand-ins: random,
// single-use codes bound to client, redirect URI and PKCE challenge;
// expiring access tokens; rotating single-use refresh tokens; revocation;
// and the test controls. Providers embed it, which promotes the exported
// test controls onto them.
type oauthServer struct {
	opts Options
	pol  policy

	mu         sync.Mutex
	codes      map[string]*authCode
	access     map[string]*accessRecord
	refresh    map[string]*refreshRecord
	grants     []*grant
	issued     []string
	authorized int
	requests   map[string]int
	failLeft   int
	failStatus int
}

func (a *oauthServer) init(o Options, p policy) {
	a.opts = o
	a.pol = p
	a.codes = map[string]*authCode{}
	a.access = map[string]*accessRecord{}
	a.refresh = map[string]*refreshRecord{}
	a.requests = map[string]int{}
}

func (a *oauthServer) now() time.Time { return a.opts.now() }

// RevokeAll invalidates every access and refresh token issued so far.
func (a *oauthServer) RevokeAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, g := range a.grants {
		g.revoked = true
	}
}

// FailNext makes the next n token-endpoint requests answer the HTTP status
// with a plausible body (plain "upstream unavailable" for 5xx; 429 adds
// Retry-After: 1). The requests are still counted by TokenRequests.
func (a *oauthServer) FailNext(n, status int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.failLeft, a.failStatus = n, status
}

// TokenRequests counts the token-endpoint requests made with grant_type
// grant ("authorization_code", "refresh_token"), failed ones included.
func (a *oauthServer) TokenRequests(grant string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.requests[grant]
}

// IssuedSecrets lists every access and refresh token issued so far, for
// tests that check no secret leaks.
func (a *oauthServer) IssuedSecrets() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.issued)
}

// Authorized counts the authorization codes handed out.
func (a *oauthServer) Authorized() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.authorized
}

// tokenRequest counts a token-endpoint request and reports the status it
// must fail with (0: proceed).
func (a *oauthServer) tokenRequest(grantType string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests[grantType]++
	if a.failLeft > 0 {
		a.failLeft--
		return a.failStatus
	}
	return 0
}

// writeFailure answers an injected failure. body writes the provider's
// plausible body for 4xx statuses.
func writeFailure(w http.ResponseWriter, status int, body func(w http.ResponseWriter, status int)) {
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "1")
	}
	if status >= 500 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write([]byte("upstream unavailable\n"))
		return
	}
	body(w, status)
}

// checkClient authenticates the OAuth client.
func (a *oauthServer) checkClient(id, secret string) grantError {
	if id == "" || subtle.ConstantTimeCompare([]byte(id), []byte(a.opts.ClientID)) != 1 {
		return errInvalidClient
	}
	if subtle.ConstantTimeCompare([]byte(secret), []byte(a.opts.ClientSecret)) != 1 {
		return errBadSecret
	}
	return errNone
}

// issueCode hands out an authorization code.
func (a *oauthServer) issueCode(clientID, redirectURI string, scopes []string, challenge, method string) string {
	code := a.pol.newCode()
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for k, c := range a.codes { // forget expired codes
		if now.After(c.expires) {
			delete(a.codes, k)
		}
	}
	a.codes[code] = &authCode{
		clientID:    clientID,
		redirectURI: redirectURI,
		scopes:      slices.Clone(scopes),
		challenge:   challenge,
		method:      method,
		expires:     now.Add(codeTTL),
	}
	a.authorized++
	return code
}

// exchange redeems an authorization code. A refused attempt leaves the code
// usable; a successful one consumes it.
func (a *oauthServer) exchange(code, clientID, redirectURI, verifier string) (tokenSet, grantError) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.codes[code]
	if !ok || code == "" || c.clientID != clientID {
		return tokenSet{}, errBadCode
	}
	if a.now().After(c.expires) {
		delete(a.codes, code)
		return tokenSet{}, errBadCode
	}
	if c.redirectURI != redirectURI && !(redirectURI == "" && a.pol.redirectOptional) {
		return tokenSet{}, errRedirectMismatch
	}
	if c.challenge != "" && !pkceMatches(c.method, c.challenge, verifier) {
		return tokenSet{}, errBadVerifier
	}
	delete(a.codes, code)
	g := &grant{clientID: clientID, scopes: c.scopes}
	a.grants = append(a.grants, g)
	return a.issueLocked(g), errNone
}

// refreshGrant redeems a refresh token for a new pair; the old refresh
// token stops working (rotation).
func (a *oauthServer) refreshGrant(token, clientID string) (tokenSet, grantError) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.refresh[token]
	if !ok || token == "" || r.used || r.grant.revoked || r.grant.clientID != clientID ||
		(!r.expires.IsZero() && !a.now().Before(r.expires)) {
		return tokenSet{}, errBadRefresh
	}
	r.used = true
	if a.pol.refreshRevokesAccess {
		if old := a.access[r.access]; old != nil {
			old.superseded = true
		}
	}
	return a.issueLocked(r.grant), errNone
}

func (a *oauthServer) issueLocked(g *grant) tokenSet {
	now := a.now()
	ts := tokenSet{AccessToken: a.pol.newAccess(), Scopes: slices.Clone(g.scopes)}
	ar := &accessRecord{grant: g}
	if a.pol.accessTTL > 0 {
		ar.expires = now.Add(a.pol.accessTTL)
		ts.ExpiresIn = int(a.pol.accessTTL / time.Second)
	}
	a.access[ts.AccessToken] = ar
	a.issued = append(a.issued, ts.AccessToken)
	if a.pol.refresh {
		ts.RefreshToken = a.pol.newRefresh()
		rr := &refreshRecord{grant: g, access: ts.AccessToken}
		if a.pol.refreshTTL > 0 {
			rr.expires = now.Add(a.pol.refreshTTL)
			ts.RefreshExpiresIn = int(a.pol.refreshTTL / time.Second)
		}
		a.refresh[ts.RefreshToken] = rr
		a.issued = append(a.issued, ts.RefreshToken)
	}
	return ts
}

// checkAccess reports the state of an access token.
func (a *oauthServer) checkAccess(token string) (accessInfo, tokenStatus) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.access[token]
	switch {
	case !ok || token == "":
		return accessInfo{}, tokenUnknown
	case r.grant.revoked || r.superseded:
		return accessInfo{}, tokenRevoked
	case !r.expires.IsZero() && !a.now().Before(r.expires):
		return accessInfo{}, tokenExpired
	}
	return accessInfo{Scopes: slices.Clone(r.grant.scopes), Expires: r.expires}, tokenValid
}

// revoke revokes the grant of an access token, or of a refresh token too
// when refreshToo. An expired access token revokes its grant (and so its
// refresh token) only when expiredToo. It reports the token's state before:
// only tokenValid, or tokenExpired with expiredToo, revoked anything.
func (a *oauthServer) revoke(token string, refreshToo, expiredToo bool) tokenStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	if token == "" {
		return tokenUnknown
	}
	if r, ok := a.access[token]; ok {
		switch {
		case r.grant.revoked || r.superseded:
			return tokenRevoked
		case !r.expires.IsZero() && !a.now().Before(r.expires):
			if expiredToo {
				r.grant.revoked = true
			}
			return tokenExpired
		}
		r.grant.revoked = true
		return tokenValid
	}
	if r, ok := a.refresh[token]; ok && refreshToo {
		if r.grant.revoked || r.used {
			return tokenRevoked
		}
		if !r.expires.IsZero() && !a.now().Before(r.expires) {
			return tokenExpired
		}
		r.grant.revoked = true
		return tokenValid
	}
	return tokenUnknown
}

// pkceMatches checks a PKCE code_verifier against the challenge (RFC 7636).
func pkceMatches(method, challenge, verifier string) bool {
	if verifier == "" {
		return false
	}
	want := verifier
	if method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(challenge)) == 1
}
