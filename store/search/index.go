// Package search is PM Assistant's full-text index of the items and
// decisions of every tenant (Bleve, scorch), after Gitea's issue indexer:
// the mapping is in code, a version constant is stored in the index and a
// bump rebuilds it, updates arrive through a queue of committed ids, and a
// rebuild is a paged, cancellable walk of the store.
//
// The index is derived data: the data file is the only source of truth,
// read here only through the domain interfaces. It is rebuilt, in the
// background while the app serves, whenever it cannot be trusted: missing,
// of another Version, or not matching the data file's version recorded at
// the last clean Close (a restore, or a crash that lost queued updates).
//
// The index enforces the tenant: every search is a conjunction with a term
// query on the tenant of the context, and nothing in the query can remove
// it, since the text of a search is parsed here into words and phrases
// only.
//
// Where the cost of a search goes is described in search.go (two phases:
// the page, then its fields and match locations), mapping.go (the date's
// sort key) and snippet.go (snippets from the text stored in the index).
package search

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/pmassist/pmassist"
)

// Version is the version of what the index holds; a change rebuilds it.
// Version 2: the date sort key ends with the document id (no ties).
// Version 3: title and text searched through tenant-prefixed words; every
// document has its periods (blocks of quarter-hours), which replace the
// indexed date; the date sort key is written in hexadecimal (see sortKey).
const Version = 3

// States of the index (pmassist.IndexState).
const (
	StateReady    = "ready"
	StateBuilding = "building"
	StateFailed   = "failed"
)

const (
	defaultBatchSize  = 1000
	defaultFlushEvery = 200 * time.Millisecond
	defaultMaxQueue   = 100_000
	// An operator's rebuild fills a new index next to the serving one.
	rebuildSuffix = ".rebuild"
)

// Keys of the index's internal store.
var (
	keyVersion     = []byte("pmassist.version")
	keyDataVersion = []byte("pmassist.data_version")
)

var (
	_ pmassist.SearchService = (*Index)(nil)
	_ pmassist.Indexer       = (*Index)(nil)
)

// Options configure an Index.
type Options struct {
	Dir       string // DATA_DIR/index
	Items     pmassist.ItemService
	Decisions pmassist.DecisionService
	Walker    pmassist.ItemWalker
	Logger    *slog.Logger
	// BatchSize is the most documents indexed in one Bleve batch, and the
	// page size of a rebuild's walk (default 1000).
	BatchSize int
	// FlushEvery bounds how long a queued id waits for its batch to fill:
	// it is searchable within about this long (default 200ms).
	FlushEvery time.Duration

	maxQueue int // ids waiting at most (default 100,000); tests lower it
	// broadLimit and relevanceCap are those of broad.go (defaults
	// broadLimit, relevanceCap); tests lower them.
	broadLimit, relevanceCap int
	// walkAll keeps a broad search walking its windows when one search
	// would be cheaper (tests of the windows).
	walkAll bool
	// windows counts the windows broad searches ran (tests).
	windows *atomic.Int64
}

// Index is the search index: a pmassist.SearchService and a
// pmassist.Indexer.
type Index struct {
	o        Options
	log      *slog.Logger
	mapping  *mapping.IndexMappingImpl
	analyzer analysis.Analyzer

	// ctx is cancelled by Close; it stops a rebuild.
	ctx    context.Context
	cancel context.CancelFunc

	// mu guards the serving index and the state; a search holds it for
	// reading, so an index is never closed under a search.
	mu      sync.RWMutex
	idx     bleve.Index // the serving index; nil while the first build runs
	build   bleve.Index // the index being built in place of a missing one
	state   string
	lastErr string

	// writeMu keeps the worker's batches apart from the replacement of the
	// serving index. Lock order: writeMu, then mu, then qmu.
	writeMu sync.Mutex

	// qmu guards the queue and the bookkeeping below.
	qmu      sync.Mutex
	pending  []op
	firstAt  time.Time // when the oldest pending op was queued
	flushNow bool      // WaitIdle asked: do not wait for a batch to fill
	// paused: there is no serving index; ops wait for the build.
	paused     bool
	rebuilding bool
	// recording: an operator's rebuild runs aside, and the ops applied to
	// the serving index meanwhile are kept to be applied to the new one.
	recording bool
	replay    []op
	closing   bool
	// dirty: an update was lost (queue full, a failed load or batch), so
	// Close records no data version and the next start rebuilds.
	dirty    bool
	seq      uint64 // ops accepted
	applied  uint64 // ops done with
	progress chan struct{}

	wake       chan struct{}
	workerDone chan struct{}
	rebuilds   sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
}

