package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/oauth"
	"github.com/pmassist/pmassist/internal/apiclient"
	"github.com/pmassist/pmassist/internal/httpx"
	"github.com/pmassist/pmassist/password"
)

// The Slack app the appliance is configured with, and the stand-ins know;
// the operator who owns every tenant.
const (
	slackClientID     = "soak-slack-client"
	slackClientSecret = "soak-slack-secret"
	operatorEmail     = "op@soak.example"
	operatorPassword  = "correct horse battery staple"
)

// intervalMinutes is the ingestion interval every tenant sets (the
// shortest a tenant may set); the scheduler's "minute" is shortened so
// that it lasts options.interval.
const intervalMinutes = pmassist.MinIngestionInterval

// maxKeptMessages bounds the error and log lines kept for the report.
const maxKeptMessages = 10

// tenant is a tenant of the appliance, its workspace in the farm and a
// client with its owner's API token.
type tenant struct {
	n      int
	id     string
	client *apiclient.Client
}

// sample is one look at the process during the steady phase.
type sample struct {
	at         time.Duration // since the steady phase began
	goroutines int
	heap       uint64 // HeapAlloc right after a GC
	rss        uint64
}

// soak is one run.
type soak struct {
	o   options
	log io.Writer

	started time.Time
	dir     string
	farm    *farm
	farmSrv *httptest.Server
	m       *app.Main
	base    string
	op      *apiclient.Client // the operator, with an API token of the first tenant
	tenants []tenant
	logs    *logCounts

	// What users saw.
	mu        sync.Mutex
	latencies map[string][]time.Duration // by kind of request
	httpErrs  int
	rate429   int
	errs      []string // the first few errors of any kind
	failedJob map[string]apiclient.Job

	requests atomic.Int64
}

func newSoak(o options, log io.Writer) *soak {
	return &soak{o: o, log: log, latencies: map[string][]time.Duration{}, failedJob: map[string]apiclient.Job{}}
}

func (s *soak) logf(format string, args ...any) {
	fmt.Fprintf(s.log, "[%7.2fs] %s\n", time.Since(s.started).Seconds(), fmt.Sprintf(format, args...))
}

// fail records an error of the run (kept for the report, counted by the
// caller).
func (s *soak) fail(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.errs) < maxKeptMessages {
		s.errs = append(s.errs, msg)
	}
}

// run sets up, runs the steady phase and drains; the report judges.
func (s *soak) run(ctx context.Context) (rep *report, err error) {
	s.started = time.Now()
	rep = &report{o: s.o}
	rep.goroutinesBefore = runtime.NumGoroutine()
	s.dir, err = os.MkdirTemp("", "pmassist-soak-")
	if err != nil {
		return nil, err
	}
	defer func() {
		err = errors.Join(err, s.cleanup(rep))
	}()
	if err := s.setUp(ctx); err != nil {
		return nil, fmt.Errorf("setting up: %w", err)
	}
	if err := s.waitFirstRuns(ctx); err != nil {
		return nil, fmt.Errorf("first ingestion: %w", err)
	}
	rep.itemsAfterSetup = s.itemsIngested()

	// Load: users and new messages, a warm-up, then the measured phase.
	loadCtx, stopLoad := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for u := range s.o.users {
		wg.Go(func() { s.user(loadCtx, u) })
	}
	wg.Go(func() { s.feed(loadCtx) })
	s.logf("load on: %d users, %.0f new messages/s; warming up for %s", s.o.users, s.o.feedRate, s.o.warmup)
	if err := httpx.Sleep(ctx, s.o.warmup); err != nil {
		stopLoad()
		wg.Wait()
		return nil, err
	}
	s.resetLatencies()
	s.logf("steady phase: %s, a sample every %s", s.o.duration, s.o.sample)
	rep.samples, err = s.sampleFor(ctx, s.o.duration)
	stopLoad()
	wg.Wait()
	if err != nil {
		return nil, err
	}
	s.logf("load off; waiting for the last new messages to be ingested and searchable")
	rep.fed, rep.found, err = s.drain(ctx)
	if err != nil {
		s.fail("%v", err)
	}
	s.checkJobs(ctx)
	rep.itemsAtEnd = s.itemsIngested()
	rep.jobs = s.jobCounts()
	rep.server5xx = s.server5xx()
	s.mu.Lock()
	rep.latencies = s.latencies
	rep.httpErrs, rep.rate429 = s.httpErrs, s.rate429
	for _, j := range s.failedJob {
		rep.failedJobs = append(rep.failedJobs, j)
	}
	s.mu.Unlock()
	rep.requests = s.requests.Load()
	return rep, nil
}

