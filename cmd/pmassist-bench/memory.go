package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

// Figure 4: memory. The harness process holds the stand-ins, the
// generated corpus and the bare baselines beside the appliance, so its own
// RSS says little about the server's. Figure 4 therefore runs the
// appliance alone in a child process — this binary, "pmassist-bench
// child", which runs the same app.Main as the other figures and a small
// control port — and reads the child's /proc/PID/status:
//
//   - peak: a fresh child ingests figure 1's corpus from the stand-in (in
//     the parent) through POST /api/v1/ingestion/slack until the job has
//     ended and the index is idle; VmHWM, reset (/proc/PID/clear_refs)
//     just before the ingestion starts.
//   - idle: a fresh child with 100 tenants of 1,000 items each (filled like
//     figure 2's other tenants: the store and the index queue); then a GC
//     (runtime.GC, as the Go runtime's own would) and SettleSeconds
//     without requests; VmRSS.

// childCommand is the hidden first argument that makes this binary the
// child of figure 4.
const childCommand = "child"

// childAddrs is the child's first line on stdout.
type childAddrs struct {
	App     string `json:"app"`
	Control string `json:"control"`
}

// runChild is `pmassist-bench child -dir DIR -slack URL [-v]`: the
// appliance on 127.0.0.1:0 and its control port, until stdin is closed
// (the parent ends it, or has died).
func runChild(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pmassist-bench child", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "data folder")
	slackURL := fs.String("slack", "", "the Slack stand-in")
	verbose := fs.Bool("v", false, "log")
	if err := fs.Parse(args); err != nil || *dir == "" {
		fmt.Fprintln(stderr, "usage: pmassist-bench child -dir DIR -slack URL [-v]")
		return 2
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	m := newMain(*dir, *slackURL, logger)
	if err := m.Open(); err != nil {
		fmt.Fprintln(stderr, "pmassist-bench child:", err)
		return 1
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(stderr, "pmassist-bench child:", err)
		_ = m.Close()
		return 1
	}
	ctl := &http.Server{Handler: childControl(m.Index.WaitIdle, func(ctx context.Context, tenantID string, items []*pmassist.Item) error {
		tctx := pmassist.NewContextWithTenant(ctx, tenantID)
		period := time.Now().UTC().Format("2006-01")
		if _, err := m.DB.UpsertItems(tctx, items, nil, period, -1); err != nil {
			return err
		}
		ids := make([]string, len(items))
		for i, it := range items {
			ids[i] = it.ID
		}
		m.Index.QueueItems(tctx, ids...)
		return nil
	}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = ctl.Serve(ln) }()
	if err := json.NewEncoder(stdout).Encode(childAddrs{App: m.Server.Addr(), Control: ln.Addr().String()}); err != nil {
		fmt.Fprintln(stderr, "pmassist-bench child:", err)
	} else {
		_, _ = io.Copy(io.Discard, stdin)
	}
	_ = ctl.Close()
	if err := m.Close(); err != nil {
		fmt.Fprintln(stderr, "pmassist-bench child:", err)
		return 1
	}
	return 0
}

// childControl is the child's control port:
//
//	POST /wait-idle                      until the index is idle
//	POST /fill?tenant=ID&seed=S&n=N      N generated items into the tenant, then until idle
//	POST /gc                             runtime.GC
func childControl(waitIdle func(context.Context) error, store func(context.Context, string, []*pmassist.Item) error) http.Handler {
	mux := http.NewServeMux()
	fail := func(w http.ResponseWriter, err error) { http.Error(w, err.Error(), http.StatusInternalServerError) }
	mux.HandleFunc("POST /wait-idle", func(w http.ResponseWriter, r *http.Request) {
		if err := waitIdle(r.Context()); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /fill", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		seed, err1 := strconv.ParseUint(q.Get("seed"), 10, 64)
		n, err2 := strconv.Atoi(q.Get("n"))
		if err := errors.Join(err1, err2); err != nil || q.Get("tenant") == "" {
			http.Error(w, "tenant, seed and n", http.StatusBadRequest)
			return
		}
		items := newCorpus(seed, n, corpusEnd).items()
		for k := 0; k < len(items); k += bareBatchSize {
			if err := store(r.Context(), q.Get("tenant"), items[k:min(k+bareBatchSize, len(items))]); err != nil {
				fail(w, err)
				return
			}
		}
		if err := waitIdle(r.Context()); err != nil {
			fail(w, err)
		}
	})
	mux.HandleFunc("POST /gc", func(http.ResponseWriter, *http.Request) { runtime.GC() })
	return mux
}

// child is a running child process of figure 4.
type child struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	addrs    childAddrs
	closed   bool
	closeErr error
}

// startChild starts this binary as the appliance's child on dir, its
// Slack pointing at slackURL, and waits for its addresses.
func startChild(dir, slackURL string, verbose bool, log io.Writer) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	args := []string{childCommand, "-dir", dir, "-slack", slackURL}
	if verbose {
		args = append(args, "-v")
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = log
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &c.addrs)
	}
	if err != nil {
		_ = c.close()
		return nil, fmt.Errorf("the child did not start: %w", err)
	}
	return c, nil
}

