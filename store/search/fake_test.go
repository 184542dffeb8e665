package search

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

// fakeStore is an in-memory ItemService, DecisionService and ItemWalker.
// Its writes do not queue anything: the tests queue, as the app would
// after a commit, or deliberately do not (a restore).
type fakeStore struct {
	mu        sync.Mutex
	items     map[string]*pmassist.Item
	decisions map[string]*pmassist.Decision
	fileID    string
	tx        uint64
	walks     int
	// gate, when set, holds every walk until it is closed.
	gate chan struct{}
}

func newFakeStore() *fakeStore {
	return &fakeStore{
		items:     map[string]*pmassist.Item{},
		decisions: map[string]*pmassist.Decision{},
		fileID:    "file-1",
		tx:        1,
	}
}

func (f *fakeStore) putItem(it *pmassist.Item) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *it
	f.items[it.ID] = &c
	f.tx++
}

func (f *fakeStore) deleteItem(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.items, id)
	f.tx++
}

func (f *fakeStore) putDecision(d *pmassist.Decision) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := *d
	f.decisions[d.ID] = &c
	f.tx++
}

func (f *fakeStore) deleteDecision(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.decisions, id)
	f.tx++
}

func (f *fakeStore) setTx(tx uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tx = tx
}

func (f *fakeStore) walkCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.walks
}

var errFake = errors.New("not implemented by the fake")

func notFound(what string) error { return pmassist.Errorf(pmassist.ENOTFOUND, "%s not found", what) }

func (f *fakeStore) FindItem(ctx context.Context, id string) (*pmassist.Item, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	it, ok := f.items[id]
	if !ok || it.TenantID != tenantID {
		return nil, notFound("item")
	}
	c := *it
	return &c, nil
}

func (f *fakeStore) FindDecision(ctx context.Context, id string) (*pmassist.Decision, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	d, ok := f.decisions[id]
	if !ok || d.TenantID != tenantID {
		return nil, notFound("decision")
	}
	c := *d
	return &c, nil
}

func (f *fakeStore) UpsertItems(context.Context, []*pmassist.Item, *pmassist.Watermark, string, int) (pmassist.UpsertResult, error) {
	return pmassist.UpsertResult{}, errFake
}

func (f *fakeStore) FindItemByExternalID(context.Context, pmassist.Service, string) (*pmassist.Item, error) {
	return nil, errFake
}

func (f *fakeStore) ListItems(context.Context, pmassist.ItemFilter) ([]*pmassist.Item, string, error) {
	return nil, "", errFake
}

func (f *fakeStore) DeleteConnectionItems(context.Context, string) ([]string, error) {
	return nil, errFake
}

func (f *fakeStore) Watermark(context.Context, string, string) (pmassist.Watermark, error) {
	return pmassist.Watermark{}, errFake
}

func (f *fakeStore) ItemsIngested(context.Context, string) (int, error) { return 0, errFake }

func (f *fakeStore) ItemsPerDay(context.Context, time.Time, *time.Location) (map[string]map[pmassist.Service]int, error) {
	return nil, errFake
}

func (f *fakeStore) CreateDecision(context.Context, *pmassist.Decision) error { return errFake }

func (f *fakeStore) ListDecisions(context.Context, pmassist.DecisionFilter) ([]*pmassist.Decision, string, error) {
	return nil, "", errFake
}

func (f *fakeStore) UpdateDecision(context.Context, string, pmassist.DecisionUpdate) (*pmassist.Decision, error) {
	return nil, errFake
}

func (f *fakeStore) DeleteDecision(context.Context, string) error { return errFake }

func (f *fakeStore) UpsertDetected(context.Context, *pmassist.Decision) (*pmassist.Decision, bool, error) {
	return nil, false, errFake
}

func (f *fakeStore) UpsertDetectedMany(context.Context, []*pmassist.Decision) ([]string, error) {
	return nil, errFake
}

func (f *fakeStore) FindDecisionByThread(context.Context, string) (*pmassist.Decision, error) {
	return nil, errFake
}

// snapshot copies a collection in key order, as a walk reads it.
func snapshot[T any](f *fakeStore, m map[string]*T) []*T {
	f.mu.Lock()
	defer f.mu.Unlock()
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	all := make([]*T, len(keys))
	for i, k := range keys {
		c := *m[k]
		all[i] = &c
	}
	return all
}

