package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

// What the operator does to the data file while the app runs: consistent
// copies (Backup, BackupNow and the schedule in Run) and compaction.
//
// A backup is one read transaction: bbolt's tx.WriteTo copies the file as
// that transaction sees it, and writers carry on meanwhile (bbolt never
// reuses a page a reader may still see).
//
// A compaction replaces the file, so it needs everyone out: every
// transaction of the store passes DB.gate for reading, and Compact holds it
// for writing from the first copied page to the reopened handle.

// compactTxSize bounds one transaction of the compaction's copy.
const compactTxSize = 64 << 20

// boltOpen reopens the data file after a compaction; tests make it fail.
var boltOpen = bolt.Open

// Backup file names in the backup folder: pmassist-20261128T020000Z.db.
const (
	backupPrefix     = "pmassist-"
	backupSuffix     = ".db"
	backupTimeLayout = "20060102T150405Z"
	// backupTempPattern names a backup being written. It does not match
	// backupNameRE, so pruning never counts one as a backup.
	backupTempPattern = ".pmassist-*.db.tmp"
	// staleTempAge is how old a temporary file of ours must be before
	// pruning removes it as left behind by a crash.
	staleTempAge = time.Hour
	// retryAfterFailure bounds the wait after a failed scheduled backup.
	retryAfterFailure = 15 * time.Minute
)

var (
	backupNameRE = regexp.MustCompile(`^pmassist-[0-9]{8}T[0-9]{6}Z\.db$`)
	backupTempRE = regexp.MustCompile(`^\.pmassist-[0-9]+\.db\.tmp$`)
)

// Default settings of scheduled backups (config.md).
const (
	DefaultBackupInterval = 24 * time.Hour
	DefaultBackupKeep     = 7
)

