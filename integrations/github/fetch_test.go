package github

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

const pageCap = 4

var acmeRepos = []string{"acme/api", "acme/web", "acme/infra"}

func TestFetchConfiguredReposPaginatesToTheEnd(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPageCap(pageCap)
	s := newStore()
	// globex/secret exists but is not visible, acme/nope does not exist:
	// both are skipped.
	got, err := s.fetch(t, e.client, config(nil, []string{"acme/api", "acme/infra", "globex/secret", "acme/nope"}))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "emitted", got, pullIDs(e.gh, "acme/api", "acme/infra"))
	for _, repo := range []string{"acme/api", "acme/infra"} {
		if n, want := listRequests(e.gh, repo), pagesOf(len(e.gh.Pulls(repo)), pageCap); n != want {
			t.Errorf("%s: %d list requests, want %d (every page once)", repo, n, want)
		}
	}
	if e.gh.Requests("/repos/acme/web") != 0 || e.gh.Requests("/user/orgs") != 0 || e.gh.Requests("/orgs/") != 0 {
		t.Error("read more than the configured repositories")
	}

	// The watermark: newest updated_at and the first page's ETag, on the
	// last page of the repository only.
	for _, repo := range []string{"acme/api", "acme/infra"} {
		var newest time.Time
		for _, p := range e.gh.Pulls(repo) {
			if p.UpdatedAt.After(newest) {
				newest = p.UpdatedAt
			}
		}
		wm := s.marks["repo:"+repo]
		if wm.Value != newest.Format(time.RFC3339) || !strings.HasPrefix(wm.ETag, `"`) || wm.ConnectionID != "conn-1" {
			t.Errorf("%s watermark %+v, want value %s and an ETag", repo, wm, newest.Format(time.RFC3339))
		}
	}
	var marked []string
	for i, p := range s.pages {
		if p.Watermark != nil {
			marked = append(marked, p.Watermark.Resource)
		} else if len(p.Items) != pageCap {
			t.Errorf("page %d without watermark has %d items, want a full page", i, len(p.Items))
		}
	}
	sameIDs(t, "pages with a watermark", sorted(marked), []string{"repo:acme/api", "repo:acme/infra"})
}

func TestFetchConvertsPullRequests(t *testing.T) {
	e := newEnv(t)
	s := newStore()
	if _, err := s.fetch(t, e.client, config(nil, acmeRepos)); err != nil {
		t.Fatal(err)
	}
	sawMerged, sawClosed, sawOpen, sawBot, sawNoEmail, sawDraft := false, false, false, false, false, false
	for _, repo := range acmeRepos {
		for _, p := range e.gh.Pulls(repo) {
			it := s.item(t, id(repo, p.Number))
			want := p.State
			if p.MergedAt != nil {
				want = "merged"
			}
			u, _ := e.gh.User(p.User)
			switch {
			case it.Type != pmassist.ItemPullRequest || it.Service != pmassist.ServiceGitHub || it.Channel != repo:
				t.Errorf("%s: type %q service %q channel %q", it.ExternalID, it.Type, it.Service, it.Channel)
			case it.URL != "https://github.com/"+repo+"/pull/"+strconv.Itoa(p.Number):
				t.Errorf("%s: url %q", it.ExternalID, it.URL)
			case it.Title != p.Title || it.Text != p.Body:
				t.Errorf("%s: title %q text %q", it.ExternalID, it.Title, it.Text)
			case it.State != want:
				t.Errorf("%s: state %q, want %q", it.ExternalID, it.State, want)
			case !timeEq(it.MergedAt, p.MergedAt) || !timeEq(it.ClosedAt, p.ClosedAt):
				t.Errorf("%s: merged_at %v closed_at %v", it.ExternalID, it.MergedAt, it.ClosedAt)
			case !it.CreatedAt.Equal(p.CreatedAt) || !it.UpdatedAt.Equal(p.UpdatedAt):
				t.Errorf("%s: created %v updated %v", it.ExternalID, it.CreatedAt, it.UpdatedAt)
			case it.Author != pmassist.Person{Name: p.User, ExternalID: p.User, Email: u.Email, Bot: u.Bot}:
				t.Errorf("%s: author %+v, want %+v", it.ExternalID, it.Author, u)
			case it.Draft != p.Draft || !slices.Equal(it.Labels, p.Labels) || !slices.Equal(it.Reviewers, p.Reviewers):
				t.Errorf("%s: draft %v labels %v reviewers %v", it.ExternalID, it.Draft, it.Labels, it.Reviewers)
			case it.TenantID != "tenant-1" || it.ConnectionID != "conn-1":
				t.Errorf("%s: tenant %q connection %q", it.ExternalID, it.TenantID, it.ConnectionID)
			}
			sawMerged = sawMerged || want == "merged"
			sawClosed = sawClosed || want == "closed"
			sawOpen = sawOpen || want == "open"
			sawBot = sawBot || u.Bot
			sawNoEmail = sawNoEmail || (!u.Bot && u.Email == "")
			sawDraft = sawDraft || p.Draft
		}
	}
	if !sawMerged || !sawClosed || !sawOpen || !sawBot || !sawNoEmail || !sawDraft {
		t.Fatalf("the data lacks a case: merged %v closed %v open %v bot %v no email %v draft %v",
			sawMerged, sawClosed, sawOpen, sawBot, sawNoEmail, sawDraft)
	}
	// One lookup per person, none for bots.
	if n := e.gh.Requests("/users/alice"); n != 1 {
		t.Errorf("/users/alice requested %d times, want 1 (cached per run)", n)
	}
	if n := e.gh.Requests("/users/dependabot"); n != 0 {
		t.Errorf("bot looked up %d times", n)
	}
}

