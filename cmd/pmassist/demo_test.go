package main

import (
	"bufio"
	"context"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist/app"
)

// runningDemo is `pmassist demo` running in the background through Run.
type runningDemo struct {
	base, email, password string
	lines                 []string
	cancel                context.CancelFunc
	done                  chan struct{} // closed when Run has returned rc
	rc                    int
}

// startDemo runs `pmassist demo --data dir --addr 127.0.0.1:0` and waits
// until it has printed its URL and login.
func startDemo(t *testing.T, dir string) *runningDemo {
	t.Helper()
	errFile, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { errFile.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	d := &runningDemo{cancel: cancel, done: make(chan struct{})}
	go func() {
		d.rc = Run(ctx, []string{"demo", "--data", dir, "--addr", "127.0.0.1:0"}, nil, pw, errFile, func(string) string { return "" })
		pw.Close()
		close(d.done)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-d.done:
		case <-time.After(30 * time.Second):
		}
	})
	ready := make(chan struct{})
	lines := make(chan string, 100)
	go func() { // reads everything, so that the demo never blocks on stdout
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	go func() {
		defer close(ready)
		for l := range lines {
			d.lines = append(d.lines, l)
			field := func(name string) string {
				if v, ok := strings.CutPrefix(strings.TrimSpace(l), name+":"); ok {
					return strings.TrimSpace(v)
				}
				return ""
			}
			if v := field("Open"); v != "" {
				d.base = v
			}
			if v := field("Email"); v != "" {
				d.email = v
			}
			if v := field("Password"); v != "" {
				d.password = v
			}
			if strings.Contains(l, "Ctrl-C to stop") {
				go func() { // keep draining
					for range lines {
					}
				}()
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-d.done:
		errBytes, _ := os.ReadFile(errFile.Name())
		t.Fatalf("demo exited with %d before it was ready: %s", d.rc, errBytes)
	case <-time.After(60 * time.Second):
		t.Fatal("demo not ready after 60 s")
	}
	if d.base == "" || d.email == "" || d.password == "" {
		errBytes, _ := os.ReadFile(errFile.Name())
		t.Fatalf("no URL or login printed: %q\nstderr: %s", d.lines, errBytes)
	}
	return d
}

// stop cancels the demo's context and expects exit code 0 soon.
func (d *runningDemo) stop(t *testing.T) {
	t.Helper()
	d.cancel()
	select {
	case <-d.done:
		if d.rc != 0 {
			t.Fatalf("demo exited with %d", d.rc)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("demo did not stop within 10 s")
	}
}

func TestDemoSmoke(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo-data")
	d := startDemo(t, dir)
	out := strings.Join(d.lines, "\n")
	if !strings.Contains(out, "3 integrations connected") || !strings.Contains(out, "a standup for ") {
		t.Fatalf("summary: %s", out)
	}
	anon := newClient(t, d.base)
	anon.call("GET", "/readyz", nil, 200)

	c := newClient(t, d.base)
	c.call("POST", "/api/v1/auth/login", map[string]string{"email": d.email, "password": d.password}, 200)
	me := c.call("GET", "/api/v1/me", nil, 200)
	c.csrf = me["csrf_token"].(string)
	if me["tenant"].(map[string]any)["tier"] != "enterprise" {
		t.Errorf("tenant: %v", me["tenant"])
	}

	conns := c.call("GET", "/api/v1/integrations", nil, 200)["connections"].([]any)
	services := map[string]bool{}
	for _, x := range conns {
		cn := x.(map[string]any)
		if cn["status"] == "connected" && cn["last_sync_at"] != nil {
			services[cn["service"].(string)] = true
		}
	}
	if len(services) != 3 {
		t.Fatalf("connections: %v", conns)
	}

	// A seeded decision is found by search, and listed.
	res := c.call("GET", "/api/v1/search?q="+url.QueryEscape(`"Postgres for the event store"`)+"&type=decision", nil, 200)
	if res["total"].(float64) < 1 {
		t.Fatalf("search: %v", res)
	}
	ds := c.call("GET", "/api/v1/decision-logs?limit=200", nil, 200)["decision_logs"].([]any)
	titles := ""
	for _, x := range ds {
		titles += x.(map[string]any)["title"].(string) + "\n"
	}
	for _, want := range []string{"Postgres for the event store", "feature flags for the rollout"} {
		if !strings.Contains(titles, want) {
			t.Errorf("no decision about %q in:\n%s", want, titles)
		}
	}

	// The standup of the previous working day has people and a decision.
	sts := c.call("GET", "/api/v1/standups", nil, 200)["standups"].([]any)
	if len(sts) != 1 {
		t.Fatalf("standups: %v", sts)
	}
	st := sts[0].(map[string]any)
	if len(st["people"].([]any)) < 5 || len(st["decisions"].([]any)) < 1 || !strings.Contains(st["markdown"].(string), "Blocker") {
		t.Fatalf("standup: %v", st["markdown"])
	}

	// Nothing lands in ./data, and the folder is marked as a demo folder.
	if _, err := os.Stat(filepath.Join(dir, demoMarkerFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("data"); err == nil {
		t.Fatal("a ./data folder appeared")
	}
	d.stop(t)

	// A second start on the same folder: the same login works, the
	// stand-ins accept the renewed tokens and serve the same week.
	d2 := startDemo(t, dir)
	if d2.email != d.email || d2.password != d.password {
		t.Fatalf("login changed: %s/%s → %s/%s", d.email, d.password, d2.email, d2.password)
	}
	c2 := newClient(t, d2.base)
	c2.call("POST", "/api/v1/auth/login", map[string]string{"email": d2.email, "password": d2.password}, 200)
	c2.csrf = c2.call("GET", "/api/v1/me", nil, 200)["csrf_token"].(string)
	for _, svc := range []string{"slack", "linear", "github"} {
		job := c2.call("POST", "/api/v1/ingestion/"+svc, map[string]any{}, 202)["jobs"].([]any)[0].(map[string]any)
		deadline := time.Now().Add(20 * time.Second)
		for job["status"] == "queued" || job["status"] == "running" {
			if time.Now().After(deadline) {
				t.Fatalf("%s job did not end: %v", svc, job)
			}
			time.Sleep(20 * time.Millisecond)
			job = c2.call("GET", "/api/v1/jobs/"+job["id"].(string), nil, 200)
		}
		if job["status"] != "succeeded" || job["items_new"].(float64) != 0 {
			t.Fatalf("%s ingestion after the restart: %v", svc, job)
		}
	}
	if n := len(c2.call("GET", "/api/v1/standups", nil, 200)["standups"].([]any)); n != 1 {
		t.Fatalf("%d standups after the restart", n)
	}
	d2.stop(t)
}

func TestDemoRefusesOtherFolders(t *testing.T) {
	real := t.TempDir()
	if err := os.WriteFile(filepath.Join(real, app.DataFileName), []byte("not a demo"), 0o600); err != nil {
		t.Fatal(err)
	}
	notEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(notEmpty, "notes.txt"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	serveData := t.TempDir()
	cases := []struct {
		name    string
		env     map[string]string
		args    []string
		wantErr string
	}{
		{"data file without marker", nil, []string{"demo", "--data", real, "--addr", "127.0.0.1:0"}, "may be real data"},
		{"reset does not delete it either", nil, []string{"demo", "--data", real, "--addr", "127.0.0.1:0", "--reset"}, "may be real data"},
		{"folder not empty", nil, []string{"demo", "--data", notEmpty, "--addr", "127.0.0.1:0"}, "not empty"},
		{"the serve data folder", map[string]string{"PMASSIST_DATA_DIR": serveData}, []string{"demo", "--data", serveData, "--addr", "127.0.0.1:0"}, "pmassist serve"},
		{"bad addr", nil, []string{"demo", "--data", t.TempDir(), "--addr", "nonsense"}, "--addr"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rc, _, stderr := run(t, tc.env, tc.args...)
			if rc != 2 || !strings.Contains(stderr, tc.wantErr) {
				t.Fatalf("rc %d, stderr %q (want %q)", rc, stderr, tc.wantErr)
			}
		})
	}
	if raw, err := os.ReadFile(filepath.Join(real, app.DataFileName)); err != nil || string(raw) != "not a demo" {
		t.Fatalf("the data file was touched: %q %v", raw, err)
	}
}

// TestDemoReset starts over only in a demo folder.
func TestDemoReset(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo")
	old, err := openDemoFolder(dir, "./data", false, time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, app.DataFileName), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	again, err := openDemoFolder(dir, "./data", false, time.Now())
	if err != nil || again.Password != old.Password || !again.Week.Equal(old.Week) {
		t.Fatalf("reopened: %+v %v", again, err)
	}
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	fresh, err := openDemoFolder(dir, "./data", true, now)
	if err != nil || !fresh.Week.Equal(now) || fresh.Seeded {
		t.Fatalf("reset: %+v %v", fresh, err)
	}
	if _, err := os.Stat(filepath.Join(dir, app.DataFileName)); err == nil {
		t.Fatal("the old data file survived --reset")
	}
}
