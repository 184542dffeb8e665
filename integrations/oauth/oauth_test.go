package oauth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/store"
	"golang.org/x/oauth2"
)

func TestBackoff(t *testing.T) {
	// The id "" hashes to 0: the lowest jitter, -20 %.
	want := []time.Duration{
		48 * time.Second,             // 1 min
		96 * time.Second,             // 2 min
		192 * time.Second,            // 4 min
		384 * time.Second,            // 8 min
		768 * time.Second,            // 16 min
		1536 * time.Second,           // 32 min
		3072 * time.Second,           // 64 min
		6144 * time.Second,           // 128 min
		12288 * time.Second,          // 256 min
		4*time.Hour + 48*time.Minute, // 512 min, capped at 6 h
		4*time.Hour + 48*time.Minute, // still capped
		4*time.Hour + 48*time.Minute, // ...
		4*time.Hour + 48*time.Minute, // ...
	}
	for i, w := range want {
		if got := backoff(i+1, ""); got != w {
			t.Errorf("backoff(%d, \"\") = %v, want %v", i+1, got, w)
		}
	}
	// "a" hashes to 97, 97 % 41 = 15: -5 %.
	if got := backoff(1, "a"); got != 57*time.Second {
		t.Errorf("backoff(1, a) = %v, want 57s", got)
	}
	if got := backoff(3, "a"); got != 228*time.Second {
		t.Errorf("backoff(3, a) = %v, want 3m48s", got)
	}
	// No failures yet counts as the first; huge counts neither overflow nor pass the cap.
	if got := backoff(0, ""); got != 48*time.Second {
		t.Errorf("backoff(0) = %v", got)
	}
	if got := backoff(1_000_000, ""); got != 4*time.Hour+48*time.Minute {
		t.Errorf("backoff(1e6) = %v", got)
	}

	base := func(n int) time.Duration { return min(time.Minute<<(n-1), 6*time.Hour) }
	jitters := map[time.Duration]bool{}
	for range 500 {
		id := pmassist.NewID()
		first := backoff(1, id)
		if first < 48*time.Second || first > 72*time.Second {
			t.Fatalf("backoff(1, %s) = %v, outside ±20 %% of 1m", id, first)
		}
		jitters[first] = true
		pct := (first - time.Minute) * 100 / time.Minute // a whole percentage
		for n := 1; n <= 12; n++ {
			got, b := backoff(n, id), base(n)
			if got < b*80/100 || got > b*120/100 {
				t.Fatalf("backoff(%d, %s) = %v, outside ±20 %% of %v", n, id, got, b)
			}
			// The jitter is a fixed share for an id, so retries keep their order.
			if got != b+pct*b/100 {
				t.Fatalf("backoff(%d, %s) = %v: jitter is not the same share as for n=1 (%v)", n, id, got, first)
			}
			if again := backoff(n, id); again != got {
				t.Fatalf("backoff(%d, %s) not deterministic: %v then %v", n, id, got, again)
			}
		}
	}
	if len(jitters) < 20 {
		t.Fatalf("only %d distinct jitters over 500 ids: connections would retry in step", len(jitters))
	}
}

