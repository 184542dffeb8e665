// Command pmassist is PM Assistant: one binary that serves the web UI and
// the API, and the operator's commands around its one data file.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base64"
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
	"github.com/pmassist/pmassist/password"
	"github.com/pmassist/pmassist/server"
	"github.com/pmassist/pmassist/store"
)

// DataFileName is the one data file inside the data folder.
const DataFileName = "pmassist.db"

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
	Config Config
	Logger *slog.Logger
	DB     *store.DB
	Server *server.Server
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
	if err := ensureMasterKey(m.Config.DataDir, m.Config.MasterKey, m.Logger); err != nil {
		return err
	}
	db, err := store.Open(filepath.Join(m.Config.DataDir, DataFileName), store.Options{})
	if err != nil {
		return err
	}
	m.DB = db
	srv, err := server.New(server.Config{
		BaseURL: m.Config.BaseURL, SignupMode: m.Config.Signup, DefaultTier: pmassist.Tier(m.Config.DefaultTier),
		Logger: m.Logger, PasswordParams: m.PasswordParams,
	}, server.Services{
		Tenants: db, Users: db, Members: db, Sessions: db, Tokens: db, Invitations: db, Audit: db,
		Ready: func(ctx context.Context) map[string]error { return map[string]error{"data_file": db.Ping(ctx)} },
	})
	if err != nil {
		_ = db.Close()
		return err
	}
	if err := srv.Open(m.Config.Addr); err != nil {
		_ = db.Close()
		return fmt.Errorf("listening on %s: %w", m.Config.Addr, err)
	}
	m.Server = srv
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.wg.Add(1)
	go m.sweepSessions(ctx)
	m.Logger.Info("serving", "addr", srv.Addr(), "data", m.Config.DataDir, "version", pmassist.Version)
	return nil
}

// Close shuts down in order: HTTP stops accepting and finishes requests,
// background work stops, then the data file closes.
func (m *Main) Close() error {
	var errs []error
	if m.Server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		errs = append(errs, m.Server.Close(ctx))
		cancel()
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.wg.Wait()
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

// ensureMasterKey makes sure a master key exists: PMASSIST_MASTER_KEY, or
// DATA_DIR/master.key, created (0600) on first start. The key encrypts OAuth
// tokens from the Connections issue on; it must never be stored inside the
// data file, and backups of the data file should not carry it.
func ensureMasterKey(dataDir, envKey string, logger *slog.Logger) error {
	if envKey != "" {
		return nil
	}
	path := filepath.Join(dataDir, "master.key")
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("creating master key: %w", err)
		}
		_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("writing master key: %w", err)
		}
		logger.Warn("created a new master key; keep a copy of it apart from your backups — without it the stored connection tokens cannot be read",
			"path", path)
		return nil
	} else if err != nil {
		return fmt.Errorf("reading master key: %w", err)
	}
	if k, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw))); err != nil || len(k) != 32 {
		return fmt.Errorf("master key %s is not the base64 encoding of 32 bytes", path)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		logger.Warn("master key file is readable by other users; run chmod 600 on it", "path", path)
	}
	return nil
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
