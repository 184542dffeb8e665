package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/internal/apiclient"
)

// corpusEnd is the end of the generated year of chat: fixed, so that a
// seed always gives the same messages.
var corpusEnd = time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)

// Seeds of the generated data.
const (
	seedCorpus  = 1
	seedTenants = 100 // + the tenant's number
	seedQueries = 7
	seedWarmup  = 8
)

// Targets of spec/performance.md.
const (
	ingestMinRate   = 8_000 // items/s
	ingestMinRatio  = 0.6   // of bare Bleve
	searchMaxP99    = 5.0   // ms
	searchP50Factor = 2.0   // × bare p50 …
	searchP50Slack  = 0.5   // … + ms
	apiMinRatio     = 0.5   // × the bare handler's requests/s
	peakMaxMiB      = 300   // peak RSS during figure 1
	idleMaxMiB      = 150   // RSS at idle with 100 tenants × 1,000 items
	startMax        = 1.0   // s
	rebuildMaxRatio = 1.5   // × bare Bleve
	backupMaxRatio  = 2.0   // writer p99 during a backup, × without
	growthMinRatio  = 0.7   // ingest rate at the largest size, × at the smallest
	growthMaxP99    = 25.0  // ms, search p99 at the largest size
)

// How the harness measures.
const (
	warmupQueries = 100 // searches before the measured ones, on both sides
	jobPoll       = 10 * time.Millisecond
	readyPoll     = 2 * time.Millisecond
	bareTenant    = "bench"
	// ratePerMinute is the API rate limit of every tenant during the run
	// (app.Main.BenchmarkTenantRatePerMinute): as shipped, the enterprise
	// tier's 3,000/min would refuse most of figure 3's requests, and the
	// job polls of a long ingestion. The limiter still runs.
	ratePerMinute = 1_000_000_000
	// stepTimeout bounds a wait (an ingestion, a start) so that a stuck
	// appliance ends the run with an error.
	stepTimeout = 10 * time.Minute
)

// bench is one run: the temporary folders, the stand-in, the appliance
// and what the figures hand on to each other (figure 2 searches figure 1's
// tenant and the bare index built for its baseline; figure 5 restarts
// figure 2's appliance).
type bench struct {
	o       options
	size    size
	log     io.Writer
	started time.Time

	root     string
	dataDir  string
	bareDir  string
	corpus   *corpus
	slackSrv *httptest.Server
	m        *app.Main
	base     string
	acme     tenant
	op       *apiclient.Client

	bareTime time.Duration // figure 1's baseline: indexing the corpus into bare Bleve
	rows     []row
	// appLog is the appliance's logger: discarded unless -v.
	appLog *slog.Logger
}

func newBench(o options, log io.Writer) *bench {
	b := &bench{o: o, size: sizeFor(o.quick), log: log, appLog: slog.New(slog.DiscardHandler)}
	if o.verbose {
		b.appLog = slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return b
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "[%7.2fs] %s\n", time.Since(b.started).Seconds(), fmt.Sprintf(format, args...))
}

func (b *bench) want(figure int) bool { return slices.Contains(b.o.figures, figure) }

