// Command pmassist is PM Assistant: one binary that serves the web UI and
// the API, and the operator's commands around its one data file.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/github"
	"github.com/pmassist/pmassist/integrations/linear"
	"github.com/pmassist/pmassist/integrations/oauth"
	"github.com/pmassist/pmassist/integrations/slack"
	"github.com/pmassist/pmassist/password"
	"github.com/pmassist/pmassist/server"
	"github.com/pmassist/pmassist/store"
	"github.com/pmassist/pmassist/store/search"
	"github.com/pmassist/pmassist/workflows"
)

// DataFileName is the one data file inside the data folder.
const DataFileName = "pmassist.db"

// IndexDirName is the derived search index inside the data folder.
const IndexDirName = "index"

// RefreshPassEvery is how often the background pass looks for tokens to
// refresh (before expiry, daily keep-alive, retries after backoff).
const RefreshPassEvery = 5 * time.Minute

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}

const usage = `PM Assistant — a self-hosted project-management assistant.

Usage: pmassist [command] [flags]

Commands:
  serve                     run the server (the default when no command is given)
  healthcheck [--url URL]   exit 0 when URL/readyz answers 200 within 5 s (for Docker HEALTHCHECK)
  admin create-operator --email E --password-stdin [--name N]
                            create an operator account (headless installs)
  reindex                   offline: rebuild the search index from the data file now
  keys rotate [--retire-old]
                            offline: add a new master key and re-encrypt every stored secret
                            with it; --retire-old then removes the old keys
  version                   print version, commit and Go version
  help                      this text

Run 'pmassist CMD -h' for the flags of a command; every flag also has an
environment variable (see docs and 'pmassist serve -h').
`

// Run runs one command and returns the process exit code: 0 success, 1
// failure, 2 bad usage or settings.
func Run(ctx context.Context, args []string, stdin io.Reader, stdout io.Writer, stderr *os.File, getenv func(string) string) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(ctx, args, stdout, stderr, getenv)
	case "version":
		fmt.Fprintf(stdout, "pmassist %s (commit %s, %s)\n", pmassist.Version, pmassist.Commit, runtime.Version())
	case "healthcheck":
		err = runHealthcheck(ctx, args, stderr, getenv)
	case "admin":
		err = runAdmin(ctx, args, stdin, stdout, stderr, getenv)
	case "keys":
		err = runKeys(ctx, args, stdout, stderr, getenv)
	case "reindex":
		err = runReindex(ctx, args, stdout, stderr, getenv)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		err = &usageError{fmt.Sprintf("unknown command %q; run 'pmassist help'", cmd)}
	}
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "pmassist:", err)
		return 2
	default:
		fmt.Fprintln(stderr, "pmassist:", err)
		return 1
	}
}

func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("pmassist "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// parseFlags parses args; a flag error is a usage error (exit 2).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	return nil
}

func runServe(ctx context.Context, args []string, stdout io.Writer, stderr *os.File, getenv func(string) string) error {
	m := NewMain()
	fs := newFlagSet("serve", stderr)
	m.Config.registerServeFlags(fs, getenv)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := m.Config.Validate(); err != nil {
		return err
	}
	m.Logger = newLogger(&m.Config, stderr)
	if err := m.Open(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "PM Assistant %s is listening on %s\n", pmassist.Version, m.Server.Addr())
	if first, err := m.needsSetup(ctx); err == nil && first {
		fmt.Fprintf(stdout, "First start: open %s/setup to create the operator account and the first tenant.\n", strings.TrimRight(m.Config.BaseURL, "/"))
	} else {
		fmt.Fprintf(stdout, "Open %s to sign in.\n", strings.TrimRight(m.Config.BaseURL, "/"))
	}
	<-ctx.Done()
	m.Logger.Info("shutting down")
	return m.Close()
}

