// Package stripe is billing's view of Stripe (pmassist.PaymentProvider):
// customers, Checkout sessions in subscription mode, customer-portal
// sessions, subscription re-reads and verified webhook events. It uses
// stripe-go v76 (API version 2023-10-16) through a per-client client.API;
// it never touches stripe-go's package globals (stripe.Key, SetBackend), so
// several clients with different keys or URLs can live in one process.
// Wire formats and traps are in spec/providers.md, section Stripe.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/pmassist/pmassist"
)

// DefaultAPIURL is Stripe's own API address.
const DefaultAPIURL = "https://api.stripe.com"

// maxNetworkRetries is how often stripe-go retries what it deems safe to
// retry (connection errors, 409, 503, 5xx on GET, lock timeouts); POSTs
// carry an idempotency key so a retry is not a second customer or session.
const maxNetworkRetries = 1

// Config configures a Client.
type Config struct {
	// SecretKey is PMASSIST_STRIPE_SECRET_KEY (sk_live_…, sk_test_… or a
	// restricted rk_… key). Required.
	SecretKey string
	// WebhookSecret is PMASSIST_STRIPE_WEBHOOK_SECRET (whsec_…), the
	// signing secret of the webhook endpoint. Without it every webhook is
	// refused.
	WebhookSecret string
	// APIURL is PMASSIST_STRIPE_API_URL; empty means https://api.stripe.com.
	// Tests point it at stripe-mock or the fake.Stripe stand-in.
	APIURL string
	// PricePro and PriceEnterprise are the Stripe price ids of the paid
	// tiers (PMASSIST_STRIPE_PRICE_PRO, _PRICE_ENTERPRISE); a tier without
	// one cannot be bought.
	PricePro, PriceEnterprise string
	// HTTPClient makes the API calls; nil means a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// Logger receives stripe-go's own log lines, all at debug level; nil
	// discards them.
	Logger *slog.Logger
}

// Client is the Stripe payment provider. It holds no tenant state and is
// safe for concurrent use.
type Client struct {
	api           *client.API
	key           string
	webhookSecret string
	prices        map[pmassist.Tier]string
}

var _ pmassist.PaymentProvider = (*Client)(nil)

// New validates cfg and returns a Client.
func New(cfg Config) (*Client, error) {
	key := strings.TrimSpace(cfg.SecretKey)
	if key == "" {
		return nil, errors.New("stripe: a secret key is required (PMASSIST_STRIPE_SECRET_KEY)")
	}
	if strings.ContainsAny(key, " \t\r\n") {
		return nil, errors.New("stripe: the secret key contains white space (PMASSIST_STRIPE_SECRET_KEY)")
	}
	apiURL, err := checkAPIURL(cfg.APIURL)
	if err != nil {
		return nil, err
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 30 * time.Second}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	log := &leveledLogger{l: logger, key: key}
	backend := func(typ stripego.SupportedBackend, u string) stripego.Backend {
		bc := &stripego.BackendConfig{
			HTTPClient:        httpClient,
			LeveledLogger:     log,
			MaxNetworkRetries: stripego.Int64(maxNetworkRetries),
			EnableTelemetry:   stripego.Bool(false),
		}
		if u != "" {
			bc.URL = stripego.String(u)
		}
		return stripego.GetBackendWithConfig(typ, bc)
	}
	// The Connect (OAuth) and Uploads (files) backends are never used
	// here; they get the same HTTP client, logger and, when the API URL is
	// overridden, the same address, so that nothing can fall back to
	// stripe-go's globals or leave the test server.
	other := ""
	if apiURL != DefaultAPIURL {
		other = apiURL
	}
	api := client.New(key, &stripego.Backends{
		API:     backend(stripego.APIBackend, apiURL),
		Connect: backend(stripego.ConnectBackend, other),
		Uploads: backend(stripego.UploadsBackend, other),
	})
	return &Client{
		api:           api,
		key:           key,
		webhookSecret: cfg.WebhookSecret,
		prices: map[pmassist.Tier]string{
			pmassist.TierPro:        strings.TrimSpace(cfg.PricePro),
			pmassist.TierEnterprise: strings.TrimSpace(cfg.PriceEnterprise),
		},
	}, nil
}

func checkAPIURL(raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return DefaultAPIURL, nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("stripe: the API URL %q must be an absolute http(s) URL without query (PMASSIST_STRIPE_API_URL)", raw)
	}
	return strings.TrimRight(raw, "/"), nil
}

// PriceConfigured reports whether a tier can be bought.
func (c *Client) PriceConfigured(t pmassist.Tier) bool { return c.prices[t] != "" }

// CreateCustomer creates a Stripe customer carrying metadata tenant_id.
func (c *Client) CreateCustomer(ctx context.Context, tenantID, name, email string) (string, error) {
	if tenantID == "" {
		return "", pmassist.Errorf(pmassist.EINVALID, "a Stripe customer needs a tenant id")
	}
	p := &stripego.CustomerParams{Metadata: map[string]string{"tenant_id": tenantID}}
	p.Context = ctx
	if name != "" {
		p.Name = stripego.String(name)
	}
	if email != "" {
		p.Email = stripego.String(email)
	}
	cus, err := c.api.Customers.New(p)
	if err != nil {
		return "", c.fail("create customer", err)
	}
	return cus.ID, nil
}

