package server

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/ui"
)

func (s *Server) registerIntegrationPages(r *mux.Router) {
	r.HandleFunc("/integrations", s.member(pmassist.RoleMember, s.pageIntegrations)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/refresh", s.member(pmassist.RoleAdmin, s.postRefreshConnection)).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{id}/disconnect", s.member(pmassist.RoleAdmin, s.postDisconnect)).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{service}/app", s.member(pmassist.RoleOwner, s.postSaveApp)).Methods(http.MethodPost)
	r.HandleFunc("/integrations/{service}/app/delete", s.member(pmassist.RoleOwner, s.postDeleteApp)).Methods(http.MethodPost)
}

func connectHref(svc pmassist.Service) string { return v1 + "/oauth/" + string(svc) + "/authorize" }

func toConnectionRow(c *pmassist.Connection) ui.ConnectionRow {
	status := c.Status
	if c.Paused {
		// What the person can do about it comes first: the plan, not the token.
		status = "paused"
	}
	return ui.ConnectionRow{ID: c.ID, Service: string(c.Service), ServiceTitle: c.Service.Title(), WorkspaceID: c.WorkspaceID,
		WorkspaceName: c.WorkspaceName, Status: status, Scopes: c.Scopes, ConnectedAt: c.ConnectedAt, ExpiresAt: c.ExpiresAt,
		LastRefreshAt: c.LastRefreshAt, LastSyncAt: c.LastSyncAt, LastRefreshError: c.LastRefreshError, LastError: c.LastError,
		RefreshFailures: c.RefreshFailures, Refreshable: c.Refreshable, OwnApp: c.OwnApp, ReconnectHref: connectHref(c.Service)}
}

// connectionRows lists the tenant's connections for pages.
func (s *Server) connectionRows(ctx context.Context) ([]ui.ConnectionRow, error) {
	conns, err := s.svc.Connections.ListConnections(ctx)
	if err != nil {
		return nil, err
	}
	rows := make([]ui.ConnectionRow, 0, len(conns))
	for _, c := range conns {
		rows = append(rows, toConnectionRow(c))
	}
	return rows, nil
}

func (s *Server) integrationsPage(w http.ResponseWriter, r *http.Request, id *identity) (*ui.IntegrationsPage, error) {
	ctx := r.Context()
	rows, err := s.connectionRows(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.withLastJobs(ctx, rows); err != nil {
		return nil, err
	}
	avail, err := s.svc.OAuth.AvailableServices(ctx)
	if err != nil {
		return nil, err
	}
	plan := pmassist.PlanFor(id.tenant.Tier)
	page := &ui.IntegrationsPage{Layout: s.layout(w, r, id, "Integrations", "integrations"), Connections: rows,
		CanManage: id.role.AtLeast(pmassist.RoleAdmin), CanManageApps: id.role == pmassist.RoleOwner, CanRun: true,
		AppsAllowed: plan.Has(pmassist.FeatureOwnOAuthApps)}
	if plan.Integrations != pmassist.Unlimited && len(rows) >= plan.Integrations {
		page.AtLimit = true
		page.LimitText = fmt.Sprintf("The %s plan allows %d integration(s). Disconnect one or upgrade to add another.", id.tenant.Tier, plan.Integrations)
	}
	for _, a := range avail {
		page.Services = append(page.Services, ui.ServiceOption{Service: string(a.Service), Title: a.Service.Title(),
			Available: a.Available, ConnectHref: connectHref(a.Service), OwnApp: a.OwnApp, Unavailable: a.Reason,
			RedirectURL: s.svc.OAuth.RedirectURL(a.Service)})
	}
	// The OAuth callback redirects here with the outcome.
	q := r.URL.Query()
	if svc := pmassist.Service(q.Get("connected")); svc.Valid() && page.Flash == "" {
		page.Flash = svc.Title() + " is connected."
	}
	if msg := q.Get("error"); msg != "" && page.FlashErr == "" {
		page.FlashErr = "Connecting failed: " + truncate(msg, 300)
	}
	return page, nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

func (s *Server) pageIntegrations(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.integrationsPage(w, r, id)
	s.show(w, r, "integrations", page, err)
}

func (s *Server) postRefreshConnection(w http.ResponseWriter, r *http.Request, id *identity) {
	c, err := s.refreshConnection(r.Context(), mux.Vars(r)["id"])
	switch {
	case err != nil:
		s.redirectFlash(w, r, "/integrations", "", err)
	case c.Status != pmassist.ConnectionConnected:
		s.redirectFlash(w, r, "/integrations", "", pmassist.Errorf(pmassist.EINVALID, "%s", c.LastRefreshError))
	default:
		s.redirectFlash(w, r, "/integrations", c.Service.Title()+" "+c.WorkspaceName+" is healthy.", nil)
	}
}

func (s *Server) postDisconnect(w http.ResponseWriter, r *http.Request, id *identity) {
	err := s.disconnect(r.Context(), id, mux.Vars(r)["id"], r.PostFormValue("purge") != "")
	s.redirectFlash(w, r, "/integrations", "Disconnected. The token was deleted from this appliance.", err)
}

func (s *Server) postSaveApp(w http.ResponseWriter, r *http.Request, id *identity) {
	svc, err := serviceVar(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := appForm{ClientID: r.PostFormValue("client_id"), ClientSecret: r.PostFormValue("client_secret"), SigningSecret: r.PostFormValue("signing_secret")}
	if _, err := s.saveApp(r.Context(), id, svc, f); err != nil {
		if pmassist.ErrorFields(err) == nil {
			s.redirectFlash(w, r, "/integrations", "", err)
			return
		}
		page, perr := s.integrationsPage(w, r, id)
		if perr != nil {
			s.fail(w, r, perr)
			return
		}
		page.AppForm.Service, page.AppForm.ClientID, page.Errors = string(svc), f.ClientID, fieldErrors(err)
		s.render(w, r, http.StatusBadRequest, "integrations", page)
		return
	}
	s.redirectFlash(w, r, "/integrations", "Your own "+svc.Title()+" app is saved; new connections and refreshes use it.", nil)
}

func (s *Server) postDeleteApp(w http.ResponseWriter, r *http.Request, id *identity) {
	svc, err := serviceVar(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	err = s.deleteApp(r.Context(), id, svc)
	s.redirectFlash(w, r, "/integrations", "Your own "+svc.Title()+" app was removed.", err)
}
