package main

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"time"
)

// Figure 7: growth. Figures 1 and 2 again at each of the -growth sizes
// (10,000, 100,000 and 1,000,000 items; -quick 1/10): for each, a fresh
// appliance in its own folder, a corpus of that size served by a fresh
// stand-in, the ingestion until searchable, then the 1,000 searches with
// their warm-up through the API. Only the measured tenant exists (no
// other tenants, no bare baseline: the figure compares the appliance with
// itself), and each size's folder is removed before the next starts
// (unless -keep). A size is measured as a whole or not at all; the sizes
// can be run on their own with -figures 7 -growth N.

// growthPoint is one size's measurements.
type growthPoint struct {
	items    int
	rate     float64 // items/s until searchable
	p50, p99 time.Duration
}

func (b *bench) figure7(ctx context.Context) error {
	var points []growthPoint
	for _, n := range b.o.growth {
		p, err := b.growthStep(ctx, n)
		if err != nil {
			return fmt.Errorf("%s items: %w", thousands(int64(n)), err)
		}
		points = append(points, p)
		b.addGrowthRows(points)
	}
	return nil
}

// addGrowthRows replaces figure 7's rows by those of points: the first
// size's rate is the baseline of the others; the largest size carries the
// targets.
func (b *bench) addGrowthRows(points []growthPoint) {
	kept := b.rows[:0]
	for _, r := range b.rows {
		if r.Figure != 7 {
			kept = append(kept, r)
		}
	}
	b.rows = kept
	small := points[0]
	last := len(points) - 1
	for i, p := range points {
		label := thousands(int64(p.items))
		if i == 0 {
			b.rows = append(b.rows, newInfoRow(7, "ingest until searchable, "+label+" items", unitRate, p.rate, nil))
		} else if i < last {
			b.rows = append(b.rows, newInfoRow(7, "ingest until searchable, "+label+" items", unitRate, p.rate, ptr(small.rate)))
		} else {
			b.rows = append(b.rows, newRow(7, "ingest until searchable, "+label+" items", unitRate, p.rate, ptr(small.rate),
				fmt.Sprintf("≥ %g× at %s", growthMinRatio, thousands(int64(small.items))), p.rate >= growthMinRatio*small.rate))
		}
	}
	for i, p := range points {
		label := "search p99, API, " + thousands(int64(p.items)) + " items"
		if i < last {
			b.rows = append(b.rows, newInfoRow(7, label, unitMilli, millis(p.p99), nil))
		} else {
			b.rows = append(b.rows, newRow(7, label, unitMilli, millis(p.p99), nil,
				fmt.Sprintf("≤ %g ms", growthMaxP99), millis(p.p99) <= growthMaxP99))
		}
	}
}

// growthStep measures figures 1 and 2 at n items.
func (b *bench) growthStep(ctx context.Context, n int) (growthPoint, error) {
	p := growthPoint{items: n}
	start := time.Now()
	c := newCorpus(seedCorpus, n, corpusEnd)
	slackSrv := startSlack(c)
	defer slackSrv.Close()
	b.logf("growth, %s items: generated the corpus and the stand-in's workspace in %s", thousands(int64(n)), since(start))

	dir := filepath.Join(b.root, fmt.Sprintf("growth-%d", n))
	defer b.removeFolder(dir)
	m := newMain(dir, slackSrv.URL, b.appLog)
	if err := m.Open(); err != nil {
		return p, err
	}
	defer func() {
		if m != nil {
			_ = m.Close()
		}
	}()
	base := "http://" + m.Server.Addr()
	acme, _, err := setUp(ctx, base, true)
	if err != nil {
		return p, err
	}
	took, err := b.ingestTimed(ctx, m.Index.WaitIdle, base, acme.token, n)
	if err != nil {
		return p, err
	}
	p.rate = float64(n) / took.Seconds()
	b.logf("the index holds %d documents (items and decisions)", m.Index.IndexState().Docs)

	queries := newQueries(seedQueries, b.size.Queries, c)
	warmup := newQueries(seedWarmup, warmupQueries, c)
	times, err := b.apiSearches(ctx, base, acme.token, warmup, queries)
	if err != nil {
		return p, err
	}
	p.p50, p.p99 = percentile(times, 0.50), percentile(times, 0.99)
	err = m.Close()
	m = nil
	runtime.GC()
	return p, err
}
