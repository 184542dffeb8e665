package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/fake"
	"github.com/pmassist/pmassist/integrations/oauth"
	"github.com/pmassist/pmassist/internal/apiclient"
	"github.com/pmassist/pmassist/server"
)

// `pmassist demo` (product.md §10): the real appliance with the built-in
// Slack, Linear and GitHub stand-ins on loopback, serving a seeded week of
// a small team's work (fake.NewDemoWeek). On the first start the demo
// drives the appliance through its own HTTP API like a person would: the
// first-run setup, a sign-in, the OAuth flow of each service (authorize →
// stand-in → callback), an ingestion run of each, and a standup. Its data
// lives in its own folder, marked as a demo folder, never in ./data.
//
// Restarts: the stand-ins keep their state in memory, so a new process
// does not know the tokens the appliance stored last time. The folder's
// marker remembers the day the week was made for and the login, the
// stand-ins serve the very same week again (same ids and times, so nothing
// is ingested twice), and the demo signs in and reconnects each service
// through the OAuth flow, which keeps the connections and their data and
// only replaces the tokens.

const (
	demoMarkerFile = ".pmassist-demo"
	demoMarkerKind = "pmassist-demo"
	demoEmail      = "demo@acme.test"
	demoName       = "Demo Operator"
	demoTenantName = "Acme (demo)"
	// demoSeedTimeout bounds the first start's seeding.
	demoSeedTimeout = 3 * time.Minute
)

// demoServices are connected in this order.
var demoServices = []pmassist.Service{pmassist.ServiceSlack, pmassist.ServiceLinear, pmassist.ServiceGitHub}

// demoState is the marker file of a demo folder.
type demoState struct {
	Kind string `json:"kind"`
	// Week is the moment the demo week was made for: the stand-ins serve
	// the five working days before its date.
	Week     time.Time `json:"week"`
	Email    string    `json:"email"`
	Password string    `json:"password"`
	// Seeded is set once setup, connections, ingestion and the standup
	// are done; until then each start (re)does them.
	Seeded bool `json:"seeded"`
}

func runDemo(ctx context.Context, args []string, stdout io.Writer, stderr *os.File, getenv func(string) string) error {
	flags := newFlagSet("demo", stderr)
	dir := flags.String("data", envOr(getenv, "PMASSIST_DEMO_DATA", "./demo-data"), "demo data folder, never ./data (PMASSIST_DEMO_DATA)")
	addr := flags.String("addr", envOr(getenv, "PMASSIST_DEMO_ADDR", "127.0.0.1:8080"), "listen address of the demo (PMASSIST_DEMO_ADDR)")
	reset := flags.Bool("reset", false, "delete the demo folder first and seed a fresh week")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	listen, baseURL, err := demoAddr(*addr)
	if err != nil {
		return err
	}
	state, err := openDemoFolder(*dir, envOr(getenv, "PMASSIST_DATA_DIR", "./data"), *reset, time.Now())
	if err != nil {
		return err
	}

	standIns, err := startStandIns(state.Week)
	if err != nil {
		return err
	}
	m := app.NewMain()
	m.Config.Addr, m.Config.DataDir, m.Config.BaseURL = listen, *dir, baseURL
	m.Config.Signup, m.Config.DefaultTier = server.SignupClosed, string(pmassist.TierEnterprise)
	m.Config.LogLevel, m.Config.LogFormat = "warn", "text"
	m.Config.Providers = standIns.providers()
	m.Logger = newLogger(&m.Config, stderr)
	// The demo's own master key, made quietly: it seals stand-in tokens.
	if _, err := app.LoadKeyring(*dir, "", true, slog.New(slog.DiscardHandler)); err != nil {
		standIns.Close()
		return err
	}
	if err := m.Open(); err != nil {
		standIns.Close()
		if errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%w; choose another address with --addr", err)
		}
		return err
	}
	stop := func() error {
		err := m.Close()
		standIns.Close()
		return err
	}

	if state.Seeded {
		fmt.Fprintf(stdout, "Starting the demo from %s…\n", *dir)
	} else {
		fmt.Fprintf(stdout, "Seeding the demo in %s: connecting Slack, Linear and GitHub through OAuth, ingesting a week of work…\n", *dir)
	}
	d := &demo{m: m, c: newDemoClient(baseURL), state: state, dir: *dir}
	summary, err := d.prepare(ctx, stderr)
	if err != nil {
		closeErr := stop()
		if ctx.Err() != nil {
			fmt.Fprintln(stdout, "Stopped before the demo was ready; the next start carries on.")
			return closeErr
		}
		return errors.Join(err, closeErr)
	}
	d.print(stdout, baseURL, summary)

	<-ctx.Done()
	fmt.Fprintln(stdout, "Stopping the demo…")
	return stop()
}

