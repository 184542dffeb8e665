package server

import (
	_ "embed"
	"net/http"

	"github.com/gorilla/mux"
)

// openAPIDocument describes the API; a test checks it against the router.
//
//go:embed openapi.json
var openAPIDocument []byte

func (s *Server) registerHealthRoutes(r *mux.Router) {
	r.HandleFunc("/healthz", s.handleHealthz).Methods(http.MethodGet)
	r.HandleFunc("/readyz", s.handleReadyz).Methods(http.MethodGet)
	r.HandleFunc(v1+"/openapi.json", s.handleOpenAPI).Methods(http.MethodGet)
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 when every dependency (data file, and later the
// scheduler and the search index) is ready, else 503 naming what is not.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{}
	ready := true
	if s.svc.Ready != nil {
		for name, err := range s.svc.Ready(r.Context()) {
			if err != nil {
				ready = false
				checks[name] = err.Error()
			} else {
				checks[name] = "ok"
			}
		}
	}
	if !ready {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "starting", "checks": checks})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ready", "checks": checks})
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(openAPIDocument)
}
