package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerMemberRoutes(r *mux.Router) {
	r.HandleFunc(v1+"/members", s.member(pmassist.RoleMember, s.handleListMembers)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/members/{user_id}", s.member(pmassist.RoleAdmin, s.handleUpdateMember)).Methods(http.MethodPatch)
	r.HandleFunc(v1+"/members/{user_id}", s.member(pmassist.RoleMember, s.handleRemoveMember)).Methods(http.MethodDelete)
	r.HandleFunc(v1+"/invitations", s.member(pmassist.RoleAdmin, s.handleListInvitations)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/invitations", s.member(pmassist.RoleAdmin, s.handleCreateInvitation)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/invitations/{id}", s.member(pmassist.RoleAdmin, s.handleRevokeInvitation)).Methods(http.MethodDelete)
	r.HandleFunc(v1+"/invitations/{token}/accept", s.handleAcceptInvitation).Methods(http.MethodPost)
}

type memberJSON struct {
	UserID   string    `json:"user_id"`
	Email    string    `json:"email"`
	Name     string    `json:"name"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
}

func toMemberJSON(m *pmassist.Member) memberJSON {
	return memberJSON{UserID: m.UserID, Email: m.Email, Name: m.Name, Role: string(m.Role), JoinedAt: m.JoinedAt}
}

var errMemberNotFound = pmassist.Errorf(pmassist.ENOTFOUND, "member not found")

// findMember loads a member of the context's tenant by a user id taken from
// a URL; malformed ids are simply not found.
func (s *Server) findMember(ctx context.Context, userID string) (*pmassist.Member, error) {
	if !pmassist.ValidID(userID) {
		return nil, errMemberNotFound
	}
	return s.svc.Members.FindMember(ctx, userID)
}

// updateRole changes a member's role. Admins manage members and admins;
// only owners grant the owner role or change an owner's.
func (s *Server) updateRole(ctx context.Context, id *identity, userID string, role pmassist.Role) (*pmassist.Member, error) {
	if !role.Valid() {
		return nil, pmassist.FieldError(map[string]string{"role": "must be owner, admin or member"})
	}
	m, err := s.findMember(ctx, userID)
	if err != nil {
		return nil, err
	}
	if (role == pmassist.RoleOwner || m.Role == pmassist.RoleOwner) && id.role != pmassist.RoleOwner {
		return nil, pmassist.Errorf(pmassist.EFORBIDDEN, "only an owner can grant or take away the owner role")
	}
	if m.Role == role {
		return m, nil
	}
	updated, err := s.svc.Members.UpdateMemberRole(ctx, userID, role)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, id.user, pmassist.AuditMemberRole, m.Email, map[string]string{"from": string(m.Role), "to": string(role)})
	return updated, nil
}

// removeMember ends a membership. Anyone may leave; admins remove members
// and admins; only owners remove owners.
func (s *Server) removeMember(ctx context.Context, id *identity, userID string) error {
	m, err := s.findMember(ctx, userID)
	if err != nil {
		return err
	}
	self := userID == id.user.ID
	switch {
	case !self && !id.role.AtLeast(pmassist.RoleAdmin):
		return pmassist.Errorf(pmassist.EFORBIDDEN, "this needs the admin role or higher")
	case !self && m.Role == pmassist.RoleOwner && id.role != pmassist.RoleOwner:
		return pmassist.Errorf(pmassist.EFORBIDDEN, "only an owner can remove an owner")
	}
	if err := s.svc.Members.RemoveMember(ctx, userID); err != nil {
		return err
	}
	s.audit(ctx, id.user, pmassist.AuditMemberRemoved, m.Email, map[string]string{"role": string(m.Role)})
	return nil
}

func (s *Server) handleListMembers(w http.ResponseWriter, r *http.Request, id *identity) {
	members, err := s.svc.Members.ListMembers(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]memberJSON, 0, len(members))
	for _, m := range members {
		out = append(out, toMemberJSON(m))
	}
	writeJSON(w, http.StatusOK, map[string]any{"members": out})
}

func (s *Server) handleUpdateMember(w http.ResponseWriter, r *http.Request, id *identity) {
	var req struct {
		Role string `json:"role"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	m, err := s.updateRole(r.Context(), id, mux.Vars(r)["user_id"], pmassist.Role(req.Role))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toMemberJSON(m))
}

