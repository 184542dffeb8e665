package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/oauth"
	"github.com/pmassist/pmassist/integrations/slack"
	"github.com/pmassist/pmassist/internal/mail"
	"github.com/pmassist/pmassist/server"
	"github.com/pmassist/pmassist/store"
)

// usageError is a bad command line or setting: one line, exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func invalid(setting, env, value, why string) error {
	name := env
	switch {
	case setting != "" && env != "":
		name = env + " / --" + setting
	case setting != "":
		name = "--" + setting
	}
	return &usageError{fmt.Sprintf("invalid %s %q: %s", name, value, why)}
}

// envOr returns the environment variable's value, or def when it is unset.
func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

// registerDataFlag adds --data, shared by every command that touches data.
func registerDataFlag(fs *flag.FlagSet, getenv func(string) string, dst *string) {
	fs.StringVar(dst, "data", envOr(getenv, "PMASSIST_DATA_DIR", "./data"), "folder of the data file and index (PMASSIST_DATA_DIR)")
}

// registerServeFlags binds the serve settings to fs with the environment as
// defaults.
func registerServeFlags(c *app.Config, fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "PMASSIST_ADDR", ":8080"), "listen address (PMASSIST_ADDR)")
	registerDataFlag(fs, getenv, &c.DataDir)
	fs.StringVar(&c.BaseURL, "base-url", envOr(getenv, "PMASSIST_BASE_URL", "http://localhost:8080"), "public URL of this appliance (PMASSIST_BASE_URL)")
	fs.StringVar(&c.Signup, "signup", envOr(getenv, "PMASSIST_SIGNUP", server.SignupInvite), "sign-up mode: closed, invite or open (PMASSIST_SIGNUP)")
	c.Stripe = app.StripeConfig{SecretKey: getenv("PMASSIST_STRIPE_SECRET_KEY"), WebhookSecret: getenv("PMASSIST_STRIPE_WEBHOOK_SECRET"),
		APIURL:   envOr(getenv, "PMASSIST_STRIPE_API_URL", "https://api.stripe.com"),
		PricePro: getenv("PMASSIST_STRIPE_PRICE_PRO"), PriceEnterprise: getenv("PMASSIST_STRIPE_PRICE_ENTERPRISE")}
	defTier := string(pmassist.TierEnterprise)
	if c.Stripe.SecretKey != "" {
		defTier = string(pmassist.TierFree)
	}
	fs.StringVar(&c.DefaultTier, "default-tier", envOr(getenv, "PMASSIST_DEFAULT_TIER", defTier), "tier of new tenants: free, pro or enterprise (PMASSIST_DEFAULT_TIER)")
	fs.StringVar(&c.LogLevel, "log-level", envOr(getenv, "PMASSIST_LOG_LEVEL", "info"), "debug, info, warn or error (PMASSIST_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", getenv("PMASSIST_LOG_FORMAT"), "text or json; default text on a terminal, else json (PMASSIST_LOG_FORMAT)")
	c.MasterKey = getenv("PMASSIST_MASTER_KEY")
	c.SMTPURL, c.SMTPFrom = getenv("PMASSIST_SMTP_URL"), getenv("PMASSIST_SMTP_FROM")
	c.MetricsToken = getenv("PMASSIST_METRICS_TOKEN")
	registerBackupSettings(&c.Backup, fs, getenv)
	loadProviders(&c.Providers, getenv)
}

// registerBackupSettings binds scheduled backups: --backup-dir and the
// environment (PMASSIST_BACKUP_INTERVAL and _KEEP are parsed by
// validateBackup).
func registerBackupSettings(b *app.BackupConfig, fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&b.Dir, "backup-dir", getenv("PMASSIST_BACKUP_DIR"), "folder of scheduled backups; off when empty (PMASSIST_BACKUP_DIR; also PMASSIST_BACKUP_INTERVAL, default 24h, and PMASSIST_BACKUP_KEEP, default 7)")
	b.IntervalSetting, b.KeepSetting = getenv("PMASSIST_BACKUP_INTERVAL"), getenv("PMASSIST_BACKUP_KEEP")
}