func walkPages[T any](ctx context.Context, all []*T, pageSize int, fn func([]*T) error) error {
	for len(all) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := min(pageSize, len(all))
		if err := fn(all[:n]); err != nil {
			return err
		}
		all = all[n:]
	}
	return nil
}

// WalkItems reads the items and then, when there is a gate, waits for it:
// what changes meanwhile is not in the walk.
func (f *fakeStore) WalkItems(ctx context.Context, pageSize int, fn func([]*pmassist.Item) error) error {
	all := snapshot(f, f.items)
	f.mu.Lock()
	f.walks++
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return walkPages(ctx, all, pageSize, fn)
}

func (f *fakeStore) WalkDecisions(ctx context.Context, pageSize int, fn func([]*pmassist.Decision) error) error {
	return walkPages(ctx, snapshot(f, f.decisions), pageSize, fn)
}

func (f *fakeStore) DataVersion() (string, uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fileID, f.tx, nil
}

var _ interface {
	pmassist.ItemService
	pmassist.DecisionService
	pmassist.ItemWalker
} = (*fakeStore)(nil)

// openIndex opens an index of f in dir, closed at the end of the test.
func openIndex(tb testing.TB, dir string, f *fakeStore, tweak ...func(*Options)) *Index {
	tb.Helper()
	o := Options{
		Dir:        dir,
		Items:      f,
		Decisions:  f,
		Walker:     f,
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		FlushEvery: 5 * time.Millisecond,
	}
	for _, fn := range tweak {
		fn(&o)
	}
	ix, err := Open(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = ix.Close() })
	return ix
}

// openReady opens an index and waits for it to be ready.
func openReady(tb testing.TB, dir string, f *fakeStore, tweak ...func(*Options)) *Index {
	tb.Helper()
	ix := openIndex(tb, dir, f, tweak...)
	waitIdle(tb, ix)
	return ix
}

func waitIdle(tb testing.TB, ix *Index) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := ix.WaitIdle(ctx); err != nil {
		tb.Fatalf("WaitIdle: %v", err)
	}
	if st := ix.IndexState(); st.State != StateReady {
		tb.Fatalf("state %q after WaitIdle, want ready", st.State)
	}
}

func tenantCtx(tenantID string) context.Context {
	return pmassist.NewContextWithTenant(context.Background(), tenantID)
}

var t0 = time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)

// msg is a Slack message of a tenant.
func msg(tenantID, id, text string, at time.Time) *pmassist.Item {
	return &pmassist.Item{
		ID: id, TenantID: tenantID, Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack,
		ExternalID: "C01:" + id, URL: "https://slack.test/" + id, Text: text,
		Author:  pmassist.Person{Name: "Ada Lovelace", Email: "ada@acme.test"},
		Channel: "eng", CreatedAt: at,
	}
}

// add stores items and queues them, as the app does after a commit.
func add(f *fakeStore, ix *Index, items ...*pmassist.Item) {
	for _, it := range items {
		f.putItem(it)
		ix.QueueItems(tenantCtx(it.TenantID), it.ID)
	}
}

func mustSearch(tb testing.TB, ix *Index, tenantID string, q pmassist.SearchQuery) *pmassist.SearchResults {
	tb.Helper()
	res, err := ix.Search(tenantCtx(tenantID), q)
	if err != nil {
		tb.Fatalf("Search(%+v): %v", q, err)
	}
	return res
}

func resultIDs(res *pmassist.SearchResults) []string {
	ids := make([]string, len(res.Results))
	for i, r := range res.Results {
		ids[i] = r.ID
	}
	return ids
}

func searchIDs(tb testing.TB, ix *Index, tenantID string, q pmassist.SearchQuery) []string {
	tb.Helper()
	return resultIDs(mustSearch(tb, ix, tenantID, q))
}

func sortedIDs(tb testing.TB, ix *Index, tenantID string, q pmassist.SearchQuery) []string {
	tb.Helper()
	ids := searchIDs(tb, ix, tenantID, q)
	sort.Strings(ids)
	return ids
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func wantIDs(tb testing.TB, ix *Index, tenantID string, q pmassist.SearchQuery, want ...string) {
	tb.Helper()
	got := sortedIDs(tb, ix, tenantID, q)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if !equal(got, w) {
		tb.Errorf("Search(%+v) = %v, want %v", q, got, w)
	}
}

func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := pmassist.ErrorCode(err); got != code {
		tb.Errorf("error %v: code %q, want %q", err, got, code)
	}
}

func (f *fakeStore) DecisionsVersion(ctx context.Context) (uint64, error) {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return 0, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tx, nil
}
