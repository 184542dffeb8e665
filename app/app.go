// Package app wires PM Assistant together: the data file and its key ring,
// the search index, the OAuth manager, the provider clients, ingestion and
// its schedule, webhooks, decision detection and the HTTP server, with the
// order in which they start and stop. The command line (cmd/pmassist), the
// benchmark harness and the end-to-end tests all run the same Main.
package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/github"
	"github.com/pmassist/pmassist/integrations/linear"
	"github.com/pmassist/pmassist/integrations/oauth"
	"github.com/pmassist/pmassist/integrations/slack"
	"github.com/pmassist/pmassist/integrations/stripe"
	"github.com/pmassist/pmassist/internal/mail"
	"github.com/pmassist/pmassist/internal/metrics"
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

// Config is every setting of `pmassist serve` (config.md). A flag wins over
// the environment, the environment over the default.
type Config struct {
	Addr        string
	DataDir     string
	BaseURL     string
	Signup      string
	DefaultTier string
	LogLevel    string
	LogFormat   string
	// MasterKey is PMASSIST_MASTER_KEY: base64 of 32 bytes, or after a key
	// rotation a list "ID:BASE64,…"; empty means DATA_DIR/master.key.
	MasterKey string
	// Providers are the appliance-wide Slack, Linear and GitHub settings.
	Providers ProviderConfig
	// Stripe turns billing on when its secret key is set (config.md).
	Stripe StripeConfig
	// SMTPURL and SMTPFrom turn email delivery on (PMASSIST_SMTP_URL,
	// PMASSIST_SMTP_FROM).
	SMTPURL, SMTPFrom string
	// MetricsToken is PMASSIST_METRICS_TOKEN: the bearer token that opens
	// /metrics to non-loopback addresses; empty means loopback only.
	MetricsToken string
	// Backup is scheduled backups (PMASSIST_BACKUP_*).
	Backup BackupConfig
	// SchedulerUnit is the length of one "minute" of the tenants' ingestion
	// intervals (workflows.SchedulerConfig.Unit); zero means a real minute.
	// It has no flag and no environment variable on purpose: only the soak
	// harness (cmd/pmassist-soak) shortens it, so that a bounded run sees
	// many scheduled ingestions (5 "minutes", the shortest interval a tenant
	// can set, are then 5 × SchedulerUnit).
	SchedulerUnit time.Duration
}

// BackupConfig is PMASSIST_BACKUP_DIR, _INTERVAL and _KEEP: with a folder
// set, a backup is written there every Interval and the newest Keep kept.
type BackupConfig struct {
	Dir      string
	Interval time.Duration // default 24h
	Keep     int           // default 7
	// IntervalSetting and KeepSetting are the raw environment values, parsed
	// into Interval and Keep by the command line's validation ("" keeps the
	// default).
	IntervalSetting, KeepSetting string
}

// StripeConfig is PMASSIST_STRIPE_*; secrets come from the environment only.
type StripeConfig struct {
	SecretKey, WebhookSecret  string
	APIURL                    string // default https://api.stripe.com; tests point it at stripe-mock
	PricePro, PriceEnterprise string // Stripe price ids
}

