package github

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

type wait struct {
	d      time.Duration
	reason string
}

// env is a stand-in served over httptest and a client pointed at it.
type env struct {
	t      *testing.T
	gh     *fake.GitHub
	srv    *httptest.Server
	clock  *fake.Clock
	client *Client
	token  string

	mu    sync.Mutex
	waits []wait // as told to OnWait
	slept []time.Duration
	// advance makes Sleep move the clock forward by the time slept.
	advance bool
}

type staticTokens struct{ tok string }

func (s staticTokens) AccessToken(context.Context, string) (string, error) { return s.tok, nil }

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, clock: fake.NewClock(time.Date(2026, 11, 2, 9, 30, 0, 0, time.UTC))}
	e.gh = fake.NewGitHub(fake.Options{ClientID: "cid", ClientSecret: "secret", Now: e.clock.Now})
	e.srv = httptest.NewServer(e.gh)
	t.Cleanup(e.srv.Close)
	e.token = e.gh.IssueToken("repo", "read:org")
	e.client = e.newClient(e.srv.URL)
	return e
}

func (e *env) newClient(apiURL string) *Client {
	return New(Config{
		APIURL:     apiURL,
		HTTPClient: e.srv.Client(),
		Tokens:     staticTokens{e.token},
		Now:        e.clock.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			e.slept = append(e.slept, d)
			adv := e.advance
			e.mu.Unlock()
			if adv {
				e.clock.Add(d)
			}
			return ctx.Err()
		},
		OnWait: func(d time.Duration, reason string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.waits = append(e.waits, wait{d, reason})
		},
	})
}

func (e *env) takeWaits() []wait {
	e.mu.Lock()
	defer e.mu.Unlock()
	w := e.waits
	e.waits, e.slept = nil, nil
	return w
}

// store keeps emitted pages the way the item service would: items upserted
// by external id and the page's watermark, together.
type store struct {
	mu      sync.Mutex
	conn    *pmassist.Connection
	items   map[string]*pmassist.Item
	marks   map[string]pmassist.Watermark
	emitted []string // external ids emitted by the current run
	pages   []pmassist.SourcePage
	// failAt makes the Emit of that page of a run (1-based) fail before
	// storing it, as a crash or shutdown would; 0 never.
	failAt int
}

var errCrash = errors.New("crash")

func newStore() *store {
	return &store{
		conn:  &pmassist.Connection{ID: "conn-1", TenantID: "tenant-1", Service: pmassist.ServiceGitHub, WorkspaceID: "5550001"},
		items: map[string]*pmassist.Item{},
		marks: map[string]pmassist.Watermark{},
	}
}

// fetch runs one Fetch with cfg and returns the ids it emitted.
func (s *store) fetch(t *testing.T, c *Client, cfg pmassist.TenantConfig) ([]string, error) {
	t.Helper()
	s.mu.Lock()
	s.emitted, s.pages = nil, nil
	s.mu.Unlock()
	err := c.Fetch(context.Background(), pmassist.FetchRequest{
		Connection: s.conn,
		Config:     cfg,
		Watermark: func(_ context.Context, resource string) (pmassist.Watermark, error) {
			s.mu.Lock()
			defer s.mu.Unlock()
			return s.marks[resource], nil
		},
		Emit: func(_ context.Context, page pmassist.SourcePage) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.failAt > 0 && len(s.pages)+1 == s.failAt {
				return errCrash
			}
			s.pages = append(s.pages, page)
			for _, it := range page.Items {
				s.items[it.ExternalID] = it
				s.emitted = append(s.emitted, it.ExternalID)
			}
			if page.Watermark != nil {
				s.marks[page.Watermark.Resource] = *page.Watermark
			}
			return nil
		},
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	return sorted(s.emitted), err
}

func (s *store) ids() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id := range s.items {
		out = append(out, id)
	}
	return sorted(out)
}

func (s *store) item(t *testing.T, id string) *pmassist.Item {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	it := s.items[id]
	if it == nil {
		t.Fatalf("item %s not stored", id)
	}
	return it
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// pullIDs are the external ids of every pull request of the repositories.
func pullIDs(g *fake.GitHub, repos ...string) []string {
	out := []string{}
	for _, r := range repos {
		for _, p := range g.Pulls(r) {
			out = append(out, r+"#"+strconv.Itoa(p.Number))
		}
	}
	return sorted(out)
}

func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s:\n got  %v\n want %v", what, got, want)
	}
}

// pagesOf is the number of pages of n items at size.
func pagesOf(n, size int) int { return max((n+size-1)/size, 1) }

func config(orgs, repos []string) pmassist.TenantConfig {
	c := pmassist.DefaultTenantConfig()
	if orgs != nil {
		c.GitHubOrgs = orgs
	}
	if repos != nil {
		c.GitHubRepos = repos
	}
	return c
}

func pullsPath(repo string) string { return "/repos/" + repo + "/pulls" }

// listRequests counts list requests for a repository's pull requests (not
// their files).
func listRequests(g *fake.GitHub, repo string) int {
	return g.Requests(pullsPath(repo)) - g.Requests(pullsPath(repo)+"/")
}

func id(repo string, n int) string { return fmt.Sprintf("%s#%d", repo, n) }
