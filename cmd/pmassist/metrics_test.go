package main

import (
	"context"
	"flag"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/password"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsOnMain scrapes the real Main configured from the environment:
// PMASSIST_METRICS_TOKEN opens /metrics, and the gauges read at scrape
// time (data file, index, backups, tenants) are there.
func TestMetricsOnMain(t *testing.T) {
	const token = "metrics-token-for-main-0123456789"
	env := map[string]string{"PMASSIST_METRICS_TOKEN": token, "PMASSIST_BACKUP_DIR": t.TempDir()}
	var cfg app.Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	registerServeFlags(&cfg, fs, func(k string) string { return env[k] })
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if err := validateConfig(&cfg); err != nil {
		t.Fatal(err)
	}
	m := app.NewMain()
	m.Config = cfg
	m.Config.Addr, m.Config.DataDir = "127.0.0.1:0", t.TempDir()
	m.PasswordParams = password.Cheap
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Error(err)
		}
	})
	base := "http://" + m.Server.Addr()
	newClient(t, base).call("POST", "/api/v1/setup",
		map[string]string{"email": "op@acme.test", "password": pw, "name": "Op", "tenant_name": "Acme"}, 201)
	// /readyz names the data file, the scheduler and the index.
	checks, _ := newClient(t, base).call("GET", "/readyz", nil, 200)["checks"].(map[string]any)
	for _, name := range []string{"data_file", "scheduler", "index"} {
		if checks[name] != "ok" {
			t.Fatalf("readyz checks %v: no %s", checks, name)
		}
	}

	scrape := func(auth string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, body
	}
	if code, _ := scrape("Bearer wrong-token-0123456789"); code != http.StatusUnauthorized {
		t.Fatalf("wrong token: %d", code)
	}
	var fams map[string]*dto.MetricFamily
	parse := func() {
		t.Helper()
		code, body := scrape("Bearer " + token)
		if code != http.StatusOK {
			t.Fatalf("with PMASSIST_METRICS_TOKEN: %d %s", code, body)
		}
		p := expfmt.NewTextParser(model.UTF8Validation)
		var err error
		if fams, err = p.TextToMetricFamilies(strings.NewReader(string(body))); err != nil {
			t.Fatalf("not Prometheus text: %v", err)
		}
	}
	parse()
	gauge := func(name string, labels ...string) float64 {
		t.Helper()
		for _, mt := range fams[name].GetMetric() {
			if matches(mt, labels) {
				return mt.GetGauge().GetValue()
			}
		}
		t.Fatalf("%s%v missing", name, labels)
		return 0
	}
	if n := gauge("pmassist_data_file_bytes"); n <= 0 {
		t.Fatalf("data file bytes %v", n)
	}
	if n := gauge("pmassist_tenants"); n != 1 {
		t.Fatalf("tenants %v", n)
	}
	states := 0.0
	for _, s := range []string{"ready", "building", "failed"} {
		states += gauge("pmassist_index_state", "state="+s)
	}
	if states != 1 {
		t.Fatalf("%v index states are current", states)
	}
	gauge("pmassist_index_documents")
	gauge("pmassist_index_pending_updates")
	gauge("pmassist_jobs_active")
	// Scheduled backups are on (the first one is due at start): after a
	// backup, its time is the last success.
	if gauge("pmassist_backup_enabled") != 1 || gauge("pmassist_backup_interval_seconds") != 86400 {
		t.Fatal("scheduled backups are not reported as on")
	}
	before := time.Now().Add(-time.Minute).Unix()
	if _, err := m.Operations.BackupNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	parse()
	if at := gauge("pmassist_backup_last_success_timestamp_seconds"); at < float64(before) {
		t.Fatalf("last backup at %v, before %v", at, before)
	}
	if gauge("pmassist_backup_failing") != 0 {
		t.Fatal("backups reported failing")
	}
	for _, mt := range fams["pmassist_http_requests_total"].GetMetric() {
		if matches(mt, []string{"route=/api/v1/setup", "method=POST", "code=201"}) && mt.GetCounter().GetValue() == 1 {
			return
		}
	}
	t.Fatal("the setup request was not counted")
}

// matches reports whether m carries every "name=value" of labels.
func matches(m *dto.Metric, labels []string) bool {
	for _, l := range labels {
		name, value, _ := strings.Cut(l, "=")
		found := false
		for _, lp := range m.GetLabel() {
			found = found || (lp.GetName() == name && lp.GetValue() == value)
		}
		if !found {
			return false
		}
	}
	return true
}

func TestMetricsTokenSetting(t *testing.T) {
	rc, _, stderr := run(t, map[string]string{"PMASSIST_METRICS_TOKEN": "tiny-tok"}, "--data", t.TempDir())
	if rc != 2 || !strings.Contains(stderr, "PMASSIST_METRICS_TOKEN") {
		t.Fatalf("rc %d, stderr %q", rc, stderr)
	}
	if strings.Contains(stderr, "tiny-tok") {
		t.Fatal("the token was echoed")
	}
}
