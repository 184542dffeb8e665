package search

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/document"

	"github.com/pmassist/pmassist"
)

type opKind uint8

const (
	opItem opKind = iota + 1 // load the item and index it, or delete it
	opDecision
	opRemoveItem
	opRemoveDecision
	opRemoveTenant
)

// op is one queued update. Item and decision updates carry only the id:
// the record is loaded when its batch is indexed, so that it is indexed as
// it is then, and a burst of updates to one record loads it once.
type op struct {
	kind   opKind
	tenant string
	id     string
}

// docID is the document the op is about; "" for a tenant's removal.
func (o op) docID() string {
	switch o.kind {
	case opItem, opRemoveItem:
		return itemPrefix + o.id
	case opDecision, opRemoveDecision:
		return decisionPrefix + o.id
	}
	return ""
}

// QueueItems queues committed items of the context's tenant for indexing.
// It never blocks: when the queue is full the ids are dropped and the index
// is rebuilt at the next start.
func (ix *Index) QueueItems(ctx context.Context, ids ...string) {
	ix.enqueue(ctx, opItem, ids)
}

// QueueDecisions queues committed decisions of the context's tenant.
func (ix *Index) QueueDecisions(ctx context.Context, ids ...string) {
	ix.enqueue(ctx, opDecision, ids)
}

// RemoveItems takes items of the context's tenant out of the index.
func (ix *Index) RemoveItems(ctx context.Context, ids ...string) {
	ix.enqueue(ctx, opRemoveItem, ids)
}

// RemoveDecision takes a decision of the context's tenant out of the index.
func (ix *Index) RemoveDecision(ctx context.Context, id string) {
	ix.enqueue(ctx, opRemoveDecision, []string{id})
}

// RemoveTenant takes every document of a tenant out of the index.
func (ix *Index) RemoveTenant(_ context.Context, tenantID string) {
	if tenantID == "" {
		ix.log.Error("search index: RemoveTenant without a tenant")
		return
	}
	ix.push([]op{{kind: opRemoveTenant, tenant: tenantID}})
}

func (ix *Index) enqueue(ctx context.Context, kind opKind, ids []string) {
	tenantID := pmassist.TenantIDFromContext(ctx)
	if tenantID == "" {
		ix.log.Error("search index: update without a tenant in the context; ignored")
		return
	}
	ops := make([]op, 0, len(ids))
	for _, id := range ids {
		if id != "" {
			ops = append(ops, op{kind: kind, tenant: tenantID, id: id})
		}
	}
	ix.push(ops)
}

func (ix *Index) push(ops []op) {
	if len(ops) == 0 {
		return
	}
	ix.qmu.Lock()
	defer ix.qmu.Unlock()
	if ix.closing {
		ix.lostLocked("an update arrived after Close", len(ops))
		return
	}
	if room := ix.o.maxQueue - len(ix.pending); len(ops) > room {
		ix.lostLocked("the queue is full", len(ops)-max(room, 0))
		ops = ops[:max(room, 0)]
		if len(ops) == 0 {
			return
		}
	}
	wasEmpty := len(ix.pending) == 0
	if wasEmpty {
		ix.firstAt = time.Now()
	}
	ix.pending = append(ix.pending, ops...)
	ix.seq += uint64(len(ops))
	if wasEmpty || len(ix.pending) >= ix.o.BatchSize {
		ix.signal()
	}
}

// lostLocked records that updates were dropped: the index no longer
// matches the data file and is rebuilt at the next start.
func (ix *Index) lostLocked(why string, n int) {
	if !ix.dirty {
		ix.log.Error("search index: updates dropped; the index will be rebuilt at the next start", "why", why, "dropped", n)
	}
	ix.dirty = true
}

func (ix *Index) signal() {
	select {
	case ix.wake <- struct{}{}:
	default:
	}
}