// run measures the chosen figures. Figure 1's ingestion runs whenever a
// figure measures its tenant (2, 3, 5 and 6); figure 4 runs its own
// appliance in a child process, figure 7 its own appliances, one per size.
// On an error, the report holds the rows measured until then.
func (b *bench) run(ctx context.Context) (rep *report, err error) {
	b.started = time.Now()
	rep = &report{Started: b.started.UTC(), Machine: thisMachine(), Size: b.size, Figures: b.o.figures}
	if b.want(7) {
		rep.Growth = b.o.growth
	}
	defer func() {
		// In the order of the figures (figure 4 runs after 5 and 6).
		rep.Rows = slices.Clone(b.rows)
		slices.SortStableFunc(rep.Rows, func(x, y row) int { return x.Figure - y.Figure })
		rep.Duration = since(b.started)
	}()
	b.root, err = os.MkdirTemp("", "pmassist-bench-")
	if err != nil {
		return rep, err
	}
	defer func() {
		err = errors.Join(err, b.cleanup())
	}()
	b.dataDir, b.bareDir = filepath.Join(b.root, "data"), filepath.Join(b.root, "bare")
	b.logf("%s; %s", rep.Machine, b.size)
	b.logf("temporary folder %s", b.root)

	if b.want(1) || b.want(2) || b.want(3) || b.want(4) || b.want(5) || b.want(6) {
		b.corpus = newCorpus(seedCorpus, b.size.Items, corpusEnd)
		b.logf("generated %d messages (%d with a decision phrase) in %d channels", len(b.corpus.messages),
			b.corpus.decisions, len(channelNames))
		b.slackSrv = startSlack(b.corpus)
	}
	if b.want(1) || b.want(2) || b.want(5) {
		if err := b.bareBaseline(); err != nil {
			return rep, fmt.Errorf("bare baseline: %w", err)
		}
	}
	if b.want(1) || b.want(2) || b.want(3) || b.want(5) || b.want(6) {
		if err := b.figure1(ctx); err != nil {
			return rep, fmt.Errorf("figure 1: %w", err)
		}
	}
	if b.want(2) || b.want(5) {
		if err := b.fillTenants(ctx); err != nil {
			return rep, fmt.Errorf("filling the other tenants: %w", err)
		}
	}
	steps := []struct {
		figure int
		fn     func(context.Context) error
	}{{2, b.figure2}, {3, b.figure3}, {5, b.figure5}, {6, b.figure6}}
	for _, st := range steps {
		if b.want(st.figure) {
			if err := b.profiled(st.figure, st.fn)(ctx); err != nil {
				return rep, fmt.Errorf("figure %d: %w", st.figure, err)
			}
		}
	}
	if b.m != nil {
		err := b.m.Close()
		b.m = nil
		if err != nil {
			return rep, err
		}
	}
	if b.want(4) {
		if err := b.figure4(ctx); err != nil {
			return rep, fmt.Errorf("figure 4: %w", err)
		}
	}
	if b.slackSrv != nil {
		b.slackSrv.Close()
		b.slackSrv = nil
	}
	b.corpus = nil
	if b.want(7) {
		if err := b.profiled(7, b.figure7)(ctx); err != nil {
			return rep, fmt.Errorf("figure 7: %w", err)
		}
	}
	b.logf("done in %s; peak memory of this process (stand-ins, baselines and the appliance of figures 1–3, 5–7): %s",
		since(b.started), peakRSS())
	return rep, nil
}

// startSlack serves c as the Slack stand-in's workspace on loopback, in
// pages of 200, approving OAuth at once.
func startSlack(c *corpus) *httptest.Server {
	slack := fake.NewSlack(fake.Options{ClientID: slackClientID, ClientSecret: slackClientSecret, AutoApprove: true})
	slack.SetData(c.slackData())
	slack.SetPageSize(fake.SlackDefaultPageSize)
	return httptest.NewServer(slack)
}

// settleDisk writes what is waiting to be written to disk (sync(2)) before
// a timed step: what a step before wrote (the bare index, a rebuilt index:
// hundreds of MB) would otherwise go to disk inside one of the measured
// fsyncs, which on ext4 wait for other files' data too. Measured
// ingestions varied from 0.50× to 0.68× of bare Bleve without it.
func (b *bench) settleDisk() {
	start := time.Now()
	syscall.Sync()
	if d := time.Since(start); d > 100*time.Millisecond {
		b.logf("wrote pending data to disk before the step: %s", d.Round(time.Millisecond))
	}
}

// profiled is fn, within a CPU profile when -profile-figure names figure.
func (b *bench) profiled(figure int, fn func(context.Context) error) func(context.Context) error {
	if b.o.profileFigure != figure {
		return fn
	}
	return func(ctx context.Context) error {
		f, err := os.Create(b.o.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			_ = f.Close()
			return err
		}
		err = fn(ctx)
		pprof.StopCPUProfile()
		return errors.Join(err, f.Close())
	}
}

func (b *bench) cleanup() error {
	var errs []error
	if b.m != nil {
		errs = append(errs, b.m.Close())
		b.m = nil
	}
	if b.slackSrv != nil {
		b.slackSrv.Close()
	}
	if b.root != "" {
		if b.o.keep {
			b.logf("kept %s", b.root)
		} else {
			errs = append(errs, os.RemoveAll(b.root))
		}
	}
	return errors.Join(errs...)
}

