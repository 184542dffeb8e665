package pmassist

import (
	"context"
	"io"
	"time"
)

// BackupInfo is one backup file in the backup folder.
type BackupInfo struct {
	Name      string    `json:"name"` // file name, e.g. pmassist-20261128T020000Z.db
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

// BackupStatus is the state of scheduled backups (PMASSIST_BACKUP_DIR).
type BackupStatus struct {
	Enabled  bool          `json:"enabled"` // a backup folder is configured
	Dir      string        `json:"dir"`
	Interval time.Duration `json:"interval"`
	Keep     int           `json:"keep"`
	// LastSuccess is the newest backup written by this process or found in
	// the folder; LastError is the last failure (cleared by a success).
	LastSuccess *BackupInfo  `json:"last_success"`
	LastError   string       `json:"last_error"`
	LastErrorAt *time.Time   `json:"last_error_at"`
	NextAt      *time.Time   `json:"next_at"`
	Backups     []BackupInfo `json:"backups"` // newest first
}

// CompactResult reports a compaction of the data file.
type CompactResult struct {
	BeforeBytes int64         `json:"before_bytes"`
	AfterBytes  int64         `json:"after_bytes"`
	Duration    time.Duration `json:"duration"`
}

// SystemInfo is the operator's view of the running appliance
// (api.md GET /api/v1/admin/system).
type SystemInfo struct {
	Version       string     `json:"version"`
	Commit        string     `json:"commit"`
	StartedAt     time.Time  `json:"started_at"`
	DataFileBytes int64      `json:"data_file_bytes"`
	Index         IndexState `json:"index"`
	// SchedulerRunning and SchedulerJobs describe the gocron scheduler.
	SchedulerRunning bool         `json:"scheduler_running"`
	SchedulerJobs    int          `json:"scheduler_jobs"`
	Backups          BackupStatus `json:"backups"`
	GoVersion        string       `json:"go_version"`
	Goroutines       int          `json:"goroutines"`
	HeapBytes        uint64       `json:"heap_bytes"`
}

// OperationsService is what the operator does to the data file: backups
// and compaction (store.Operations). It is not tenant-scoped; the HTTP
// layer allows it to operators only. The system overview (SystemInfo) is
// composed by the wiring, which knows every part.
type OperationsService interface {
	// Backup writes a consistent snapshot of the data file to w without
	// blocking writers; size is called with the snapshot's size before the
	// first byte is written (for Content-Length).
	Backup(ctx context.Context, w io.Writer, size func(int64)) (int64, error)
	// BackupNow writes a backup into the backup folder now (temp file,
	// fsync, rename) and prunes it to the newest Keep.
	BackupNow(ctx context.Context) (BackupInfo, error)
	// BackupStatus reports scheduled backups.
	BackupStatus(ctx context.Context) (BackupStatus, error)
	// Compact rewrites the data file to reclaim free pages; writers wait
	// while it runs.
	Compact(ctx context.Context) (CompactResult, error)
}