// validateBackup parses and checks the scheduled backup settings.
func validateBackup(b *app.BackupConfig) error {
	if b.Interval <= 0 {
		b.Interval = store.DefaultBackupInterval
	}
	if b.Keep <= 0 {
		b.Keep = store.DefaultBackupKeep
	}
	if s := b.IntervalSetting; s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Minute {
			return invalid("", "PMASSIST_BACKUP_INTERVAL", s, "must be a duration of at least 1m, e.g. 24h or 6h30m")
		}
		b.Interval = d
	}
	if s := b.KeepSetting; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return invalid("", "PMASSIST_BACKUP_KEEP", s, "must be a whole number of at least 1")
		}
		b.Keep = n
	}
	return nil
}

// minMetricsToken is the shortest metrics token accepted: it opens
// /metrics to the network.
const minMetricsToken = 16

// validateConfig checks every setting and names the first one at fault.
func validateConfig(c *app.Config) error {
	if _, port, err := net.SplitHostPort(c.Addr); err != nil || port == "" {
		return invalid("addr", "PMASSIST_ADDR", c.Addr, "must be host:port, e.g. :8080")
	}
	if strings.TrimSpace(c.DataDir) == "" {
		return invalid("data", "PMASSIST_DATA_DIR", c.DataDir, "must not be empty")
	}
	if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		(u.Path != "" && u.Path != "/") || u.RawQuery != "" {
		return invalid("base-url", "PMASSIST_BASE_URL", c.BaseURL, "must be an http(s) URL with a host and no path, e.g. https://pm.example.com")
	}
	switch c.Signup {
	case server.SignupClosed, server.SignupInvite, server.SignupOpen:
	default:
		return invalid("signup", "PMASSIST_SIGNUP", c.Signup, "must be closed, invite or open")
	}
	if !pmassist.Tier(c.DefaultTier).Valid() {
		return invalid("default-tier", "PMASSIST_DEFAULT_TIER", c.DefaultTier, "must be free, pro or enterprise")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		return invalid("log-level", "PMASSIST_LOG_LEVEL", c.LogLevel, "must be debug, info, warn or error")
	}
	switch c.LogFormat {
	case "", "text", "json":
	default:
		return invalid("log-format", "PMASSIST_LOG_FORMAT", c.LogFormat, "must be text or json")
	}
	if c.MasterKey != "" {
		if _, err := store.ParseKeyring(c.MasterKey); err != nil {
			// The value itself is a secret: never echo it.
			return &usageError{"invalid PMASSIST_MASTER_KEY: must be the base64 encoding of 32 bytes (e.g. `openssl rand -base64 32`), or ID:BASE64 items after a rotation"}
		}
	}
	if c.SMTPURL != "" {
		if _, err := mail.Parse(c.SMTPURL, c.SMTPFrom, c.BaseURL); err != nil {
			// The URL may hold a password: name the setting, not the value.
			return &usageError{"invalid PMASSIST_SMTP_URL / PMASSIST_SMTP_FROM: " + err.Error()}
		}
	}
	if t := c.MetricsToken; t != "" && (len(t) < minMetricsToken || strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r == 0x7f })) {
		// A secret: name the setting, never the value.
		return &usageError{fmt.Sprintf("invalid PMASSIST_METRICS_TOKEN: must be at least %d characters without spaces (e.g. `openssl rand -hex 32`)", minMetricsToken)}
	}
	if err := validateBackup(&c.Backup); err != nil {
		return err
	}
	if err := validateStripe(&c.Stripe); err != nil {
		return err
	}
	return validateProviders(&c.Providers)
}