// cleanup stops the appliance and the stand-ins and removes the data; it
// records the goroutines left after the stop and what the log said.
func (s *soak) cleanup(rep *report) error {
	var errs []error
	if s.m != nil {
		if err := s.m.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing the appliance: %w", err))
		}
	}
	if s.farmSrv != nil {
		s.farmSrv.Close()
	}
	if s.op != nil {
		s.op.HTTP.CloseIdleConnections()
	}
	for _, t := range s.tenants {
		t.client.HTTP.CloseIdleConnections()
	}
	if rep != nil {
		time.Sleep(200 * time.Millisecond) // closed connections' goroutines end
		rep.goroutinesAfter = runtime.NumGoroutine()
		if s.logs != nil {
			rep.logErrors, rep.logWarns, rep.logLines = s.logs.snapshot()
		}
		s.mu.Lock()
		rep.errs = s.errs
		s.mu.Unlock()
	}
	if s.dir != "" {
		if s.o.keep {
			s.logf("kept %s", s.dir)
		} else {
			errs = append(errs, os.RemoveAll(s.dir))
		}
	}
	return errors.Join(errs...)
}

// setUp starts the farm and the appliance, creates the tenants through the
// operator API, and connects each to its workspace through the OAuth flow
// with its owner's API token.
func (s *soak) setUp(ctx context.Context) error {
	s.farm = newFarm(s.o.tenants, slackClientID, slackClientSecret, time.Now())
	s.farmSrv = httptest.NewServer(s.farm)

	var next slog.Handler = slog.DiscardHandler
	if s.o.verbose {
		next = slog.NewTextHandler(s.log, &slog.HandlerOptions{Level: slog.LevelInfo})
	}
	s.logs = &logCounts{}
	m := app.NewMain()
	m.Logger = slog.New(&logTap{next: next, counts: s.logs})
	m.Config.Addr, m.Config.DataDir, m.PasswordParams = "127.0.0.1:0", s.dir, password.Cheap
	m.Config.SchedulerUnit = s.o.interval / intervalMinutes
	m.Config.Providers = app.ProviderConfig{
		Apps:     map[pmassist.Service]oauth.AppCredentials{pmassist.ServiceSlack: {ClientID: slackClientID, ClientSecret: slackClientSecret}},
		SlackURL: s.farmSrv.URL, LinearURL: s.farmSrv.URL, LinearAPIURL: s.farmSrv.URL, GitHubURL: s.farmSrv.URL, GitHubAPIURL: s.farmSrv.URL,
	}
	if err := m.Open(); err != nil {
		return err
	}
	s.m = m
	s.base = "http://" + m.Server.Addr()
	m.Config.BaseURL = s.base

	// Users stay under their tenant's rate limit: a 429 is an error.
	perTenant := (s.o.users + s.o.tenants - 1) / s.o.tenants
	perMinute := float64(perTenant) * float64(time.Minute) / float64(s.o.userEvery)
	if limit := pmassist.PlanFor(pmassist.Tier(m.Config.DefaultTier)).RateLimitPerMinute; perMinute > float64(limit)/2 {
		return fmt.Errorf("%d users on %d tenants, one request each every %s, make %.0f requests per minute per tenant: more than half the %s limit (%d); use more tenants, fewer users or a longer -user-every",
			s.o.users, s.o.tenants, s.o.userEvery, perMinute, m.Config.DefaultTier, limit)
	}

	op := apiclient.New(s.base, 4)
	if _, err := op.Setup(ctx, operatorEmail, operatorPassword, "Operator", "Soak operations"); err != nil {
		return err
	}
	if err := op.Login(ctx, operatorEmail, operatorPassword); err != nil {
		return err
	}
	opToken, err := op.CreateToken(ctx, "soak operator")
	if err != nil {
		return err
	}
	// The users' clients share one transport with a keep-alive connection
	// each, so the number of connections (and their goroutines) is steady.
	users := apiclient.New(s.base, s.o.users+8)
	s.op = users.WithToken(opToken)
	start := time.Now()
	for n := range s.o.tenants {
		id, err := op.CreateTenant(ctx, fmt.Sprintf("Tenant %d", n), operatorEmail, "Operator", operatorPassword)
		if err != nil {
			return err
		}
		if err := op.SwitchTenant(ctx, id); err != nil {
			return err
		}
		tok, err := op.CreateToken(ctx, "soak user")
		if err != nil {
			return err
		}
		s.tenants = append(s.tenants, tenant{n: n, id: id, client: users.WithToken(tok)})
	}
	s.logf("appliance on %s; %d tenants created in %s", s.base, len(s.tenants), since(start))

	start = time.Now()
	sem := make(chan struct{}, 8)
	errc := make(chan error, len(s.tenants))
	var wg sync.WaitGroup
	for _, t := range s.tenants {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := t.client.SetIngestionInterval(ctx, intervalMinutes); err != nil {
				errc <- fmt.Errorf("tenant %d: %w", t.n, err)
				return
			}
			if err := t.client.ConnectSlack(ctx, s.farm.authorizeURL(t.n)); err != nil {
				errc <- fmt.Errorf("tenant %d: connecting Slack: %w", t.n, err)
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return err
	}
	s.logf("%d Slack workspaces connected through OAuth in %s; ingestion every %s (%d scheduler minutes of %s)",
		len(s.tenants), since(start), s.o.interval, intervalMinutes, m.Config.SchedulerUnit)
	return nil
}

// waitFirstRuns waits until every connection has had a successful
// scheduled run and the index has caught up.
func (s *soak) waitFirstRuns(ctx context.Context) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 3*s.o.interval+2*time.Minute)
	defer cancel()
	for {
		conns, err := s.m.DB.ListAllConnections(ctx)
		if err != nil {
			return err
		}
		synced := 0
		for _, c := range conns {
			if c.LastSyncAt != nil {
				synced++
			}
		}
		if synced == len(s.tenants) && len(conns) == len(s.tenants) {
			break
		}
		if err := httpx.Sleep(ctx, 250*time.Millisecond); err != nil {
			return fmt.Errorf("%d of %d connections synced: %w", synced, len(s.tenants), err)
		}
	}
	if err := s.m.Index.WaitIdle(ctx); err != nil {
		return err
	}
	s.logf("every connection ingested by its schedule in %s: %.0f items", since(start), s.itemsIngested())
	return nil
}

