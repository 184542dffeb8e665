package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

// The operator's API beyond tenants: the system overview, backups and
// compaction of the data file. Operator actions are not tenant events, so
// they go to the log (info) rather than to a tenant's audit log.

func (s *Server) registerOperatorRoutes(r *mux.Router) {
	r.HandleFunc(v1+"/admin/system", s.operator(s.handleAdminSystem)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/admin/backup", s.operator(s.handleAdminBackup)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/admin/backups", s.operator(s.handleAdminBackups)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/admin/backups", s.operator(s.handleAdminBackupNow)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/admin/compact", s.operator(s.handleAdminCompact)).Methods(http.MethodPost)
}

// backupFileTime names downloaded and scheduled backups alike:
// pmassist-20261128T020000Z.db.
const backupFileTime = "20060102T150405Z"

// errNoOperations answers the operations endpoints of a server started
// without them.
var errNoOperations = pmassist.Errorf(pmassist.EUNAVAILABLE, "backups and compaction are not available: this server runs without its operations service")

// errNoSystem answers the system overview of a server started without it.
var errNoSystem = pmassist.Errorf(pmassist.EUNAVAILABLE, "the system overview is not available on this server")

// errBackupsOff refuses a backup into the folder when none is set.
var errBackupsOff = pmassist.Errorf(pmassist.ECONFLICT,
	"scheduled backups are off: set PMASSIST_BACKUP_DIR to a folder and restart, or download a backup with GET /api/v1/admin/backup")

type backupInfoJSON struct {
	Name      string    `json:"name"`
	Size      int64     `json:"size"`
	CreatedAt time.Time `json:"created_at"`
}

func toBackupInfoJSON(b pmassist.BackupInfo) backupInfoJSON {
	return backupInfoJSON{Name: b.Name, Size: b.Size, CreatedAt: b.CreatedAt}
}

// backupStatusJSON is pmassist.BackupStatus with the interval in seconds.
type backupStatusJSON struct {
	Enabled     bool             `json:"enabled"`
	Dir         string           `json:"dir"`
	IntervalS   int64            `json:"interval_s"`
	Keep        int              `json:"keep"`
	LastSuccess *backupInfoJSON  `json:"last_success"`
	LastError   string           `json:"last_error"`
	LastErrorAt *time.Time       `json:"last_error_at"`
	NextAt      *time.Time       `json:"next_at"`
	Backups     []backupInfoJSON `json:"backups"`
}

func toBackupStatusJSON(st pmassist.BackupStatus) backupStatusJSON {
	out := backupStatusJSON{Enabled: st.Enabled, Dir: st.Dir, IntervalS: int64(st.Interval / time.Second), Keep: st.Keep,
		LastError: st.LastError, LastErrorAt: st.LastErrorAt, NextAt: st.NextAt, Backups: make([]backupInfoJSON, 0, len(st.Backups))}
	if st.LastSuccess != nil {
		b := toBackupInfoJSON(*st.LastSuccess)
		out.LastSuccess = &b
	}
	for _, b := range st.Backups {
		out.Backups = append(out.Backups, toBackupInfoJSON(b))
	}
	return out
}

// systemJSON is api.md's GET /api/v1/admin/system, with the commit, the
// start time, whether the scheduler runs, and the backups.
type systemJSON struct {
	Version       string    `json:"version"`
	Commit        string    `json:"commit"`
	StartedAt     time.Time `json:"started_at"`
	UptimeS       int64     `json:"uptime_s"`
	DataFileBytes int64     `json:"data_file_bytes"`
	Index         struct {
		State   string `json:"state"`
		Docs    uint64 `json:"docs"`
		Version int    `json:"version"`
		Error   string `json:"error,omitempty"`
	} `json:"index"`
	Scheduler struct {
		Running bool `json:"running"`
		Jobs    int  `json:"jobs"`
	} `json:"scheduler"`
	Backups backupStatusJSON `json:"backups"`
	Go      struct {
		Version    string `json:"version"`
		Goroutines int    `json:"goroutines"`
		HeapBytes  uint64 `json:"heap_bytes"`
	} `json:"go"`
}

// uptime is how long the server has run at now; never negative.
func uptime(info pmassist.SystemInfo, now time.Time) time.Duration {
	if info.StartedAt.IsZero() {
		return 0
	}
	return max(now.Sub(info.StartedAt), 0)
}

func (s *Server) toSystemJSON(info pmassist.SystemInfo) systemJSON {
	out := systemJSON{Version: info.Version, Commit: info.Commit, StartedAt: info.StartedAt,
		UptimeS: int64(uptime(info, s.now()) / time.Second), DataFileBytes: info.DataFileBytes,
		Backups: toBackupStatusJSON(info.Backups)}
	out.Index.State, out.Index.Docs, out.Index.Version, out.Index.Error = info.Index.State, info.Index.Docs, info.Index.Version, info.Index.Error
	out.Scheduler.Running, out.Scheduler.Jobs = info.SchedulerRunning, info.SchedulerJobs
	out.Go.Version, out.Go.Goroutines, out.Go.HeapBytes = info.GoVersion, info.Goroutines, info.HeapBytes
	return out
}

