package server

import (
	"io"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerBillingRoutes(r *mux.Router) {
	r.HandleFunc(v1+"/billing", s.member(pmassist.RoleMember, s.handleGetBilling)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/billing/checkout", s.member(pmassist.RoleOwner, s.handleCheckout)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/billing/portal", s.member(pmassist.RoleOwner, s.handlePortal)).Methods(http.MethodPost)
	// Before the providers' /webhooks/{service}: mux takes the first match.
	r.HandleFunc(v1+"/webhooks/stripe", s.handleStripeWebhook).Methods(http.MethodPost)
}

// planJSON is one row of the price list.
type planJSON struct {
	Tier     string     `json:"tier"`
	PriceUSD int        `json:"price_usd"`
	Limits   limitsJSON `json:"limits"`
	Features []string   `json:"features"`
}

type limitsJSON struct {
	Integrations       *int `json:"integrations"`    // null: unlimited
	ItemsPerMonth      *int `json:"items_per_month"` // null: unlimited
	APIRequestsPerMin  int  `json:"api_requests_per_minute"`
	ScheduledWorkflows bool `json:"scheduled_workflows"`
	Delivery           bool `json:"delivery"`
	OwnOAuthApps       bool `json:"own_oauth_apps"`
	CustomRules        bool `json:"custom_detection_rules"`
	AuditExport        bool `json:"audit_export"`
}

func plansJSON() []planJSON {
	out := make([]planJSON, 0, len(pmassist.Plans))
	for _, p := range pmassist.Plans {
		features := make([]string, 0, len(p.Features))
		for _, f := range p.Features {
			features = append(features, string(f))
		}
		out = append(out, planJSON{Tier: string(p.Tier), PriceUSD: p.PriceUSD, Features: features, Limits: limitsJSON{
			Integrations: limitJSON(p.Integrations), ItemsPerMonth: limitJSON(p.ItemsPerMonth), APIRequestsPerMin: p.RateLimitPerMinute,
			ScheduledWorkflows: p.Has(pmassist.FeatureScheduledWorkflows), Delivery: p.Has(pmassist.FeatureDelivery),
			OwnOAuthApps: p.Has(pmassist.FeatureOwnOAuthApps), CustomRules: p.Has(pmassist.FeatureCustomRules),
			AuditExport: p.Has(pmassist.FeatureAuditExport)}})
	}
	return out
}

// billingJSON is GET /api/v1/billing.
type billingJSON struct {
	Enabled           bool       `json:"billing_enabled"`
	Tier              string     `json:"tier"`
	Status            string     `json:"status"`
	SubscribedTier    string     `json:"subscribed_tier"`
	CurrentPeriodEnd  *time.Time `json:"current_period_end"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
	GraceUntil        *time.Time `json:"grace_until"`
	CanCheckout       []string   `json:"can_checkout"`
	Plans             []planJSON `json:"plans"`
	Usage             usageJSON  `json:"usage"`
}

// billingInfo reads what the billing endpoint and page show.
func (s *Server) billingInfo(r *http.Request, id *identity) (*pmassist.BillingInfo, error) {
	if s.svc.Billing == nil {
		return &pmassist.BillingInfo{Tier: id.tenant.Tier}, nil
	}
	return s.svc.Billing.Info(r.Context())
}

func (s *Server) handleGetBilling(w http.ResponseWriter, r *http.Request, id *identity) {
	info, err := s.billingInfo(r, id)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	u, err := s.usage(r.Context(), id.tenant)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	status := info.State.Status
	if status == "" {
		status = pmassist.SubscriptionNone
	}
	out := billingJSON{Enabled: info.Enabled, Tier: string(info.Tier), Status: status, SubscribedTier: string(info.State.SubscribedTier),
		CurrentPeriodEnd: info.State.CurrentPeriodEnd, CancelAtPeriodEnd: info.State.CancelAtPeriodEnd,
		GraceUntil: info.State.GraceUntil, CanCheckout: []string{}, Plans: plansJSON(), Usage: u}
	for _, t := range info.CanCheckout {
		out.CanCheckout = append(out.CanCheckout, string(t))
	}
	writeJSON(w, http.StatusOK, out)
}

// errNoBilling answers when no billing service is wired (some tests).
var errNoBilling = pmassist.Errorf(pmassist.ECONFLICT, "billing is off on this appliance: plans are set by its operator")

func (s *Server) handleCheckout(w http.ResponseWriter, r *http.Request, id *identity) {
	var req struct {
		Tier string `json:"tier"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.svc.Billing == nil {
		s.writeError(w, r, errNoBilling)
		return
	}
	url, err := s.svc.Billing.Checkout(r.Context(), pmassist.Tier(req.Tier), id.user)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": url})
}

func (s *Server) handlePortal(w http.ResponseWriter, r *http.Request, id *identity) {
	if s.svc.Billing == nil {
		s.writeError(w, r, errNoBilling)
		return
	}
	url, err := s.svc.Billing.Portal(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"url": url})
}

// handleStripeWebhook receives Stripe's events; the signature is the
// credential. An error makes Stripe deliver the event again later, so only
// a failure to apply it (not an event we ignore) answers one.
func (s *Server) handleStripeWebhook(w http.ResponseWriter, r *http.Request) {
	if s.svc.Billing == nil || !s.svc.Billing.Enabled() {
		s.writeError(w, r, pmassist.Errorf(pmassist.ENOTFOUND, "billing is off on this appliance"))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		s.writeError(w, r, jsonError(err))
		return
	}
	if err := s.svc.Billing.HandleWebhook(r.Context(), body, r.Header.Get("Stripe-Signature")); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"received": true})
}
