package server

import (
	"context"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/ui"
)

// Pages work without JavaScript: forms POST, then redirect with a one-line
// flash message, or re-render with the field errors and the values kept.

const (
	flashCookie = "pmassist_flash"
	// anonCSRFCookie holds the double-submit CSRF token of the anonymous
	// forms (setup, login, sign-up, invitation), which have no session yet.
	anonCSRFCookie = "pmassist_csrf"
)

func (s *Server) registerPageRoutes(r *mux.Router) {
	r.PathPrefix("/static/").Handler(s.templates.StaticHandler()).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/setup", s.pageSetup).Methods(http.MethodGet)
	r.HandleFunc("/setup", s.postSetup).Methods(http.MethodPost)
	r.HandleFunc("/login", s.pageLogin).Methods(http.MethodGet)
	r.HandleFunc("/login", s.postLogin).Methods(http.MethodPost)
	r.HandleFunc("/signup", s.pageSignup).Methods(http.MethodGet)
	r.HandleFunc("/signup", s.postSignup).Methods(http.MethodPost)
	r.HandleFunc("/invite/{token}", s.pageInvite).Methods(http.MethodGet)
	r.HandleFunc("/invite/{token}", s.postInvite).Methods(http.MethodPost)
	r.HandleFunc("/logout", s.user(s.postLogout)).Methods(http.MethodPost)
	r.HandleFunc("/switch-tenant", s.user(s.postSwitchTenant)).Methods(http.MethodPost)

	r.HandleFunc("/", s.user(s.pageDashboard)).Methods(http.MethodGet)
	r.HandleFunc("/members", s.member(pmassist.RoleMember, s.pageMembers)).Methods(http.MethodGet)
	r.HandleFunc("/members/invite", s.member(pmassist.RoleAdmin, s.postInvitation)).Methods(http.MethodPost)
	r.HandleFunc("/members/{user_id}/role", s.member(pmassist.RoleAdmin, s.postMemberRole)).Methods(http.MethodPost)
	r.HandleFunc("/members/{user_id}/remove", s.member(pmassist.RoleMember, s.postRemoveMember)).Methods(http.MethodPost)
	r.HandleFunc("/invitations/{id}/revoke", s.member(pmassist.RoleAdmin, s.postRevokeInvitation)).Methods(http.MethodPost)
	r.HandleFunc("/tokens", s.member(pmassist.RoleMember, s.pageTokens)).Methods(http.MethodGet)
	r.HandleFunc("/tokens", s.member(pmassist.RoleMember, s.postToken)).Methods(http.MethodPost)
	r.HandleFunc("/tokens/{id}/revoke", s.member(pmassist.RoleMember, s.postRevokeToken)).Methods(http.MethodPost)
	r.HandleFunc("/operator/tenants", s.operator(s.pageOperatorTenants)).Methods(http.MethodGet)
	r.HandleFunc("/operator/tenants", s.operator(s.postOperatorTenant)).Methods(http.MethodPost)
	r.HandleFunc("/operator/tenants/{id}", s.operator(s.postOperatorUpdateTenant)).Methods(http.MethodPost)
	s.registerOperatorPages(r)
	s.registerIntegrationPages(r)
	s.registerIngestionPages(r)
	s.registerDecisionPages(r)
	s.registerStandupPages(r)
	s.registerBillingPages(r)
	s.registerAuditPages(r)
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	if err := s.templates.Render(w, status, page, data); err != nil {
		s.logger.ErrorContext(r.Context(), "rendering page failed", "page", page, "error", err,
			"request_id", requestID(r.Context()))
	}
}

// show renders a page that a builder made, or the builder's error.
func (s *Server) show(w http.ResponseWriter, r *http.Request, name string, page any, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, name, page)
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, heading, message string) {
	s.render(w, r, status, "error", ui.ErrorPage{
		Layout: ui.Layout{Title: heading}, Status: status, Heading: heading, Message: message,
		BackHref: "/", BackText: "Back to the dashboard",
	})
}

