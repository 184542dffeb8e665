package server

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerIngestionRoutes(r *mux.Router) {
	r.HandleFunc(v1+"/ingestion/{service}", s.member(pmassist.RoleMember, s.handleStartIngestion)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/jobs", s.member(pmassist.RoleMember, s.handleListJobs)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/jobs/{id}", s.member(pmassist.RoleMember, s.handleGetJob)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/items", s.member(pmassist.RoleMember, s.handleListItems)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/items/{id}", s.member(pmassist.RoleMember, s.handleGetItem)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/tenant/config", s.member(pmassist.RoleMember, s.handleGetConfig)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/tenant/config", s.member(pmassist.RoleAdmin, s.handlePutConfig)).Methods(http.MethodPut)
	r.HandleFunc(v1+"/admin/jobs", s.operator(s.handleAdminJobs)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/webhooks/{service}", s.handleWebhook).Methods(http.MethodPost)
}

type jobJSON struct {
	ID           string     `json:"id"`
	Kind         string     `json:"kind"`
	Service      string     `json:"service"`
	ConnectionID string     `json:"connection_id"`
	Trigger      string     `json:"trigger"`
	Status       string     `json:"status"`
	CreatedAt    time.Time  `json:"created_at"`
	StartedAt    *time.Time `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at"`
	ItemsNew     int        `json:"items_new"`
	ItemsUpdated int        `json:"items_updated"`
	Error        string     `json:"error"`
}

func toJobJSON(j *pmassist.Job) jobJSON {
	return jobJSON{ID: j.ID, Kind: j.Kind, Service: string(j.Service), ConnectionID: j.ConnectionID, Trigger: j.Trigger,
		Status: j.Status, CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt,
		ItemsNew: j.ItemsNew, ItemsUpdated: j.ItemsUpdated, Error: j.Error}
}

func jobsJSON(jobs []*pmassist.Job) []jobJSON {
	out := make([]jobJSON, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, toJobJSON(j))
	}
	return out
}

