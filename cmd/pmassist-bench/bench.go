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
	"slices"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/fake"
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
	startMax        = 1.0   // s
	rebuildMaxRatio = 1.5   // × bare Bleve
)

// How the harness measures.
const (
	warmupQueries = 100 // searches before the measured ones, on both sides
	jobPoll       = 10 * time.Millisecond
	readyPoll     = 2 * time.Millisecond
	bareTenant    = "bench"
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
	op       *apiClient

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

// run measures the chosen figures. Figure 1's ingestion always runs:
// figures 2 and 5 measure its tenant.
func (b *bench) run(ctx context.Context) (rep *report, err error) {
	b.started = time.Now()
	rep = &report{Started: b.started.UTC(), Machine: thisMachine(), Size: b.size, Figures: b.o.figures}
	b.root, err = os.MkdirTemp("", "pmassist-bench-")
	if err != nil {
		return nil, err
	}
	defer func() {
		err = errors.Join(err, b.cleanup())
	}()
	b.dataDir, b.bareDir = filepath.Join(b.root, "data"), filepath.Join(b.root, "bare")
	b.logf("%s; %s", rep.Machine, b.size)
	b.logf("temporary folder %s", b.root)

	b.corpus = newCorpus(seedCorpus, b.size.Items, corpusEnd)
	b.logf("generated %d messages (%d with a decision phrase) in %d channels", len(b.corpus.messages),
		b.corpus.decisions, len(channelNames))
	if err := b.bareBaseline(); err != nil {
		return nil, fmt.Errorf("bare baseline: %w", err)
	}
	if err := b.figure1(ctx); err != nil {
		return nil, fmt.Errorf("figure 1: %w", err)
	}
	if b.want(2) || b.want(5) {
		if err := b.fillTenants(ctx); err != nil {
			return nil, fmt.Errorf("filling the other tenants: %w", err)
		}
	}
	if b.want(2) {
		if err := b.figure2(ctx); err != nil {
			return nil, fmt.Errorf("figure 2: %w", err)
		}
	}
	if b.want(5) {
		if err := b.figure5(ctx); err != nil {
			return nil, fmt.Errorf("figure 5: %w", err)
		}
	}
	rep.Rows = b.rows
	rep.Duration = since(b.started)
	b.logf("done in %s; peak memory of this process (appliance, stand-in and baseline together): %s", rep.Duration, peakRSS())
	return rep, nil
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
	slack := fake.NewSlack(fake.Options{ClientID: slackClientID, ClientSecret: slackClientSecret, AutoApprove: true})
	slack.SetData(b.corpus.slackData())
	slack.SetPageSize(fake.SlackDefaultPageSize)
	b.slackSrv = httptest.NewServer(slack)

	b.m = newMain(b.dataDir, b.slackSrv.URL, b.appLog)
	if err := b.m.Open(); err != nil {
		return err
	}
	b.base = "http://" + b.m.Server.Addr()
	var err error
	b.acme, b.op, err = setUp(ctx, b.base)
	if err != nil {
		return err
	}
	api := newAPIClient(b.base)
	api.token = b.acme.token
	b.logf("appliance on %s, tenant %s, Slack connected through OAuth", b.base, b.acme.id)

	n := len(b.corpus.messages)
	wctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	runtime.GC()
	start := time.Now()
	j, err := ingest(wctx, api, jobPoll)
	if err != nil {
		return err
	}
	jobDone := time.Since(start)
	if err := b.m.Index.WaitIdle(wctx); err != nil {
		return err
	}
	took := time.Since(start)
	if j.ItemsNew != n {
		return fmt.Errorf("the job stored %d new items, want %d", j.ItemsNew, n)
	}
	st := b.m.Index.IndexState()
	b.logf("ingested %d items: job ended after %s, searchable after %s; the index holds %d documents (items and decisions)",
		n, jobDone.Round(time.Millisecond), took.Round(time.Millisecond), st.Docs)
	if b.want(1) {
		rate := float64(n) / took.Seconds()
		base := float64(n) / b.bareTime.Seconds()
		b.rows = append(b.rows, newRow(1, "ingest until searchable", unitRate, rate, ptr(base),
			fmt.Sprintf("≥ %s/s and ≥ %.1f×", thousands(ingestMinRate), ingestMinRatio),
			rate >= ingestMinRate && rate >= ingestMinRatio*base))
	}
	return nil
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
	api := newAPIClient(b.base)
	api.token = b.acme.token
	client := api.http
	search := func(q benchQuery) (time.Duration, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, "GET", b.base+"/api/v1/search?"+q.values().Encode(), nil)
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+api.token)
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
			return 0, nil, &statusError{method: "GET", path: "/api/v1/search?" + q.values().Encode(), status: res.StatusCode,
				want: http.StatusOK, body: string(body)}
		}
		return took, body, nil
	}
	for _, q := range warmup {
		if _, _, err := search(q); err != nil {
			return err
		}
	}
	runtime.GC()
	times := make([]time.Duration, len(queries))
	bodies := make([][]byte, len(queries))
	for i, q := range queries {
		var err error
		if times[i], bodies[i], err = search(q); err != nil {
			return err
		}
	}
	empty, hits := 0, 0
	for _, body := range bodies {
		var r searchResult
		if err := json.Unmarshal(body, &r); err != nil {
			return fmt.Errorf("search: %w", err)
		}
		hits += r.Total
		if r.Total == 0 {
			empty++
		}
	}
	p50, p99 := percentile(times, 0.50), percentile(times, 0.99)
	b.logf("API search: p50 %s, p99 %s, max %s; %d of %d queries found nothing, %.0f hits on average",
		p50, p99, slices.Max(times), empty, len(queries), float64(hits)/float64(len(queries)))

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
	empty, hits = 0, 0
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