// setFlash leaves a message for the next page; errors start with "!".
func (s *Server) setFlash(w http.ResponseWriter, msg string, isErr bool) {
	if isErr {
		msg = "!" + msg
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: url.QueryEscape(msg), Path: "/", MaxAge: 60,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
}

func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request) (msg, errMsg string) {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return "", ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	v, err := url.QueryUnescape(c.Value)
	if err != nil || len(v) > 300 {
		return "", ""
	}
	if strings.HasPrefix(v, "!") {
		return "", v[1:]
	}
	return v, ""
}

func (s *Server) redirectFlash(w http.ResponseWriter, r *http.Request, to, msg string, err error) {
	switch {
	case err != nil:
		s.setFlash(w, pmassist.ErrorMessage(err), true)
		if pmassist.ErrorCode(err) == pmassist.EINTERNAL {
			s.logger.ErrorContext(r.Context(), "page action failed", "error", err, "request_id", requestID(r.Context()))
		}
	case msg != "":
		s.setFlash(w, msg, false)
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
}

// anonCSRF returns the anonymous forms' CSRF token, setting its cookie if
// the browser has none yet.
func (s *Server) anonCSRF(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(anonCSRFCookie); err == nil && len(c.Value) >= 32 {
		return c.Value
	}
	tok := randomToken(32)
	http.SetCookie(w, &http.Cookie{Name: anonCSRFCookie, Value: tok, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode})
	return tok
}

// checkAnonCSRF compares the form's token with the cookie in constant time.
func (s *Server) checkAnonCSRF(w http.ResponseWriter, r *http.Request) bool {
	c, err := r.Cookie(anonCSRFCookie)
	form := r.PostFormValue("csrf_token")
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) != 1 {
		s.renderError(w, r, http.StatusForbidden, "Form expired",
			"This form is missing its security token (cookies may be blocked). Go back, reload the page and try again.")
		return false
	}
	return true
}

func navItems() []ui.NavItem {
	return []ui.NavItem{
		{Key: "dashboard", Label: "Dashboard", Href: "/"},
		{Key: "decisions", Label: "Decisions", Href: "/decisions"},
		{Key: "search", Label: "Search", Href: "/search"},
		{Key: "standups", Label: "Standups", Href: "/standups"},
		{Key: "integrations", Label: "Integrations", Href: "/integrations"},
		{Key: "settings", Label: "Settings", Href: "/settings"},
		{Key: "members", Label: "Members", Href: "/members"},
		{Key: "people", Label: "People", Href: "/people"},
		{Key: "tokens", Label: "API tokens", Href: "/tokens"},
		{Key: "billing", Label: "Billing", Href: "/billing"},
		{Key: "audit", Label: "Audit log", Href: "/audit"},
	}
}

// layout fills the frame of a signed-in page.
func (s *Server) layout(w http.ResponseWriter, r *http.Request, id *identity, title, active string) ui.Layout {
	l := ui.Layout{Title: title, Active: active, UserName: id.user.Name, UserEmail: id.user.Email,
		Operator: id.user.Operator, Nav: navFor(id)}
	l.Flash, l.FlashErr = s.takeFlash(w, r)
	if id.session != nil {
		l.CSRFToken = id.session.CSRFToken
	}
	if id.tenant != nil {
		l.TenantName, l.Role = id.tenant.Name, string(id.role)
		if id.tenant.Suspended {
			l.Banners = append(l.Banners, ui.Banner{Kind: "error",
				Text: "This tenant is suspended: its data is kept but cannot be used. Contact the operator of this appliance."})
		}
		l.Banners = append(l.Banners, s.billingBanners(r.Context(), id)...)
		l.Banners = append(l.Banners, s.connectionBanners(r.Context(), id)...)
	}
	if uts, err := s.svc.Members.ListUserTenants(r.Context(), id.user.ID); err == nil {
		for _, ut := range uts {
			l.Tenants = append(l.Tenants, ui.TenantOption{ID: ut.Tenant.ID, Name: ut.Tenant.Name, Role: string(ut.Role),
				Current: ut.Tenant.ID == id.tenantID()})
		}
	}
	return l
}

