package workflows

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

// WebhooksConfig wires Webhooks.
type WebhooksConfig struct {
	Ingestor    *Ingestor
	Verifier    pmassist.WebhookVerifier
	Receivers   map[pmassist.Service]pmassist.WebhookReceiver
	Deliveries  pmassist.DeliveryLog
	Connections pmassist.ConnectionService
	Configs     pmassist.TenantConfigService
	Items       pmassist.ItemService
	// OnDelivery, optional, is told the outcome of every delivery for a
	// known service (metrics): applied, ignored, duplicate, challenge,
	// rejected (a bad signature or body) or failed (an error of ours).
	OnDelivery func(service pmassist.Service, result string)
	Now        func() time.Time
	Logger     *slog.Logger
}

// Webhooks receives provider webhooks: the signature is checked before
// anything else, a delivery seen before is acknowledged without being
// applied, and the delivery is applied to every connection of the
// workspace it names. A delivery for a workspace nobody connected is
// acknowledged and ignored, so that providers do not retry it forever.
type Webhooks struct{ cfg WebhooksConfig }

var _ pmassist.WebhookService = (*Webhooks)(nil)

// NewWebhooks returns the webhook receiver.
func NewWebhooks(cfg WebhooksConfig) *Webhooks {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Webhooks{cfg: cfg}
}

// Delivery outcomes told to OnDelivery.
const (
	DeliveryApplied   = "applied"
	DeliveryIgnored   = "ignored"
	DeliveryDuplicate = "duplicate"
	DeliveryChallenge = "challenge"
	DeliveryRejected  = "rejected"
	DeliveryFailed    = "failed"
)

// Receive implements pmassist.WebhookService.
func (w *Webhooks) Receive(ctx context.Context, service pmassist.Service, header http.Header, body []byte) (pmassist.WebhookResult, error) {
	recv, ok := w.cfg.Receivers[service]
	if !ok {
		return pmassist.WebhookResult{}, pmassist.Errorf(pmassist.ENOTFOUND, "no webhooks for %s", service)
	}
	res, failures, err := w.receive(ctx, service, recv, header, body)
	if w.cfg.OnDelivery != nil {
		w.cfg.OnDelivery(service, deliveryResult(res, failures, err))
	}
	return res, err
}

// deliveryResult names the outcome of a delivery; failures counts the
// connections it could not be applied to.
func deliveryResult(res pmassist.WebhookResult, failures int, err error) string {
	switch code := pmassist.ErrorCode(err); {
	case code == pmassist.EINTERNAL || code == pmassist.EUNAVAILABLE || (err == nil && res.Routed == 0 && failures > 0):
		return DeliveryFailed
	case err != nil:
		return DeliveryRejected
	case res.Challenge != "":
		return DeliveryChallenge
	case res.Duplicate:
		return DeliveryDuplicate
	case res.Routed > 0:
		return DeliveryApplied
	}
	return DeliveryIgnored
}

func (w *Webhooks) receive(ctx context.Context, service pmassist.Service, recv pmassist.WebhookReceiver, header http.Header, body []byte) (res pmassist.WebhookResult, failures int, err error) {
	now := w.cfg.Now()
	d, err := w.cfg.Verifier.VerifyWebhook(ctx, service, recv, header, body, now)
	if err != nil {
		return pmassist.WebhookResult{}, 0, err
	}
	if d.Challenge != "" {
		return pmassist.WebhookResult{Challenge: d.Challenge}, 0, nil
	}
	if d.ID != "" {
		id := d.ID
		if d.TenantID != "" {
			// Signed with a tenant's own secret: its ids cannot use up
			// those of genuine deliveries for other tenants.
			id = "tenant:" + d.TenantID + ":" + id
		}
		seen, err := w.cfg.Deliveries.SeenDelivery(ctx, service, id, now)
		if err != nil {
			return pmassist.WebhookResult{}, 0, err
		}
		if seen {
			return pmassist.WebhookResult{Duplicate: true}, 0, nil
		}
	}
	if len(d.Items) == 0 && !d.Refresh {
		return pmassist.WebhookResult{}, 0, nil
	}
	conns, err := w.route(ctx, service, d)
	if err != nil {
		return pmassist.WebhookResult{}, 0, err
	}
	if len(conns) == 0 {
		w.cfg.Logger.Info("webhook for a workspace no tenant has connected; ignored", "service", service, "workspace_id", d.WorkspaceID)
		return pmassist.WebhookResult{}, 0, nil
	}
	for _, c := range conns {
		tctx := pmassist.NewContextWithTenant(ctx, c.TenantID)
		// Each tenant gets its own copies: the store fills in ids.
		dc := *d
		dc.Items = cloneItems(d.Items)
		if _, err := w.cfg.Ingestor.ApplyWebhook(tctx, c.ID, &dc); err != nil {
			w.cfg.Logger.Warn("applying a webhook failed", "service", service, "tenant_id", c.TenantID, "connection_id", c.ID, "error", err)
			failures++
			continue
		}
		res.Routed++
	}
	return res, failures, nil
}

// route finds the connections a delivery belongs to: by workspace id (a
// Slack team, a Linear organization); for GitHub, whose connection is the
// authorizing account rather than an organization, by the repository
// owner's login or a repository the connection already ingests (it has a
// watermark for it). A delivery signed with a tenant's own secret goes to
// that tenant's connections only.
func (w *Webhooks) route(ctx context.Context, service pmassist.Service, d *pmassist.WebhookDelivery) ([]*pmassist.Connection, error) {
	all, err := w.cfg.Connections.ListAllConnections(ctx)
	if err != nil {
		return nil, err
	}
	var out []*pmassist.Connection
	for _, c := range all {
		if c.Service != service || c.Status == pmassist.ConnectionNeedsReauth || c.Paused {
			continue
		}
		if d.TenantID != "" && c.TenantID != d.TenantID {
			continue
		}
		match := d.WorkspaceID != "" && c.WorkspaceID == d.WorkspaceID
		if !match && service == pmassist.ServiceGitHub {
			match, err = w.githubMatch(ctx, c, d)
			if err != nil {
				return nil, err
			}
		}
		if match {
			out = append(out, c)
		}
	}
	return out, nil
}

// githubMatch reports whether a GitHub connection may see a delivery: its
// account owns the repository, or it has read the repository before. The
// tenant's settings (github_orgs, github_repos) are not enough: any tenant
// may list any repository there, which proves no access to it; a repository
// listed but not yet read is picked up by the next ingestion run.
func (w *Webhooks) githubMatch(ctx context.Context, c *pmassist.Connection, d *pmassist.WebhookDelivery) (bool, error) {
	if d.WorkspaceLogin != "" && strings.EqualFold(c.WorkspaceName, d.WorkspaceLogin) {
		return true, nil
	}
	for _, it := range d.Items {
		if w.cfg.Items == nil || it.Channel == "" {
			continue
		}
		wm, err := w.cfg.Items.Watermark(pmassist.NewContextWithTenant(ctx, c.TenantID), c.ID, "repo:"+strings.ToLower(it.Channel))
		if err != nil {
			return false, err
		}
		if wm.Value != "" {
			return true, nil
		}
	}
	return false, nil
}

func cloneItems(in []*pmassist.Item) []*pmassist.Item {
	out := make([]*pmassist.Item, len(in))
	for i, it := range in {
		c := *it
		out[i] = &c
	}
	return out
}