// notifyLocked wakes WaitIdle.
func (ix *Index) notifyLocked() {
	close(ix.progress)
	ix.progress = make(chan struct{})
}

// work indexes the queue in batches until Close, then drains it. It is a
// pipeline of two stages: while Bleve indexes a batch, the records of the
// next one are loaded.
func (ix *Index) work() {
	defer close(ix.workerDone)
	prepared := make(chan *update, 1)
	indexed := make(chan struct{})
	go func() {
		defer close(indexed)
		for u := range prepared {
			ix.index(u)
		}
	}()
	defer func() {
		close(prepared)
		<-indexed
	}()

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for {
		ops, wait, exit := ix.next()
		if exit {
			return
		}
		if len(ops) > 0 {
			prepared <- ix.prepare(ops)
			continue
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-ix.wake:
				timer.Stop()
			case <-timer.C:
			}
		} else {
			<-ix.wake
		}
	}
}

// next takes the next batch when one is due, or says how long to wait.
func (ix *Index) next() (ops []op, wait time.Duration, exit bool) {
	ix.qmu.Lock()
	defer ix.qmu.Unlock()
	n := len(ix.pending)
	if ix.closing && (n == 0 || ix.paused) {
		if n > 0 {
			// The build was cut short by Close: the next start rebuilds.
			ix.lostLocked("Close interrupted the build", n)
			ix.applied += uint64(n)
			ix.pending = nil
		}
		ix.notifyLocked()
		return nil, 0, true
	}
	if n == 0 || ix.paused {
		return nil, 0, false
	}
	if n < ix.o.BatchSize && !ix.flushNow && !ix.closing {
		if d := ix.o.FlushEvery - time.Since(ix.firstAt); d > 0 {
			return nil, d, false
		}
	}
	k := min(n, ix.o.BatchSize)
	ops = ix.pending[:k:k]
	ix.pending = ix.pending[k:]
	if len(ix.pending) == 0 {
		ix.pending = nil
		ix.flushNow = false
	}
	if ix.recording {
		if len(ix.replay)+len(ops) > ix.o.maxQueue {
			ix.lostLocked("too many updates during a rebuild", len(ops))
			ix.recording = false
			ix.replay = nil
		} else {
			ix.replay = append(ix.replay, ops...)
		}
	}
	return ops, 0, false
}

// update is a batch of ops made ready for the index: the documents to
// index and to delete, in steps that a tenant's removal separates.
type update struct {
	ops   []op
	steps []step
	err   error // records that did not load
}

type step struct {
	docs       []*document.Document
	deletes    []string
	dropTenant string
}

// prepare loads the records of ops with their tenant and maps them to
// documents; a record that is gone is deleted. Only the last op about a
// document counts: each one sets the document to the record's state at
// load time.
func (ix *Index) prepare(ops []op) *update {
	last := make(map[string]int, len(ops))
	for i, o := range ops {
		if id := o.docID(); id != "" {
			last[id] = i
		}
	}
	u := &update{ops: ops}
	var errs []error
	cur := &step{}
	for i, o := range ops {
		docID := o.docID()
		if docID != "" && last[docID] != i {
			continue
		}
		ctx := pmassist.NewContextWithTenant(context.Background(), o.tenant)
		var d *doc
		switch o.kind {
		case opItem:
			it, err := ix.o.Items.FindItem(ctx, o.id)
			switch {
			case pmassist.ErrorCode(err) == pmassist.ENOTFOUND:
				cur.deletes = append(cur.deletes, docID)
			case err != nil:
				errs = append(errs, fmt.Errorf("load item %s: %w", o.id, err))
			case it.Deleted:
				cur.deletes = append(cur.deletes, docID)
			default:
				it.TenantID = o.tenant
				d = itemDoc(it)
			}
		case opDecision:
			dec, err := ix.o.Decisions.FindDecision(ctx, o.id)
			switch {
			case pmassist.ErrorCode(err) == pmassist.ENOTFOUND:
				cur.deletes = append(cur.deletes, docID)
			case err != nil:
				errs = append(errs, fmt.Errorf("load decision %s: %w", o.id, err))
			default:
				dec.TenantID = o.tenant
				d = decisionDoc(dec, ix.sourceItems(context.Background()))
			}
		case opRemoveItem, opRemoveDecision:
			cur.deletes = append(cur.deletes, docID)
		case opRemoveTenant:
			u.steps = append(u.steps, *cur, step{dropTenant: o.tenant})
			cur = &step{}
		}
		if d != nil {
			bd, err := ix.document(docID, d)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			cur.docs = append(cur.docs, bd)
		}
	}
	u.steps = append(u.steps, *cur)
	u.err = errors.Join(errs...)
	return u
}