func (s *Server) handleRemoveMember(w http.ResponseWriter, r *http.Request, id *identity) {
	if err := s.removeMember(r.Context(), id, mux.Vars(r)["user_id"]); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// createInvitation invites email to the current tenant and returns the
// invitation with its link, which carries a secret shown only now.
func (s *Server) createInvitation(ctx context.Context, id *identity, email string, role pmassist.Role) (*pmassist.Invitation, string, error) {
	if s.cfg.SignupMode == SignupClosed && !id.user.Operator {
		return nil, "", pmassist.Errorf(pmassist.EFORBIDDEN, "sign-up is closed on this appliance; only the operator can invite people")
	}
	if role == "" {
		role = pmassist.RoleMember
	}
	if role == pmassist.RoleOwner && id.role != pmassist.RoleOwner {
		return nil, "", pmassist.Errorf(pmassist.EFORBIDDEN, "only an owner can invite an owner")
	}
	secret := randomToken(32)
	inv := &pmassist.Invitation{Email: email, Role: role, TokenHash: hashSecret(secret), InvitedBy: id.user.ID, CreatedAt: s.now()}
	if err := inv.Validate(); err != nil {
		return nil, "", err
	}
	if u, err := s.svc.Users.FindUserByEmail(ctx, inv.Email); err == nil {
		if _, err := s.svc.Members.FindMember(ctx, u.ID); err == nil {
			return nil, "", pmassist.Errorf(pmassist.ECONFLICT, "%s is already a member", inv.Email)
		}
	} else if pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
		return nil, "", err
	}
	if err := s.svc.Invitations.CreateInvitation(ctx, inv); err != nil {
		return nil, "", err
	}
	s.audit(ctx, id.user, pmassist.AuditMemberInvited, inv.Email, map[string]string{"role": string(role), "invitation_id": inv.ID})
	return inv, s.cfg.BaseURL + "/invite/" + secret, nil
}

func (s *Server) revokeInvitation(ctx context.Context, id *identity, invID string) error {
	if !pmassist.ValidID(invID) {
		return pmassist.Errorf(pmassist.ENOTFOUND, "invitation not found")
	}
	if err := s.svc.Invitations.DeleteInvitation(ctx, invID); err != nil {
		return err
	}
	s.audit(ctx, id.user, pmassist.AuditInvitationRevoked, invID, nil)
	return nil
}

// acceptInvitation joins the invited person to the tenant. A new person
// chooses a name and password; a person who already has an account proves
// it with their password (throttled like a login).
func (s *Server) acceptInvitation(ctx context.Context, ip, secret, name, pw string) (*pmassist.User, *pmassist.Tenant, error) {
	hash := hashSecret(secret)
	inv, err := s.svc.Invitations.FindInvitationByHash(ctx, hash, s.now())
	if err != nil {
		return nil, nil, err
	}
	var u *pmassist.User
	_, err = s.svc.Users.FindUserByEmail(ctx, inv.Email)
	switch {
	case err == nil:
		if u, err = s.checkLogin(ctx, ip, inv.Email, pw); err != nil {
			return nil, nil, err
		}
	case pmassist.ErrorCode(err) == pmassist.ENOTFOUND:
		u = &pmassist.User{Email: inv.Email, Name: name, CreatedAt: s.now()}
		fields := pmassist.ErrorFields(u.Validate())
		if fields == nil {
			fields = map[string]string{}
		}
		if msg := pmassist.ValidatePassword(pw); msg != "" {
			fields["password"] = msg
		}
		if len(fields) > 0 {
			return nil, nil, pmassist.FieldError(fields)
		}
		if u.PasswordHash, err = s.cfg.PasswordParams.Hash(pw); err != nil {
			return nil, nil, err
		}
	default:
		return nil, nil, err
	}
	if inv, err = s.svc.Invitations.AcceptInvitation(ctx, hash, u, s.now()); err != nil {
		return nil, nil, err
	}
	t, err := s.svc.Tenants.FindTenantByID(ctx, inv.TenantID)
	if err != nil {
		return nil, nil, err
	}
	s.audit(pmassist.NewContextWithTenant(ctx, t.ID), u, pmassist.AuditMemberJoined, u.Email, map[string]string{"role": string(inv.Role)})
	return u, t, nil
}

type invitationJSON struct {
	ID        string    `json:"id"`
	Email     string    `json:"email"`
	Role      string    `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) handleListInvitations(w http.ResponseWriter, r *http.Request, id *identity) {
	invs, err := s.svc.Invitations.ListInvitations(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]invitationJSON, 0, len(invs))
	now := s.now()
	for _, inv := range invs {
		if inv.Usable(now) {
			out = append(out, invitationJSON{ID: inv.ID, Email: inv.Email, Role: string(inv.Role), CreatedAt: inv.CreatedAt, ExpiresAt: inv.ExpiresAt})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"invitations": out})
}

func (s *Server) handleCreateInvitation(w http.ResponseWriter, r *http.Request, id *identity) {
	var req struct {
		Email string `json:"email"`
		Role  string `json:"role"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	inv, link, err := s.createInvitation(r.Context(), id, req.Email, pmassist.Role(req.Role))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": inv.ID, "invite_url": link, "expires_at": inv.ExpiresAt})
}

func (s *Server) handleRevokeInvitation(w http.ResponseWriter, r *http.Request, id *identity) {
	if err := s.revokeInvitation(r.Context(), id, mux.Vars(r)["id"]); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleAcceptInvitation(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	u, t, err := s.acceptInvitation(r.Context(), clientIP(r), mux.Vars(r)["token"], req.Name, req.Password)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": toUserJSON(u), "tenant": toTenantJSON(t)})
}
