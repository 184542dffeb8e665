package workflows

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/pmassist/pmassist"
)

// countingStandups records scheduled generations.
type countingStandups struct{ runs atomic.Int32 }

func (c *countingStandups) Generate(ctx context.Context, date string, deliver bool) (*pmassist.Standup, error) {
	if date != "" || !deliver {
		return nil, pmassist.Errorf(pmassist.EINVALID, "a scheduled standup is the default date, delivered")
	}
	c.runs.Add(1)
	return &pmassist.Standup{}, nil
}

func (c *countingStandups) Deliver(ctx context.Context, id string) (*pmassist.Standup, error) {
	return nil, nil
}

func TestStandupScheduleFiresOnceAndMovesWithSettings(t *testing.T) {
	w := newWorld(t, pmassist.TierPro)
	clock := clockwork.NewFakeClockAt(time.Date(2026, 11, 3, 8, 59, 30, 0, time.UTC)) // a Tuesday
	gen := &countingStandups{}
	in := w.ingestor(&pagedSource{pageSize: 10})
	defer in.Close()
	sc, err := NewScheduler(SchedulerConfig{Ingestor: in, Connections: w.db, Configs: w.db, Tenants: w.db,
		Standups: gen, Clock: clock, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := w.db.TenantConfig(w.ctx)
	cfg.Timezone = "Europe/Berlin" // 10:00 in Berlin is 09:00 UTC in November
	cfg.Standup = pmassist.StandupConfig{Enabled: true, Time: "10:00", Weekdays: []int{1, 2, 3, 4, 5}, EmailTo: []string{}}
	if err := w.db.PutTenantConfig(w.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := sc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = sc.Shutdown() }()
	spec := sc.StandupSchedules()[w.tenant.ID]
	if spec != "CRON_TZ=Europe/Berlin 0 10 * * 1,2,3,4,5" {
		t.Fatalf("spec %q", spec)
	}
	waitRuns := func(want int32) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for gen.runs.Load() < want && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond) // a second run, if any, would land now
		if got := gen.runs.Load(); got != want {
			t.Fatalf("%d standups, want %d", got, want)
		}
	}
	// Due in 30 seconds: it fires once, not twice.
	_ = clock.BlockUntilContext(context.Background(), 1)
	clock.Advance(31 * time.Second)
	waitRuns(1)
	clock.Advance(30 * time.Second)
	waitRuns(1)

	// Moving the time moves the job; turning standups off removes it.
	cfg.Standup.Time = "11:30"
	if err := w.db.PutTenantConfig(w.ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := sc.Replan(context.Background()); err != nil {
		t.Fatal(err)
	}
	if spec := sc.StandupSchedules()[w.tenant.ID]; spec != "CRON_TZ=Europe/Berlin 30 11 * * 1,2,3,4,5" {
		t.Fatalf("moved spec %q", spec)
	}
	cfg.Standup.Enabled = false
	_ = w.db.PutTenantConfig(w.ctx, cfg)
	_ = sc.Replan(context.Background())
	if len(sc.StandupSchedules()) != 0 {
		t.Fatal("disabled standups still scheduled")
	}
	// A free tenant's standups are never scheduled.
	free := "free"
	cfg.Standup.Enabled = true
	_ = w.db.PutTenantConfig(w.ctx, cfg)
	if _, err := w.db.UpdateTenant(context.Background(), w.tenant.ID, pmassist.TenantUpdate{Tier: (*pmassist.Tier)(&free)}); err != nil {
		t.Fatal(err)
	}
	_ = sc.Replan(context.Background())
	if len(sc.StandupSchedules()) != 0 {
		t.Fatal("a free tenant's standups are scheduled")
	}
}

func TestStandupCron(t *testing.T) {
	cfg := pmassist.DefaultTenantConfig()
	if StandupCron(cfg) != "" {
		t.Fatal("disabled standups have a schedule")
	}
	cfg.Timezone, cfg.Standup = "America/New_York", pmassist.StandupConfig{Enabled: true, Time: "09:05", Weekdays: []int{1, 7}}
	if got := StandupCron(cfg); got != "CRON_TZ=America/New_York 5 9 * * 1,0" {
		t.Fatalf("cron %q", got)
	}
}
