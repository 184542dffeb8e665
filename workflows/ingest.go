// Package workflows runs PM Assistant's background work: ingestion jobs
// (fetch, store, advance watermarks), their gocron schedule, and the
// application of webhook deliveries. It depends on the domain's interfaces
// only; cmd/pmassist wires in the store and the provider clients.
package workflows

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pmassist/pmassist"
)

// IngestorConfig wires an Ingestor.
type IngestorConfig struct {
	Connections pmassist.ConnectionService
	Items       pmassist.ItemService
	Jobs        pmassist.JobService
	Configs     pmassist.TenantConfigService
	Tenants     pmassist.TenantService
	Sources     map[pmassist.Service]pmassist.Source
	// AfterStore is told about every page of items once it is committed
	// (decision detection, the search index); its errors are logged, they
	// do not fail the job: the items are stored.
	AfterStore func(ctx context.Context, items []*pmassist.Item)
	// OnJobFinished, optional, is told about every job once its end is
	// recorded: runs and applied webhooks alike (metrics).
	OnJobFinished func(job *pmassist.Job)
	Now           func() time.Time
	Logger        *slog.Logger
}

// Ingestor runs ingestion jobs, never two of one connection at once.
type Ingestor struct {
	cfg    IngestorConfig
	now    func() time.Time
	logger *slog.Logger

	ctx    context.Context // ends at Close: running jobs stop at a safe point
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	running map[string]string // connection id → job id
	// channels remembers channel names seen by runs (connection id +
	// channel id → name) for webhook events, which carry only the id.
	channels map[string]string
}

var _ pmassist.IngestionService = (*Ingestor)(nil)

// NewIngestor returns an Ingestor; Close stops it.
func NewIngestor(cfg IngestorConfig) *Ingestor {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Ingestor{cfg: cfg, now: func() time.Time { return cfg.Now().UTC() }, logger: cfg.Logger,
		ctx: ctx, cancel: cancel, running: map[string]string{}, channels: map[string]string{}}
}

// Close stops running jobs at their next safe point (between pages) and
// waits for them.
func (in *Ingestor) Close() {
	in.cancel()
	in.wg.Wait()
}

// errQuota stops a fetch when the tenant's monthly item limit is reached.
var errQuota = errors.New("quota reached")

// claim reserves a connection for a new job; it returns the running job's
// id when there is one.
func (in *Ingestor) claim(ctx context.Context, connID string) (string, bool, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if id, ok := in.running[connID]; ok {
		return id, false, nil
	}
	if j, err := in.cfg.Jobs.ActiveJob(ctx, connID); err == nil {
		return j.ID, false, nil
	} else if pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
		return "", false, err
	}
	in.running[connID] = ""
	return "", true, nil
}

func (in *Ingestor) release(connID string) {
	in.mu.Lock()
	delete(in.running, connID)
	in.mu.Unlock()
}

// Active returns the number of jobs queued or running now.
func (in *Ingestor) Active() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return len(in.running)
}

func (in *Ingestor) finished(job *pmassist.Job) {
	if in.cfg.OnJobFinished != nil {
		in.cfg.OnJobFinished(job)
	}
}

// Start queues a run in the background; see pmassist.IngestionService.
func (in *Ingestor) Start(ctx context.Context, connID, trigger string) (*pmassist.Job, bool, error) {
	job, started, err := in.begin(ctx, connID, trigger)
	if err != nil || !started {
		return job, false, err
	}
	tenantID := job.TenantID
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		in.execute(pmassist.NewContextWithTenant(in.ctx, tenantID), job)
	}()
	return job, true, nil
}

// Run runs a connection's ingestion now and returns when it ends (the
// scheduler's task). When a run is already going, it returns that job.
func (in *Ingestor) Run(ctx context.Context, connID, trigger string) (*pmassist.Job, error) {
	job, started, err := in.begin(ctx, connID, trigger)
	if err != nil || !started {
		return job, err
	}
	in.wg.Add(1)
	defer in.wg.Done()
	// Stop with the ingestor as well as with ctx.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(in.ctx, cancel)
	defer stop()
	return in.execute(runCtx, job), nil
}

