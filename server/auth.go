package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/password"
)

const (
	sessionCookie = "pmassist_session"
	// touchEvery limits writes for last-seen and last-used times to one a
	// minute per session or token, so that reads stay reads.
	touchEvery = time.Minute
)

var errInternal = errors.New("internal error")

// identity is who is calling: a user, the current tenant and role, and how
// they authenticated (a session cookie or an API token).
type identity struct {
	user    *pmassist.User
	tenant  *pmassist.Tenant // nil when the user belongs to no tenant
	role    pmassist.Role
	session *pmassist.Session
	token   *pmassist.APIToken
}

type identityKey struct{}

// authResult is what authenticate learned; badCredentials is set when an
// Authorization header was sent but did not name a valid token.
type authResult struct {
	id             *identity
	badCredentials bool
}

func authFrom(ctx context.Context) authResult {
	a, _ := ctx.Value(identityKey{}).(authResult)
	return a
}

// randomToken returns n random bytes, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("server: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashSecret is how session ids, API tokens and invitation secrets are stored.
func hashSecret(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// authenticate resolves the caller without refusing anyone: the route
// wrappers (user, member, operator) decide what a request needs, so that an
// unknown path answers 404 whatever credentials it carries.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var res authResult
		var err error
		if h := r.Header.Get("Authorization"); h != "" {
			res.id, err = s.identifyToken(r.Context(), h)
			res.badCredentials = res.id == nil
		} else if c, cerr := r.Cookie(sessionCookie); cerr == nil && c.Value != "" {
			res.id, err = s.identifySession(w, r, c.Value)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if res.id == nil && !s.limitAnonymous(w, r) {
			return
		}
		if res.id != nil && res.id.tenant != nil && !s.limitTenant(w, r, res.id.tenant) {
			return
		}
		if res.id != nil {
			info := infoFrom(r.Context())
			info.userID = res.id.user.ID
			if res.id.tenant != nil {
				info.tenantID = res.id.tenant.ID
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), identityKey{}, res)))
	})
}

func (s *Server) identifyToken(ctx context.Context, header string) (*identity, error) {
	scheme, secret, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || !strings.HasPrefix(secret, pmassist.APITokenPrefix) {
		return nil, nil
	}
	tok, err := s.svc.Tokens.FindAPITokenByHash(ctx, hashSecret(secret))
	if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	id, err := s.loadIdentity(ctx, tok.UserID, tok.TenantID)
	if id == nil || err != nil {
		return nil, err
	}
	id.token = tok
	if now := s.now(); tok.LastUsedAt == nil || now.Sub(*tok.LastUsedAt) >= touchEvery {
		tctx := pmassist.NewContextWithTenant(ctx, tok.TenantID)
		if err := s.svc.Tokens.TouchAPIToken(tctx, tok.ID, now); err != nil {
			s.logger.WarnContext(ctx, "recording token use failed", "error", err)
		}
	}
	return id, nil
}

