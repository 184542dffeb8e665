package workflows

import (
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/jonboulle/clockwork"
	"github.com/pmassist/pmassist"
)

// SchedulerConfig wires a Scheduler.
type SchedulerConfig struct {
	Ingestor    *Ingestor
	Connections pmassist.ConnectionService
	Configs     pmassist.TenantConfigService
	Tenants     pmassist.TenantService
	Logger      *slog.Logger
	Now         func() time.Time
	// MaxJitter bounds the random delay of a schedule's first run, so that
	// a hundred tenants do not all start at once (default 5 minutes, and
	// never more than the interval).
	MaxJitter time.Duration
	// Unit is the length of a configured "minute" (tests shorten it).
	Unit time.Duration
	// Standups, when set, gets one daily job per tenant with scheduled
	// standups enabled (a pro/enterprise feature) at the tenant's time,
	// weekdays and timezone.
	Standups pmassist.StandupGenerator
	// Clock drives the schedules (tests pass a fake one); nil: real time.
	Clock clockwork.Clock
}

// Scheduler keeps one gocron job per connection of every active tenant,
// running that connection's ingestion at the tenant's interval. A run that
// is still going when the next is due is rescheduled, never overlapped.
type Scheduler struct {
	cfg SchedulerConfig
	s   gocron.Scheduler

	mu       sync.Mutex
	entries  map[string]entry        // connection id → its schedule
	standups map[string]standupEntry // tenant id → its standup schedule
	started  bool
}

type standupEntry struct {
	id   uuid.UUID
	spec string // the cron line, with its CRON_TZ
}

type entry struct {
	id       uuid.UUID
	interval time.Duration
}

var _ pmassist.Planner = (*Scheduler)(nil)

// NewScheduler builds a scheduler; Start plans and starts it.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxJitter == 0 {
		cfg.MaxJitter = 5 * time.Minute
	}
	if cfg.Unit == 0 {
		cfg.Unit = time.Minute
	}
	opts := []gocron.SchedulerOption{gocron.WithStopTimeout(30 * time.Second)}
	if cfg.Clock != nil {
		opts = append(opts, gocron.WithClock(cfg.Clock))
	}
	s, err := gocron.NewScheduler(opts...)
	if err != nil {
		return nil, err
	}
	return &Scheduler{cfg: cfg, s: s, entries: map[string]entry{}, standups: map[string]standupEntry{}}, nil
}

// Start plans every schedule and starts running them.
func (sc *Scheduler) Start(ctx context.Context) error {
	if err := sc.Replan(ctx); err != nil {
		return err
	}
	sc.s.Start()
	sc.mu.Lock()
	sc.started = true
	sc.mu.Unlock()
	return nil
}

// Running reports whether the scheduler has started (for /readyz).
func (sc *Scheduler) Running() bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return sc.started
}

// Jobs reports how many schedules exist.
func (sc *Scheduler) Jobs() int {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	return len(sc.entries)
}

// Intervals reports each connection's planned interval (for tests and the
// operator console).
func (sc *Scheduler) Intervals() map[string]time.Duration {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	out := make(map[string]time.Duration, len(sc.entries))
	for id, e := range sc.entries {
		out[id] = e.interval
	}
	return out
}

// Shutdown stops the schedules; running jobs are stopped by the
// ingestor's Close.
func (sc *Scheduler) Shutdown() error {
	sc.mu.Lock()
	sc.started = false
	sc.mu.Unlock()
	return sc.s.Shutdown()
}

