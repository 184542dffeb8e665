// Package metrics is PM Assistant's Prometheus registry (product.md §8):
// HTTP requests and latency by route, finished jobs, ingested items,
// provider calls and rate-limit waits, token refreshes and webhook
// deliveries are counted as they happen through the hooks below, which the
// wiring hands to the server, the workflows and the provider clients as
// plain functions; the data file, the search index, running jobs, backups
// and tenants are read at scrape time. Label values come from short fixed
// lists (services, statuses, route templates), never from requests.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Token refresh results.
const (
	ResultSuccess = "success"
	ResultFailure = "failure"
)

// webhookResults are the outcomes of a delivery (workflows.Delivery*),
// listed from the start.
var webhookResults = []string{"applied", "ignored", "duplicate", "challenge", "rejected", "failed"}

// scrapeTimeout bounds the reads done at scrape time (backups, tenants).
const scrapeTimeout = 5 * time.Second

// Metrics holds the registry and the counters the hooks move.
type Metrics struct {
	Registry *prometheus.Registry

	httpRequests     *prometheus.CounterVec
	httpDuration     *prometheus.HistogramVec
	jobs             *prometheus.CounterVec
	items            *prometheus.CounterVec
	providerRequests *prometheus.CounterVec
	rateLimitWaits   *prometheus.CounterVec
	rateLimitSeconds *prometheus.CounterVec
	refreshes        *prometheus.CounterVec
	webhooks         *prometheus.CounterVec
}

// New returns a registry with the Go runtime and process collectors, the
// build info and every counter. Counters of known services start at zero,
// so that they are listed (and rate() works) before the first event.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		Registry: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pmassist_http_requests_total",
			Help: "HTTP requests answered, by route template (\"unmatched\" when no route matched), method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "pmassist_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route template and method.",
			Buckets: prometheus.DefBuckets,
		}, []string{"route", "method"}),
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pmassist_jobs_total",
			Help: "Ingestion jobs finished, by service and final status (succeeded, partial, failed).",
		}, []string{"service", "status"}),
		items: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pmassist_items_ingested_total",
			Help: "New items stored by ingestion jobs and webhooks, by service.",
		}, []string{"service"}),
		providerRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pmassist_provider_requests_total",
			Help: "Provider API calls answered, by service and HTTP status code (\"error\" when no answer came).",
		}, []string{"service", "code"}),
		rateLimitWaits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pmassist_provider_rate_limit_waits_total",
			Help: "Waits before a provider API call, by service and reason: rate_limit (the provider refused) or pace (our own spacing of calls).",
		}, []string{"service", "reason"}),
		rateLimitSeconds: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pmassist_provider_rate_limit_wait_seconds_total",
			Help: "Time spent in waits before provider API calls, by service and reason.",
		}, []string{"service", "reason"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pmassist_token_refreshes_total",
			Help: "OAuth token refreshes (and checks of tokens that do not expire), by service and result (success, failure).",
		}, []string{"service", "result"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pmassist_webhooks_total",
			Help: "Provider webhook deliveries, by service and result (applied, ignored, duplicate, challenge, rejected, failed).",
		}, []string{"service", "result"}),
	}
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "pmassist_build_info",
			Help:        "Always 1; the labels name the running build.",
			ConstLabels: prometheus.Labels{"version": pmassist.Version, "commit": pmassist.Commit},
		}, func() float64 { return 1 }),
		m.httpRequests, m.httpDuration, m.jobs, m.items, m.providerRequests,
		m.rateLimitWaits, m.rateLimitSeconds, m.refreshes, m.webhooks,
	)
	for _, svc := range pmassist.Services {
		s := string(svc)
		m.items.WithLabelValues(s)
		for _, st := range []string{pmassist.JobSucceeded, pmassist.JobPartial, pmassist.JobFailed} {
			m.jobs.WithLabelValues(s, st)
		}
		for _, r := range []string{ResultSuccess, ResultFailure} {
			m.refreshes.WithLabelValues(s, r)
		}
		for _, r := range webhookResults {
			m.webhooks.WithLabelValues(s, r)
		}
		m.rateLimitWaits.WithLabelValues(s, "rate_limit")
		m.rateLimitSeconds.WithLabelValues(s, "rate_limit")
	}
	return m
}

// Handler serves the registry in the Prometheus text format. A collector
// that fails leaves its samples out rather than failing the scrape.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{
		Registry:            m.Registry,
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
	})
}

// ObserveRequest counts an answered HTTP request (server.Config's
// ObserveRequest). route must be the route template, or "" when no route
// matched: never the raw path.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	method = knownMethod(method)
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// knownMethod bounds the method label: a client may send any token.
func knownMethod(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return method
	}
	return "other"
}

// JobFinished counts a finished job and the new items it stored
// (workflows.IngestorConfig's OnJobFinished).
func (m *Metrics) JobFinished(job *pmassist.Job) {
	if !job.Finished() || !job.Service.Valid() {
		return
	}
	m.jobs.WithLabelValues(string(job.Service), job.Status).Inc()
	if job.ItemsNew > 0 {
		m.items.WithLabelValues(string(job.Service)).Add(float64(job.ItemsNew))
	}
}

// ProviderResponse returns the hook a provider client calls with the HTTP
// status of every answer it gets (0: none came).
func (m *Metrics) ProviderResponse(service pmassist.Service) func(status int) {
	return func(status int) {
		code := "error"
		if status > 0 {
			code = strconv.Itoa(status)
		}
		m.providerRequests.WithLabelValues(string(service), code).Inc()
	}
}

