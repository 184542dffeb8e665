package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/internal/apiclient"
	"github.com/pmassist/pmassist/store"
)

// The crash tests run the real binary, `pmassist serve`, as a child
// process and kill it with SIGKILL: no deferred function, no Close, no
// flush runs. The binary is built once per test run, the way `make build`
// builds it (so that its compiled packages come from the build cache), and
// without the race detector: under it, ingesting and indexing 20,000
// messages takes minutes rather than seconds.
var (
	buildOnce sync.Once
	buildDir  string
	binary    string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// pmassistBinary builds cmd/pmassist (this package) once and returns its
// path.
func pmassistBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		start := time.Now()
		if buildDir, buildErr = os.MkdirTemp("", "pmassist-crash-"); buildErr != nil {
			return
		}
		binary = filepath.Join(buildDir, "pmassist")
		cmd := exec.Command("go", "build", "-trimpath", "-o", binary, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
		t.Logf("built %s in %s", binary, time.Since(start).Round(time.Millisecond))
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binary
}

const (
	crashEmail      = "op@crash.test"
	crashSlackID    = "crash-slack-client"
	crashSlackKey   = "crash-slack-secret"
	childStartLimit = 60 * time.Second
)

// child is a running `pmassist serve` process.
type child struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	stderr *syncBuffer
	exited chan struct{}
	err    error // what Wait returned, once exited is closed
}

// startChild starts `pmassist serve` on 127.0.0.1:0 with its data in
// dataDir, Slack at slackURL, and env (KEY=VALUE) added to a clean
// environment; it returns once the child listens.
func startChild(t *testing.T, dataDir, slackURL string, env ...string) *child {
	t.Helper()
	cmd := exec.Command(pmassistBinary(t), "serve", "--addr", "127.0.0.1:0", "--data", dataDir, "--log-format", "json")
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PMASSIST_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "PMASSIST_SLACK_URL="+slackURL,
		"PMASSIST_SLACK_CLIENT_ID="+crashSlackID, "PMASSIST_SLACK_CLIENT_SECRET="+crashSlackKey,
		// The child paces nothing: the stand-in decides how slow Slack is.
		"PMASSIST_SLACK_HISTORY_RATE=60000/min")
	cmd.Env = append(cmd.Env, env...)
	c := &child{t: t, cmd: cmd, stderr: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = c.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if _, addr, ok := strings.Cut(sc.Text(), " is listening on "); ok {
				listening <- strings.TrimSpace(addr)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() {
		c.err = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = cmd.Process.Kill()
			<-c.exited
		}
	})
	select {
	case addr := <-listening:
		c.base = "http://" + addr
	case <-c.exited:
		t.Fatalf("pmassist serve exited at start: %v\n%s", c.err, c.stderr)
	case <-time.After(childStartLimit):
		t.Fatalf("pmassist serve did not listen within %s\n%s", childStartLimit, c.stderr)
	}
	return c
}

// kill9 kills the child with SIGKILL and waits until it is gone.
func (c *child) kill9() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
		c.t.Fatal("the killed child did not exit")
	}
	var ee *exec.ExitError
	if !errors.As(c.err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		c.t.Fatalf("the child ended otherwise than by SIGKILL: %v", c.err)
	}
}

// stop asks the child to shut down (SIGTERM) and expects a clean exit.
func (c *child) stop() {
	c.t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		c.t.Fatal(err)
	}
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		// SIGQUIT: the Go runtime prints every goroutine's stack.
		_ = c.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-c.exited:
		case <-time.After(5 * time.Second):
		}
		c.t.Fatalf("the child did not stop within 30 s\n%s", c.stderr)
	}
	if c.err != nil {
		c.t.Fatalf("the child's exit: %v\n%s", c.err, c.stderr)
	}
}

