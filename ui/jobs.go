package ui

import (
	"strconv"
	"time"
)

// jobKind maps a job status onto a badge colour: green when it succeeded,
// amber while it waits or runs and when it ended partially, red when it
// failed. app.js holds the same mapping for the statuses it polls.
func jobKind(status string) string {
	switch status {
	case "succeeded":
		return "ok"
	case "partial", "queued", "running":
		return "warn"
	case "failed":
		return "error"
	}
	return "neutral"
}

// jobText is the label of a job status, in lower case (badges capitalise it
// with CSS, sentences use it as it is).
func jobText(status string) string {
	if status == "" {
		return "unknown"
	}
	return status
}

// jobActive reports whether a job may still change, so that the page polls it.
func jobActive(status string) bool {
	return status == "queued" || status == "running"
}

// triggerText is the label of what started a job.
func triggerText(trigger string) string {
	switch trigger {
	case "manual":
		return "Manual"
	case "schedule":
		return "Scheduled"
	case "webhook":
		return "Webhook"
	case "":
		return "—"
	}
	return trigger
}

// jobWhen is the moment a job last changed state: when it finished, else
// when it started, else when it was created.
func jobWhen(j JobRow) time.Time {
	switch {
	case j.FinishedAt != nil:
		return *j.FinishedAt
	case j.StartedAt != nil:
		return *j.StartedAt
	}
	return j.CreatedAt
}

// jobDuration is how long a job ran: "42 s", "3 min 5 s", "1 h 20 min";
// "running…" while it runs, "waiting…" while queued and "—" when it ended
// without ever starting.
func jobDuration(j JobRow) string {
	switch {
	case j.FinishedAt == nil && (j.StartedAt != nil || j.Status == "running"):
		return "running…"
	case j.FinishedAt == nil && j.Status == "queued":
		return "waiting…"
	case j.FinishedAt == nil || j.StartedAt == nil:
		return "—"
	}
	return formatDuration(j.FinishedAt.Sub(*j.StartedAt))
}

// formatDuration writes d coarsely, in at most two units. app.js mirrors it.
func formatDuration(d time.Duration) string {
	switch {
	case d < time.Second:
		return "under 1 s"
	case d < time.Minute:
		return strconv.Itoa(int(d/time.Second)) + " s"
	case d < time.Hour:
		m, s := int(d/time.Minute), int(d%time.Minute/time.Second)
		if s == 0 {
			return strconv.Itoa(m) + " min"
		}
		return strconv.Itoa(m) + " min " + strconv.Itoa(s) + " s"
	}
	h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
	if m == 0 {
		return strconv.Itoa(h) + " h"
	}
	return strconv.Itoa(h) + " h " + strconv.Itoa(m) + " min"
}

// weekday is one checkbox of the standup days.
type weekday struct {
	N           int // 1 = Monday … 7 = Sunday
	Short, Name string
}

var weekdayList = []weekday{
	{1, "Mon", "Monday"}, {2, "Tue", "Tuesday"}, {3, "Wed", "Wednesday"}, {4, "Thu", "Thursday"},
	{5, "Fri", "Friday"}, {6, "Sat", "Saturday"}, {7, "Sun", "Sunday"},
}