// demoAddr checks --addr and returns the address to listen on (a free
// port picked for port 0, since OAuth redirects need the real one) and
// the base URL to open.
func demoAddr(addr string) (listen, baseURL string, err error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", "", invalid("addr", "PMASSIST_DEMO_ADDR", addr, "must be host:port, e.g. 127.0.0.1:8080")
	}
	if port == "0" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return "", "", fmt.Errorf("listening on %s: %w", addr, err)
		}
		_, port, _ = net.SplitHostPort(ln.Addr().String())
		_ = ln.Close()
	}
	browse := host
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		browse = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), "http://" + net.JoinHostPort(browse, port), nil
}

// openDemoFolder checks that dir is a demo folder (or new, or empty) and
// returns its state, creating the folder and its marker when needed. A
// folder with a data file but no marker may hold real data: it is refused,
// and so is the data folder of `pmassist serve`.
func openDemoFolder(dir, realData string, reset bool, now time.Time) (*demoState, error) {
	if strings.TrimSpace(dir) == "" {
		return nil, invalid("data", "PMASSIST_DEMO_DATA", dir, "must not be empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if real, err := filepath.Abs(realData); err == nil && real == abs {
		return nil, &usageError{fmt.Sprintf("refusing --data %s: it is the data folder of `pmassist serve` (PMASSIST_DATA_DIR); the demo keeps its data apart, choose another folder", dir)}
	}
	state, err := readDemoMarker(dir)
	switch {
	case err == nil && reset:
		if err := os.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("resetting the demo: %w", err)
		}
		state = nil
	case err == nil:
		if _, err := os.Stat(filepath.Join(dir, app.DataFileName)); errors.Is(err, fs.ErrNotExist) {
			// The data file is gone: a fresh week for a fresh file.
			state.Week, state.Seeded = now, false
			if err := writeDemoMarker(dir, state); err != nil {
				return nil, err
			}
		}
		return state, nil
	case errors.Is(err, fs.ErrNotExist):
		entries, rerr := os.ReadDir(dir)
		if rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			return nil, rerr
		}
		for _, e := range entries {
			if e.Name() == app.DataFileName {
				return nil, &usageError{fmt.Sprintf("refusing --data %s: it holds a PM Assistant data file (%s) but no %s marker, so it may be real data; choose another folder for the demo", dir, app.DataFileName, demoMarkerFile)}
			}
		}
		if len(entries) > 0 {
			return nil, &usageError{fmt.Sprintf("refusing --data %s: the folder is not empty and is not a demo folder (no %s); choose a new or empty folder", dir, demoMarkerFile)}
		}
	default:
		return nil, fmt.Errorf("reading the demo marker: %w", err)
	}
	pw, err := demoPassword()
	if err != nil {
		return nil, err
	}
	state = &demoState{Kind: demoMarkerKind, Week: now.UTC(), Email: demoEmail, Password: pw}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the demo folder: %w", err)
	}
	return state, writeDemoMarker(dir, state)
}

func readDemoMarker(dir string) (*demoState, error) {
	raw, err := os.ReadFile(filepath.Join(dir, demoMarkerFile))
	if err != nil {
		return nil, err
	}
	var s demoState
	if err := json.Unmarshal(raw, &s); err != nil || s.Kind != demoMarkerKind || s.Week.IsZero() || s.Email == "" || s.Password == "" {
		return nil, fmt.Errorf("%s is not a valid demo marker; delete the folder to start over", filepath.Join(dir, demoMarkerFile))
	}
	return &s, nil
}