// Backup writes a consistent snapshot of the data file to w in one read
// transaction: writers are not held up. size, when not nil, is called with
// the snapshot's size before the first byte is written. A cancelled ctx
// stops the copy between writes.
func (db *DB) Backup(ctx context.Context, w io.Writer, size func(int64)) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var n int64
	err := db.viewBolt(func(tx *bolt.Tx) error {
		if size != nil {
			size(tx.Size())
		}
		var err error
		n, err = tx.WriteTo(&ctxWriter{ctx: ctx, w: w})
		return err
	})
	if err != nil {
		if cerr := ctx.Err(); cerr != nil {
			// WriteTo flattens some errors into text; say what happened.
			return n, cerr
		}
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

// ctxWriter stops a copy once its context is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c *ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Compact rewrites the data file without its free pages. Every read and
// write of the store waits while it runs. The copy is made beside the file
// and put in its place by a rename; until then a failure leaves the file
// and the open handle as they were. The old file stays reachable as
// pmassist.db.pre-compact until the new one has been reopened, and is put
// back if that fails.
//
// bbolt numbers the transactions of the new file from the start again, so
// the compacted file also gets a new meta/file_id: its DataVersion never
// equals that of an older state (see the package comment). The search
// index, open meanwhile, records the new version when it closes, so it is
// not rebuilt at the next start.
func (db *DB) Compact(ctx context.Context) (pmassist.CompactResult, error) {
	var res pmassist.CompactResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	db.gate.Lock()
	defer db.gate.Unlock()
	start := time.Now()
	res.BeforeBytes = db.Size()
	dir := filepath.Dir(db.path)
	pattern := filepath.Base(db.path) + ".compact-*"
	// What a compaction interrupted by a crash left behind; no one else
	// writes these while the gate is held.
	if stale, err := filepath.Glob(filepath.Join(dir, pattern)); err == nil {
		for _, p := range stale {
			_ = os.Remove(p)
		}
	}

	tmp, err := compactInto(db.bolt, dir, pattern)
	if err != nil {
		return res, fmt.Errorf("compact: %w", err)
	}
	if err := ctx.Err(); err != nil {
		_ = os.Remove(tmp)
		return res, err
	}
	keep := db.path + ".pre-compact"
	if err := linkOrCopy(db.path, keep); err != nil {
		_ = os.Remove(tmp)
		return res, fmt.Errorf("compact: keeping the original file: %w", err)
	}
	if err := db.bolt.Close(); err != nil {
		_ = os.Remove(tmp)
		_ = os.Remove(keep)
		return res, db.reopenAfter(fmt.Errorf("compact: closing the data file: %w", err))
	}
	if err := os.Rename(tmp, db.path); err != nil {
		_ = os.Remove(tmp)
		_ = os.Remove(keep)
		return res, db.reopenAfter(fmt.Errorf("compact: replacing the data file: %w", err))
	}
	_ = syncDir(dir)
	bdb, err := boltOpen(db.path, 0o600, db.bopts)
	if err != nil {
		// The compacted file does not open: put the original back.
		err = fmt.Errorf("compact: the compacted data file does not open: %w", err)
		if rerr := os.Rename(keep, db.path); rerr != nil {
			return res, fmt.Errorf("%w; putting the original back failed too (%v): it is %s, stop the server and move it to %s", err, rerr, keep, db.path)
		}
		_ = syncDir(dir)
		return res, db.reopenAfter(err)
	}
	db.bolt = bdb
	if err := os.Remove(keep); err != nil && !errors.Is(err, os.ErrNotExist) {
		return res, fmt.Errorf("compact: done, but the original copy %s could not be removed: %w", keep, err)
	}
	_ = syncDir(dir)
	res.AfterBytes = db.Size()
	res.Duration = time.Since(start)
	return res, nil
}

// reopenAfter opens the data file again after a failed compaction closed
// it, and returns cause; when even that fails the store is closed and every
// call fails until a restart, and the error says so.
func (db *DB) reopenAfter(cause error) error {
	bdb, err := boltOpen(db.path, 0o600, db.bopts)
	if err != nil {
		return fmt.Errorf("%w; the data file %s could not be opened again (%v): the store is closed, restart the server", cause, db.path, err)
	}
	db.bolt = bdb
	return fmt.Errorf("%w; the original data file was kept and is open again", cause)
}

// compactInto copies src without its free pages into a new file in dir and
// returns its path, written and synced. The copy gets a new file id.
func compactInto(src *bolt.DB, dir, pattern string) (path string, err error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	path = f.Name()
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return "", err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(path)
		}
	}()
	// Commits are not synced one by one: the file is synced once at the
	// end, before it is put in place.
	dst, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second, NoSync: true})
	if err != nil {
		return "", err
	}
	err = bolt.Compact(dst, src, compactTxSize)
	if err == nil {
		err = dst.Update(func(tx *bolt.Tx) error {
			meta := tx.Bucket(bucketMeta)
			if meta == nil {
				return errors.New("data file has no meta bucket")
			}
			id, err := newFileID()
			if err != nil {
				return err
			}
			return meta.Put(keyFileID, []byte(id))
		})
	}
	if err == nil {
		err = dst.Sync()
	}
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	return path, os.Chmod(path, 0o600)
}

// linkOrCopy makes dst another name of src (a hard link), or a synced copy
// where links are not supported. An old dst is replaced.
func linkOrCopy(src, dst string) error {
	if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Link(src, dst); err == nil {
		return nil
	}
	return copyFile(src, dst)
}

// copyFile copies src to a new file dst (0600) and syncs it.
func copyFile(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = os.Remove(dst)
		}
	}()
	if _, err = io.Copy(out, in); err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// OperationsConfig configures Operations; only Dir is needed for
// scheduled backups, and without it they are off.
type OperationsConfig struct {
	// Dir is the backup folder (PMASSIST_BACKUP_DIR); "" turns scheduled
	// backups off.
	Dir string
	// Keep is how many backups pruning keeps, newest first (default 7).
	Keep int
	// Interval is the time between scheduled backups (default 24h).
	Interval time.Duration
	// Now names backup files; default time.Now.
	Now    func() time.Time
	Logger *slog.Logger
}

// Operations is the pmassist.OperationsService of the data file: backups,
// scheduled backups into a folder, and compaction.
type Operations struct {
	db  *DB
	cfg OperationsConfig
	log *slog.Logger

	backupMu  sync.Mutex   // one BackupNow at a time
	compactMu sync.Mutex   // one Compact at a time
	copying   atomic.Int32 // backups being copied out of the data file

	mu          sync.Mutex // guards the fields below
	lastSuccess *pmassist.BackupInfo
	lastErr     string
	lastErrAt   *time.Time
	nextAt      *time.Time
}