// connectionBanners warns on every page about connections that need the
// user: reconnecting a revoked grant, or a provider that keeps failing.
func (s *Server) connectionBanners(ctx context.Context, id *identity) []ui.Banner {
	conns, err := s.svc.Connections.ListConnections(pmassist.NewContextWithTenant(ctx, id.tenant.ID))
	if err != nil {
		s.logger.ErrorContext(ctx, "listing connections for banners failed", "error", err)
		return nil
	}
	var out []ui.Banner
	paused := 0
	for _, c := range conns {
		if c.Paused {
			paused++
			continue
		}
		if c.Status == pmassist.ConnectionNeedsReauth {
			b := ui.Banner{Kind: "warn", Text: fmt.Sprintf("The %s connection to %s needs reconnecting: %s", c.Service.Title(), c.WorkspaceName, c.LastRefreshError)}
			if id.role.AtLeast(pmassist.RoleAdmin) {
				b.LinkText, b.Href = "Reconnect", connectHref(c.Service)
			} else {
				b.Text += " Ask an owner or admin to reconnect it."
			}
			out = append(out, b)
		}
	}
	if paused > 0 {
		out = append(out, ui.Banner{Kind: "warn", Text: fmt.Sprintf("%d connection(s) are paused because the %s plan allows %d integration(s); nothing was deleted.",
			paused, id.tenant.Tier, pmassist.PlanFor(id.tenant.Tier).Integrations), LinkText: "See plans", Href: "/billing"})
	}
	return out
}

// billingBanners warns on every page while a failed payment's grace period
// runs.
func (s *Server) billingBanners(ctx context.Context, id *identity) []ui.Banner {
	if s.svc.Billing == nil || !s.svc.Billing.Enabled() {
		return nil
	}
	info, err := s.svc.Billing.Info(pmassist.NewContextWithTenant(ctx, id.tenant.ID))
	if err != nil {
		s.logger.ErrorContext(ctx, "reading billing for banners failed", "error", err)
		return nil
	}
	if info.State.GraceUntil == nil {
		return nil
	}
	b := ui.Banner{Kind: "error", Text: fmt.Sprintf("The last payment failed. The %s plan stays active until %s; after that this tenant falls back to free.",
		info.State.SubscribedTier, info.State.GraceUntil.Format("January 2, 2006"))}
	if id.role.AtLeast(pmassist.RoleOwner) {
		b.LinkText, b.Href = "Update payment method", "/billing"
	} else {
		b.Text += " Ask an owner to update the payment method."
	}
	return []ui.Banner{b}
}

// safeNext keeps a post-login redirect on this site: a path, never a URL
// with a host, a scheme or a protocol-relative "//".
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

func fieldErrors(err error) ui.FormErrors {
	if f := pmassist.ErrorFields(err); f != nil {
		return ui.FormErrors(f)
	}
	return nil
}

// formStatus is the status of a re-rendered form: 400 for field errors,
// else the error's own.
func formStatus(err error) int { return ErrorStatusCode(pmassist.ErrorCode(err)) }

func (s *Server) usersExist(ctx context.Context) (bool, error) {
	n, err := s.svc.Users.CountUsers(ctx)
	return n > 0, err
}