// writeDemoMarker replaces the marker atomically; it holds the demo
// password, so only its owner reads it.
func writeDemoMarker(dir string, s *demoState) error {
	raw, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, demoMarkerFile+".tmp")
	if err := os.WriteFile(tmp, append(raw, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, demoMarkerFile))
}

// demoPassword is a fresh, typeable password for the demo account.
func demoPassword() (string, error) {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "demo-" + hex.EncodeToString(b), nil
}

// ---------------------------------------------------------------------------
// The stand-ins.

// The OAuth apps the appliance is configured with and the stand-ins know.
var demoApps = map[pmassist.Service]oauth.AppCredentials{
	pmassist.ServiceSlack:  {ClientID: "demo-slack-client", ClientSecret: "demo-slack-secret", SigningSecret: "demo-slack-signing-secret"},
	pmassist.ServiceLinear: {ClientID: "demo-linear-client", ClientSecret: "demo-linear-secret", SigningSecret: "demo-linear-webhook-secret"},
	pmassist.ServiceGitHub: {ClientID: "demo-github-client", ClientSecret: "demo-github-secret", SigningSecret: "demo-github-webhook-secret"},
}

type standIns struct {
	slack   *fake.Slack
	linear  *fake.Linear
	github  *fake.GitHub
	servers []*http.Server
	urls    map[pmassist.Service]string
}

// startStandIns serves the three stand-ins on loopback, each on a port of
// its own, seeded with the week of the given day and approving every
// authorization at once (the consent a person would click).
func startStandIns(week time.Time) (*standIns, error) {
	opts := func(svc pmassist.Service) fake.Options {
		a := demoApps[svc]
		return fake.Options{ClientID: a.ClientID, ClientSecret: a.ClientSecret, AutoApprove: true}
	}
	s := &standIns{slack: fake.NewSlack(opts(pmassist.ServiceSlack)), linear: fake.NewLinear(opts(pmassist.ServiceLinear)),
		github: fake.NewGitHub(opts(pmassist.ServiceGitHub)), urls: map[pmassist.Service]string{}}
	if _, err := fake.SeedDemoWeek(s.slack, s.linear, s.github, week); err != nil {
		return nil, err
	}
	for svc, h := range map[pmassist.Service]http.Handler{pmassist.ServiceSlack: s.slack, pmassist.ServiceLinear: s.linear, pmassist.ServiceGitHub: s.github} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.Close()
			return nil, fmt.Errorf("starting the %s stand-in: %w", svc.Title(), err)
		}
		srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
		go func() { _ = srv.Serve(ln) }()
		s.servers = append(s.servers, srv)
		s.urls[svc] = "http://" + ln.Addr().String()
	}
	return s, nil
}

// providers points the appliance at the stand-ins. They do not limit
// conversations.history, so the appliance does not pace it.
func (s *standIns) providers() app.ProviderConfig {
	return app.ProviderConfig{Apps: demoApps,
		SlackURL: s.urls[pmassist.ServiceSlack], LinearURL: s.urls[pmassist.ServiceLinear], LinearAPIURL: s.urls[pmassist.ServiceLinear],
		GitHubURL: s.urls[pmassist.ServiceGitHub], GitHubAPIURL: s.urls[pmassist.ServiceGitHub]}
}

func (s *standIns) Close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
}

// ---------------------------------------------------------------------------
// Driving the appliance.

type demo struct {
	m     *app.Main
	c     *demoClient
	state *demoState
	dir   string
}

type demoSummary struct {
	connected, items, decisions int
	standup                     string // date of the newest standup, "" when none
	reconnectErr                error
}

