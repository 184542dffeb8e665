package linear

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

func TestFetchPaginatesToTheEnd(t *testing.T) {
	e := newEnv(t, 7)
	s := newStore()
	ids, err := e.run(t, s, pmassist.DefaultTenantConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := fakeIDs(e.fake)
	if len(want) < 30 {
		t.Fatalf("the stand-in has only %d issues", len(want))
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("fetched %d ids %v\nwant %d %v", len(ids), ids, len(want), want)
	}
	if len(s.pages) < 2 {
		t.Fatalf("%d pages: pagination was not exercised", len(s.pages))
	}
	for i, p := range s.pages {
		if len(p.Items) > 7 {
			t.Errorf("page %d has %d items, page size 7", i, len(p.Items))
		}
		last := i == len(s.pages)-1
		if (p.Watermark != nil) != last {
			t.Errorf("page %d (last %v) watermark %v: only the last page carries it", i, last, p.Watermark)
		}
	}
	wm := s.wm[ResourceIssues]
	if wm.ConnectionID != e.conn.ID || wm.Value != newestUpdate(e.fake).Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("watermark %+v, want the newest updatedAt %s", wm, newestUpdate(e.fake))
	}
	for _, it := range s.items {
		if it.ConnectionID != e.conn.ID || it.TenantID != e.conn.TenantID || it.Type != pmassist.ItemIssue || it.Service != pmassist.ServiceLinear {
			t.Fatalf("item %s: connection %q tenant %q type %q service %q", it.ExternalID, it.ConnectionID, it.TenantID, it.Type, it.Service)
		}
	}
	if got := e.tokens.asked; len(got) != len(s.pages) || got[0] != e.conn.ID {
		t.Fatalf("tokens asked %v, want the connection's once per page", got)
	}
}

