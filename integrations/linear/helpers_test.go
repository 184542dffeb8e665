package linear

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

// staticToken hands out one token and counts the asks.
type staticToken struct {
	mu    sync.Mutex
	token string
	asked []string
}

func (s *staticToken) AccessToken(_ context.Context, connectionID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.asked = append(s.asked, connectionID)
	return s.token, nil
}

type wait struct {
	d      time.Duration
	reason string
}

// env is a Linear stand-in served by httptest and a client for it whose
// waits are recorded instead of slept.
type env struct {
	fake   *fake.Linear
	srv    *httptest.Server
	clock  *fake.Clock
	tokens *staticToken
	client *Client
	conn   *pmassist.Connection

	mu     sync.Mutex
	sleeps []time.Duration
	waits  []wait
}

func newEnv(t *testing.T, pageSize int) *env {
	t.Helper()
	e := &env{clock: fake.NewClock(time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC))}
	e.fake = fake.NewLinear(fake.Options{ClientID: "lin-client", ClientSecret: "lin-secret", Now: e.clock.Now})
	e.srv = httptest.NewServer(e.fake)
	t.Cleanup(e.srv.Close)
	e.tokens = &staticToken{token: e.fake.IssueToken()}
	e.conn = &pmassist.Connection{ID: "conn-1", TenantID: "tenant-1", Service: pmassist.ServiceLinear, WorkspaceID: fake.LinearOrganizationID}
	e.client = New(Config{
		APIURL:     e.srv.URL + "/",
		HTTPClient: e.srv.Client(),
		Tokens:     e.tokens,
		Now:        e.clock.Now,
		Sleep: func(ctx context.Context, d time.Duration) error {
			e.mu.Lock()
			e.sleeps = append(e.sleeps, d)
			e.mu.Unlock()
			e.clock.Add(d)
			return ctx.Err()
		},
		OnWait: func(d time.Duration, reason string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.waits = append(e.waits, wait{d, reason})
		},
		PageSize: pageSize,
	})
	return e
}

// store keeps what Fetch emits the way the item store would: items by
// external id, the watermark only with its page.
type store struct {
	items     map[string]*pmassist.Item
	wm        map[string]pmassist.Watermark
	pages     []pmassist.SourcePage
	failAfter int // Emit fails once this many pages were stored (0: never)
}

func newStore() *store {
	return &store{items: map[string]*pmassist.Item{}, wm: map[string]pmassist.Watermark{}}
}

var errStop = errors.New("stop: shutting down")

func (s *store) request(conn *pmassist.Connection, cfg pmassist.TenantConfig) pmassist.FetchRequest {
	return pmassist.FetchRequest{
		Connection: conn,
		Config:     cfg,
		Watermark: func(_ context.Context, resource string) (pmassist.Watermark, error) {
			return s.wm[resource], nil
		},
		Emit: func(_ context.Context, p pmassist.SourcePage) error {
			if s.failAfter > 0 && len(s.pages) >= s.failAfter {
				return errStop
			}
			s.pages = append(s.pages, p)
			for _, it := range p.Items {
				s.items[it.ExternalID] = it
			}
			if p.Watermark != nil {
				s.wm[p.Watermark.Resource] = *p.Watermark
			}
			return nil
		},
	}
}

// run fetches once and returns the ids of the items this run emitted.
func (e *env) run(t *testing.T, s *store, cfg pmassist.TenantConfig) ([]string, error) {
	t.Helper()
	before := len(s.pages)
	err := e.client.Fetch(context.Background(), s.request(e.conn, cfg))
	var ids []string
	for _, p := range s.pages[before:] {
		for _, it := range p.Items {
			ids = append(ids, it.ExternalID)
		}
	}
	return sorted(ids), err
}

func sorted(ids []string) []string {
	slices.Sort(ids)
	return ids
}

// fakeIDs lists the stand-in's issue ids, optionally of some teams only.
func fakeIDs(l *fake.Linear, teamIDs ...string) []string {
	var ids []string
	for _, i := range l.Issues() {
		if len(teamIDs) == 0 || slices.Contains(teamIDs, i.Team.ID) {
			ids = append(ids, i.ID)
		}
	}
	return sorted(ids)
}

func keys(m map[string]*pmassist.Item) []string {
	var ids []string
	for k := range m {
		ids = append(ids, k)
	}
	return sorted(ids)
}

func newestUpdate(l *fake.Linear) time.Time {
	var t time.Time
	for _, i := range l.Issues() {
		if i.UpdatedAt.After(t) {
			t = i.UpdatedAt
		}
	}
	return t
}

func strconvMs(t time.Time) string { return strconv.FormatInt(t.UnixMilli(), 10) }
