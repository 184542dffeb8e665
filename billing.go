package pmassist

import (
	"context"
	"time"
)

// GracePeriod is how long a tenant whose payment failed keeps its paid tier
// (product.md §7).
const GracePeriod = 7 * 24 * time.Hour

// Stripe subscription statuses that matter to the tier (providers.md).
const (
	StripeActive            = "active"
	StripeTrialing          = "trialing"
	StripePastDue           = "past_due"
	StripeUnpaid            = "unpaid"
	StripeCanceled          = "canceled"
	StripeIncomplete        = "incomplete"
	StripeIncompleteExpired = "incomplete_expired"
	StripePaused            = "paused"
)

// BillingState is a tenant's subscription as last read from Stripe. It lives
// beside the tenant record; the tenant's Tier is the effective tier derived
// from it (EffectiveTier) or set by the operator.
type BillingState struct {
	CustomerID        string     `json:"customer_id"`
	SubscriptionID    string     `json:"subscription_id"`
	Status            string     `json:"status"`          // Stripe status, "" without a subscription
	SubscribedTier    Tier       `json:"subscribed_tier"` // the tier the subscription's price pays for
	CurrentPeriodEnd  *time.Time `json:"current_period_end,omitempty"`
	CancelAtPeriodEnd bool       `json:"cancel_at_period_end"`
	// GraceUntil is set when a payment first fails and cleared when the
	// subscription is paid again.
	GraceUntil *time.Time `json:"grace_until,omitempty"`
	// AppliedTier is the tier billing last gave the tenant; a periodic
	// check compares it with EffectiveTier to notice a grace period or a
	// canceled period ending, without overriding an operator's later choice.
	AppliedTier Tier      `json:"applied_tier"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// SubscriptionInfo is a subscription as Stripe reports it now (re-read, never
// taken from an event's payload).
type SubscriptionInfo struct {
	ID                string
	CustomerID        string
	Status            string
	Tier              Tier // from the price; "" when the price is not one of ours
	PriceID           string
	CurrentPeriodEnd  time.Time // zero when unknown
	CancelAtPeriodEnd bool
	TenantID          string // metadata tenant_id, "" when absent
}

// Apply updates b from a freshly read subscription at now: an active or
// trialing subscription clears the grace period, a past-due or unpaid one
// starts it (once), an ended one forgets the subscription's tier.
func (b *BillingState) Apply(s *SubscriptionInfo, now time.Time) {
	b.SubscriptionID = s.ID
	if s.CustomerID != "" {
		b.CustomerID = s.CustomerID
	}
	b.Status = s.Status
	b.SubscribedTier = s.Tier
	b.CancelAtPeriodEnd = s.CancelAtPeriodEnd
	b.CurrentPeriodEnd = nil
	if !s.CurrentPeriodEnd.IsZero() {
		end := s.CurrentPeriodEnd.UTC()
		b.CurrentPeriodEnd = &end
	}
	switch s.Status {
	case StripeActive, StripeTrialing:
		b.GraceUntil = nil
	case StripePastDue, StripeUnpaid:
		if b.GraceUntil == nil {
			g := now.UTC().Add(GracePeriod)
			b.GraceUntil = &g
		}
	default:
		b.GraceUntil = nil
	}
	b.UpdatedAt = now.UTC()
}

// EffectiveTier is the tier a subscription grants at now: its tier while it
// is active or trialing (to the end of a period that is canceled at its end),
// or past due within the grace period; free otherwise.
func (b *BillingState) EffectiveTier(now time.Time) Tier {
	if b.SubscribedTier == "" || !b.SubscribedTier.Valid() {
		return TierFree
	}
	switch b.Status {
	case StripeActive, StripeTrialing:
		if b.CancelAtPeriodEnd && b.CurrentPeriodEnd != nil && !now.Before(*b.CurrentPeriodEnd) {
			return TierFree
		}
		return b.SubscribedTier
	case StripePastDue, StripeUnpaid:
		if b.GraceUntil != nil && now.Before(*b.GraceUntil) {
			return b.SubscribedTier
		}
	}
	return TierFree
}

// HasLiveSubscription reports whether the tenant pays for a subscription that
// has not ended, so a second checkout would double-charge.
func (b *BillingState) HasLiveSubscription() bool {
	switch b.Status {
	case StripeActive, StripeTrialing, StripePastDue, StripeUnpaid, StripePaused:
		return b.SubscriptionID != ""
	}
	return false
}

// BillingEvent is a verified Stripe webhook event, reduced to what the
// billing workflow needs.
type BillingEvent struct {
	ID             string
	Type           string
	Created        time.Time
	CustomerID     string
	SubscriptionID string
	// TenantID comes from checkout's client_reference_id or the
	// subscription's metadata; "" when the event carries neither.
	TenantID string
}

// Stripe event types handled (product.md §7).
const (
	EventCheckoutCompleted   = "checkout.session.completed"
	EventSubscriptionCreated = "customer.subscription.created"
	EventSubscriptionUpdated = "customer.subscription.updated"
	EventSubscriptionDeleted = "customer.subscription.deleted"
	EventInvoicePaid         = "invoice.paid"
	EventInvoicePaymentFail  = "invoice.payment_failed"
)

// CheckoutRequest starts a Stripe Checkout for a tier.
type CheckoutRequest struct {
	TenantID   string
	CustomerID string
	Tier       Tier
	SuccessURL string
	CancelURL  string
}

// PaymentProvider is Stripe as the billing workflow sees it
// (integrations/stripe). It holds no tenant state.
type PaymentProvider interface {
	// CreateCustomer creates a Stripe customer for a tenant.
	CreateCustomer(ctx context.Context, tenantID, name, email string) (customerID string, err error)
	// CheckoutURL creates a Checkout session in subscription mode.
	CheckoutURL(ctx context.Context, req CheckoutRequest) (string, error)
	// PortalURL creates a customer-portal session.
	PortalURL(ctx context.Context, customerID, returnURL string) (string, error)
	// ParseWebhook verifies a webhook's signature (300 s tolerance) and
	// decodes the event; a bad or stale signature is EUNAUTHORIZED.
	ParseWebhook(payload []byte, signatureHeader string) (*BillingEvent, error)
	// Subscription re-reads a subscription; a deleted or unknown one is
	// ENOTFOUND.
	Subscription(ctx context.Context, id string) (*SubscriptionInfo, error)
	// PriceConfigured reports whether a tier can be bought (its price id is
	// configured).
	PriceConfigured(t Tier) bool
}

// BillingStore keeps billing state and applies changes atomically.
type BillingStore interface {
	// BillingState returns the context tenant's state (zero value when the
	// tenant never had one). Tenant-scoped.
	BillingState(ctx context.Context) (*BillingState, error)
	// UpdateBilling reads the context tenant and its billing state, calls fn,
	// and stores both, the audit event fn returns (if any) and, when eventID
	// is not "", the event id — all in one transaction. When eventID was
	// recorded before, fn is not called and applied is false.
	// Tenant-scoped.
	UpdateBilling(ctx context.Context, eventID string, fn func(t *Tenant, b *BillingState) (*AuditEvent, error)) (applied bool, err error)
	// RecordBillingEvent records an event id that changes no tenant (an
	// unknown customer); it reports false when it was recorded before.
	RecordBillingEvent(ctx context.Context, eventID string) (bool, error)
	// TenantByCustomer finds the tenant of a Stripe customer ("" when none).
	TenantByCustomer(ctx context.Context, customerID string) (string, error)
	// ListBilledTenants lists the ids of tenants with a subscription, for the
	// periodic grace and period-end check.
	ListBilledTenants(ctx context.Context) ([]string, error)
}

// BillingInfo is what GET /api/v1/billing answers for a tenant.
type BillingInfo struct {
	Enabled bool
	Tier    Tier
	State   BillingState
	// CanCheckout lists the tiers a checkout may be started for.
	CanCheckout []Tier
}

// BillingService is billing as the HTTP layer sees it.
type BillingService interface {
	// Enabled reports whether Stripe is configured.
	Enabled() bool
	// Info reports the context tenant's tier and subscription.
	Info(ctx context.Context) (*BillingInfo, error)
	// Checkout returns a Stripe Checkout URL for tier (billing off →
	// ECONFLICT).
	Checkout(ctx context.Context, tier Tier, owner *User) (string, error)
	// Portal returns a customer-portal URL (billing off or never subscribed →
	// ECONFLICT).
	Portal(ctx context.Context) (string, error)
	// HandleWebhook verifies and applies a Stripe event once.
	HandleWebhook(ctx context.Context, payload []byte, signatureHeader string) error
	// SetTier is the operator's tier change; it pauses or resumes
	// connections to fit the new plan.
	SetTier(ctx context.Context, tenantID string, tier Tier, actor string) (*Tenant, error)
	// CheckExpiries moves tenants whose grace period or canceled period has
	// ended to free; it runs periodically.
	CheckExpiries(ctx context.Context) error
}