// bareBaseline indexes figure 1's messages into bare Bleve, in batches of
// 1000, before the appliance starts (so that neither's background merging
// slows the other), and closes the index until figure 2 searches it.
func (b *bench) bareBaseline() error {
	items := b.corpus.items()
	docs := make([]*bareDoc, len(items))
	for i, it := range items {
		docs[i] = bareDocOf(bareTenant, it)
	}
	b.settleDisk()
	runtime.GC()
	idx, took, err := bareIndex(b.bareDir, docs)
	if err != nil {
		return err
	}
	b.bareTime = took
	b.logf("bare Bleve: %d documents searchable after %s (%.0f/s)", len(docs), took.Round(time.Millisecond),
		float64(len(docs))/took.Seconds())
	return idx.Close()
}

// figure1 ingests the corpus through the real path: the Slack stand-in on
// loopback HTTP (pages of 200), the appliance connected to it through the
// OAuth flow, POST /api/v1/ingestion/slack with a bearer token, until the
// job has ended and the index is idle.
func (b *bench) figure1(ctx context.Context) error {
	b.m = newMain(b.dataDir, b.slackSrv.URL, b.appLog)
	if err := b.m.Open(); err != nil {
		return err
	}
	b.base = "http://" + b.m.Server.Addr()
	var err error
	b.acme, b.op, err = setUp(ctx, b.base, true)
	if err != nil {
		return err
	}
	b.logf("appliance on %s, tenant %s, Slack connected through OAuth", b.base, b.acme.id)
	n := len(b.corpus.messages)
	took, err := b.ingestTimed(ctx, b.m.Index.WaitIdle, b.base, b.acme.token, n)
	if err != nil {
		return err
	}
	b.logf("the index holds %d documents (items and decisions)", b.m.Index.IndexState().Docs)
	if b.want(1) {
		rate := float64(n) / took.Seconds()
		base := float64(n) / b.bareTime.Seconds()
		b.rows = append(b.rows, newRow(1, "ingest until searchable", unitRate, rate, ptr(base),
			fmt.Sprintf("≥ %s/s and ≥ %.1f×", thousands(ingestMinRate), ingestMinRatio),
			rate >= ingestMinRate && rate >= ingestMinRatio*base))
	}
	return nil
}

// ingestTimed starts a Slack ingestion of the appliance at base with the
// token, polls its job until it ends and waits until the index is idle;
// it returns the time from the request until then. The job must have
// stored n new items.
func (b *bench) ingestTimed(ctx context.Context, waitIdle func(context.Context) error, base, token string, n int) (time.Duration, error) {
	api := apiclient.New(base, 4)
	api.Token = token
	wctx, cancel := context.WithTimeout(ctx, stepTimeout+time.Duration(n/1000)*time.Second)
	defer cancel()
	b.settleDisk()
	runtime.GC()
	start := time.Now()
	j, err := ingest(wctx, api, jobPoll)
	if err != nil {
		return 0, err
	}
	jobDone := time.Since(start)
	if err := waitIdle(wctx); err != nil {
		return 0, err
	}
	took := time.Since(start)
	if j.ItemsNew != n {
		return 0, fmt.Errorf("the job stored %d new items, want %d", j.ItemsNew, n)
	}
	b.logf("ingested %s items: job ended after %s, searchable after %s (%.0f/s)", thousands(int64(n)),
		jobDone.Round(time.Millisecond), took.Round(time.Millisecond), float64(n)/took.Seconds())
	return took, nil
}

