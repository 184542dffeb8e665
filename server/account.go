package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerAuthRoutes(r *mux.Router) {
	r.HandleFunc(v1+"/setup", s.handleSetup).Methods(http.MethodPost)
	r.HandleFunc(v1+"/auth/signup", s.handleSignup).Methods(http.MethodPost)
	r.HandleFunc(v1+"/auth/login", s.handleLogin).Methods(http.MethodPost)
	r.HandleFunc(v1+"/auth/logout", s.user(s.handleLogout)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/me", s.user(s.handleMe)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/me/tenant", s.user(s.handleSwitchTenant)).Methods(http.MethodPost)
}

type userJSON struct {
	ID       string `json:"id"`
	Email    string `json:"email"`
	Name     string `json:"name"`
	Operator bool   `json:"operator"`
}

func toUserJSON(u *pmassist.User) userJSON {
	return userJSON{ID: u.ID, Email: u.Email, Name: u.Name, Operator: u.Operator}
}

type tenantJSON struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Tier               string    `json:"tier"`
	SubscriptionStatus string    `json:"subscription_status"`
	Suspended          bool      `json:"suspended"`
	CreatedAt          time.Time `json:"created_at"`
}

func toTenantJSON(t *pmassist.Tenant) *tenantJSON {
	if t == nil {
		return nil
	}
	return &tenantJSON{ID: t.ID, Name: t.Name, Tier: string(t.Tier), SubscriptionStatus: t.SubscriptionStatus,
		Suspended: t.Suspended, CreatedAt: t.CreatedAt}
}

type tenantMembershipJSON struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	Tier      string `json:"tier"`
	Role      string `json:"role"`
	Suspended bool   `json:"suspended"`
}

func (s *Server) userTenantsJSON(ctx context.Context, userID string) ([]tenantMembershipJSON, error) {
	uts, err := s.svc.Members.ListUserTenants(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]tenantMembershipJSON, 0, len(uts))
	for _, ut := range uts {
		out = append(out, tenantMembershipJSON{ID: ut.Tenant.ID, Name: ut.Tenant.Name, Tier: string(ut.Tenant.Tier),
			Role: string(ut.Role), Suspended: ut.Tenant.Suspended})
	}
	return out, nil
}

// accountForm is what setup and sign-up ask for.
type accountForm struct {
	Email      string `json:"email"`
	Password   string `json:"password"`
	Name       string `json:"name"`
	TenantName string `json:"tenant_name"`
}

// newAccount validates f and returns the user (password hashed) and tenant
// to create; every field at fault is named at once.
func (s *Server) newAccount(f accountForm) (*pmassist.User, *pmassist.Tenant, error) {
	now := s.now()
	u := &pmassist.User{Email: f.Email, Name: f.Name, CreatedAt: now}
	t := &pmassist.Tenant{Name: f.TenantName, Tier: s.cfg.DefaultTier, SubscriptionStatus: pmassist.SubscriptionNone, CreatedAt: now}
	fields := map[string]string{}
	for k, v := range pmassist.ErrorFields(u.Validate()) {
		fields[k] = v
	}
	for k, v := range pmassist.ErrorFields(t.Validate()) {
		if k == "name" {
			k = "tenant_name"
		}
		fields[k] = v
	}
	if msg := pmassist.ValidatePassword(f.Password); msg != "" {
		fields["password"] = msg
	}
	if len(fields) > 0 {
		return nil, nil, pmassist.FieldError(fields)
	}
	hash, err := s.cfg.PasswordParams.Hash(f.Password)
	if err != nil {
		return nil, nil, err
	}
	u.PasswordHash = hash
	return u, t, nil
}

// setup creates the operator and the first tenant.
func (s *Server) setup(ctx context.Context, f accountForm) (*pmassist.User, *pmassist.Tenant, error) {
	if n, err := s.svc.Users.CountUsers(ctx); err != nil {
		return nil, nil, err
	} else if n > 0 {
		return nil, nil, pmassist.Errorf(pmassist.ECONFLICT, "setup has already been done; sign in instead")
	}
	u, t, err := s.newAccount(f)
	if err != nil {
		return nil, nil, err
	}
	if err := s.svc.Users.Setup(ctx, u, t); err != nil {
		return nil, nil, err
	}
	s.audit(pmassist.NewContextWithTenant(ctx, t.ID), u, pmassist.AuditTenantCreated, t.Name, map[string]string{"via": "setup"})
	return u, t, nil
}

