package ui

import (
	"strings"
)

// standupView is the data of the "standup" partial, which renders one
// standup in full on the standups page (the latest) and on its own page.
type standupView struct {
	S          StandupRow
	CanDeliver bool   // show the deliver form
	CSRFToken  string // for the "csrf" partial
	ShowTitle  bool   // show the date as a heading (else it is for screen readers only)
}

// newStandupView is the template func "standupView".
func newStandupView(s StandupRow, canDeliver bool, csrf string, showTitle bool) standupView {
	return standupView{S: s, CanDeliver: canDeliver, CSRFToken: csrf, ShowTitle: showTitle}
}

// dateLabel is how a standup's day is named: its label, else its date.
func dateLabel(s StandupRow) string {
	if l := strings.TrimSpace(s.DateLabel); l != "" {
		return l
	}
	if s.Date != "" {
		return s.Date
	}
	return "Undated"
}

// activePeople are the people of a standup with something to report.
func activePeople(people []StandupPersonRow) []StandupPersonRow {
	var out []StandupPersonRow
	for _, p := range people {
		if !p.NoActivity {
			out = append(out, p)
		}
	}
	return out
}

// quietNames are the names of the people with no activity.
func quietNames(people []StandupPersonRow) []string {
	var out []string
	for _, p := range people {
		if p.NoActivity {
			out = append(out, personName(p.Name))
		}
	}
	return out
}

// personName is a name, or a stand-in for an empty one.
func personName(name string) string {
	if n := strings.TrimSpace(name); n != "" {
		return n
	}
	return "Someone"
}

// entryTitle is an entry's title, or a description of an untitled one
// such as a chat message.
func entryTitle(e StandupEntryRow) string {
	if t := strings.TrimSpace(e.Title); t != "" {
		return t
	}
	if e.ServiceTitle != "" || e.Service != "" {
		return entryKind(e)
	}
	return "Untitled " + strings.ToLower(kindText(e.Type))
}

// entryKind says where an entry comes from: "GitHub pull request".
func entryKind(e StandupEntryRow) string {
	service := e.ServiceTitle
	if service == "" {
		service = e.Service
	}
	if service == "" {
		return kindText(e.Type)
	}
	return service + " " + strings.ToLower(kindText(e.Type))
}

// entryGroup is one list of a person's standup card.
type entryGroup struct {
	Title, Class string // Class: done | progress | blockers
	Entries      []StandupEntryRow
}

// entryGroups are a person's non-empty lists: Done, In progress, Blockers.
func entryGroups(p StandupPersonRow) []entryGroup {
	var out []entryGroup
	for _, g := range []entryGroup{
		{"Done", "done", p.Done},
		{"In progress", "progress", p.InProgress},
		{"Blockers", "blockers", p.Blockers},
	} {
		if len(g.Entries) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// stateKind maps an entry's state (a provider's word: "merged", "Done",
// "Blocked", "In Progress" …) onto a badge colour: green when finished,
// red when blocked, neutral otherwise.
func stateKind(state string) string {
	s := strings.ToLower(strings.TrimSpace(state))
	switch {
	case s == "merged" || s == "done" || s == "completed" || s == "closed" || s == "shipped" || s == "released":
		return "ok"
	case strings.Contains(s, "block"):
		return "error"
	}
	return "neutral"
}

// deliveryKind maps a delivery status onto a badge colour: green when sent,
// amber while pending or failed (it is retried), red once abandoned.
func deliveryKind(status string) string {
	switch status {
	case "sent":
		return "ok"
	case "pending", "failed":
		return "warn"
	case "abandoned":
		return "error"
	}
	return "neutral"
}

// deliveryText is the label of a delivery status.
func deliveryText(status string) string {
	switch status {
	case "sent":
		return "Sent"
	case "pending":
		return "Pending"
	case "failed":
		return "Failed, will retry"
	case "abandoned":
		return "Abandoned"
	case "":
		return "Unknown"
	}
	return status
}

// channelText is the label of a delivery channel.
func channelText(channel string) string {
	switch channel {
	case "slack":
		return "Slack"
	case "email":
		return "Email"
	case "":
		return "Channel"
	}
	return channel
}

// channelIcon maps a delivery channel onto an icon of the "icon" partial.
func channelIcon(channel string) string {
	switch channel {
	case "slack", "email":
		return channel
	}
	return "link"
}

// undelivered reports whether some delivery is not sent yet, so that a
// retry would do something.
func undelivered(ds []DeliveryRow) bool {
	for _, d := range ds {
		if d.Status != "sent" {
			return true
		}
	}
	return false
}

// identityLabel names an identity in the link select:
// "Slack · Ada (U123)".
func identityLabel(i IdentityRow) string {
	service := i.ServiceTitle
	if service == "" {
		service = i.Service
	}
	if service == "" {
		service = "Service"
	}
	handle := strings.TrimSpace(i.Handle)
	if handle == "" {
		handle = i.Email
	}
	switch {
	case handle == "" && i.ExternalID == "":
		return service
	case handle == "":
		return service + " · " + i.ExternalID
	case i.ExternalID == "" || i.ExternalID == handle:
		return service + " · " + handle
	}
	return service + " · " + handle + " (" + i.ExternalID + ")"
}

// identityGroup is the identities of one person, an <optgroup> of the link
// select.
type identityGroup struct {
	Name       string
	Identities []IdentityRow
}

// otherIdentities are the identities of everybody but the person with id,
// grouped by person, for the link select.
func otherIdentities(people []PersonRow, id string) []identityGroup {
	var out []identityGroup
	for _, p := range people {
		if p.ID == id || len(p.Identities) == 0 {
			continue
		}
		out = append(out, identityGroup{Name: personName(p.Name), Identities: p.Identities})
	}
	return out
}
