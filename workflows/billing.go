package workflows

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pmassist/pmassist"
)

// BillingConfig wires the billing workflow.
type BillingConfig struct {
	// Provider is Stripe; nil means billing is off (the on-prem case):
	// tenants keep the tier the operator gives them.
	Provider    pmassist.PaymentProvider
	Store       pmassist.BillingStore
	Tenants     pmassist.TenantService
	Connections pmassist.ConnectionService
	Audit       pmassist.AuditService
	// Planner re-plans schedules after a tier change; nil: none.
	Planner pmassist.Planner
	BaseURL string
	Now     func() time.Time
	Logger  *slog.Logger
}

// Billing sells tiers through Stripe and keeps every tenant's tier in step
// with its subscription (product.md §7):
//
//   - A webhook event is verified, then the subscription it names is read
//     again from Stripe; the event's own payload is never trusted for the
//     state, so events arriving twice or out of order (updated before
//     created) end in the same state. The change and the event id are
//     stored in one transaction, so an event is applied once.
//   - A failed payment starts a 7-day grace period with the paid tier; when
//     it ends unpaid, the tenant falls to free. A subscription canceled at
//     period end keeps its tier until the period ends.
//   - Whenever a tenant's tier changes (Stripe, grace end, the operator),
//     its connections are fitted to the plan: those over the integration
//     limit are paused, newest first, and resumed on upgrade. Nothing is
//     deleted.
type Billing struct {
	cfg    BillingConfig
	now    func() time.Time
	logger *slog.Logger
	// apply serializes re-reading a subscription and storing what was read,
	// so that of two events handled at once the later store holds the
	// fresher read. Stripe events are few; one lock is enough.
	apply sync.Mutex
}

var _ pmassist.BillingService = (*Billing)(nil)

// NewBilling returns the billing workflow.
func NewBilling(cfg BillingConfig) *Billing {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Billing{cfg: cfg, now: func() time.Time { return cfg.Now().UTC() }, logger: cfg.Logger}
}

// errBillingOff answers checkout and portal when Stripe is not configured.
var errBillingOff = pmassist.Errorf(pmassist.ECONFLICT,
	"billing is off on this appliance: plans are set by its operator, there is nothing to pay here")

// errNoChange aborts an UpdateBilling transaction that has nothing to write.
var errNoChange = errors.New("no change")

// Enabled reports whether Stripe is configured.
func (b *Billing) Enabled() bool { return b.cfg.Provider != nil }

// Info reports the context tenant's tier and subscription.
func (b *Billing) Info(ctx context.Context) (*pmassist.BillingInfo, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return nil, err
	}
	t, err := b.cfg.Tenants.FindTenantByID(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	st, err := b.cfg.Store.BillingState(ctx)
	if err != nil {
		return nil, err
	}
	info := &pmassist.BillingInfo{Enabled: b.Enabled(), Tier: t.Tier, State: *st}
	if b.Enabled() && !st.HasLiveSubscription() {
		for _, p := range pmassist.Plans {
			if p.Tier != pmassist.TierFree && p.Tier != t.Tier && b.cfg.Provider.PriceConfigured(p.Tier) {
				info.CanCheckout = append(info.CanCheckout, p.Tier)
			}
		}
	}
	return info, nil
}