var _ pmassist.OperationsService = (*Operations)(nil)

// NewOperations returns the operations on db.
func NewOperations(db *DB, cfg OperationsConfig) *Operations {
	if cfg.Keep <= 0 {
		cfg.Keep = DefaultBackupKeep
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultBackupInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Dir != "" {
		cfg.Dir = filepath.Clean(cfg.Dir)
	}
	return &Operations{db: db, cfg: cfg, log: cfg.Logger.With("component", "backup")}
}

// Backup streams a consistent snapshot of the data file (DB.Backup).
func (o *Operations) Backup(ctx context.Context, w io.Writer, size func(int64)) (int64, error) {
	o.copying.Add(1)
	defer o.copying.Add(-1)
	return o.db.Backup(ctx, w, size)
}

// BackupNow writes a backup into the backup folder (created 0700 if
// missing) as pmassist-<UTC time>.db: a temporary file in the same folder,
// synced, renamed into place (0600), then the folder synced. It then prunes
// the folder to the newest Keep backups; files not named like ours are
// never touched. The outcome is what BackupStatus reports.
func (o *Operations) BackupNow(ctx context.Context) (pmassist.BackupInfo, error) {
	if o.cfg.Dir == "" {
		return pmassist.BackupInfo{}, pmassist.Errorf(pmassist.EINVALID, "scheduled backups are off: set PMASSIST_BACKUP_DIR")
	}
	o.backupMu.Lock()
	defer o.backupMu.Unlock()
	info, err := o.writeBackup(ctx)
	if err != nil {
		if ctx.Err() == nil {
			o.recordError(err)
		}
		return pmassist.BackupInfo{}, err
	}
	o.mu.Lock()
	o.lastSuccess = &info
	o.lastErr, o.lastErrAt = "", nil
	o.mu.Unlock()
	if err := o.prune(); err != nil {
		// The backup is there; the folder grows until this is fixed.
		o.recordError(fmt.Errorf("pruning old backups: %w", err))
		o.log.Error("pruning old backups failed", "dir", o.cfg.Dir, "error", err)
	}
	return info, nil
}

func (o *Operations) recordError(err error) {
	now := o.cfg.Now().UTC()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.lastErr, o.lastErrAt = err.Error(), &now
}

func (o *Operations) writeBackup(ctx context.Context) (info pmassist.BackupInfo, err error) {
	now := o.cfg.Now().UTC().Truncate(time.Second)
	name := backupPrefix + now.Format(backupTimeLayout) + backupSuffix
	if err := os.MkdirAll(o.cfg.Dir, 0o700); err != nil {
		return info, fmt.Errorf("backup folder: %w", err)
	}
	f, err := os.CreateTemp(o.cfg.Dir, backupTempPattern)
	if err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	n, err := o.Backup(ctx, f, nil)
	if err != nil {
		return info, err
	}
	if err = f.Sync(); err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	if err = f.Close(); err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	if err = os.Chmod(tmp, 0o600); err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	if err = os.Rename(tmp, filepath.Join(o.cfg.Dir, name)); err != nil {
		return info, fmt.Errorf("backup: %w", err)
	}
	if err := syncDir(o.cfg.Dir); err != nil {
		return info, fmt.Errorf("backup: syncing the folder: %w", err)
	}
	return pmassist.BackupInfo{Name: name, Size: n, CreatedAt: now}, nil
}

// prune removes the backups after the newest Keep, and temporary files of
// ours left behind by a crash.
func (o *Operations) prune() error {
	list, err := listBackups(o.cfg.Dir)
	if err != nil {
		return err
	}
	var errs []error
	if len(list) > o.cfg.Keep {
		for _, b := range list[o.cfg.Keep:] {
			if err := os.Remove(filepath.Join(o.cfg.Dir, b.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, err)
			} else {
				o.log.Info("removed an old backup", "name", b.Name)
			}
		}
	}
	entries, err := os.ReadDir(o.cfg.Dir)
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() || !backupTempRE.MatchString(e.Name()) {
			continue
		}
		if fi, err := e.Info(); err == nil && time.Since(fi.ModTime()) > staleTempAge {
			_ = os.Remove(filepath.Join(o.cfg.Dir, e.Name()))
		}
	}
	return errors.Join(errs...)
}