// validateStripe checks the billing settings; Stripe values are secrets
// and price ids, so the message names settings, never values.
func validateStripe(s *app.StripeConfig) error {
	if s.SecretKey == "" {
		if s.WebhookSecret != "" || s.PricePro != "" || s.PriceEnterprise != "" {
			return &usageError{"PMASSIST_STRIPE_WEBHOOK_SECRET or a PMASSIST_STRIPE_PRICE_* is set without PMASSIST_STRIPE_SECRET_KEY: set the secret key to turn billing on, or remove them"}
		}
		return nil
	}
	if s.WebhookSecret == "" {
		return &usageError{"PMASSIST_STRIPE_SECRET_KEY is set but PMASSIST_STRIPE_WEBHOOK_SECRET is not: without it no subscription change could be verified (copy the endpoint's signing secret, whsec_…, from the Stripe dashboard)"}
	}
	if s.PricePro == "" && s.PriceEnterprise == "" {
		return &usageError{"billing is on but no plan can be bought: set PMASSIST_STRIPE_PRICE_PRO and/or PMASSIST_STRIPE_PRICE_ENTERPRISE to Stripe price ids (price_…)"}
	}
	if u, err := url.Parse(s.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("", "PMASSIST_STRIPE_API_URL", s.APIURL, "must be an absolute http(s) URL")
	}
	return nil
}

func loadProviders(p *app.ProviderConfig, getenv func(string) string) {
	p.Apps = map[pmassist.Service]oauth.AppCredentials{}
	for _, svc := range pmassist.Services {
		prefix := "PMASSIST_" + strings.ToUpper(string(svc)) + "_"
		app := oauth.AppCredentials{ClientID: getenv(prefix + "CLIENT_ID"), ClientSecret: getenv(prefix + "CLIENT_SECRET")}
		if svc == pmassist.ServiceSlack {
			app.SigningSecret = getenv(prefix + "SIGNING_SECRET")
		} else {
			app.SigningSecret = getenv(prefix + "WEBHOOK_SECRET")
		}
		if app.ClientID != "" || app.ClientSecret != "" {
			p.Apps[svc] = app
		}
	}
	p.SlackURL = envOr(getenv, "PMASSIST_SLACK_URL", "https://slack.com")
	p.LinearURL = envOr(getenv, "PMASSIST_LINEAR_URL", "https://linear.app")
	p.LinearAPIURL = envOr(getenv, "PMASSIST_LINEAR_API_URL", "https://api.linear.app")
	p.GitHubURL = envOr(getenv, "PMASSIST_GITHUB_URL", "https://github.com")
	p.GitHubAPIURL = envOr(getenv, "PMASSIST_GITHUB_API_URL", "https://api.github.com")
	p.SlackHistoryRate = envOr(getenv, "PMASSIST_SLACK_HISTORY_RATE", "50/min")
}

// validateProviders names the first provider setting at fault.
func validateProviders(p *app.ProviderConfig) error {
	for _, svc := range pmassist.Services {
		app, ok := p.Apps[svc]
		prefix := "PMASSIST_" + strings.ToUpper(string(svc)) + "_"
		if ok && app.ClientID == "" {
			return &usageError{"invalid " + prefix + "CLIENT_ID: required when " + prefix + "CLIENT_SECRET is set"}
		}
		if ok && app.ClientSecret == "" {
			return &usageError{"invalid " + prefix + "CLIENT_SECRET: required when " + prefix + "CLIENT_ID is set"}
		}
	}
	every, err := slack.ParseHistoryRate(p.SlackHistoryRate)
	if err != nil {
		return invalid("", "PMASSIST_SLACK_HISTORY_RATE", p.SlackHistoryRate, "must be a rate such as 50/min or 1/min")
	}
	p.SlackHistoryEvery = every
	// In a fixed order, so that the same settings always name the same one.
	for _, s := range []struct{ name, v string }{{"PMASSIST_SLACK_URL", p.SlackURL}, {"PMASSIST_LINEAR_URL", p.LinearURL},
		{"PMASSIST_LINEAR_API_URL", p.LinearAPIURL}, {"PMASSIST_GITHUB_URL", p.GitHubURL}, {"PMASSIST_GITHUB_API_URL", p.GitHubAPIURL}} {
		if u, err := url.Parse(s.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			return invalid("", s.name, s.v, "must be an http(s) URL")
		}
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	switch s {
	case "debug", "info", "warn", "error":
		return l, l.UnmarshalText([]byte(s))
	}
	return l, errors.New("unknown level")
}

// newLogger builds the structured logger; text on a terminal, else JSON.
func newLogger(c *app.Config, w *os.File) *slog.Logger {
	level, _ := parseLevel(c.LogLevel)
	format := c.LogFormat
	if format == "" {
		format = "json"
		if fi, err := w.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			format = "text"
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