func TestDescribeAndProviderErrors(t *testing.T) {
	cases := []struct {
		err  *providerError
		want string
	}{
		{&providerError{Service: pmassist.ServiceSlack, Status: 200, Code: "invalid_code"},
			"Slack: the authorization code is invalid or has expired; connect again (invalid_code)"},
		{&providerError{Service: pmassist.ServiceGitHub, Status: 200, Code: "bad_verification_code"},
			"GitHub: the authorization code is invalid or has expired; connect again (bad_verification_code)"},
		{&providerError{Service: pmassist.ServiceLinear, Status: 400, Code: "invalid_grant"},
			"Linear: the grant is invalid, expired or was revoked; reconnect (invalid_grant)"},
		{&providerError{Service: pmassist.ServiceSlack, Status: 200, Code: "access_denied"},
			"Slack: access was declined on the consent screen (access_denied)"},
		{&providerError{Service: pmassist.ServiceLinear, Status: 400, Code: "weird_thing"},
			"Linear refused the request (weird_thing)"},
		{&providerError{Service: pmassist.ServiceLinear, Status: 503},
			"Linear is unavailable (HTTP 503)"},
		{&providerError{Service: pmassist.ServiceGitHub, Status: 502, Detail: "malformed answer"},
			"GitHub is unavailable (HTTP 502)"},
		{&providerError{Service: pmassist.ServiceGitHub, Detail: "dial tcp 127.0.0.1:1: connect: connection refused"},
			"cannot reach GitHub: dial tcp 127.0.0.1:1: connect: connection refused"},
		{&providerError{Service: pmassist.ServiceSlack, Status: 404},
			"Slack answered HTTP 404"},
	}
	for _, tc := range cases {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("%+v: %q, want %q", *tc.err, got, tc.want)
		}
		// Callers see the same message, as a client error.
		if code, msg := pmassist.ErrorCode(tc.err), pmassist.ErrorMessage(tc.err); code != pmassist.EINVALID || msg != tc.want {
			t.Errorf("%+v: reaches clients as %s %q", *tc.err, code, msg)
		}
	}
	if got := describe(pmassist.ServiceSlack, "invalid_code"); got != "Slack: the authorization code is invalid or has expired; connect again (invalid_code)" {
		t.Errorf("describe: %q", got)
	}
	if got := describe(pmassist.ServiceGitHub, "bad_verification_code"); got != "GitHub: the authorization code is invalid or has expired; connect again (bad_verification_code)" {
		t.Errorf("describe: %q", got)
	}
	if got := describe(pmassist.ServiceGitHub, "nope"); got != "GitHub refused the request (nope)" {
		t.Errorf("describe unknown: %q", got)
	}
}

func TestReauth(t *testing.T) {
	for _, code := range []string{"invalid_grant", "invalid_refresh_token", "bad_refresh_token", "token_revoked"} {
		if !(&providerError{Service: pmassist.ServiceSlack, Status: 400, Code: code}).reauth() {
			t.Errorf("%s: reauth false", code)
		}
		if !(&providerError{Service: pmassist.ServiceSlack, Status: 200, Code: code}).reauth() {
			t.Errorf("%s (HTTP 200): reauth false", code)
		}
	}
	if !(&providerError{Service: pmassist.ServiceGitHub, Status: http.StatusUnauthorized}).reauth() {
		t.Error("HTTP 401: reauth false")
	}
	for _, e := range []*providerError{
		{Service: pmassist.ServiceLinear, Status: http.StatusServiceUnavailable},
		{Service: pmassist.ServiceLinear, Status: http.StatusInternalServerError},
		{Service: pmassist.ServiceGitHub, Detail: "connection refused"},
		{Service: pmassist.ServiceSlack, Status: 429, Code: "ratelimited"},
		{Service: pmassist.ServiceSlack, Status: 400, Code: "invalid_client"},
	} {
		if e.reauth() {
			t.Errorf("%+v: reauth true", *e)
		}
	}
}

func TestAsProviderError(t *testing.T) {
	if asProviderError(pmassist.ServiceSlack, nil) != nil {
		t.Fatal("nil error mapped to a providerError")
	}
	re := &oauth2.RetrieveError{Response: &http.Response{StatusCode: 400}, ErrorCode: "invalid_grant", ErrorDescription: "revoked"}
	got := asProviderError(pmassist.ServiceLinear, fmt.Errorf("oauth2: %w", re))
	if *got != (providerError{Service: pmassist.ServiceLinear, Code: "invalid_grant", Status: 400}) {
		t.Fatalf("RetrieveError 400: %+v", *got)
	}
	if !got.reauth() {
		t.Fatal("invalid_grant from a refresh does not need reauth")
	}
	got = asProviderError(pmassist.ServiceGitHub, &oauth2.RetrieveError{Response: &http.Response{StatusCode: 503}})
	if *got != (providerError{Service: pmassist.ServiceGitHub, Status: 503}) || got.Error() != "GitHub is unavailable (HTTP 503)" || got.reauth() {
		t.Fatalf("RetrieveError 503: %+v %q", *got, got.Error())
	}
	got = asProviderError(pmassist.ServiceGitHub, &oauth2.RetrieveError{Response: &http.Response{StatusCode: 401}})
	if got.Status != 401 || !got.reauth() {
		t.Fatalf("RetrieveError 401: %+v", *got)
	}
	// An answer of 200 without a token or an error code is a broken provider.
	got = asProviderError(pmassist.ServiceSlack, &oauth2.RetrieveError{Response: &http.Response{StatusCode: 200}})
	if got.Status != http.StatusBadGateway || got.Error() != "Slack is unavailable (HTTP 502)" {
		t.Fatalf("RetrieveError 200: %+v %q", *got, got.Error())
	}
	// Slack refuses with HTTP 200 and an error code.
	got = asProviderError(pmassist.ServiceSlack, &oauth2.RetrieveError{Response: &http.Response{StatusCode: 200}, ErrorCode: "invalid_code"})
	if got.Status != 200 || got.Code != "invalid_code" {
		t.Fatalf("Slack refusal: %+v", *got)
	}
	// A providerError passes through untouched.
	pe := &providerError{Service: pmassist.ServiceSlack, Status: 200, Code: "token_revoked"}
	if asProviderError(pmassist.ServiceLinear, fmt.Errorf("wrapped: %w", pe)) != pe {
		t.Fatal("providerError not passed through")
	}
	// A transport error keeps its cause but not the URL, which may carry parameters.
	ue := &url.Error{Op: "Post", URL: "https://slack.test/api/oauth.v2.access?code=SECRETCODE", Err: errors.New("connection refused")}
	got = asProviderError(pmassist.ServiceSlack, fmt.Errorf("oauth2: cannot fetch token: %w", ue))
	if *got != (providerError{Service: pmassist.ServiceSlack, Detail: "connection refused"}) ||
		got.Error() != "cannot reach Slack: connection refused" || got.reauth() {
		t.Fatalf("network error: %+v %q", *got, got.Error())
	}
}

