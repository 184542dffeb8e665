package fake

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

const (
	testClientID     = "cid-123.456"
	testClientSecret = "s3cret/with+odd=chars"
	testRedirect     = "http://127.0.0.1:8080/oauth/callback?from=test"
)

func serve(t *testing.T, h http.Handler) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// noRedirect is a client that shows redirects instead of following them.
func noRedirect(srv *httptest.Server) *http.Client {
	c := *srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// ctxWith makes x/oauth2 use client for its token requests.
func ctxWith(client *http.Client) context.Context {
	return context.WithValue(context.Background(), oauth2.HTTPClient, client)
}

// follow requests authURL (GET) and returns the redirect's query.
func follow(t *testing.T, srv *httptest.Server, authURL string) url.Values {
	t.Helper()
	resp, err := noRedirect(srv).Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return redirectQuery(t, resp)
}

func redirectQuery(t *testing.T, resp *http.Response) url.Values {
	t.Helper()
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorize: status %d, want 302; body %s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := url.Parse(testRedirect)
	if loc.Scheme != want.Scheme || loc.Host != want.Host || loc.Path != want.Path {
		t.Fatalf("redirected to %s, want %s", loc, testRedirect)
	}
	if loc.Query().Get("from") != "test" {
		t.Fatalf("redirect lost the redirect_uri's own query: %s", loc)
	}
	return loc.Query()
}

// authorizeCode runs authorize with AutoApprove and returns the code.
func authorizeCode(t *testing.T, srv *httptest.Server, authURL, state string) string {
	t.Helper()
	q := follow(t, srv, authURL)
	if q.Get("error") != "" {
		t.Fatalf("authorize refused: %s", q.Get("error"))
	}
	if q.Get("state") != state {
		t.Fatalf("state = %q, want %q", q.Get("state"), state)
	}
	if q.Get("code") == "" {
		t.Fatal("no code in redirect")
	}
	return q.Get("code")
}

// retrieveError asserts err is an *oauth2.RetrieveError with code.
func retrieveError(t *testing.T, err error, code string) *oauth2.RetrieveError {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T), want *oauth2.RetrieveError %q", err, err, code)
	}
	if re.ErrorCode != code {
		t.Fatalf("ErrorCode = %q, want %q (body %s)", re.ErrorCode, code, re.Body)
	}
	return re
}

// refresh refreshes with x/oauth2 the way a stored connection would.
func refresh(ctx context.Context, cfg *oauth2.Config, refreshToken string) (*oauth2.Token, error) {
	return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// call makes a request and decodes a JSON answer into a map.
func call(t *testing.T, client *http.Client, method, u, auth string, body io.Reader) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: status %d, not JSON: %s", method, u, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, m
}

var (
	hiddenRE = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
	actionRE = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
)

// consent fetches the consent page, checks it mentions each of want, and
// submits its form with decision; it returns the redirect's query.
func consent(t *testing.T, srv *httptest.Server, authURL, decision string, want ...string) url.Values {
	t.Helper()
	client := noRedirect(srv)
	resp, err := client.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("consent page: status %d, type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	text := html.UnescapeString(string(page))
	for _, w := range append(want, "Allow", "Deny") {
		if !strings.Contains(text, w) {
			t.Fatalf("consent page lacks %q:\n%s", w, text)
		}
	}
	m := actionRE.FindStringSubmatch(string(page))
	if m == nil {
		t.Fatalf("consent page has no form:\n%s", page)
	}
	form := url.Values{}
	for _, h := range hiddenRE.FindAllStringSubmatch(string(page), -1) {
		form.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	form.Set("decision", decision)
	resp, err = client.PostForm(srv.URL+html.UnescapeString(m[1]), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return redirectQuery(t, resp)
}

// failNextThenSucceed checks FailNext(1, 503) on a token exchange.
func failNextThenSucceed(t *testing.T, failNext func(n, status int), exchange func() (*oauth2.Token, error)) {
	t.Helper()
	failNext(1, http.StatusServiceUnavailable)
	_, err := exchange()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.Response.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("first exchange after FailNext(1, 503): %v, want a 503 RetrieveError", err)
	}
	if !strings.Contains(string(re.Body), "upstream unavailable") {
		t.Fatalf("503 body %q", re.Body)
	}
	tok, err := exchange()
	if err != nil {
		t.Fatalf("second exchange: %v", err)
	}
	if tok.AccessToken == "" {
		t.Fatal("no access token")
	}
}

// checkSecrets checks that IssuedSecrets includes each of toks.
func checkSecrets(t *testing.T, issued []string, toks ...string) {
	t.Helper()
	have := map[string]bool{}
	for _, s := range issued {
		have[s] = true
	}
	for _, s := range toks {
		if s != "" && !have[s] {
			t.Errorf("IssuedSecrets lacks %.12s…", s)
		}
	}
}

func newClock() *Clock { return NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)) }