// begin records a queued job unless one of the connection is active.
func (in *Ingestor) begin(ctx context.Context, connID, trigger string) (*pmassist.Job, bool, error) {
	conn, err := in.cfg.Connections.FindConnection(ctx, connID)
	if err != nil {
		return nil, false, err
	}
	if conn.Paused {
		return nil, false, errPaused(conn)
	}
	active, ok, err := in.claim(ctx, connID)
	if err != nil {
		return nil, false, err
	}
	if !ok {
		if active == "" {
			// Claimed by a run that is creating its job right now.
			return nil, false, pmassist.Errorf(pmassist.ECONFLICT, "a run of this connection is starting; try again in a moment")
		}
		j, err := in.cfg.Jobs.FindJob(ctx, active)
		return j, false, err
	}
	job := &pmassist.Job{Kind: pmassist.JobIngestion, Service: conn.Service, ConnectionID: conn.ID,
		Trigger: trigger, Status: pmassist.JobQueued, CreatedAt: in.now()}
	if err := in.cfg.Jobs.CreateJob(ctx, job); err != nil {
		in.release(connID)
		return nil, false, err
	}
	in.mu.Lock()
	in.running[connID] = job.ID
	in.mu.Unlock()
	return job, true, nil
}

// execute runs a claimed job to its end and records the outcome on the job
// and the connection.
func (in *Ingestor) execute(ctx context.Context, job *pmassist.Job) *pmassist.Job {
	defer in.release(job.ConnectionID)
	started := in.now()
	running := pmassist.JobRunning
	if j, err := in.cfg.Jobs.UpdateJob(ctx, job.ID, pmassist.JobUpdate{Status: &running, StartedAt: &started}); err == nil {
		job = j
	}
	newItems, updated, runErr := in.fetch(ctx, job)
	return in.finish(job, newItems, updated, runErr)
}

func (in *Ingestor) fetch(ctx context.Context, job *pmassist.Job) (newItems, updated int, err error) {
	conn, err := in.cfg.Connections.FindConnection(ctx, job.ConnectionID)
	if err != nil {
		return 0, 0, err
	}
	if conn.Status == pmassist.ConnectionNeedsReauth {
		return 0, 0, pmassist.Errorf(pmassist.EUNAUTHORIZED, "the connection needs reconnecting")
	}
	if conn.Paused {
		return 0, 0, errPaused(conn)
	}
	src, ok := in.cfg.Sources[conn.Service]
	if !ok {
		return 0, 0, fmt.Errorf("no source for %s", conn.Service)
	}
	cfg, period, quota, err := in.limits(ctx)
	if err != nil {
		return 0, 0, err
	}
	// Fetching and storing overlap: a storer stores page n (and runs
	// detection and indexing on it) while the source fetches page n+1.
	// Pages are stored in order, each with its watermark; after a failed
	// page (an error, the quota) nothing more is stored.
	var (
		mu       sync.Mutex
		storeErr error
	)
	pages := make(chan pmassist.SourcePage, 1)
	storerDone := make(chan struct{})
	go func() {
		defer close(storerDone)
		for page := range pages {
			mu.Lock()
			failed := storeErr != nil
			mu.Unlock()
			if failed {
				continue
			}
			res, err := in.cfg.Items.UpsertItems(ctx, page.Items, page.Watermark, period, quota)
			if err == nil {
				in.afterStore(ctx, page.Items)
			}
			mu.Lock()
			newItems += res.New
			updated += res.Updated
			switch {
			case err != nil:
				storeErr = err
			case res.QuotaReached:
				storeErr = errQuota
			}
			mu.Unlock()
		}
	}()
	err = src.Fetch(ctx, pmassist.FetchRequest{
		Connection: conn, Config: cfg,
		Watermark: func(ctx context.Context, resource string) (pmassist.Watermark, error) {
			return in.cfg.Items.Watermark(ctx, conn.ID, resource)
		},
		Emit: func(ctx context.Context, page pmassist.SourcePage) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			mu.Lock()
			failed := storeErr
			mu.Unlock()
			if failed != nil {
				return failed
			}
			for _, it := range page.Items {
				it.ConnectionID = conn.ID
			}
			in.learnChannels(conn.ID, page.Items)
			select {
			case pages <- page:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		},
	})
	close(pages)
	<-storerDone
	mu.Lock()
	defer mu.Unlock()
	if storeErr != nil && (err == nil || errors.Is(err, errQuota) || errors.Is(err, storeErr)) {
		err = storeErr
	}
	return newItems, updated, err
}

// limits reads what a run needs from the tenant: its configuration, the
// usage period in its timezone, and its monthly item quota (-1: none).
func (in *Ingestor) limits(ctx context.Context) (pmassist.TenantConfig, string, int, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return pmassist.TenantConfig{}, "", 0, err
	}
	t, err := in.cfg.Tenants.FindTenantByID(ctx, tenantID)
	if err != nil {
		return pmassist.TenantConfig{}, "", 0, err
	}
	if t.Suspended {
		return pmassist.TenantConfig{}, "", 0, pmassist.Errorf(pmassist.EFORBIDDEN, "tenant suspended")
	}
	cfg, err := in.cfg.Configs.TenantConfig(ctx)
	if err != nil {
		return pmassist.TenantConfig{}, "", 0, err
	}
	return cfg, Period(in.now(), cfg.Location()), pmassist.PlanFor(t.Tier).ItemsPerMonth, nil
}