// prepare makes the demo ready: on the first start it sets up the account,
// connects, ingests and writes a standup; on later starts it reconnects.
func (d *demo) prepare(ctx context.Context, stderr io.Writer) (demoSummary, error) {
	ctx, cancel := context.WithTimeout(ctx, demoSeedTimeout)
	defer cancel()
	first, err := d.m.NeedsSetup(ctx)
	if err != nil {
		return demoSummary{}, err
	}
	if first {
		d.state.Seeded = false
		if err := d.c.Call(ctx, "POST", "/api/v1/setup", map[string]string{"email": d.state.Email, "password": d.state.Password,
			"name": demoName, "tenant_name": demoTenantName}, http.StatusCreated, nil); err != nil {
			return demoSummary{}, fmt.Errorf("creating the demo account: %w", err)
		}
	}
	var sum demoSummary
	if err := d.c.Login(ctx, d.state.Email, d.state.Password); err != nil {
		if !d.state.Seeded {
			return sum, fmt.Errorf("signing in as %s: %w", d.state.Email, err)
		}
		// The password was changed in the app: the demo still runs, the
		// connections ask to be reconnected on the Integrations page.
		fmt.Fprintf(stderr, "pmassist demo: could not sign in as %s to reconnect the stand-ins (%v); reconnect them on the Integrations page\n",
			d.state.Email, err)
		return demoSummary{reconnectErr: err}, nil
	}
	for _, svc := range demoServices {
		if err := d.c.connect(ctx, svc); err != nil {
			return sum, fmt.Errorf("connecting %s: %w", svc.Title(), err)
		}
	}
	if !d.state.Seeded {
		if err := d.c.ingest(ctx, demoServices); err != nil {
			return sum, err
		}
		if err := d.m.Index.WaitIdle(ctx); err != nil {
			return sum, fmt.Errorf("waiting for the search index: %w", err)
		}
		if err := d.c.Call(ctx, "POST", "/api/v1/workflows/standup", map[string]any{}, http.StatusOK, nil); err != nil {
			return sum, fmt.Errorf("writing the standup: %w", err)
		}
		d.state.Seeded = true
		if err := writeDemoMarker(d.dir, d.state); err != nil {
			return sum, err
		}
	}
	return d.c.summary(ctx)
}

func (d *demo) print(w io.Writer, baseURL string, s demoSummary) {
	fmt.Fprintf(w, "\nPM Assistant demo %s: the appliance with built-in Slack, Linear and GitHub stand-ins, all on this machine.\n\n", pmassist.Version)
	fmt.Fprintf(w, "  Open:      %s\n", baseURL)
	fmt.Fprintf(w, "  Email:     %s\n", d.state.Email)
	fmt.Fprintf(w, "  Password:  %s\n\n", d.state.Password)
	if s.reconnectErr == nil {
		standup := "no standup yet"
		if t, err := time.Parse("2006-01-02", s.standup); err == nil {
			standup = "a standup for " + t.Format("Monday 2 January 2006")
		}
		fmt.Fprintf(w, "  %d integrations connected, %d items, %d decisions, %s.\n", s.connected, s.items, s.decisions, standup)
	}
	days := fake.NewDemoWeek(d.state.Week).Days
	fmt.Fprintf(w, "  A week of Acme's work, %s to %s, in %s (run with --reset for a fresh week).\n\n",
		days[0].Format("Mon 2 Jan"), days[len(days)-1].Format("Mon 2 Jan 2006"), d.dir)
	fmt.Fprintln(w, "Ctrl-C to stop.")
}

// demoClient speaks the appliance's API with a session, as the browser
// would, and follows no redirects by itself.
type demoClient struct{ *apiclient.Client }

func newDemoClient(base string) *demoClient {
	c := apiclient.New(base, 0)
	c.HTTP.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &demoClient{c}
}