// Main is a running server with its data file: the wiring of the concrete
// implementations. Tests start one on ":0" with a temporary data folder.
type Main struct {
	Config    Config
	Logger    *slog.Logger
	DB        *store.DB
	OAuth     *oauth.Manager
	Ingestor  *workflows.Ingestor
	Scheduler *workflows.Scheduler
	Index     *search.Index
	Server    *server.Server
	// PasswordParams defaults to password.Default; tests make it cheap.
	PasswordParams password.Params

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewMain returns a Main with the default settings.
func NewMain() *Main {
	return &Main{Config: Config{Addr: ":8080", DataDir: "./data", BaseURL: "http://localhost:8080",
		Signup: server.SignupInvite, DefaultTier: string(pmassist.TierEnterprise), LogLevel: "info"}}
}

// Open creates the data folder and master key if needed, opens the data
// file, and starts serving.
func (m *Main) Open() error {
	if m.Logger == nil {
		m.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(m.Config.DataDir, 0o700); err != nil {
		return fmt.Errorf("creating data folder: %w", err)
	}
	keys, err := loadKeyring(m.Config.DataDir, m.Config.MasterKey, true, m.Logger)
	if err != nil {
		return err
	}
	db, err := store.Open(filepath.Join(m.Config.DataDir, DataFileName), store.Options{Keys: keys})
	if err != nil {
		return err
	}
	m.DB = db
	if err := m.wire(db); err != nil {
		_ = db.Close()
		return err
	}
	if err := m.Server.Open(m.Config.Addr); err != nil {
		_ = m.Scheduler.Shutdown()
		m.Ingestor.Close()
		_ = db.Close()
		return fmt.Errorf("listening on %s: %w", m.Config.Addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.wg.Add(3)
	go m.sweepSessions(ctx)
	go func() {
		defer m.wg.Done()
		m.OAuth.Run(ctx, RefreshPassEvery)
	}()
	go m.replanPeriodically(ctx)
	m.Logger.Info("serving", "addr", m.Server.Addr(), "data", m.Config.DataDir, "version", pmassist.Version)
	return nil
}

// Close shuts down in order: HTTP stops accepting and finishes requests,
// the scheduler stops, running jobs stop at a safe point (between pages),
// background loops end, then the data file closes.
func (m *Main) Close() error {
	var errs []error
	if m.Server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		errs = append(errs, m.Server.Close(ctx))
		cancel()
	}
	if m.Scheduler != nil {
		errs = append(errs, m.Scheduler.Shutdown())
	}
	if m.Ingestor != nil {
		m.Ingestor.Close()
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
	if m.Index != nil {
		errs = append(errs, m.Index.Close())
	}
	if m.DB != nil {
		errs = append(errs, m.DB.Close())
	}
	return errors.Join(errs...)
}

func (m *Main) needsSetup(ctx context.Context) (bool, error) {
	n, err := m.DB.CountUsers(ctx)
	return n == 0, err
}

// sweepSessions deletes idle sessions once an hour so the file does not
// keep them forever.
func (m *Main) sweepSessions(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := m.DB.DeleteExpiredSessions(ctx, now.Add(-pmassist.SessionIdleTimeout)); err != nil {
				m.Logger.Error("deleting expired sessions failed", "error", err)
			} else if n > 0 {
				m.Logger.Info("deleted expired sessions", "count", n)
			}
		}
	}
}

// MasterKeyFile is the key ring's file inside the data folder.
const MasterKeyFile = "master.key"

// loadKeyring returns the master keys: PMASSIST_MASTER_KEY, or
// DATA_DIR/master.key, created (0600) on first start when create is set.
// The keys seal OAuth tokens; they must never be stored inside the data
// file, and backups of the data file should not carry them.
func loadKeyring(dataDir, envKey string, create bool, logger *slog.Logger) (*store.Keyring, error) {
	if envKey != "" {
		ring, err := store.ParseKeyring(envKey)
		if err != nil {
			return nil, errors.New("invalid PMASSIST_MASTER_KEY")
		}
		return ring, nil
	}
	path := filepath.Join(dataDir, MasterKeyFile)
	ring, err := store.ReadKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		if ring, err = store.GenerateKeyring(); err != nil {
			return nil, err
		}
		if err := store.WriteKeyFile(path, ring); err != nil {
			return nil, fmt.Errorf("writing master key: %w", err)
		}
		logger.Warn("created a new master key; keep a copy of it apart from your backups — without it the stored connection tokens cannot be read",
			"path", path)
		return ring, nil
	} else if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no master key: %s does not exist and PMASSIST_MASTER_KEY is not set", path)
	} else if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("master key file is readable by other users; run chmod 600 on it", "path", path)
	}
	return ring, nil
}