// ProviderConfig holds the outside services' settings (config.md); they
// are environment variables only, since secrets do not belong on a
// command line.
type ProviderConfig struct {
	Apps                                                       map[pmassist.Service]oauth.AppCredentials
	SlackURL, LinearURL, LinearAPIURL, GitHubURL, GitHubAPIURL string
	// SlackHistoryRate paces conversations.history (PMASSIST_SLACK_HISTORY_RATE).
	SlackHistoryRate  string
	SlackHistoryEvery time.Duration
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
	Standups  *workflows.Standups
	Billing   *workflows.Billing
	Server    *server.Server
	Metrics   *metrics.Metrics
	// Operations are backups (also scheduled, Config.Backup) and compaction
	// of the data file.
	Operations *store.Operations
	// PasswordParams defaults to password.Default; tests make it cheap.
	PasswordParams password.Params
	// BenchmarkTenantRatePerMinute is server.Config's knob of the same
	// name: the benchmark harness only, never a setting.
	BenchmarkTenantRatePerMinute int

	notifier *workflows.Notifier
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// NewMain returns a Main with the default settings.
func NewMain() *Main {
	return &Main{Config: Config{Addr: ":8080", DataDir: "./data", BaseURL: "http://localhost:8080",
		Signup: server.SignupInvite, DefaultTier: string(pmassist.TierEnterprise), LogLevel: "info",
		Backup: BackupConfig{Interval: store.DefaultBackupInterval, Keep: store.DefaultBackupKeep}}}
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
	keys, err := LoadKeyring(m.Config.DataDir, m.Config.MasterKey, true, m.Logger)
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
		_ = m.Index.Close()
		_ = db.Close()
		return fmt.Errorf("listening on %s: %w", m.Config.Addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel = cancel
	m.wg.Add(4)
	go m.sweepSessions(ctx)
	go m.retryDeliveries(ctx)
	go func() {
		defer m.wg.Done()
		m.OAuth.Run(ctx, RefreshPassEvery)
	}()
	go m.replanPeriodically(ctx)
	if m.Config.Backup.Dir != "" {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.Operations.Run(ctx)
		}()
	}
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

// NeedsSetup reports whether no account exists yet.
func (m *Main) NeedsSetup(ctx context.Context) (bool, error) {
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

// LoadKeyring returns the master keys: PMASSIST_MASTER_KEY, or
// DATA_DIR/master.key, created (0600) on first start when create is set.
// The keys seal OAuth tokens; they must never be stored inside the data
// file, and backups of the data file should not carry them.
func LoadKeyring(dataDir, envKey string, create bool, logger *slog.Logger) (*store.Keyring, error) {
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

// wire builds the services on the open data file: the OAuth manager, the
// provider clients, ingestion and its schedule, webhooks, and the server.
func (m *Main) wire(db *store.DB) error {
	p := m.Config.Providers
	mx := metrics.New()
	m.Metrics = mx
	m.OAuth = oauth.New(oauth.Config{
		BaseURL: m.Config.BaseURL, Apps: p.Apps, SlackURL: p.SlackURL, LinearURL: p.LinearURL, LinearAPIURL: p.LinearAPIURL,
		GitHubURL: p.GitHubURL, GitHubAPIURL: p.GitHubAPIURL, Logger: m.Logger, OnRefresh: mx.TokenRefreshed,
	}, oauth.Services{Connections: db, Apps: db, Tenants: db})
	client := &http.Client{Timeout: 60 * time.Second}
	slackClient := slack.New(slack.Config{BaseURL: p.SlackURL, HTTPClient: client, Tokens: m.OAuth,
		HistoryEvery: p.SlackHistoryEvery, Logger: m.Logger,
		OnResponse: mx.ProviderResponse(pmassist.ServiceSlack), OnWait: mx.ProviderWait(pmassist.ServiceSlack)})
	linearClient := linear.New(linear.Config{APIURL: p.LinearAPIURL, HTTPClient: client, Tokens: m.OAuth, Logger: m.Logger,
		OnResponse: mx.ProviderResponse(pmassist.ServiceLinear), OnWait: mx.ProviderWait(pmassist.ServiceLinear)})
	githubClient := github.New(github.Config{APIURL: p.GitHubAPIURL, HTTPClient: client, Tokens: m.OAuth, Logger: m.Logger,
		OnResponse: mx.ProviderResponse(pmassist.ServiceGitHub), OnWait: mx.ProviderWait(pmassist.ServiceGitHub)})

	m.Operations = store.NewOperations(db, store.OperationsConfig{Dir: m.Config.Backup.Dir,
		Interval: m.Config.Backup.Interval, Keep: m.Config.Backup.Keep, Logger: m.Logger})
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
		Configs: db, Tenants: db, Index: m.Index, Logger: m.Logger})
	var mailer pmassist.Mailer
	if m.Config.SMTPURL != "" {
		mc, err := mail.Parse(m.Config.SMTPURL, m.Config.SMTPFrom, m.Config.BaseURL)
		if err != nil {
			_ = m.Index.Close()
			return err
		}
		mailer = mc
	}
	var payments pmassist.PaymentProvider
	if m.Config.Stripe.SecretKey != "" {
		sc, err := stripe.New(stripe.Config{SecretKey: m.Config.Stripe.SecretKey, WebhookSecret: m.Config.Stripe.WebhookSecret,
			APIURL: m.Config.Stripe.APIURL, PricePro: m.Config.Stripe.PricePro, PriceEnterprise: m.Config.Stripe.PriceEnterprise, Logger: m.Logger})
		if err != nil {
			_ = m.Index.Close()
			return err
		}
		payments = sc
	}
	m.notifier = workflows.NewNotifier(workflows.NotifierConfig{Mailer: mailer, Tenants: db, Members: db, Connections: db,
		Items: db, Configs: db, Log: db, Billing: db, BaseURL: m.Config.BaseURL, Logger: m.Logger})
	m.Standups = workflows.NewStandups(workflows.StandupsConfig{Items: db, Decisions: db, Teammates: db, Standups: db,
		Configs: db, Tenants: db, Connections: db, Slack: slackClient, Mailer: mailer, BaseURL: m.Config.BaseURL, Logger: m.Logger})
	m.Ingestor = workflows.NewIngestor(workflows.IngestorConfig{
		Connections: db, Items: db, Jobs: db, Configs: db, Tenants: db, Logger: m.Logger, OnJobFinished: mx.JobFinished,
		AfterStore: func(ctx context.Context, items []*pmassist.Item) {
			ids := make([]string, len(items))
			for i, it := range items {
				ids[i] = it.ID
			}
			m.Index.QueueItems(ctx, ids...)
			if err := decisions.Process(ctx, items); err != nil {
				m.Logger.Error("decision detection failed", "error", err)
			}
			if err := db.ObserveIdentities(ctx, workflows.IdentitiesOf(items)); err != nil {
				m.Logger.Error("recording people failed", "error", err)
			}
		},
		Sources: map[pmassist.Service]pmassist.Source{
			pmassist.ServiceSlack: slackClient, pmassist.ServiceLinear: linearClient, pmassist.ServiceGitHub: githubClient,
		},
	})
	m.Scheduler, err = workflows.NewScheduler(workflows.SchedulerConfig{Ingestor: m.Ingestor, Connections: db, Configs: db,
		Tenants: db, Logger: m.Logger, Standups: m.Standups, Unit: m.Config.SchedulerUnit})
	if err == nil {
		err = m.Scheduler.Start(ctx)
	}
	if err != nil {
		m.Ingestor.Close()
		_ = m.Index.Close()
		return err
	}
	m.Billing = workflows.NewBilling(workflows.BillingConfig{Provider: payments, Store: db, Tenants: db, Connections: db,
		Audit: db, Planner: m.Scheduler, BaseURL: m.Config.BaseURL, Logger: m.Logger})
	webhooks := workflows.NewWebhooks(workflows.WebhooksConfig{Ingestor: m.Ingestor, Verifier: m.OAuth, Deliveries: db,
		Connections: db, Configs: db, Items: db, Logger: m.Logger, OnDelivery: mx.WebhookDelivered,
		Receivers: map[pmassist.Service]pmassist.WebhookReceiver{
			pmassist.ServiceSlack: slackClient, pmassist.ServiceLinear: linearClient, pmassist.ServiceGitHub: githubClient,
		}})
	m.Server, err = server.New(server.Config{
		BaseURL: m.Config.BaseURL, SignupMode: m.Config.Signup, DefaultTier: pmassist.Tier(m.Config.DefaultTier),
		Logger: m.Logger, PasswordParams: m.PasswordParams,
		Metrics: mx.Handler(), MetricsToken: m.Config.MetricsToken, ObserveRequest: mx.ObserveRequest,
		BenchmarkTenantRatePerMinute: m.BenchmarkTenantRatePerMinute,
	}, server.Services{
		Tenants: db, Users: db, Members: db, Sessions: db, Tokens: db, Invitations: db, Audit: db,
		Connections: db, Apps: db, OAuth: m.OAuth, Items: db, Jobs: db, Configs: db,
		Ingestion: m.Ingestor, Webhooks: webhooks, Planner: m.Scheduler,
		Decisions: db, Search: m.Index, Indexer: m.Index,
		Standups: m.Standups, StandupStore: db, Teammates: db, Billing: m.Billing,
		Operations: m.Operations, System: m.systemInfo(db, time.Now()),
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
		_ = m.Index.Close()
		return err
	}
	m.registerGauges(db)
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
			// Grace periods and canceled periods end on the clock, not on
			// an event; the re-plan below then sees the new tiers.
			if err := m.Billing.CheckExpiries(ctx); err != nil && ctx.Err() == nil {
				m.Logger.Error("billing: checking ended grace periods failed", "error", err)
			}
			if err := m.Scheduler.Replan(ctx); err != nil && ctx.Err() == nil {
				m.Logger.Error("re-planning schedules failed", "error", err)
			}
		}
	}
}

// retryDeliveries retries failed standup deliveries once their backoff has
// passed, and emails owners about events that need them.
func (m *Main) retryDeliveries(ctx context.Context) {
	defer m.wg.Done()
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tenants, err := m.DB.ListTenants(ctx)
			if err != nil {
				m.Logger.Error("listing tenants failed", "error", err)
				continue
			}
			ids := make([]string, 0, len(tenants))
			for _, t := range tenants {
				if !t.Suspended {
					ids = append(ids, t.ID)
				}
			}
			m.Standups.RetryDue(ctx, ids)
			m.notifier.Pass(ctx)
		}
	}
}