func timeEq(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

func TestFetchOrgsAndReposOnce(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPageCap(pageCap)
	s := newStore()
	got, err := s.fetch(t, e.client, config([]string{"acme", "globex", "nosuchorg"}, []string{"acme/web"}))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "emitted", got, pullIDs(e.gh, acmeRepos...))
	if n, want := listRequests(e.gh, "acme/web"), pagesOf(len(e.gh.Pulls("acme/web")), pageCap); n != want {
		t.Errorf("acme/web: %d list requests, want %d (configured and in the org: read once)", n, want)
	}
	if n := e.gh.Requests("/orgs/acme/repos"); n != 1 {
		t.Errorf("/orgs/acme/repos: %d requests, want 1", n)
	}
}

func TestFetchOrgReposPaginate(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPageCap(2) // three repositories: two pages of org repositories
	s := newStore()
	got, err := s.fetch(t, e.client, config([]string{"acme"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "emitted", got, pullIDs(e.gh, acmeRepos...))
	if n := e.gh.Requests("/orgs/acme/repos"); n != 2 {
		t.Errorf("/orgs/acme/repos: %d requests, want 2", n)
	}
}

func TestFetchWithoutConfigReadsTheAccountsOrgs(t *testing.T) {
	e := newEnv(t)
	s := newStore()
	got, err := s.fetch(t, e.client, config(nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "emitted", got, pullIDs(e.gh, e.gh.Repos("acme")...))
	if e.gh.Requests("/user/orgs") != 1 || e.gh.Requests("/orgs/acme/repos") != 1 {
		t.Errorf("/user/orgs %d, /orgs/acme/repos %d requests", e.gh.Requests("/user/orgs"), e.gh.Requests("/orgs/acme/repos"))
	}
	if e.gh.Requests("/orgs/globex") != 0 || e.gh.Requests("/repos/globex") != 0 {
		t.Error("read an organization the account does not belong to")
	}
}

func TestSecondRunIsNotModified(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPageCap(pageCap)
	s := newStore()
	cfg := config(nil, acmeRepos)
	if _, err := s.fetch(t, e.client, cfg); err != nil {
		t.Fatal(err)
	}
	marks := map[string]pmassist.Watermark{}
	for k, v := range s.marks {
		marks[k] = v
	}
	used, before := e.gh.RateLimitUsed(), e.gh.NotModified()
	got, err := s.fetch(t, e.client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "emitted by the second run", got, []string{})
	if len(s.pages) != 0 {
		t.Errorf("second run emitted %d pages", len(s.pages))
	}
	if n := e.gh.NotModified() - before; n != len(acmeRepos) {
		t.Errorf("%d answers 304, want %d", n, len(acmeRepos))
	}
	if n := e.gh.RateLimitUsed() - used; n != 0 {
		t.Errorf("second run used %d requests of the rate limit, want 0", n)
	}
	for k, v := range marks {
		if s.marks[k] != v {
			t.Errorf("watermark %s moved: %+v → %+v", k, v, s.marks[k])
		}
	}
}

func TestUpdatedPullIsFetchedAlone(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPageCap(pageCap)
	s := newStore()
	cfg := config(nil, acmeRepos)
	if _, err := s.fetch(t, e.client, cfg); err != nil {
		t.Fatal(err)
	}
	old := e.gh.Pulls("acme/api")[7] // far down the list: not on the first page
	old.Title = "Add request ids to structured logs (v2)"
	upd, err := e.gh.UpsertPull("acme/api", old)
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Add(time.Minute)
	added, err := e.gh.UpsertPull("acme/web", fake.GitHubPull{Title: "Brand new page", User: "erin"})
	if err != nil {
		t.Fatal(err)
	}
	apiBefore, webBefore, notModBefore := listRequests(e.gh, "acme/api"), listRequests(e.gh, "acme/web"), e.gh.NotModified()

	got, err := s.fetch(t, e.client, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "emitted", got, []string{id("acme/api", upd.Number), id("acme/web", added.Number)})
	// The updated pull requests sort first: the first page reaches the
	// watermark and paging stops there.
	if n := listRequests(e.gh, "acme/api") - apiBefore; n != 1 {
		t.Errorf("acme/api: %d list requests, want 1", n)
	}
	if n := listRequests(e.gh, "acme/web") - webBefore; n != 1 {
		t.Errorf("acme/web: %d list requests, want 1", n)
	}
	if n := e.gh.NotModified() - notModBefore; n != 1 {
		t.Errorf("%d answers 304, want 1 (acme/infra)", n)
	}
	if it := s.item(t, id("acme/api", upd.Number)); it.Title != old.Title || !it.UpdatedAt.Equal(upd.UpdatedAt) {
		t.Errorf("updated item: title %q updated %v", it.Title, it.UpdatedAt)
	}
	if wm := s.marks["repo:acme/web"]; wm.Value != added.UpdatedAt.Format(time.RFC3339) {
		t.Errorf("acme/web watermark %q, want %s", wm.Value, added.UpdatedAt.Format(time.RFC3339))
	}
	sameIDs(t, "stored", s.ids(), pullIDs(e.gh, acmeRepos...))
}

func TestInterruptedRunResumes(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPageCap(pageCap)
	s := newStore()
	cfg := config([]string{"acme"}, nil)
	// acme/api has five pages at this size: the run dies at its third.
	s.failAt = 3
	if _, err := s.fetch(t, e.client, cfg); !errors.Is(err, errCrash) {
		t.Fatalf("Fetch = %v, want the Emit error", err)
	}
	if len(s.ids()) != 2*pageCap {
		t.Fatalf("stored %d items before the crash, want %d", len(s.ids()), 2*pageCap)
	}
	if len(s.marks) != 0 {
		t.Fatalf("a watermark advanced before its data: %v", s.marks)
	}
	s.failAt = 0
	if _, err := s.fetch(t, e.client, cfg); err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "stored after resuming", s.ids(), pullIDs(e.gh, acmeRepos...))
	got, err := s.fetch(t, e.client, cfg)
	if err != nil || len(got) != 0 {
		t.Fatalf("third run: %v, %v; want nothing new", got, err)
	}
}

func TestPrimaryRateLimitWaitsForReset(t *testing.T) {
	e := newEnv(t)
	e.gh.PrimaryLimitNext(1)
	s := newStore()
	got, err := s.fetch(t, e.client, config(nil, []string{"acme/infra"}))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "emitted", got, pullIDs(e.gh, "acme/infra"))
	w := e.takeWaits()
	// The stand-in resets a second ahead of its clock, which the client
	// shares: wait a second.
	if len(w) != 1 || w[0].reason != "rate_limit" || w[0].d != time.Second {
		t.Fatalf("waits %v, want one rate_limit wait of 1s", w)
	}
}

func TestPrimaryRateLimitExhaustedBudget(t *testing.T) {
	e := newEnv(t)
	e.advance = true // sleeping moves the clock, so the window resets
	e.gh.SetRateLimit(3)
	s := newStore()
	start := e.clock.Now()
	got, err := s.fetch(t, e.client, config(nil, []string{"acme/infra"}))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "emitted", got, pullIDs(e.gh, "acme/infra"))
	w := e.takeWaits()
	if len(w) == 0 {
		t.Fatal("no wait for the exhausted budget")
	}
	for _, x := range w {
		if x.reason != "rate_limit" || x.d < 59*time.Minute || x.d > time.Hour {
			t.Errorf("wait %v, want about an hour (until x-ratelimit-reset)", x)
		}
	}
	if e.clock.Now().Sub(start) < time.Hour {
		t.Error("the clock did not pass the reset")
	}
}

