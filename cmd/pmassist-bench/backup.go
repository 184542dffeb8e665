package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/internal/apiclient"
	"github.com/pmassist/pmassist/store"
)

// Figure 6: backup under load. A writer stores pages of new items in
// figure 1's tenant, one transaction per page as ingestion does
// (DB.UpsertItems), one page after the other, timing each commit. While it
// writes, the operator downloads GET /api/v1/admin/backup into memory (as
// if to another machine: a copy written to the same disk meanwhile slows
// the writer's fsyncs, which measures the disk, not the appliance), again
// and again for at least backupSeconds (a
// backup of figure 1's data takes well under a second here: one would see
// too few commits); then the writer goes on alone for as many pages as it
// wrote during the backups: the baseline. The last copy is then checked:
// it is a sound data file, it opens, and it holds every item the data file
// held before the writer began, and of the writer's pages a prefix — each
// page whole or not at all — that includes every page committed before
// that backup was asked for.

const (
	writerPage       = 200 // items per commit: one fetched page
	writerWarmup     = 20  // pages before the measurement
	writerMinPages   = 100 // the baseline writes at least these
	seedWriter       = 300
	writerCorpusSize = 20_000 // messages the writer's pages are made of, over and over
)

// backupSeconds is how long the backups go on (at least one whole backup).
func (s size) backupSeconds() time.Duration {
	if s.Quick {
		return time.Second
	}
	return 3 * time.Second
}

// commit is one page the writer stored.
type commit struct {
	ids  []string
	took time.Duration
	end  time.Time
}

// pageWriter stores pages of new items in one tenant.
type pageWriter struct {
	db       *store.DB
	ctx      context.Context // the tenant's
	period   string
	template []*pmassist.Item
	next     int // pages written so far
	commits  []commit
}

func newPageWriter(ctx context.Context, db *store.DB, tenantID string) *pageWriter {
	return &pageWriter{db: db, ctx: pmassist.NewContextWithTenant(ctx, tenantID), period: time.Now().UTC().Format("2006-01"),
		template: newCorpus(seedWriter, writerCorpusSize, corpusEnd).items()}
}

// write stores the next page: copies of the template's items under new
// external ids.
func (w *pageWriter) write() error {
	page := make([]*pmassist.Item, writerPage)
	for i := range page {
		k := w.next*writerPage + i
		it := *w.template[k%len(w.template)]
		it.ExternalID = fmt.Sprintf("W%07d:%s", k, it.ExternalID)
		page[i] = &it
	}
	start := time.Now()
	if _, err := w.db.UpsertItems(w.ctx, page, nil, w.period, -1); err != nil {
		return err
	}
	end := time.Now()
	ids := make([]string, len(page))
	for i, it := range page {
		ids[i] = it.ID
	}
	w.commits = append(w.commits, commit{ids: ids, took: end.Sub(start), end: end})
	w.next++
	return nil
}