// index applies an update to the serving index.
func (ix *Index) index(u *update) {
	ix.writeMu.Lock()
	ix.mu.RLock()
	idx := ix.idx
	ix.mu.RUnlock()
	var err error
	if idx != nil {
		err = errors.Join(ix.execute(idx, u.steps), u.err)
	}
	ix.writeMu.Unlock()

	ix.qmu.Lock()
	defer ix.qmu.Unlock()
	if idx == nil && !ix.closing {
		// A build in place began meanwhile: the ops wait for it.
		if len(ix.pending) == 0 {
			ix.firstAt = time.Now()
		}
		ix.pending = append(u.ops, ix.pending...)
		return
	}
	if idx == nil {
		err = errors.New("no index")
	}
	if err != nil {
		ix.log.Error("search index: updates failed", "err", err)
		ix.lostLocked("updates failed", len(u.ops))
	}
	ix.applied += uint64(len(u.ops))
	ix.notifyLocked()
}

// execute writes an update's steps to idx, in batches of at most
// BatchSize.
func (ix *Index) execute(idx bleve.Index, steps []step) error {
	for _, s := range steps {
		if s.dropTenant != "" {
			if err := ix.deleteTenant(idx, s.dropTenant); err != nil {
				return err
			}
			continue
		}
		for len(s.docs)+len(s.deletes) > 0 {
			b := idx.NewBatch()
			for b.Size() < ix.o.BatchSize && len(s.docs) > 0 {
				if err := b.IndexAdvanced(s.docs[0]); err != nil {
					return err
				}
				s.docs = s.docs[1:]
			}
			for b.Size() < ix.o.BatchSize && len(s.deletes) > 0 {
				b.Delete(s.deletes[0])
				s.deletes = s.deletes[1:]
			}
			if err := idx.Batch(b); err != nil {
				return err
			}
		}
	}
	return nil
}

// apply indexes ops into idx at once.
func (ix *Index) apply(idx bleve.Index, ops []op) error {
	u := ix.prepare(ops)
	return errors.Join(ix.execute(idx, u.steps), u.err)
}

// sourceItems finds the items decisions came from, for their channels.
func (ix *Index) sourceItems(ctx context.Context) sourceItems {
	return func(tenantID, itemID string) *pmassist.Item {
		it, err := ix.o.Items.FindItem(pmassist.NewContextWithTenant(ctx, tenantID), itemID)
		if err != nil {
			return nil
		}
		return it
	}
}

// deleteTenant deletes a tenant's documents, a batch at a time.
func (ix *Index) deleteTenant(idx bleve.Index, tenantID string) error {
	for {
		req := bleve.NewSearchRequestOptions(termQuery(fieldTenant, tenantID), ix.o.BatchSize, 0, false)
		req.Score = "none"
		res, err := idx.Search(req)
		if err != nil {
			return err
		}
		if len(res.Hits) == 0 {
			return nil
		}
		b := idx.NewBatch()
		for _, h := range res.Hits {
			b.Delete(h.ID)
		}
		if err := idx.Batch(b); err != nil {
			return err
		}
	}
}