// signup creates a user and a tenant they own (open sign-up mode only).
func (s *Server) signup(ctx context.Context, f accountForm) (*pmassist.User, *pmassist.Tenant, error) {
	if s.cfg.SignupMode != SignupOpen {
		return nil, nil, pmassist.Errorf(pmassist.EFORBIDDEN, "sign-up is not open on this appliance; ask for an invitation")
	}
	u, t, err := s.newAccount(f)
	if err != nil {
		return nil, nil, err
	}
	if err := s.svc.Tenants.CreateTenant(ctx, t, u); err != nil {
		return nil, nil, err
	}
	s.audit(pmassist.NewContextWithTenant(ctx, t.ID), u, pmassist.AuditTenantCreated, t.Name, map[string]string{"via": "signup"})
	return u, t, nil
}

func (s *Server) handleSetup(w http.ResponseWriter, r *http.Request) {
	var f accountForm
	if err := decodeJSON(r, &f, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, t, err := s.setup(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": toUserJSON(u), "tenant": toTenantJSON(t)})
}

func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	var f accountForm
	if err := decodeJSON(r, &f, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, t, err := s.signup(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": toUserJSON(u), "tenant": toTenantJSON(t)})
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Email == "" || req.Password == "" {
		f := map[string]string{}
		if req.Email == "" {
			f["email"] = "required"
		}
		if req.Password == "" {
			f["password"] = "required"
		}
		s.writeError(w, r, pmassist.FieldError(f))
		return
	}
	u, err := s.checkLogin(r.Context(), clientIP(r), req.Email, req.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.startSession(w, r, u); err != nil {
		s.writeError(w, r, err)
		return
	}
	tenants, err := s.userTenantsJSON(r.Context(), u.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(u), "tenants": tenants})
}

func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, id *identity) {
	if err := s.endSession(w, r, id); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type meJSON struct {
	User      userJSON               `json:"user"`
	Tenant    *tenantJSON            `json:"tenant"`
	Role      string                 `json:"role"`
	CSRFToken string                 `json:"csrf_token"`
	Tenants   []tenantMembershipJSON `json:"tenants"`
}

func (s *Server) writeMe(w http.ResponseWriter, r *http.Request, id *identity) {
	tenants, err := s.userTenantsJSON(r.Context(), id.user.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	me := meJSON{User: toUserJSON(id.user), Tenant: toTenantJSON(id.tenant), Role: string(id.role), Tenants: tenants}
	if id.session != nil {
		me.CSRFToken = id.session.CSRFToken
	}
	writeJSON(w, http.StatusOK, me)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, id *identity) { s.writeMe(w, r, id) }

// switchTenant makes tenantID the session's current tenant.
func (s *Server) switchTenant(ctx context.Context, id *identity, tenantID string) error {
	if id.session == nil {
		return pmassist.Errorf(pmassist.EINVALID, "an API token is bound to its tenant; create a token in the other tenant instead")
	}
	next, err := s.loadIdentity(ctx, id.user.ID, tenantID)
	if err != nil {
		return err
	}
	if next == nil || tenantID == "" {
		return pmassist.Errorf(pmassist.ENOTFOUND, "tenant not found")
	}
	if err := s.svc.Sessions.UpdateSession(ctx, id.session.IDHash, pmassist.SessionUpdate{TenantID: &tenantID}); err != nil {
		return err
	}
	id.tenant, id.role = next.tenant, next.role
	return nil
}

func (s *Server) handleSwitchTenant(w http.ResponseWriter, r *http.Request, id *identity) {
	var req struct {
		TenantID string `json:"tenant_id"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if !pmassist.ValidID(req.TenantID) {
		s.writeError(w, r, pmassist.Errorf(pmassist.ENOTFOUND, "tenant not found"))
		return
	}
	if err := s.switchTenant(r.Context(), id, req.TenantID); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.writeMe(w, r, id)
}

// audit records an event in the context's tenant. A failure to record is
// logged, not returned: the change it describes has already happened.
func (s *Server) audit(ctx context.Context, actor *pmassist.User, action, target string, details map[string]string) {
	e := &pmassist.AuditEvent{At: s.now(), Action: action, Target: target, Details: details, Actor: "system"}
	if actor != nil {
		e.ActorID, e.Actor = actor.ID, actor.Email
	}
	if err := s.svc.Audit.CreateAuditEvent(ctx, e); err != nil {
		s.logger.ErrorContext(ctx, "recording audit event failed", "action", action, "error", err)
	}
}