func TestSecondaryRateLimitWaitsRetryAfter(t *testing.T) {
	e := newEnv(t)
	e.gh.SecondaryLimitNext(2)
	s := newStore()
	got, err := s.fetch(t, e.client, config(nil, []string{"acme/infra"}))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "emitted", got, pullIDs(e.gh, "acme/infra"))
	w := e.takeWaits()
	if !slices.Equal(w, []wait{{time.Second, "rate_limit"}, {time.Second, "rate_limit"}}) {
		t.Fatalf("waits %v, want two of 1s (retry-after)", w)
	}
}

func TestServerErrorsAreRetried(t *testing.T) {
	e := newEnv(t)
	e.gh.ErrorNext(2, http.StatusBadGateway)
	s := newStore()
	got, err := s.fetch(t, e.client, config(nil, []string{"acme/infra"}))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "emitted", got, pullIDs(e.gh, "acme/infra"))
	w := e.takeWaits()
	if len(w) != 2 || w[0].reason != "retry" || w[1].reason != "retry" {
		t.Fatalf("waits %v, want two retries", w)
	}
}

func TestRevokedTokenIsUnauthorized(t *testing.T) {
	e := newEnv(t)
	e.gh.RevokeAll()
	s := newStore()
	got, err := s.fetch(t, e.client, config(nil, nil))
	if pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED {
		t.Fatalf("Fetch = %v, want EUNAUTHORIZED", err)
	}
	if len(got) != 0 || len(s.marks) != 0 {
		t.Fatalf("emitted %v, marks %v", got, s.marks)
	}
	if strings.Contains(err.Error(), e.token) {
		t.Fatal("the error shows the token")
	}
	// Also when the token dies between runs: nothing moves.
	e2 := newEnv(t)
	s2 := newStore()
	if _, err := s2.fetch(t, e2.client, config(nil, []string{"acme/infra"})); err != nil {
		t.Fatal(err)
	}
	marks := s2.marks["repo:acme/infra"]
	e2.gh.RevokeAll()
	if _, err := s2.fetch(t, e2.client, config(nil, []string{"acme/infra", "acme/api"})); pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED {
		t.Fatalf("Fetch = %v, want EUNAUTHORIZED", err)
	}
	if len(s2.pages) != 0 || s2.marks["repo:acme/infra"] != marks {
		t.Fatalf("emitted %d pages after the revocation", len(s2.pages))
	}
}