// Replan brings the schedules in line with the connections and settings:
// new connections get a schedule, removed ones, suspended tenants' and
// connections needing reconnection lose theirs, changed intervals are
// updated.
func (sc *Scheduler) Replan(ctx context.Context) error {
	conns, err := sc.cfg.Connections.ListAllConnections(ctx)
	if err != nil {
		return err
	}
	want := map[string]time.Duration{}
	tenantOf := map[string]string{}
	intervals := map[string]time.Duration{} // per tenant
	for _, c := range conns {
		if c.Status == pmassist.ConnectionNeedsReauth || c.Paused {
			continue
		}
		iv, ok := intervals[c.TenantID]
		if !ok {
			iv, err = sc.tenantInterval(ctx, c.TenantID)
			if err != nil {
				return err
			}
			intervals[c.TenantID] = iv
		}
		if iv > 0 {
			want[c.ID], tenantOf[c.ID] = iv, c.TenantID
		}
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for id, e := range sc.entries {
		if iv, ok := want[id]; !ok || iv != e.interval {
			if err := sc.s.RemoveJob(e.id); err != nil {
				sc.cfg.Logger.Warn("removing a schedule failed", "connection_id", id, "error", err)
			}
			delete(sc.entries, id)
		}
	}
	for id, iv := range want {
		if _, ok := sc.entries[id]; ok {
			continue
		}
		connID, tenantID := id, tenantOf[id]
		job, err := sc.s.NewJob(
			gocron.DurationJob(iv),
			gocron.NewTask(func() { sc.run(tenantID, connID) }),
			gocron.WithName("ingest "+connID),
			gocron.WithTags(tenantID),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
			// A second's margin keeps the start in the future by the time
			// gocron checks it (it refuses past start times).
			gocron.WithStartAt(gocron.WithStartDateTime(sc.cfg.Now().Add(time.Second+jitter(connID, min(sc.cfg.MaxJitter, iv))))),
		)
		if err != nil {
			return err
		}
		sc.entries[id] = entry{id: job.ID(), interval: iv}
	}
	if sc.cfg.Standups != nil {
		return sc.replanStandups(ctx)
	}
	return nil
}

// replanStandups keeps one cron job per tenant whose standups are
// scheduled. The cron line carries the tenant's timezone (CRON_TZ), so the
// standup keeps its local time across DST changes; a changed time, day or
// zone replaces the job.
func (sc *Scheduler) replanStandups(ctx context.Context) error {
	tenants, err := sc.cfg.Tenants.ListTenants(ctx)
	if err != nil {
		return err
	}
	want := map[string]string{}
	for _, t := range tenants {
		if t.Suspended || !pmassist.PlanFor(t.Tier).Has(pmassist.FeatureScheduledWorkflows) {
			continue
		}
		cfg, err := sc.cfg.Configs.TenantConfig(pmassist.NewContextWithTenant(ctx, t.ID))
		if err != nil {
			return err
		}
		if spec := StandupCron(cfg); spec != "" {
			want[t.ID] = spec
		}
	}
	for tid, e := range sc.standups {
		if spec, ok := want[tid]; !ok || spec != e.spec {
			if err := sc.s.RemoveJob(e.id); err != nil {
				sc.cfg.Logger.Warn("removing a standup schedule failed", "tenant_id", tid, "error", err)
			}
			delete(sc.standups, tid)
		}
	}
	for tid, spec := range want {
		if _, ok := sc.standups[tid]; ok {
			continue
		}
		tenantID := tid
		job, err := sc.s.NewJob(gocron.CronJob(spec, false),
			gocron.NewTask(func() { sc.runStandup(tenantID) }),
			gocron.WithName("standup "+tenantID), gocron.WithTags(tenantID),
			gocron.WithSingletonMode(gocron.LimitModeReschedule))
		if err != nil {
			return err
		}
		sc.standups[tid] = standupEntry{id: job.ID(), spec: spec}
	}
	return nil
}

// StandupCron is a tenant's standup schedule as a cron line, or "" when
// scheduled standups are off or have no weekday.
func StandupCron(cfg pmassist.TenantConfig) string {
	if !cfg.Standup.Enabled || len(cfg.Standup.Weekdays) == 0 {
		return ""
	}
	var hour, minute int
	if _, err := fmt.Sscanf(cfg.Standup.Time, "%d:%d", &hour, &minute); err != nil {
		return ""
	}
	days := make([]string, 0, len(cfg.Standup.Weekdays))
	for _, d := range cfg.Standup.Weekdays {
		days = append(days, strconv.Itoa(d%7)) // cron: 0 = Sunday
	}
	return fmt.Sprintf("CRON_TZ=%s %d %d * * %s", cfg.Location().String(), minute, hour, strings.Join(days, ","))
}

// StandupSchedules reports each tenant's standup cron line.
func (sc *Scheduler) StandupSchedules() map[string]string {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	out := make(map[string]string, len(sc.standups))
	for tid, e := range sc.standups {
		out[tid] = e.spec
	}
	return out
}

func (sc *Scheduler) runStandup(tenantID string) {
	ctx := pmassist.NewContextWithTenant(context.Background(), tenantID)
	if _, err := sc.cfg.Standups.Generate(ctx, "", true); err != nil {
		sc.cfg.Logger.Warn("scheduled standup failed", "tenant_id", tenantID, "error", err)
	}
}

// tenantInterval is a tenant's ingestion interval, or 0 when its schedules
// are stopped (suspended).
func (sc *Scheduler) tenantInterval(ctx context.Context, tenantID string) (time.Duration, error) {
	t, err := sc.cfg.Tenants.FindTenantByID(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	if t.Suspended {
		return 0, nil
	}
	cfg, err := sc.cfg.Configs.TenantConfig(pmassist.NewContextWithTenant(ctx, tenantID))
	if err != nil {
		return 0, err
	}
	minutes := cfg.IngestionIntervalMinutes
	if minutes <= 0 {
		minutes = pmassist.DefaultIngestionInterval
	}
	return time.Duration(minutes) * sc.cfg.Unit, nil
}

func (sc *Scheduler) run(tenantID, connID string) {
	ctx := pmassist.NewContextWithTenant(context.Background(), tenantID)
	if _, err := sc.cfg.Ingestor.Run(ctx, connID, pmassist.TriggerSchedule); err != nil && pmassist.ErrorCode(err) != pmassist.ECONFLICT {
		sc.cfg.Logger.Warn("scheduled ingestion could not start", "tenant_id", tenantID, "connection_id", connID, "error", err)
	}
}

// jitter spreads first runs deterministically over [0, max) by connection.
func jitter(id string, maxJitter time.Duration) time.Duration {
	if maxJitter <= 0 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(id))
	return time.Duration(h.Sum64() % uint64(maxJitter))
}