// queries are words of the seeded and fed messages.
var queries = []string{"deploy", "migration", "decided", "customer", "backup", "flaky test", "roadmap", "retry",
	"staging", "search", "canary", "onboarding", "latency", "export", "rate limiter", "on-call"}

// user is one person's client: paced requests with the tenant's token,
// mostly searches, then decision and item lists.
func (s *soak) user(ctx context.Context, u int) {
	t := s.tenants[u%len(s.tenants)]
	rng := rand.New(rand.NewPCG(uint64(u), 0x50a4))
	// Spread the users' first requests over one pause.
	next := time.Now().Add(time.Duration(rng.Int64N(int64(s.o.userEvery))))
	for {
		if err := httpx.Sleep(ctx, time.Until(next)); err != nil {
			return
		}
		next = next.Add(s.o.userEvery)
		if now := time.Now(); next.Before(now) {
			next = now
		}
		var kind, path string
		switch p := rng.IntN(100); {
		case p < 60:
			kind = "search"
			q := url.Values{"q": {queries[rng.IntN(len(queries))]}}
			if rng.IntN(4) == 0 {
				q.Set("sort", "date")
			}
			path = "/api/v1/search?" + q.Encode()
		case p < 85:
			kind, path = "decisions", "/api/v1/decision-logs?limit=20"
		default:
			kind, path = "items", "/api/v1/items?limit=20"
		}
		start := time.Now()
		status, body, err := t.client.Do(ctx, http.MethodGet, path, nil)
		took := time.Since(start)
		if ctx.Err() != nil {
			return // cut off by the end of the phase: not counted
		}
		s.requests.Add(1)
		s.mu.Lock()
		s.latencies[kind] = append(s.latencies[kind], took)
		s.mu.Unlock()
		switch {
		case err != nil:
			s.countHTTPError(false)
			s.fail("user %d: GET %s: %v", u, path, err)
		case status == http.StatusTooManyRequests:
			s.countHTTPError(true)
			s.fail("user %d: GET %s: HTTP 429 (the users are paced under the tier's limit): %.200s", u, path, body)
		case status < 200 || status > 299:
			s.countHTTPError(false)
			s.fail("user %d: GET %s: HTTP %d: %.200s", u, path, status, body)
		}
	}
}