func TestADRFilesFetchedOnlyForADRPullRequests(t *testing.T) {
	e := newEnv(t)
	s := newStore()
	if _, err := s.fetch(t, e.client, config(nil, acmeRepos)); err != nil {
		t.Fatal(err)
	}
	adrs := 0
	for _, repo := range acmeRepos {
		for _, p := range e.gh.Pulls(repo) {
			it := s.item(t, id(repo, p.Number))
			n := e.gh.Requests(pullsPath(repo) + "/" + strconv.Itoa(p.Number) + "/files")
			if !p.IsADR() {
				if n != 0 || it.Files != nil {
					t.Errorf("%s (%q): %d files requests, files %v; want none", it.ExternalID, p.Title, n, it.Files)
				}
				continue
			}
			adrs++
			var want []string
			for _, f := range p.Files {
				want = append(want, f.Filename)
			}
			if n != 1 || !slices.Equal(it.Files, want) {
				t.Errorf("%s (%q): %d files requests, files %v; want 1 and %v", it.ExternalID, p.Title, n, it.Files, want)
			}
		}
	}
	if adrs < 3 {
		t.Fatalf("only %d ADR pull requests in the data", adrs)
	}
}

func TestMayAddADR(t *testing.T) {
	for _, c := range []struct {
		title, body string
		want        bool
	}{
		{"ADR 7: Use Postgres", "", true},
		{"adr-0012: single binary", "", true},
		{"ADR7 leasing", "", true},
		{"Record the decision", "Adds docs/adr/0003-x.md", true},
		{"Record the decision", "See the ADR.", true},
		{"Add docs", "Adds docs/decisions/0001.md", true},
		{"Address review comments", "", false},
		{"Fix", "to address the remaining comments; quadratic; Adrian", false},
		{"Adrian's fix", "", false},
	} {
		if got := mayAddADR(&wirePull{Title: c.title, Body: c.body}); got != c.want {
			t.Errorf("mayAddADR(%q, %q) = %v, want %v", c.title, c.body, got, c.want)
		}
	}
}