// errPaused refuses to ingest a connection paused by a downgrade.
func errPaused(c *pmassist.Connection) error {
	return pmassist.Errorf(pmassist.EPAYMENTREQUIRED, "%s %s is paused because it is over the plan's integration limit; upgrade or disconnect another integration to resume it",
		c.Service.Title(), c.WorkspaceName)
}

// Period is the usage month of a moment in a tenant's timezone.
func Period(t time.Time, loc *time.Location) string { return t.In(loc).Format("2006-01") }

// finish records a job's outcome. It uses a fresh context: the run's may
// have been cancelled by shutdown, and the outcome must still be written.
func (in *Ingestor) finish(job *pmassist.Job, newItems, updated int, runErr error) *pmassist.Job {
	ctx, cancel := context.WithTimeout(pmassist.NewContextWithTenant(context.Background(), job.TenantID), 10*time.Second)
	defer cancel()
	now := in.now()
	status, msg := pmassist.JobSucceeded, ""
	var connUpd pmassist.ConnectionUpdate
	switch {
	case runErr == nil:
		empty := ""
		connUpd.LastSyncAt, connUpd.LastError = &now, &empty
	case errors.Is(runErr, errQuota):
		status, msg = pmassist.JobPartial, "quota_exceeded: the monthly item limit of the plan is reached; ingestion resumes next month or after an upgrade"
		connUpd.LastSyncAt, connUpd.LastError = &now, &msg
	case errors.Is(runErr, context.Canceled):
		status, msg = pmassist.JobFailed, "interrupted: the appliance is shutting down; the next run resumes where this one stopped"
	default:
		msg = pmassist.ErrorMessage(runErr)
		if pmassist.ErrorCode(runErr) == pmassist.EINTERNAL {
			msg = runErr.Error()
		}
		status = pmassist.JobFailed
		if newItems+updated > 0 {
			status = pmassist.JobPartial
		}
		connUpd.LastError = &msg
		if pmassist.ErrorCode(runErr) == pmassist.EUNAUTHORIZED {
			reauth := pmassist.ConnectionNeedsReauth
			connUpd.Status = &reauth
		}
	}
	if connUpd != (pmassist.ConnectionUpdate{}) {
		if _, err := in.cfg.Connections.UpdateConnection(ctx, job.ConnectionID, connUpd); err != nil && pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
			in.logger.Error("recording the connection's sync failed", "connection_id", job.ConnectionID, "error", err)
		}
	}
	j, err := in.cfg.Jobs.UpdateJob(ctx, job.ID, pmassist.JobUpdate{Status: &status, FinishedAt: &now,
		ItemsNew: &newItems, ItemsUpdated: &updated, Error: &msg})
	if err != nil {
		in.logger.Error("recording the job's end failed", "job_id", job.ID, "error", err)
		return job
	}
	level := slog.LevelInfo
	if status != pmassist.JobSucceeded {
		level = slog.LevelWarn
	}
	in.logger.Log(ctx, level, "ingestion job ended", "job_id", j.ID, "tenant_id", j.TenantID, "connection_id", j.ConnectionID,
		"service", j.Service, "trigger", j.Trigger, "status", status, "items_new", newItems, "items_updated", updated, "error", msg)
	in.finished(j)
	return j
}

func (in *Ingestor) learnChannels(connID string, items []*pmassist.Item) {
	in.mu.Lock()
	defer in.mu.Unlock()
	for _, it := range items {
		if it.ChannelID != "" && it.Channel != "" && len(in.channels) < 100_000 {
			in.channels[connID+"\x00"+it.ChannelID] = it.Channel
		}
	}
}

func (in *Ingestor) channelName(connID, channelID string) string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.channels[connID+"\x00"+channelID]
}

// afterStore hands stored items on (those the quota kept out have no id).
func (in *Ingestor) afterStore(ctx context.Context, items []*pmassist.Item) {
	if in.cfg.AfterStore == nil {
		return
	}
	stored := make([]*pmassist.Item, 0, len(items))
	for _, it := range items {
		if it.ID != "" {
			stored = append(stored, it)
		}
	}
	if len(stored) > 0 {
		in.cfg.AfterStore(ctx, stored)
	}
}