// fillTenants creates the other tenants through the operator API and fills
// them straight through the appliance's store and index queue (only the
// measured paths need to be the real ones).
func (b *bench) fillTenants(ctx context.Context) error {
	period := time.Now().UTC().Format("2006-01") // the tenants' timezone is UTC
	start := time.Now()
	for i := 1; i <= b.size.Tenants; i++ {
		id, err := createTenant(ctx, b.op, i)
		if err != nil {
			return err
		}
		tctx := pmassist.NewContextWithTenant(ctx, id)
		items := newCorpus(seedTenants+uint64(i), b.size.TenantItems, corpusEnd).items()
		for k := 0; k < len(items); k += bareBatchSize {
			page := items[k:min(k+bareBatchSize, len(items))]
			if _, err := b.m.DB.UpsertItems(tctx, page, nil, period, -1); err != nil {
				return err
			}
			ids := make([]string, len(page))
			for j, it := range page {
				ids[j] = it.ID
			}
			b.m.Index.QueueItems(tctx, ids...)
		}
		// One tenant at a time: the queue must never overflow, or the
		// index would be rebuilt at the next start.
		if err := b.m.Index.WaitIdle(ctx); err != nil {
			return err
		}
	}
	b.logf("filled %d other tenants with %d items each in %s; the index holds %d documents", b.size.Tenants,
		b.size.TenantItems, since(start), b.m.Index.IndexState().Docs)
	return nil
}

// searchResult is the part of a search's answer the harness looks at.
type searchResult struct {
	Total int `json:"total"`
}

// figure2 sends the queries one at a time through GET /api/v1/search with
// a bearer token over a keep-alive connection, then the same queries
// straight to the bare index of figure 1's documents. Both get the same
// warm-up first.
func (b *bench) figure2(ctx context.Context) error {
	queries := newQueries(seedQueries, b.size.Queries, b.corpus)
	warmup := newQueries(seedWarmup, warmupQueries, b.corpus)
	times, err := b.apiSearches(ctx, b.base, b.acme.token, warmup, queries)
	if err != nil {
		return err
	}
	p50, p99 := percentile(times, 0.50), percentile(times, 0.99)

	idx, err := bleve.Open(b.bareDir)
	if err != nil {
		return err
	}
	defer idx.Close()
	bareSearch := func(q benchQuery) (time.Duration, uint64, error) {
		req := bareRequest(bareTenant, q)
		start := time.Now()
		res, err := idx.SearchInContext(ctx, req)
		if err != nil {
			return 0, 0, err
		}
		return time.Since(start), res.Total, nil
	}
	for _, q := range warmup {
		if _, _, err := bareSearch(q); err != nil {
			return err
		}
	}
	runtime.GC()
	bareTimes := make([]time.Duration, len(queries))
	empty, hits := 0, 0
	for i, q := range queries {
		took, total, err := bareSearch(q)
		if err != nil {
			return err
		}
		bareTimes[i] = took
		hits += int(total)
		if total == 0 {
			empty++
		}
	}
	bp50, bp99 := percentile(bareTimes, 0.50), percentile(bareTimes, 0.99)
	b.logf("bare search: p50 %s, p99 %s, max %s; %d of %d queries found nothing, %.0f hits on average",
		bp50, bp99, slices.Max(bareTimes), empty, len(queries), float64(hits)/float64(len(queries)))

	b.rows = append(b.rows,
		newRow(2, "search p50, API", unitMilli, millis(p50), ptr(millis(bp50)),
			fmt.Sprintf("≤ %g× baseline + %g ms", searchP50Factor, searchP50Slack),
			millis(p50) <= searchP50Factor*millis(bp50)+searchP50Slack),
		newRow(2, "search p99, API", unitMilli, millis(p99), ptr(millis(bp99)),
			fmt.Sprintf("≤ %g ms", searchMaxP99), millis(p99) <= searchMaxP99))
	return nil
}

