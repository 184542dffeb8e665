package fake

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// ghGet makes an authenticated REST request and returns the answer with
// its body.
func ghGet(t *testing.T, g *GitHub, url, token string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res, body
}

var ghLinkRE = regexp.MustCompile(`<([^>]+)>; rel="(\w+)"`)

func ghLinks(h http.Header) map[string]string {
	out := map[string]string{}
	for _, m := range ghLinkRE.FindAllStringSubmatch(h.Get("Link"), -1) {
		out[m[2]] = m[1]
	}
	return out
}

func newGitHubREST(t *testing.T) (*GitHub, string, string, *Clock) {
	t.Helper()
	clk := newClock()
	g := NewGitHub(Options{ClientID: testClientID, ClientSecret: testClientSecret, Now: clk.Now})
	srv := serve(t, g)
	return g, srv.URL, g.IssueToken("repo", "read:org"), clk
}

func TestGitHubPullsPaginationAndOrder(t *testing.T) {
	g, base, tok, _ := newGitHubREST(t)
	g.SetPageCap(5)
	want := len(g.Pulls("acme/api"))
	next := base + "/repos/acme/api/pulls?state=all&sort=updated&direction=desc&per_page=100"
	var seen []int
	var last time.Time
	pages := 0
	for next != "" {
		res, body := ghGet(t, g, next, tok)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", next, res.StatusCode, body)
		}
		pages++
		var pulls []map[string]any
		if err := json.Unmarshal(body, &pulls); err != nil {
			t.Fatal(err)
		}
		for _, p := range pulls {
			if _, ok := p["merged"]; ok {
				t.Fatal("list items must not have `merged`")
			}
			if _, ok := p["merged_at"]; !ok {
				t.Fatal("list items must have merged_at")
			}
			upd, _ := time.Parse(time.RFC3339, p["updated_at"].(string))
			if !last.IsZero() && upd.After(last) {
				t.Fatalf("not sorted by updated_at desc: %v after %v", upd, last)
			}
			last = upd
			n := int(p["number"].(float64))
			seen = append(seen, n)
			if p["html_url"] != "https://github.com/acme/api/pull/"+strconv.Itoa(n) {
				t.Fatalf("html_url %v", p["html_url"])
			}
		}
		links := ghLinks(res.Header)
		if pages == 1 && (links["last"] == "" || links["prev"] != "") {
			t.Fatalf("first page links %v", links)
		}
		if l, ok := links["next"]; ok && !strings.HasPrefix(l, base+"/repos/acme/api/pulls?") {
			t.Fatalf("next link %q is not absolute on the request's host", l)
		}
		next = links["next"]
	}
	if len(seen) != want || pages != (want+4)/5 {
		t.Fatalf("%d pull requests in %d pages, want %d in %d", len(seen), pages, want, (want+4)/5)
	}
}

func TestGitHubETagAndRateLimit(t *testing.T) {
	g, base, tok, _ := newGitHubREST(t)
	u := base + "/repos/acme/web/pulls?state=all&sort=updated&direction=desc&per_page=100"
	res, _ := ghGet(t, g, u, tok)
	etag := res.Header.Get("ETag")
	if !strings.HasPrefix(etag, `"`) || res.Header.Get("X-Ratelimit-Used") != "1" || res.Header.Get("X-Ratelimit-Remaining") != "4999" ||
		res.Header.Get("X-Ratelimit-Limit") != "5000" || res.Header.Get("X-Ratelimit-Reset") == "" {
		t.Fatalf("headers %v", res.Header)
	}
	res, body := ghGet(t, g, u, tok, "If-None-Match", etag)
	if res.StatusCode != http.StatusNotModified || len(body) != 0 || res.Header.Get("X-Ratelimit-Used") != "1" {
		t.Fatalf("conditional: %d %q used %s", res.StatusCode, body, res.Header.Get("X-Ratelimit-Used"))
	}
	if g.NotModified() != 1 || g.RateLimitUsed() != 1 || g.Requests("/repos/acme/web/pulls") != 2 {
		t.Fatalf("NotModified %d used %d requests %d", g.NotModified(), g.RateLimitUsed(), g.Requests("/repos/acme/web/pulls"))
	}
	if _, err := g.UpsertPull("acme/web", GitHubPull{Title: "New"}); err != nil {
		t.Fatal(err)
	}
	if res, _ := ghGet(t, g, u, tok, "If-None-Match", etag); res.StatusCode != http.StatusOK || res.Header.Get("ETag") == etag {
		t.Fatalf("after a change: %d, etag %s", res.StatusCode, res.Header.Get("ETag"))
	}
}

