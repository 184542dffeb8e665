package ui

import (
	"fmt"
	"html/template"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// funcs returns the template functions. None of them returns template.HTML:
// everything they produce is escaped by html/template like any other value.
func (t *Templates) funcs() template.FuncMap {
	return template.FuncMap{
		"static":     t.staticURL,
		"reltime":    func(v time.Time) string { return relTime(v, t.now()) },
		"rfc3339":    func(v time.Time) string { return v.Format(time.RFC3339) },
		"httpURL":    httpURL,
		"linkURL":    linkURL,
		"pathseg":    url.PathEscape,
		"num":        formatInt,
		"plural":     plural,
		"meter":      newMeter,
		"initial":    initial,
		"bannerKind": bannerKind,
		"statusKind": statusKind,
		"input":      newField,
		"hasString":  slices.Contains[[]string],
		"healthKind": healthKind,
		"healthText": healthText,
		"past":       func(v time.Time) bool { return !v.IsZero() && v.Before(t.now()) },
		"errorsIf":   errorsIf,

		"hasInt":      slices.Contains[[]int],
		"weekdays":    func() []weekday { return weekdayList },
		"jobKind":     jobKind,
		"jobText":     jobText,
		"jobActive":   jobActive,
		"jobWhen":     jobWhen,
		"jobDuration": jobDuration,
		"triggerText": triggerText,
		"activity":    newActivity,

		"timeline":     newTimeline,
		"decisionKind": decisionClass,
		"decisionText": decisionText,
		"originText":   originText,
		"percent":      percent,
		"signalText":   signalText,
		"kindText":     kindText,
		"kindIcon":     kindIcon,
		"exportHref":   exportHref,
		"resultLink":   newResultLink,
		"resultTitle":  resultTitle,
		"first":        firstDecisions,
		"sourceText":   sourceText,

		"standupView":     newStandupView,
		"dateLabel":       dateLabel,
		"activePeople":    activePeople,
		"quietNames":      quietNames,
		"personName":      personName,
		"entryTitle":      entryTitle,
		"entryKind":       entryKind,
		"entryGroups":     entryGroups,
		"stateKind":       stateKind,
		"deliveryKind":    deliveryKind,
		"deliveryText":    deliveryText,
		"channelText":     channelText,
		"channelIcon":     channelIcon,
		"undelivered":     undelivered,
		"identityLabel":   identityLabel,
		"otherIdentities": otherIdentities,

		"limitText": limitText,

		"bytes": bytesText,
		"span":  formatSpan,
	}
}

// relTime describes t relative to now: "just now", "3 min ago", "2 h ago",
// "5 days ago", "in 6 days", and a plain date beyond 30 days.
func relTime(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	var s string
	switch {
	case d < time.Minute:
		if future {
			return "in less than a minute"
		}
		return "just now"
	case d < time.Hour:
		s = strconv.Itoa(int(d/time.Minute)) + " min"
	case d < 24*time.Hour:
		s = strconv.Itoa(int(d/time.Hour)) + " h"
	case d < 30*24*time.Hour:
		s = plural(int(d/(24*time.Hour)), "day", "days")
	default:
		return t.Format("2 Jan 2006")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// httpURL returns raw when it is an absolute http or https URL, and "" for
// anything else (javascript:, data:, relative, unparsable), so that only web
// links become links.
func httpURL(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return ""
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https":
		return u.String()
	}
	return ""
}

// linkURL accepts what httpURL accepts plus absolute paths on this site
// ("/billing"), but not scheme-relative ("//host") or backslash tricks.
func linkURL(raw string) string {
	if u := httpURL(raw); u != "" {
		return u
	}
	if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") &&
		!strings.ContainsAny(raw, "\\\t\r\n") {
		return raw
	}
	return ""
}

// formatInt writes n with thousands separators: 12,345.
func formatInt(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// plural formats a count with the singular or plural noun: "1 day", "3 days".
func plural(n int, one, many string) string {
	if n == 1 {
		return formatInt(n) + " " + one
	}
	return formatInt(n) + " " + many
}

// meter is the data of a usage meter: Pct is the filled share (0–100) and
// Level is "ok", "warn" (80 % or more) or "full" (limit reached).
type meter struct {
	Label       string
	Used, Limit int
	Pct         int
	Unlimited   bool
	Level       string
}

func newMeter(label string, used, limit int) meter {
	m := meter{Label: label, Used: used, Limit: limit, Level: "ok"}
	switch {
	case limit < 0:
		m.Unlimited = true
		return m
	case limit == 0:
		if used > 0 {
			m.Pct = 100
		}
	default:
		m.Pct = min(max(used, 0)*100/limit, 100)
		if used > 0 && m.Pct == 0 {
			m.Pct = 1 // a sliver, so "some" never looks like "none"
		}
	}
	switch {
	case used > 0 && used >= limit:
		m.Level = "full"
	case m.Pct >= 80:
		m.Level = "warn"
	}
	return m
}

// initial is the upper-case first letter or digit of s, for avatars.
func initial(s string) string {
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			return string(unicode.ToUpper(r))
		}
	}
	return "?"
}

// bannerKind maps a banner kind onto the three known ones, so that a CSS
// class is never made of arbitrary text.
func bannerKind(kind string) string {
	switch kind {
	case "warn", "error":
		return kind
	}
	return "info"
}

// statusKind maps a subscription status onto a badge colour.
func statusKind(status string) string {
	switch status {
	case "active", "trialing":
		return "ok"
	case "past_due", "unpaid", "incomplete":
		return "warn"
	}
	return "neutral"
}

// healthKind maps a connection status onto a badge and dot colour: green
// when connected, amber when it needs reconnecting, red on error.
func healthKind(status string) string {
	switch status {
	case "connected":
		return "ok"
	case "needs_reauth":
		return "warn"
	case "error":
		return "error"
	case "paused":
		return "warn"
	}
	return "neutral"
}

// healthText is the label of a connection status.
func healthText(status string) string {
	switch status {
	case "connected":
		return "Connected"
	case "needs_reauth":
		return "Needs reconnecting"
	case "error":
		return "Error"
	case "paused":
		return "Paused (over the plan)"
	case "":
		return "Unknown"
	}
	return status
}

// errorsIf returns errs when cond holds and nil otherwise, so that a page
// with several forms of the same shape shows field errors on the one that
// was submitted only.
func errorsIf(cond bool, errs FormErrors) FormErrors {
	if cond {
		return errs
	}
	return nil
}

// field is the data of the "field" template: one labelled input with its
// hint and error wired up through aria-describedby.
type field struct {
	ID, Name, Label, Type, Value string
	Error, Hint, Autocomplete    string
	Required, Autofocus          bool
	MinLength                    int
	Min, Max, List               string // number bounds; the id of a <datalist>
	Rows                         int    // the height of a textarea (Type "textarea")
	Disabled, NoSpellcheck       bool
}

// DescribedBy lists the ids of the hint and error paragraphs.
func (f field) DescribedBy() string {
	var ids []string
	if f.Hint != "" {
		ids = append(ids, f.ID+"-hint")
	}
	if f.Error != "" {
		ids = append(ids, f.ID+"-error")
	}
	return strings.Join(ids, " ")
}

// newField is the template func "input". Options are "required",
// "autofocus", "autocomplete=…", "hint=…", "minlength=…", "id=…" (the
// input's id when a page holds several forms with the same field names;
// "f-" + name by default), "errkey=…" (the key of the field's error when it
// differs from the name, e.g. "decisions.phrases" for "decision_phrases"),
// "min=…", "max=…", "list=…" (a datalist id), "rows=…", "disabled" and
// "nospellcheck". A type of "textarea" makes a textarea.
func newField(name, label, typ, value string, errs FormErrors, opts ...string) (field, error) {
	f := field{ID: "f-" + name, Name: name, Label: label, Type: typ, Value: value, Error: errs[name]}
	for _, o := range opts {
		key, val, _ := strings.Cut(o, "=")
		switch key {
		case "":
			// No option: lets a template pass an option conditionally.
		case "errkey":
			f.Error = errs[val]
		case "min":
			f.Min = val
		case "max":
			f.Max = val
		case "list":
			f.List = val
		case "disabled":
			f.Disabled = true
		case "nospellcheck":
			f.NoSpellcheck = true
		case "rows":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return field{}, fmt.Errorf("ui: input %q: bad rows %q", name, val)
			}
			f.Rows = n
		case "required":
			f.Required = true
		case "autofocus":
			f.Autofocus = true
		case "autocomplete":
			f.Autocomplete = val
		case "hint":
			f.Hint = val
		case "id":
			if val == "" {
				return field{}, fmt.Errorf("ui: input %q: empty id", name)
			}
			f.ID = val
		case "minlength":
			n, err := strconv.Atoi(val)
			if err != nil {
				return field{}, fmt.Errorf("ui: input %q: bad minlength %q", name, val)
			}
			f.MinLength = n
		default:
			return field{}, fmt.Errorf("ui: input %q: unknown option %q", name, o)
		}
	}
	return f, nil
}