// crashSlackData is a workspace of n top-level messages spread over
// channels public channels the app is in, each text padded to textLen.
func crashSlackData(n, channels, textLen int) *fake.SlackData {
	d := &fake.SlackData{Users: []fake.SlackUser{{ID: "U0CRASH001", Name: "ada", RealName: "Ada Lovelace", Email: "ada@crash.test"}},
		Messages: map[string][]fake.SlackMessage{}}
	start := time.Now().Add(-60 * 24 * time.Hour).Unix()
	for c := range channels {
		d.Channels = append(d.Channels, fake.SlackChannel{ID: fmt.Sprintf("C0CRASH%03d", c), Name: fmt.Sprintf("crash-%d", c), IsMember: true, Created: start})
	}
	pad := strings.Repeat(" lorem ipsum dolor sit amet", textLen/27+1)[:max(0, textLen)]
	for i := range n {
		ch := d.Channels[i%channels].ID
		d.Messages[ch] = append(d.Messages[ch], fake.SlackMessage{TS: fmt.Sprintf("%d.%06d", start+int64(i), i%1_000_000),
			User: "U0CRASH001", Text: fmt.Sprintf("message %d of the kestrel log%s", i, pad)})
	}
	return d
}

// externalIDs are the external ids ingestion gives the workspace's
// messages (integrations/slack: channel id ":" ts).
func externalIDs(d *fake.SlackData) map[string]bool {
	out := map[string]bool{}
	for ch, ms := range d.Messages {
		for _, m := range ms {
			out[ch+":"+m.TS] = true
		}
	}
	return out
}

// slowSlack serves the stand-in with every conversations.history answer
// held back by delay.
func slowSlack(s *fake.Slack, delay time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/conversations.history") {
			time.Sleep(delay)
		}
		s.ServeHTTP(w, r)
	})
}

// setUpChild creates the operator and tenant, connects Slack through the
// OAuth flow and returns a client with the operator's API token.
func setUpChild(t *testing.T, ctx context.Context, base string) *apiclient.Client {
	t.Helper()
	c := apiclient.New(base, 4)
	if _, err := c.Setup(ctx, crashEmail, pw, "Op", "Acme"); err != nil {
		t.Fatal(err)
	}
	if err := c.Login(ctx, crashEmail, pw); err != nil {
		t.Fatal(err)
	}
	tok, err := c.CreateToken(ctx, "crash")
	if err != nil {
		t.Fatal(err)
	}
	api := c.WithToken(tok)
	if err := api.ConnectSlack(ctx, nil); err != nil {
		t.Fatal(err)
	}
	return api
}

// itemsIngested is the tenant's count of items stored this month.
func itemsIngested(ctx context.Context, c *apiclient.Client) (int, error) {
	var out struct {
		Usage struct {
			ItemsIngested int `json:"items_ingested"`
		} `json:"usage"`
	}
	err := c.Call(ctx, http.MethodGet, "/api/v1/tenant", nil, http.StatusOK, &out)
	return out.Usage.ItemsIngested, err
}

func findJob(ctx context.Context, c *apiclient.Client, id string) (apiclient.Job, error) {
	var j apiclient.Job
	err := c.Call(ctx, http.MethodGet, "/api/v1/jobs/"+id, nil, http.StatusOK, &j)
	return j, err
}

