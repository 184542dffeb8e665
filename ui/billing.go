package ui

import (
	"time"
	"unicode"
	"unicode/utf8"
)

// billingStatus is the subscription summary of the billing page: a word or
// two for the badge, its colour, and a sentence under it.
type billingStatus struct {
	Text, Kind, Note string // Kind: ok | warn | error | neutral
}

// StatusSummary describes the subscription in words: "Active", "Payment
// failed — grace period until Dec 5", "Cancels on Dec 31", "No
// subscription"; with billing off, that the operator manages the plan.
func (p BillingPage) StatusSummary() billingStatus {
	plan := p.PlanName()
	if !p.Enabled {
		return billingStatus{Text: "Managed by your operator", Kind: "neutral",
			Note: "Billing is managed by the operator of this appliance: there is nothing to pay here. Ask them if you need a different plan."}
	}
	if p.GraceUntil != "" {
		return billingStatus{Text: "Payment failed — grace period until " + p.GraceUntil, Kind: "error",
			Note: "Update the payment method before then to keep the " + plan + " plan. If the workspace moves to the Free plan, nothing is deleted: connections over its limit are paused."}
	}
	switch p.Status {
	case "active", "trialing":
		s := billingStatus{Text: "Active", Kind: "ok"}
		if p.Status == "trialing" {
			s.Text = "Trial"
		}
		switch {
		case p.CancelAtPeriodEnd && p.CurrentPeriodEnd != "":
			s.Text, s.Kind = "Cancels on "+p.CurrentPeriodEnd, "warn"
			s.Note = "You keep the " + plan + " plan until then; after that this workspace moves to the Free plan. Nothing is deleted."
		case p.CancelAtPeriodEnd:
			s.Text, s.Kind = "Cancels at the end of the period", "warn"
			s.Note = "After that this workspace moves to the Free plan. Nothing is deleted."
		case p.CurrentPeriodEnd != "" && p.Status == "trialing":
			s.Note = "The trial ends on " + p.CurrentPeriodEnd + "."
		case p.CurrentPeriodEnd != "":
			s.Note = "Renews on " + p.CurrentPeriodEnd + "."
		}
		return s
	case "past_due", "unpaid":
		return billingStatus{Text: "Payment failed", Kind: "error", Note: "Update the payment method to keep the " + plan + " plan."}
	case "incomplete":
		return billingStatus{Text: "Payment incomplete", Kind: "warn", Note: "The first payment has not gone through yet."}
	case "incomplete_expired":
		return billingStatus{Text: "Checkout expired", Kind: "neutral", Note: "The first payment was never completed, so no subscription was started."}
	case "paused":
		return billingStatus{Text: "Paused", Kind: "warn", Note: "The subscription is paused."}
	case "canceled":
		return billingStatus{Text: "Canceled", Kind: "neutral", Note: "The subscription has ended."}
	case "", "none":
		return billingStatus{Text: "No subscription", Kind: "neutral"}
	}
	return billingStatus{Text: p.Status, Kind: "neutral"}
}

// PlanName is the display name of the effective tier: the Name of its plan
// card, else the tier itself.
func (p BillingPage) PlanName() string {
	for _, c := range p.Plans {
		if c.Tier == p.Tier && c.Name != "" {
			return c.Name
		}
	}
	if p.Tier == "" {
		return "Free"
	}
	r, n := utf8.DecodeRuneInString(p.Tier)
	return string(unicode.ToUpper(r)) + p.Tier[n:]
}

// PeriodLabel is the usage period "2026-11" as "November 2026" (the raw
// value when it is not a month).
func (p BillingPage) PeriodLabel() string {
	t, err := time.Parse("2006-01", p.Period)
	if err != nil {
		return p.Period
	}
	return t.Format("January 2006")
}

// limitText describes a plan limit: "1 integration", "3 integrations", or
// unlimited (a negative n) as the given text.
func limitText(n int, one, many, unlimited string) string {
	if n < 0 {
		return unlimited
	}
	return plural(n, one, many)
}
