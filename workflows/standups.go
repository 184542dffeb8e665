package workflows

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

// StandupsConfig wires Standups.
type StandupsConfig struct {
	Items       pmassist.ItemsUpdated
	Decisions   pmassist.DecisionService
	Teammates   pmassist.TeammateService
	Standups    pmassist.StandupService
	Configs     pmassist.TenantConfigService
	Tenants     pmassist.TenantService
	Connections pmassist.ConnectionService
	Slack       pmassist.SlackPoster
	Mailer      pmassist.Mailer // nil: email delivery is off
	BaseURL     string
	Now         func() time.Time
	Logger      *slog.Logger
}

// Standups composes, stores and delivers standups.
type Standups struct{ cfg StandupsConfig }

var _ pmassist.StandupGenerator = (*Standups)(nil)

// NewStandups returns the standup workflow.
func NewStandups(cfg StandupsConfig) *Standups {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Standups{cfg: cfg}
}

// Delivery retries: after n failures the next try waits 1, 2, 4 … minutes,
// and gives up after maxDeliveryAttempts.
const maxDeliveryAttempts = 6

// Generate implements pmassist.StandupGenerator.
func (s *Standups) Generate(ctx context.Context, date string, deliver bool) (*pmassist.Standup, error) {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.cfg.Tenants.FindTenantByID(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if deliver && !pmassist.PlanFor(t.Tier).Has(pmassist.FeatureDelivery) {
		return nil, pmassist.Errorf(pmassist.EPAYMENTREQUIRED, "delivering standups to Slack and email is a Pro feature; generate without delivery, or upgrade")
	}
	cfg, err := s.cfg.Configs.TenantConfig(ctx)
	if err != nil {
		return nil, err
	}
	loc := cfg.Location()
	var day time.Time
	if date == "" {
		day = pmassist.DefaultStandupDate(s.cfg.Now(), loc, cfg.Standup.Weekdays)
	} else if day, err = time.ParseInLocation("2006-01-02", date, loc); err != nil {
		return nil, pmassist.FieldError(map[string]string{"date": "a date such as 2026-11-27"})
	}
	from, to := StandupWindow(day, loc)
	if from.After(s.cfg.Now()) {
		return nil, pmassist.FieldError(map[string]string{"date": "must not be in the future"})
	}
	items, err := s.cfg.Items.ItemsUpdatedBetween(ctx, from, to)
	if err != nil {
		return nil, err
	}
	fromUTC, toUTC := from.UTC(), to.UTC()
	decisions, err := s.decisionsBetween(ctx, fromUTC, toUTC)
	if err != nil {
		return nil, err
	}
	teammates, err := s.cfg.Teammates.ListTeammates(ctx)
	if err != nil {
		return nil, err
	}
	st := ComposeStandup(StandupInput{Date: day, Location: loc, Items: items, Decisions: decisions, Teammates: teammates,
		Tenant: t.ID, BaseURL: s.cfg.BaseURL})
	if deliver {
		st.Deliveries = s.plannedDeliveries(ctx, cfg)
	}
	if err := s.cfg.Standups.SaveStandup(ctx, st); err != nil {
		return nil, err
	}
	if deliver {
		return s.deliver(ctx, st, decisions, true)
	}
	return st, nil
}

func (s *Standups) decisionsBetween(ctx context.Context, from, to time.Time) ([]*pmassist.Decision, error) {
	var out []*pmassist.Decision
	f := pmassist.DecisionFilter{From: &from, To: &to, Limit: 200}
	for {
		page, next, err := s.cfg.Decisions.ListDecisions(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, d := range page {
			if d.Status != pmassist.DecisionRejected {
				out = append(out, d)
			}
		}
		if next == "" {
			return out, nil
		}
		f.Cursor = next
	}
}

// plannedDeliveries lists where a standup goes: the configured Slack
// channel and email recipients.
func (s *Standups) plannedDeliveries(ctx context.Context, cfg pmassist.TenantConfig) []pmassist.Delivery {
	now := s.cfg.Now().UTC()
	var ds []pmassist.Delivery
	if ch := cfg.Standup.SlackChannel; ch != "" {
		ds = append(ds, pmassist.Delivery{Channel: pmassist.DeliverySlack, Target: ch, Status: pmassist.DeliveryPending, UpdatedAt: now})
	}
	if len(cfg.Standup.EmailTo) > 0 {
		ds = append(ds, pmassist.Delivery{Channel: pmassist.DeliveryEmail, Target: strings.Join(cfg.Standup.EmailTo, ", "), Status: pmassist.DeliveryPending, UpdatedAt: now})
	}
	return ds
}

// Deliver implements pmassist.StandupGenerator: it retries now whatever has
// not been sent, whatever its backoff says.
func (s *Standups) Deliver(ctx context.Context, id string) (*pmassist.Standup, error) {
	st, err := s.cfg.Standups.FindStandup(ctx, id)
	if err != nil {
		return nil, err
	}
	tenantID, _ := pmassist.TenantRequired(ctx)
	t, err := s.cfg.Tenants.FindTenantByID(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	if !pmassist.PlanFor(t.Tier).Has(pmassist.FeatureDelivery) {
		return nil, pmassist.Errorf(pmassist.EPAYMENTREQUIRED, "delivering standups is a Pro feature")
	}
	if len(st.Deliveries) == 0 {
		cfg, err := s.cfg.Configs.TenantConfig(ctx)
		if err != nil {
			return nil, err
		}
		st.Deliveries = s.plannedDeliveries(ctx, cfg)
		if len(st.Deliveries) == 0 {
			return nil, pmassist.Errorf(pmassist.EINVALID, "no Slack channel or email recipients are set for standups; set them in Settings")
		}
	}
	decisions, err := s.decisionsOf(ctx, st)
	if err != nil {
		return nil, err
	}
	return s.deliver(ctx, st, decisions, true)
}

func (s *Standups) decisionsOf(ctx context.Context, st *pmassist.Standup) ([]*pmassist.Decision, error) {
	var out []*pmassist.Decision
	for _, id := range st.DecisionIDs {
		d, err := s.cfg.Decisions.FindDecision(ctx, id)
		if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
			continue
		} else if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// deliver tries each delivery that is pending, or failed and due (or any
// unsent one when force is set), and records the outcome with backoff.
func (s *Standups) deliver(ctx context.Context, st *pmassist.Standup, decisions []*pmassist.Decision, force bool) (*pmassist.Standup, error) {
	now := s.cfg.Now().UTC()
	changed := false
	for i := range st.Deliveries {
		d := &st.Deliveries[i]
		if d.Status == pmassist.DeliverySent {
			continue
		}
		if !force && (d.Status == pmassist.DeliveryAbandoned || (d.NextTryAt != nil && now.Before(*d.NextTryAt))) {
			continue
		}
		changed = true
		err := s.send(ctx, st, decisions, d)
		d.Attempts++
		d.UpdatedAt = now
		if err == nil {
			d.Status, d.LastError, d.NextTryAt = pmassist.DeliverySent, "", nil
			sent := now
			d.SentAt = &sent
			continue
		}
		d.LastError = pmassist.ErrorMessage(err)
		if pmassist.ErrorCode(err) == pmassist.EINTERNAL {
			d.LastError = err.Error()
		}
		if d.Attempts >= maxDeliveryAttempts {
			d.Status, d.NextTryAt = pmassist.DeliveryAbandoned, nil
		} else {
			d.Status = pmassist.DeliveryFailed
			next := now.Add(time.Minute << (d.Attempts - 1))
			d.NextTryAt = &next
		}
		s.cfg.Logger.WarnContext(ctx, "standup delivery failed", "standup_id", st.ID, "channel", d.Channel, "attempts", d.Attempts, "error", d.LastError)
	}
	if !changed {
		return st, nil
	}
	return s.cfg.Standups.UpdateDeliveries(ctx, st.ID, st.Deliveries)
}

func (s *Standups) send(ctx context.Context, st *pmassist.Standup, decisions []*pmassist.Decision, d *pmassist.Delivery) error {
	switch d.Channel {
	case pmassist.DeliverySlack:
		connID, err := s.slackConnection(ctx)
		if err != nil {
			return err
		}
		_, err = s.cfg.Slack.PostMessage(ctx, connID, d.Target, st.Markdown)
		return err
	case pmassist.DeliveryEmail:
		if s.cfg.Mailer == nil {
			return pmassist.Errorf(pmassist.EINVALID, "email is not configured on this appliance (PMASSIST_SMTP_URL)")
		}
		var to []string
		for _, a := range strings.Split(d.Target, ",") {
			if a = strings.TrimSpace(a); a != "" {
				to = append(to, a)
			}
		}
		subject := "Standup — " + st.Date
		return s.cfg.Mailer.SendMail(ctx, to, subject, StandupText(st, decisions, s.cfg.BaseURL), StandupHTML(st, decisions, s.cfg.BaseURL))
	}
	return fmt.Errorf("unknown delivery channel %q", d.Channel)
}

// slackConnection picks the connected Slack workspace to post with.
func (s *Standups) slackConnection(ctx context.Context) (string, error) {
	conns, err := s.cfg.Connections.ListConnections(ctx)
	if err != nil {
		return "", err
	}
	for _, c := range conns {
		if c.Service == pmassist.ServiceSlack && c.Status != pmassist.ConnectionNeedsReauth {
			return c.ID, nil
		}
	}
	return "", pmassist.Errorf(pmassist.EINVALID, "no working Slack connection to post the standup with; connect Slack")
}

// RetryDue retries every tenant's failed deliveries whose backoff passed
// (the background pass).
func (s *Standups) RetryDue(ctx context.Context, tenantIDs []string) {
	for _, tid := range tenantIDs {
		tctx := pmassist.NewContextWithTenant(ctx, tid)
		list, _, err := s.cfg.Standups.ListStandups(tctx, "", 7)
		if err != nil {
			s.cfg.Logger.ErrorContext(ctx, "listing standups failed", "tenant_id", tid, "error", err)
			continue
		}
		for _, st := range list {
			if !hasDue(st, s.cfg.Now()) {
				continue
			}
			decisions, err := s.decisionsOf(tctx, st)
			if err == nil {
				_, err = s.deliver(tctx, st, decisions, false)
			}
			if err != nil {
				s.cfg.Logger.ErrorContext(ctx, "retrying a standup delivery failed", "standup_id", st.ID, "error", err)
			}
		}
	}
}

func hasDue(st *pmassist.Standup, now time.Time) bool {
	for _, d := range st.Deliveries {
		if d.Status == pmassist.DeliveryFailed && (d.NextTryAt == nil || !now.Before(*d.NextTryAt)) {
			return true
		}
	}
	return false
}