func (s *Server) pageSetup(w http.ResponseWriter, r *http.Request) {
	if done, err := s.usersExist(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	} else if done {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	s.render(w, r, http.StatusOK, "setup", ui.SetupPage{Layout: ui.Layout{Title: "Set up PM Assistant", CSRFToken: s.anonCSRF(w, r)}})
}

func (s *Server) postSetup(w http.ResponseWriter, r *http.Request) {
	if !s.checkAnonCSRF(w, r) {
		return
	}
	f := accountForm{Email: r.PostFormValue("email"), Password: r.PostFormValue("password"),
		Name: r.PostFormValue("name"), TenantName: r.PostFormValue("tenant_name")}
	u, t, err := s.setup(r.Context(), f)
	if pmassist.ErrorCode(err) == pmassist.ECONFLICT {
		s.redirectFlash(w, r, "/login", "", err)
		return
	}
	if err != nil {
		page := ui.SetupPage{Layout: ui.Layout{Title: "Set up PM Assistant", CSRFToken: s.anonCSRF(w, r)},
			Email: f.Email, Name: f.Name, TenantName: f.TenantName, Errors: fieldErrors(err)}
		if page.Errors == nil {
			page.FlashErr = pmassist.ErrorMessage(err)
		}
		s.render(w, r, formStatus(err), "setup", page)
		return
	}
	if _, err := s.startSession(w, r, u); err != nil {
		s.fail(w, r, err)
		return
	}
	s.redirectFlash(w, r, "/", "Welcome! "+t.Name+" is ready. You are its owner and this appliance's operator.", nil)
}

func (s *Server) pageLogin(w http.ResponseWriter, r *http.Request) {
	if done, err := s.usersExist(r.Context()); err != nil {
		s.fail(w, r, err)
		return
	} else if !done {
		http.Redirect(w, r, "/setup", http.StatusSeeOther)
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	if authFrom(r.Context()).id != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	page := ui.LoginPage{Layout: ui.Layout{Title: "Sign in", CSRFToken: s.anonCSRF(w, r)}, Next: next,
		SignupOpen: s.cfg.SignupMode == SignupOpen}
	page.Flash, page.FlashErr = s.takeFlash(w, r)
	s.render(w, r, http.StatusOK, "login", page)
}

func (s *Server) postLogin(w http.ResponseWriter, r *http.Request) {
	if !s.checkAnonCSRF(w, r) {
		return
	}
	email, next := r.PostFormValue("email"), safeNext(r.PostFormValue("next"))
	u, err := s.checkLogin(r.Context(), clientIP(r), email, r.PostFormValue("password"))
	if err == nil {
		_, err = s.startSession(w, r, u)
	}
	if err != nil {
		setRetryAfter(w, err)
		if pmassist.ErrorCode(err) == pmassist.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		page := ui.LoginPage{Layout: ui.Layout{Title: "Sign in", CSRFToken: s.anonCSRF(w, r), FlashErr: pmassist.ErrorMessage(err)},
			Email: email, Next: next, SignupOpen: s.cfg.SignupMode == SignupOpen}
		s.render(w, r, formStatus(err), "login", page)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (s *Server) pageSignup(w http.ResponseWriter, r *http.Request) {
	if s.cfg.SignupMode != SignupOpen {
		s.renderError(w, r, http.StatusForbidden, "Sign-up is not open", "Ask a tenant owner for an invitation.")
		return
	}
	s.render(w, r, http.StatusOK, "signup", ui.SignupPage{Layout: ui.Layout{Title: "Create an account", CSRFToken: s.anonCSRF(w, r)}})
}

func (s *Server) postSignup(w http.ResponseWriter, r *http.Request) {
	if !s.checkAnonCSRF(w, r) {
		return
	}
	f := accountForm{Email: r.PostFormValue("email"), Password: r.PostFormValue("password"),
		Name: r.PostFormValue("name"), TenantName: r.PostFormValue("tenant_name")}
	u, t, err := s.signup(r.Context(), f)
	if err == nil {
		_, err = s.startSession(w, r, u)
	}
	if err != nil {
		if code := pmassist.ErrorCode(err); code == pmassist.EINTERNAL || code == pmassist.EFORBIDDEN {
			s.fail(w, r, err)
			return
		}
		page := ui.SignupPage{Layout: ui.Layout{Title: "Create an account", CSRFToken: s.anonCSRF(w, r)},
			Email: f.Email, Name: f.Name, TenantName: f.TenantName, Errors: fieldErrors(err)}
		if page.Errors == nil {
			page.FlashErr = pmassist.ErrorMessage(err)
		}
		s.render(w, r, formStatus(err), "signup", page)
		return
	}
	s.redirectFlash(w, r, "/", "Welcome! "+t.Name+" is ready.", nil)
}

func (s *Server) invitePage(w http.ResponseWriter, r *http.Request, secret string) (*ui.InvitePage, bool) {
	inv, err := s.svc.Invitations.FindInvitationByHash(r.Context(), hashSecret(secret), s.now())
	if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
		s.renderError(w, r, http.StatusNotFound, "Invitation not valid",
			"This invitation is unknown, has been used, or has expired. Ask for a new one.")
		return nil, false
	} else if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	t, err := s.svc.Tenants.FindTenantByID(r.Context(), inv.TenantID)
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	_, uerr := s.svc.Users.FindUserByEmail(r.Context(), inv.Email)
	return &ui.InvitePage{Layout: ui.Layout{Title: "Join " + t.Name, CSRFToken: s.anonCSRF(w, r)},
		Token: secret, TenantName: t.Name, Email: inv.Email, Role: string(inv.Role), ExistingUser: uerr == nil}, true
}

func (s *Server) pageInvite(w http.ResponseWriter, r *http.Request) {
	if page, ok := s.invitePage(w, r, mux.Vars(r)["token"]); ok {
		s.render(w, r, http.StatusOK, "invite", page)
	}
}

func (s *Server) postInvite(w http.ResponseWriter, r *http.Request) {
	if !s.checkAnonCSRF(w, r) {
		return
	}
	secret := mux.Vars(r)["token"]
	page, ok := s.invitePage(w, r, secret)
	if !ok {
		return
	}
	u, t, err := s.acceptInvitation(r.Context(), clientIP(r), secret, r.PostFormValue("name"), r.PostFormValue("password"))
	if err == nil {
		_, err = s.startSession(w, r, u)
	}
	if err != nil {
		if pmassist.ErrorCode(err) == pmassist.EINTERNAL {
			s.fail(w, r, err)
			return
		}
		setRetryAfter(w, err)
		page.Name, page.Errors = r.PostFormValue("name"), fieldErrors(err)
		if page.Errors == nil {
			page.FlashErr = pmassist.ErrorMessage(err)
		}
		s.render(w, r, formStatus(err), "invite", page)
		return
	}
	s.redirectFlash(w, r, "/", "You joined "+t.Name+".", nil)
}

func (s *Server) postLogout(w http.ResponseWriter, r *http.Request, id *identity) {
	if err := s.endSession(w, r, id); err != nil {
		s.fail(w, r, err)
		return
	}
	s.redirectFlash(w, r, "/login", "You have been signed out.", nil)
}

func (s *Server) postSwitchTenant(w http.ResponseWriter, r *http.Request, id *identity) {
	err := s.switchTenant(r.Context(), id, r.PostFormValue("tenant_id"))
	s.redirectFlash(w, r, "/", "", err)
}

func (s *Server) pageDashboard(w http.ResponseWriter, r *http.Request, id *identity) {
	page := ui.DashboardPage{Layout: s.layout(w, r, id, "Dashboard", "dashboard")}
	if id.tenant != nil {
		n, err := s.svc.Tenants.CountMembers(r.Context(), id.tenant.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		tctx := pmassist.NewContextWithTenant(r.Context(), id.tenant.ID)
		rows, err := s.connectionRows(tctx)
		if err == nil {
			err = s.withLastJobs(tctx, rows)
		}
		if err == nil {
			page.Activity, err = s.activity(tctx)
		}
		if err == nil {
			page.RecentDecisions, err = s.recentDecisions(tctx)
		}
		var u usageJSON
		if err == nil {
			u, err = s.usage(r.Context(), id.tenant)
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
		page.ItemsUsed = u.ItemsIngested
		p := pmassist.PlanFor(id.tenant.Tier)
		page.MemberCount, page.Tier, page.Connections = n, string(id.tenant.Tier), rows
		page.ItemsLimit, page.IntegrationsLimit, page.IntegrationsUsed = p.ItemsPerMonth, p.Integrations, len(rows)
	} else {
		page.Banners = append(page.Banners, ui.Banner{Kind: "info",
			Text: "You are not a member of any tenant yet. Ask an owner for an invitation."})
	}
	s.render(w, r, http.StatusOK, "dashboard", page)
}

func (s *Server) membersPage(w http.ResponseWriter, r *http.Request, id *identity) (*ui.MembersPage, error) {
	members, err := s.svc.Members.ListMembers(r.Context())
	if err != nil {
		return nil, err
	}
	page := &ui.MembersPage{Layout: s.layout(w, r, id, "Members", "members"),
		CanManage: id.role.AtLeast(pmassist.RoleAdmin), CanManageOwners: id.role == pmassist.RoleOwner, InviteRole: "member"}
	for _, m := range members {
		page.Members = append(page.Members, ui.MemberRow{UserID: m.UserID, Name: m.Name, Email: m.Email,
			Role: string(m.Role), JoinedAt: m.JoinedAt, IsSelf: m.UserID == id.user.ID})
	}
	if page.CanManage {
		invs, err := s.svc.Invitations.ListInvitations(r.Context())
		if err != nil {
			return nil, err
		}
		now := s.now()
		for _, inv := range invs {
			if inv.Usable(now) {
				page.Invitations = append(page.Invitations, ui.InvitationRow{ID: inv.ID, Email: inv.Email, Role: string(inv.Role), ExpiresAt: inv.ExpiresAt})
			}
		}
	}
	return page, nil
}

func (s *Server) pageMembers(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.membersPage(w, r, id)
	s.show(w, r, "members", page, err)
}

func (s *Server) postInvitation(w http.ResponseWriter, r *http.Request, id *identity) {
	email, role := r.PostFormValue("email"), r.PostFormValue("role")
	_, link, err := s.createInvitation(r.Context(), id, email, pmassist.Role(role))
	page, perr := s.membersPage(w, r, id)
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	status := http.StatusOK
	if err != nil {
		status = formStatus(err)
		page.InviteEmail, page.InviteRole, page.Errors = email, role, fieldErrors(err)
		if page.Errors == nil {
			page.FlashErr = pmassist.ErrorMessage(err)
		}
	} else {
		page.InviteURL = link
		page.Flash = "Invitation created for " + pmassist.NormalizeEmail(email) + ". Send them this link; it works once, for 7 days."
	}
	s.render(w, r, status, "members", page)
}

func (s *Server) postMemberRole(w http.ResponseWriter, r *http.Request, id *identity) {
	m, err := s.updateRole(r.Context(), id, mux.Vars(r)["user_id"], pmassist.Role(r.PostFormValue("role")))
	msg := ""
	if err == nil {
		msg = m.Email + " is now " + string(m.Role) + "."
	}
	s.redirectFlash(w, r, "/members", msg, err)
}

func (s *Server) postRemoveMember(w http.ResponseWriter, r *http.Request, id *identity) {
	userID := mux.Vars(r)["user_id"]
	err := s.removeMember(r.Context(), id, userID)
	switch {
	case err == nil && userID == id.user.ID:
		s.redirectFlash(w, r, "/", "You left "+id.tenant.Name+".", nil)
	case err == nil:
		s.redirectFlash(w, r, "/members", "Member removed.", nil)
	default:
		s.redirectFlash(w, r, "/members", "", err)
	}
}

func (s *Server) postRevokeInvitation(w http.ResponseWriter, r *http.Request, id *identity) {
	err := s.revokeInvitation(r.Context(), id, mux.Vars(r)["id"])
	s.redirectFlash(w, r, "/members", "Invitation revoked.", err)
}

func (s *Server) tokensPage(w http.ResponseWriter, r *http.Request, id *identity) (*ui.TokensPage, error) {
	tokens, err := s.svc.Tokens.ListAPITokens(r.Context(), id.user.ID)
	if err != nil {
		return nil, err
	}
	page := &ui.TokensPage{Layout: s.layout(w, r, id, "API tokens", "tokens")}
	for _, t := range tokens {
		page.Tokens = append(page.Tokens, ui.TokenRow{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt})
	}
	return page, nil
}

func (s *Server) pageTokens(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.tokensPage(w, r, id)
	s.show(w, r, "tokens", page, err)
}

func (s *Server) postToken(w http.ResponseWriter, r *http.Request, id *identity) {
	name := r.PostFormValue("name")
	t, secret, err := s.createToken(r.Context(), id, name)
	page, perr := s.tokensPage(w, r, id)
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	status := http.StatusOK
	if err != nil {
		status = formStatus(err)
		page.Name, page.Errors = name, fieldErrors(err)
		if page.Errors == nil {
			page.FlashErr = pmassist.ErrorMessage(err)
		}
	} else {
		page.NewToken, page.NewTokenName = secret, t.Name
	}
	s.render(w, r, status, "tokens", page)
}

func (s *Server) postRevokeToken(w http.ResponseWriter, r *http.Request, id *identity) {
	err := s.deleteToken(r.Context(), id, mux.Vars(r)["id"])
	s.redirectFlash(w, r, "/tokens", "Token revoked; programs using it can no longer sign in.", err)
}

func (s *Server) operatorTenantsPage(w http.ResponseWriter, r *http.Request, id *identity) (*ui.OperatorTenantsPage, error) {
	rows, err := s.adminTenants(r.Context())
	if err != nil {
		return nil, err
	}
	page := &ui.OperatorTenantsPage{Layout: s.layout(w, r, id, "Tenants", "operator_tenants")}
	for _, p := range pmassist.Plans {
		page.Tiers = append(page.Tiers, string(p.Tier))
	}
	page.Form.Tier = string(s.cfg.DefaultTier)
	for _, t := range rows {
		page.Tenants = append(page.Tenants, ui.TenantRow{ID: t.ID, Name: t.Name, Tier: t.Tier,
			SubscriptionStatus: t.SubscriptionStatus, Suspended: t.Suspended, Members: t.Members, CreatedAt: t.CreatedAt,
			ItemsUsed: t.Usage.ItemsIngested, ItemsLimit: pageLimit(t.Usage.ItemsLimit),
			IntegrationsUsed: t.Usage.Integrations, IntegrationsLimit: pageLimit(t.Usage.IntegrationsLimit)})
	}
	return page, nil
}

func (s *Server) pageOperatorTenants(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.operatorTenantsPage(w, r, id)
	s.show(w, r, "operator_tenants", page, err)
}

func (s *Server) postOperatorTenant(w http.ResponseWriter, r *http.Request, id *identity) {
	f := newTenantForm{Name: r.PostFormValue("name"), OwnerEmail: r.PostFormValue("owner_email"),
		OwnerName: r.PostFormValue("owner_name"), OwnerPassword: r.PostFormValue("owner_password"), Tier: r.PostFormValue("tier")}
	t, _, err := s.adminCreateTenant(r.Context(), id, f)
	if err == nil {
		s.redirectFlash(w, r, "/operator/tenants", "Tenant "+t.Name+" created.", nil)
		return
	}
	page, perr := s.operatorTenantsPage(w, r, id)
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	page.Form.Name, page.Form.OwnerEmail, page.Form.OwnerName, page.Form.Tier = f.Name, f.OwnerEmail, f.OwnerName, f.Tier
	page.Errors = fieldErrors(err)
	if page.Errors == nil {
		page.FlashErr = pmassist.ErrorMessage(err)
	}
	s.render(w, r, formStatus(err), "operator_tenants", page)
}

func (s *Server) postOperatorUpdateTenant(w http.ResponseWriter, r *http.Request, id *identity) {
	tier := r.PostFormValue("tier")
	suspended := r.PostFormValue("suspended") != ""
	t, err := s.adminUpdateTenant(r.Context(), id, mux.Vars(r)["id"], &tier, &suspended)
	msg := ""
	if err == nil {
		msg = "Saved " + t.Name + "."
	}
	s.redirectFlash(w, r, "/operator/tenants", msg, err)
}
