package workflows

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/store"
)

// world is a real store with one tenant and one connection.
type world struct {
	db     *store.DB
	ctx    context.Context
	tenant *pmassist.Tenant
	conn   *pmassist.Connection
}

func newWorld(t *testing.T, tier pmassist.Tier) *world {
	t.Helper()
	keys, err := store.GenerateKeyring()
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(filepath.Join(t.TempDir(), "pmassist.db"), store.Options{NoSync: true, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	w := &world{db: db, tenant: &pmassist.Tenant{Name: "Acme", Tier: tier}}
	if err := db.CreateTenant(context.Background(), w.tenant, &pmassist.User{Email: "op@acme.test", Name: "Op", PasswordHash: "x"}); err != nil {
		t.Fatal(err)
	}
	w.ctx = pmassist.NewContextWithTenant(context.Background(), w.tenant.ID)
	w.conn = w.connect(t, "T1")
	return w
}

func (w *world) connect(t *testing.T, workspace string) *pmassist.Connection {
	t.Helper()
	c := &pmassist.Connection{Service: pmassist.ServiceSlack, WorkspaceID: workspace, WorkspaceName: workspace}
	if _, err := w.db.SaveConnection(w.ctx, c, pmassist.Token{AccessToken: "xoxb-test"}); err != nil {
		t.Fatal(err)
	}
	return c
}

// pagedSource serves a fixed set of messages in pages, newest watermark on
// the last page, like the real clients: only messages after the stored
// watermark are emitted.
type pagedSource struct {
	mu       sync.Mutex
	messages []int // message numbers; the watermark is the highest seen
	pageSize int
	// gate, when set, blocks each page until a value arrives.
	gate    chan struct{}
	fail    error
	running atomic.Int32
	maxRun  atomic.Int32
	fetches atomic.Int32
}

func (s *pagedSource) Fetch(ctx context.Context, req pmassist.FetchRequest) error {
	n := s.running.Add(1)
	defer s.running.Add(-1)
	for {
		m := s.maxRun.Load()
		if n <= m || s.maxRun.CompareAndSwap(m, n) {
			break
		}
	}
	s.fetches.Add(1)
	if s.fail != nil {
		return s.fail
	}
	wm, err := req.Watermark(ctx, "channel:C1")
	if err != nil {
		return err
	}
	var after int
	fmt.Sscan(wm.Value, &after)
	s.mu.Lock()
	var todo []int
	for _, m := range s.messages {
		if m > after {
			todo = append(todo, m)
		}
	}
	s.mu.Unlock()
	sort.Ints(todo)
	for i := 0; i < len(todo); i += s.pageSize {
		if s.gate != nil {
			select {
			case <-s.gate:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		page := pmassist.SourcePage{}
		end := min(i+s.pageSize, len(todo))
		for _, m := range todo[i:end] {
			page.Items = append(page.Items, &pmassist.Item{Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack,
				ExternalID: fmt.Sprintf("C1:%d", m), Text: fmt.Sprintf("message %d", m), Channel: "eng", ChannelID: "C1",
				CreatedAt: time.Unix(int64(1_700_000_000+m), 0).UTC()})
		}
		if end == len(todo) {
			page.Watermark = &pmassist.Watermark{ConnectionID: req.Connection.ID, Resource: "channel:C1", Value: fmt.Sprint(todo[end-1])}
		}
		if err := req.Emit(ctx, page); err != nil {
			return err
		}
	}
	return nil
}

func (s *pagedSource) add(ms ...int) {
	s.mu.Lock()
	s.messages = append(s.messages, ms...)
	s.mu.Unlock()
}

func seq(from, to int) []int {
	var out []int
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func (w *world) ingestor(src pmassist.Source) *Ingestor {
	return NewIngestor(IngestorConfig{Connections: w.db, Items: w.db, Jobs: w.db, Configs: w.db, Tenants: w.db,
		Sources: map[pmassist.Service]pmassist.Source{pmassist.ServiceSlack: src}})
}

// storedIDs lists the external ids stored, sorted.
func (w *world) storedIDs(t *testing.T) []string {
	t.Helper()
	var ids []string
	cursor := ""
	for {
		items, next, err := w.db.ListItems(w.ctx, pmassist.ItemFilter{Limit: 200, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range items {
			ids = append(ids, it.ExternalID)
		}
		if next == "" {
			break
		}
		cursor = next
	}
	sort.Strings(ids)
	return ids
}

func expectIDs(t *testing.T, got []string, nums []int) {
	t.Helper()
	var want []string
	for _, n := range nums {
		want = append(want, fmt.Sprintf("C1:%d", n))
	}
	sort.Strings(want)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stored %d ids %v…, want %d", len(got), head(got), len(want))
	}
}

func head(s []string) []string { return s[:min(len(s), 5)] }

func TestRunIsIdempotentAndIncremental(t *testing.T) {
	w := newWorld(t, pmassist.TierEnterprise)
	src := &pagedSource{messages: seq(1, 45), pageSize: 10}
	in := w.ingestor(src)
	defer in.Close()
	job, err := in.Run(w.ctx, w.conn.ID, pmassist.TriggerManual)
	if err != nil || job.Status != pmassist.JobSucceeded || job.ItemsNew != 45 || job.FinishedAt == nil {
		t.Fatalf("first run: %+v %v", job, err)
	}
	expectIDs(t, w.storedIDs(t), seq(1, 45))
	job, _ = in.Run(w.ctx, w.conn.ID, pmassist.TriggerSchedule)
	if job.Status != pmassist.JobSucceeded || job.ItemsNew != 0 || job.ItemsUpdated != 0 {
		t.Fatalf("second run: %+v", job)
	}
	src.add(46, 47)
	job, _ = in.Run(w.ctx, w.conn.ID, pmassist.TriggerSchedule)
	if job.ItemsNew != 2 {
		t.Fatalf("third run: %+v", job)
	}
	expectIDs(t, w.storedIDs(t), seq(1, 47))
	c, _ := w.db.FindConnection(w.ctx, w.conn.ID)
	if c.LastSyncAt == nil || c.LastError != "" {
		t.Fatalf("connection after sync: %+v", c)
	}
}

func TestInterruptedRunResumesWithoutGapOrDuplicate(t *testing.T) {
	w := newWorld(t, pmassist.TierEnterprise)
	src := &pagedSource{messages: seq(1, 50), pageSize: 10, gate: make(chan struct{})}
	in := w.ingestor(src)
	ctx, cancel := context.WithCancel(w.ctx)
	done := make(chan *pmassist.Job)
	go func() {
		j, _ := in.Run(ctx, w.conn.ID, pmassist.TriggerManual)
		done <- j
	}()
	src.gate <- struct{}{}
	src.gate <- struct{}{}
	// Two pages are stored; the third waits at the gate. Stop it there.
	deadline := time.Now().Add(5 * time.Second)
	for len(w.storedIDs(t)) < 20 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	job := <-done
	if job.Status != pmassist.JobFailed || job.ItemsNew != 20 {
		t.Fatalf("interrupted job: %+v", job)
	}
	if wm, _ := w.db.Watermark(w.ctx, w.conn.ID, "channel:C1"); wm.Value != "" {
		t.Fatalf("watermark advanced without its data: %+v", wm)
	}
	src.gate = nil
	job, _ = in.Run(w.ctx, w.conn.ID, pmassist.TriggerManual)
	if job.Status != pmassist.JobSucceeded || job.ItemsNew != 30 || job.ItemsUpdated != 20 {
		t.Fatalf("resumed job: %+v", job)
	}
	expectIDs(t, w.storedIDs(t), seq(1, 50))
	in.Close()
}

func TestQuotaStopsAtExactlyTheLimit(t *testing.T) {
	w := newWorld(t, pmassist.TierFree)
	src := &pagedSource{messages: seq(1, 150), pageSize: 30}
	in := w.ingestor(src)
	defer in.Close()
	job, _ := in.Run(w.ctx, w.conn.ID, pmassist.TriggerManual)
	if job.Status != pmassist.JobPartial || job.ItemsNew != 100 || job.Error[:14] != "quota_exceeded" {
		t.Fatalf("quota job: %+v", job)
	}
	if n, _ := w.db.ItemsIngested(w.ctx, Period(time.Now(), time.UTC)); n != 100 {
		t.Fatalf("usage %d", n)
	}
	expectIDs(t, w.storedIDs(t), seq(1, 100))
	c, _ := w.db.FindConnection(w.ctx, w.conn.ID)
	if c.LastError == "" {
		t.Fatal("the quota stop is not visible on the connection")
	}
}

func TestStartNeverRunsAConnectionTwice(t *testing.T) {
	w := newWorld(t, pmassist.TierEnterprise)
	src := &pagedSource{messages: seq(1, 20), pageSize: 10, gate: make(chan struct{})}
	in := w.ingestor(src)
	first, started, err := in.Start(w.ctx, w.conn.ID, pmassist.TriggerManual)
	if err != nil || !started {
		t.Fatalf("start: %v %v", started, err)
	}
	second, started, err := in.Start(w.ctx, w.conn.ID, pmassist.TriggerManual)
	if err != nil || started || second.ID != first.ID {
		t.Fatalf("second start: %+v %v %v", second, started, err)
	}
	if j, _ := in.Run(w.ctx, w.conn.ID, pmassist.TriggerSchedule); j.ID != first.ID {
		t.Fatal("a scheduled run overlapped a manual one")
	}
	close(src.gate)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if j, _ := w.db.FindJob(w.ctx, first.ID); j.Finished() {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	in.Close()
	if src.maxRun.Load() != 1 || src.fetches.Load() != 1 {
		t.Fatalf("fetches %d, concurrent %d", src.fetches.Load(), src.maxRun.Load())
	}
	j, _ := w.db.FindJob(w.ctx, first.ID)
	if j.Status != pmassist.JobSucceeded || j.ItemsNew != 20 {
		t.Fatalf("job: %+v", j)
	}
}

func TestRevokedTokenNeedsReauth(t *testing.T) {
	w := newWorld(t, pmassist.TierEnterprise)
	src := &pagedSource{fail: pmassist.Errorf(pmassist.EUNAUTHORIZED, "Slack: token_revoked")}
	in := w.ingestor(src)
	defer in.Close()
	job, _ := in.Run(w.ctx, w.conn.ID, pmassist.TriggerManual)
	if job.Status != pmassist.JobFailed || job.Error != "Slack: token_revoked" {
		t.Fatalf("job: %+v", job)
	}
	c, _ := w.db.FindConnection(w.ctx, w.conn.ID)
	if c.Status != pmassist.ConnectionNeedsReauth || c.LastError == "" {
		t.Fatalf("connection: %+v", c)
	}
	job, _ = in.Run(w.ctx, w.conn.ID, pmassist.TriggerSchedule)
	if job.Status != pmassist.JobFailed || src.fetches.Load() != 1 {
		t.Fatalf("a connection needing reconnection was fetched again: %+v", job)
	}
}

func TestSchedulerFollowsConnectionsAndNeverOverlaps(t *testing.T) {
	w := newWorld(t, pmassist.TierEnterprise)
	src := &pagedSource{messages: seq(1, 5), pageSize: 5}
	in := w.ingestor(src)
	sc, err := NewScheduler(SchedulerConfig{Ingestor: in, Connections: w.db, Configs: w.db, Tenants: w.db,
		Unit: 20 * time.Millisecond, MaxJitter: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sc.Jobs() != 1 || !sc.Running() {
		t.Fatalf("jobs %d", sc.Jobs())
	}
	other := w.connect(t, "T2")
	if err := sc.Replan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sc.Jobs() != 2 {
		t.Fatalf("after connect: %d", sc.Jobs())
	}
	cfg, _ := w.db.TenantConfig(w.ctx)
	cfg.IngestionIntervalMinutes = 7
	if err := w.db.PutTenantConfig(w.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := sc.Replan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if iv := sc.Intervals()[other.ID]; iv != 7*20*time.Millisecond {
		t.Fatalf("interval %v", iv)
	}
	// Runs happen on schedule, each connection one at a time.
	deadline := time.Now().Add(5 * time.Second)
	for src.fetches.Load() < 6 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if src.fetches.Load() < 6 {
		t.Fatalf("only %d scheduled fetches", src.fetches.Load())
	}
	if err := w.db.DeleteConnection(w.ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if err := sc.Replan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sc.Jobs() != 1 {
		t.Fatalf("after disconnect: %d", sc.Jobs())
	}
	suspended := true
	if _, err := w.db.UpdateTenant(context.Background(), w.tenant.ID, pmassist.TenantUpdate{Suspended: &suspended}); err != nil {
		t.Fatal(err)
	}
	if err := sc.Replan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sc.Jobs() != 0 {
		t.Fatalf("suspended tenant keeps %d schedules", sc.Jobs())
	}
	if err := sc.Shutdown(); err != nil {
		t.Fatal(err)
	}
	in.Close()
	jobs, _, _ := w.db.ListJobs(w.ctx, pmassist.JobFilter{Limit: 200})
	if len(jobs) == 0 || jobs[0].Trigger != pmassist.TriggerSchedule {
		t.Fatalf("jobs: %d", len(jobs))
	}
}

// stubVerifier accepts deliveries signed "good".
type stubVerifier struct{}

func (stubVerifier) VerifyWebhook(ctx context.Context, service pmassist.Service, recv pmassist.WebhookReceiver, h http.Header, body []byte, now time.Time) (*pmassist.WebhookDelivery, error) {
	if h.Get("Sig") != "good" {
		return nil, pmassist.Errorf(pmassist.EUNAUTHORIZED, "bad signature")
	}
	return recv.Parse(h, body)
}

type stubReceiver struct{ d *pmassist.WebhookDelivery }

func (r stubReceiver) Verify(http.Header, []byte, string, time.Time) error { return nil }
func (r stubReceiver) Parse(http.Header, []byte) (*pmassist.WebhookDelivery, error) {
	c := *r.d
	c.Items = cloneItems(r.d.Items)
	return &c, nil
}

func TestWebhooksApplyOnceAndMerge(t *testing.T) {
	w := newWorld(t, pmassist.TierEnterprise)
	src := &pagedSource{messages: seq(1, 3), pageSize: 10}
	in := w.ingestor(src)
	defer in.Close()
	if _, err := in.Run(w.ctx, w.conn.ID, pmassist.TriggerManual); err != nil {
		t.Fatal(err)
	}
	stored, _ := w.db.FindItemByExternalID(w.ctx, pmassist.ServiceSlack, "C1:2")
	stored.Author = pmassist.Person{Name: "Ada", Email: "ada@acme.test"}
	if _, err := w.db.UpsertItems(w.ctx, []*pmassist.Item{stored}, nil, "2026-11", -1); err != nil {
		t.Fatal(err)
	}
	edit := &pmassist.WebhookDelivery{ID: "Ev1", WorkspaceID: "T1", Items: []*pmassist.Item{{Type: pmassist.ItemMessage,
		Service: pmassist.ServiceSlack, ExternalID: "C1:2", ChannelID: "C1", Text: "message 2, edited"}}}
	wh := NewWebhooks(WebhooksConfig{Ingestor: in, Verifier: stubVerifier{}, Deliveries: w.db, Connections: w.db, Configs: w.db,
		Receivers: map[pmassist.Service]pmassist.WebhookReceiver{pmassist.ServiceSlack: stubReceiver{edit}}})
	good := http.Header{"Sig": {"good"}}
	if _, err := wh.Receive(context.Background(), pmassist.ServiceSlack, http.Header{"Sig": {"bad"}}, nil); pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED {
		t.Fatalf("bad signature: %v", err)
	}
	res, err := wh.Receive(context.Background(), pmassist.ServiceSlack, good, nil)
	if err != nil || res.Routed != 1 || res.Duplicate {
		t.Fatalf("first delivery: %+v %v", res, err)
	}
	it, _ := w.db.FindItemByExternalID(w.ctx, pmassist.ServiceSlack, "C1:2")
	if it.Text != "message 2, edited" || it.Author.Name != "Ada" || it.Channel != "eng" {
		t.Fatalf("merged item: %+v", it)
	}
	if res, _ := wh.Receive(context.Background(), pmassist.ServiceSlack, good, nil); !res.Duplicate {
		t.Fatal("a repeated delivery was applied again")
	}
	jobs, _, _ := w.db.ListJobs(w.ctx, pmassist.JobFilter{Limit: 10})
	webhookJobs := 0
	for _, j := range jobs {
		if j.Trigger == pmassist.TriggerWebhook {
			webhookJobs++
			if j.ItemsUpdated != 1 || j.Status != pmassist.JobSucceeded {
				t.Fatalf("webhook job: %+v", j)
			}
		}
	}
	if webhookJobs != 1 {
		t.Fatalf("%d webhook jobs", webhookJobs)
	}
	// A workspace nobody connected is acknowledged and ignored.
	edit.ID, edit.WorkspaceID = "Ev2", "T-unknown"
	if res, err := wh.Receive(context.Background(), pmassist.ServiceSlack, good, nil); err != nil || res.Routed != 0 {
		t.Fatalf("unknown workspace: %+v %v", res, err)
	}
}