func (c *child) base() string { return "http://" + c.addrs.App }
func (c *child) pid() int     { return c.cmd.Process.Pid }

// control sends POST path to the control port.
func (c *child) control(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, "POST", "http://"+c.addrs.Control+path, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("child %s: HTTP %d: %s", path, res.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// close closes the child's stdin, which ends it, and waits (killing it
// after a minute). Only the first call does anything.
func (c *child) close() error {
	if c.closed {
		return c.closeErr
	}
	c.closed = true
	_ = c.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case c.closeErr = <-done:
	case <-time.After(time.Minute):
		_ = c.cmd.Process.Kill()
		<-done
		c.closeErr = errors.New("the child did not end within a minute; killed it")
	}
	return c.closeErr
}

// procMemory is a process's memory from /proc/PID/status, in KiB.
type procMemory struct {
	HWM, RSS, Anon, File int64
}

func (p procMemory) String() string {
	return fmt.Sprintf("VmHWM %s, VmRSS %s (anonymous %s, file-backed %s)", mib(p.HWM), mib(p.RSS), mib(p.Anon), mib(p.File))
}

func mib(kib int64) string { return strconv.FormatFloat(float64(kib)/1024, 'f', 0, 64) + " MiB" }

func readProcMemory(pid int) (procMemory, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return procMemory{}, err
	}
	return parseProcMemory(string(raw)), nil
}

// parseProcMemory reads VmHWM, VmRSS, RssAnon and RssFile (kB) from
// /proc/PID/status's text.
func parseProcMemory(text string) procMemory {
	var p procMemory
	fields := map[string]*int64{"VmHWM:": &p.HWM, "VmRSS:": &p.RSS, "RssAnon:": &p.Anon, "RssFile:": &p.File}
	for l := range strings.Lines(text) {
		f := strings.Fields(l)
		if len(f) >= 2 {
			if dst := fields[f[0]]; dst != nil {
				*dst, _ = strconv.ParseInt(f[1], 10, 64)
			}
		}
	}
	return p
}

// rssByFile sums the resident memory of a process's mappings from
// /proc/PID/smaps by what they map: the data file, the search index's
// files, the binary, other files, and anonymous memory (heap, stacks).
func rssByFile(pid int, dataDir string) (map[string]int64, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return nil, err
	}
	return parseSmaps(string(raw), dataDir), nil
}

func parseSmaps(text, dataDir string) map[string]int64 {
	out := map[string]int64{}
	what := "anonymous"
	for l := range strings.Lines(text) {
		f := strings.Fields(l)
		if len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
			what = "anonymous"
			if len(f) >= 6 {
				switch p := f[5]; {
				case p == filepath.Join(dataDir, "pmassist.db"):
					what = "data file"
				case strings.HasPrefix(p, filepath.Join(dataDir, "index")+"/"):
					what = "index files"
				case strings.HasPrefix(p, "/"):
					what = "other files (the binary, libraries)"
				}
			}
			continue
		}
		if len(f) >= 2 && f[0] == "Rss:" {
			n, _ := strconv.ParseInt(f[1], 10, 64)
			out[what] += n
		}
	}
	return out
}

func formatByFile(m map[string]int64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return int(m[b] - m[a]) })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + " " + mib(m[k])
	}
	return strings.Join(parts, ", ")
}

