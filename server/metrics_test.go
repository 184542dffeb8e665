package server

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist/integrations/fake"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

const metricsToken = "metrics-token-0123456789abcdef"

// scrapeMetrics fetches /metrics over the env's listener (a loopback peer)
// and parses it as Prometheus text.
func (e *env) scrapeMetrics() map[string]*dto.MetricFamily {
	e.t.Helper()
	r := e.client().do("GET", "/metrics", nil)
	if r.StatusCode != http.StatusOK {
		e.t.Fatalf("GET /metrics from loopback: %d %s", r.StatusCode, r.body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		e.t.Fatalf("content type %q", ct)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.body))
	if err != nil {
		e.t.Fatalf("/metrics is not Prometheus text: %v", err)
	}
	return fams
}

// sample returns the value of the sample of family name whose labels are
// exactly labels ("k=v"); a histogram's value is its count.
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	sort.Strings(labels)
	want := strings.Join(labels, ",")
	for _, m := range fams[name].GetMetric() {
		var got []string
		for _, lp := range m.GetLabel() {
			got = append(got, lp.GetName()+"="+lp.GetValue())
		}
		sort.Strings(got)
		if strings.Join(got, ",") != want {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

func (e *env) wantSample(fams map[string]*dto.MetricFamily, want float64, name string, labels ...string) {
	e.t.Helper()
	got, ok := sample(fams, name, labels...)
	if !ok {
		e.t.Fatalf("%s%v is missing", name, labels)
	}
	if got != want {
		e.t.Fatalf("%s%v = %v, want %v", name, labels, got, want)
	}
}

func TestMetricsFromLoopback(t *testing.T) {
	e := newEnv(t)
	e.client().expect(200, "GET", "/healthz", nil)
	fams := e.scrapeMetrics()
	for _, name := range []string{
		"pmassist_http_requests_total", "pmassist_http_request_duration_seconds", "pmassist_jobs_total",
		"pmassist_items_ingested_total", "pmassist_token_refreshes_total", "pmassist_webhooks_total",
		"pmassist_provider_rate_limit_waits_total", "pmassist_provider_rate_limit_wait_seconds_total",
		"pmassist_index_documents", "pmassist_index_state", "pmassist_index_pending_updates", "pmassist_jobs_active",
		"go_goroutines", "process_start_time_seconds",
	} {
		if fams[name] == nil {
			t.Errorf("family %s is missing", name)
		}
	}
	e.wantSample(fams, 1, "pmassist_http_requests_total", "route=/healthz", "method=GET", "code=200")
	e.wantSample(fams, 1, "pmassist_index_state", "state=ready")

	// HEAD works too; other methods do not.
	if r := e.client().do("HEAD", "/metrics", nil); r.StatusCode != 200 {
		t.Fatalf("HEAD /metrics: %d", r.StatusCode)
	}
	if r := e.client().do("POST", "/metrics", nil); r.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /metrics: %d", r.StatusCode)
	}
}

// call sends a request straight to the server's handler from addr.
func (e *env) call(method, path, remoteAddr string, header http.Header) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = remoteAddr
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	e.srv.Handler().ServeHTTP(rec, req)
	return rec
}

func bearerHeader(token string) http.Header { return http.Header{"Authorization": {"Bearer " + token}} }

