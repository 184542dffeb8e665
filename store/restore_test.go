package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// goodFile makes a closed data file with a tenant and a decision in it.
func goodFile(t *testing.T, path string) {
	t.Helper()
	db, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	mustDecision(t, db, tenantCtx(tenant.ID), newDecision("one", 1))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	trimToData(t, path)
}

// trimToData cuts a closed data file after its last page, as a backup copy
// is: bbolt grows the file ahead of its pages (16 MB at a time, since
// Open maps it with headroom), and the tests below cut or damage the pages.
func trimToData(t *testing.T, path string) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var size int64
	err = bdb.View(func(tx *bolt.Tx) error {
		size = tx.Size()
		return nil
	})
	if err = errors.Join(err, bdb.Close()); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func copyTo(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// boltEdit changes a closed bbolt file directly.
func boltEdit(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	bdb, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := bdb.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestValidateDataFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	goodFile(t, good)
	goodBytes, _ := os.ReadFile(good)

	random := make([]byte, 64<<10)
	_, _ = rand.Read(random)

	foreign := filepath.Join(dir, "foreign.db")
	boltEdit(t, foreign, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket([]byte("settings"))
		if err != nil {
			return err
		}
		return b.Put([]byte("k"), []byte("v"))
	})
	otherApp := filepath.Join(dir, "other-app.db")
	boltEdit(t, otherApp, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		return b.Put(keyApp, []byte("someone-else"))
	})
	newer := filepath.Join(dir, "newer.db")
	copyTo(t, good, newer)
	boltEdit(t, newer, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, u64(uint64(LatestSchemaVersion()+1)))
	})

	// Valid meta pages, garbage everywhere else: bbolt panics on such pages.
	damaged := bytes.Clone(goodBytes)
	pageSize := 4096
	for i := 2 * pageSize; i < len(damaged); i++ {
		damaged[i] = random[i%len(random)]
	}

	files := map[string][]byte{
		"random.db":    random,
		"empty.db":     {},
		"text.db":      []byte(strings.Repeat("this is not a database\n", 500)),
		"truncated.db": goodBytes[:len(goodBytes)/2],
		"damaged.db":   damaged,
		"tiny.db":      []byte("x"),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	cases := map[string]string{
		"random.db":    "not a PM Assistant data file",
		"empty.db":     "empty",
		"text.db":      "not a PM Assistant data file",
		"truncated.db": "truncated",
		"damaged.db":   "damaged",
		"tiny.db":      "",
		"foreign.db":   "another program",
		"other-app.db": "another program",
		"newer.db":     "made by a newer PM Assistant",
		"missing.db":   "no such file",
	}
	for name, want := range cases {
		t.Run(name, func(t *testing.T) {
			v, err := ValidateDataFile(filepath.Join(dir, name))
			if err == nil || v != 0 || !strings.Contains(err.Error(), want) {
				t.Fatalf("ValidateDataFile: %d, %v; want an error saying %q", v, err, want)
			}
			t.Log(err)
		})
	}
	if _, err := ValidateDataFile(newer); err == nil || !strings.Contains(err.Error(), "this binary knows up to") {
		t.Errorf("newer: %v", err)
	}
	if v, err := ValidateDataFile(good); err != nil || v != LatestSchemaVersion() {
		t.Errorf("good file: %d, %v", v, err)
	}
	if v, err := ValidateDataFile(dir); err == nil {
		t.Errorf("a folder: %d, %v", v, err)
	}

	// A file a server holds.
	db := openFileAt(t, good)
	if _, err := ValidateDataFile(good); !errors.Is(err, ErrDataFileInUse) {
		t.Errorf("file in use: %v", err)
	}
	_ = db.Close()
}

