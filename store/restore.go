package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// ErrDataFileInUse is the error of an offline command on a data file that
// a running server holds (bbolt's file lock).
var ErrDataFileInUse = errors.New("the data file is in use by a running server; stop it first")

// lockTimeout is how long offline commands wait for the data file's lock
// before deciding a server holds it.
const lockTimeout = 500 * time.Millisecond

// ValidateDataFile checks that path is a sound data file of this
// application that this build can open: a bbolt file (not truncated, every
// page where it belongs: bbolt's consistency check), whose meta bucket says
// "pmassist", with a schema version no newer than LatestSchemaVersion. It
// returns that schema version. It only reads, holding bbolt's shared lock;
// a file a running server holds is ErrDataFileInUse. Errors do not name
// path: the caller does. Garbage is an error, never a panic.
func ValidateDataFile(path string) (schema int, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	if !fi.Mode().IsRegular() {
		return 0, errors.New("not a regular file")
	}
	if fi.Size() == 0 {
		return 0, errors.New("the file is empty")
	}
	// bbolt reads the file through a memory map: on damaged pages it panics,
	// or faults on a page past the end. Both become an error here. (The
	// consistency check runs in a goroutine of bbolt's; every page it reads
	// has been read here first.)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			schema, err = 0, fmt.Errorf("not a valid PM Assistant data file: it is damaged (%v)", r)
		}
	}()
	// First the meta page and the meta bucket only; the freelist, which may
	// lie past the end of a truncated file, is not read yet.
	schema, err = checkHeader(path, fi.Size())
	if err != nil {
		return 0, err
	}
	// Now everything. The freelist is read at Open, on this goroutine, not
	// in Check's.
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout, PreLoadFreelist: true})
	if errors.Is(err, berrors.ErrTimeout) {
		return 0, ErrDataFileInUse
	}
	if err != nil {
		return 0, fmt.Errorf("not a PM Assistant data file: %w", err)
	}
	defer bdb.Close()
	err = bdb.View(func(tx *bolt.Tx) error {
		if err := touchAll(tx); err != nil {
			return fmt.Errorf("not a valid PM Assistant data file: %w", err)
		}
		var problems []string
		for err := range tx.Check() {
			if len(problems) < 5 {
				problems = append(problems, err.Error())
			}
		}
		if len(problems) > 0 {
			return fmt.Errorf("the file is damaged: %s", strings.Join(problems, "; "))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return schema, nil
}

// checkHeader opens the file read-only without its freelist and checks
// its size, that it is ours and its schema version.
func checkHeader(path string, size int64) (schema int, err error) {
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return 0, ErrDataFileInUse
	}
	if err != nil {
		return 0, fmt.Errorf("not a PM Assistant data file: %w", err)
	}
	defer bdb.Close()
	err = bdb.View(func(tx *bolt.Tx) error {
		if tx.Size() > size {
			return fmt.Errorf("the file is truncated: it has %d bytes of %d", size, tx.Size())
		}
		meta := tx.Bucket(bucketMeta)
		if meta == nil || string(meta.Get(keyApp)) != appName {
			return errors.New("not a PM Assistant data file (a bbolt file of another program)")
		}
		v, err := schemaVersion(tx)
		if err != nil {
			return fmt.Errorf("not a valid PM Assistant data file: %w", err)
		}
		if latest := LatestSchemaVersion(); v > latest {
			return fmt.Errorf("made by a newer PM Assistant (schema %d; this binary knows up to %d): upgrade pmassist first", v, latest)
		}
		schema = v
		return nil
	})
	if err != nil {
		return 0, err
	}
	return schema, nil
}

// touchAll reads every key and value of every bucket, so that a damaged
// page panics (or faults) here, where it is recovered.
func touchAll(tx *bolt.Tx) error {
	var walk func(b *bolt.Bucket) error
	walk = func(b *bolt.Bucket) error {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				if child := b.Bucket(k); child != nil {
					if err := walk(child); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
}

// CopyDataFile writes a consistent copy of the data file at path to w,
// offline: it opens the file read-only and fails with ErrDataFileInUse when
// a running server holds it.
func CopyDataFile(path string, w io.Writer) (int64, error) {
	if _, err := os.Stat(path); err != nil {
		return 0, err
	}
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return 0, ErrDataFileInUse
	}
	if err != nil {
		return 0, fmt.Errorf("open data file %s: %w", path, err)
	}
	defer bdb.Close()
	var n int64
	err = bdb.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	return n, err
}

// Restore puts file in place of the data file at dataPath, offline. It is
// refused while a server holds the data file (ErrDataFileInUse). file is
// copied beside the data file (and synced) and the copy validated
// (ValidateDataFile); only then is the current data file renamed to
// <dataPath>.bak-<now, UTC> and the copy renamed into its place. Any
// refusal leaves the data file untouched. keptAs is the path of the old
// file, "" when there was none.
//
// The restored file carries the file id of the file it was copied from
// and an older transaction id, so its DataVersion differs from the one the
// search index recorded: the index is rebuilt at the next start.
func Restore(dataPath, file string, now time.Time) (keptAs string, err error) {
	dir := filepath.Dir(dataPath)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create data folder: %w", err)
	}
	if a, err := os.Stat(file); err != nil {
		return "", err
	} else if b, err := os.Stat(dataPath); err == nil && os.SameFile(a, b) {
		return "", fmt.Errorf("%s is the data file itself", file)
	}

	// Hold the data file's lock, shared, until the end: a server starting
	// meanwhile waits for it (and gives up).
	if _, err := os.Stat(dataPath); err == nil {
		lock, err := bolt.Open(dataPath, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
		if errors.Is(err, berrors.ErrTimeout) {
			return "", ErrDataFileInUse
		}
		if err == nil {
			defer lock.Close()
		}
		// Another error: the current file is damaged. Restoring is what it
		// needs.
	}

	tmp, err := copyBeside(file, dir, "."+filepath.Base(dataPath)+".restore-*")
	if err != nil {
		return "", fmt.Errorf("copy %s: %w", file, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp)
		}
	}()
	if _, err = ValidateDataFile(tmp); err != nil {
		if errors.Is(err, ErrDataFileInUse) {
			err = fmt.Errorf("%s is in use by a running server", file)
		}
		return "", fmt.Errorf("%s: %w", file, err)
	}

	if _, serr := os.Stat(dataPath); serr == nil {
		keptAs = dataPath + ".bak-" + now.UTC().Format(backupTimeLayout)
		for i := 1; ; i++ {
			if _, serr := os.Lstat(keptAs); errors.Is(serr, os.ErrNotExist) {
				break
			}
			keptAs = fmt.Sprintf("%s.bak-%s-%d", dataPath, now.UTC().Format(backupTimeLayout), i)
		}
		if err = os.Rename(dataPath, keptAs); err != nil {
			return "", fmt.Errorf("keeping the current data file: %w", err)
		}
	}
	if err = os.Rename(tmp, dataPath); err != nil {
		if keptAs != "" {
			if rerr := os.Rename(keptAs, dataPath); rerr != nil {
				return "", fmt.Errorf("putting the restored file in place: %w; and the old data file could not be put back (%v): it is %s", err, rerr, keptAs)
			}
		}
		return "", fmt.Errorf("putting the restored file in place: %w", err)
	}
	if err = syncDir(dir); err != nil {
		return keptAs, fmt.Errorf("restored, but syncing the data folder failed: %w", err)
	}
	return keptAs, nil
}

// copyBeside copies src to a new temporary file in dir (0600), synced, and
// returns its path.
func copyBeside(src, dir, pattern string) (path string, err error) {
	in, err := os.Open(src)
	if err != nil {
		return "", err
	}
	defer in.Close()
	out, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return "", err
	}
	path = out.Name()
	if _, err = io.Copy(out, in); err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(path, 0o600)
	}
	if err != nil {
		_ = os.Remove(path)
		return "", err
	}
	return path, nil
}

// CheckDataFileKeys reports whether keys open the sealed values of the data
// file at path, offline and read-only, by its key checks: nil when they
// do (or the file has none yet), else an error naming the key missing.
func CheckDataFileKeys(path string, keys *Keyring) error {
	bdb, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: lockTimeout})
	if errors.Is(err, berrors.ErrTimeout) {
		return ErrDataFileInUse
	}
	if err != nil {
		return err
	}
	defer bdb.Close()
	v := &vault{keys: keys}
	return bdb.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			return errors.New("not a PM Assistant data file")
		}
		checks := meta.Bucket(bucketKeyChecks)
		if checks == nil {
			return nil
		}
		return v.verifyKeyChecks(checks)
	})
}
