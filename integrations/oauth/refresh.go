package oauth

import (
	"context"
	"errors"
	"time"

	"github.com/pmassist/pmassist"
	"golang.org/x/oauth2"
)

// AccessToken returns a working access token of a connection of the
// context's tenant, refreshing it first when it expires within
// RefreshMargin. Concurrent callers share one refresh: refresh tokens are
// single-use, so a second refresh with the same one would fail.
func (m *Manager) AccessToken(ctx context.Context, id string) (string, error) {
	c, err := m.svc.Connections.FindConnection(ctx, id)
	if err != nil {
		return "", err
	}
	if c.Status == pmassist.ConnectionNeedsReauth {
		return "", pmassist.Errorf(pmassist.EUNAUTHORIZED, "the %s connection %s needs reconnecting", c.Service.Title(), c.WorkspaceName)
	}
	if !m.expiring(c) {
		tok, err := m.svc.Connections.ConnectionToken(ctx, id)
		return tok.AccessToken, err
	}
	c, tok, err := m.refresh(ctx, id, m.expiring)
	if err != nil {
		return "", err
	}
	if m.expiring(c) && c.ExpiresAt.Before(m.now()) {
		return "", pmassist.Errorf(pmassist.EUNAVAILABLE, "the %s token has expired and could not be refreshed: %s", c.Service.Title(), c.LastRefreshError)
	}
	return tok.AccessToken, nil
}

// Refresh refreshes a connection now (or checks a token that does not
// expire) and returns its health. A refusal by the provider is recorded on
// the connection, not returned as an error.
func (m *Manager) Refresh(ctx context.Context, id string) (*pmassist.Connection, error) {
	c, _, err := m.refresh(ctx, id, func(*pmassist.Connection) bool { return true })
	var pe *providerError
	if errors.As(err, &pe) && c != nil {
		return c, nil
	}
	return c, err
}

// expiring reports whether a connection's token should be refreshed now.
func (m *Manager) expiring(c *pmassist.Connection) bool {
	return c.Refreshable && c.ExpiresAt != nil && c.ExpiresAt.Sub(m.now()) < RefreshMargin
}