// Checkout starts a Stripe Checkout for tier, creating the tenant's Stripe
// customer the first time.
func (b *Billing) Checkout(ctx context.Context, tier pmassist.Tier, owner *pmassist.User) (string, error) {
	if !b.Enabled() {
		return "", errBillingOff
	}
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return "", err
	}
	if tier != pmassist.TierPro && tier != pmassist.TierEnterprise {
		return "", pmassist.FieldError(map[string]string{"tier": "must be pro or enterprise"})
	}
	if !b.cfg.Provider.PriceConfigured(tier) {
		return "", pmassist.Errorf(pmassist.ECONFLICT, "the %s plan cannot be bought on this appliance (no Stripe price is configured for it)", tier)
	}
	t, err := b.cfg.Tenants.FindTenantByID(ctx, tenantID)
	if err != nil {
		return "", err
	}
	st, err := b.cfg.Store.BillingState(ctx)
	if err != nil {
		return "", err
	}
	if st.HasLiveSubscription() {
		return "", pmassist.Errorf(pmassist.ECONFLICT, "this tenant already has a subscription (%s); change the plan in the billing portal", st.SubscribedTier)
	}
	customer := st.CustomerID
	if customer == "" {
		email := ""
		if owner != nil {
			email = owner.Email
		}
		if customer, err = b.cfg.Provider.CreateCustomer(ctx, tenantID, t.Name, email); err != nil {
			return "", err
		}
		// Two checkouts started at once may both create a customer; the
		// first stored wins and the other is never used.
		if _, err := b.cfg.Store.UpdateBilling(ctx, "", func(_ *pmassist.Tenant, s *pmassist.BillingState) (*pmassist.AuditEvent, error) {
			if s.CustomerID != "" {
				customer = s.CustomerID
				return nil, errNoChange
			}
			s.CustomerID = customer
			return nil, nil
		}); err != nil && !errors.Is(err, errNoChange) {
			return "", err
		}
	}
	return b.cfg.Provider.CheckoutURL(ctx, pmassist.CheckoutRequest{
		TenantID: tenantID, CustomerID: customer, Tier: tier,
		SuccessURL: b.cfg.BaseURL + "/billing?checkout=success",
		CancelURL:  b.cfg.BaseURL + "/billing?checkout=canceled",
	})
}

// Portal returns a Stripe customer-portal URL for the context tenant.
func (b *Billing) Portal(ctx context.Context) (string, error) {
	if !b.Enabled() {
		return "", errBillingOff
	}
	st, err := b.cfg.Store.BillingState(ctx)
	if err != nil {
		return "", err
	}
	if st.CustomerID == "" {
		return "", pmassist.Errorf(pmassist.ECONFLICT, "this tenant has no Stripe customer yet: upgrade first")
	}
	return b.cfg.Provider.PortalURL(ctx, st.CustomerID, b.cfg.BaseURL+"/billing")
}

// HandleWebhook verifies a Stripe event and applies it once.
func (b *Billing) HandleWebhook(ctx context.Context, payload []byte, signature string) error {
	if !b.Enabled() {
		return pmassist.Errorf(pmassist.ENOTFOUND, "billing is off on this appliance")
	}
	ev, err := b.cfg.Provider.ParseWebhook(payload, signature)
	if err != nil {
		return err
	}
	log := b.logger.With("event_id", ev.ID, "event_type", ev.Type)
	switch ev.Type {
	case pmassist.EventCheckoutCompleted, pmassist.EventSubscriptionCreated, pmassist.EventSubscriptionUpdated,
		pmassist.EventSubscriptionDeleted, pmassist.EventInvoicePaid, pmassist.EventInvoicePaymentFail:
	default:
		log.DebugContext(ctx, "stripe event ignored: not a type we handle")
		return nil
	}
	tenantID, err := b.tenantOf(ctx, ev)
	if err != nil {
		return err
	}
	if tenantID == "" {
		log.InfoContext(ctx, "stripe event for no tenant of this appliance ignored", "customer", ev.CustomerID)
		_, err := b.cfg.Store.RecordBillingEvent(ctx, ev.ID)
		return err
	}
	tctx := pmassist.NewContextWithTenant(ctx, tenantID)
	b.apply.Lock()
	defer b.apply.Unlock()
	var sub *pmassist.SubscriptionInfo
	if ev.SubscriptionID != "" {
		sub, err = b.cfg.Provider.Subscription(ctx, ev.SubscriptionID)
		switch {
		case pmassist.ErrorCode(err) == pmassist.ENOTFOUND:
			sub = &pmassist.SubscriptionInfo{ID: ev.SubscriptionID, CustomerID: ev.CustomerID, Status: pmassist.StripeCanceled}
		case err != nil:
			// Not recorded: Stripe delivers the event again later.
			return err
		}
	}
	now := b.now()
	var from, to pmassist.Tier
	var status string
	applied, err := b.cfg.Store.UpdateBilling(tctx, ev.ID, func(t *pmassist.Tenant, st *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		if ev.CustomerID != "" && st.CustomerID == "" {
			st.CustomerID = ev.CustomerID
		}
		from, to, status = t.Tier, t.Tier, t.SubscriptionStatus
		if sub == nil {
			// An event without a subscription (a one-off invoice, a
			// checkout in another mode) tells nothing about the tier.
			return nil, nil
		}
		if !staleSubscription(st, sub) {
			st.Apply(sub, now)
		}
		ae := b.settle(t, st, now, "stripe", ev.Type)
		to, status = t.Tier, t.SubscriptionStatus
		return ae, nil
	})
	if err != nil {
		return err
	}
	if !applied {
		log.InfoContext(ctx, "stripe event already applied", "tenant_id", tenantID)
		return nil
	}
	log.InfoContext(ctx, "stripe event applied", "tenant_id", tenantID, "tier", to, "status", status)
	if from != to {
		return b.tierChanged(tctx, to)
	}
	return nil
}