func TestScopesOf(t *testing.T) {
	cases := []struct {
		extra any
		want  []string
	}{
		{"channels:read,channels:history,chat:write", []string{"channels:read", "channels:history", "chat:write"}},
		{"repo read:org", []string{"repo", "read:org"}},
		{"read, write  admin", []string{"read", "write", "admin"}},
		{"read", []string{"read"}},
		{"", nil},
		{nil, nil},
		{[]any{"read"}, nil},
	}
	for _, tc := range cases {
		tok := &oauth2.Token{AccessToken: "x"}
		if tc.extra != nil {
			tok = tok.WithExtra(map[string]any{"scope": tc.extra})
		}
		got := scopesOf(tok)
		if len(got) != len(tc.want) || (len(got) > 0 && !slices.Equal(got, tc.want)) {
			t.Errorf("scopesOf(%#v) = %q, want %q", tc.extra, got, tc.want)
		}
	}
}

func TestStateStore(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	alice := pmassist.OAuthCaller{TenantID: "tenant-a", UserID: "user-a", SessionKey: "session:aaaa"}
	flow := func(svc pmassist.Service, c pmassist.OAuthCaller) pending {
		return pending{service: svc, caller: c, verifier: "v-" + string(svc), ownApp: true, expires: now.Add(stateTTL)}
	}
	if stateTTL != 10*time.Minute {
		t.Fatalf("stateTTL %v", stateTTL)
	}

	s := newStateStore()
	state, err := s.add(flow(pmassist.ServiceLinear, alice), now)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err := base64.RawURLEncoding.DecodeString(state); err != nil || len(raw) != 32 {
		t.Fatalf("state %q is not 32 random bytes: %v", state, err)
	}
	for k := range s.pending {
		if string(k[:]) == state || strings.Contains(string(k[:]), state) {
			t.Fatal("the state itself is kept")
		}
	}
	p, err := s.take(state, pmassist.ServiceLinear, alice, now.Add(stateTTL))
	if err != nil || p.verifier != "v-linear" || !p.ownApp || p.caller != alice {
		t.Fatalf("take at the last moment: %+v %v", p, err)
	}
	if _, err := s.take(state, pmassist.ServiceLinear, alice, now); err != pmassist.ErrOAuthState {
		t.Fatalf("second use: %v", err)
	}

	refused := map[string]struct {
		service pmassist.Service
		caller  pmassist.OAuthCaller
		at      time.Time
	}{
		"expired":         {pmassist.ServiceSlack, alice, now.Add(stateTTL + time.Nanosecond)},
		"other session":   {pmassist.ServiceSlack, pmassist.OAuthCaller{TenantID: "tenant-a", UserID: "user-a", SessionKey: "session:bbbb"}, now},
		"API token":       {pmassist.ServiceSlack, pmassist.OAuthCaller{TenantID: "tenant-a", UserID: "user-a", SessionKey: "token:aaaa"}, now},
		"other tenant":    {pmassist.ServiceSlack, pmassist.OAuthCaller{TenantID: "tenant-b", UserID: "user-a", SessionKey: "session:aaaa"}, now},
		"other user":      {pmassist.ServiceSlack, pmassist.OAuthCaller{TenantID: "tenant-a", UserID: "user-b", SessionKey: "session:aaaa"}, now},
		"other service":   {pmassist.ServiceGitHub, alice, now},
		"no caller":       {pmassist.ServiceSlack, pmassist.OAuthCaller{}, now},
		"caller's prefix": {pmassist.ServiceSlack, pmassist.OAuthCaller{TenantID: "tenant-a", UserID: "user-a", SessionKey: "session:aaa"}, now},
	}
	for name, tc := range refused {
		st, err := s.add(flow(pmassist.ServiceSlack, alice), now)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.take(st, tc.service, tc.caller, tc.at); err != pmassist.ErrOAuthState {
			t.Errorf("%s: %v, want ErrOAuthState", name, err)
		}
		// A refused presentation consumes the state too.
		if _, err := s.take(st, pmassist.ServiceSlack, alice, now); err != pmassist.ErrOAuthState {
			t.Errorf("%s: the state survived a refused presentation: %v", name, err)
		}
	}
	if _, err := s.take("", pmassist.ServiceSlack, alice, now); err != pmassist.ErrOAuthState {
		t.Fatalf("empty state: %v", err)
	}
	if _, err := s.take("forged", pmassist.ServiceSlack, alice, now); err != pmassist.ErrOAuthState {
		t.Fatalf("unknown state: %v", err)
	}
	// A flow bound to no session at all is never completed, even by an equal caller.
	anon := pmassist.OAuthCaller{TenantID: "tenant-a", UserID: "user-a"}
	st, _ := s.add(flow(pmassist.ServiceSlack, anon), now)
	if _, err := s.take(st, pmassist.ServiceSlack, anon, now); err != pmassist.ErrOAuthState {
		t.Fatalf("flow without a session key: %v", err)
	}
	if len(s.pending) != 0 {
		t.Fatalf("%d flows left after every one was taken", len(s.pending))
	}
}