// redirect GETs u (with the session cookie where it applies) and returns
// the Location of the 302 it must answer.
func (c *demoClient) redirect(ctx context.Context, u string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
	if err != nil {
		return nil, err
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if res.StatusCode != http.StatusFound {
		return nil, fmt.Errorf("GET %s: HTTP %d, want a redirect", strings.SplitN(u, "?", 2)[0], res.StatusCode)
	}
	return res.Request.URL.Parse(res.Header.Get("Location"))
}

// connect runs the browser's OAuth flow: the appliance's authorize
// redirect, the stand-in's consent (approved at once) redirecting back with
// a code, and the appliance's callback, which stores the connection (or
// renews the tokens of the existing one) and sends the browser on to the
// Integrations page.
func (c *demoClient) connect(ctx context.Context, svc pmassist.Service) error {
	provider, err := c.redirect(ctx, c.Base+"/api/v1/oauth/"+string(svc)+"/authorize")
	if err != nil {
		return err
	}
	back, err := c.redirect(ctx, provider.String())
	if err != nil {
		return err
	}
	if want := c.Base + "/api/v1/oauth/" + string(svc) + "/callback"; !strings.HasPrefix(back.String(), want) {
		return fmt.Errorf("the %s stand-in redirected to %s, not to the callback", svc.Title(), back.Redacted())
	}
	if e := back.Query().Get("error"); e != "" {
		return fmt.Errorf("the %s stand-in refused: %s", svc.Title(), e)
	}
	done, err := c.redirect(ctx, back.String())
	if err != nil {
		return err
	}
	if done.Query().Get("connected") != string(svc) {
		if msg := done.Query().Get("error"); msg != "" {
			return errors.New(msg)
		}
		return fmt.Errorf("the callback sent the browser to %s", done.Redacted())
	}
	return nil
}

type demoJob struct {
	ID       string `json:"id"`
	Service  string `json:"service"`
	Status   string `json:"status"`
	ItemsNew int    `json:"items_new"`
	Error    string `json:"error"`
}

// ingest starts an ingestion run of each service (a run the schedule has
// already started is answered instead) and waits until all have ended.
func (c *demoClient) ingest(ctx context.Context, services []pmassist.Service) error {
	var jobs []demoJob
	for _, svc := range services {
		var out struct {
			Jobs []demoJob `json:"jobs"`
		}
		if err := c.Call(ctx, "POST", "/api/v1/ingestion/"+string(svc), map[string]any{}, http.StatusAccepted, &out); err != nil {
			return fmt.Errorf("starting the %s ingestion: %w", svc.Title(), err)
		}
		jobs = append(jobs, out.Jobs...)
	}
	for _, j := range jobs {
		for j.Status == pmassist.JobQueued || j.Status == pmassist.JobRunning {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(25 * time.Millisecond):
			}
			if err := c.Call(ctx, "GET", "/api/v1/jobs/"+j.ID, nil, http.StatusOK, &j); err != nil {
				return err
			}
		}
		if j.Status != pmassist.JobSucceeded {
			return fmt.Errorf("the %s ingestion ended %s: %s", j.Service, j.Status, j.Error)
		}
	}
	return nil
}

// count pages through a list of the API and counts its entries.
func (c *demoClient) count(ctx context.Context, path, key string) (int, error) {
	n, cursor := 0, ""
	for {
		var page map[string]json.RawMessage
		if err := c.Call(ctx, "GET", path+"?limit=200&cursor="+url.QueryEscape(cursor), nil, http.StatusOK, &page); err != nil {
			return n, err
		}
		var entries []json.RawMessage
		if err := json.Unmarshal(page[key], &entries); err != nil {
			return n, fmt.Errorf("GET %s: %w", path, err)
		}
		n += len(entries)
		cursor = ""
		_ = json.Unmarshal(page["next_cursor"], &cursor)
		if cursor == "" || len(entries) == 0 {
			return n, nil
		}
	}
}

// summary tells what the demo tenant holds.
func (c *demoClient) summary(ctx context.Context) (demoSummary, error) {
	var s demoSummary
	var conns struct {
		Connections []struct {
			Status string `json:"status"`
		} `json:"connections"`
	}
	if err := c.Call(ctx, "GET", "/api/v1/integrations", nil, http.StatusOK, &conns); err != nil {
		return s, err
	}
	for _, cn := range conns.Connections {
		if cn.Status == pmassist.ConnectionConnected {
			s.connected++
		}
	}
	var err error
	if s.items, err = c.count(ctx, "/api/v1/items", "items"); err != nil {
		return s, err
	}
	if s.decisions, err = c.count(ctx, "/api/v1/decision-logs", "decision_logs"); err != nil {
		return s, err
	}
	var standups struct {
		Standups []struct {
			Date string `json:"date"`
		} `json:"standups"`
	}
	if err := c.Call(ctx, "GET", "/api/v1/standups?limit=1", nil, http.StatusOK, &standups); err != nil {
		return s, err
	}
	if len(standups.Standups) > 0 {
		s.standup = standups.Standups[0].Date
	}
	return s, nil
}