func TestMetricsAccess(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MetricsToken = metricsToken })
	const outside = "203.0.113.9:4444"
	refused := func(rec *httptest.ResponseRecorder, status int, code string) {
		t.Helper()
		if rec.Code != status {
			t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
		}
		if r := (resp{Response: &http.Response{StatusCode: rec.Code}, body: rec.Body.Bytes()}); r.errCode(t) != code {
			t.Fatalf("error code %s, want %s", r.errCode(t), code)
		}
		if strings.Contains(rec.Body.String(), "pmassist_") {
			t.Fatal("a refused scrape got metrics")
		}
	}
	refused(e.call("GET", "/metrics", outside, nil), 403, "forbidden")
	refused(e.call("GET", "/metrics", outside, bearerHeader("wrong-token")), 401, "unauthorized")
	refused(e.call("GET", "/metrics", outside, bearerHeader(metricsToken+"x")), 401, "unauthorized")
	refused(e.call("GET", "/metrics", outside, bearerHeader("pma_not_a_metrics_token")), 401, "unauthorized")
	refused(e.call("GET", "/metrics", outside, http.Header{"Authorization": {"Basic " + metricsToken}}), 401, "unauthorized")
	// Headers never make a request local.
	refused(e.call("GET", "/metrics", outside, http.Header{"X-Forwarded-For": {"127.0.0.1"}}), 403, "forbidden")
	refused(e.call("GET", "/metrics", outside, http.Header{"X-Real-Ip": {"127.0.0.1"}, "Forwarded": {"for=127.0.0.1"}}), 403, "forbidden")
	// A reverse proxy on this host relays outside requests: they need the token.
	refused(e.call("GET", "/metrics", "127.0.0.1:5555", http.Header{"X-Forwarded-For": {"203.0.113.9"}}), 403, "forbidden")
	// A wrong token is refused even from loopback.
	refused(e.call("GET", "/metrics", "127.0.0.1:5555", bearerHeader("wrong-token")), 401, "unauthorized")

	allowed := func(rec *httptest.ResponseRecorder) {
		t.Helper()
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), "# TYPE pmassist_http_requests_total counter") {
			t.Fatalf("status %d: %.200s", rec.Code, rec.Body)
		}
	}
	allowed(e.call("GET", "/metrics", outside, bearerHeader(metricsToken)))
	allowed(e.call("GET", "/metrics", outside, http.Header{"Authorization": {"bearer " + metricsToken}}))
	allowed(e.call("GET", "/metrics", "127.0.0.1:5555", nil))
	allowed(e.call("GET", "/metrics", "127.8.9.10:5555", nil))
	allowed(e.call("GET", "/metrics", "[::1]:5555", nil))

	// Allowed scrapes do not use up the address's anonymous allowance;
	// guesses at the token do.
	const scraper = "198.51.100.7:4444"
	for range AnonymousRatePerMinute + 10 {
		allowed(e.call("GET", "/metrics", scraper, bearerHeader(metricsToken)))
	}
	for i := range AnonymousRatePerMinute + 1 {
		rec := e.call("GET", "/metrics", scraper, bearerHeader("guess"))
		if i < AnonymousRatePerMinute && rec.Code != 401 {
			t.Fatalf("guess %d: %d", i, rec.Code)
		}
		if i == AnonymousRatePerMinute && rec.Code != http.StatusTooManyRequests {
			t.Fatalf("guess %d was not rate limited: %d", i, rec.Code)
		}
	}
}

func TestMetricsWithoutTokenOrHandler(t *testing.T) {
	// No token configured: only loopback, and no empty token matches.
	e := newEnv(t)
	if rec := e.call("GET", "/metrics", "203.0.113.9:4444", http.Header{"Authorization": {"Bearer "}}); rec.Code != 401 {
		t.Fatalf("empty token: %d", rec.Code)
	}
	if rec := e.call("GET", "/metrics", "203.0.113.9:4444", nil); rec.Code != 403 {
		t.Fatalf("no token configured, outside: %d", rec.Code)
	}
	// No metrics: not found, even from loopback.
	e = newEnv(t, func(c *Config) { c.Metrics, c.MetricsToken = nil, metricsToken })
	if rec := e.call("GET", "/metrics", "127.0.0.1:5555", nil); rec.Code != 404 {
		t.Fatalf("without a handler: %d", rec.Code)
	}
	if rec := e.call("GET", "/metrics", "203.0.113.9:4444", bearerHeader(metricsToken)); rec.Code != 404 {
		t.Fatalf("without a handler, with the token: %d", rec.Code)
	}
}