func TestStateStorePrunesExpired(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	caller := pmassist.OAuthCaller{TenantID: "t", UserID: "u", SessionKey: "session:s"}
	s := newStateStore()
	old, _ := s.add(pending{service: pmassist.ServiceSlack, caller: caller, expires: now.Add(stateTTL)}, now)
	mid, _ := s.add(pending{service: pmassist.ServiceSlack, caller: caller, expires: now.Add(5*time.Minute + stateTTL)}, now.Add(5*time.Minute))
	if len(s.pending) != 2 {
		t.Fatalf("%d pending, want 2", len(s.pending))
	}
	// At 11 minutes the first flow has expired: the next add drops it.
	if _, err := s.add(pending{service: pmassist.ServiceSlack, caller: caller, expires: now.Add(21 * time.Minute)}, now.Add(11*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if len(s.pending) != 2 {
		t.Fatalf("%d pending after pruning, want 2", len(s.pending))
	}
	if _, ok := s.pending[sha256.Sum256([]byte(old))]; ok {
		t.Fatal("expired flow kept")
	}
	if _, err := s.take(mid, pmassist.ServiceSlack, caller, now.Add(12*time.Minute)); err != nil {
		t.Fatalf("unexpired flow pruned: %v", err)
	}

	// The store is bounded; expired flows make room again.
	full := newStateStore()
	for i := range maxPending - 1 { // filled directly: add prunes in O(n)
		full.pending[sha256.Sum256([]byte(fmt.Sprint("state-", i)))] = pending{service: pmassist.ServiceSlack, caller: caller, expires: now.Add(stateTTL)}
	}
	if _, err := full.add(pending{service: pmassist.ServiceSlack, caller: caller, expires: now.Add(stateTTL)}, now); err != nil {
		t.Fatalf("last add below the bound: %v", err)
	}
	if _, err := full.add(pending{service: pmassist.ServiceSlack, caller: caller, expires: now.Add(stateTTL)}, now); pmassist.ErrorCode(err) != pmassist.ERATELIMITED {
		t.Fatalf("add beyond the bound: %v", err)
	}
	if _, err := full.add(pending{service: pmassist.ServiceSlack, caller: caller, expires: now.Add(2 * stateTTL)}, now.Add(stateTTL+time.Second)); err != nil {
		t.Fatalf("add after expiry: %v", err)
	}
	if len(full.pending) != 1 {
		t.Fatalf("%d pending, want 1", len(full.pending))
	}
}

// testManager is a Manager on a real store with one tenant of the given
// tier and a settable clock; the provider URLs point nowhere, which is
// fine for what needs no network.
type testManager struct {
	*Manager
	ctx    context.Context
	caller pmassist.OAuthCaller
	mu     sync.Mutex
	now    time.Time
}

func (tm *testManager) advance(d time.Duration) {
	tm.mu.Lock()
	tm.now = tm.now.Add(d)
	tm.mu.Unlock()
}

func newTestManager(t *testing.T, tier pmassist.Tier) *testManager {
	t.Helper()
	keys, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "pmassist.db"), store.Options{NoSync: true, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	owner := &pmassist.User{Email: "owner@acme.test", Name: "Owner", PasswordHash: "not-a-real-hash"}
	tenant := &pmassist.Tenant{Name: "Acme", Tier: tier}
	if err := db.CreateTenant(context.Background(), tenant, owner); err != nil {
		t.Fatal(err)
	}
	tm := &testManager{now: time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC),
		ctx:    pmassist.NewContextWithTenant(context.Background(), tenant.ID),
		caller: pmassist.OAuthCaller{TenantID: tenant.ID, UserID: owner.ID, SessionKey: "session:abc"}}
	tm.Manager = New(Config{
		BaseURL: "https://pm.example/",
		Apps: map[pmassist.Service]AppCredentials{
			pmassist.ServiceSlack:  {ClientID: "slack-client", ClientSecret: "slack-secret"},
			pmassist.ServiceLinear: {ClientID: "linear-client", ClientSecret: "linear-secret"},
			pmassist.ServiceGitHub: {ClientID: "github-client", ClientSecret: "github-secret"},
		},
		SlackURL: "https://slack.test", LinearURL: "https://linear.test/", LinearAPIURL: "https://api.linear.test",
		GitHubURL: "https://github.test", GitHubAPIURL: "https://api.github.test",
		Now: func() time.Time { tm.mu.Lock(); defer tm.mu.Unlock(); return tm.now },
	}, Services{Connections: db, Apps: db, Tenants: db})
	return tm
}

func TestAuthorizeURLs(t *testing.T) {
	m := newTestManager(t, pmassist.TierEnterprise)
	authorize := func(svc pmassist.Service) (*url.URL, url.Values) {
		t.Helper()
		raw, err := m.AuthorizeURL(m.ctx, svc, m.caller)
		if err != nil {
			t.Fatalf("%s: %v", svc, err)
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		return u, u.Query()
	}
	common := func(svc pmassist.Service, u *url.URL, q url.Values, wantURL string) {
		t.Helper()
		if got := u.Scheme + "://" + u.Host + u.Path; got != wantURL {
			t.Errorf("%s authorize endpoint %s, want %s", svc, got, wantURL)
		}
		if got := q.Get("redirect_uri"); got != "https://pm.example/api/v1/oauth/"+string(svc)+"/callback" {
			t.Errorf("%s redirect_uri %q", svc, got)
		}
		if q.Get("client_id") != string(svc)+"-client" || q.Get("response_type") != "code" {
			t.Errorf("%s: %v", svc, q)
		}
		if raw, err := base64.RawURLEncoding.DecodeString(q.Get("state")); err != nil || len(raw) != 32 {
			t.Errorf("%s state %q", svc, q.Get("state"))
		}
		if _, ok := q["client_secret"]; ok || strings.Contains(u.String(), "secret") {
			t.Errorf("%s authorize URL carries the client secret: %s", svc, u)
		}
	}

	u, q := authorize(pmassist.ServiceSlack)
	common(pmassist.ServiceSlack, u, q, "https://slack.test/oauth/v2/authorize")
	const slackScope = "scope=channels%3Aread%2Cchannels%3Ahistory%2Cgroups%3Aread%2Cgroups%3Ahistory%2Cusers%3Aread%2Cusers%3Aread.email%2Creactions%3Aread%2Cchat%3Awrite"
	if !strings.Contains("&"+u.RawQuery+"&", "&"+slackScope+"&") || len(q["scope"]) != 1 {
		t.Errorf("Slack scope: %s", u.RawQuery)
	}
	if q.Has("code_challenge") || q.Has("code_challenge_method") || q.Has("prompt") {
		t.Errorf("Slack: unexpected parameters %v", q)
	}

	u, q = authorize(pmassist.ServiceLinear)
	common(pmassist.ServiceLinear, u, q, "https://linear.test/oauth/authorize")
	if q.Get("scope") != "read" || q.Get("code_challenge_method") != "S256" || q.Get("prompt") != "consent" {
		t.Errorf("Linear: %v", q)
	}
	p, ok := m.states.pending[sha256.Sum256([]byte(q.Get("state")))]
	if !ok || p.verifier == "" || p.service != pmassist.ServiceLinear || p.caller != m.caller || p.ownApp {
		t.Fatalf("Linear flow: %+v", p)
	}
	sum := sha256.Sum256([]byte(p.verifier))
	if want := base64.RawURLEncoding.EncodeToString(sum[:]); q.Get("code_challenge") != want {
		t.Errorf("code_challenge %q, want %q (S256 of the stored verifier)", q.Get("code_challenge"), want)
	}
	if !p.expires.Equal(time.Date(2026, 11, 2, 9, 10, 0, 0, time.UTC)) {
		t.Errorf("flow expires %v, want 10 minutes from now", p.expires)
	}

	u, q = authorize(pmassist.ServiceGitHub)
	common(pmassist.ServiceGitHub, u, q, "https://github.test/login/oauth/authorize")
	if !strings.Contains("&"+u.RawQuery+"&", "&scope=repo+read%3Aorg&") {
		t.Errorf("GitHub scope: %s", u.RawQuery)
	}
	if q.Has("code_challenge") || q.Has("prompt") {
		t.Errorf("GitHub: unexpected parameters %v", q)
	}

	if len(m.states.pending) != 3 {
		t.Fatalf("%d flows pending, want 3", len(m.states.pending))
	}
	if m.RedirectURL(pmassist.ServiceGitHub) != "https://pm.example/api/v1/oauth/github/callback" {
		t.Fatalf("RedirectURL: %s", m.RedirectURL(pmassist.ServiceGitHub))
	}
	if _, err := m.AuthorizeURL(m.ctx, "jira", m.caller); pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
		t.Fatalf("unknown service: %v", err)
	}
}

func TestCallbackRefusesStatesBeforeCallingProviders(t *testing.T) {
	m := newTestManager(t, pmassist.TierEnterprise)
	start := func(svc pmassist.Service) string {
		t.Helper()
		raw, err := m.AuthorizeURL(m.ctx, svc, m.caller)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(raw)
		return u.Query().Get("state")
	}
	// Expired: ten minutes and a second after authorize.
	st := start(pmassist.ServiceSlack)
	m.advance(stateTTL + time.Second)
	if _, _, err := m.Callback(m.ctx, pmassist.ServiceSlack, "code", st, "", m.caller); err != pmassist.ErrOAuthState {
		t.Fatalf("expired state: %v", err)
	}
	// Another service, another session, no state.
	st = start(pmassist.ServiceSlack)
	if _, _, err := m.Callback(m.ctx, pmassist.ServiceGitHub, "code", st, "", m.caller); err != pmassist.ErrOAuthState {
		t.Fatalf("state of another service: %v", err)
	}
	st = start(pmassist.ServiceLinear)
	other := m.caller
	other.SessionKey = "session:other"
	if _, _, err := m.Callback(m.ctx, pmassist.ServiceLinear, "code", st, "", other); err != pmassist.ErrOAuthState {
		t.Fatalf("state of another session: %v", err)
	}
	if _, _, err := m.Callback(m.ctx, pmassist.ServiceLinear, "code", "", "", m.caller); err != pmassist.ErrOAuthState {
		t.Fatalf("no state: %v", err)
	}
	// A valid state with the provider's refusal says what the provider said.
	st = start(pmassist.ServiceSlack)
	_, _, err := m.Callback(m.ctx, pmassist.ServiceSlack, "", st, "access_denied", m.caller)
	if pmassist.ErrorMessage(err) != "Slack: access was declined on the consent screen (access_denied)" {
		t.Fatalf("provider refusal: %v", err)
	}
	// ...and without a code nothing is exchanged.
	st = start(pmassist.ServiceGitHub)
	if _, _, err := m.Callback(m.ctx, pmassist.ServiceGitHub, "", st, "", m.caller); pmassist.ErrorMessage(err) != "GitHub sent no authorization code; connect again" {
		t.Fatalf("no code: %v", err)
	}
	if len(m.states.pending) != 0 {
		t.Fatalf("%d flows left pending", len(m.states.pending))
	}
	conns, err := m.svc.Connections.ListConnections(m.ctx)
	if err != nil || len(conns) != 0 {
		t.Fatalf("connections stored by refused callbacks: %v %v", conns, err)
	}
}
