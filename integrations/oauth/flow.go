package oauth

import (
	"context"
	"time"

	"github.com/pmassist/pmassist"
	"golang.org/x/oauth2"
)

// AuthorizeURL starts a connect flow for the context's tenant.
func (m *Manager) AuthorizeURL(ctx context.Context, service pmassist.Service, caller pmassist.OAuthCaller) (string, error) {
	p, err := m.provider(service)
	if err != nil {
		return "", err
	}
	app, own, err := m.credentials(ctx, service)
	if err != nil {
		return "", err
	}
	if err := m.checkLimit(ctx, service, ""); err != nil {
		return "", err
	}
	pend := pending{service: service, caller: caller, ownApp: own, expires: m.now().Add(stateTTL)}
	opts := append([]oauth2.AuthCodeOption{}, p.authParams...)
	if p.pkce {
		pend.verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(pend.verifier))
	}
	state, err := m.states.add(pend, m.now())
	if err != nil {
		return "", err
	}
	return m.oauthConfig(p, app).AuthCodeURL(state, opts...), nil
}

// Callback finishes a connect flow; see pmassist.OAuthService.
func (m *Manager) Callback(ctx context.Context, service pmassist.Service, code, state, providerErr string, caller pmassist.OAuthCaller) (*pmassist.Connection, bool, error) {
	p, err := m.provider(service)
	if err != nil {
		return nil, false, err
	}
	pend, err := m.states.take(state, service, caller, m.now())
	if err != nil {
		return nil, false, err
	}
	if providerErr != "" {
		return nil, false, &providerError{Service: service, Status: 200, Code: providerErr}
	}
	if code == "" {
		return nil, false, pmassist.Errorf(pmassist.EINVALID, "%s sent no authorization code; connect again", service.Title())
	}
	var app AppCredentials
	if pend.ownApp {
		app, err = m.appFor(ctx, &pmassist.Connection{Service: service, OwnApp: true})
	} else {
		app, err = m.appFor(ctx, &pmassist.Connection{Service: service})
	}
	if err != nil {
		return nil, false, err
	}
	var opts []oauth2.AuthCodeOption
	if p.pkce {
		opts = append(opts, oauth2.VerifierOption(pend.verifier))
	}
	tok, err := m.oauthConfig(p, app).Exchange(m.httpContext(ctx, p), code, opts...)
	if err != nil {
		return nil, false, asProviderError(service, err)
	}
	wsID, wsName, err := p.identify(ctx, m, tok)
	if err != nil {
		return nil, false, asProviderError(service, err)
	}
	if wsID == "" {
		return nil, false, pmassist.Errorf(pmassist.EINVALID, "%s did not say which workspace was connected", service.Title())
	}
	if err := m.checkLimit(ctx, service, wsID); err != nil {
		return nil, false, err
	}
	c := &pmassist.Connection{
		Service: service, WorkspaceID: wsID, WorkspaceName: wsName, Scopes: scopesOf(tok),
		ConnectedAt: m.now(), ConnectedBy: caller.UserID, Refreshable: tok.RefreshToken != "", OwnApp: pend.ownApp,
	}
	exp := m.expiry(tok)
	if !exp.IsZero() {
		c.ExpiresAt = &exp
	}
	created, err := m.svc.Connections.SaveConnection(ctx, c, pmassist.Token{
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: exp,
	})
	if err != nil {
		return nil, false, err
	}
	return c, created, nil
}

// checkLimit enforces the tier's integration count. Reconnecting an existing
// workspace (workspaceID) never counts as a new integration; at authorize
// time (workspaceID "") a broken connection of the service may be repaired.
func (m *Manager) checkLimit(ctx context.Context, service pmassist.Service, workspaceID string) error {
	t, err := m.tenant(ctx)
	if err != nil {
		return err
	}
	limit := pmassist.PlanFor(t.Tier).Integrations
	if limit == pmassist.Unlimited {
		return nil
	}
	conns, err := m.svc.Connections.ListConnections(ctx)
	if err != nil {
		return err
	}
	for _, c := range conns {
		if c.Service != service {
			continue
		}
		if workspaceID != "" && c.WorkspaceID == workspaceID {
			return nil
		}
		if workspaceID == "" && c.Status != pmassist.ConnectionConnected {
			return nil
		}
	}
	if len(conns) < limit {
		return nil
	}
	return pmassist.Errorf(pmassist.EQUOTAEXCEEDED, "the %s plan allows %d integration(s) and this tenant has %d; upgrade or disconnect one first",
		t.Tier, limit, len(conns))
}

// backoff is the wait before the next attempt after n transient failures:
// one minute doubling up to six hours, with ±20 % jitter from the id so that
// many connections do not retry in step.
func backoff(n int, id string) time.Duration {
	d := time.Minute
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	d = min(d, maxBackoff)
	var h uint32
	for i := 0; i < len(id); i++ {
		h = h*31 + uint32(id[i])
	}
	jitter := time.Duration(int64(h%41)-20) * d / 100
	return d + jitter
}