// CheckoutURL creates a Checkout session in subscription mode for one unit
// of the tier's price. The tenant id travels as client_reference_id, as
// session metadata (with the tier) and as subscription_data metadata, so
// that the subscription Stripe creates names its tenant too.
func (c *Client) CheckoutURL(ctx context.Context, req pmassist.CheckoutRequest) (string, error) {
	price, err := c.price(req.Tier)
	if err != nil {
		return "", err
	}
	switch {
	case req.TenantID == "":
		return "", pmassist.Errorf(pmassist.EINVALID, "a Stripe checkout needs a tenant id")
	case req.SuccessURL == "":
		return "", pmassist.Errorf(pmassist.EINVALID, "a Stripe checkout needs a success URL")
	}
	p := &stripego.CheckoutSessionParams{
		Mode:              stripego.String(string(stripego.CheckoutSessionModeSubscription)),
		ClientReferenceID: stripego.String(req.TenantID),
		LineItems: []*stripego.CheckoutSessionLineItemParams{
			{Price: stripego.String(price), Quantity: stripego.Int64(1)},
		},
		SubscriptionData: &stripego.CheckoutSessionSubscriptionDataParams{
			Metadata: map[string]string{"tenant_id": req.TenantID},
		},
		Metadata:   map[string]string{"tenant_id": req.TenantID, "tier": string(req.Tier)},
		SuccessURL: stripego.String(req.SuccessURL),
	}
	p.Context = ctx
	if req.CustomerID != "" {
		p.Customer = stripego.String(req.CustomerID)
	}
	if req.CancelURL != "" {
		p.CancelURL = stripego.String(req.CancelURL)
	}
	s, err := c.api.CheckoutSessions.New(p)
	if err != nil {
		return "", c.fail("create checkout session", err)
	}
	if s.URL == "" {
		return "", fmt.Errorf("stripe: checkout session %s has no URL", s.ID)
	}
	return s.URL, nil
}

// price is the tier's configured price id.
func (c *Client) price(t pmassist.Tier) (string, error) {
	switch t {
	case pmassist.TierPro, pmassist.TierEnterprise:
	case pmassist.TierFree:
		return "", pmassist.Errorf(pmassist.EINVALID, "the free plan cannot be bought")
	default:
		return "", pmassist.Errorf(pmassist.EINVALID, "unknown plan %q", t)
	}
	if p := c.prices[t]; p != "" {
		return p, nil
	}
	return "", pmassist.Errorf(pmassist.EINVALID, "the %s plan has no Stripe price configured (PMASSIST_STRIPE_PRICE_%s)",
		t, strings.ToUpper(string(t)))
}

// PortalURL creates a customer-portal session.
func (c *Client) PortalURL(ctx context.Context, customerID, returnURL string) (string, error) {
	if customerID == "" {
		return "", pmassist.Errorf(pmassist.EINVALID, "the customer portal needs a Stripe customer")
	}
	p := &stripego.BillingPortalSessionParams{Customer: stripego.String(customerID)}
	p.Context = ctx
	if returnURL != "" {
		p.ReturnURL = stripego.String(returnURL)
	}
	s, err := c.api.BillingPortalSessions.New(p)
	if err != nil {
		return "", c.fail("create portal session", err)
	}
	if s.URL == "" {
		return "", fmt.Errorf("stripe: portal session %s has no URL", s.ID)
	}
	return s.URL, nil
}

// Subscription re-reads a subscription with the pinned API version. A
// deleted or unknown one is ENOTFOUND.
func (c *Client) Subscription(ctx context.Context, id string) (*pmassist.SubscriptionInfo, error) {
	if id == "" {
		return nil, pmassist.Errorf(pmassist.EINVALID, "no subscription id")
	}
	p := &stripego.SubscriptionParams{}
	p.Context = ctx
	sub, err := c.api.Subscriptions.Get(id, p)
	if err != nil {
		return nil, c.fail("read subscription", err)
	}
	info := &pmassist.SubscriptionInfo{
		ID:                sub.ID,
		Status:            string(sub.Status),
		CancelAtPeriodEnd: sub.CancelAtPeriodEnd,
		TenantID:          sub.Metadata["tenant_id"],
	}
	if sub.Customer != nil {
		info.CustomerID = sub.Customer.ID
	}
	if sub.CurrentPeriodEnd > 0 {
		info.CurrentPeriodEnd = time.Unix(sub.CurrentPeriodEnd, 0).UTC()
	}
	if sub.Items != nil {
		for _, it := range sub.Items.Data {
			if it != nil && it.Price != nil && it.Price.ID != "" {
				info.PriceID = it.Price.ID
				break
			}
		}
	}
	info.Tier = c.tierOf(info.PriceID)
	return info, nil
}

// tierOf maps a price id to the tier it pays for; "" when it is not ours.
func (c *Client) tierOf(price string) pmassist.Tier {
	if price == "" {
		return ""
	}
	for _, t := range []pmassist.Tier{pmassist.TierPro, pmassist.TierEnterprise} {
		if c.prices[t] == price {
			return t
		}
	}
	return ""
}
