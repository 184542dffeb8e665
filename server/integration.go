package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerIntegrationRoutes(r *mux.Router) {
	r.HandleFunc(v1+"/oauth/{service}/authorize", s.member(pmassist.RoleAdmin, s.handleAuthorizeRedirect)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/oauth/{service}/authorize", s.member(pmassist.RoleAdmin, s.handleAuthorizeURL)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/oauth/{service}/callback", s.member(pmassist.RoleAdmin, s.handleCallbackRedirect)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/oauth/{service}/callback", s.member(pmassist.RoleAdmin, s.handleCallbackAPI)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/integrations", s.member(pmassist.RoleMember, s.handleListConnections)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/integrations/apps", s.member(pmassist.RoleMember, s.handleListApps)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/integrations/{service}/status", s.member(pmassist.RoleMember, s.handleServiceStatus)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/integrations/{service}/app", s.member(pmassist.RoleOwner, s.handleSaveApp)).Methods(http.MethodPut)
	r.HandleFunc(v1+"/integrations/{service}/app", s.member(pmassist.RoleOwner, s.handleDeleteApp)).Methods(http.MethodDelete)
	r.HandleFunc(v1+"/integrations/{id}/refresh", s.member(pmassist.RoleAdmin, s.handleRefreshConnection)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/integrations/{id}", s.member(pmassist.RoleAdmin, s.handleDisconnect)).Methods(http.MethodDelete)
}

// browserFlow reports whether r is the browser variant of the OAuth flow:
// anonymous callers are sent to the login page and errors are pages.
func browserFlow(r *http.Request) bool {
	return r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, v1+"/oauth/")
}

// connectionJSON is the Connection of api.md; it never carries a token.
type connectionJSON struct {
	ID               string     `json:"id"`
	Service          string     `json:"service"`
	WorkspaceID      string     `json:"workspace_id"`
	WorkspaceName    string     `json:"workspace_name"`
	Status           string     `json:"status"`
	Scopes           []string   `json:"scopes"`
	ConnectedAt      time.Time  `json:"connected_at"`
	ExpiresAt        *time.Time `json:"expires_at"`
	LastRefreshAt    *time.Time `json:"last_refresh_at"`
	LastRefreshError string     `json:"last_refresh_error"`
	RefreshFailures  int        `json:"refresh_failures"`
	LastSyncAt       *time.Time `json:"last_sync_at"`
	LastError        string     `json:"last_error"`
	OwnApp           bool       `json:"own_app"`
	Paused           bool       `json:"paused"`
	PausedAt         *time.Time `json:"paused_at"`
}

func toConnectionJSON(c *pmassist.Connection) connectionJSON {
	scopes := c.Scopes
	if scopes == nil {
		scopes = []string{}
	}
	return connectionJSON{ID: c.ID, Service: string(c.Service), WorkspaceID: c.WorkspaceID, WorkspaceName: c.WorkspaceName,
		Status: c.Status, Scopes: scopes, ConnectedAt: c.ConnectedAt, ExpiresAt: c.ExpiresAt, LastRefreshAt: c.LastRefreshAt,
		LastRefreshError: c.LastRefreshError, RefreshFailures: c.RefreshFailures, LastSyncAt: c.LastSyncAt,
		LastError: c.LastError, OwnApp: c.OwnApp, Paused: c.Paused, PausedAt: c.PausedAt}
}

var errUnknownService = pmassist.Errorf(pmassist.ENOTFOUND, "unknown service; use slack, linear or github")

// serviceVar reads {service}; anything but the three services is not found.
func serviceVar(r *http.Request) (pmassist.Service, error) {
	svc := pmassist.Service(mux.Vars(r)["service"])
	if !svc.Valid() {
		return "", errUnknownService
	}
	return svc, nil
}

// caller binds an OAuth state to the session (or API token) that started it.
func caller(id *identity) pmassist.OAuthCaller {
	c := pmassist.OAuthCaller{TenantID: id.tenantID(), UserID: id.user.ID}
	switch {
	case id.session != nil:
		c.SessionKey = "session:" + id.session.IDHash
	case id.token != nil:
		c.SessionKey = "token:" + id.token.ID
	}
	return c
}

func (s *Server) authorizeURL(r *http.Request, id *identity) (string, error) {
	svc, err := serviceVar(r)
	if err != nil {
		return "", err
	}
	return s.svc.OAuth.AuthorizeURL(r.Context(), svc, caller(id))
}

func (s *Server) handleAuthorizeRedirect(w http.ResponseWriter, r *http.Request, id *identity) {
	u, err := s.authorizeURL(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	http.Redirect(w, r, u, http.StatusFound)
}

func (s *Server) handleAuthorizeURL(w http.ResponseWriter, r *http.Request, id *identity) {
	if err := decodeJSON(r, &struct{}{}, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.authorizeURL(r, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": u})
}

// completeConnect finishes a flow and records it in the audit log.
func (s *Server) completeConnect(ctx context.Context, id *identity, svc pmassist.Service, code, state, providerErr string) (*pmassist.Connection, error) {
	c, created, err := s.svc.OAuth.Callback(ctx, svc, code, state, providerErr, caller(id))
	if err != nil {
		return nil, err
	}
	action := pmassist.AuditConnectionCreated
	if !created {
		action = pmassist.AuditConnectionReconnected
	}
	s.audit(ctx, id.user, action, svc.Title()+" "+c.WorkspaceName,
		map[string]string{"connection_id": c.ID, "service": string(svc), "workspace_id": c.WorkspaceID})
	s.replan(ctx)
	return c, nil
}

func (s *Server) handleCallbackRedirect(w http.ResponseWriter, r *http.Request, id *identity) {
	svc, err := serviceVar(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	_, err = s.completeConnect(r.Context(), id, svc, q.Get("code"), q.Get("state"), q.Get("error"))
	switch {
	case err == pmassist.ErrOAuthState:
		s.renderError(w, r, http.StatusBadRequest, "Connection not completed", pmassist.ErrorMessage(err))
	case pmassist.ErrorCode(err) == pmassist.EINTERNAL:
		s.fail(w, r, err)
	case err != nil:
		http.Redirect(w, r, "/integrations?error="+url.QueryEscape(pmassist.ErrorMessage(err)), http.StatusFound)
	default:
		http.Redirect(w, r, "/integrations?connected="+string(svc), http.StatusFound)
	}
}

func (s *Server) handleCallbackAPI(w http.ResponseWriter, r *http.Request, id *identity) {
	svc, err := serviceVar(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req struct {
		Code  string `json:"code"`
		State string `json:"state"`
		Error string `json:"error"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.completeConnect(r.Context(), id, svc, req.Code, req.State, req.Error)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"connection": toConnectionJSON(c)})
}

func (s *Server) handleListConnections(w http.ResponseWriter, r *http.Request, id *identity) {
	conns, err := s.svc.Connections.ListConnections(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]connectionJSON, 0, len(conns))
	for _, c := range conns {
		out = append(out, toConnectionJSON(c))
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": out})
}

func (s *Server) handleServiceStatus(w http.ResponseWriter, r *http.Request, id *identity) {
	svc, err := serviceVar(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	conns, err := s.svc.Connections.ListConnections(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := []connectionJSON{}
	connected := false
	for _, c := range conns {
		if c.Service == svc {
			out = append(out, toConnectionJSON(c))
			connected = connected || c.Status == pmassist.ConnectionConnected
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"service": svc, "connected": connected, "connections": out})
}

// findConnection checks a connection id from a URL belongs to the tenant.
func (s *Server) findConnection(ctx context.Context, connID string) (*pmassist.Connection, error) {
	if !pmassist.ValidID(connID) {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "connection not found")
	}
	return s.svc.Connections.FindConnection(ctx, connID)
}

func (s *Server) refreshConnection(ctx context.Context, connID string) (*pmassist.Connection, error) {
	if _, err := s.findConnection(ctx, connID); err != nil {
		return nil, err
	}
	return s.svc.OAuth.Refresh(ctx, connID)
}

// disconnect revokes and deletes a connection; a failed revocation is kept
// in the audit log (the local tokens are deleted anyway).
func (s *Server) disconnect(ctx context.Context, id *identity, connID string, purge bool) error {
	c, err := s.findConnection(ctx, connID)
	if err != nil {
		return err
	}
	revokeFailure, err := s.svc.OAuth.Disconnect(ctx, connID)
	if err != nil {
		return err
	}
	details := map[string]string{"connection_id": c.ID, "service": string(c.Service), "workspace_id": c.WorkspaceID, "revoked": "true"}
	if revokeFailure != "" {
		details["revoked"], details["revoke_error"] = "false", revokeFailure
	}
	if purge {
		ids, err := s.svc.Items.DeleteConnectionItems(ctx, c.ID)
		if err != nil {
			return err
		}
		if s.svc.Indexer != nil {
			s.svc.Indexer.RemoveItems(ctx, ids...)
		}
		details["purge"], details["items_deleted"] = "true", strconv.Itoa(len(ids))
	}
	s.audit(ctx, id.user, pmassist.AuditConnectionDeleted, c.Service.Title()+" "+c.WorkspaceName, details)
	s.replan(ctx)
	return nil
}

func (s *Server) handleRefreshConnection(w http.ResponseWriter, r *http.Request, id *identity) {
	c, err := s.refreshConnection(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"connection": toConnectionJSON(c)})
}

func (s *Server) handleDisconnect(w http.ResponseWriter, r *http.Request, id *identity) {
	purge := r.URL.Query().Get("purge")
	if purge != "" && purge != "true" && purge != "false" {
		s.writeError(w, r, pmassist.FieldError(map[string]string{"purge": "must be true or false"}))
		return
	}
	if err := s.disconnect(r.Context(), id, mux.Vars(r)["id"], purge == "true"); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// appForm is a tenant's own OAuth app as entered.
type appForm struct {
	ClientID      string `json:"client_id"`
	ClientSecret  string `json:"client_secret"`
	SigningSecret string `json:"signing_secret"`
}

// saveApp stores the tenant's own app for a service (owner, enterprise tier).
func (s *Server) saveApp(ctx context.Context, id *identity, svc pmassist.Service, f appForm) (*pmassist.OAuthApp, error) {
	if !pmassist.PlanFor(id.tenant.Tier).Has(pmassist.FeatureOwnOAuthApps) {
		return nil, pmassist.Errorf(pmassist.EPAYMENTREQUIRED, "own OAuth apps are an enterprise feature; upgrade to use them")
	}
	fields := map[string]string{}
	f.ClientID, f.ClientSecret, f.SigningSecret = strings.TrimSpace(f.ClientID), strings.TrimSpace(f.ClientSecret), strings.TrimSpace(f.SigningSecret)
	if f.ClientID == "" {
		fields["client_id"] = "required"
	} else if len(f.ClientID) > 200 {
		fields["client_id"] = "at most 200 characters"
	}
	if f.ClientSecret == "" {
		fields["client_secret"] = "required"
	} else if len(f.ClientSecret) > 500 {
		fields["client_secret"] = "at most 500 characters"
	}
	if len(f.SigningSecret) > 500 {
		fields["signing_secret"] = "at most 500 characters"
	}
	if len(fields) > 0 {
		return nil, pmassist.FieldError(fields)
	}
	app := pmassist.OAuthApp{Service: svc, ClientID: f.ClientID, ClientSecret: f.ClientSecret, SigningSecret: f.SigningSecret, UpdatedAt: s.now()}
	if err := s.svc.Apps.SaveOAuthApp(ctx, app); err != nil {
		return nil, err
	}
	s.audit(ctx, id.user, pmassist.AuditOAuthAppSaved, svc.Title(), map[string]string{"service": string(svc), "client_id": app.ClientID})
	return &app, nil
}

func (s *Server) deleteApp(ctx context.Context, id *identity, svc pmassist.Service) error {
	if err := s.svc.Apps.DeleteOAuthApp(ctx, svc); err != nil {
		return err
	}
	s.audit(ctx, id.user, pmassist.AuditOAuthAppRemoved, svc.Title(), map[string]string{"service": string(svc)})
	return nil
}

func (s *Server) handleListApps(w http.ResponseWriter, r *http.Request, id *identity) {
	have, err := s.svc.Apps.ListOAuthAppServices(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	type appJSON struct {
		Service    string `json:"service"`
		Configured bool   `json:"configured"`
	}
	out := make([]appJSON, 0, len(pmassist.Services))
	for _, svc := range pmassist.Services {
		configured := false
		for _, h := range have {
			configured = configured || h == svc
		}
		out = append(out, appJSON{Service: string(svc), Configured: configured})
	}
	writeJSON(w, http.StatusOK, map[string]any{"apps": out,
		"allowed": pmassist.PlanFor(id.tenant.Tier).Has(pmassist.FeatureOwnOAuthApps)})
}

func (s *Server) handleSaveApp(w http.ResponseWriter, r *http.Request, id *identity) {
	svc, err := serviceVar(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var f appForm
	if err := decodeJSON(r, &f, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	app, err := s.saveApp(r.Context(), id, svc, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"service": svc, "configured": true, "client_id": app.ClientID, "updated_at": app.UpdatedAt})
}

func (s *Server) handleDeleteApp(w http.ResponseWriter, r *http.Request, id *identity) {
	svc, err := serviceVar(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.deleteApp(r.Context(), id, svc); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
