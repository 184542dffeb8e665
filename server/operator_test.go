package server

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/store"
)

// system is the env's Services.System: what app.Main composes, from the
// env's parts. The env runs no scheduler, so it reports a fixed one.
func (e *env) system(ctx context.Context) pmassist.SystemInfo {
	info := pmassist.SystemInfo{Version: pmassist.Version, Commit: pmassist.Commit, StartedAt: e.started,
		Index: e.index.IndexState(), SchedulerRunning: true, SchedulerJobs: 3,
		GoVersion: runtime.Version(), Goroutines: runtime.NumGoroutine()}
	if fi, err := os.Stat(e.db.Path()); err == nil {
		info.DataFileBytes = fi.Size()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	info.HeapBytes = ms.HeapAlloc
	if st, err := e.ops.BackupStatus(ctx); err == nil {
		info.Backups = st
	}
	return info
}

// operatorAPIRoutes are the operator endpoints of this file.
var operatorAPIRoutes = []struct{ method, path string }{
	{"GET", "/api/v1/admin/system"},
	{"GET", "/api/v1/admin/backup"},
	{"GET", "/api/v1/admin/backups"},
	{"POST", "/api/v1/admin/backups"},
	{"POST", "/api/v1/admin/compact"},
}

// operatorPages are the operator pages of this file (GET) and their forms
// (POST).
var (
	operatorPages = []string{"/operator", "/operator/jobs", "/operator/backups"}
	operatorForms = []string{"/operator/reindex", "/operator/backups", "/operator/compact"}
)

func TestOperatorRoutesRefuseOthers(t *testing.T) {
	dir := t.TempDir()
	e := newEnvWith(t, envOptions{backupDir: dir})
	op, _ := e.setup()
	mem := e.invite(op, "m@acme.test", "admin")
	memBearer := mem.bearer("ci")
	for _, rt := range operatorAPIRoutes {
		if r := e.client().do(rt.method, rt.path, nil); r.StatusCode != 401 || r.errCode(t) != "unauthorized" {
			t.Errorf("%s %s anonymous: %d %s", rt.method, rt.path, r.StatusCode, r.body)
		}
		for name, c := range map[string]*client{"member session": mem, "member token": memBearer} {
			if r := c.do(rt.method, rt.path, nil); r.StatusCode != 403 || r.errCode(t) != "forbidden" {
				t.Errorf("%s %s %s: %d %s", rt.method, rt.path, name, r.StatusCode, r.body)
			}
		}
		// A cookie request that changes something needs the CSRF token,
		// operator or not.
		if rt.method == "POST" {
			noCSRF := *op
			noCSRF.csrf = ""
			if r := noCSRF.do(rt.method, rt.path, nil); r.StatusCode != 403 {
				t.Errorf("%s %s without CSRF token: %d %s", rt.method, rt.path, r.StatusCode, r.body)
			}
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused request wrote a backup: %v", entries)
	}

	anon := e.client()
	for _, p := range operatorPages {
		r := anon.get(p)
		if r.StatusCode != 303 || r.Header.Get("Location") != "/login?next="+strings.ReplaceAll(p, "/", "%2F") {
			t.Errorf("anonymous GET %s: %d to %q", p, r.StatusCode, r.Header.Get("Location"))
		}
	}
	browser := e.browser("m@acme.test", pw)
	tok := csrfField(t, browser.get("/").want(t, 200).lacks(t, `href="/operator"`, `href="/operator/backups"`))
	for _, p := range operatorPages {
		browser.get(p).want(t, 403).has(t, "only the operator can do this")
	}
	for _, p := range operatorForms {
		browser.post(p, form("csrf_token", tok)).want(t, 403)
		anon.post(p, form("csrf_token", tok)).want(t, 401)
	}
}

func TestOperatorBackupDownload(t *testing.T) {
	e := newEnv(t)
	op, tenantID := e.setup()
	r := op.do("GET", "/api/v1/admin/backup", nil)
	if r.StatusCode != 200 {
		t.Fatalf("backup: %d %s", r.StatusCode, r.body)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename="pmassist-20261102T090000Z.db"` {
		t.Errorf("Content-Disposition %q", cd)
	}
	if cl := r.Header.Get("Content-Length"); cl != strconv.Itoa(len(r.body)) || len(r.body) < 4096 {
		t.Errorf("Content-Length %q, body %d bytes", cl, len(r.body))
	}
	// The handler logs once the last byte is out, which the client may
	// have read already.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(e.logs.String(), `"msg":"operator: backup downloaded"`); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the download was not logged")
		}
	}

	// The copy is a data file of its own, holding what was committed.
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, r.body, 0o600); err != nil {
		t.Fatal(err)
	}
	copyDB, err := store.Open(path, store.Options{NoSync: true, Keys: e.keys})
	if err != nil {
		t.Fatalf("opening the backup: %v", err)
	}
	defer copyDB.Close()
	ctx := context.Background()
	if tn, err := copyDB.FindTenantByID(ctx, tenantID); err != nil || tn.Name != "Acme" {
		t.Fatalf("tenant in the backup: %+v, %v", tn, err)
	}
	if u, err := copyDB.FindUserByEmail(ctx, "op@acme.test"); err != nil || !u.Operator {
		t.Fatalf("operator in the backup: %+v, %v", u, err)
	}

	// A program downloads with an operator's API token (pmassist backup --server).
	b := op.bearer("backup")
	if r := b.do("GET", "/api/v1/admin/backup", nil); r.StatusCode != 200 || r.Header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
		t.Fatalf("backup with a token: %d %v", r.StatusCode, r.Header)
	}
	// The page links to it: a plain GET with the session cookie.
	br := e.browser("op@acme.test", pw)
	br.get("/operator/backups").want(t, 200).has(t, `href="/api/v1/admin/backup"`)
	if r := br.do("GET", "/api/v1/admin/backup", nil); r.StatusCode != 200 || len(r.body) < 4096 {
		t.Fatalf("backup from the browser: %d", r.StatusCode)
	}
}

func TestOperatorBackupsOff(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	st := op.expect(200, "GET", "/api/v1/admin/backups", nil)
	if st["enabled"] != false || st["last_success"] != nil || len(st["backups"].([]any)) != 0 {
		t.Fatalf("status with backups off: %v", st)
	}
	r := op.do("POST", "/api/v1/admin/backups", nil)
	if r.StatusCode != 409 || r.errCode(t) != "conflict" || !strings.Contains(string(r.body), "PMASSIST_BACKUP_DIR") {
		t.Fatalf("backup now with backups off: %d %s", r.StatusCode, r.body)
	}

	br := e.browser("op@acme.test", pw)
	tok := csrfField(t, br.get("/operator/backups").want(t, 200).has(t, "Scheduled backups are off", `action="/operator/compact"`).
		lacks(t, `action="/operator/backups"`))
	br.post("/operator/backups", form("csrf_token", tok)).redirect(t, "/operator/backups")
	br.get("/operator/backups").want(t, 200).has(t, flashError, "scheduled backups are off")
}

func TestOperatorBackupsIntoFolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "backups")
	e := newEnvWith(t, envOptions{backupDir: dir})
	op, tenantID := e.setup()
	st := op.expect(200, "GET", "/api/v1/admin/backups", nil)
	if st["enabled"] != true || st["dir"] != dir || st["interval_s"] != float64(86400) || st["keep"] != float64(7) || st["last_success"] != nil {
		t.Fatalf("status before: %v", st)
	}

	b := op.expect(201, "POST", "/api/v1/admin/backups", nil)
	name, _ := b["name"].(string)
	fi, err := os.Stat(filepath.Join(dir, name))
	if err != nil || name != "pmassist-20261102T090000Z.db" || fi.Size() != int64(b["size"].(float64)) {
		t.Fatalf("backup %v: %v", b, err)
	}
	copyDB, err := store.Open(filepath.Join(dir, name), store.Options{NoSync: true, Keys: e.keys})
	if err != nil {
		t.Fatal(err)
	}
	if tn, err := copyDB.FindTenantByID(context.Background(), tenantID); err != nil || tn.Name != "Acme" {
		t.Fatalf("tenant in the backup: %+v, %v", tn, err)
	}
	_ = copyDB.Close()

	st = op.expect(200, "GET", "/api/v1/admin/backups", nil)
	last, _ := st["last_success"].(map[string]any)
	if last["name"] != name || len(st["backups"].([]any)) != 1 || st["last_error"] != "" {
		t.Fatalf("status after: %v", st)
	}

	// The page shows it, and its form makes another.
	e.clock.Add(2 * time.Hour)
	br := e.browser("op@acme.test", pw)
	page := br.get("/operator/backups").want(t, 200).has(t, name, `Backups in the folder <span class="count">1</span>`)
	tok := csrfField(t, page)
	br.post("/operator/backups", form("csrf_token", tok)).redirect(t, "/operator/backups")
	br.get("/operator/backups").want(t, 200).has(t, "Backed up to pmassist-20261102T110000Z.db (",
		`Backups in the folder <span class="count">2</span>`)
	if _, err := os.Stat(filepath.Join(dir, "pmassist-20261102T110000Z.db")); err != nil {
		t.Fatal(err)
	}
	// The system overview summarises it.
	sys := op.expect(200, "GET", "/api/v1/admin/system", nil)
	if bs := sys["backups"].(map[string]any); bs["enabled"] != true || bs["last_success"].(map[string]any)["name"] != "pmassist-20261102T110000Z.db" {
		t.Fatalf("system backups: %v", bs)
	}
}

func TestOperatorCompact(t *testing.T) {
	e := newEnv(t)
	op, tenantID := e.setup()
	res := op.expect(200, "POST", "/api/v1/admin/compact", nil)
	before, after := res["before_bytes"].(float64), res["after_bytes"].(float64)
	fi, err := os.Stat(e.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if before <= 0 || after <= 0 || int64(after) != fi.Size() || res["duration_ms"].(float64) < 0 {
		t.Fatalf("compaction: %v (file %d bytes)", res, fi.Size())
	}
	if !strings.Contains(e.logs.String(), `"msg":"operator: data file compacted"`) {
		t.Error("the compaction was not logged")
	}
	// The data is all there and writes go on.
	if tn, err := e.db.FindTenantByID(context.Background(), tenantID); err != nil || tn.Name != "Acme" {
		t.Fatalf("tenant after compaction: %+v, %v", tn, err)
	}
	op.expect(201, "POST", "/api/v1/tokens", map[string]string{"name": "after"})

	br := e.browser("op@acme.test", pw)
	tok := csrfField(t, br.get("/operator/backups").want(t, 200))
	br.post("/operator/compact", form("csrf_token", tok)).redirect(t, "/operator/backups")
	br.get("/operator/backups").want(t, 200).has(t, flashOK, "Compacted the data file from ", " KiB to ")
}

func TestOperatorSystem(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	e.clock.Add(90 * time.Minute)
	sys := op.expect(200, "GET", "/api/v1/admin/system", nil)
	fi, err := os.Stat(e.db.Path())
	if err != nil {
		t.Fatal(err)
	}
	if sys["version"] != pmassist.Version || sys["commit"] != pmassist.Commit || sys["started_at"] != "2026-11-02T09:00:00Z" ||
		sys["uptime_s"] != float64(5400) || sys["data_file_bytes"] != float64(fi.Size()) {
		t.Fatalf("system: %v", sys)
	}
	idx := sys["index"].(map[string]any)
	if idx["state"] != e.index.IndexState().State || idx["version"] == nil || idx["docs"] == nil {
		t.Fatalf("index: %v", idx)
	}
	if sc := sys["scheduler"].(map[string]any); sc["running"] != true || sc["jobs"] != float64(3) {
		t.Fatalf("scheduler: %v", sc)
	}
	if g := sys["go"].(map[string]any); g["version"] != runtime.Version() || g["goroutines"].(float64) < 1 || g["heap_bytes"].(float64) < 1 {
		t.Fatalf("go: %v", g)
	}
	if bs := sys["backups"].(map[string]any); bs["enabled"] != false || bs["interval_s"] != float64(86400) {
		t.Fatalf("backups: %v", bs)
	}

	br := e.browser("op@acme.test", pw)
	page := br.get("/operator").want(t, 200).has(t, "<h1>System</h1>", `<p class="card-value">1 h 30 min</p>`,
		">"+pmassist.Version+"<", runtime.Version(), `action="/operator/reindex"`, "Rebuild the index</button>",
		`<a class="nav-link" href="/operator" aria-current="page">`, `href="/operator/jobs"`, `href="/operator/backups"`)
	tok := csrfField(t, page)
	br.post("/operator/reindex", form("csrf_token", tok)).redirect(t, "/operator")
	br.get("/operator").want(t, 200).has(t, flashOK, "Rebuilding the search index.")
	if !strings.Contains(e.logs.String(), `"msg":"operator: search index rebuild started"`) {
		t.Error("the rebuild was not logged")
	}
	// The rebuild ends before the env closes the index.
	for deadline := time.Now().Add(20 * time.Second); e.index.IndexState().State == "building"; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the index rebuild did not finish")
		}
	}
}

func TestOperatorJobsAndTenantsPages(t *testing.T) {
	e := newEnv(t)
	op, tenantID := e.setup()
	op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Beta", "owner_email": "boss@beta.test",
		"owner_name": "Boss", "owner_password": pw, "tier": "free"})
	beta := e.tenantNamed("Beta")
	started := e.clock.Now().Add(-3 * time.Minute)
	finished := started.Add(65 * time.Second)
	for _, j := range []struct {
		tenant string
		job    pmassist.Job
	}{
		{tenantID, pmassist.Job{Kind: pmassist.JobIngestion, Service: pmassist.ServiceSlack, ConnectionID: pmassist.NewID(),
			Trigger: pmassist.TriggerSchedule, Status: pmassist.JobSucceeded, CreatedAt: started, StartedAt: &started,
			FinishedAt: &finished, ItemsNew: 1234, ItemsUpdated: 5}},
		{beta.ID, pmassist.Job{Kind: pmassist.JobIngestion, Service: pmassist.ServiceGitHub, ConnectionID: pmassist.NewID(),
			Trigger: pmassist.TriggerWebhook, Status: pmassist.JobFailed, CreatedAt: started, StartedAt: &started,
			FinishedAt: &finished, Error: "GitHub said <no>"}},
	} {
		if err := e.db.CreateJob(pmassist.NewContextWithTenant(context.Background(), j.tenant), &j.job); err != nil {
			t.Fatal(err)
		}
	}

	br := e.browser("op@acme.test", pw)
	br.get("/operator/jobs").want(t, 200).has(t, "<h1>Jobs</h1>",
		`<div class="strong">Acme</div>`, `<div class="strong">Beta</div>`, ">Slack</span>", ">GitHub</span>",
		"Scheduled", "Webhook", "1,234 new", "5 updated", "1 min 5 s", "GitHub said &lt;no&gt;",
		`<a class="nav-link" href="/operator/jobs" aria-current="page">`).lacks(t, "data-job-id")

	br.get("/operator/tenants").want(t, 200).has(t, ">Acme<", ">Beta<",
		"0 items", "0 integrations", // enterprise: unlimited
		"0 of 100 items", "0 of 1 integration", // free
		`<a class="nav-link" href="/operator/tenants" aria-current="page">`)
}

func TestOperatorWithoutOperations(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	e.srv.svc.Operations, e.srv.svc.System = nil, nil
	for _, rt := range operatorAPIRoutes {
		if r := op.do(rt.method, rt.path, nil); r.StatusCode != 503 || r.errCode(t) != "unavailable" {
			t.Errorf("%s %s: %d %s", rt.method, rt.path, r.StatusCode, r.body)
		}
	}
	br := e.browser("op@acme.test", pw)
	br.get("/operator").want(t, 200).has(t, "No system overview").lacks(t, `action="/operator/reindex"`)
	tok := csrfField(t, br.get("/operator/backups").want(t, 200).has(t, "Backups are not available").
		lacks(t, `href="/api/v1/admin/backup"`, `action="/operator/compact"`))
	br.post("/operator/compact", form("csrf_token", tok)).redirect(t, "/operator/backups")
	br.get("/operator/backups").want(t, 200).has(t, flashError, "not available")
}
