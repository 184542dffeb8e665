package workflows

import (
	"context"
	"fmt"
	"html"
	"log/slog"
	"time"

	"github.com/pmassist/pmassist"
)

// NotifierConfig wires a Notifier.
type NotifierConfig struct {
	Mailer      pmassist.Mailer
	Tenants     pmassist.TenantService
	Members     pmassist.MemberService
	Connections pmassist.ConnectionService
	Items       pmassist.ItemService
	Configs     pmassist.TenantConfigService
	Log         pmassist.NotificationLog
	// Billing tells about failed payments; nil: billing is not watched.
	Billing pmassist.BillingStore
	BaseURL string
	Now     func() time.Time
	Logger  *slog.Logger
}

// Notifier emails a tenant's owners when something needs them — a
// connection needs reconnecting, the monthly item quota is reached, a
// payment failed — once per event, with the link that fixes it.
type Notifier struct{ cfg NotifierConfig }

// NewNotifier returns a notifier; without a mailer it does nothing.
func NewNotifier(cfg NotifierConfig) *Notifier {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{cfg: cfg}
}

// Pass looks at every active tenant once.
func (n *Notifier) Pass(ctx context.Context) {
	if n.cfg.Mailer == nil {
		return
	}
	tenants, err := n.cfg.Tenants.ListTenants(ctx)
	if err != nil {
		n.cfg.Logger.ErrorContext(ctx, "notifications: listing tenants failed", "error", err)
		return
	}
	for _, t := range tenants {
		if t.Suspended {
			continue
		}
		if err := n.tenant(pmassist.NewContextWithTenant(ctx, t.ID), t); err != nil {
			n.cfg.Logger.ErrorContext(ctx, "notifications failed", "tenant_id", t.ID, "error", err)
		}
	}
}

func (n *Notifier) tenant(ctx context.Context, t *pmassist.Tenant) error {
	conns, err := n.cfg.Connections.ListConnections(ctx)
	if err != nil {
		return err
	}
	for _, c := range conns {
		key := "reauth:" + c.ID
		if c.Status != pmassist.ConnectionNeedsReauth {
			if err := n.cfg.Log.ForgetNotice(ctx, key); err != nil {
				return err
			}
			continue
		}
		subject := fmt.Sprintf("Reconnect %s (%s) in PM Assistant", c.Service.Title(), c.WorkspaceName)
		body := fmt.Sprintf("PM Assistant can no longer read %s %s for %s: %s\nReconnect it here: %s/integrations",
			c.Service.Title(), c.WorkspaceName, t.Name, c.LastRefreshError, n.cfg.BaseURL)
		if err := n.once(ctx, key, subject, body, n.cfg.BaseURL+"/integrations"); err != nil {
			return err
		}
	}
	if n.cfg.Billing != nil {
		st, err := n.cfg.Billing.BillingState(ctx)
		if err != nil {
			return err
		}
		if st.GraceUntil != nil {
			until := st.GraceUntil.Format("January 2, 2006")
			subject := fmt.Sprintf("Payment failed for %s in PM Assistant", t.Name)
			body := fmt.Sprintf("The last payment for the %s plan of %s failed. The plan stays active until %s; after that %s falls back to the free plan (nothing is deleted). Update the payment method here: %s/billing",
				st.SubscribedTier, t.Name, until, t.Name, n.cfg.BaseURL)
			if err := n.once(ctx, "payment:"+st.GraceUntil.Format("2006-01-02"), subject, body, n.cfg.BaseURL+"/billing"); err != nil {
				return err
			}
		}
	}
	limit := pmassist.PlanFor(t.Tier).ItemsPerMonth
	if limit == pmassist.Unlimited {
		return nil
	}
	cfg, err := n.cfg.Configs.TenantConfig(ctx)
	if err != nil {
		return err
	}
	period := Period(n.cfg.Now(), cfg.Location())
	used, err := n.cfg.Items.ItemsIngested(ctx, period)
	if err != nil || used < limit {
		return err
	}
	subject := fmt.Sprintf("%s reached its %d items for %s", t.Name, limit, period)
	body := fmt.Sprintf("Ingestion for %s stopped at the %s plan's limit of %d items this month. It resumes next month, or now after an upgrade: %s/billing",
		t.Name, t.Tier, limit, n.cfg.BaseURL)
	return n.once(ctx, "quota:"+period, subject, body, n.cfg.BaseURL+"/billing")
}

// once mails the owners about an event the first time it is seen.
func (n *Notifier) once(ctx context.Context, key, subject, text, link string) error {
	members, err := n.cfg.Members.ListMembers(ctx)
	if err != nil {
		return err
	}
	var to []string
	for _, m := range members {
		if m.Role == pmassist.RoleOwner && m.Email != "" {
			to = append(to, m.Email)
		}
	}
	if len(to) == 0 {
		return nil
	}
	first, err := n.cfg.Log.FirstNotice(ctx, key, n.cfg.Now())
	if err != nil || !first {
		return err
	}
	page := "<!doctype html><html><body><p>" + html.EscapeString(text) + "</p><p><a href=\"" + html.EscapeString(link) + "\">" +
		html.EscapeString(link) + "</a></p></body></html>"
	if err := n.cfg.Mailer.SendMail(ctx, to, subject, text, page); err != nil {
		// Not told after all: try again at the next pass.
		_ = n.cfg.Log.ForgetNotice(ctx, key)
		return err
	}
	n.cfg.Logger.InfoContext(ctx, "owners notified", "event", key)
	return nil
}