func runHealthcheck(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("healthcheck", stderr)
	addr := fs.String("addr", envOr(getenv, "PMASSIST_ADDR", ":8080"), "listen address of the server (PMASSIST_ADDR)")
	base := fs.String("url", "", "base URL to check (default: http://127.0.0.1 and the port of --addr)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	target := strings.TrimRight(*base, "/")
	if target == "" {
		host, port, err := net.SplitHostPort(*addr)
		if err != nil {
			return invalid("addr", "PMASSIST_ADDR", *addr, "must be host:port")
		}
		if host == "" || host == "0.0.0.0" || host == "::" {
			host = "127.0.0.1"
		}
		target = "http://" + net.JoinHostPort(host, port)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target+"/readyz", nil)
	if err != nil {
		return &usageError{fmt.Sprintf("invalid --url %q", *base)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not healthy: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

func runAdmin(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "create-operator" {
		return &usageError{"usage: pmassist admin create-operator --email E --password-stdin [--name N] [--data DIR]"}
	}
	fs := newFlagSet("admin create-operator", stderr)
	var dataDir string
	registerDataFlag(fs, getenv, &dataDir)
	email := fs.String("email", "", "email of the new operator (required)")
	name := fs.String("name", "", "display name (default: the part of the email before @)")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if *email == "" || !*fromStdin {
		return &usageError{"admin create-operator needs --email and --password-stdin"}
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, pmassist.MaxPasswordLength+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("reading password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if msg := pmassist.ValidatePassword(pw); msg != "" {
		return &usageError{"password: " + msg}
	}
	if *name == "" {
		*name, _, _ = strings.Cut(*email, "@")
	}
	u := &pmassist.User{Email: *email, Name: *name, Operator: true}
	if err := u.Validate(); err != nil {
		return &usageError{pmassist.ErrorMessage(err)}
	}
	if u.PasswordHash, err = password.Default.Hash(pw); err != nil {
		return err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return err
	}
	db, err := store.Open(filepath.Join(dataDir, DataFileName), store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CreateUser(ctx, u); err != nil {
		return errors.New(pmassist.ErrorMessage(err))
	}
	fmt.Fprintf(stdout, "created operator %s (%s)\n", u.Email, u.ID)
	return nil
}

func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "rotate" {
		return &usageError{"usage: pmassist keys rotate [--retire-old] [--data DIR]"}
	}
	fs := newFlagSet("keys rotate", stderr)
	var dataDir string
	registerDataFlag(fs, getenv, &dataDir)
	retire := fs.Bool("retire-old", false, "after re-encrypting, remove the old keys from the key ring")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	envKey := getenv("PMASSIST_MASTER_KEY")
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	old, err := loadKeyring(dataDir, envKey, false, logger)
	if err != nil {
		return err
	}
	next, err := old.WithNewKey()
	if err != nil {
		return err
	}
	keyPath := filepath.Join(dataDir, MasterKeyFile)
	// The new key is written before anything is sealed with it, and old keys
	// leave the ring only after nothing uses them: a crash at any point
	// leaves a ring that opens every value.
	save := func(ring *store.Keyring) error {
		if envKey != "" {
			return nil
		}
		return store.WriteKeyFile(keyPath, ring)
	}
	if err := save(next); err != nil {
		return err
	}
	db, err := store.Open(filepath.Join(dataDir, DataFileName), store.Options{Keys: next})
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Reseal(ctx)
	if err != nil {
		return fmt.Errorf("re-encrypting: %w", err)
	}
	final := next
	if *retire {
		if err := db.RetireKeys(ctx, old.IDs()...); err != nil {
			return err
		}
		if final, err = next.Without(old.IDs()...); err != nil {
			return err
		}
		if err := save(final); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "re-encrypted %d secrets with master key %d\n", n, next.ActiveID())
	if *retire {
		fmt.Fprintf(stdout, "retired master key(s) %v\n", old.IDs())
	} else {
		fmt.Fprintf(stdout, "old key(s) %v stay readable; run again with --retire-old to remove them\n", old.IDs())
	}
	if envKey != "" {
		fmt.Fprintf(stdout, "PMASSIST_MASTER_KEY is set, so nothing was written to disk: set it to this value before the next start:\n%s\n", final.Encode())
	} else {
		fmt.Fprintf(stdout, "key ring written to %s\n", keyPath)
	}
	return nil
}

// wire builds the services on the open data file: the OAuth manager, the
// provider clients, ingestion and its schedule, webhooks, and the server.
func (m *Main) wire(db *store.DB) error {
	p := m.Config.Providers
	m.OAuth = oauth.New(oauth.Config{
		BaseURL: m.Config.BaseURL, Apps: p.Apps, SlackURL: p.SlackURL, LinearURL: p.LinearURL, LinearAPIURL: p.LinearAPIURL,
		GitHubURL: p.GitHubURL, GitHubAPIURL: p.GitHubAPIURL, Logger: m.Logger,
	}, oauth.Services{Connections: db, Apps: db, Tenants: db})
	client := &http.Client{Timeout: 60 * time.Second}
	slackClient := slack.New(slack.Config{BaseURL: p.SlackURL, HTTPClient: client, Tokens: m.OAuth,
		HistoryEvery: p.SlackHistoryEvery, Logger: m.Logger})
	linearClient := linear.New(linear.Config{APIURL: p.LinearAPIURL, HTTPClient: client, Tokens: m.OAuth, Logger: m.Logger})
	githubClient := github.New(github.Config{APIURL: p.GitHubAPIURL, HTTPClient: client, Tokens: m.OAuth, Logger: m.Logger})

	ctx := context.Background()
	var err error
	if n, err := db.FailInterruptedJobs(ctx, time.Now()); err != nil {
		return err
	} else if n > 0 {
		m.Logger.Warn("jobs interrupted by the last stop were marked failed; their next runs resume from the watermarks", "count", n)
	}
	m.Index, err = search.Open(search.Options{Dir: filepath.Join(m.Config.DataDir, IndexDirName), Items: db, Decisions: db,
		Walker: db, Logger: m.Logger})
	if err != nil {
		return fmt.Errorf("opening the search index: %w", err)
	}
	decisions := workflows.NewDecisions(workflows.DecisionsConfig{Detector: workflows.RuleDetector{}, Decisions: db,
		Configs: db, Index: m.Index, Logger: m.Logger})
	m.Ingestor = workflows.NewIngestor(workflows.IngestorConfig{
		Connections: db, Items: db, Jobs: db, Configs: db, Tenants: db, Logger: m.Logger,
		AfterStore: func(ctx context.Context, items []*pmassist.Item) {
			ids := make([]string, len(items))
			for i, it := range items {
				ids[i] = it.ID
			}
			m.Index.QueueItems(ctx, ids...)
			if err := decisions.Process(ctx, items); err != nil {
				m.Logger.Error("decision detection failed", "error", err)
			}
		},
		Sources: map[pmassist.Service]pmassist.Source{
			pmassist.ServiceSlack: slackClient, pmassist.ServiceLinear: linearClient, pmassist.ServiceGitHub: githubClient,
		},
	})
	m.Scheduler, err = workflows.NewScheduler(workflows.SchedulerConfig{Ingestor: m.Ingestor, Connections: db, Configs: db,
		Tenants: db, Logger: m.Logger})
	if err != nil {
		m.Ingestor.Close()
		return err
	}
	if err := m.Scheduler.Start(ctx); err != nil {
		m.Ingestor.Close()
		return err
	}
	webhooks := workflows.NewWebhooks(workflows.WebhooksConfig{Ingestor: m.Ingestor, Verifier: m.OAuth, Deliveries: db,
		Connections: db, Configs: db, Items: db, Logger: m.Logger,
		Receivers: map[pmassist.Service]pmassist.WebhookReceiver{
			pmassist.ServiceSlack: slackClient, pmassist.ServiceLinear: linearClient, pmassist.ServiceGitHub: githubClient,
		}})
	m.Server, err = server.New(server.Config{
		BaseURL: m.Config.BaseURL, SignupMode: m.Config.Signup, DefaultTier: pmassist.Tier(m.Config.DefaultTier),
		Logger: m.Logger, PasswordParams: m.PasswordParams,
	}, server.Services{
		Tenants: db, Users: db, Members: db, Sessions: db, Tokens: db, Invitations: db, Audit: db,
		Connections: db, Apps: db, OAuth: m.OAuth, Items: db, Jobs: db, Configs: db,
		Ingestion: m.Ingestor, Webhooks: webhooks, Planner: m.Scheduler,
		Decisions: db, Search: m.Index, Indexer: m.Index,
		Ready: func(ctx context.Context) map[string]error {
			checks := map[string]error{"data_file": db.Ping(ctx), "scheduler": nil, "index": nil}
			if !m.Scheduler.Running() {
				checks["scheduler"] = errors.New("not running")
			}
			if st := m.Index.IndexState(); st.State != "ready" {
				checks["index"] = fmt.Errorf("search index %s", st.State)
			}
			return checks
		},
	})
	if err != nil {
		_ = m.Scheduler.Shutdown()
		m.Ingestor.Close()
		return err
	}
	return nil
}

// replanPeriodically catches up with changes the server did not announce
// (a connection that needed reconnecting and was repaired by a refresh).
func (m *Main) replanPeriodically(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := m.Scheduler.Replan(ctx); err != nil && ctx.Err() == nil {
				m.Logger.Error("re-planning schedules failed", "error", err)
			}
		}
	}
}

// runReindex rebuilds the search index offline: the derived folder is
// removed and built again from the data file.
func runReindex(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("reindex", stderr)
	var dataDir string
	registerDataFlag(fs, getenv, &dataDir)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := store.Open(filepath.Join(dataDir, DataFileName), store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	dir := filepath.Join(dataDir, IndexDirName)
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	start := time.Now()
	ix, err := search.Open(search.Options{Dir: dir, Items: db, Decisions: db, Walker: db,
		Logger: slog.New(slog.NewTextHandler(stderr, nil))})
	if err != nil {
		return err
	}
	if err := ix.WaitIdle(ctx); err != nil {
		_ = ix.Close()
		return err
	}
	st := ix.IndexState()
	if err := ix.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "search index rebuilt: %d documents in %s\n", st.Docs, time.Since(start).Round(time.Millisecond))
	return nil
}