func (s *soak) countHTTPError(is429 bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.httpErrs++
	if is429 {
		s.rate429++
	}
}

func (s *soak) resetLatencies() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latencies = map[string][]time.Duration{}
	s.requests.Store(0)
}

// feed adds new messages to random workspaces at options.feedRate, so that
// every scheduled run has something new to ingest.
func (s *soak) feed(ctx context.Context) {
	if s.o.feedRate <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(uint64(len(s.tenants)), 0xfeed))
	const tick = 100 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	owed := 0.0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		owed += s.o.feedRate * tick.Seconds()
		for ; owed >= 1; owed-- {
			if err := s.farm.feed(rng, rng.IntN(len(s.tenants))); err != nil {
				s.fail("feeding the stand-in: %v", err)
			}
		}
	}
}

// sampleFor samples the process every options.sample for d, and checks
// the jobs each time.
func (s *soak) sampleFor(ctx context.Context, d time.Duration) ([]sample, error) {
	start := time.Now()
	var out []sample
	take := func() {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		out = append(out, sample{at: time.Since(start), goroutines: runtime.NumGoroutine(), heap: ms.HeapAlloc, rss: readRSS()})
	}
	take()
	if err := s.writeHeapProfile(".first"); err != nil {
		return out, err
	}
	defer func() {
		if err := s.writeHeapProfile(".last"); err != nil {
			s.fail("%v", err)
		}
	}()
	next := start
	for {
		next = next.Add(s.o.sample)
		if next.After(start.Add(d)) {
			break
		}
		if err := httpx.Sleep(ctx, time.Until(next)); err != nil {
			return out, err
		}
		s.checkJobs(ctx)
		take()
		if last := out[len(out)-1]; len(out)%10 == 0 {
			s.logf("%s: %d goroutines, heap %s, RSS %s, %.0f items, %d requests", last.at.Round(time.Second),
				last.goroutines, mib(last.heap), mib(last.rss), s.itemsIngested(), s.requests.Load())
		}
	}
	return out, nil
}

// writeHeapProfile writes a heap profile to options.heapProfile+suffix,
// when asked for.
func (s *soak) writeHeapProfile(suffix string) error {
	if s.o.heapProfile == "" {
		return nil
	}
	f, err := os.Create(s.o.heapProfile + suffix)
	if err != nil {
		return err
	}
	runtime.GC()
	err = pprof.Lookup("heap").WriteTo(f, 0)
	return errors.Join(err, f.Close())
}

