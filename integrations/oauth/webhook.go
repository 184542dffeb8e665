package oauth

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

var _ pmassist.WebhookVerifier = (*Manager)(nil)

// VerifyWebhook checks a delivery against the appliance's signing secret for
// the service and the signing secrets of tenants' own apps, and parses it
// with the first that matches.
func (m *Manager) VerifyWebhook(ctx context.Context, service pmassist.Service, recv pmassist.WebhookReceiver, header http.Header, body []byte, now time.Time) (*pmassist.WebhookDelivery, error) {
	secrets, err := m.signingSecrets(ctx, service)
	if err != nil {
		return nil, err
	}
	if len(secrets) == 0 {
		return nil, pmassist.Errorf(pmassist.EUNAUTHORIZED, "%s webhooks are not configured on this appliance (PMASSIST_%s_%s)",
			service.Title(), strings.ToUpper(string(service)), map[bool]string{true: "SIGNING_SECRET", false: "WEBHOOK_SECRET"}[service == pmassist.ServiceSlack])
	}
	var lastErr error
	for _, secret := range secrets {
		if lastErr = recv.Verify(header, body, secret.secret, now); lastErr == nil {
			d, err := recv.Parse(header, body)
			if err != nil {
				return nil, pmassist.Errorf(pmassist.EINVALID, "malformed %s webhook: %s", service.Title(), err.Error())
			}
			// A tenant's own secret vouches for that tenant only: anyone
			// on the enterprise tier chooses one, and could otherwise sign
			// deliveries naming another tenant's workspace.
			d.TenantID = secret.tenantID
			return d, nil
		}
	}
	return nil, pmassist.Errorf(pmassist.EUNAUTHORIZED, "webhook refused: %s", lastErr.Error())
}

// signingSecret is a secret a delivery may be signed with, and the tenant
// whose own app it belongs to ("" for the appliance's app).
type signingSecret struct {
	tenantID, secret string
}

// signingSecrets lists the secrets a delivery may be signed with.
func (m *Manager) signingSecrets(ctx context.Context, service pmassist.Service) ([]signingSecret, error) {
	var out []signingSecret
	if app, ok := m.cfg.Apps[service]; ok && app.SigningSecret != "" {
		out = append(out, signingSecret{secret: app.SigningSecret})
	}
	tenants, err := m.svc.Tenants.ListTenants(ctx)
	if err != nil {
		return nil, err
	}
	for _, t := range tenants {
		if !pmassist.PlanFor(t.Tier).Has(pmassist.FeatureOwnOAuthApps) {
			continue
		}
		app, err := m.svc.Apps.FindOAuthApp(pmassist.NewContextWithTenant(ctx, t.ID), service)
		if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		if app.SigningSecret != "" {
			out = append(out, signingSecret{tenantID: t.ID, secret: app.SigningSecret})
		}
	}
	return out, nil
}