// resetPeak resets the process's VmHWM to its current RSS.
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// figure4 measures the child's peak RSS during figure 1's ingestion and
// its RSS at idle with IdleTenants × IdleTenantItems.
func (b *bench) figure4(ctx context.Context) error {
	peak, err := b.memoryPeak(ctx)
	if err != nil {
		return err
	}
	idle, err := b.memoryIdle(ctx)
	if err != nil {
		return err
	}
	// The rows of RSS are the figure; the anonymous part beside them (the Go
	// heap, stacks: what the process itself allocated, without the pages of
	// the data file and index it has mapped and read) is for reading them.
	b.rows = append(b.rows,
		newRow(4, fmt.Sprintf("peak RSS ingesting %s items (server process)", thousands(int64(len(b.corpus.messages)))),
			unitMiB, float64(peak.HWM)/1024, nil, fmt.Sprintf("≤ %d MiB", peakMaxMiB), peak.HWM <= peakMaxMiB*1024),
		newInfoRow(4, "… RSS after it, anonymous only (heap, stacks)", unitMiB, float64(peak.Anon)/1024, nil),
		newRow(4, fmt.Sprintf("RSS idle, %d tenants × %s items", b.size.IdleTenants, thousands(int64(b.size.IdleTenantItems))),
			unitMiB, float64(idle.RSS)/1024, nil, fmt.Sprintf("≤ %d MiB", idleMaxMiB), idle.RSS <= idleMaxMiB*1024),
		newInfoRow(4, "… of which anonymous (heap, stacks)", unitMiB, float64(idle.Anon)/1024, nil))
	return nil
}

// memoryPeak runs figure 1's ingestion in a fresh child.
func (b *bench) memoryPeak(ctx context.Context) (procMemory, error) {
	dir := filepath.Join(b.root, "memory-peak")
	defer b.removeFolder(dir)
	c, err := startChild(dir, b.slackSrv.URL, b.o.verbose, b.log)
	if err != nil {
		return procMemory{}, err
	}
	defer c.close()
	acme, _, err := setUp(ctx, c.base(), true)
	if err != nil {
		return procMemory{}, err
	}
	before, err := readProcMemory(c.pid())
	if err != nil {
		return procMemory{}, err
	}
	if err := resetPeak(c.pid()); err != nil {
		return procMemory{}, fmt.Errorf("resetting the peak RSS: %w", err)
	}
	waitIdle := func(ctx context.Context) error { return c.control(ctx, "/wait-idle") }
	if _, err := b.ingestTimed(ctx, waitIdle, c.base(), acme.token, len(b.corpus.messages)); err != nil {
		return procMemory{}, err
	}
	after, err := readProcMemory(c.pid())
	if err != nil {
		return procMemory{}, err
	}
	b.logf("server process (pid %d) before the ingestion: %s; after it: %s", c.pid(), before, after)
	if by, err := rssByFile(c.pid(), dir); err == nil {
		b.logf("resident after the ingestion by mapping: %s", formatByFile(by))
	}
	return after, c.close()
}

// memoryIdle fills a fresh child with IdleTenants × IdleTenantItems and
// reads its RSS after a GC and the settle period.
func (b *bench) memoryIdle(ctx context.Context) (procMemory, error) {
	dir := filepath.Join(b.root, "memory-idle")
	defer b.removeFolder(dir)
	c, err := startChild(dir, b.slackSrv.URL, b.o.verbose, b.log)
	if err != nil {
		return procMemory{}, err
	}
	defer c.close()
	first, op, err := setUp(ctx, c.base(), false)
	if err != nil {
		return procMemory{}, err
	}
	start := time.Now()
	for i := range b.size.IdleTenants {
		id := first.id
		if i > 0 {
			if id, err = createTenant(ctx, op, i); err != nil {
				return procMemory{}, err
			}
		}
		if err := c.control(ctx, fmt.Sprintf("/fill?tenant=%s&seed=%d&n=%d", id, seedTenants+uint64(i), b.size.IdleTenantItems)); err != nil {
			return procMemory{}, err
		}
	}
	filled, err := readProcMemory(c.pid())
	if err != nil {
		return procMemory{}, err
	}
	b.logf("created %d tenants and filled them with %s items each in %s; server process (pid %d): %s", b.size.IdleTenants,
		thousands(int64(b.size.IdleTenantItems)), since(start), c.pid(), filled)
	op.HTTP.CloseIdleConnections()
	if err := c.control(ctx, "/gc"); err != nil {
		return procMemory{}, err
	}
	settle := time.Duration(b.size.SettleSeconds * float64(time.Second))
	select {
	case <-ctx.Done():
		return procMemory{}, ctx.Err()
	case <-time.After(settle):
	}
	idle, err := readProcMemory(c.pid())
	if err != nil {
		return procMemory{}, err
	}
	b.logf("after a GC and %s idle: %s", settle, idle)
	if by, err := rssByFile(c.pid(), dir); err == nil {
		b.logf("resident by mapping: %s", formatByFile(by))
	}
	return idle, c.close()
}

// removeFolder removes a figure's data folder unless -keep.
func (b *bench) removeFolder(dir string) {
	if !b.o.keep {
		if err := os.RemoveAll(dir); err != nil {
			b.logf("warning: %v", err)
		}
	}
}