func (b *bench) figure6(ctx context.Context) error {
	if b.m == nil { // figure 5 closed it
		b.m = newMain(b.dataDir, b.slackSrv.URL, b.appLog)
		if err := b.m.Open(); err != nil {
			return err
		}
		b.base = "http://" + b.m.Server.Addr()
		wctx, cancel := context.WithTimeout(ctx, stepTimeout)
		defer cancel()
		if err := waitReady(wctx, b.base, readyPoll); err != nil {
			return err
		}
	}
	before, err := itemIDs(ctx, b.m.DB)
	if err != nil {
		return err
	}
	b.settleDisk()
	w := newPageWriter(ctx, b.m.DB, b.acme.id)
	for range writerWarmup {
		if err := w.write(); err != nil {
			return err
		}
	}

	// The writer, with backups. The copies go to memory allocated
	// beforehand: growing a buffer of hundreds of MB in this process — the
	// appliance's — would have the garbage collector slow the writer.
	copyPath := filepath.Join(b.root, "backup.db")
	var (
		asked      time.Time // of the last backup
		copied     bytes.Buffer
		size       int64
		berr       error
		backups    int
		backupTook time.Duration // of all of them
	)
	copied.Grow(int(b.m.DB.Size())*3/2 + 64<<20)
	runtime.GC()
	first := len(w.commits)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var werr error
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if werr = w.write(); werr != nil {
				return
			}
		}
	})
	began := time.Now()
	var starts []time.Duration // of each backup, since began
	sizeBefore, faultsBefore := b.m.DB.Size(), majorFaults()
	for berr == nil && (backups == 0 || time.Since(began) < b.size.backupSeconds()) {
		asked = time.Now()
		starts = append(starts, asked.Sub(began))
		copied.Reset()
		size, berr = b.download(ctx, &copied)
		backups++
	}
	backupTook = time.Since(began)
	close(stop)
	wg.Wait()
	if err := errors.Join(berr, werr); err != nil {
		return err
	}
	during := w.commits[first:]
	b.logf("%d backups of %s MiB in %s (%.0f MiB/s) while the writer committed %d pages of %d items",
		backups, thousands(size>>20), backupTook.Round(time.Millisecond), float64(backups)*float64(size)/(1<<20)/backupTook.Seconds(),
		len(during), writerPage)
	slowest := slices.MaxFunc(during, func(x, y commit) int { return int(x.took - y.took) })
	b.logf("the slowest commit during them took %s from +%s (backups began at %v); the data file grew from %s to %s MiB; "+
		"%d major page faults (pages read from disk through a memory map)",
		slowest.took.Round(time.Millisecond), slowest.end.Add(-slowest.took).Sub(began).Round(time.Millisecond),
		roundAll(starts, time.Millisecond), thousands(sizeBefore>>20), thousands(b.m.DB.Size()>>20), majorFaults()-faultsBefore)

	// The writer alone.
	n := max(len(during), writerMinPages)
	first = len(w.commits)
	for range n {
		if err := w.write(); err != nil {
			return err
		}
	}
	alone := w.commits[first:]
	latencies := func(cs []commit) []time.Duration {
		out := make([]time.Duration, len(cs))
		for i, c := range cs {
			out[i] = c.took
		}
		return out
	}
	dp99, ap99 := percentile(latencies(during), 0.99), percentile(latencies(alone), 0.99)
	b.logf("writer commits: during the backup p50 %s, p99 %s, max %s (%d); alone p50 %s, p99 %s, max %s (%d)",
		percentile(latencies(during), 0.5), dp99, percentile(latencies(during), 1), len(during),
		percentile(latencies(alone), 0.5), ap99, percentile(latencies(alone), 1), len(alone))

	if err := os.WriteFile(copyPath, copied.Bytes(), 0o600); err != nil {
		return err
	}
	copied = bytes.Buffer{}
	held, checkErr := checkBackup(ctx, copyPath, before, w.commits[:len(w.commits)-len(alone)], asked)
	if checkErr != nil {
		b.logf("the copy: %v", checkErr)
	} else {
		b.logf("the last copy is sound, opens and holds the %s items held before the writer began and %d of the writer's pages",
			thousands(int64(len(before))), held)
	}
	if !b.o.keep {
		if err := os.Remove(copyPath); err != nil {
			return err
		}
	}
	b.rows = append(b.rows,
		newRow(6, "writer commit p99 during a backup", unitMilli, millis(dp99), ptr(millis(ap99)),
			fmt.Sprintf("≤ %g× baseline", backupMaxRatio), millis(dp99) <= backupMaxRatio*millis(ap99)),
		newRow(6, fmt.Sprintf("backup of %s MiB streamed, copy checked", thousands(size>>20)), unitSec,
			backupTook.Seconds()/float64(backups), nil, "opens, holds every committed item", checkErr == nil))
	return nil
}

// majorFaults counts this process's page faults that read from disk.
func majorFaults() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Majflt
}

func roundAll(ds []time.Duration, to time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(to)
	}
	return out
}

// download streams GET /api/v1/admin/backup, as the operator, into w.
func (b *bench) download(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", b.base+"/api/v1/admin/backup", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+b.acme.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(res.Body, 1000))
		return 0, &apiclient.StatusError{Method: "GET", Path: "/api/v1/admin/backup", Status: res.StatusCode, Want: http.StatusOK, Body: string(body)}
	}
	return io.Copy(w, res.Body)
}

// itemIDs are the ids of every item of every tenant in db.
func itemIDs(ctx context.Context, db *store.DB) (map[string]bool, error) {
	ids := map[string]bool{}
	err := db.WalkItems(ctx, 1000, func(items []*pmassist.Item) error {
		for _, it := range items {
			ids[it.ID] = true
		}
		return nil
	})
	return ids, err
}

// checkBackup checks the copy at path: a sound data file that opens,
// holding every id of before, of the writer's commits a prefix (each page
// whole or not at all) that includes every commit ended before asked, and
// nothing else. It returns how many of the commits the copy holds.
func checkBackup(ctx context.Context, path string, before map[string]bool, commits []commit, asked time.Time) (int, error) {
	if _, err := store.ValidateDataFile(path); err != nil {
		return 0, err
	}
	db, err := store.Open(path, store.Options{})
	if err != nil {
		return 0, err
	}
	defer db.Close()
	got, err := itemIDs(ctx, db)
	if err != nil {
		return 0, err
	}
	return checkBackupIDs(got, before, commits, asked)
}

// checkBackupIDs is checkBackup's rule on the ids the copy holds.
func checkBackupIDs(got, before map[string]bool, commits []commit, asked time.Time) (int, error) {
	for id := range before {
		if !got[id] {
			return 0, fmt.Errorf("item %s, stored before the backup, is not in the copy", id)
		}
	}
	held, extra := 0, len(got)-len(before)
	for i, c := range commits {
		n := 0
		for _, id := range c.ids {
			if got[id] {
				n++
			}
		}
		switch {
		case n != 0 && n != len(c.ids):
			return held, fmt.Errorf("the copy holds %d of the %d items of the writer's page %d", n, len(c.ids), i)
		case n != 0 && held != i:
			return held, fmt.Errorf("the copy holds the writer's page %d but not page %d", i, held)
		case n == 0 && c.end.Before(asked):
			return held, fmt.Errorf("the writer's page %d, committed before the backup was asked for, is not in the copy", i)
		case n != 0:
			held++
			extra -= n
		}
	}
	if extra != 0 {
		return held, fmt.Errorf("the copy holds %d items that were neither stored before the backup nor written by the writer", extra)
	}
	return held, nil
}
