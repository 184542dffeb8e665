package metrics

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape serves the handler once and parses the answer as Prometheus text.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("content type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatalf("not Prometheus text: %v", err)
	}
	return fams
}

// value returns the sample of family name whose labels are exactly labels
// ("k=v" pairs), and whether there is one.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	sort.Strings(labels)
	want := strings.Join(labels, ",")
	for _, mt := range f.GetMetric() {
		var got []string
		for _, lp := range mt.GetLabel() {
			got = append(got, lp.GetName()+"="+lp.GetValue())
		}
		sort.Strings(got)
		if strings.Join(got, ",") != want {
			continue
		}
		switch {
		case mt.Counter != nil:
			return mt.Counter.GetValue(), true
		case mt.Gauge != nil:
			return mt.Gauge.GetValue(), true
		case mt.Histogram != nil:
			return float64(mt.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func must(t *testing.T, fams map[string]*dto.MetricFamily, want float64, name string, labels ...string) {
	t.Helper()
	got, ok := value(fams, name, labels...)
	if !ok {
		t.Fatalf("%s%v missing", name, labels)
	}
	if got != want {
		t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
	}
}

func TestCountersStartAtZeroAndMove(t *testing.T) {
	m := New()
	fams := scrape(t, m)
	for _, name := range []string{"go_goroutines", "pmassist_build_info"} {
		if fams[name] == nil {
			t.Errorf("%s missing", name)
		}
	}
	must(t, fams, 0, "pmassist_jobs_total", "service=slack", "status=succeeded")
	must(t, fams, 0, "pmassist_items_ingested_total", "service=github")
	must(t, fams, 0, "pmassist_token_refreshes_total", "service=linear", "result=failure")
	must(t, fams, 0, "pmassist_webhooks_total", "service=slack", "result=applied")
	must(t, fams, 0, "pmassist_provider_rate_limit_waits_total", "service=github", "reason=rate_limit")

	m.ObserveRequest("/api/v1/items/{id}", "GET", 200, 30*time.Millisecond)
	m.ObserveRequest("/api/v1/items/{id}", "GET", 200, 10*time.Millisecond)
	m.ObserveRequest("", "BREW", 404, time.Millisecond)
	m.JobFinished(&pmassist.Job{Service: pmassist.ServiceSlack, Status: pmassist.JobSucceeded, ItemsNew: 7})
	m.JobFinished(&pmassist.Job{Service: pmassist.ServiceSlack, Status: pmassist.JobPartial, ItemsNew: 3})
	m.JobFinished(&pmassist.Job{Service: pmassist.ServiceSlack, Status: pmassist.JobRunning, ItemsNew: 100})
	slackCalls, slackWaits := m.ProviderResponse(pmassist.ServiceSlack), m.ProviderWait(pmassist.ServiceSlack)
	slackCalls(200)
	slackCalls(429)
	slackCalls(0)
	slackWaits(7*time.Second, "rate_limit")
	slackWaits(2*time.Second, "pace")
	slackWaits(time.Second, "retry")
	m.TokenRefreshed(pmassist.ServiceLinear, nil)
	m.TokenRefreshed(pmassist.ServiceLinear, errors.New("invalid_grant"))
	m.TokenRefreshed("nope", nil)
	m.WebhookDelivered(pmassist.ServiceGitHub, "duplicate")

	fams = scrape(t, m)
	must(t, fams, 2, "pmassist_http_requests_total", "route=/api/v1/items/{id}", "method=GET", "code=200")
	must(t, fams, 2, "pmassist_http_request_duration_seconds", "route=/api/v1/items/{id}", "method=GET")
	must(t, fams, 1, "pmassist_http_requests_total", "route=unmatched", "method=other", "code=404")
	must(t, fams, 1, "pmassist_jobs_total", "service=slack", "status=succeeded")
	must(t, fams, 1, "pmassist_jobs_total", "service=slack", "status=partial")
	must(t, fams, 10, "pmassist_items_ingested_total", "service=slack")
	must(t, fams, 1, "pmassist_provider_requests_total", "service=slack", "code=429")
	must(t, fams, 1, "pmassist_provider_requests_total", "service=slack", "code=error")
	must(t, fams, 1, "pmassist_provider_rate_limit_waits_total", "service=slack", "reason=rate_limit")
	must(t, fams, 7, "pmassist_provider_rate_limit_wait_seconds_total", "service=slack", "reason=rate_limit")
	must(t, fams, 2, "pmassist_provider_rate_limit_wait_seconds_total", "service=slack", "reason=pace")
	if _, ok := value(fams, "pmassist_provider_rate_limit_waits_total", "service=slack", "reason=retry"); ok {
		t.Error("a retry backoff was counted as a rate-limit wait")
	}
	must(t, fams, 1, "pmassist_token_refreshes_total", "service=linear", "result=success")
	must(t, fams, 1, "pmassist_token_refreshes_total", "service=linear", "result=failure")
	must(t, fams, 1, "pmassist_webhooks_total", "service=github", "result=duplicate")
	for _, mt := range fams["pmassist_token_refreshes_total"].GetMetric() {
		for _, lp := range mt.GetLabel() {
			if lp.GetValue() == "nope" {
				t.Fatal("an unknown service became a label value")
			}
		}
	}
}

func TestGaugesReadAtScrapeTime(t *testing.T) {
	m := New()
	size := int64(32768)
	state := pmassist.IndexState{State: "building", Docs: 12}
	pending, active, ntenants := 5, 2, 3
	backup := pmassist.BackupStatus{Interval: 24 * time.Hour} // off: the interval is not in effect
	var tenantsErr error
	m.DataFile(func() (int64, error) { return size, nil })
	m.Index(func() pmassist.IndexState { return state }, func() int { return pending })
	m.ActiveJobs(func() int { return active })
	m.Backups(func(context.Context) (pmassist.BackupStatus, error) { return backup, nil })
	m.Tenants(func(context.Context) (int, error) { return ntenants, tenantsErr })

	fams := scrape(t, m)
	must(t, fams, 32768, "pmassist_data_file_bytes")
	must(t, fams, 12, "pmassist_index_documents")
	must(t, fams, 1, "pmassist_index_state", "state=building")
	must(t, fams, 0, "pmassist_index_state", "state=ready")
	must(t, fams, 0, "pmassist_index_state", "state=failed")
	must(t, fams, 5, "pmassist_index_pending_updates")
	must(t, fams, 2, "pmassist_jobs_active")
	must(t, fams, 0, "pmassist_backup_enabled")
	must(t, fams, 0, "pmassist_backup_last_success_timestamp_seconds")
	must(t, fams, 0, "pmassist_backup_failing")
	must(t, fams, 0, "pmassist_backup_interval_seconds")
	must(t, fams, 3, "pmassist_tenants")

	at := time.Date(2026, 11, 28, 2, 0, 0, 0, time.UTC)
	size, pending, active = 65536, 0, 0
	state = pmassist.IndexState{State: "ready", Docs: 40}
	backup = pmassist.BackupStatus{Enabled: true, Interval: 24 * time.Hour, LastSuccess: &pmassist.BackupInfo{CreatedAt: at},
		LastError: "disk full"}
	tenantsErr = errors.New("data file closed")
	fams = scrape(t, m)
	must(t, fams, 65536, "pmassist_data_file_bytes")
	must(t, fams, 40, "pmassist_index_documents")
	must(t, fams, 1, "pmassist_index_state", "state=ready")
	must(t, fams, 0, "pmassist_index_state", "state=building")
	must(t, fams, 0, "pmassist_index_pending_updates")
	must(t, fams, 1, "pmassist_backup_enabled")
	must(t, fams, float64(at.Unix()), "pmassist_backup_last_success_timestamp_seconds")
	must(t, fams, 1, "pmassist_backup_failing")
	must(t, fams, 86400, "pmassist_backup_interval_seconds")
	if _, ok := value(fams, "pmassist_tenants"); ok {
		t.Error("a failed count was reported")
	}
}