// tenantOf finds the tenant an event is about: the tenant id we put into
// the checkout and the subscription (signed by Stripe, so trusted), else
// the customer we created for the tenant.
func (b *Billing) tenantOf(ctx context.Context, ev *pmassist.BillingEvent) (string, error) {
	if ev.TenantID != "" && pmassist.ValidID(ev.TenantID) {
		if _, err := b.cfg.Tenants.FindTenantByID(ctx, ev.TenantID); err == nil {
			return ev.TenantID, nil
		} else if pmassist.ErrorCode(err) != pmassist.ENOTFOUND {
			return "", err
		}
	}
	if ev.CustomerID == "" {
		return "", nil
	}
	return b.cfg.Store.TenantByCustomer(ctx, ev.CustomerID)
}

// staleSubscription reports whether sub is an ended subscription other than
// the tenant's live one (a late event about a replaced subscription must not
// undo the current one).
func staleSubscription(st *pmassist.BillingState, sub *pmassist.SubscriptionInfo) bool {
	if st.SubscriptionID == "" || st.SubscriptionID == sub.ID {
		return false
	}
	probe := pmassist.BillingState{SubscriptionID: sub.ID, Status: sub.Status}
	return st.HasLiveSubscription() && !probe.HasLiveSubscription()
}

// settle gives the tenant the tier its subscription grants now and returns
// the audit event of a change (nil when the tier stays).
func (b *Billing) settle(t *pmassist.Tenant, st *pmassist.BillingState, now time.Time, actor, reason string) *pmassist.AuditEvent {
	tier := st.EffectiveTier(now)
	st.AppliedTier = tier
	t.SubscriptionStatus = cmp.Or(st.Status, pmassist.SubscriptionNone)
	if t.Tier == tier {
		return nil
	}
	from := t.Tier
	t.Tier = tier
	details := map[string]string{"from": string(from), "to": string(tier), "reason": reason, "status": t.SubscriptionStatus}
	if st.GraceUntil != nil {
		details["grace_until"] = st.GraceUntil.Format(time.RFC3339)
	}
	return &pmassist.AuditEvent{At: now, Actor: actor, Action: pmassist.AuditTierChanged, Target: t.ID, Details: details}
}