func TestEnterpriseAPIPrefix(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPageCap(pageCap)
	c := e.newClient(e.srv.URL + "/api/v3/")
	s := newStore()
	got, err := s.fetch(t, c, config(nil, []string{"acme/api"}))
	if err != nil {
		t.Fatal(err)
	}
	sameIDs(t, "emitted", got, pullIDs(e.gh, "acme/api"))
}

func TestOtherHostInLinkIsRefused(t *testing.T) {
	e := newEnv(t)
	e.gh.SetPageCap(pageCap)
	// The client knows the API by another name than the one the stand-in
	// builds links from, as behind a misconfigured proxy.
	c := e.newClient("http://api.example.test")
	c.retrier.Client = &http.Client{Transport: redirectTo{e.srv.Listener.Addr().String(), e.srv.Client().Transport}}
	s := newStore()
	_, err := s.fetch(t, c, config(nil, []string{"acme/api", "acme/infra"}))
	if err == nil || !strings.Contains(err.Error(), "another host") {
		t.Fatalf("Fetch = %v, want a refusal to follow links to another host", err)
	}
	// The first pages of both repositories were still read.
	if listRequests(e.gh, "acme/api") != 1 || listRequests(e.gh, "acme/infra") != 1 {
		t.Fatalf("list requests api %d infra %d", listRequests(e.gh, "acme/api"), listRequests(e.gh, "acme/infra"))
	}
	if len(s.marks) != 0 {
		t.Fatalf("watermarks advanced: %v", s.marks)
	}
}

func TestFetchStopsOnCancel(t *testing.T) {
	e := newEnv(t)
	e.gh.SecondaryLimitNext(1)
	ctx, cancel := context.WithCancel(context.Background())
	c := New(Config{APIURL: e.srv.URL, HTTPClient: e.srv.Client(), Tokens: staticTokens{e.token},
		Sleep: func(ctx context.Context, _ time.Duration) error { cancel(); return ctx.Err() }})
	s := newStore()
	err := c.Fetch(ctx, pmassist.FetchRequest{Connection: s.conn, Config: config(nil, []string{"acme/api"}),
		Watermark: func(context.Context, string) (pmassist.Watermark, error) { return pmassist.Watermark{}, nil },
		Emit:      func(context.Context, pmassist.SourcePage) error { t.Error("emitted"); return nil }})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Fetch = %v, want context.Canceled", err)
	}
}

// redirectTo sends every request to addr, as its Host too.
type redirectTo struct {
	addr string
	base http.RoundTripper
}

func (r redirectTo) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Host, req.Host = r.addr, r.addr
	return r.base.RoundTrip(req)
}