func TestGitHubInjectedFailures(t *testing.T) {
	g, base, tok, clk := newGitHubREST(t)
	u := base + "/user/orgs"
	g.PrimaryLimitNext(1)
	res, body := ghGet(t, g, u, tok)
	reset, _ := strconv.ParseInt(res.Header.Get("X-Ratelimit-Reset"), 10, 64)
	if res.StatusCode != http.StatusForbidden || res.Header.Get("X-Ratelimit-Remaining") != "0" || reset != clk.Now().Unix()+1 ||
		!strings.Contains(string(body), "API rate limit exceeded for user ID 5550001.") {
		t.Fatalf("primary: %d %v %s", res.StatusCode, res.Header, body)
	}
	g.SecondaryLimitNext(1)
	res, body = ghGet(t, g, u, tok)
	if res.StatusCode != http.StatusForbidden || res.Header.Get("Retry-After") != "1" || !strings.Contains(string(body), "secondary rate limit") {
		t.Fatalf("secondary: %d %v %s", res.StatusCode, res.Header, body)
	}
	g.ErrorNext(1, http.StatusBadGateway)
	if res, _ = ghGet(t, g, u, tok); res.StatusCode != http.StatusBadGateway {
		t.Fatalf("error: %d", res.StatusCode)
	}
	res, body = ghGet(t, g, u, tok)
	var orgs []map[string]any
	if err := json.Unmarshal(body, &orgs); err != nil || res.StatusCode != http.StatusOK || len(orgs) != 1 || orgs[0]["login"] != "acme" {
		t.Fatalf("orgs: %d %s", res.StatusCode, body)
	}

	// An exhausted budget refuses until the window resets.
	g.SetRateLimit(1)
	ghGet(t, g, u, tok)
	if res, _ = ghGet(t, g, u, tok); res.StatusCode != http.StatusForbidden || res.Header.Get("X-Ratelimit-Remaining") != "0" {
		t.Fatalf("exhausted: %d", res.StatusCode)
	}
	clk.Add(time.Hour)
	if res, _ = ghGet(t, g, u, tok); res.StatusCode != http.StatusOK {
		t.Fatalf("after the reset: %d", res.StatusCode)
	}

	g.RevokeAll()
	if res, body = ghGet(t, g, u, tok); res.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "Bad credentials") {
		t.Fatalf("revoked: %d %s", res.StatusCode, body)
	}
}

func TestGitHubVisibilityAndUsers(t *testing.T) {
	g, base, tok, _ := newGitHubREST(t)
	for _, c := range []struct {
		path, token string
		status      int
	}{
		{"/repos/globex/secret/pulls", tok, http.StatusNotFound}, // not a member
		{"/repos/acme/api/pulls", "", http.StatusNotFound},       // private, anonymous
		{"/orgs/nosuchorg/repos", tok, http.StatusNotFound},
		{"/user/orgs", "", http.StatusUnauthorized},
		{"/repos/acme/api/pulls/3/files", tok, http.StatusOK},
		{"/repos/acme/api/pulls/999/files", tok, http.StatusNotFound},
	} {
		if res, body := ghGet(t, g, base+c.path, c.token); res.StatusCode != c.status {
			t.Errorf("%s: %d %s, want %d", c.path, res.StatusCode, body, c.status)
		}
	}
	res, body := ghGet(t, g, base+"/orgs/globex/repos", tok)
	if res.StatusCode != http.StatusOK || string(body) != "[]" {
		t.Errorf("globex repos: %d %s", res.StatusCode, body)
	}
	for login, email := range map[string]any{"alice": "alice@acme.test", "bob": nil} {
		_, body := ghGet(t, g, base+"/users/"+login, tok)
		var u map[string]any
		if err := json.Unmarshal(body, &u); err != nil || u["login"] != login || !reflect.DeepEqual(u["email"], email) {
			t.Errorf("user %s: %s", login, body)
		}
	}
}

func TestGitHubEnterprisePrefixAndDeterminism(t *testing.T) {
	g, base, tok, _ := newGitHubREST(t)
	g.SetPageCap(2)
	res, _ := ghGet(t, g, base+"/api/v3/orgs/acme/repos?per_page=2", tok)
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(ghLinks(res.Header)["next"], base+"/api/v3/orgs/acme/repos?") {
		t.Fatalf("GHE prefix: %d %v", res.StatusCode, res.Header.Get("Link"))
	}
	other := NewGitHub(Options{Now: newClock().Now})
	if !reflect.DeepEqual(g.Pulls("acme/api"), other.Pulls("acme/api")) {
		t.Fatal("same clock, different data")
	}
}