// startIngestion starts a run for every connection of a service (or one of
// them); runs already going are returned instead of started twice.
func (s *Server) startIngestion(ctx context.Context, svc pmassist.Service, connID string) ([]*pmassist.Job, error) {
	conns, err := s.svc.Connections.ListConnections(ctx)
	if err != nil {
		return nil, err
	}
	var jobs []*pmassist.Job
	found := false
	for _, c := range conns {
		if c.Service != svc || (connID != "" && c.ID != connID) {
			continue
		}
		found = true
		j, _, err := s.svc.Ingestion.Start(ctx, c.ID, pmassist.TriggerManual)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	if !found {
		if connID != "" {
			return nil, pmassist.Errorf(pmassist.ENOTFOUND, "connection not found")
		}
		return nil, pmassist.Errorf(pmassist.ECONFLICT, "no %s connection; connect %s first", svc.Title(), svc.Title())
	}
	return jobs, nil
}

func (s *Server) handleStartIngestion(w http.ResponseWriter, r *http.Request, id *identity) {
	svc, err := serviceVar(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		ConnectionID string `json:"connection_id"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.ConnectionID != "" && !pmassist.ValidID(req.ConnectionID) {
		s.writeError(w, r, pmassist.Errorf(pmassist.ENOTFOUND, "connection not found"))
		return
	}
	jobs, err := s.startIngestion(r.Context(), svc, req.ConnectionID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"jobs": jobsJSON(jobs)})
}

func (s *Server) handleListJobs(w http.ResponseWriter, r *http.Request, id *identity) {
	limit, cursor, err := listParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := pmassist.JobFilter{Service: pmassist.Service(q.Get("service")), Status: q.Get("status"), Cursor: cursor, Limit: limit}
	if f.Service != "" && !f.Service.Valid() {
		s.writeError(w, r, pmassist.FieldError(map[string]string{"service": "must be slack, linear or github"}))
		return
	}
	switch f.Status {
	case "", pmassist.JobQueued, pmassist.JobRunning, pmassist.JobSucceeded, pmassist.JobPartial, pmassist.JobFailed:
	default:
		s.writeError(w, r, pmassist.FieldError(map[string]string{"status": "must be queued, running, succeeded, partial or failed"}))
		return
	}
	jobs, next, err := s.svc.Jobs.ListJobs(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobsJSON(jobs), "next_cursor": next})
}

func (s *Server) handleGetJob(w http.ResponseWriter, r *http.Request, id *identity) {
	jobID := mux.Vars(r)["id"]
	if !pmassist.ValidID(jobID) {
		s.writeError(w, r, pmassist.Errorf(pmassist.ENOTFOUND, "job not found"))
		return
	}
	j, err := s.svc.Jobs.FindJob(r.Context(), jobID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toJobJSON(j))
}

func (s *Server) handleAdminJobs(w http.ResponseWriter, r *http.Request, id *identity) {
	limit, _, err := listParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	jobs, err := s.svc.Jobs.ListRecentJobs(r.Context(), limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	type adminJob struct {
		jobJSON
		TenantID string `json:"tenant_id"`
	}
	out := make([]adminJob, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, adminJob{toJobJSON(j), j.TenantID})
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": out})
}

// itemJSON is the Item of api.md.
type itemJSON struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Service    string     `json:"service"`
	ExternalID string     `json:"external_id"`
	URL        string     `json:"url"`
	Title      string     `json:"title"`
	Text       string     `json:"text"`
	Author     authorJSON `json:"author"`
	Channel    string     `json:"channel"`
	ThreadID   string     `json:"thread_id"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	State      string     `json:"state"`
	Deleted    bool       `json:"deleted,omitempty"`
}

type authorJSON struct {
	Name  string `json:"name"`
	Email string `json:"email"`
}

func toItemJSON(it *pmassist.Item) itemJSON {
	return itemJSON{ID: it.ID, Type: string(it.Type), Service: string(it.Service), ExternalID: it.ExternalID, URL: it.URL,
		Title: it.Title, Text: it.Text, Author: authorJSON{Name: it.Author.Name, Email: it.Author.Email}, Channel: it.Channel,
		ThreadID: it.ThreadID, CreatedAt: it.CreatedAt, UpdatedAt: it.UpdatedAt, State: it.State, Deleted: it.Deleted}
}

func (s *Server) handleListItems(w http.ResponseWriter, r *http.Request, id *identity) {
	limit, cursor, err := listParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	q := r.URL.Query()
	f := pmassist.ItemFilter{Type: pmassist.ItemType(q.Get("type")), Service: pmassist.Service(q.Get("service")), Cursor: cursor, Limit: limit}
	if f.Type != "" && !f.Type.Valid() {
		s.writeError(w, r, pmassist.FieldError(map[string]string{"type": "must be message, issue or pull_request"}))
		return
	}
	if f.Service != "" && !f.Service.Valid() {
		s.writeError(w, r, pmassist.FieldError(map[string]string{"service": "must be slack, linear or github"}))
		return
	}
	items, next, err := s.svc.Items.ListItems(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]itemJSON, 0, len(items))
	for _, it := range items {
		out = append(out, toItemJSON(it))
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": out, "next_cursor": next})
}

func (s *Server) handleGetItem(w http.ResponseWriter, r *http.Request, id *identity) {
	itemID := mux.Vars(r)["id"]
	if !pmassist.ValidID(itemID) {
		s.writeError(w, r, pmassist.Errorf(pmassist.ENOTFOUND, "item not found"))
		return
	}
	it, err := s.svc.Items.FindItem(r.Context(), itemID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toItemJSON(it))
}

func (s *Server) handleGetConfig(w http.ResponseWriter, r *http.Request, id *identity) {
	cfg, err := s.svc.Configs.TenantConfig(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cfg)
}

// putConfig validates and stores the tenant's settings and re-plans the
// schedules they drive.
func (s *Server) putConfig(ctx context.Context, id *identity, cfg pmassist.TenantConfig) (pmassist.TenantConfig, error) {
	if err := cfg.Validate(); err != nil {
		return cfg, err
	}
	if err := s.checkConfigPlan(ctx, id, cfg); err != nil {
		return cfg, err
	}
	if err := s.svc.Configs.PutTenantConfig(ctx, cfg); err != nil {
		return cfg, err
	}
	s.audit(ctx, id.user, pmassist.AuditSettingsChanged, "settings", nil)
	s.replan(ctx)
	return cfg, nil
}

// checkConfigPlan refuses settings the tenant's plan does not include:
// scheduled standups (pro) and the tenant's own detection phrases
// (enterprise). What a downgraded tenant saved before may stay — it is kept,
// not applied — but nothing new of it can be added.
func (s *Server) checkConfigPlan(ctx context.Context, id *identity, cfg pmassist.TenantConfig) error {
	plan := pmassist.PlanFor(id.tenant.Tier)
	old, err := s.svc.Configs.TenantConfig(ctx)
	if err != nil {
		return err
	}
	if cfg.Standup.Enabled && !old.Standup.Enabled && !plan.Has(pmassist.FeatureScheduledWorkflows) {
		return pmassist.Errorf(pmassist.EPAYMENTREQUIRED, "scheduled standups are part of the pro and enterprise plans; this tenant is on %s — upgrade on the Billing page", id.tenant.Tier)
	}
	if !plan.Has(pmassist.FeatureCustomRules) {
		known := map[string]bool{}
		for _, p := range old.Decisions.Phrases {
			known[p] = true
		}
		for _, p := range cfg.Decisions.Phrases {
			if !known[p] {
				return pmassist.Errorf(pmassist.EPAYMENTREQUIRED, "custom detection phrases are part of the enterprise plan; this tenant is on %s — upgrade on the Billing page", id.tenant.Tier)
			}
		}
	}
	return nil
}

func (s *Server) handlePutConfig(w http.ResponseWriter, r *http.Request, id *identity) {
	var cfg pmassist.TenantConfig
	if err := decodeJSON(r, &cfg, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	cfg, err := s.putConfig(r.Context(), id, cfg)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, cfg)
}

// replan brings the schedules in line after a change; a failure is logged
// (the periodic re-plan catches up).
func (s *Server) replan(ctx context.Context) {
	if s.svc.Planner == nil {
		return
	}
	if err := s.svc.Planner.Replan(context.WithoutCancel(ctx)); err != nil {
		s.logger.ErrorContext(ctx, "re-planning schedules failed", "error", err)
	}
}

// handleWebhook receives a provider's webhook. It needs no session: the
// signature is the credential, checked before anything else.
func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
	svc := pmassist.Service(mux.Vars(r)["service"])
	if svc != pmassist.ServiceSlack && svc != pmassist.ServiceLinear && svc != pmassist.ServiceGitHub {
		s.writeError(w, r, pmassist.Errorf(pmassist.ENOTFOUND, "no webhooks for %q", svc))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.writeError(w, r, jsonError(err))
		return
	}
	res, err := s.svc.Webhooks.Receive(r.Context(), svc, r.Header, body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if res.Challenge != "" {
		writeJSON(w, http.StatusOK, map[string]string{"challenge": res.Challenge})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "duplicate": res.Duplicate, "routed": res.Routed})
}
