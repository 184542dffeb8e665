package server

import (
	"net/http"
	"slices"
	"strings"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/ui"
)

func (s *Server) registerBillingPages(r *mux.Router) {
	r.HandleFunc("/billing", s.member(pmassist.RoleMember, s.pageBilling)).Methods(http.MethodGet)
	r.HandleFunc("/billing/checkout", s.member(pmassist.RoleOwner, s.postCheckout)).Methods(http.MethodPost)
	r.HandleFunc("/billing/portal", s.member(pmassist.RoleOwner, s.postPortal)).Methods(http.MethodPost)
}

// featureText describes a plan feature on the Billing page.
var featureText = map[pmassist.Feature]string{
	pmassist.FeatureScheduledWorkflows: "Scheduled daily standups",
	pmassist.FeatureDelivery:           "Standup delivery to Slack and email",
	pmassist.FeatureOwnOAuthApps:       "Your own Slack, Linear and GitHub OAuth apps",
	pmassist.FeatureCustomRules:        "Your own decision detection phrases",
	pmassist.FeatureAuditExport:        "Audit log export",
}

func planName(t pmassist.Tier) string {
	if t == "" {
		return ""
	}
	return strings.ToUpper(string(t[:1])) + string(t[1:])
}

func (s *Server) billingPage(w http.ResponseWriter, r *http.Request, id *identity) (*ui.BillingPage, error) {
	info, err := s.billingInfo(r, id)
	if err != nil {
		return nil, err
	}
	u, err := s.usage(r.Context(), id.tenant)
	if err != nil {
		return nil, err
	}
	conns, err := s.svc.Connections.ListConnections(r.Context())
	if err != nil {
		return nil, err
	}
	st := info.State
	page := &ui.BillingPage{Layout: s.layout(w, r, id, "Billing", "billing"), Enabled: info.Enabled,
		IsOwner: id.role.AtLeast(pmassist.RoleOwner), Tier: string(info.Tier), Status: st.Status,
		CancelAtPeriodEnd: st.CancelAtPeriodEnd, HasSubscription: st.HasLiveSubscription() || (info.Enabled && st.CustomerID != ""),
		ItemsUsed: u.ItemsIngested, ItemsLimit: pmassist.PlanFor(info.Tier).ItemsPerMonth,
		IntegrationsUsed: u.Integrations, IntegrationsLimit: pmassist.PlanFor(info.Tier).Integrations,
		RatePerMinute: pmassist.PlanFor(info.Tier).RateLimitPerMinute, Period: u.Period}
	if page.Status == "" {
		page.Status = pmassist.SubscriptionNone
	}
	// This page says itself what the billing banners of other pages say.
	page.Banners = slices.DeleteFunc(page.Banners, func(b ui.Banner) bool { return b.Href == "/billing" })
	if st.CurrentPeriodEnd != nil {
		page.CurrentPeriodEnd = st.CurrentPeriodEnd.Format("January 2, 2006")
	}
	if st.GraceUntil != nil {
		page.GraceUntil = st.GraceUntil.Format("January 2, 2006")
	}
	for _, c := range conns {
		if c.Paused {
			page.PausedConnections++
		}
	}
	can := map[pmassist.Tier]bool{}
	for _, t := range info.CanCheckout {
		can[t] = true
	}
	for _, p := range pmassist.Plans {
		card := ui.PlanCard{Tier: string(p.Tier), Name: planName(p.Tier), PriceUSD: p.PriceUSD, Integrations: p.Integrations,
			ItemsPerMonth: p.ItemsPerMonth, RatePerMinute: p.RateLimitPerMinute, Current: p.Tier == info.Tier, CanUpgrade: can[p.Tier]}
		for _, f := range p.Features {
			card.Features = append(card.Features, featureText[f])
		}
		page.Plans = append(page.Plans, card)
	}
	switch r.URL.Query().Get("checkout") {
	case "success":
		if page.Flash == "" {
			page.Flash = "Thank you! Your plan changes as soon as Stripe confirms the payment (usually within seconds); reload this page to see it."
		}
	case "canceled":
		if page.Flash == "" {
			page.Flash = "Checkout canceled; nothing was charged."
		}
	}
	return page, nil
}

// billingPageCSP is the policy of the Billing page: its Upgrade, Manage
// billing and Update payment method forms post to the appliance, which
// answers with a redirect to Stripe's hosted pages (checkout.stripe.com,
// billing.stripe.com, or a custom domain). Browsers apply form-action to
// such redirects, so with the pages' usual form-action 'self' the browser
// cancels the navigation and the owner cannot pay. This page alone lets
// its forms end on another https origin.
var billingPageCSP = strings.Replace(contentSecurityPolicy, "form-action 'self'", "form-action 'self' https:", 1)

func (s *Server) pageBilling(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.billingPage(w, r, id)
	if err == nil {
		w.Header().Set("Content-Security-Policy", billingPageCSP)
	}
	s.show(w, r, "billing", page, err)
}

// postCheckout sends the owner to Stripe Checkout.
func (s *Server) postCheckout(w http.ResponseWriter, r *http.Request, id *identity) {
	if s.svc.Billing == nil {
		s.redirectFlash(w, r, "/billing", "", errNoBilling)
		return
	}
	url, err := s.svc.Billing.Checkout(r.Context(), pmassist.Tier(r.PostFormValue("tier")), id.user)
	if err != nil {
		s.redirectFlash(w, r, "/billing", "", err)
		return
	}
	http.Redirect(w, r, url, http.StatusSeeOther)
}

// postPortal sends the owner to Stripe's customer portal.
func (s *Server) postPortal(w http.ResponseWriter, r *http.Request, id *identity) {
	if s.svc.Billing == nil {
		s.redirectFlash(w, r, "/billing", "", errNoBilling)
		return
	}
	url, err := s.svc.Billing.Portal(r.Context())
	if err != nil {
		s.redirectFlash(w, r, "/billing", "", err)
		return
	}
	http.Redirect(w, r, url, http.StatusSeeOther)
}
