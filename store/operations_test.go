package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

// openAt opens a data file at path (fsync off) and closes it at the end.
func openFileAt(tb testing.TB, path string) *DB {
	tb.Helper()
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = db.Close() })
	return db
}

// slowWriter lets a backup take a while, so that writers commit during it.
type slowWriter struct {
	w     io.Writer
	pause time.Duration
}

func (s *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(s.pause)
	return s.w.Write(p)
}

// TestBackupWhileWriting takes a backup while a writer keeps committing:
// the copy is a sound data file holding every record committed before the
// backup began.
func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	db := openFileAt(t, filepath.Join(dir, "pmassist.db"))
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	big := strings.Repeat("x", 3000)

	var mu sync.Mutex
	var committed []string
	stop := make(chan struct{})
	writerDone := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				writerDone <- nil
				return
			default:
			}
			d := newDecision(fmt.Sprintf("decision %d", i), i)
			d.Summary = big
			if err := db.CreateDecision(ctx, d); err != nil {
				writerDone <- err
				return
			}
			mu.Lock()
			committed = append(committed, d.ID)
			mu.Unlock()
		}
	}()
	count := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(committed)
	}
	for count() < 200 {
		time.Sleep(time.Millisecond)
	}

	mu.Lock()
	before := append([]string(nil), committed...)
	mu.Unlock()
	ops := NewOperations(db, OperationsConfig{})
	f, err := os.Create(filepath.Join(dir, "copy.db"))
	if err != nil {
		t.Fatal(err)
	}
	var announced int64
	n, err := ops.Backup(context.Background(), &slowWriter{w: f, pause: time.Millisecond}, func(s int64) { announced = s })
	if err != nil {
		t.Fatal(err)
	}
	during := count()
	close(stop)
	if err := <-writerDone; err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if n != announced || n == 0 {
		t.Errorf("wrote %d bytes, announced %d", n, announced)
	}
	if during <= len(before) {
		t.Errorf("no write committed during the backup (%d before, %d after): the test proves nothing", len(before), during)
	}

	if v, err := ValidateDataFile(f.Name()); err != nil || v != LatestSchemaVersion() {
		t.Fatalf("the copy: schema %d, %v", v, err)
	}
	cp := openFileAt(t, f.Name())
	for _, id := range before {
		if _, err := cp.FindDecision(ctx, id); err != nil {
			t.Fatalf("decision %s committed before the backup is not in the copy: %v", id, err)
		}
	}
}

