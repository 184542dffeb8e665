package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerTenantRoutes(r *mux.Router) {
	r.HandleFunc(v1+"/tenant", s.member(pmassist.RoleMember, s.handleGetTenant)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/audit", s.member(pmassist.RoleAdmin, s.handleListAudit)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/audit/export", s.member(pmassist.RoleAdmin, s.handleExportAudit)).Methods(http.MethodGet)
}

// usageJSON is a tenant's consumption against its plan; a nil limit is
// unlimited. Items and integrations are counted from the ingestion and
// connection issues on; until then they are zero.
type usageJSON struct {
	Period            string `json:"period"`
	ItemsIngested     int    `json:"items_ingested"`
	ItemsLimit        *int   `json:"items_limit"`
	Integrations      int    `json:"integrations"`
	IntegrationsLimit *int   `json:"integrations_limit"`
}

func limitJSON(n int) *int {
	if n == pmassist.Unlimited {
		return nil
	}
	return &n
}

// usage reports a tenant's consumption against its plan.
func (s *Server) usage(ctx context.Context, t *pmassist.Tenant) (usageJSON, error) {
	conns, err := s.svc.Connections.ListConnections(pmassist.NewContextWithTenant(ctx, t.ID))
	if err != nil {
		return usageJSON{}, err
	}
	tctx := pmassist.NewContextWithTenant(ctx, t.ID)
	cfg, err := s.svc.Configs.TenantConfig(tctx)
	if err != nil {
		return usageJSON{}, err
	}
	period := s.now().In(cfg.Location()).Format("2006-01")
	n, err := s.svc.Items.ItemsIngested(tctx, period)
	if err != nil {
		return usageJSON{}, err
	}
	p := pmassist.PlanFor(t.Tier)
	return usageJSON{Period: period, ItemsIngested: n, ItemsLimit: limitJSON(p.ItemsPerMonth),
		Integrations: len(conns), IntegrationsLimit: limitJSON(p.Integrations)}, nil
}

func (s *Server) handleGetTenant(w http.ResponseWriter, r *http.Request, id *identity) {
	u, err := s.usage(r.Context(), id.tenant)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		*tenantJSON
		Usage usageJSON `json:"usage"`
	}{toTenantJSON(id.tenant), u})
}

type auditJSON struct {
	At      time.Time         `json:"at"`
	Actor   string            `json:"actor"`
	Action  string            `json:"action"`
	Target  string            `json:"target"`
	Details map[string]string `json:"details"`
}

func (s *Server) handleListAudit(w http.ResponseWriter, r *http.Request, id *identity) {
	limit, cursor, err := listParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, next, err := s.svc.Audit.ListAuditEvents(r.Context(), pmassist.AuditFilter{Cursor: cursor, Limit: limit})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]auditJSON, 0, len(events))
	for _, e := range events {
		d := e.Details
		if d == nil {
			d = map[string]string{}
		}
		out = append(out, auditJSON{At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target, Details: d})
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out, "next_cursor": next})
}