func TestMetricsCountWork(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	e.connect(op, "slack")
	id := e.connections(op)[0]["id"].(string)

	// Requests are counted by route template; unmatched paths are not
	// labels of their own.
	op.do("GET", "/api/v1/no-such-endpoint-x7", nil)
	op.do("GET", "/no-such-page-x7", nil)
	job := e.ingest(op, "slack")
	if job["status"] != "succeeded" || job["items_new"].(float64) == 0 {
		t.Fatalf("job: %v", job)
	}
	fams := e.scrapeMetrics()
	e.wantSample(fams, 1, "pmassist_http_requests_total", "route=/api/v1/ingestion/{service}", "method=POST", "code=202")
	e.wantSample(fams, 1, "pmassist_http_request_duration_seconds", "route=/api/v1/ingestion/{service}", "method=POST")
	if n, _ := sample(fams, "pmassist_http_requests_total", "route=unmatched", "method=GET", "code=404"); n < 2 {
		t.Fatalf("unmatched 404s: %v", n)
	}
	for _, m := range fams["pmassist_http_requests_total"].GetMetric() {
		for _, lp := range m.GetLabel() {
			if strings.Contains(lp.GetValue(), "x7") || strings.Contains(lp.GetValue(), id) {
				t.Fatalf("a raw path became a label: %s", lp.GetValue())
			}
		}
	}

	// Finished jobs and their new items, by service (every slack job so far).
	var succeeded, items float64
	for _, j := range op.expect(200, "GET", "/api/v1/jobs?service=slack", nil)["jobs"].([]any) {
		j := j.(map[string]any)
		if j["status"] == "succeeded" {
			succeeded++
		}
		items += j["items_new"].(float64)
	}
	e.wantSample(fams, succeeded, "pmassist_jobs_total", "service=slack", "status=succeeded")
	e.wantSample(fams, items, "pmassist_items_ingested_total", "service=slack")
	e.wantSample(fams, 0, "pmassist_items_ingested_total", "service=linear")
	e.wantSample(fams, 0, "pmassist_jobs_active")
	if n, _ := sample(fams, "pmassist_provider_requests_total", "service=slack", "code=200"); n == 0 {
		t.Fatal("no Slack API calls counted")
	}
	e.waitIndexed()
	fams = e.scrapeMetrics()
	e.wantSample(fams, 0, "pmassist_index_pending_updates")
	if n, _ := sample(fams, "pmassist_index_documents"); n < items {
		t.Fatalf("index documents %v, fewer than the %v items", n, items)
	}

	// A token refresh, then webhooks: a challenge, a bad signature, a
	// message (applied as a job with its new item), the same again.
	e.clock.Add(12*time.Hour + time.Minute)
	op.expect(200, "POST", "/api/v1/integrations/"+id+"/refresh", nil)
	now := e.clock.Now()
	body := e.slack.URLVerificationEvent("ch4ll3nge")
	e.webhook("slack", body, e.slack.SignEvent(slackSigningSecret, body, now))
	e.webhook("slack", body, e.slack.SignEvent("wrong-secret", body, now))
	channel := e.slack.Data().Channels[0].ID
	msg, err := e.slack.AddMessage(channel, fake.SlackMessage{User: e.slack.Data().Users[0].ID, Text: "a new message"})
	if err != nil {
		t.Fatal(err)
	}
	body = e.slack.MessageEvent(channel, msg)
	h := e.slack.SignEvent(slackSigningSecret, body, now)
	e.webhook("slack", body, h)
	e.webhook("slack", body, h)
	fams = e.scrapeMetrics()
	e.wantSample(fams, 1, "pmassist_token_refreshes_total", "service=slack", "result=success")
	e.wantSample(fams, 1, "pmassist_webhooks_total", "service=slack", "result=challenge")
	e.wantSample(fams, 1, "pmassist_webhooks_total", "service=slack", "result=rejected")
	e.wantSample(fams, 1, "pmassist_webhooks_total", "service=slack", "result=applied")
	e.wantSample(fams, 1, "pmassist_webhooks_total", "service=slack", "result=duplicate")
	e.wantSample(fams, succeeded+1, "pmassist_jobs_total", "service=slack", "status=succeeded")
	e.wantSample(fams, items+1, "pmassist_items_ingested_total", "service=slack")

	// A refused refresh is counted as a failure.
	e.slack.RevokeAll()
	op.expect(200, "POST", "/api/v1/integrations/"+id+"/refresh", nil)
	e.wantSample(e.scrapeMetrics(), 1, "pmassist_token_refreshes_total", "service=slack", "result=failure")
}