// ProviderWait returns the hook a provider client calls before every wait.
// Rate-limit waits ("rate_limit") and pacing ("pace") are counted; backoff
// after a failure ("retry") shows as the failed call's code instead.
func (m *Metrics) ProviderWait(service pmassist.Service) func(d time.Duration, reason string) {
	return func(d time.Duration, reason string) {
		if reason != "rate_limit" && reason != "pace" {
			return
		}
		m.rateLimitWaits.WithLabelValues(string(service), reason).Inc()
		m.rateLimitSeconds.WithLabelValues(string(service), reason).Add(d.Seconds())
	}
}

// TokenRefreshed counts a refresh attempt (oauth.Config's OnRefresh).
func (m *Metrics) TokenRefreshed(service pmassist.Service, err error) {
	if !service.Valid() {
		return
	}
	result := ResultSuccess
	if err != nil {
		result = ResultFailure
	}
	m.refreshes.WithLabelValues(string(service), result).Inc()
}

// WebhookDelivered counts a webhook delivery (workflows.WebhooksConfig's
// OnDelivery).
func (m *Metrics) WebhookDelivered(service pmassist.Service, result string) {
	if !service.Valid() {
		return
	}
	m.webhooks.WithLabelValues(string(service), result).Inc()
}

// DataFile registers pmassist_data_file_bytes, read by size at scrape time.
func (m *Metrics) DataFile(size func() (int64, error)) {
	m.Registry.MustRegister(newFuncCollector(func(emit emitter) {
		if n, err := size(); err == nil {
			emit(dataFileBytes, float64(n))
		}
	}, dataFileBytes))
}

// indexStates are always listed by pmassist_index_state, 1 for the current.
var indexStates = []string{"ready", "building", "failed"}

// Index registers the search index gauges: its documents, its state, and
// its lag (updates queued but not yet applied), read at scrape time.
func (m *Metrics) Index(state func() pmassist.IndexState, pending func() int) {
	m.Registry.MustRegister(newFuncCollector(func(emit emitter) {
		st := state()
		emit(indexDocs, float64(st.Docs))
		known := false
		for _, s := range indexStates {
			v := 0.0
			if s == st.State {
				v, known = 1, true
			}
			emit(indexState, v, s)
		}
		if !known && st.State != "" {
			emit(indexState, 1, st.State)
		}
		emit(indexPending, float64(pending()))
	}, indexDocs, indexState, indexPending))
}

// ActiveJobs registers pmassist_jobs_active: jobs queued or running now.
func (m *Metrics) ActiveJobs(n func() int) {
	m.Registry.MustRegister(newFuncCollector(func(emit emitter) {
		emit(jobsActive, float64(n()))
	}, jobsActive))
}

// Backups registers the scheduled backups' gauges, read by status at scrape
// time (a zero BackupStatus reads as "off, never succeeded").
func (m *Metrics) Backups(status func(ctx context.Context) (pmassist.BackupStatus, error)) {
	m.Registry.MustRegister(newFuncCollector(func(emit emitter) {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		defer cancel()
		st, err := status(ctx)
		if err != nil {
			return
		}
		var last float64
		if st.LastSuccess != nil {
			last = float64(st.LastSuccess.CreatedAt.UnixNano()) / 1e9
		}
		var interval float64
		if st.Enabled {
			interval = st.Interval.Seconds()
		}
		emit(backupEnabled, boolValue(st.Enabled))
		emit(backupLastSuccess, last)
		emit(backupFailing, boolValue(st.LastError != ""))
		emit(backupInterval, interval)
	}, backupEnabled, backupLastSuccess, backupFailing, backupInterval))
}

// Tenants registers pmassist_tenants, counted at scrape time.
func (m *Metrics) Tenants(count func(ctx context.Context) (int, error)) {
	m.Registry.MustRegister(newFuncCollector(func(emit emitter) {
		ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
		defer cancel()
		if n, err := count(ctx); err == nil {
			emit(tenants, float64(n))
		}
	}, tenants))
}

var (
	dataFileBytes = gaugeDesc("pmassist_data_file_bytes", "Size of the data file (bbolt) in bytes.")
	indexDocs     = gaugeDesc("pmassist_index_documents", "Documents in the search index.")
	indexState    = gaugeDesc("pmassist_index_state", "1 for the search index's current state (ready, building, failed), else 0.", "state")
	indexPending  = gaugeDesc("pmassist_index_pending_updates", "Search index lag: updates queued but not yet applied.")
	jobsActive    = gaugeDesc("pmassist_jobs_active", "Ingestion jobs queued or running now.")

	backupEnabled     = gaugeDesc("pmassist_backup_enabled", "1 when scheduled backups are configured (PMASSIST_BACKUP_DIR).")
	backupLastSuccess = gaugeDesc("pmassist_backup_last_success_timestamp_seconds", "Creation time of the newest backup (Unix seconds); 0 when there is none.")
	backupFailing     = gaugeDesc("pmassist_backup_failing", "1 when the last scheduled backup failed (cleared by a success).")
	backupInterval    = gaugeDesc("pmassist_backup_interval_seconds", "Interval of scheduled backups; 0 when they are off.")

	tenants = gaugeDesc("pmassist_tenants", "Tenants in the data file.")
)

func gaugeDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// emitter sends one gauge sample.
type emitter func(desc *prometheus.Desc, v float64, labels ...string)

// funcCollector reads its gauges at scrape time, with one call of collect
// for all of them (a single IndexState or BackupStatus per scrape). A read
// that fails leaves its samples out.
type funcCollector struct {
	descs   []*prometheus.Desc
	collect func(emitter)
}

func newFuncCollector(collect func(emitter), descs ...*prometheus.Desc) *funcCollector {
	return &funcCollector{descs: descs, collect: collect}
}

func (c *funcCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *funcCollector) Collect(ch chan<- prometheus.Metric) {
	c.collect(func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	})
}