func TestFetchIncremental(t *testing.T) {
	e := newEnv(t, 10)
	s := newStore()
	if _, err := e.run(t, s, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	wm := s.wm[ResourceIssues]

	ids, err := e.run(t, s, pmassist.DefaultTenantConfig())
	if err != nil || len(ids) != 0 {
		t.Fatalf("second run: %v, %v; want nothing", ids, err)
	}
	if s.wm[ResourceIssues] != wm {
		t.Fatalf("watermark moved without news: %v → %v", wm, s.wm[ResourceIssues])
	}

	// One issue edited, the clock not moving: still exactly that one.
	edited := e.fake.Issues()[3]
	edited.Title = "Renamed while nobody watched"
	edited = e.fake.UpsertIssue(edited)
	ids, err = e.run(t, s, pmassist.DefaultTenantConfig())
	if err != nil || !slices.Equal(ids, []string{edited.ID}) {
		t.Fatalf("after an edit: %v, %v; want [%s]", ids, err, edited.ID)
	}
	if got := s.items[edited.ID]; got.Title != "Renamed while nobody watched" || !got.UpdatedAt.Equal(edited.UpdatedAt) {
		t.Fatalf("edited item %q updated %s", got.Title, got.UpdatedAt)
	}

	e.clock.Add(time.Hour)
	created := e.fake.UpsertIssue(fake.LinearIssue{Team: fake.LinearTeamPRD, Title: "A new one", StateName: "Triage"})
	ids, err = e.run(t, s, pmassist.DefaultTenantConfig())
	if err != nil || !slices.Equal(ids, []string{created.ID}) {
		t.Fatalf("after a new issue: %v, %v; want [%s]", ids, err, created.ID)
	}
	if s.wm[ResourceIssues].Value != created.UpdatedAt.Format("2006-01-02T15:04:05.000Z") {
		t.Fatalf("watermark %v, want %s", s.wm[ResourceIssues], created.UpdatedAt)
	}
}

func TestFetchDoesNotRelyOnOrder(t *testing.T) {
	e := newEnv(t, 6)
	e.fake.ReversePages(true)
	s := newStore()
	ids, err := e.run(t, s, pmassist.DefaultTenantConfig())
	if err != nil || !slices.Equal(ids, fakeIDs(e.fake)) {
		t.Fatalf("%v, %v", ids, err)
	}
	if got, want := s.wm[ResourceIssues].Value, newestUpdate(e.fake).Format("2006-01-02T15:04:05.000Z"); got != want {
		t.Fatalf("watermark %s, want the newest updatedAt %s", got, want)
	}
}

func TestFetchInterruptedRunResumes(t *testing.T) {
	e := newEnv(t, 8)
	s := newStore()
	s.failAfter = 1
	ids, err := e.run(t, s, pmassist.DefaultTenantConfig())
	if !errors.Is(err, errStop) {
		t.Fatalf("interrupted run: %v, want the Emit error", err)
	}
	if len(ids) != 8 {
		t.Fatalf("first page had %d items", len(ids))
	}
	if _, ok := s.wm[ResourceIssues]; ok {
		t.Fatal("watermark advanced by an interrupted run")
	}

	// Meanwhile an issue stored on page 1 changes.
	changed, _ := e.fake.Issue(ids[0])
	changed.StateName = "Done"
	changed = e.fake.UpsertIssue(changed)

	s.failAfter = 0
	if _, err := e.run(t, s, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	if got, want := keys(s.items), fakeIDs(e.fake); !slices.Equal(got, want) {
		t.Fatalf("after resuming: %v\nwant %v", got, want)
	}
	if got := s.items[changed.ID]; got.StateType != "completed" || got.CompletedAt == nil {
		t.Fatalf("changed issue: state %q completed %v", got.StateType, got.CompletedAt)
	}
	if ids, err := e.run(t, s, pmassist.DefaultTenantConfig()); err != nil || len(ids) != 0 {
		t.Fatalf("run after the resumed one: %v, %v", ids, err)
	}
}

func TestFetchTeamFilter(t *testing.T) {
	e := newEnv(t, 5)
	s := newStore()
	cfg := pmassist.DefaultTenantConfig()
	cfg.LinearTeamIDs = []string{fake.LinearTeamPRD.ID, fake.LinearTeamDES.ID}
	ids, err := e.run(t, s, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := fakeIDs(e.fake, fake.LinearTeamPRD.ID, fake.LinearTeamDES.ID)
	if len(want) == 0 || len(want) == len(fakeIDs(e.fake)) {
		t.Fatalf("the filter would not show: %d of %d", len(want), len(fakeIDs(e.fake)))
	}
	if !slices.Equal(ids, want) {
		t.Fatalf("fetched %v\nwant %v", ids, want)
	}
	for _, it := range s.items {
		if it.Channel != "PRD" && it.Channel != "DES" {
			t.Fatalf("item %s of team %q", it.ExternalID, it.Channel)
		}
	}
}

func TestFetchWaitsOutRateLimit(t *testing.T) {
	e := newEnv(t, 0)
	e.fake.RateLimitNext(2)
	s := newStore()
	ids, err := e.run(t, s, pmassist.DefaultTenantConfig())
	if err != nil {
		t.Fatalf("rate limited run failed: %v", err)
	}
	if !slices.Equal(ids, fakeIDs(e.fake)) {
		t.Fatalf("fetched %v", ids)
	}
	if want := []time.Duration{time.Second, time.Second}; !slices.Equal(e.sleeps, want) {
		t.Fatalf("slept %v, want %v (Retry-After: 1)", e.sleeps, want)
	}
	for _, w := range e.waits {
		if w.reason != "rate_limit" {
			t.Fatalf("wait reason %q", w.reason)
		}
	}
	if got := e.fake.GraphQLRequests(); got != 3 {
		t.Fatalf("%d requests, want 3 (two refused, one page of 50)", got)
	}
}

// Linear's limits are hourly: a reset twenty minutes ahead (said only by
// X-RateLimit-Requests-Reset) is waited out, not failed.
func TestFetchWaitsForRequestsReset(t *testing.T) {
	e := newEnv(t, 0)
	limited := true
	e.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if limited {
			limited = false
			w.Header().Set("X-RateLimit-Requests-Remaining", "0")
			w.Header().Set("X-RateLimit-Requests-Reset", strconvMs(e.clock.Now().Add(20*time.Minute)))
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"errors":[{"message":"Rate limit exceeded","extensions":{"type":"ratelimited","code":"RATELIMITED"}}]}`))
			return
		}
		e.fake.ServeHTTP(w, r)
	})
	s := newStore()
	ids, err := e.run(t, s, pmassist.DefaultTenantConfig())
	if err != nil || !slices.Equal(ids, fakeIDs(e.fake)) {
		t.Fatalf("%v, %v", ids, err)
	}
	if want := []time.Duration{20 * time.Minute}; !slices.Equal(e.sleeps, want) {
		t.Fatalf("slept %v, want %v", e.sleeps, want)
	}
}

func TestFetchRetries5xx(t *testing.T) {
	e := newEnv(t, 0)
	e.fake.ErrorNext(2, http.StatusBadGateway)
	s := newStore()
	ids, err := e.run(t, s, pmassist.DefaultTenantConfig())
	if err != nil {
		t.Fatalf("run after 502s failed: %v", err)
	}
	if !slices.Equal(ids, fakeIDs(e.fake)) {
		t.Fatalf("fetched %v", ids)
	}
	if len(e.waits) != 2 || e.waits[0].reason != "retry" || e.waits[1].reason != "retry" {
		t.Fatalf("waits %v, want two retries", e.waits)
	}
}

func TestFetchGivesUpOnPersistent5xx(t *testing.T) {
	e := newEnv(t, 0)
	e.fake.ErrorNext(100, http.StatusServiceUnavailable)
	s := newStore()
	_, err := e.run(t, s, pmassist.DefaultTenantConfig())
	if err == nil || len(s.pages) != 0 || pmassist.ErrorCode(err) == pmassist.EUNAUTHORIZED {
		t.Fatalf("err %v, pages %d", err, len(s.pages))
	}
}

func TestFetchRevokedToken(t *testing.T) {
	e := newEnv(t, 0)
	e.fake.RevokeAll()
	s := newStore()
	_, err := e.run(t, s, pmassist.DefaultTenantConfig())
	if pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED {
		t.Fatalf("err %v (code %q), want EUNAUTHORIZED", err, pmassist.ErrorCode(err))
	}
	if len(s.pages) != 0 || len(e.sleeps) != 0 {
		t.Fatalf("pages %d, sleeps %v: an authentication error is neither data nor retried", len(s.pages), e.sleeps)
	}
}

// answering serves one canned answer to every request.
func answering(t *testing.T, status int, header http.Header, body string) *Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for k, v := range header {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return New(Config{APIURL: srv.URL, HTTPClient: srv.Client(), Tokens: &staticToken{token: "t"},
		Sleep: func(context.Context, time.Duration) error { return errors.New("no waiting in this test") }})
}

func TestQueryErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		code       string // pmassist code, "" for a plain error
		msg        string
	}{
		{"401", `{"errors":[{"message":"Unauthorized"}]}`, 401, pmassist.EUNAUTHORIZED, ""},
		{"authentication error", `{"errors":[{"message":"Authentication required, not authenticated","extensions":{"type":"authentication error","code":"AUTHENTICATION_ERROR"}}]}`, 400, pmassist.EUNAUTHORIZED, ""},
		{"other GraphQL error", `{"errors":[{"message":"Query too complex","extensions":{"type":"graphql error","code":"QUERY_TOO_COMPLEX"}}]}`, 400, "", "Query too complex"},
		{"error beside data", `{"data":{"issues":null},"errors":[{"message":"Entity not found"}]}`, 200, "", "Entity not found"},
		{"no data", `{}`, 200, "", "without data"},
		{"403 without body", ``, 403, "", "HTTP 403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := answering(t, tc.status, nil, tc.body)
			s := newStore()
			err := c.Fetch(context.Background(), s.request(&pmassist.Connection{ID: "c"}, pmassist.DefaultTenantConfig()))
			if err == nil {
				t.Fatal("no error")
			}
			var pe *pmassist.Error
			if got := errors.As(err, &pe); got != (tc.code != "") || got && pe.Code != tc.code {
				t.Fatalf("err %v (%T), want code %q", err, err, tc.code)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %q lacks %q", err, tc.msg)
			}
		})
	}
}

func TestRateLimitWait(t *testing.T) {
	now := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	ms := func(d time.Duration) string { return strconvMs(now.Add(d)) }
	for _, tc := range []struct {
		name string
		h    map[string]string
		want time.Duration
	}{
		{"Retry-After wins", map[string]string{"Retry-After": "7", "X-RateLimit-Requests-Reset": ms(time.Minute)}, 7 * time.Second},
		{"requests reset", map[string]string{"X-RateLimit-Requests-Remaining": "0", "X-RateLimit-Requests-Reset": ms(90 * time.Second)}, 90 * time.Second},
		{"the empty bucket's reset", map[string]string{
			"X-RateLimit-Requests-Remaining": "120", "X-RateLimit-Requests-Reset": ms(40 * time.Minute),
			"X-RateLimit-Complexity-Remaining": "0", "X-RateLimit-Complexity-Reset": ms(3 * time.Minute),
		}, 3 * time.Minute},
		{"reset already passed", map[string]string{"X-RateLimit-Requests-Remaining": "0", "X-RateLimit-Requests-Reset": ms(-time.Minute)}, time.Second},
		{"nothing said", nil, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for k, v := range tc.h {
				h.Set(k, v)
			}
			if got := rateLimitWait(h, now); got != tc.want {
				t.Fatalf("wait %v, want %v", got, tc.want)
			}
		})
	}
}

func TestRateLimitedRecognition(t *testing.T) {
	limited := `{"errors":[{"message":"Rate limit exceeded","extensions":{"type":"ratelimited","code":"RATELIMITED"}}]}`
	other := `{"errors":[{"message":"Query too complex","extensions":{"type":"graphql error"}}]}`
	for _, tc := range []struct {
		status int
		body   string
		want   bool
	}{
		{400, limited, true},
		{429, ``, true},
		{400, other, false},
		{200, limited, false},
		{503, limited, false},
	} {
		_, got := rateLimited(&http.Response{StatusCode: tc.status, Header: http.Header{}}, []byte(tc.body), time.Now())
		if got != tc.want {
			t.Errorf("HTTP %d %s: limited %v, want %v", tc.status, tc.body, got, tc.want)
		}
	}
}

func TestConvert(t *testing.T) {
	e := newEnv(t, 0)
	s := newStore()
	if _, err := e.run(t, s, pmassist.DefaultTenantConfig()); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, want := range e.fake.Issues() {
		got := s.items[want.ID]
		if got == nil {
			t.Fatalf("%s not ingested", want.Identifier)
		}
		if got.Title != want.Title || got.Text != want.Description || got.URL != want.URL ||
			got.Channel != want.Team.Key || got.ChannelID != want.Team.ID ||
			got.State != want.StateName || got.StateType != want.StateType || got.Project != want.Project ||
			!got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) ||
			!slices.Equal(got.Labels, want.Labels) {
			t.Fatalf("%s converted to %+v\nfrom %+v", want.Identifier, got, want)
		}
		if !strings.Contains(got.URL, "/issue/"+want.Identifier+"/") {
			t.Fatalf("url %s", got.URL)
		}
		if want.Creator == nil || got.Author != (pmassist.Person{Name: want.Creator.Name, Email: want.Creator.Email, ExternalID: want.Creator.ID}) {
			t.Fatalf("%s author %+v, creator %+v", want.Identifier, got.Author, want.Creator)
		}
		if (want.Assignee == nil) != (got.Assignee == nil) ||
			want.Assignee != nil && (got.Assignee.Email != want.Assignee.Email || got.Assignee.Name != want.Assignee.Name || got.Assignee.ExternalID != want.Assignee.ID) {
			t.Fatalf("%s assignee %+v, want %+v", want.Identifier, got.Assignee, want.Assignee)
		}
		if len(got.Comments) != len(want.Comments) {
			t.Fatalf("%s: %d comments, want %d", want.Identifier, len(got.Comments), len(want.Comments))
		}
		for i, c := range want.Comments {
			g := got.Comments[i]
			if g.ID != c.ID || g.Body != c.Body || g.Author.Email != c.User.Email || g.Author.Name != c.User.Name || !g.CreatedAt.Equal(c.CreatedAt) {
				t.Fatalf("%s comment %d: %+v, want %+v", want.Identifier, i, g, c)
			}
		}
		switch want.StateType {
		case "completed":
			if got.CompletedAt == nil || !got.CompletedAt.Equal(*want.CompletedAt) || got.ClosedAt == nil || !got.ClosedAt.Equal(*want.CompletedAt) {
				t.Fatalf("%s completed: CompletedAt %v ClosedAt %v", want.Identifier, got.CompletedAt, got.ClosedAt)
			}
		case "canceled":
			if got.CompletedAt != nil || got.ClosedAt == nil || !got.ClosedAt.Equal(*want.CanceledAt) {
				t.Fatalf("%s canceled: CompletedAt %v ClosedAt %v", want.Identifier, got.CompletedAt, got.ClosedAt)
			}
		default:
			if got.CompletedAt != nil || got.ClosedAt != nil {
				t.Fatalf("%s open: CompletedAt %v ClosedAt %v", want.Identifier, got.CompletedAt, got.ClosedAt)
			}
		}
		seen[want.StateType] = true
		if slices.Contains(want.Labels, "blocked") {
			seen["blocked:"+got.State+"/"+got.StateType] = true
		}
		if slices.Contains(want.Labels, "decision") && len(got.Comments) > 0 {
			seen["decision with comments"] = true
		}
		if got.Assignee == nil {
			seen["unassigned"] = true
		}
	}
	for _, k := range []string{"triage", "backlog", "unstarted", "started", "completed", "canceled", "blocked:Blocked/started", "decision with comments", "unassigned"} {
		if !seen[k] {
			t.Errorf("the stand-in's data lacks a case: %s", k)
		}
	}
}

func TestFetchUnreadableWatermarkRefetchesAll(t *testing.T) {
	e := newEnv(t, 0)
	s := newStore()
	s.wm[ResourceIssues] = pmassist.Watermark{ConnectionID: e.conn.ID, Resource: ResourceIssues, Value: "yesterday"}
	ids, err := e.run(t, s, pmassist.DefaultTenantConfig())
	if err != nil || !slices.Equal(ids, fakeIDs(e.fake)) {
		t.Fatalf("%v, %v", ids, err)
	}
}

func TestTeams(t *testing.T) {
	e := newEnv(t, 0)
	teams, err := e.client.Teams(context.Background(), e.conn.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, tm := range teams {
		got = append(got, tm.ID+" "+tm.Key+" "+tm.Name)
	}
	for _, tm := range e.fake.Teams() {
		want = append(want, tm.ID+" "+tm.Key+" "+tm.Name)
	}
	if !slices.Equal(sorted(got), sorted(want)) {
		t.Fatalf("teams %v, want %v", got, want)
	}
}
