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
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/password"
	"github.com/pmassist/pmassist/store"
	"github.com/pmassist/pmassist/store/search"
)

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
  demo [--data DIR] [--addr ADDR] [--reset]
                            run with built-in Slack/Linear/GitHub stand-ins and a seeded week
                            in its own data folder (default ./demo-data); prints the URL and a login
  healthcheck [--url URL]   exit 0 when URL/readyz answers 200 within 5 s (for Docker HEALTHCHECK)
  admin create-operator --email E --password-stdin [--name N]
                            create an operator account (headless installs)
  backup --out FILE [--server URL --token TOKEN]
                            consistent copy of the data file: through a running server (an
                            operator's API token), else straight from the file ('-' = stdout)
  restore FILE              offline: check FILE, keep the data file as pmassist.db.bak-<time>
                            and put FILE in its place; the search index rebuilds at next start
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
	case "demo":
		err = runDemo(ctx, args, stdout, stderr, getenv)
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
	case "backup":
		err = runBackup(ctx, args, stdout, stderr, getenv)
	case "restore":
		err = runRestore(args, stdout, stderr, getenv)
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
	m := app.NewMain()
	fs := newFlagSet("serve", stderr)
	registerServeFlags(&m.Config, fs, getenv)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := validateConfig(&m.Config); err != nil {
		return err
	}
	m.Logger = newLogger(&m.Config, stderr)
	if err := m.Open(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "PM Assistant %s is listening on %s\n", pmassist.Version, m.Server.Addr())
	if first, err := m.NeedsSetup(ctx); err == nil && first {
		fmt.Fprintf(stdout, "First start: open %s/setup to create the operator account and the first tenant.\n", strings.TrimRight(m.Config.BaseURL, "/"))
	} else {
		fmt.Fprintf(stdout, "Open %s to sign in.\n", strings.TrimRight(m.Config.BaseURL, "/"))
	}
	<-ctx.Done()
	m.Logger.Info("shutting down")
	return m.Close()
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
	db, err := store.Open(filepath.Join(dataDir, app.DataFileName), store.Options{})
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
	old, err := app.LoadKeyring(dataDir, envKey, false, logger)
	if err != nil {
		return err
	}
	next, err := old.WithNewKey()
	if err != nil {
		return err
	}
	keyPath := filepath.Join(dataDir, app.MasterKeyFile)
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
	db, err := store.Open(filepath.Join(dataDir, app.DataFileName), store.Options{Keys: next})
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

// runReindex rebuilds the search index offline: the derived folder is
// removed and built again from the data file.
func runReindex(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := newFlagSet("reindex", stderr)
	var dataDir string
	registerDataFlag(fs, getenv, &dataDir)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	db, err := store.Open(filepath.Join(dataDir, app.DataFileName), store.Options{})
	if err != nil {
		return err
	}
	defer db.Close()
	dir := filepath.Join(dataDir, app.IndexDirName)
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