// refresh holds the connection's lock, re-reads it, and refreshes when need
// still says so (another caller may have refreshed meanwhile).
func (m *Manager) refresh(ctx context.Context, id string, need func(*pmassist.Connection) bool) (*pmassist.Connection, pmassist.Token, error) {
	lock := m.lockFor(id)
	lock.Lock()
	defer lock.Unlock()
	c, err := m.svc.Connections.FindConnection(ctx, id)
	if err != nil {
		return nil, pmassist.Token{}, err
	}
	tok, err := m.svc.Connections.ConnectionToken(ctx, id)
	if err != nil {
		return nil, pmassist.Token{}, err
	}
	if !need(c) {
		return c, tok, nil
	}
	p, err := m.provider(c.Service)
	if err != nil {
		return nil, pmassist.Token{}, err
	}
	now := m.now()
	if !c.Refreshable || tok.RefreshToken == "" {
		// Nothing to refresh: see whether the token still works.
		err := p.check(ctx, m, tok.AccessToken)
		m.refreshed(c.Service, err)
		if err != nil {
			return m.recordFailure(ctx, c, tok, asProviderError(c.Service, err))
		}
		connected, empty, zero := pmassist.ConnectionConnected, "", 0
		var noTime *time.Time
		c, err = m.svc.Connections.UpdateConnection(ctx, id, pmassist.ConnectionUpdate{Status: &connected,
			LastRefreshAt: &now, LastRefreshError: &empty, RefreshFailures: &zero, NextRefreshAt: &noTime})
		return c, tok, err
	}
	app, err := m.appFor(ctx, c)
	if err != nil {
		m.refreshed(c.Service, err)
		return m.recordFailure(ctx, c, tok, &providerError{Service: c.Service, Status: 400, Code: "app_missing", Detail: pmassist.ErrorMessage(err)})
	}
	fresh, err := m.oauthConfig(p, app).TokenSource(m.httpContext(ctx, p), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	m.refreshed(c.Service, err)
	if err != nil {
		return m.recordFailure(ctx, c, tok, asProviderError(c.Service, err))
	}
	// x/oauth2 keeps the old refresh token when the answer has none;
	// rotating providers always send a new one, and it is stored every time.
	next := pmassist.Token{AccessToken: fresh.AccessToken, RefreshToken: fresh.RefreshToken, Expiry: m.expiry(fresh)}
	c, err = m.svc.Connections.StoreRefreshedToken(ctx, id, next, now)
	if err != nil {
		return nil, pmassist.Token{}, err
	}
	m.logger.InfoContext(ctx, "refreshed connection token", "connection_id", id, "service", c.Service, "tenant_id", c.TenantID)
	return c, next, nil
}

// refreshed tells OnRefresh the outcome of a refresh attempt.
func (m *Manager) refreshed(service pmassist.Service, err error) {
	if m.cfg.OnRefresh != nil {
		m.cfg.OnRefresh(service, err)
	}
}

// recordFailure stores the outcome of a failed refresh: a grant that is gone
// needs reconnecting; anything else is an error retried with backoff.
func (m *Manager) recordFailure(ctx context.Context, c *pmassist.Connection, tok pmassist.Token, perr *providerError) (*pmassist.Connection, pmassist.Token, error) {
	failures := c.RefreshFailures + 1
	msg := perr.Error()
	upd := pmassist.ConnectionUpdate{LastRefreshError: &msg, RefreshFailures: &failures}
	status := pmassist.ConnectionError
	var next *time.Time
	if perr.reauth() {
		status = pmassist.ConnectionNeedsReauth
	} else {
		t := m.now().Add(backoff(failures, c.ID))
		next = &t
	}
	upd.Status, upd.NextRefreshAt = &status, &next
	updated, err := m.svc.Connections.UpdateConnection(ctx, c.ID, upd)
	if err != nil {
		return nil, tok, err
	}
	m.logger.WarnContext(ctx, "connection refresh failed", "connection_id", c.ID, "service", c.Service,
		"tenant_id", c.TenantID, "status", status, "error", msg, "failures", failures)
	return updated, tok, perr
}

// RefreshDue is the background pass: for every tenant it refreshes tokens
// that expire soon, exercises refresh tokens not used for a day (so that
// they are not lost), and retries connections in error once their backoff
// has passed. It returns how many connections it refreshed or checked.
func (m *Manager) RefreshDue(ctx context.Context) (int, error) {
	all, err := m.svc.Connections.ListAllConnections(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range all {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		if !m.dueInBackground(c) {
			continue
		}
		tctx := pmassist.NewContextWithTenant(ctx, c.TenantID)
		var pe *providerError
		if _, _, err := m.refresh(tctx, c.ID, m.dueInBackground); err != nil && !errors.As(err, &pe) {
			m.logger.ErrorContext(ctx, "background refresh failed", "connection_id", c.ID, "error", err)
		}
		n++
	}
	return n, nil
}

func (m *Manager) dueInBackground(c *pmassist.Connection) bool {
	now := m.now()
	if c.Status == pmassist.ConnectionNeedsReauth || (c.NextRefreshAt != nil && now.Before(*c.NextRefreshAt)) {
		return false
	}
	if c.Status == pmassist.ConnectionError {
		return true
	}
	if !c.Refreshable {
		return false
	}
	last := c.ConnectedAt
	if c.LastRefreshAt != nil {
		last = *c.LastRefreshAt
	}
	return m.expiring(c) || now.Sub(last) >= KeepAliveEvery
}

// Run runs the background pass every interval until ctx ends.
func (m *Manager) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := m.RefreshDue(ctx); err != nil && ctx.Err() == nil {
				m.logger.ErrorContext(ctx, "background refresh pass failed", "error", err)
			}
		}
	}
}

// Disconnect revokes the token at the provider where it allows, then
// deletes the connection and its tokens whatever the provider said; a failed
// revocation is reported in revokeFailure.
func (m *Manager) Disconnect(ctx context.Context, id string) (revokeFailure string, err error) {
	lock := m.lockFor(id)
	lock.Lock()
	defer func() {
		lock.Unlock()
		m.mu.Lock()
		delete(m.locks, id)
		m.mu.Unlock()
	}()
	c, err := m.svc.Connections.FindConnection(ctx, id)
	if err != nil {
		return "", err
	}
	if rerr := m.revoke(ctx, c); rerr != nil {
		revokeFailure = pmassist.ErrorMessage(rerr)
		m.logger.WarnContext(ctx, "revoking at the provider failed", "connection_id", id, "service", c.Service, "error", revokeFailure)
	}
	return revokeFailure, m.svc.Connections.DeleteConnection(ctx, id)
}

func (m *Manager) revoke(ctx context.Context, c *pmassist.Connection) error {
	p, err := m.provider(c.Service)
	if err != nil {
		return err
	}
	tok, err := m.svc.Connections.ConnectionToken(ctx, c.ID)
	if err != nil {
		return err
	}
	app, err := m.appFor(ctx, c)
	if err != nil {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := p.revoke(rctx, m, app, tok); err != nil {
		return asProviderError(c.Service, err)
	}
	return nil
}