func (s *Server) identifySession(w http.ResponseWriter, r *http.Request, raw string) (*identity, error) {
	ctx := r.Context()
	hash := hashSecret(raw)
	sess, err := s.svc.Sessions.FindSessionByHash(ctx, hash)
	if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if sess.Expired(now) {
		if err := s.svc.Sessions.DeleteSession(ctx, hash); err != nil {
			return nil, err
		}
		return nil, nil
	}
	id, err := s.loadIdentity(ctx, sess.UserID, sess.TenantID)
	if err != nil {
		return nil, err
	}
	if id == nil && sess.TenantID != "" {
		// Removed from the session's tenant: fall back to another one.
		id, err = s.loadIdentity(ctx, sess.UserID, "")
		if err != nil {
			return nil, err
		}
	}
	if id == nil {
		return nil, nil
	}
	id.session = sess
	var upd pmassist.SessionUpdate
	if tid := id.tenantID(); tid != sess.TenantID {
		upd.TenantID = &tid
		sess.TenantID = tid
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		upd.LastSeenAt = &now
		sess.LastSeenAt = now
		s.setSessionCookie(w, raw)
	}
	if upd.TenantID != nil || upd.LastSeenAt != nil {
		if err := s.svc.Sessions.UpdateSession(ctx, hash, upd); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// loadIdentity loads a user and their membership of tenantID. With tenantID
// "" it picks the user's first tenant, if any. A missing user or membership
// yields a nil identity.
func (s *Server) loadIdentity(ctx context.Context, userID, tenantID string) (*identity, error) {
	u, err := s.svc.Users.FindUserByID(ctx, userID)
	if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	id := &identity{user: u}
	if tenantID == "" {
		tenants, err := s.svc.Members.ListUserTenants(ctx, userID)
		if err != nil {
			return nil, err
		}
		if len(tenants) > 0 {
			id.tenant, id.role = tenants[0].Tenant, tenants[0].Role
		}
		return id, nil
	}
	t, err := s.svc.Tenants.FindTenantByID(ctx, tenantID)
	if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	m, err := s.svc.Members.FindMember(pmassist.NewContextWithTenant(ctx, tenantID), userID)
	if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	id.tenant, id.role = t, m.Role
	return id, nil
}

func (id *identity) tenantID() string {
	if id.tenant == nil {
		return ""
	}
	return id.tenant.ID
}

func (s *Server) setSessionCookie(w http.ResponseWriter, raw string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: raw, Path: "/",
		MaxAge:   int(pmassist.SessionIdleTimeout / time.Second),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode,
	})
}

// startSession signs u in: a new random session id in the cookie, its hash
// in the store, the user's first tenant as current one.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u *pmassist.User) (*pmassist.Session, error) {
	tenants, err := s.svc.Members.ListUserTenants(r.Context(), u.ID)
	if err != nil {
		return nil, err
	}
	raw := randomToken(32)
	now := s.now()
	sess := &pmassist.Session{
		IDHash: hashSecret(raw), UserID: u.ID, CSRFToken: randomToken(32),
		CreatedAt: now, LastSeenAt: now,
	}
	if len(tenants) > 0 {
		sess.TenantID = tenants[0].Tenant.ID
	}
	if err := s.svc.Sessions.CreateSession(r.Context(), sess); err != nil {
		return nil, err
	}
	s.setSessionCookie(w, raw)
	return sess, nil
}

// endSession deletes the caller's session and its cookie.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request, id *identity) error {
	s.clearSessionCookie(w)
	if id.session == nil {
		return nil
	}
	return s.svc.Sessions.DeleteSession(r.Context(), id.session.IDHash)
}

// rateLimitError is a 429 with the time the caller must wait.
type rateLimitError struct {
	wait time.Duration
}

func (e *rateLimitError) Error() string { return "rate limited" }

func (e *rateLimitError) Unwrap() error {
	return pmassist.Errorf(pmassist.ERATELIMITED, "too many failed attempts; try again in %s", humanSeconds(e.retryAfter()))
}

// setRetryAfter adds Retry-After when err is a rate-limit refusal.
func setRetryAfter(w http.ResponseWriter, err error) {
	var rl *rateLimitError
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(rl.retryAfter()))
	}
}

func (e *rateLimitError) retryAfter() int {
	secs := int((e.wait + time.Second - 1) / time.Second)
	return max(secs, 1)
}

func humanSeconds(n int) string {
	if n == 1 {
		return "1 second"
	}
	if n < 120 {
		return fmt.Sprintf("%d seconds", n)
	}
	return fmt.Sprintf("%d minutes", (n+59)/60)
}