// system returns the overview, or EUNAVAILABLE without one.
func (s *Server) system(ctx context.Context) (pmassist.SystemInfo, error) {
	if s.svc.System == nil {
		return pmassist.SystemInfo{}, errNoSystem
	}
	return s.svc.System(ctx), nil
}

// operations returns the operations service, or EUNAVAILABLE without one.
func (s *Server) operations() (pmassist.OperationsService, error) {
	if s.svc.Operations == nil {
		return nil, errNoOperations
	}
	return s.svc.Operations, nil
}

// backupNow writes a backup into the folder; 409 when no folder is set.
func (s *Server) backupNow(ctx context.Context, id *identity) (pmassist.BackupInfo, error) {
	ops, err := s.operations()
	if err != nil {
		return pmassist.BackupInfo{}, err
	}
	st, err := ops.BackupStatus(ctx)
	if err != nil {
		return pmassist.BackupInfo{}, err
	}
	if !st.Enabled {
		return pmassist.BackupInfo{}, errBackupsOff
	}
	b, err := ops.BackupNow(ctx)
	if err != nil {
		s.logger.ErrorContext(ctx, "operator: backup into the folder failed", "user", id.user.Email, "error", err,
			"request_id", requestID(ctx))
		return pmassist.BackupInfo{}, err
	}
	s.logger.InfoContext(ctx, "operator: backup written", "user", id.user.Email, "name", b.Name, "bytes", b.Size,
		"request_id", requestID(ctx))
	return b, nil
}

// compact rewrites the data file.
func (s *Server) compact(ctx context.Context, id *identity) (pmassist.CompactResult, error) {
	ops, err := s.operations()
	if err != nil {
		return pmassist.CompactResult{}, err
	}
	res, err := ops.Compact(ctx)
	if err != nil {
		s.logger.ErrorContext(ctx, "operator: compaction failed", "user", id.user.Email, "error", err,
			"request_id", requestID(ctx))
		return pmassist.CompactResult{}, err
	}
	s.logger.InfoContext(ctx, "operator: data file compacted", "user", id.user.Email, "before_bytes", res.BeforeBytes,
		"after_bytes", res.AfterBytes, "duration", res.Duration, "request_id", requestID(ctx))
	return res, nil
}

func (s *Server) handleAdminSystem(w http.ResponseWriter, r *http.Request, id *identity) {
	info, err := s.system(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toSystemJSON(info))
}

// backupWriter sends the download's headers when the snapshot's size is
// known, right before its first byte.
type backupWriter struct {
	w       http.ResponseWriter
	name    string
	started bool
}

func (b *backupWriter) start(size int64) {
	if b.started {
		return
	}
	b.started = true
	h := b.w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", `attachment; filename="`+b.name+`"`)
	h.Set("Cache-Control", "no-store")
	if size >= 0 {
		h.Set("Content-Length", strconv.FormatInt(size, 10))
	}
	b.w.WriteHeader(http.StatusOK)
}

func (b *backupWriter) Write(p []byte) (int, error) {
	b.start(-1)
	return b.w.Write(p)
}

// handleAdminBackup streams a consistent copy of the data file. Writers go
// on meanwhile; a failure after the first byte cuts the download short (the
// client sees fewer bytes than Content-Length), since the status is sent.
func (s *Server) handleAdminBackup(w http.ResponseWriter, r *http.Request, id *identity) {
	ops, err := s.operations()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	bw := &backupWriter{w: w, name: "pmassist-" + s.now().Format(backupFileTime) + ".db"}
	start := time.Now()
	n, err := ops.Backup(r.Context(), bw, bw.start)
	switch {
	case err != nil && !bw.started:
		s.writeError(w, r, err)
	case err != nil && r.Context().Err() != nil:
		s.logger.InfoContext(r.Context(), "operator: backup download canceled", "user", id.user.Email,
			"bytes", n, "request_id", requestID(r.Context()))
	case err != nil:
		s.logger.ErrorContext(r.Context(), "operator: backup download failed midway", "user", id.user.Email,
			"bytes", n, "error", err, "request_id", requestID(r.Context()))
		// Content-Length promised more: break the connection rather than
		// end a response that looks complete.
		panic(http.ErrAbortHandler)
	default:
		bw.start(n) // an empty snapshot still gets its headers
		s.logger.InfoContext(r.Context(), "operator: backup downloaded", "user", id.user.Email, "name", bw.name,
			"bytes", n, "took", time.Since(start), "request_id", requestID(r.Context()))
	}
}

func (s *Server) handleAdminBackups(w http.ResponseWriter, r *http.Request, id *identity) {
	ops, err := s.operations()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := ops.BackupStatus(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toBackupStatusJSON(st))
}

func (s *Server) handleAdminBackupNow(w http.ResponseWriter, r *http.Request, id *identity) {
	b, err := s.backupNow(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toBackupInfoJSON(b))
}

type compactJSON struct {
	BeforeBytes int64 `json:"before_bytes"`
	AfterBytes  int64 `json:"after_bytes"`
	DurationMS  int64 `json:"duration_ms"`
}

func (s *Server) handleAdminCompact(w http.ResponseWriter, r *http.Request, id *identity) {
	res, err := s.compact(r.Context(), id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, compactJSON{BeforeBytes: res.BeforeBytes, AfterBytes: res.AfterBytes,
		DurationMS: res.Duration.Milliseconds()})
}