// TestValidateDataFile_DamagedPages damages one page at a time of a good
// file: every result is an answer, never a crash, and most are refusals.
func TestValidateDataFile_DamagedPages(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	db, err := Open(good, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	for i := range 40 {
		d := newDecision(strings.Repeat("t", i+1), i)
		d.Summary = strings.Repeat("s", 1500)
		mustDecision(t, db, tenantCtx(tenant.ID), d)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	trimToData(t, good)
	goodBytes, _ := os.ReadFile(good)
	const pageSize = 4096
	noise := make([]byte, pageSize)
	refused := 0
	for page := 2; page*pageSize < len(goodBytes); page++ {
		for _, n := range []int{pageSize, 16} { // the whole page, or its header
			damaged := bytes.Clone(goodBytes)
			_, _ = rand.Read(noise)
			copy(damaged[page*pageSize:page*pageSize+n], noise[:n])
			path := filepath.Join(dir, "damaged.db")
			if err := os.WriteFile(path, damaged, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := ValidateDataFile(path); err != nil {
				refused++
			}
		}
	}
	if refused == 0 {
		t.Error("no damaged file was refused")
	}
}

func TestRestore(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data", "pmassist.db")
	db, err := Open(data, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	kept := mustDecision(t, db, ctx, newDecision("in the backup", 1))
	backup := filepath.Join(dir, "backup.db")
	f, err := os.Create(backup)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Backup(context.Background(), f, nil); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()
	later := mustDecision(t, db, ctx, newDecision("after the backup", 2))
	fileID, txBefore, _ := db.DataVersion()

	// Refused while the data file is open.
	if _, err := Restore(data, backup, time.Now()); !errors.Is(err, ErrDataFileInUse) {
		t.Fatalf("restore while in use: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	current, _ := os.ReadFile(data)

	// Refused: garbage and a newer schema; nothing changes.
	garbage := filepath.Join(dir, "garbage.db")
	if err := os.WriteFile(garbage, []byte(strings.Repeat("garbage", 3000)), 0o600); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(dir, "newer.db")
	copyTo(t, backup, newer)
	boltEdit(t, newer, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, u64(uint64(LatestSchemaVersion()+1)))
	})
	for _, bad := range []string{garbage, newer, filepath.Join(dir, "missing.db"), data} {
		if _, err := Restore(data, bad, time.Now()); err == nil {
			t.Errorf("restore of %s succeeded", bad)
		} else {
			t.Log(err)
		}
		if now, _ := os.ReadFile(data); !bytes.Equal(now, current) {
			t.Fatalf("a refused restore of %s changed the data file", bad)
		}
		entries, _ := os.ReadDir(filepath.Dir(data))
		if len(entries) != 1 {
			t.Fatalf("a refused restore left files: %v", entries)
		}
	}

	at := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	keptAs, err := Restore(data, backup, at)
	if err != nil {
		t.Fatal(err)
	}
	if keptAs != data+".bak-20261128T020000Z" {
		t.Errorf("kept as %q", keptAs)
	}
	if old, _ := os.ReadFile(keptAs); !bytes.Equal(old, current) {
		t.Error("the kept file is not the old data file")
	}
	if fi, err := os.Stat(data); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("restored file: %v %v", fi, err)
	}

	db = openFileAt(t, data)
	if _, err := db.FindDecision(ctx, kept.ID); err != nil {
		t.Errorf("the backed-up decision: %v", err)
	}
	if _, err := db.FindDecision(ctx, later.ID); err == nil {
		t.Error("the later decision survived the restore")
	}
	// The search index recorded (fileID, txBefore) at its last close: the
	// restored file is the same file in an older state, so the index sees
	// another version and is rebuilt.
	id, tx, err := db.DataVersion()
	if err != nil || id != fileID || tx >= txBefore {
		t.Errorf("restored data version %s/%d, before %s/%d, %v", id, tx, fileID, txBefore, err)
	}
	_ = db.Close()

	// A second restore in the same second keeps both old files.
	keptAs2, err := Restore(data, backup, at)
	if err != nil || keptAs2 == keptAs || !strings.HasPrefix(keptAs2, data+".bak-20261128T020000Z") {
		t.Errorf("second restore: %q, %v", keptAs2, err)
	}

	// Into an empty folder: nothing to keep.
	fresh := filepath.Join(dir, "fresh", "pmassist.db")
	if keptAs, err := Restore(fresh, backup, at); err != nil || keptAs != "" {
		t.Errorf("restore into a new folder: %q, %v", keptAs, err)
	}
}

func TestCopyDataFileAndKeys(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pmassist.db")
	keys := mustKeyring(t)
	db, err := Open(path, Options{NoSync: true, Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := CopyDataFile(path, &buf); !errors.Is(err, ErrDataFileInUse) {
		t.Fatalf("copy while in use: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	n, err := CopyDataFile(path, &buf)
	if err != nil || n == 0 || int64(buf.Len()) != n {
		t.Fatalf("copy: %d, %v", n, err)
	}
	cp := filepath.Join(dir, "copy.db")
	if err := os.WriteFile(cp, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ValidateDataFile(cp); err != nil {
		t.Fatal(err)
	}
	if err := CheckDataFileKeys(cp, keys); err != nil {
		t.Errorf("the right keys: %v", err)
	}
	if err := CheckDataFileKeys(cp, mustKeyring(t)); err == nil {
		t.Error("other keys pass the key check")
	}
}
