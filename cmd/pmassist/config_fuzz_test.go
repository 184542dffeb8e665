package main

import (
	"errors"
	"flag"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist/app"
)

// fuzzEnvNames are the settings FuzzServeSettings varies; the first ones
// are secrets.
var fuzzEnvNames = []string{
	"PMASSIST_MASTER_KEY", "PMASSIST_METRICS_TOKEN", "PMASSIST_STRIPE_SECRET_KEY", "PMASSIST_STRIPE_WEBHOOK_SECRET",
	"PMASSIST_SLACK_CLIENT_SECRET", "PMASSIST_SLACK_SIGNING_SECRET", "PMASSIST_LINEAR_CLIENT_SECRET",
	"PMASSIST_LINEAR_WEBHOOK_SECRET", "PMASSIST_GITHUB_CLIENT_SECRET", "PMASSIST_GITHUB_WEBHOOK_SECRET",
	"PMASSIST_ADDR", "PMASSIST_DATA_DIR", "PMASSIST_BASE_URL", "PMASSIST_SIGNUP", "PMASSIST_DEFAULT_TIER",
	"PMASSIST_LOG_LEVEL", "PMASSIST_LOG_FORMAT", "PMASSIST_SMTP_URL", "PMASSIST_SMTP_FROM",
	"PMASSIST_BACKUP_DIR", "PMASSIST_BACKUP_INTERVAL", "PMASSIST_BACKUP_KEEP",
	"PMASSIST_STRIPE_API_URL", "PMASSIST_STRIPE_PRICE_PRO", "PMASSIST_STRIPE_PRICE_ENTERPRISE",
	"PMASSIST_SLACK_CLIENT_ID", "PMASSIST_LINEAR_CLIENT_ID", "PMASSIST_GITHUB_CLIENT_ID",
	"PMASSIST_SLACK_URL", "PMASSIST_LINEAR_URL", "PMASSIST_LINEAR_API_URL", "PMASSIST_GITHUB_URL",
	"PMASSIST_GITHUB_API_URL", "PMASSIST_SLACK_HISTORY_RATE",
}

const fuzzSecrets = 10 // the first names of fuzzEnvNames

// fuzzBaseEnv is a complete valid environment: billing, mail and the three
// providers on, so that every check is reached.
var fuzzBaseEnv = map[string]string{
	"PMASSIST_ADDR": ":8080", "PMASSIST_DATA_DIR": "/var/lib/pmassist", "PMASSIST_BASE_URL": "https://pm.acme.example",
	"PMASSIST_MASTER_KEY":        "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=",
	"PMASSIST_METRICS_TOKEN":     "3f1c9a7e5b2d4f60a8e1c3b5d7f9a2c4",
	"PMASSIST_SMTP_URL":          "smtps://pm%40acme.example:Mail-Pw-7731@mail.acme.example",
	"PMASSIST_SMTP_FROM":         "PM Assistant <pm@acme.example>",
	"PMASSIST_STRIPE_SECRET_KEY": "sk_test_51Hq8ExampleSecretKey", "PMASSIST_STRIPE_WEBHOOK_SECRET": "whsec_ExampleWebhookSecret",
	"PMASSIST_STRIPE_PRICE_PRO": "price_1ProExample", "PMASSIST_STRIPE_PRICE_ENTERPRISE": "price_1EntExample",
	"PMASSIST_SLACK_CLIENT_ID": "1234567890.0987654321", "PMASSIST_SLACK_CLIENT_SECRET": "slack-client-secret-8f74",
	"PMASSIST_SLACK_SIGNING_SECRET": "8f742231b10e8888abcd99yyyzzz85a5",
	"PMASSIST_LINEAR_CLIENT_ID":     "lin_client_1", "PMASSIST_LINEAR_CLIENT_SECRET": "lin-client-secret-77",
	"PMASSIST_GITHUB_CLIENT_ID": "Iv1.abcdef0123456789", "PMASSIST_GITHUB_CLIENT_SECRET": "gh-client-secret-0123",
	"PMASSIST_BACKUP_DIR": "/var/backups/pmassist", "PMASSIST_BACKUP_INTERVAL": "6h30m", "PMASSIST_BACKUP_KEEP": "14",
	"PMASSIST_SLACK_HISTORY_RATE": "50/min",
}

