package slack

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

// tokens hands out one token for one connection and counts the asks.
type tokens struct {
	mu     sync.Mutex
	connID string
	token  string
	asked  int
}

func (t *tokens) AccessToken(_ context.Context, connID string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.asked++
	if connID != t.connID {
		return "", pmassist.Errorf(pmassist.ENOTFOUND, "no such connection")
	}
	return t.token, nil
}

type wait struct {
	d      time.Duration
	reason string
}

type env struct {
	t      *testing.T
	slack  *fake.Slack
	srv    *httptest.Server
	clock  *fake.Clock
	tokens *tokens
	conn   *pmassist.Connection
	logs   *syncBuffer

	mu     sync.Mutex
	sleeps []time.Duration
	waits  []wait
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newEnv serves a seeded Slack stand-in (Wednesday 2026-11-04 09:00 UTC,
// so the seed covers the five weekdays before) with a connection to it.
func newEnv(t *testing.T) *env {
	t.Helper()
	clk := fake.NewClock(time.Date(2026, 11, 4, 9, 0, 0, 0, time.UTC))
	s := fake.NewSlack(fake.Options{ClientID: "slack-client", ClientSecret: "slack-secret", Now: clk.Now})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	conn := &pmassist.Connection{ID: "conn-1", TenantID: "tenant-1", Service: pmassist.ServiceSlack, WorkspaceID: "T0ACME0001"}
	return &env{t: t, slack: s, srv: srv, clock: clk, conn: conn, logs: &syncBuffer{},
		tokens: &tokens{connID: conn.ID, token: s.IssueToken()}}
}

// client returns a Client of the stand-in; change adjusts its Config.
func (e *env) client(change ...func(*Config)) *Client {
	cfg := Config{
		BaseURL:    e.srv.URL + "/",
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
		Logger: slog.New(slog.NewTextHandler(e.logs, nil)),
		OnWait: func(d time.Duration, reason string) {
			e.mu.Lock()
			defer e.mu.Unlock()
			e.waits = append(e.waits, wait{d, reason})
		},
	}
	for _, f := range change {
		f(&cfg)
	}
	return New(cfg)
}

func (e *env) waitsFor(reason string) []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []time.Duration
	for _, w := range e.waits {
		if w.reason == reason {
			out = append(out, w.d)
		}
	}
	return out
}

func (e *env) allSleeps() []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Clone(e.sleeps)
}

var errStop = errors.New("stop: shutting down")

// store applies pages the way the real store does: items upserted by
// external id, and a page's watermark only together with its items.
type store struct {
	items map[string]*pmassist.Item
	wms   map[string]pmassist.Watermark
	// pages records every emitted page, applied or not.
	pages []pmassist.SourcePage
	// failAfter makes Emit refuse every page after that many were applied
	// (0: never).
	failAfter int
	applied   int
}

func newStore() *store {
	return &store{items: map[string]*pmassist.Item{}, wms: map[string]pmassist.Watermark{}}
}

func (s *store) request(conn *pmassist.Connection, cfg pmassist.TenantConfig) pmassist.FetchRequest {
	return pmassist.FetchRequest{
		Connection: conn,
		Config:     cfg,
		Watermark: func(_ context.Context, resource string) (pmassist.Watermark, error) {
			return s.wms[resource], nil
		},
		Emit: func(_ context.Context, p pmassist.SourcePage) error {
			s.pages = append(s.pages, p)
			if s.failAfter > 0 && s.applied >= s.failAfter {
				return errStop
			}
			s.applied++
			for _, it := range p.Items {
				s.items[it.ExternalID] = it
			}
			if p.Watermark != nil {
				s.wms[p.Watermark.Resource] = *p.Watermark
			}
			return nil
		},
	}
}

// fetch runs one Fetch with the default configuration into s and returns
// the pages it emitted.
func (e *env) fetch(c *Client, s *store, cfg pmassist.TenantConfig) ([]pmassist.SourcePage, error) {
	e.t.Helper()
	before := len(s.pages)
	err := c.Fetch(context.Background(), s.request(e.conn, cfg))
	return s.pages[before:], err
}

func (s *store) ids() []string {
	var out []string
	for id := range s.items {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}

func pageIDs(pages []pmassist.SourcePage) []string {
	var out []string
	for _, p := range pages {
		for _, it := range p.Items {
			out = append(out, it.ExternalID)
		}
	}
	sort.Strings(out)
	return out
}

// defaultChannels are the public channels the bot is a member of.
var defaultChannels = []string{fake.SlackChanEng, fake.SlackChanProduct, fake.SlackChanDesign, fake.SlackChanAnnouncements, fake.SlackChanOps}

// want lists the external ids of the stand-in's conversation messages in
// channels (not joins, not tombstones).
func (e *env) want(channels ...string) []string {
	var out []string
	for _, ch := range channels {
		for _, m := range e.slack.Messages(ch) {
			if m.Subtype != "channel_join" && m.Subtype != "tombstone" {
				out = append(out, ch+":"+m.TS)
			}
		}
	}
	sort.Strings(out)
	return out
}

// newestTopLevel is the ts of a channel's newest message outside threads
// (what its watermark must be).
func (e *env) newestTopLevel(ch string) string {
	newest := ""
	for _, m := range e.slack.Messages(ch) {
		if m.ThreadTS == "" || m.ThreadTS == m.TS {
			newest = newerTS(newest, m.TS)
		}
	}
	return newest
}

// sameIDs fails with the difference between got and want.
func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if slices.Equal(got, want) {
		return
	}
	g, w := map[string]int{}, map[string]bool{}
	for _, id := range got {
		g[id]++
	}
	var missing, extra, dup []string
	for _, id := range want {
		w[id] = true
		if g[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range g {
		if !w[id] {
			extra = append(extra, id)
		}
		if n > 1 {
			dup = append(dup, id)
		}
	}
	t.Fatalf("%s: %d ids, want %d; missing %v; unexpected %v; duplicated %v", what, len(got), len(want),
		head(missing), head(extra), head(dup))
}

func head(s []string) string {
	sort.Strings(s)
	if len(s) > 5 {
		return strings.Join(s[:5], " ") + " …"
	}
	return strings.Join(s, " ")
}

func findItem(t *testing.T, s *store, id string) *pmassist.Item {
	t.Helper()
	it := s.items[id]
	if it == nil {
		t.Fatalf("item %s not ingested", id)
	}
	return it
}

// message finds the stand-in's message of a channel whose text contains
// part.
func (e *env) message(ch, part string) fake.SlackMessage {
	e.t.Helper()
	for _, m := range e.slack.Messages(ch) {
		if strings.Contains(m.Text, part) {
			return m
		}
	}
	e.t.Fatalf("no message %q in %s", part, ch)
	return fake.SlackMessage{}
}