// Open opens the index in o.Dir. When the index there cannot be trusted it
// is created anew and rebuilt in the background: meanwhile IndexState says
// "building" and Search answers EUNAVAILABLE.
func Open(o Options) (*Index, error) {
	if o.Dir == "" || o.Items == nil || o.Decisions == nil || o.Walker == nil {
		return nil, errors.New("search: Dir, Items, Decisions and Walker are required")
	}
	if o.BatchSize <= 0 {
		o.BatchSize = defaultBatchSize
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = defaultFlushEvery
	}
	if o.maxQueue <= 0 {
		o.maxQueue = defaultMaxQueue
	}
	if o.broadLimit <= 0 {
		o.broadLimit = broadLimit
	}
	if o.relevanceCap <= 0 {
		o.relevanceCap = relevanceCap
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	im, err := newMapping()
	if err != nil {
		return nil, fmt.Errorf("search: mapping: %w", err)
	}
	an := im.AnalyzerNamed(textAnalyzer)
	if an == nil {
		return nil, fmt.Errorf("search: no analyzer %q", textAnalyzer)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ix := &Index{
		o:          o,
		log:        o.Logger.With("component", "search"),
		mapping:    im,
		analyzer:   an,
		ctx:        ctx,
		cancel:     cancel,
		progress:   make(chan struct{}),
		wake:       make(chan struct{}, 1),
		workerDone: make(chan struct{}),
	}
	if err := os.MkdirAll(filepath.Dir(o.Dir), 0o700); err != nil {
		cancel()
		return nil, fmt.Errorf("search: %w", err)
	}
	// What an interrupted operator's rebuild left behind.
	if err := os.RemoveAll(o.Dir + rebuildSuffix); err != nil {
		cancel()
		return nil, fmt.Errorf("search: %w", err)
	}

	idx, reason := ix.openExisting()
	if idx != nil {
		// Until the next clean Close the index may fall behind the data
		// file: with no data version recorded, a crash leads to a rebuild.
		if err := idx.DeleteInternal(keyDataVersion); err != nil {
			cancel()
			_ = idx.Close()
			return nil, fmt.Errorf("search: %w", err)
		}
		ix.idx = idx
		ix.state = StateReady
		go ix.work()
		return ix, nil
	}
	ix.log.Info("search index: rebuilding", "reason", reason)
	go ix.work()
	if err := ix.rebuildInPlace(); err != nil {
		_ = ix.Close()
		return nil, err
	}
	return ix, nil
}

// openExisting opens the index in Dir if it can be trusted, and otherwise
// says why not.
func (ix *Index) openExisting() (bleve.Index, string) {
	if _, err := os.Stat(ix.o.Dir); errors.Is(err, fs.ErrNotExist) {
		return nil, "there is no index"
	}
	idx, err := bleve.Open(ix.o.Dir)
	if err != nil {
		return nil, fmt.Sprintf("the index does not open: %v", err)
	}
	reason := ix.check(idx)
	if reason != "" {
		_ = idx.Close()
		return nil, reason
	}
	return idx, ""
}

func (ix *Index) check(idx bleve.Index) string {
	v, err := idx.GetInternal(keyVersion)
	if err != nil {
		return fmt.Sprintf("the index version does not read: %v", err)
	}
	if string(v) != strconv.Itoa(Version) {
		return fmt.Sprintf("the index is of version %q, not %d", v, Version)
	}
	recorded, err := idx.GetInternal(keyDataVersion)
	if err != nil {
		return fmt.Sprintf("the data version does not read: %v", err)
	}
	if len(recorded) == 0 {
		return "the index was not closed cleanly"
	}
	current, err := ix.dataVersion()
	if err != nil {
		return fmt.Sprintf("the data file's version is not known: %v", err)
	}
	if string(recorded) != string(current) {
		return "the data file is not the one the index was built from (a restore?)"
	}
	return ""
}

func (ix *Index) dataVersion() ([]byte, error) {
	fileID, txID, err := ix.o.Walker.DataVersion()
	if err != nil {
		return nil, err
	}
	return json.Marshal(struct {
		FileID string `json:"file_id"`
		TxID   uint64 `json:"tx_id"`
	}{fileID, txID})
}

// create makes a new, empty index in dir.
func (ix *Index) create(dir string) (bleve.Index, error) {
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	idx, err := bleve.NewUsing(dir, ix.mapping, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, err
	}
	if err := idx.SetInternal(keyVersion, []byte(strconv.Itoa(Version))); err != nil {
		_ = idx.Close()
		return nil, err
	}
	return idx, nil
}

// IndexState reports the state, the number of documents and the version.
func (ix *Index) IndexState() pmassist.IndexState {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	st := pmassist.IndexState{State: ix.state, Version: Version, Error: ix.lastErr}
	idx := ix.idx
	if idx == nil {
		idx = ix.build
	}
	if idx != nil {
		if n, err := idx.DocCount(); err == nil {
			st.Docs = n
		}
	}
	return st
}

// Pending returns the number of updates queued but not yet applied: the
// index's lag behind the data file.
func (ix *Index) Pending() int {
	ix.qmu.Lock()
	defer ix.qmu.Unlock()
	return int(ix.seq - ix.applied)
}

// unavailable is the error of a search without a serving index.
func (ix *Index) unavailable() error {
	switch ix.state {
	case StateBuilding:
		return pmassist.Errorf(pmassist.EUNAVAILABLE, "the search index is being built; try again in a minute")
	case StateFailed:
		return pmassist.Errorf(pmassist.EUNAVAILABLE, "the search index could not be built; an operator can rebuild it")
	}
	return pmassist.Errorf(pmassist.EUNAVAILABLE, "the search index is closed")
}

// WaitIdle returns when everything queued before the call is in the index
// (and a running rebuild is done), or with ctx's error.
func (ix *Index) WaitIdle(ctx context.Context) error {
	ix.qmu.Lock()
	target := ix.seq
	ix.flushNow = true
	ix.qmu.Unlock()
	ix.signal()
	for {
		ix.qmu.Lock()
		idle := !ix.rebuilding && ix.applied >= target
		stuck := !ix.rebuilding && ix.paused && !idle
		ch := ix.progress
		ix.qmu.Unlock()
		if idle {
			return nil
		}
		if stuck {
			return pmassist.Errorf(pmassist.EUNAVAILABLE, "the search index could not be built")
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Close stops accepting updates and any rebuild, indexes what is queued,
// records the data file's version (unless an update was lost) and closes
// the index.
func (ix *Index) Close() error {
	ix.closeOnce.Do(func() { ix.closeErr = ix.close() })
	return ix.closeErr
}

func (ix *Index) close() error {
	ix.qmu.Lock()
	ix.closing = true
	ix.qmu.Unlock()
	ix.cancel()
	ix.rebuilds.Wait()
	ix.signal()
	<-ix.workerDone

	ix.mu.Lock()
	defer ix.mu.Unlock()
	var errs []error
	if ix.build != nil {
		errs = append(errs, ix.build.Close())
		ix.build = nil
	}
	if ix.idx != nil {
		ix.recordDataVersion(ix.idx)
		errs = append(errs, ix.idx.Close())
		ix.idx = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("search: close: %w", err)
	}
	return nil
}

// recordDataVersion marks the index as matching the data file as it is
// now; at the next Open a different one means a rebuild.
func (ix *Index) recordDataVersion(idx bleve.Index) {
	ix.qmu.Lock()
	dirty := ix.dirty
	ix.qmu.Unlock()
	if dirty {
		ix.log.Warn("search index: updates were lost; it will be rebuilt at the next start")
		return
	}
	v, err := ix.dataVersion()
	if err == nil {
		err = idx.SetInternal(keyDataVersion, v)
	}
	if err != nil {
		ix.log.Warn("search index: data version not recorded; it will be rebuilt at the next start", "err", err)
	}
}
