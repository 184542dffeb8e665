package search

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/blevesearch/bleve/v2"

	"github.com/pmassist/pmassist"
)

// Rebuild re-indexes everything from the data file in the background (the
// operator's reindex). While the index serves, the new one is filled next
// to it and the old one keeps answering — and keeps receiving the queued
// updates, which are applied to the new one too before it takes over. When
// there is no serving index (its build failed), it is rebuilt in place,
// with Search answering EUNAVAILABLE meanwhile. A rebuild already running
// is not started again.
func (ix *Index) Rebuild(_ context.Context) error {
	ix.mu.RLock()
	serving := ix.idx != nil
	ix.mu.RUnlock()
	if serving {
		return ix.rebuildAside()
	}
	return ix.rebuildInPlace()
}

// begin marks a rebuild as running; false when one already is, or the
// index is closing.
func (ix *Index) begin(aside bool) (bool, error) {
	ix.qmu.Lock()
	defer ix.qmu.Unlock()
	if ix.closing {
		return false, pmassist.Errorf(pmassist.EUNAVAILABLE, "the search index is closing")
	}
	if ix.rebuilding {
		return false, nil
	}
	ix.rebuilding = true
	if aside {
		ix.recording = true
		ix.replay = nil
	} else {
		ix.paused = true
	}
	ix.rebuilds.Add(1)
	return true, nil
}

// end marks the rebuild as done.
func (ix *Index) end() {
	ix.qmu.Lock()
	ix.rebuilding = false
	ix.recording = false
	ix.replay = nil
	ix.notifyLocked()
	ix.qmu.Unlock()
	ix.signal()
	ix.rebuilds.Done()
}

// rebuildInPlace replaces whatever is in Dir by a new index and fills it
// in the background; the queue waits for it.
func (ix *Index) rebuildInPlace() error {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ok, err := ix.begin(false)
	if !ok {
		return err
	}
	ix.mu.Lock()
	if ix.idx != nil {
		_ = ix.idx.Close()
		ix.idx = nil
	}
	if ix.build != nil {
		_ = ix.build.Close()
		ix.build = nil
	}
	target, err := ix.create(ix.o.Dir)
	if err != nil {
		ix.state = StateFailed
		ix.lastErr = err.Error()
		ix.mu.Unlock()
		ix.end()
		return fmt.Errorf("search: create index: %w", err)
	}
	ix.build = target
	ix.state = StateBuilding
	ix.lastErr = ""
	ix.mu.Unlock()

	go func() {
		defer ix.end()
		start := time.Now()
		err := ix.fill(ix.ctx, target)
		ix.mu.Lock()
		defer ix.mu.Unlock()
		switch {
		case err == nil:
			ix.idx, ix.build = target, nil
			ix.state = StateReady
			n, _ := target.DocCount()
			ix.log.Info("search index: built", "docs", n, "took", time.Since(start))
			ix.qmu.Lock()
			ix.paused = false
			ix.qmu.Unlock()
		case ix.ctx.Err() != nil:
			// Closing: the index stays incomplete, with no data version,
			// and the next start rebuilds it.
		default:
			ix.state = StateFailed
			ix.lastErr = err.Error()
			ix.log.Error("search index: build failed", "err", err)
		}
	}()
	return nil
}

// rebuildAside fills a new index next to the serving one, then replaces
// the serving one with it.
func (ix *Index) rebuildAside() error {
	ok, err := ix.begin(true)
	if !ok {
		return err
	}
	dir := ix.o.Dir + rebuildSuffix
	target, err := ix.create(dir)
	if err != nil {
		ix.end()
		return fmt.Errorf("search: create index: %w", err)
	}
	go func() {
		defer ix.end()
		start := time.Now()
		err := ix.fill(ix.ctx, target)
		if err == nil {
			err = ix.swap(target, dir)
		} else {
			_ = target.Close()
			_ = os.RemoveAll(dir)
		}
		switch {
		case err == nil:
			ix.log.Info("search index: rebuilt", "docs", ix.IndexState().Docs, "took", time.Since(start))
		case ix.ctx.Err() != nil:
			// Closing: the serving index stays.
		default:
			ix.log.Error("search index: rebuild failed", "err", err)
			ix.mu.Lock()
			if ix.lastErr == "" {
				ix.lastErr = "rebuild failed: " + err.Error()
			}
			ix.mu.Unlock()
		}
	}()
	return nil
}

// swap applies the updates the serving index received during the rebuild
// to the new index, and makes the new index the serving one in Dir.
func (ix *Index) swap(target bleve.Index, dir string) error {
	ix.writeMu.Lock()
	defer ix.writeMu.Unlock()
	ix.qmu.Lock()
	ops, complete := ix.replay, ix.recording
	ix.replay, ix.recording = nil, false
	ix.qmu.Unlock()
	if complete {
		if err := ix.apply(target, ops); err != nil {
			ix.log.Error("search index: updates during the rebuild failed", "err", err)
			ix.qmu.Lock()
			ix.lostLocked("updates during the rebuild failed", len(ops))
			ix.qmu.Unlock()
		}
	}
	if err := target.Close(); err != nil {
		_ = os.RemoveAll(dir)
		return err
	}

	ix.mu.Lock()
	defer ix.mu.Unlock()
	if err := ix.idx.Close(); err != nil {
		ix.log.Warn("search index: closing the old index", "err", err)
	}
	ix.idx = nil
	err := os.RemoveAll(ix.o.Dir)
	if err == nil {
		err = os.Rename(dir, ix.o.Dir)
	}
	var idx bleve.Index
	if err == nil {
		idx, err = bleve.Open(ix.o.Dir)
	}
	if err != nil {
		ix.state = StateFailed
		ix.lastErr = err.Error()
		ix.qmu.Lock()
		ix.paused = true
		ix.qmu.Unlock()
		return err
	}
	ix.idx = idx
	ix.lastErr = ""
	return nil
}

// fill indexes every item and decision of the data file into target. The
// walk reads and decodes the next page while Bleve indexes the previous.
func (ix *Index) fill(ctx context.Context, target bleve.Index) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan *bleve.Batch, 1)
	indexed := make(chan error, 1)
	go func() {
		var err error
		for b := range batches {
			if err == nil {
				if err = target.Batch(b); err != nil {
					cancel()
				}
			}
		}
		indexed <- err
	}()
	send := func(b *bleve.Batch) error {
		if b.Size() == 0 {
			return nil
		}
		select {
		case batches <- b:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	err := ix.o.Walker.WalkItems(ctx, ix.o.BatchSize, func(items []*pmassist.Item) error {
		b := target.NewBatch()
		for _, it := range items {
			if it.Deleted {
				continue
			}
			d, err := ix.document(itemPrefix+it.ID, itemDoc(it))
			if err == nil {
				err = b.IndexAdvanced(d)
			}
			if err != nil {
				return err
			}
		}
		return send(b)
	})
	if err == nil {
		find := ix.sourceItems(ctx)
		err = ix.o.Walker.WalkDecisions(ctx, ix.o.BatchSize, func(ds []*pmassist.Decision) error {
			b := target.NewBatch()
			for _, d := range ds {
				bd, err := ix.document(decisionPrefix+d.ID, decisionDoc(d, find))
				if err == nil {
					err = b.IndexAdvanced(bd)
				}
				if err != nil {
					return err
				}
			}
			return send(b)
		})
	}
	close(batches)
	if ierr := <-indexed; ierr != nil {
		return ierr
	}
	return err
}