func TestBackup_Cancelled(t *testing.T) {
	db := MustOpen(t)
	ctx, cancel := context.WithCancel(context.Background())
	w := writerFunc(func(p []byte) (int, error) {
		cancel()
		return len(p), nil
	})
	if _, err := db.Backup(ctx, w, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Backup with a context cancelled midway: %v", err)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// stepClock returns a clock that moves an hour on every reading.
func stepClock(start time.Time) func() time.Time {
	var mu sync.Mutex
	t := start
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		t = t.Add(time.Hour)
		return t
	}
}

func TestBackupNow_NamesPrunesAndKeepsForeignFiles(t *testing.T) {
	db := MustOpen(t)
	mustTenant(t, db, "Acme", "owner@example.com")
	dir := filepath.Join(t.TempDir(), "backups")
	ops := NewOperations(db, OperationsConfig{Dir: dir, Keep: 3, Now: stepClock(time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC))})

	// Files that are not ours, some of them close.
	if err := os.MkdirAll(filepath.Join(dir, "pmassist-20200101T000000Z.db"), 0o700); err != nil {
		t.Fatal(err)
	}
	foreign := []string{"notes.txt", "pmassist-latest.db", "pmassist-20200101T000000Z.db.bak", "xpmassist-20200101T000000Z.db",
		".pmassist-123.db.tmp.keep"}
	for _, name := range foreign {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("mine"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var names []string
	for range 5 {
		info, err := ops.BackupNow(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, info.Name)
		if info.Size == 0 || info.CreatedAt.IsZero() {
			t.Errorf("info %+v", info)
		}
	}
	if names[0] != "pmassist-20261128T010000Z.db" {
		t.Errorf("first backup named %q", names[0])
	}
	for i, name := range names {
		_, err := os.Stat(filepath.Join(dir, name))
		if kept := i >= 2; kept != (err == nil) {
			t.Errorf("backup %d (%s): kept %v, stat %v", i, name, kept, err)
		}
	}
	for _, name := range append(foreign, "pmassist-20200101T000000Z.db") {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			t.Errorf("foreign %s: %v", name, err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, names[4]))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode: %v %v", fi, err)
	}
	if v, err := ValidateDataFile(filepath.Join(dir, names[4])); err != nil || v != LatestSchemaVersion() {
		t.Errorf("backup: %d %v", v, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".db.tmp") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}

	st, err := ops.BackupStatus(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !st.Enabled || st.Dir != dir || st.Keep != 3 || st.Interval != DefaultBackupInterval || st.LastError != "" || st.LastErrorAt != nil {
		t.Errorf("status %+v", st)
	}
	if len(st.Backups) != 3 || st.Backups[0].Name != names[4] || st.Backups[2].Name != names[2] {
		t.Errorf("backups %+v", st.Backups)
	}
	if st.LastSuccess == nil || st.LastSuccess.Name != names[4] {
		t.Errorf("last success %+v", st.LastSuccess)
	}

	// A new Operations on the same folder (a restart) finds the newest.
	again := NewOperations(db, OperationsConfig{Dir: dir})
	if st, err := again.BackupStatus(context.Background()); err != nil || st.LastSuccess == nil || st.LastSuccess.Name != names[4] {
		t.Errorf("after a restart: %+v %v", st.LastSuccess, err)
	}
}

func TestBackupNow_Off(t *testing.T) {
	ops := NewOperations(MustOpen(t), OperationsConfig{})
	_, err := ops.BackupNow(context.Background())
	wantCode(t, err, pmassist.EINVALID)
	if !strings.Contains(pmassist.ErrorMessage(err), "PMASSIST_BACKUP_DIR") {
		t.Errorf("message %q", pmassist.ErrorMessage(err))
	}
	st, err := ops.BackupStatus(context.Background())
	if err != nil || st.Enabled || st.LastSuccess != nil || st.Backups == nil || st.Keep != DefaultBackupKeep {
		t.Errorf("status %+v %v", st, err)
	}
}

func TestBackupNow_FailureIsReported(t *testing.T) {
	db := MustOpen(t)
	base := t.TempDir()
	// A folder below a file cannot be made, whoever runs the test.
	blocker := filepath.Join(base, "blocker")
	if err := os.WriteFile(blocker, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(blocker, "backups")
	ops := NewOperations(db, OperationsConfig{Dir: dir})
	if _, err := ops.BackupNow(context.Background()); err == nil {
		t.Fatal("a backup into an impossible folder succeeded")
	}
	st, err := ops.BackupStatus(context.Background())
	if err != nil || st.LastError == "" || st.LastErrorAt == nil || st.LastSuccess != nil {
		t.Fatalf("status after a failure: %+v %v", st, err)
	}

	// Fixed, the next backup clears the error.
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if _, err := ops.BackupNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("backup folder: %v %v", fi, err)
	}
	st, _ = ops.BackupStatus(context.Background())
	if st.LastError != "" || st.LastErrorAt != nil || st.LastSuccess == nil {
		t.Fatalf("status after a success: %+v", st)
	}
}

func TestRun_Schedule(t *testing.T) {
	db := MustOpen(t)
	dir := filepath.Join(t.TempDir(), "backups")
	ops := NewOperations(db, OperationsConfig{Dir: dir, Interval: time.Hour})

	// No backup yet: one at once, then the next an interval later.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { ops.Run(ctx); close(done) }()
	waitUntil(t, func() bool {
		st, _ := ops.BackupStatus(context.Background())
		return len(st.Backups) == 1 && st.NextAt != nil && time.Until(*st.NextAt) > 50*time.Minute
	})
	cancel()
	<-done
	st, _ := ops.BackupStatus(context.Background())
	if st.NextAt != nil {
		t.Errorf("next run after the loop ended: %v", st.NextAt)
	}

	// A recent backup in the folder: the next is due an interval after it.
	newest := st.Backups[0]
	ops2 := NewOperations(db, OperationsConfig{Dir: dir, Interval: time.Hour})
	ctx, cancel = context.WithCancel(context.Background())
	done = make(chan struct{})
	go func() { ops2.Run(ctx); close(done) }()
	waitUntil(t, func() bool {
		st, _ := ops2.BackupStatus(context.Background())
		return st.NextAt != nil
	})
	time.Sleep(50 * time.Millisecond)
	st, _ = ops2.BackupStatus(context.Background())
	if len(st.Backups) != 1 || !st.NextAt.Equal(newest.CreatedAt.Add(time.Hour)) {
		t.Errorf("with a fresh backup: %d backups, next %v (newest %v)", len(st.Backups), st.NextAt, newest.CreatedAt)
	}
	cancel()
	<-done

	// Off: Run returns at once.
	NewOperations(db, OperationsConfig{}).Run(context.Background())
}

func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCompact fills the file, deletes most of it, and compacts while other
// goroutines read and write: they wait and carry on, the file shrinks, and
// everything left is still there.
func TestCompact(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pmassist.db")
	db := openFileAt(t, path)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	big := strings.Repeat("y", 4000)
	var keep []string
	for i := range 600 {
		d := newDecision(fmt.Sprintf("decision %d", i), i)
		d.Summary = big
		mustDecision(t, db, ctx, d)
		if i%10 == 0 {
			keep = append(keep, d.ID)
		} else if err := db.DeleteDecision(ctx, d.ID); err != nil {
			t.Fatal(err)
		}
	}
	fileID, _, err := db.DataVersion()
	if err != nil {
		t.Fatal(err)
	}

	var ops, errs atomic.Int64
	var created sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var err error
				if w%2 == 0 {
					d := newDecision(fmt.Sprintf("during %d-%d", w, i), i)
					if err = db.CreateDecision(ctx, d); err == nil {
						created.Store(d.ID, true)
					}
				} else {
					_, _, err = db.ListDecisions(ctx, pmassist.DecisionFilter{Limit: 10})
				}
				if err != nil {
					errs.Add(1)
					t.Errorf("during the compaction: %v", err)
					return
				}
				ops.Add(1)
			}
		}()
	}
	waitUntil(t, func() bool { return ops.Load() > 50 })
	// Left by a compaction a crash interrupted.
	if err := os.WriteFile(path+".compact-123", []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}

	res, err := NewOperations(db, OperationsConfig{}).Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	atCompact := ops.Load()
	waitUntil(t, func() bool { return ops.Load() > atCompact+50 })
	close(stop)
	wg.Wait()
	if errs.Load() > 0 {
		t.FailNow()
	}

	if res.AfterBytes >= res.BeforeBytes || res.Duration <= 0 {
		t.Errorf("result %+v", res)
	}
	if got := db.Size(); got != res.AfterBytes && got < res.AfterBytes {
		t.Errorf("size after %d, reported %d", got, res.AfterBytes)
	}
	for _, id := range keep {
		if d, err := db.FindDecision(ctx, id); err != nil || d.Summary != big {
			t.Fatalf("decision %s after the compaction: %v", id, err)
		}
	}
	created.Range(func(k, _ any) bool {
		if _, err := db.FindDecision(ctx, k.(string)); err != nil {
			t.Errorf("decision %s written around the compaction: %v", k, err)
		}
		return true
	})
	if id, _, err := db.DataVersion(); err != nil || id == fileID {
		t.Errorf("file id after the compaction: %s (before %s), %v", id, fileID, err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "pmassist.db" {
			t.Errorf("left in the data folder: %s", e.Name())
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("data file mode: %v %v", fi, err)
	}

	// Still a sound data file, which writes and reopens.
	mustDecision(t, db, ctx, newDecision("after", 1))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := ValidateDataFile(path); err != nil {
		t.Fatal(err)
	}
	db2 := openFileAt(t, path)
	list, _, err := db2.ListDecisions(ctx, pmassist.DecisionFilter{Limit: 200})
	if err != nil || len(list) < len(keep)+1 {
		t.Fatalf("after reopening: %d decisions, %v", len(list), err)
	}
}

func TestCompact_RefusedWhileABackupRuns(t *testing.T) {
	db := MustOpen(t)
	ops := NewOperations(db, OperationsConfig{})
	started, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	done := make(chan error, 1)
	go func() {
		_, err := ops.Backup(context.Background(), writerFunc(func(p []byte) (int, error) {
			once.Do(func() { close(started) })
			<-release
			return len(p), nil
		}), nil)
		done <- err
	}()
	<-started
	_, err := ops.Compact(context.Background())
	wantCode(t, err, pmassist.ECONFLICT)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := ops.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestCompact_FailureKeepsServing: a compaction that cannot write its copy
// leaves the file open and unchanged.
func TestCompact_FailureKeepsServing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pmassist.db")
	db := openFileAt(t, path)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	d := mustDecision(t, db, ctx, newDecision("kept", 1))
	ctxDone, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := db.Compact(ctxDone); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled compaction: %v", err)
	}
	// The temporary file cannot be made in a folder that is not there.
	db.path = filepath.Join(dir, "gone", "pmassist.db")
	_, err := db.Compact(context.Background())
	db.path = path
	if err == nil {
		t.Fatal("compaction without a folder succeeded")
	}
	if _, err := db.FindDecision(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	mustDecision(t, db, ctx, newDecision("more", 2))
}

// TestCompact_ReopenFails: when the compacted file does not open, the
// original is put back and served; when nothing opens, the error says the
// store is closed.
func TestCompact_ReopenFails(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pmassist.db")
	db := openFileAt(t, path)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	d := mustDecision(t, db, ctx, newDecision("kept", 1))
	fileID, _, _ := db.DataVersion()
	defer func() { boltOpen = bolt.Open }()

	failures := 1
	boltOpen = func(p string, mode os.FileMode, o *bolt.Options) (*bolt.DB, error) {
		if failures > 0 {
			failures--
			return nil, errors.New("injected")
		}
		return bolt.Open(p, mode, o)
	}
	_, err := db.Compact(context.Background())
	if err == nil || !strings.Contains(err.Error(), "does not open") || !strings.Contains(err.Error(), "open again") {
		t.Fatalf("compaction whose file does not open: %v", err)
	}
	if _, err := db.FindDecision(ctx, d.ID); err != nil {
		t.Fatal(err)
	}
	if id, _, _ := db.DataVersion(); id != fileID {
		t.Error("the original file is not the one served")
	}
	mustDecision(t, db, ctx, newDecision("more", 2))
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left in the data folder: %v", entries)
	}

	boltOpen = func(string, os.FileMode, *bolt.Options) (*bolt.DB, error) { return nil, errors.New("injected") }
	_, err = db.Compact(context.Background())
	if err == nil || !strings.Contains(err.Error(), "the store is closed") {
		t.Fatalf("compaction after which nothing opens: %v", err)
	}
	if _, err := db.FindDecision(ctx, d.ID); err == nil {
		t.Error("a closed store answered")
	}
	// The original is in place for the restart.
	boltOpen = bolt.Open
	if _, err := ValidateDataFile(path); err != nil {
		t.Fatal(err)
	}
}
