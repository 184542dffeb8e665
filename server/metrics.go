package server

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerMetricsRoutes(r *mux.Router) {
	r.HandleFunc("/metrics", s.handleMetrics).Methods(http.MethodGet, http.MethodHead)
}

// handleMetrics serves Prometheus text (api.md "Health and metrics") to
// loopback peers and to requests bearing the metrics token.
func (s *Server) handleMetrics(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Metrics == nil {
		s.handleNotFound(w, r)
		return
	}
	if err := s.metricsAccess(r); err != nil {
		if pmassist.ErrorCode(err) == pmassist.EUNAUTHORIZED {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
		}
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.cfg.Metrics.ServeHTTP(w, r)
}

// metricsAccess decides who may scrape: a request with an Authorization
// header must carry the metrics token (401 otherwise); without one, only a
// loopback peer (403 otherwise).
func (s *Server) metricsAccess(r *http.Request) error {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if strings.EqualFold(scheme, "Bearer") && s.validMetricsToken(token) {
			return nil
		}
		return pmassist.Errorf(pmassist.EUNAUTHORIZED, "the metrics token is not valid")
	}
	if loopbackPeer(r) {
		return nil
	}
	return pmassist.Errorf(pmassist.EFORBIDDEN,
		"metrics are served to loopback addresses, or with Authorization: Bearer and the metrics token (PMASSIST_METRICS_TOKEN)")
}

// allowedScrape reports whether r is a scrape that metricsAccess lets in;
// such scrapes are not counted against the per-address limit.
func (s *Server) allowedScrape(r *http.Request) bool {
	return r.URL.Path == "/metrics" && s.cfg.Metrics != nil && s.metricsAccess(r) == nil
}

// validMetricsToken compares digests in constant time, so that neither the
// token's content nor its length shows in the timing.
func (s *Server) validMetricsToken(token string) bool {
	if s.cfg.MetricsToken == "" || token == "" {
		return false
	}
	got, want := sha256.Sum256([]byte(token)), sha256.Sum256([]byte(s.cfg.MetricsToken))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// loopbackPeer reports whether the TCP peer is a loopback address. Headers
// never make a request local; a loopback peer that says it forwards for
// someone else is a reverse proxy on this host relaying an outside request,
// which needs the token like any other.
func loopbackPeer(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, h := range []string{"Forwarded", "X-Forwarded-For", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	return true
}

// observeRequest reports an answered request to Config.ObserveRequest; an
// answer that wrote nothing went out as 200.
func (s *Server) observeRequest(r *http.Request, info *requestInfo, status int, d time.Duration) {
	if s.cfg.ObserveRequest == nil {
		return
	}
	if status == 0 {
		status = http.StatusOK
	}
	s.cfg.ObserveRequest(info.template, r.Method, status, d)
}