// checkJobs reads the newest jobs of every tenant (GET /api/v1/admin/jobs)
// and keeps those that failed.
func (s *soak) checkJobs(ctx context.Context) {
	jobs, err := s.op.AdminJobs(ctx, 200)
	if err != nil {
		if ctx.Err() == nil {
			s.countHTTPError(false)
			s.fail("GET /api/v1/admin/jobs: %v", err)
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range jobs {
		if j.Status == pmassist.JobFailed || j.Status == pmassist.JobPartial {
			s.failedJob[j.ID] = j
		}
	}
}

// drain waits until every tenant's search finds exactly the messages fed
// to its workspace (ingested by the schedule, then indexed); it returns
// what was fed and found in all.
func (s *soak) drain(ctx context.Context) (fed, found int, err error) {
	want := s.farm.fedCounts()
	for _, n := range want {
		fed += n
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, 3*s.o.interval+30*time.Second)
	defer cancel()
	got := make([]int, len(s.tenants))
	done := make([]bool, len(s.tenants))
	for {
		found = 0
		for i, t := range s.tenants {
			if !done[i] {
				var res struct {
					Total int `json:"total"`
				}
				q := url.Values{"q": {feedMarker}, "type": {string(pmassist.ItemMessage)}, "limit": {"1"}}
				if err := t.client.Call(ctx, http.MethodGet, "/api/v1/search?"+q.Encode(), nil, http.StatusOK, &res); err != nil {
					if ctx.Err() != nil {
						break
					}
					return fed, found, err
				}
				got[i] = res.Total
				done[i] = got[i] == want[i]
			}
			found += got[i]
		}
		if !slices.Contains(done, false) {
			s.logf("all %d new messages ingested and found by search %s after the load stopped", fed, since(start))
			return fed, found, nil
		}
		if err := httpx.Sleep(ctx, 500*time.Millisecond); err != nil {
			var missing []string
			for i := range done {
				if !done[i] && len(missing) < 5 {
					missing = append(missing, fmt.Sprintf("tenant %d: %d of %d", i, got[i], want[i]))
				}
			}
			return fed, found, fmt.Errorf("new messages not found by search %s after the load stopped: %s", since(start), strings.Join(missing, "; "))
		}
	}
}

// counter sums a counter of the appliance's metrics over the series whose
// labels match.
func (s *soak) counter(name string, match func(labels map[string]string) bool) float64 {
	families, err := s.m.Metrics.Registry.Gather()
	if err != nil {
		return 0
	}
	total := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if match == nil || match(labels) {
				total += m.GetCounter().GetValue()
			}
		}
	}
	return total
}

func (s *soak) itemsIngested() float64 { return s.counter("pmassist_items_ingested_total", nil) }

func (s *soak) jobCounts() map[string]float64 {
	out := map[string]float64{}
	for _, st := range []string{pmassist.JobSucceeded, pmassist.JobPartial, pmassist.JobFailed} {
		out[st] = s.counter("pmassist_jobs_total", func(l map[string]string) bool { return l["status"] == st })
	}
	return out
}

func (s *soak) server5xx() float64 {
	return s.counter("pmassist_http_requests_total", func(l map[string]string) bool {
		code, _ := strconv.Atoi(l["code"])
		return code >= 500
	})
}

// readRSS is the resident set size of this process (Linux), or 0.
func readRSS() uint64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(raw))
	if len(f) < 2 {
		return 0
	}
	pages, err := strconv.ParseUint(f[1], 10, 64)
	if err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

func since(start time.Time) string { return time.Since(start).Round(time.Millisecond).String() }

// logCounts counts the appliance's warnings and errors and keeps the first
// few lines of each.
type logCounts struct {
	mu            sync.Mutex
	errors, warns int
	lines         []string
}

func (c *logCounts) snapshot() (errs, warns int, lines []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.errors, c.warns, slices.Clone(c.lines)
}

// logTap is the appliance's log handler: it counts records at warning and
// error level and hands everything on to next (discarded unless -v).
type logTap struct {
	next   slog.Handler
	counts *logCounts
	attrs  []slog.Attr
}

func (h *logTap) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn || h.next.Enabled(ctx, l)
}

func (h *logTap) Handle(ctx context.Context, r slog.Record) error {
	if r.Level >= slog.LevelWarn {
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
		for _, a := range h.attrs {
			fmt.Fprintf(&b, " %s", a)
		}
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s", a)
			return true
		})
		h.counts.mu.Lock()
		if r.Level >= slog.LevelError {
			h.counts.errors++
		} else {
			h.counts.warns++
		}
		if len(h.counts.lines) < maxKeptMessages {
			h.counts.lines = append(h.counts.lines, b.String())
		}
		h.counts.mu.Unlock()
	}
	if h.next.Enabled(ctx, r.Level) {
		return h.next.Handle(ctx, r)
	}
	return nil
}

func (h *logTap) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logTap{next: h.next.WithAttrs(attrs), counts: h.counts, attrs: append(slices.Clone(h.attrs), attrs...)}
}

func (h *logTap) WithGroup(name string) slog.Handler {
	return &logTap{next: h.next.WithGroup(name), counts: h.counts, attrs: h.attrs}
}
