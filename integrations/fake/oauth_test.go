package fake

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// TestConcurrentTokenRequests races exchanges, refreshes of one refresh
// token, identity calls and test controls: each code and each refresh token
// is redeemed exactly once. Run with -race.
func TestConcurrentTokenRequests(t *testing.T) {
	const n = 16
	s, srv, cfg := newSlack(t, Options{AccessTTL: time.Hour, AutoApprove: true})
	ctx := ctxWith(srv.Client())

	codes := make([]string, n)
	for i := range codes {
		codes[i] = authorizeCode(t, srv, cfg.AuthCodeURL("s"), "s")
	}
	tok, err := cfg.Exchange(ctx, authorizeCode(t, srv, cfg.AuthCodeURL("s"), "s"))
	if err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var exchanged, refreshed, refused atomic.Int32
	for i := 0; i < n; i++ {
		wg.Add(3)
		go func() { // each code twice: once wins
			defer wg.Done()
			for range 2 {
				if _, err := cfg.Exchange(ctx, codes[i]); err == nil {
					exchanged.Add(1)
				}
			}
		}()
		go func() { // everyone refreshes the same token: once wins
			defer wg.Done()
			_, err := refresh(ctx, cfg, tok.RefreshToken)
			var re *oauth2.RetrieveError
			switch {
			case err == nil:
				refreshed.Add(1)
			case errors.As(err, &re) && re.ErrorCode == "invalid_refresh_token":
				refused.Add(1)
			default:
				t.Errorf("refresh: %v", err)
			}
		}()
		go func() {
			defer wg.Done()
			_, m := call(t, srv.Client(), http.MethodPost, srv.URL+"/api/auth.test", "Bearer "+tok.AccessToken, nil)
			if m["ok"] != true {
				t.Errorf("auth.test: %v", m)
			}
			_ = s.IssuedSecrets()
			_ = s.TokenRequests("refresh_token")
			_ = s.Authorized()
		}()
	}
	wg.Wait()
	if exchanged.Load() != n {
		t.Errorf("%d exchanges succeeded, want %d", exchanged.Load(), n)
	}
	if refreshed.Load() != 1 || refused.Load() != n-1 {
		t.Errorf("one refresh token redeemed %d times (%d refused), want once", refreshed.Load(), refused.Load())
	}
	if got := s.TokenRequests("authorization_code"); got != 2*n+1 {
		t.Errorf("TokenRequests(authorization_code) = %d, want %d", got, 2*n+1)
	}
	if got := s.TokenRequests("refresh_token"); got != n {
		t.Errorf("TokenRequests(refresh_token) = %d, want %d", got, n)
	}
	if got := len(s.IssuedSecrets()); got != 2*(n+2) {
		t.Errorf("%d issued secrets, want %d", got, 2*(n+2))
	}
}

// TestProvidersAreHandlers keeps the three stand-ins http.Handlers with the
// same test controls.
func TestProvidersAreHandlers(t *testing.T) {
	type controls interface {
		http.Handler
		RevokeAll()
		FailNext(n, status int)
		TokenRequests(grant string) int
		IssuedSecrets() []string
		Authorized() int
	}
	o := Options{ClientID: "c", ClientSecret: "s"}
	for _, c := range []controls{NewSlack(o), NewLinear(o), NewGitHub(o)} {
		if c.Authorized() != 0 || len(c.IssuedSecrets()) != 0 || c.TokenRequests("authorization_code") != 0 {
			t.Errorf("%T starts with state", c)
		}
	}
}
