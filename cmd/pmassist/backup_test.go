package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/password"
	"github.com/pmassist/pmassist/store"
	bolt "go.etcd.io/bbolt"
)

// backupServer returns the base URL that serves GET /api/v1/admin/backup
// for m: m's own server, or, while its build does not serve it from
// m.Operations yet, a stand-in with the same contract on m.Operations.
func backupServer(t *testing.T, m *app.Main, token string) string {
	t.Helper()
	base := "http://" + m.Server.Addr()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/admin/backup", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode == http.StatusOK {
		return base
	}
	t.Logf("the server answers GET /api/v1/admin/backup with %d (not wired to m.Operations yet): backing up through a stand-in on m.Operations", res.StatusCode)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/admin/backup" || r.Header.Get("Authorization") != "Bearer "+token {
			http.Error(w, `{"error":{"code":"unauthorized","message":"no"}}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = m.Operations.Backup(r.Context(), w, func(n int64) { w.Header().Set("Content-Length", strconv.FormatInt(n, 10)) })
	}))
	t.Cleanup(ts.Close)
	return ts.URL
}

// connectSlack connects the logged-in client's tenant to the Slack
// stand-in and ingests it.
func connectSlack(t *testing.T, c *apiClient) {
	t.Helper()
	authURL := c.call("POST", "/api/v1/oauth/slack/authorize", nil, 200)["url"].(string)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, _ := url.Parse(res.Header.Get("Location"))
	c.call("POST", "/api/v1/oauth/slack/callback", map[string]string{"code": back.Query().Get("code"), "state": back.Query().Get("state")}, 201)
	ingest(t, c)
}

// ingest runs a Slack ingestion and waits for it to succeed: that needs
// the sealed connection token to open.
func ingest(t *testing.T, c *apiClient) {
	t.Helper()
	jobs := c.call("POST", "/api/v1/ingestion/slack", nil, 202)["jobs"].([]any)
	jobID := jobs[0].(map[string]any)["id"].(string)
	waitFor(t, func() bool {
		st := c.call("GET", "/api/v1/jobs/"+jobID, nil, 200)["status"]
		if st == "failed" {
			t.Fatalf("ingestion failed: %v", c.call("GET", "/api/v1/jobs/"+jobID, nil, 200))
		}
		return st == "succeeded"
	})
}

func total(t *testing.T, c *apiClient, q string) float64 {
	t.Helper()
	return c.call("GET", "/api/v1/search?q="+url.QueryEscape(q)+"&sort=date&limit=50", nil, 200)["total"].(float64)
}

func invitationEmails(t *testing.T, c *apiClient) []string {
	t.Helper()
	var emails []string
	for _, inv := range c.call("GET", "/api/v1/invitations", nil, 200)["invitations"].([]any) {
		emails = append(emails, inv.(map[string]any)["email"].(string))
	}
	return emails
}

// TestBackupAndRestore backs up a running appliance through its API,
// changes more, stops it, refuses bad files, restores the backup and
// starts again: exactly the backed-up state, searchable, with its API
// token and its sealed Slack token working under the same master key.
func TestBackupAndRestore(t *testing.T) {
	dir := t.TempDir()
	work := t.TempDir()
	dataPath := filepath.Join(dir, app.DataFileName)
	slack := fake.NewSlack(fake.Options{ClientID: "slack-client", ClientSecret: "slack-secret", AccessTTL: 12 * time.Hour, AutoApprove: true})
	slackTS := httptest.NewServer(slack)
	defer slackTS.Close()

	m := mainWithSlack(dir, slackTS.URL)
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = m.Close()
		}
	}()
	base := "http://" + m.Server.Addr()
	c := newClient(t, base)
	c.call("POST", "/api/v1/setup", map[string]string{"email": "op@acme.test", "password": pw, "name": "Op", "tenant_name": "Acme"}, 201)
	c.call("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": pw}, 200)
	c.csrf = c.call("GET", "/api/v1/me", nil, 200)["csrf_token"].(string)
	tok := c.call("POST", "/api/v1/tokens", map[string]string{"name": "backups"}, 201)["token"].(string)
	connectSlack(t, c)
	c.call("POST", "/api/v1/decision-logs", map[string]any{"title": "Adopt the kestrel plan", "summary": "before the backup",
		"decided_at": time.Now().UTC().Format(time.RFC3339)}, 201)
	c.call("POST", "/api/v1/invitations", map[string]string{"email": "early@acme.test", "role": "member"}, 201)
	if err := m.Index.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	decided := total(t, c, "decided")
	if decided == 0 || total(t, c, "kestrel") != 1 {
		t.Fatalf("before the backup: %v results for decided, %v for kestrel", decided, total(t, c, "kestrel"))
	}

	// Back up through the running server.
	backupFile := filepath.Join(work, "backup.db")
	rc, out, stderr := run(t, map[string]string{"PMASSIST_BACKUP_TOKEN": tok},
		"backup", "--server", backupServer(t, m, tok), "--out", backupFile)
	if rc != 0 || !strings.Contains(out, backupFile) {
		t.Fatalf("backup through the server: rc %d, %q %q", rc, out, stderr)
	}
	if fi, err := os.Stat(backupFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	if rc, _, stderr := run(t, nil, "backup", "--server", base, "--token", "pma_wrong", "--out", filepath.Join(work, "x.db")); rc != 1 || !strings.Contains(stderr, "401") {
		t.Errorf("backup with a wrong token: rc %d, %q", rc, stderr)
	}
	if _, err := os.Stat(filepath.Join(work, "x.db")); err == nil {
		t.Error("a refused backup left a file")
	}

	// Without --server, the running server's file is refused.
	rc, _, stderr = run(t, nil, "backup", "--data", dir, "--out", filepath.Join(work, "offline.db"))
	if rc != 1 || !strings.Contains(stderr, "in use by a running server: use --server URL --token TOKEN") {
		t.Fatalf("offline backup of a running server: rc %d, %q", rc, stderr)
	}
	// restore too.
	rc, _, stderr = run(t, nil, "restore", backupFile, "--data", dir)
	if rc != 1 || !strings.Contains(stderr, "in use by a running server; stop it first") {
		t.Fatalf("restore under a running server: rc %d, %q", rc, stderr)
	}

	// Changes after the backup.
	c.call("POST", "/api/v1/decision-logs", map[string]any{"title": "Adopt the zanzibar plan", "summary": "after the backup",
		"decided_at": time.Now().UTC().Format(time.RFC3339)}, 201)
	c.call("POST", "/api/v1/invitations", map[string]string{"email": "late@acme.test", "role": "member"}, 201)
	if err := m.Index.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if total(t, c, "zanzibar") != 1 {
		t.Fatal("the later decision is not searchable")
	}
	stopped = true
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// Stopped: a backup straight from the file works.
	offline := filepath.Join(work, "offline.db")
	if rc, out, stderr := run(t, nil, "backup", "--data", dir, "--out", offline); rc != 0 || !strings.Contains(out, offline) {
		t.Fatalf("offline backup: rc %d, %q %q", rc, out, stderr)
	}
	if _, err := store.ValidateDataFile(offline); err != nil {
		t.Fatal(err)
	}

	// Bad files are refused and change nothing.
	current, err := os.ReadFile(dataPath)
	if err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(work, "garbage.db")
	if err := os.WriteFile(garbage, bytes.Repeat([]byte("not a data file "), 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	newer := filepath.Join(work, "newer.db")
	data, _ := os.ReadFile(backupFile)
	if err := os.WriteFile(newer, data, 0o600); err != nil {
		t.Fatal(err)
	}
	bdb, err := bolt.Open(newer, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := bdb.Update(func(tx *bolt.Tx) error {
		v := make([]byte, 8)
		v[7] = byte(store.LatestSchemaVersion() + 1)
		return tx.Bucket([]byte("meta")).Put([]byte("schema_version"), v)
	}); err != nil {
		t.Fatal(err)
	}
	_ = bdb.Close()
	for file, want := range map[string]string{garbage: "not a PM Assistant data file", newer: "made by a newer PM Assistant"} {
		rc, _, stderr := run(t, nil, "restore", file, "--data", dir)
		if rc != 1 || !strings.Contains(stderr, want) || !strings.Contains(stderr, "nothing was changed") {
			t.Errorf("restore %s: rc %d, %q", filepath.Base(file), rc, stderr)
		}
		if now, _ := os.ReadFile(dataPath); !bytes.Equal(now, current) {
			t.Fatalf("a refused restore of %s changed the data file", filepath.Base(file))
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".bak-") || strings.Contains(e.Name(), "restore") {
			t.Errorf("a refused restore left %s", e.Name())
		}
	}
	if rc, _, _ := run(t, nil, "restore", "--data", dir); rc != 2 {
		t.Errorf("restore without FILE: rc %d", rc)
	}

	// Restore (FILE before the flags this time) and start again.
	rc, out, stderr = run(t, nil, "restore", "--data", dir, backupFile)
	if rc != 0 || !strings.Contains(out, ".bak-") || !strings.Contains(out, "rebuilt at the next start") {
		t.Fatalf("restore: rc %d, %q %q", rc, out, stderr)
	}
	if strings.Contains(stderr, "warning") {
		t.Errorf("restore warned: %q", stderr)
	}
	bak, _ := filepath.Glob(dataPath + ".bak-*")
	if len(bak) != 1 {
		t.Fatalf("kept files: %v", bak)
	}
	if old, _ := os.ReadFile(bak[0]); !bytes.Equal(old, current) {
		t.Error("the kept file is not the old data file")
	}

	m2 := mainWithSlack(dir, slackTS.URL)
	if err := m2.Open(); err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	c2 := newClient(t, "http://"+m2.Server.Addr())
	waitFor(t, func() bool { return m2.Index.IndexState().State == "ready" })
	c2.call("GET", "/readyz", nil, 200)
	bearer := newClient(t, "http://"+m2.Server.Addr())
	bearer.token = tok
	if me := bearer.call("GET", "/api/v1/me", nil, 200); me["user"].(map[string]any)["email"] != "op@acme.test" {
		t.Fatalf("me with the backed-up token: %v", me)
	}
	if got := total(t, bearer, "decided"); got != decided {
		t.Errorf("after the restore %v results for decided, before %v", got, decided)
	}
	if total(t, bearer, "kestrel") != 1 {
		t.Error("the backed-up decision is not found")
	}
	if total(t, bearer, "zanzibar") != 0 {
		t.Error("the decision made after the backup is still found")
	}
	if emails := strings.Join(invitationEmails(t, bearer), ","); !strings.Contains(emails, "early@acme.test") || strings.Contains(emails, "late@acme.test") {
		t.Errorf("invitations after the restore: %s", emails)
	}
	// The sealed Slack token still opens: ingestion runs again.
	ingest(t, bearer)
}

// TestScheduledBackups turns on PMASSIST_BACKUP_DIR: with no backup yet,
// the first one is written at start.
func TestScheduledBackups(t *testing.T) {
	dir, backups := t.TempDir(), filepath.Join(t.TempDir(), "backups")
	m := app.NewMain()
	m.Config.Addr, m.Config.DataDir, m.PasswordParams = "127.0.0.1:0", dir, password.Cheap
	m.Config.Backup = app.BackupConfig{Dir: backups, Interval: time.Hour, Keep: 2}
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	waitFor(t, func() bool {
		st, err := m.Operations.BackupStatus(context.Background())
		return err == nil && st.LastSuccess != nil && st.NextAt != nil
	})
	st, _ := m.Operations.BackupStatus(context.Background())
	if !st.Enabled || st.Keep != 2 || st.Interval != time.Hour || len(st.Backups) != 1 {
		t.Fatalf("status %+v", st)
	}
	if _, err := store.ValidateDataFile(filepath.Join(backups, st.Backups[0].Name)); err != nil {
		t.Fatal(err)
	}
}

func TestBackupSettings(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		rc      int
		wantErr string
	}{
		{"bad interval", map[string]string{"PMASSIST_BACKUP_INTERVAL": "daily"}, []string{"--data", dir}, 2, "PMASSIST_BACKUP_INTERVAL"},
		{"short interval", map[string]string{"PMASSIST_BACKUP_INTERVAL": "30s"}, []string{"--data", dir}, 2, "at least 1m"},
		{"bad keep", map[string]string{"PMASSIST_BACKUP_KEEP": "0"}, []string{"--data", dir}, 2, "PMASSIST_BACKUP_KEEP"},
		{"good settings", map[string]string{"PMASSIST_BACKUP_INTERVAL": "6h", "PMASSIST_BACKUP_KEEP": "3"},
			[]string{"--addr", "127.0.0.1:0", "--data", dir, "--backup-dir", filepath.Join(dir, "b"), "--log-format", "json"}, 0, ""},
		{"backup without --out", nil, []string{"backup", "--data", dir}, 2, "--out"},
		{"server without token", nil, []string{"backup", "--out", filepath.Join(dir, "x"), "--server", "http://127.0.0.1:1"}, 2, "--token"},
		{"bad server", nil, []string{"backup", "--out", filepath.Join(dir, "x"), "--server", "localhost:8080", "--token", "t"}, 2, "--server"},
		{"no data file", nil, []string{"backup", "--out", filepath.Join(dir, "x"), "--data", filepath.Join(dir, "none")}, 1, "no data file"},
		{"restore missing file", nil, []string{"restore", filepath.Join(dir, "none.db"), "--data", dir}, 1, "nothing was changed"},
		{"restore extra argument", nil, []string{"restore", "a.db", "b.db", "--data", dir}, 2, "unexpected argument"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, _, stderr := run(t, tc.env, tc.args...)
			if rc != tc.rc || !strings.Contains(stderr, tc.wantErr) {
				t.Fatalf("rc %d (want %d), stderr %q (want %q)", rc, tc.rc, stderr, tc.wantErr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a failed backup left its file")
	}
	rc, out, _ := run(t, nil, "help")
	if rc != 0 || !strings.Contains(out, "backup --out FILE") || !strings.Contains(out, "restore FILE") {
		t.Errorf("usage: %q", out)
	}
}

// TestBackupToStdout writes a backup of a stopped data folder to
// standard output.
func TestBackupToStdout(t *testing.T) {
	dir := t.TempDir()
	m := app.NewMain()
	m.Config.Addr, m.Config.DataDir, m.PasswordParams = "127.0.0.1:0", dir, password.Cheap
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	rc, out, stderr := run(t, nil, "backup", "--data", dir, "--out", "-")
	if rc != 0 || !strings.Contains(stderr, "standard output") {
		t.Fatalf("rc %d, %q", rc, stderr)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, []byte(out), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ValidateDataFile(path); err != nil {
		t.Fatal(err)
	}
}

// syncBuffer is a log destination for several goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestCompactWhileServing compacts the data file of a running appliance:
// it keeps serving, the search index is trusted at the next start (no
// rebuild), and a backup from before the compaction, restored, is not
// mistaken for the compacted file (the index is rebuilt).
func TestCompactWhileServing(t *testing.T) {
	dir, work := t.TempDir(), t.TempDir()
	dataPath := filepath.Join(dir, app.DataFileName)
	slack := fake.NewSlack(fake.Options{ClientID: "slack-client", ClientSecret: "slack-secret", AccessTTL: 12 * time.Hour, AutoApprove: true})
	slackTS := httptest.NewServer(slack)
	defer slackTS.Close()
	start := func() (*app.Main, *syncBuffer) {
		t.Helper()
		logs := &syncBuffer{}
		m := mainWithSlack(dir, slackTS.URL)
		m.Logger = slog.New(slog.NewTextHandler(logs, nil))
		if err := m.Open(); err != nil {
			t.Fatal(err)
		}
		return m, logs
	}

	m, _ := start()
	c := newClient(t, "http://"+m.Server.Addr())
	c.call("POST", "/api/v1/setup", map[string]string{"email": "op@acme.test", "password": pw, "name": "Op", "tenant_name": "Acme"}, 201)
	c.call("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": pw}, 200)
	c.csrf = c.call("GET", "/api/v1/me", nil, 200)["csrf_token"].(string)
	connectSlack(t, c)
	for i := range 30 {
		id := c.call("POST", "/api/v1/decision-logs", map[string]any{"title": fmt.Sprintf("Temporary %d", i), "summary": strings.Repeat("filler ", 500),
			"decided_at": time.Now().UTC().Format(time.RFC3339)}, 201)["id"].(string)
		c.call("DELETE", "/api/v1/decision-logs/"+id, nil, 204)
	}
	if err := m.Index.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	decided := total(t, c, "decided")

	before := filepath.Join(work, "before.db")
	f, err := os.Create(before)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Operations.Backup(context.Background(), f, nil); err != nil {
		t.Fatal(err)
	}
	_ = f.Close()

	res, err := m.Operations.Compact(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.AfterBytes > res.BeforeBytes {
		t.Errorf("compaction grew the file: %+v", res)
	}
	c.call("POST", "/api/v1/decision-logs", map[string]any{"title": "Adopt the osprey plan", "summary": "after compacting",
		"decided_at": time.Now().UTC().Format(time.RFC3339)}, 201)
	if err := m.Index.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	if total(t, c, "osprey") != 1 || total(t, c, "decided") != decided {
		t.Fatal("search after the compaction")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// The next start trusts the index.
	m, logs := start()
	if st := m.Index.IndexState(); st.State != "ready" || strings.Contains(logs.String(), "rebuilding") {
		t.Fatalf("the index was rebuilt after a compaction: %s\n%s", st.State, logs)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// The backup from before the compaction, put in place by hand with the
	// index left as it is, is seen as another file.
	if _, err := store.Restore(dataPath, before, time.Now()); err != nil {
		t.Fatal(err)
	}
	m, logs = start()
	defer m.Close()
	waitFor(t, func() bool { return m.Index.IndexState().State == "ready" })
	if !strings.Contains(logs.String(), "not the one the index was built from") {
		t.Fatalf("no rebuild after restoring a copy from before the compaction:\n%s", logs)
	}
	bearer := newClient(t, "http://"+m.Server.Addr())
	bearer.call("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": pw}, 200)
	if total(t, bearer, "osprey") != 0 || total(t, bearer, "decided") != decided {
		t.Fatal("search after restoring the copy from before the compaction")
	}
}