// checkLogin verifies an email and password, throttling repeated failures.
func (s *Server) checkLogin(ctx context.Context, ip, email, pw string) (*pmassist.User, error) {
	email = pmassist.NormalizeEmail(email)
	now := s.now()
	if wait := s.throttle.wait(email, ip, now); wait > 0 {
		return nil, &rateLimitError{wait: wait}
	}
	u, err := s.svc.Users.FindUserByEmail(ctx, email)
	if err != nil && pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
		return nil, err
	}
	hash := s.dummyHash
	if u != nil {
		hash = u.PasswordHash
	}
	ok, verr := password.Verify(hash, pw)
	if verr != nil && u != nil {
		return nil, fmt.Errorf("verifying password of user %s: %w", u.ID, verr)
	}
	if u == nil || !ok {
		s.throttle.fail(email, ip, now)
		return nil, pmassist.Errorf(pmassist.EUNAUTHORIZED, "wrong email or password")
	}
	s.throttle.succeed(email)
	return u, nil
}

// handlerFunc is a handler that needs an authenticated caller.
type handlerFunc func(w http.ResponseWriter, r *http.Request, id *identity)

// user wraps h for any signed-in caller, with or without a tenant.
func (s *Server) user(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.require(w, r)
		if ok {
			h(w, r, id)
		}
	}
}

// member wraps h for a caller whose current tenant is active and who holds at
// least role min there; the request context then carries the tenant.
func (s *Server) member(min pmassist.Role, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.require(w, r)
		if !ok {
			return
		}
		switch {
		case id.tenant == nil:
			s.fail(w, r, pmassist.Errorf(pmassist.EFORBIDDEN, "you are not a member of any tenant"))
		case id.tenant.Suspended:
			s.fail(w, r, pmassist.Errorf(pmassist.EFORBIDDEN, "tenant suspended"))
		case !id.role.AtLeast(min):
			s.fail(w, r, pmassist.Errorf(pmassist.EFORBIDDEN, "this needs the %s role or higher", min))
		default:
			h(w, r.WithContext(pmassist.NewContextWithTenant(r.Context(), id.tenant.ID)), id)
		}
	}
}

// operator wraps h for operators only.
func (s *Server) operator(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, ok := s.require(w, r)
		if !ok {
			return
		}
		if !id.user.Operator {
			s.fail(w, r, pmassist.Errorf(pmassist.EFORBIDDEN, "only the operator can do this"))
			return
		}
		h(w, r, id)
	}
}

// require answers 401 (API) or redirects to the login page (pages) when
// nobody is signed in, and 403 when a cookie-authenticated state change
// lacks its CSRF token.
func (s *Server) require(w http.ResponseWriter, r *http.Request) (*identity, bool) {
	a := authFrom(r.Context())
	if a.id == nil {
		if wantsPage(r) && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return nil, false
		}
		msg := "sign in or send an API token"
		if a.badCredentials {
			msg = "invalid API token"
		}
		s.fail(w, r, pmassist.Errorf(pmassist.EUNAUTHORIZED, "%s", msg))
		return nil, false
	}
	if a.id.session != nil && !safeMethod(r.Method) {
		got := r.Header.Get("X-CSRF-Token")
		if got == "" && !isAPI(r) {
			got = r.PostFormValue("csrf_token")
		}
		if subtle.ConstantTimeCompare([]byte(got), []byte(a.id.session.CSRFToken)) != 1 {
			s.fail(w, r, pmassist.Errorf(pmassist.EFORBIDDEN, "missing or invalid CSRF token; reload the page and try again"))
			return nil, false
		}
	}
	return a.id, true
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// fail answers err as JSON for the API and as an error page for pages.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	setRetryAfter(w, err)
	if !wantsPage(r) {
		s.writeError(w, r, err)
		return
	}
	code := pmassist.ErrorCode(err)
	if code == pmassist.EINTERNAL {
		s.logger.ErrorContext(r.Context(), "page failed", "error", err.Error(), "request_id", requestID(r.Context()))
	}
	status := ErrorStatusCode(code)
	s.renderError(w, r, status, http.StatusText(status), pmassist.ErrorMessage(err))
}
