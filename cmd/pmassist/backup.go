package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/store"
)

// errBackupInUse is the answer of `backup` without --server while a server
// holds the data file.
var errBackupInUse = errors.New("the data file is in use by a running server: use --server URL --token TOKEN (an operator's API token) to back up through it")

// runBackup writes a consistent copy of the data file to --out: downloaded
// from a running server (GET /api/v1/admin/backup with an operator's API
// token), or read from the data file itself when no server runs. The copy
// goes to a temporary file beside --out, is checked (store.ValidateDataFile)
// and only then renamed to --out; "--out -" writes it to standard output.
// The token may also come from PMASSIST_BACKUP_TOKEN, which keeps it out of
// the process list.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("backup", stderr)
	var dataDir string
	registerDataFlag(fs, getenv, &dataDir)
	out := fs.String("out", "", "file to write the backup to, '-' for standard output (required)")
	server := fs.String("server", "", "base URL of a running server to back up through, e.g. http://localhost:8080")
	token := fs.String("token", getenv("PMASSIST_BACKUP_TOKEN"), "an operator's API token for --server (PMASSIST_BACKUP_TOKEN)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return &usageError{"backup needs --out FILE (or --out - for standard output)"}
	}
	if *server != "" {
		if u, err := url.Parse(*server); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return invalid("server", "", *server, "must be the server's http(s) base URL, e.g. http://localhost:8080")
		}
		if *token == "" {
			return &usageError{"--server needs --token (or PMASSIST_BACKUP_TOKEN): an API token of an operator"}
		}
	}

	tmpDir, pattern := filepath.Dir(*out), "."+filepath.Base(*out)+".tmp-*"
	if *out == "-" {
		tmpDir, pattern = "", "pmassist-backup-*.db"
	}
	f, err := os.CreateTemp(tmpDir, pattern)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		if !done {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	var n int64
	if *server != "" {
		n, err = downloadBackup(ctx, *server, *token, f)
	} else {
		n, err = copyDataFile(filepath.Join(dataDir, app.DataFileName), f)
	}
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	schema, err := store.ValidateDataFile(tmp)
	if err != nil {
		return fmt.Errorf("the backup is not a valid data file, nothing was written: %w", err)
	}

	if *out == "-" {
		in, err := os.Open(tmp)
		if err != nil {
			return err
		}
		_, err = io.Copy(stdout, in)
		_ = in.Close()
		_ = os.Remove(tmp)
		done = true
		if err != nil {
			return fmt.Errorf("backup: writing to standard output: %w", err)
		}
		fmt.Fprintf(stderr, "wrote a backup of %s (schema %d) to standard output\n", formatBytes(n), schema)
		return nil
	}
	if err := os.Rename(tmp, *out); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	done = true
	syncDir(filepath.Dir(*out))
	fmt.Fprintf(stdout, "wrote %s: %s (%d bytes, schema %d)\n", *out, formatBytes(n), n, schema)
	fmt.Fprintln(stdout, "the master key is not in it: keep a copy of master.key (or PMASSIST_MASTER_KEY) apart from your backups")
	return nil
}

// downloadBackup streams GET BASE/api/v1/admin/backup into w.
func downloadBackup(ctx context.Context, base, token string, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/api/v1/admin/backup", nil)
	if err != nil {
		return 0, &usageError{fmt.Sprintf("invalid --server %q", base)}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("backup: the server answered %s: %s", resp.Status, apiErrorMessage(resp.Body))
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("backup: the download broke off after %d bytes: %w", n, err)
	}
	if resp.ContentLength >= 0 && n != resp.ContentLength {
		return n, fmt.Errorf("backup: the download broke off after %d of %d bytes", n, resp.ContentLength)
	}
	return n, nil
}

// apiErrorMessage reads the message of an API error body (api.md), or the
// start of whatever else it is.
func apiErrorMessage(r io.Reader) string {
	body, _ := io.ReadAll(io.LimitReader(r, 4096))
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		return e.Error.Message
	}
	return strings.TrimSpace(string(body))
}

// copyDataFile copies the data file at path into w, offline.
func copyDataFile(path string, w io.Writer) (int64, error) {
	n, err := store.CopyDataFile(path, w)
	switch {
	case errors.Is(err, store.ErrDataFileInUse):
		return 0, errBackupInUse
	case errors.Is(err, fs.ErrNotExist):
		return 0, fmt.Errorf("there is no data file at %s (use --data DIR, or --server to back up a running server)", path)
	case err != nil:
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

// runRestore puts FILE in place of the data file, offline (store.Restore),
// and removes the search index so that it is rebuilt from the restored
// file at the next start.
func runRestore(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("restore", stderr)
	var dataDir string
	registerDataFlag(fs, getenv, &dataDir)
	usage := &usageError{"usage: pmassist restore FILE [--data DIR]"}
	// FILE may come before or after the flags.
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() == 0 {
		return usage
	}
	file := fs.Arg(0)
	if err := parseFlags(fs, fs.Args()[1:]); err != nil {
		return err
	}
	if file == "" {
		return usage
	}
	dataPath := filepath.Join(dataDir, app.DataFileName)
	keptAs, err := store.Restore(dataPath, file, time.Now())
	if errors.Is(err, store.ErrDataFileInUse) {
		return err
	}
	if err != nil && keptAs == "" {
		return fmt.Errorf("nothing was changed: %w", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "restored %s to %s\n", file, dataPath)
	if keptAs != "" {
		fmt.Fprintf(stdout, "the previous data file is kept as %s\n", keptAs)
	}

	// The index matches the old file. It would notice the restored file's
	// older version by itself, but after a restore of a restore two states
	// can share a version: removing it makes the rebuild certain.
	if err := os.RemoveAll(filepath.Join(dataDir, app.IndexDirName)); err != nil {
		fmt.Fprintf(stderr, "warning: removing the old search index failed (%v); remove %s before the next start\n", err,
			filepath.Join(dataDir, app.IndexDirName))
	}
	fmt.Fprintln(stdout, "the search index is rebuilt at the next start")

	keys, err := app.LoadKeyring(dataDir, getenv("PMASSIST_MASTER_KEY"), false, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(stdout, "note: stored connection tokens open only with the master key this file was made with (%v)\n", err)
	} else if err := store.CheckDataFileKeys(dataPath, keys); err != nil {
		fmt.Fprintf(stderr, "warning: %v: the server will not start until PMASSIST_MASTER_KEY or %s holds the master key the restored file was made with\n",
			err, filepath.Join(dataDir, app.MasterKeyFile))
	}
	return nil
}

// syncDir makes a rename in dir durable, as far as it can.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// formatBytes is n in a unit a person reads.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