// listBackups lists the backups in dir, newest first; a missing folder has
// none.
func listBackups(dir string) ([]pmassist.BackupInfo, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var list []pmassist.BackupInfo
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || !backupNameRE.MatchString(name) {
			continue
		}
		at, err := time.Parse(backupTimeLayout, strings.TrimSuffix(strings.TrimPrefix(name, backupPrefix), backupSuffix))
		if err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		list = append(list, pmassist.BackupInfo{Name: name, Size: fi.Size(), CreatedAt: at})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name > list[j].Name })
	return list, nil
}

// BackupStatus reports scheduled backups: the settings, the backups in the
// folder (newest first), the last success and failure and the next run.
func (o *Operations) BackupStatus(ctx context.Context) (pmassist.BackupStatus, error) {
	if err := ctx.Err(); err != nil {
		return pmassist.BackupStatus{}, err
	}
	st := pmassist.BackupStatus{Enabled: o.cfg.Dir != "", Dir: o.cfg.Dir, Interval: o.cfg.Interval, Keep: o.cfg.Keep,
		Backups: []pmassist.BackupInfo{}}
	var listErr error
	if st.Enabled {
		list, err := listBackups(o.cfg.Dir)
		if err != nil {
			listErr = fmt.Errorf("listing the backup folder: %w", err)
		} else if list != nil {
			st.Backups = list
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(st.Backups) > 0 {
		b := st.Backups[0]
		st.LastSuccess = &b
	} else if listErr != nil && o.lastSuccess != nil {
		b := *o.lastSuccess
		st.LastSuccess = &b
	}
	st.LastError = o.lastErr
	if o.lastErrAt != nil {
		at := *o.lastErrAt
		st.LastErrorAt = &at
	}
	if st.LastError == "" && listErr != nil {
		st.LastError = listErr.Error()
	}
	if o.nextAt != nil {
		at := *o.nextAt
		st.NextAt = &at
	}
	return st, nil
}

// Run makes a backup every Interval until ctx ends; it returns at once
// when no backup folder is set. The cadence carries over restarts: the
// first backup is due Interval after the newest one in the folder, which is
// now when there is none or it is older than that. After a failure the
// next try comes sooner (in at most 15 minutes).
func (o *Operations) Run(ctx context.Context) {
	if o.cfg.Dir == "" {
		return
	}
	now := o.cfg.Now()
	next := now
	if list, err := listBackups(o.cfg.Dir); err == nil && len(list) > 0 {
		if due := list[0].CreatedAt.Add(o.cfg.Interval); due.After(now) {
			next = due
		}
	}
	defer o.setNext(nil)
	for {
		o.setNext(&next)
		t := time.NewTimer(next.Sub(o.cfg.Now()))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		info, err := o.BackupNow(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			o.log.Error("scheduled backup failed", "dir", o.cfg.Dir, "error", err)
			next = o.cfg.Now().Add(min(o.cfg.Interval, retryAfterFailure))
			continue
		}
		o.log.Info("scheduled backup written", "name", info.Name, "bytes", info.Size)
		next = o.cfg.Now().Add(o.cfg.Interval)
	}
}

func (o *Operations) setNext(at *time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if at == nil {
		o.nextAt = nil
		return
	}
	utc := at.UTC()
	o.nextAt = &utc
}

// Compact compacts the data file (DB.Compact). It is refused while a
// backup is being copied out of the file, which would hold it up (and with
// it every request), and while another compaction runs.
func (o *Operations) Compact(ctx context.Context) (pmassist.CompactResult, error) {
	if !o.compactMu.TryLock() {
		return pmassist.CompactResult{}, pmassist.Errorf(pmassist.ECONFLICT, "a compaction is already running")
	}
	defer o.compactMu.Unlock()
	if o.copying.Load() > 0 {
		return pmassist.CompactResult{}, pmassist.Errorf(pmassist.ECONFLICT, "a backup is being made; compact when it is done")
	}
	res, err := o.db.Compact(ctx)
	if err != nil {
		o.log.Error("compacting the data file failed", "error", err)
		return res, err
	}
	o.log.Info("compacted the data file", "before_bytes", res.BeforeBytes, "after_bytes", res.AfterBytes,
		"duration", res.Duration.Round(time.Millisecond))
	return res, nil
}
