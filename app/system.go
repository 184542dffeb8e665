package app

import (
	"context"
	"runtime"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/store"
)

// systemInfo returns the operator's overview of the running appliance
// (server.Services.System), composed from every part: the build, the data
// file, the search index, the scheduler, scheduled backups and the Go
// runtime. db is the data file; started is when this Main started serving.
func (m *Main) systemInfo(db *store.DB, started time.Time) func(ctx context.Context) pmassist.SystemInfo {
	return func(ctx context.Context) pmassist.SystemInfo {
		info := pmassist.SystemInfo{Version: pmassist.Version, Commit: pmassist.Commit, StartedAt: started.UTC(),
			DataFileBytes: db.Size(), Index: m.Index.IndexState(),
			SchedulerRunning: m.Scheduler.Running(), SchedulerJobs: m.Scheduler.Jobs(),
			GoVersion: runtime.Version(), Goroutines: runtime.NumGoroutine()}
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		info.HeapBytes = ms.HeapAlloc
		if m.Operations != nil {
			st, err := m.Operations.BackupStatus(ctx)
			if err != nil {
				m.Logger.ErrorContext(ctx, "reading the backup status failed", "error", err)
			}
			info.Backups = st
		}
		return info
	}
}
