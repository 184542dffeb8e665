package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerAdminRoutes(r *mux.Router) {
	r.HandleFunc(v1+"/admin/tenants", s.operator(s.handleAdminListTenants)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/admin/tenants", s.operator(s.handleAdminCreateTenant)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/admin/tenants/{id}", s.operator(s.handleAdminUpdateTenant)).Methods(http.MethodPatch)
}

type adminTenantJSON struct {
	ID                 string    `json:"id"`
	Name               string    `json:"name"`
	Tier               string    `json:"tier"`
	SubscriptionStatus string    `json:"subscription_status"`
	Suspended          bool      `json:"suspended"`
	Members            int       `json:"members"`
	Connections        int       `json:"connections"`
	Usage              usageJSON `json:"usage"`
	CreatedAt          time.Time `json:"created_at"`
}

func (s *Server) adminTenant(ctx context.Context, t *pmassist.Tenant) (adminTenantJSON, error) {
	n, err := s.svc.Tenants.CountMembers(ctx, t.ID)
	if err != nil {
		return adminTenantJSON{}, err
	}
	u, err := s.usage(ctx, t)
	if err != nil {
		return adminTenantJSON{}, err
	}
	return adminTenantJSON{ID: t.ID, Name: t.Name, Tier: string(t.Tier), SubscriptionStatus: t.SubscriptionStatus,
		Suspended: t.Suspended, Members: n, Connections: u.Integrations, Usage: u, CreatedAt: t.CreatedAt}, nil
}

func (s *Server) adminTenants(ctx context.Context) ([]adminTenantJSON, error) {
	tenants, err := s.svc.Tenants.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]adminTenantJSON, 0, len(tenants))
	for _, t := range tenants {
		row, err := s.adminTenant(ctx, t)
		if err != nil {
			return nil, err
		}
		out = append(out, row)
	}
	return out, nil
}

// newTenantForm is what the operator fills in to create a tenant.
type newTenantForm struct {
	Name          string `json:"name"`
	OwnerEmail    string `json:"owner_email"`
	OwnerName     string `json:"owner_name"`
	OwnerPassword string `json:"owner_password"`
	Tier          string `json:"tier"`
}

// adminCreateTenant creates a tenant; an existing account with the owner's
// email becomes its owner (no password needed), else a new account is made.
func (s *Server) adminCreateTenant(ctx context.Context, id *identity, f newTenantForm) (*pmassist.Tenant, *pmassist.User, error) {
	t := &pmassist.Tenant{Name: f.Name, Tier: pmassist.Tier(f.Tier), SubscriptionStatus: pmassist.SubscriptionNone, CreatedAt: s.now()}
	if t.Tier == "" {
		t.Tier = s.cfg.DefaultTier
	}
	fields := map[string]string{}
	for k, v := range pmassist.ErrorFields(t.Validate()) {
		fields[k] = v
	}
	owner, err := s.svc.Users.FindUserByEmail(ctx, f.OwnerEmail)
	switch {
	case err == nil:
	case pmassist.ErrorCode(err) == pmassist.ENOTFOUND:
		owner = &pmassist.User{Email: f.OwnerEmail, Name: f.OwnerName, CreatedAt: s.now()}
		for k, v := range pmassist.ErrorFields(owner.Validate()) {
			fields["owner_"+k] = v
		}
		if msg := pmassist.ValidatePassword(f.OwnerPassword); msg != "" {
			fields["owner_password"] = msg
		}
	default:
		return nil, nil, err
	}
	if len(fields) > 0 {
		return nil, nil, pmassist.FieldError(fields)
	}
	if owner.ID == "" {
		if owner.PasswordHash, err = s.cfg.PasswordParams.Hash(f.OwnerPassword); err != nil {
			return nil, nil, err
		}
	}
	if err := s.svc.Tenants.CreateTenant(ctx, t, owner); err != nil {
		return nil, nil, err
	}
	s.audit(pmassist.NewContextWithTenant(ctx, t.ID), id.user, pmassist.AuditTenantCreated, t.Name,
		map[string]string{"via": "operator", "owner": owner.Email, "tier": string(t.Tier)})
	return t, owner, nil
}

// adminUpdateTenant sets a tenant's tier or suspension.
func (s *Server) adminUpdateTenant(ctx context.Context, id *identity, tenantID string, tier *string, suspended *bool) (*pmassist.Tenant, error) {
	if !pmassist.ValidID(tenantID) {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "tenant not found")
	}
	var upd pmassist.TenantUpdate
	details := map[string]string{}
	if tier != nil {
		t := pmassist.Tier(*tier)
		if !t.Valid() {
			return nil, pmassist.FieldError(map[string]string{"tier": "must be free, pro or enterprise"})
		}
		if s.svc.Billing == nil {
			upd.Tier = &t
			details["tier"] = *tier
		}
	}
	if suspended != nil {
		upd.Suspended = suspended
		details["suspended"] = strconv.FormatBool(*suspended)
	}
	t, err := s.svc.Tenants.UpdateTenant(ctx, tenantID, upd)
	if err != nil {
		return nil, err
	}
	if tier != nil && s.svc.Billing != nil {
		// Billing records the change, and fits the connections to the plan.
		if t, err = s.svc.Billing.SetTier(ctx, tenantID, pmassist.Tier(*tier), "operator "+id.user.Email); err != nil {
			return nil, err
		}
	}
	if len(details) > 0 {
		s.audit(pmassist.NewContextWithTenant(ctx, t.ID), id.user, pmassist.AuditTenantUpdated, t.Name, details)
	}
	if suspended != nil {
		s.replan(ctx)
	}
	return t, nil
}

func (s *Server) handleAdminListTenants(w http.ResponseWriter, r *http.Request, id *identity) {
	rows, err := s.adminTenants(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"tenants": rows})
}

func (s *Server) handleAdminCreateTenant(w http.ResponseWriter, r *http.Request, id *identity) {
	var f newTenantForm
	if err := decodeJSON(r, &f, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, u, err := s.adminCreateTenant(r.Context(), id, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"tenant": toTenantJSON(t), "user": toUserJSON(u)})
}

func (s *Server) handleAdminUpdateTenant(w http.ResponseWriter, r *http.Request, id *identity) {
	var req struct {
		Tier      *string `json:"tier"`
		Suspended *bool   `json:"suspended"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.adminUpdateTenant(r.Context(), id, mux.Vars(r)["id"], req.Tier, req.Suspended)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	row, err := s.adminTenant(r.Context(), t)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, row)
}