// waitJob polls a job until it has ended.
func waitJob(t *testing.T, ctx context.Context, c *apiclient.Client, id string) apiclient.Job {
	t.Helper()
	for {
		j, err := findJob(ctx, c, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Status != "queued" && j.Status != "running" {
			return j
		}
		select {
		case <-ctx.Done():
			t.Fatalf("job %s still %s: %v", id, j.Status, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// TestKill9DuringIngestion kills the server with SIGKILL in the middle of
// an ingestion of 20,000 Slack messages (8 channels, history served
// slowly). The data file is sound after the kill; the restarted server
// opens it (no stale lock), still has every item the API showed before
// the kill, has marked the interrupted job failed, and a new run resumes
// from the watermarks to exactly the stand-in's messages: none missing,
// none twice.
func TestKill9DuringIngestion(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	const (
		messages = 20_000
		channels = 8
		killAt   = 3_000 // items committed before the ids are recorded
	)
	testStart := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	slack := fake.NewSlack(fake.Options{ClientID: crashSlackID, ClientSecret: crashSlackKey, AutoApprove: true})
	data := crashSlackData(messages, channels, 40)
	slack.SetData(data)
	slackTS := httptest.NewServer(slowSlack(slack, 60*time.Millisecond))
	defer slackTS.Close()

	a := startChild(t, dir, slackTS.URL)
	api := setUpChild(t, ctx, a.base)
	t.Logf("started and set up in %s", time.Since(testStart).Round(time.Millisecond))
	jobs, err := api.StartIngestion(ctx)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("starting the ingestion: %v %v", jobs, err)
	}
	jobID := jobs[0].ID
	started := time.Now()
	for {
		n, err := itemsIngested(ctx, api)
		if err != nil {
			t.Fatal(err)
		}
		if n >= killAt {
			break
		}
		if j, err := findJob(ctx, api, jobID); err != nil || (j.Status != "queued" && j.Status != "running") {
			t.Fatalf("the job ended (%+v, %v) with %d items before the kill: make the stand-in slower", j, err, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	committed, err := api.AllItems(ctx, "service=slack")
	if err != nil {
		t.Fatal(err)
	}
	if j, err := findJob(ctx, api, jobID); err != nil || j.Status != "running" {
		t.Fatalf("the job is no longer running when the server is to be killed (%+v, %v): make the stand-in slower", j, err)
	}
	a.kill9()
	t.Logf("killed after %s of ingestion with %d items recorded", time.Since(started).Round(time.Millisecond), len(committed))

	dataPath := filepath.Join(dir, app.DataFileName)
	if _, err := store.ValidateDataFile(dataPath); err != nil {
		t.Fatalf("the data file after kill -9: %v", err)
	}

	restarted := time.Now()
	b := startChild(t, dir, slackTS.URL)
	api.Base = b.base
	t.Logf("restarted in %s", time.Since(restarted).Round(time.Millisecond))
	j, err := findJob(ctx, api, jobID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != "failed" || !strings.Contains(j.Error, "interrupted") {
		t.Errorf("the interrupted job after the restart: %+v", j)
	}
	after, err := api.AllItems(ctx, "service=slack")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]string{}
	for _, it := range after {
		byID[it.ID] = it.ExternalID
	}
	for _, it := range committed {
		if ext, ok := byID[it.ID]; !ok || ext != it.ExternalID {
			t.Fatalf("item %s (%s), committed before the kill, is gone after the restart", it.ID, it.ExternalID)
		}
	}
	if len(after) < len(committed) || len(after) >= messages {
		t.Fatalf("%d items after the restart, %d recorded before the kill, %d in Slack", len(after), len(committed), messages)
	}

	resumed, historyBefore := time.Now(), slack.Calls("conversations.history")
	jobs, err = api.StartIngestion(ctx)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("starting the ingestion again: %v %v", jobs, err)
	}
	if j := waitJob(t, ctx, api, jobs[0].ID); j.Status != "succeeded" || j.ItemsNew != messages-len(after) {
		t.Fatalf("the resumed run: %+v; want succeeded with %d new items", j, messages-len(after))
	}
	t.Logf("the resumed run stored the other %d items in %s", messages-len(after), time.Since(resumed).Round(time.Millisecond))
	// It resumed from the watermarks: the channels finished before the
	// kill were not read again (one empty page each).
	perChannel := messages / channels
	pages := (perChannel + 199) / 200
	finished := len(committed) / perChannel
	if calls, most := slack.Calls("conversations.history")-historyBefore, channels*pages-finished*(pages-1); calls > most {
		t.Errorf("the resumed run read %d history pages; with %d of %d channels finished before the kill, at most %d", calls, finished, channels, most)
	}
	final, err := api.AllItems(ctx, "service=slack")
	if err != nil {
		t.Fatal(err)
	}
	want := externalIDs(data)
	seen := map[string]bool{}
	for _, it := range final {
		if seen[it.ExternalID] {
			t.Errorf("message %s stored twice", it.ExternalID)
		}
		seen[it.ExternalID] = true
		if !want[it.ExternalID] {
			t.Errorf("item %s is not a message of the stand-in", it.ExternalID)
		}
	}
	if len(seen) != len(want) {
		t.Errorf("%d distinct messages stored, the stand-in has %d", len(seen), len(want))
	}
	// The search index, not closed cleanly, is rebuilt: it finds them all
	// once it has caught up with the resumed run (new items are searchable
	// within seconds, not at once: under load the queue may still hold
	// some when /readyz says ready — a run here once found 16,000).
	waitReady(t, ctx, b.base)
	var res struct {
		Total int `json:"total"`
	}
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := api.Call(ctx, http.MethodGet, "/api/v1/search?q=kestrel&type=message&limit=1", nil, http.StatusOK, &res); err != nil {
			t.Fatal(err)
		}
		if res.Total == messages || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res.Total != messages {
		t.Errorf("search finds %d of the %d messages 30 s after the restart", res.Total, messages)
	}
	b.stop()
	if _, err := store.ValidateDataFile(dataPath); err != nil {
		t.Fatal(err)
	}
}

// waitReady polls /readyz until it answers 200 (the index is rebuilt in
// the background after a crash).
func waitReady(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	for {
		res, err := http.Get(base + "/readyz")
		if err == nil {
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("/readyz: not ready: %v", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// throttle serves GET /api/v1/admin/backup of upstream slowly (32 KiB
// every 10 ms) and counts the bytes handed on; when upstream breaks off it
// breaks the connection too.
func throttle(upstream string, forwarded *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, err := http.NewRequestWithContext(r.Context(), r.Method, upstream+r.URL.RequestURI(), nil)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		req.Header = r.Header.Clone()
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer res.Body.Close()
		for k, v := range res.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(res.StatusCode)
		buf := make([]byte, 32<<10)
		for {
			n, err := res.Body.Read(buf)
			if n > 0 {
				if _, werr := w.Write(buf[:n]); werr != nil {
					return
				}
				w.(http.Flusher).Flush()
				forwarded.Add(int64(n))
				time.Sleep(10 * time.Millisecond)
			}
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				panic(http.ErrAbortHandler)
			}
		}
	})
}

var backupNameRE = regexp.MustCompile(`^pmassist-[0-9]{8}T[0-9]{6}Z\.db$`)

// TestKill9DuringBackup kills the server with SIGKILL while it streams a
// backup to `pmassist backup --server` (slowly, through a throttling
// proxy) and writes backups into PMASSIST_BACKUP_DIR (triggered again and
// again; the kill comes when a temporary backup file is being written, if
// that is seen in time). Then: the download fails and leaves no file, the
// data file is sound, every file with a backup's name in the backup
// folder is a complete data file (a crash leaves only temporary files,
// which a later backup removes once they are stale), and the restarted
// server has every item and backs up again.
func TestKill9DuringBackup(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills server processes")
	}
	const messages = 6_000
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir, backups, work := t.TempDir(), filepath.Join(t.TempDir(), "backups"), t.TempDir()
	slack := fake.NewSlack(fake.Options{ClientID: crashSlackID, ClientSecret: crashSlackKey, AutoApprove: true})
	slack.SetData(crashSlackData(messages, 4, 1200))
	slackTS := httptest.NewServer(slack)
	defer slackTS.Close()
	backupEnv := []string{"PMASSIST_BACKUP_DIR=" + backups, "PMASSIST_BACKUP_KEEP=3"}

	a := startChild(t, dir, slackTS.URL, backupEnv...)
	api := setUpChild(t, ctx, a.base)
	tok := api.Token
	jobs, err := api.StartIngestion(ctx)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("starting the ingestion: %v %v", jobs, err)
	}
	if j := waitJob(t, ctx, api, jobs[0].ID); j.Status != "succeeded" || j.ItemsNew != messages {
		t.Fatalf("ingestion: %+v", j)
	}
	dataPath := filepath.Join(dir, app.DataFileName)
	fi, err := os.Stat(dataPath)
	if err != nil {
		t.Fatal(err)
	}

	// The download through the CLI, throttled by a proxy.
	var forwarded atomic.Int64
	proxy := httptest.NewServer(throttle(a.base, &forwarded))
	defer proxy.Close()
	out := filepath.Join(work, "download.db")
	errFile, err := os.CreateTemp(work, "stderr-*")
	if err != nil {
		t.Fatal(err)
	}
	defer errFile.Close()
	type result struct {
		rc     int
		stdout string
	}
	downloaded := make(chan result, 1)
	go func() {
		var stdout strings.Builder
		rc := Run(ctx, []string{"backup", "--server", proxy.URL, "--out", out}, nil, &stdout, errFile,
			func(k string) string {
				if k == "PMASSIST_BACKUP_TOKEN" {
					return tok
				}
				return ""
			})
		downloaded <- result{rc, stdout.String()}
	}()
	for forwarded.Load() < 256<<10 {
		select {
		case r := <-downloaded:
			t.Fatalf("the download ended (rc %d) before the kill: the data file (%d bytes) is too small", r.rc, fi.Size())
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}

	// Backups into the folder, one after another, until the kill.
	stopBackups := make(chan struct{})
	backupsDone := make(chan struct{})
	go func() {
		defer close(backupsDone)
		for {
			select {
			case <-stopBackups:
				return
			default:
			}
			_, _, _ = api.Do(ctx, http.MethodPost, "/api/v1/admin/backups", nil)
		}
	}()
	// Kill when a backup into the folder is being written, or at the
	// latest when half the download has been handed on.
	caught := false
	deadline := time.Now().Add(10 * time.Second)
	for !caught && forwarded.Load() < fi.Size()/2 && time.Now().Before(deadline) {
		entries, _ := os.ReadDir(backups)
		for _, e := range entries {
			if strings.HasSuffix(e.Name(), ".tmp") {
				if info, err := e.Info(); err == nil && info.Size() > 0 {
					caught = true
				}
			}
		}
		if !caught {
			time.Sleep(time.Millisecond)
		}
	}
	a.kill9()
	close(stopBackups)
	<-backupsDone
	t.Logf("killed with %d of about %d bytes of the download handed on; a backup into the folder was being written: %v",
		forwarded.Load(), fi.Size(), caught)

	// The download failed and left nothing.
	r := <-downloaded
	stderr, _ := os.ReadFile(errFile.Name())
	if r.rc != 1 || !strings.Contains(string(stderr), "broke off") {
		t.Errorf("the interrupted download: rc %d, %q %q", r.rc, r.stdout, stderr)
	}
	if left, _ := os.ReadDir(work); slices.ContainsFunc(left, func(e os.DirEntry) bool { return strings.Contains(e.Name(), "download") }) {
		t.Errorf("the interrupted download left a file: %v", left)
	}

	if _, err := store.ValidateDataFile(dataPath); err != nil {
		t.Fatalf("the data file after kill -9: %v", err)
	}
	checkBackupFolder := func() (temps []string) {
		t.Helper()
		entries, err := os.ReadDir(backups)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			switch {
			case backupNameRE.MatchString(e.Name()):
				if _, err := store.ValidateDataFile(filepath.Join(backups, e.Name())); err != nil {
					t.Errorf("backup %s is not a complete data file: %v", e.Name(), err)
				}
			case strings.HasPrefix(e.Name(), ".pmassist-") && strings.HasSuffix(e.Name(), ".db.tmp"):
				temps = append(temps, e.Name())
			default:
				t.Errorf("unexpected file in the backup folder: %s", e.Name())
			}
		}
		return temps
	}
	temps := checkBackupFolder()
	t.Logf("temporary files left by the kill: %v", temps)

	// Restart: the items are there, and backing up works again; stale
	// temporary files are removed by the next backup.
	for _, name := range temps {
		old := time.Now().Add(-2 * time.Hour)
		if err := os.Chtimes(filepath.Join(backups, name), old, old); err != nil {
			t.Fatal(err)
		}
	}
	b := startChild(t, dir, slackTS.URL, backupEnv...)
	api.Base = b.base
	if n, err := itemsIngested(ctx, api); err != nil || n != messages {
		t.Errorf("items after the restart: %d, %v; want %d", n, err, messages)
	}
	var info struct {
		Name string `json:"name"`
	}
	if err := api.Call(ctx, http.MethodPost, "/api/v1/admin/backups", nil, http.StatusCreated, &info); err != nil {
		t.Fatal(err)
	}
	if _, err := store.ValidateDataFile(filepath.Join(backups, info.Name)); err != nil {
		t.Fatal(err)
	}
	if temps := checkBackupFolder(); len(temps) > 0 {
		t.Errorf("stale temporary files not removed by the next backup: %v", temps)
	}
	b.stop()
}