// apiSearches sends the warm-up searches, then the measured ones, one at
// a time through GET /api/v1/search with the bearer token over a
// keep-alive loopback connection, and returns the times of the measured
// ones, from the request to the last byte of the answer.
func (b *bench) apiSearches(ctx context.Context, base, token string, warmup, queries []benchQuery) ([]time.Duration, error) {
	client := apiclient.New(base, 4).HTTP
	search := func(q benchQuery) (time.Duration, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/search?"+q.values().Encode(), nil)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		start := time.Now()
		res, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		body, err := io.ReadAll(res.Body)
		res.Body.Close()
		took := time.Since(start)
		if err != nil {
			return 0, nil, err
		}
		if res.StatusCode != http.StatusOK {
			return 0, nil, &apiclient.StatusError{Method: "GET", Path: "/api/v1/search?" + q.values().Encode(), Status: res.StatusCode, Want: http.StatusOK, Body: string(body)}
		}
		return took, body, nil
	}
	for _, q := range warmup {
		if _, _, err := search(q); err != nil {
			return nil, err
		}
	}
	runtime.GC()
	times := make([]time.Duration, len(queries))
	bodies := make([][]byte, len(queries))
	for i, q := range queries {
		var err error
		if times[i], bodies[i], err = search(q); err != nil {
			return nil, err
		}
	}
	empty, hits := 0, 0
	for _, body := range bodies {
		var r searchResult
		if err := json.Unmarshal(body, &r); err != nil {
			return nil, fmt.Errorf("search: %w", err)
		}
		hits += r.Total
		if r.Total == 0 {
			empty++
		}
	}
	b.logf("API search: p50 %s, p99 %s, max %s; %d of %d queries found nothing, %.0f hits on average",
		percentile(times, 0.50), percentile(times, 0.99), slices.Max(times), empty, len(queries), float64(hits)/float64(len(queries)))
	return times, nil
}

// figure5 restarts the appliance of figure 2 on its data folder: once
// with the index present (the time to /readyz 200), once after deleting
// the index (the time until it is rebuilt and /readyz says 200).
func (b *bench) figure5(ctx context.Context) error {
	if err := b.m.Close(); err != nil {
		return err
	}
	b.m = nil
	// restart returns the time to /readyz 200 and the index's state just
	// after Open and once ready.
	restart := func() (time.Duration, pmassist.IndexState, pmassist.IndexState, error) {
		var first, last pmassist.IndexState
		b.settleDisk()
		runtime.GC()
		start := time.Now()
		m := newMain(b.dataDir, b.slackSrv.URL, b.appLog)
		if err := m.Open(); err != nil {
			return 0, first, last, err
		}
		b.m = m
		first = m.Index.IndexState()
		wctx, cancel := context.WithTimeout(ctx, stepTimeout)
		defer cancel()
		if err := waitReady(wctx, "http://"+m.Server.Addr(), readyPoll); err != nil {
			return 0, first, last, err
		}
		took := time.Since(start)
		last = m.Index.IndexState()
		b.m = nil
		return took, first, last, errors.Join(m.Close(), stateError(last))
	}

	startTook, first, _, err := restart()
	if err != nil {
		return err
	}
	startLabel := "start with the index, to /readyz 200"
	if first.State != "ready" {
		b.logf("warning: the index was not trusted at the start (state %q): the start includes a rebuild", first.State)
		startLabel = "start with the index (rebuilt it), to /readyz 200"
	}
	b.logf("start with the index present: /readyz 200 after %s", startTook.Round(time.Microsecond))

	if err := os.RemoveAll(filepath.Join(b.dataDir, app.IndexDirName)); err != nil {
		return err
	}
	rebuildTook, _, rebuilt, err := restart()
	if err != nil {
		return err
	}
	docs := rebuilt.Docs
	base := b.bareTime.Seconds() * float64(docs) / float64(len(b.corpus.messages))
	b.logf("rebuild of %d documents: /readyz 200 after %s; bare Bleve scaled to them: %.2fs", docs,
		rebuildTook.Round(time.Millisecond), base)

	b.rows = append(b.rows,
		newRow(5, startLabel, unitSec, startTook.Seconds(), nil,
			fmt.Sprintf("≤ %g s", startMax), startTook.Seconds() <= startMax),
		newRow(5, fmt.Sprintf("rebuild %s docs, to /readyz 200", thousands(int64(docs))), unitSec, rebuildTook.Seconds(), ptr(base),
			fmt.Sprintf("≤ %g× baseline", rebuildMaxRatio), rebuildTook.Seconds() <= rebuildMaxRatio*base))
	return nil
}

func stateError(st pmassist.IndexState) error {
	if st.State != "ready" {
		return fmt.Errorf("search index %s after /readyz said 200: %s", st.State, st.Error)
	}
	return nil
}

// peakRSS is VmHWM of /proc/self/status, or "unknown".
func peakRSS() string {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for l := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}