// SetTier is the operator's change of a tenant's tier.
func (b *Billing) SetTier(ctx context.Context, tenantID string, tier pmassist.Tier, actor string) (*pmassist.Tenant, error) {
	if !tier.Valid() {
		return nil, pmassist.FieldError(map[string]string{"tier": "must be free, pro or enterprise"})
	}
	tctx := pmassist.NewContextWithTenant(ctx, tenantID)
	changed := false
	_, err := b.cfg.Store.UpdateBilling(tctx, "", func(t *pmassist.Tenant, _ *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		if t.Tier == tier {
			return nil, errNoChange
		}
		from := t.Tier
		t.Tier, changed = tier, true
		return &pmassist.AuditEvent{At: b.now(), ActorID: pmassist.UserIDFromContext(ctx), Actor: actor, Action: pmassist.AuditTierChanged,
			Target: tenantID, Details: map[string]string{"from": string(from), "to": string(tier), "reason": "operator"}}, nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return nil, err
	}
	if changed {
		if err := b.tierChanged(tctx, tier); err != nil {
			return nil, err
		}
	}
	return b.cfg.Tenants.FindTenantByID(ctx, tenantID)
}

// CheckExpiries moves tenants whose grace period, or canceled period, has
// ended to the tier their subscription grants now. Before a downgrade the
// subscription is read again, in case an event was missed; when Stripe
// cannot be reached, nothing changes until the next pass.
func (b *Billing) CheckExpiries(ctx context.Context) error {
	ids, err := b.cfg.Store.ListBilledTenants(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, id := range ids {
		if err := b.checkExpiry(pmassist.NewContextWithTenant(ctx, id)); err != nil {
			b.logger.ErrorContext(ctx, "billing: expiry check failed", "tenant_id", id, "error", err)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (b *Billing) checkExpiry(ctx context.Context) error {
	b.apply.Lock()
	defer b.apply.Unlock()
	st, err := b.cfg.Store.BillingState(ctx)
	if err != nil {
		return err
	}
	now := b.now()
	if st.EffectiveTier(now) == st.AppliedTier {
		return nil
	}
	var sub *pmassist.SubscriptionInfo
	if b.Enabled() && st.SubscriptionID != "" {
		sub, err = b.cfg.Provider.Subscription(ctx, st.SubscriptionID)
		switch {
		case pmassist.ErrorCode(err) == pmassist.ENOTFOUND:
			sub = &pmassist.SubscriptionInfo{ID: st.SubscriptionID, CustomerID: st.CustomerID, Status: pmassist.StripeCanceled}
		case err != nil:
			return err
		}
	}
	var tier pmassist.Tier
	changed := false
	_, err = b.cfg.Store.UpdateBilling(ctx, "", func(t *pmassist.Tenant, st *pmassist.BillingState) (*pmassist.AuditEvent, error) {
		if sub != nil {
			st.Apply(sub, now)
		}
		if st.EffectiveTier(now) == st.AppliedTier {
			return nil, errNoChange // someone else settled it meanwhile
		}
		ev := b.settle(t, st, now, "system", "expiry")
		tier, changed = t.Tier, ev != nil
		return ev, nil
	})
	if err != nil && !errors.Is(err, errNoChange) {
		return err
	}
	if changed {
		return b.tierChanged(ctx, tier)
	}
	return nil
}

// tierChanged fits the context tenant's connections to the new tier and
// re-plans its schedules.
func (b *Billing) tierChanged(ctx context.Context, tier pmassist.Tier) error {
	if err := b.FitConnections(ctx, tier); err != nil {
		return err
	}
	if b.cfg.Planner != nil {
		if err := b.cfg.Planner.Replan(ctx); err != nil {
			b.logger.ErrorContext(ctx, "billing: re-planning schedules failed", "error", err)
		}
	}
	return nil
}

// FitConnections pauses the context tenant's connections over tier's
// integration limit — the newest first, so the ones set up first keep
// working — and resumes paused ones that fit again.
func (b *Billing) FitConnections(ctx context.Context, tier pmassist.Tier) error {
	conns, err := b.cfg.Connections.ListConnections(ctx)
	if err != nil {
		return err
	}
	slices.SortFunc(conns, func(x, y *pmassist.Connection) int {
		return cmp.Or(x.ConnectedAt.Compare(y.ConnectedAt), cmp.Compare(x.ID, y.ID))
	})
	limit := pmassist.PlanFor(tier).Integrations
	for i, c := range conns {
		pause := limit != pmassist.Unlimited && i >= limit
		if c.Paused == pause {
			continue
		}
		if _, err := b.cfg.Connections.UpdateConnection(ctx, c.ID, pmassist.ConnectionUpdate{Paused: &pause}); err != nil {
			return err
		}
		action := pmassist.AuditConnectionResumed
		if pause {
			action = pmassist.AuditConnectionPaused
		}
		if err := b.cfg.Audit.CreateAuditEvent(ctx, &pmassist.AuditEvent{At: b.now(), Actor: "system", Action: action, Target: c.ID,
			Details: map[string]string{"service": string(c.Service), "workspace": c.WorkspaceName, "tier": string(tier)}}); err != nil {
			return err
		}
		b.logger.InfoContext(ctx, "connection fitted to plan", "connection_id", c.ID, "paused", pause, "tier", tier)
	}
	return nil
}