// FuzzServeSettings sets four settings of a complete valid environment
// (which ones: the bytes of sel; 0xff unsets) to fuzzed values and runs
// serve's configuration: the flags with the environment as defaults, then
// validateConfig (seeds in testdata/fuzz/FuzzServeSettings). Properties:
//   - nothing panics and the outcome is deterministic;
//   - a refusal is a one-line usage error (exit code 2) that never shows
//     a secret's value (master key, metrics token, Stripe, client and
//     webhook secrets);
//   - an accepted configuration has a backup interval of at least a
//     minute, a positive number of backups kept, a non-negative Slack
//     pace, and validating it again accepts it unchanged.
func FuzzServeSettings(f *testing.F) {
	f.Add(uint32(0x0001020c), "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=", "short", "sk_live_x", "https://pm.acme.example/app")
	var known strings.Builder // every message text of the sources
	for _, p := range []string{"config.go", "main.go", "../../internal/mail/mail.go", "../../integrations/slack/rate.go"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		known.Write(b)
	}
	f.Fuzz(func(t *testing.T, sel uint32, a, b, c, d string) {
		env := make(map[string]string, len(fuzzBaseEnv)+4)
		for k, v := range fuzzBaseEnv {
			env[k] = v
		}
		for i, v := range []string{a, b, c, d} {
			n := byte(sel >> (8 * i))
			if n == 0xff {
				delete(env, fuzzEnvNames[int(byte(sel>>(8*((i+1)%4))))%len(fuzzEnvNames)])
				continue
			}
			env[fuzzEnvNames[int(n)%len(fuzzEnvNames)]] = v
		}
		cfg, err := serveConfig(env)
		cfg2, err2 := serveConfig(env)
		if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || !reflect.DeepEqual(cfg, cfg2) {
			t.Fatalf("not deterministic: %v, then %v", err, err2)
		}
		if err != nil {
			var ue *usageError
			if !errors.As(err, &ue) || strings.ContainsAny(err.Error(), "\r\n") {
				t.Fatalf("not a one-line usage error: %q", err)
			}
			var secrets []string
			var others strings.Builder
			for i, k := range fuzzEnvNames {
				if i < fuzzSecrets {
					secrets = append(secrets, env[k])
				} else {
					others.WriteString(k + "=" + env[k] + "\x00")
				}
			}
			for _, s := range secrets {
				for _, shown := range []string{s, strconv.Quote(s)} {
					if len(s) >= 6 && strings.Contains(err.Error(), shown) && !strings.Contains(known.String(), s) && !strings.Contains(others.String(), s) {
						t.Fatalf("a secret is shown: %v", err)
					}
				}
			}
			return
		}
		if cfg.Backup.Interval < time.Minute || cfg.Backup.Keep < 1 || cfg.Providers.SlackHistoryEvery < 0 {
			t.Fatalf("backup %+v, slack pace %v", cfg.Backup, cfg.Providers.SlackHistoryEvery)
		}
		again := cfg
		if err := validateConfig(&again); err != nil || !reflect.DeepEqual(again, cfg) {
			t.Fatalf("validating again: %v\n%+v\n%+v", err, cfg, again)
		}
	})
}

// serveConfig is runServe's configuration step with env as the
// environment and no command line.
func serveConfig(env map[string]string) (app.Config, error) {
	m := app.NewMain()
	fs := flag.NewFlagSet("pmassist serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	registerServeFlags(&m.Config, fs, func(k string) string { return env[k] })
	if err := parseFlags(fs, nil); err != nil {
		return m.Config, err
	}
	err := validateConfig(&m.Config)
	return m.Config, err
}
