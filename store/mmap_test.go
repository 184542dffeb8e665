package store

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A backup holds one read transaction for as long as it streams. A commit
// that grows the data file past bbolt's memory map must remap it, and a
// remap waits for every open read transaction, while new ones queue behind
// it: a long backup would stop every write and read of the appliance. The
// file is mapped well ahead of its size (initialMmapSize), so they go on.
func TestWritesGoOnDuringAStalledBackup(t *testing.T) {
	db := openFileAt(t, filepath.Join(t.TempDir(), "pmassist.db"))
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	pr, pw := io.Pipe()
	backupDone := make(chan error, 1)
	go func() {
		_, err := NewOperations(db, OperationsConfig{}).Backup(context.Background(), pw, nil)
		_ = pw.CloseWithError(err)
		backupDone <- err
	}()
	// The backup's transaction is open once its first bytes arrive; then
	// nobody reads them, and it stays open.
	if _, err := io.ReadFull(pr, make([]byte, 4096)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		big := strings.Repeat("x", 3000)
		for i := range 40 { // ~12 MB: far past the map of a new file without headroom
			items := slackItems(fmt.Sprintf("p%d-", i), 100)
			for _, it := range items {
				it.Text = big
			}
			if _, err := db.UpsertItems(ctx, items, nil, "2026-03", -1); err != nil {
				done <- err
				return
			}
		}
		done <- db.Ping(ctx)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(20 * time.Second):
		_ = pr.Close()
		<-done
		t.Fatal("the writes waited for the backup to end")
	}
	_ = pr.Close()
	<-backupDone
	if sz := db.Size(); sz < 10<<20 {
		t.Fatalf("the file grew to %d bytes only: the test proves nothing", sz)
	}
}

func TestInitialMmapSize(t *testing.T) {
	for size, want := range map[int64]int{0: minMmapSize, 100 << 20: minMmapSize, 700 << 20: 1400 << 20} {
		if got := initialMmapSize(size); got != want {
			t.Errorf("%d: %d, want %d", size, got, want)
		}
	}
}
