package ui

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// decisionStatuses are the decision statuses in the order the timeline
// stacks them, bottom first: the settled ones at the base.
var decisionStatuses = []string{"accepted", "proposed", "superseded", "rejected"}

// decisionClass maps a decision status onto a CSS class suffix
// (status-accepted …), so that a class is never made of arbitrary text.
func decisionClass(status string) string {
	switch status {
	case "accepted", "proposed", "superseded", "rejected":
		return status
	}
	return "other"
}

// decisionText is the label of a decision status.
func decisionText(status string) string {
	switch status {
	case "accepted":
		return "Accepted"
	case "proposed":
		return "Proposed"
	case "superseded":
		return "Superseded"
	case "rejected":
		return "Rejected"
	case "":
		return "Unknown"
	}
	return status
}

// originText is the label of a decision's origin.
func originText(origin string) string {
	switch origin {
	case "detected":
		return "Detected"
	case "manual":
		return "Added by hand"
	case "":
		return "Unknown"
	}
	return origin
}

// percent writes a confidence between 0 and 1 as a whole percentage.
func percent(v float64) string {
	if math.IsNaN(v) {
		return "—"
	}
	return strconv.Itoa(int(math.Round(min(max(v, 0), 1)*100))) + "%"
}

// signalText explains one detection signal ("phrase:we decided",
// "reaction:white_check_mark", "negated", …) in words.
func signalText(signal string) string {
	kind, val, _ := strings.Cut(signal, ":")
	switch kind {
	case "marker":
		return "Explicit marker “" + val + "”"
	case "phrase":
		return "Decision phrase “" + val + "”"
	case "custom", "custom_phrase":
		return "Your own phrase “" + val + "”"
	case "reaction":
		return "Reaction :" + strings.Trim(val, ":") + ": on the message"
	case "label":
		return "Linear label “" + val + "”"
	case "adr":
		if val == "" {
			return "The pull request adds an ADR"
		}
		return "The pull request adds an ADR: " + val
	case "title":
		return "Title “" + val + "”"
	case "negated":
		return "Negated (“not”, “haven’t”…): confidence lowered"
	case "question":
		return "Asked as a question: confidence lowered"
	case "thread":
		return "Several replies in the thread agree"
	}
	return signal
}

// kindText is the label of a source or result kind.
func kindText(kind string) string {
	switch kind {
	case "message":
		return "Message"
	case "issue":
		return "Issue"
	case "pull_request":
		return "Pull request"
	case "decision":
		return "Decision"
	case "link":
		return "Link"
	case "":
		return "Source"
	}
	return kind
}

// kindIcon maps a source or result kind onto an icon of the "icon" partial.
func kindIcon(kind string) string {
	switch kind {
	case "message", "issue", "pull_request", "link":
		return kind
	case "decision":
		return "decisions"
	}
	return "link"
}

// exportHref is the URL of a decision-log export in format with the
// current filters. The query is parsed and encoded again, so that it only
// ever adds query parameters (and never a second format).
func exportHref(format, query string) string {
	v, _ := url.ParseQuery(strings.TrimLeft(query, "?&"))
	v.Del("format")
	v.Del("cursor")
	href := "/api/v1/decision-logs/export?format=" + url.QueryEscape(format)
	if q := v.Encode(); q != "" {
		href += "&" + q
	}
	return href
}

// resultLink is where a search result's title links: External is set for
// provider URLs, which open in a new tab. Href is "" when the result has no
// safe link.
type resultLink struct {
	Href     string
	External bool
}

// newResultLink accepts an absolute http(s) URL, or a path under
// /decisions/ on this site; anything else is no link.
func newResultLink(href string) resultLink {
	if u := httpURL(href); u != "" {
		return resultLink{Href: u, External: true}
	}
	if strings.HasPrefix(href, "/decisions/") && linkURL(href) != "" {
		return resultLink{Href: href}
	}
	return resultLink{}
}

// resultTitle is a result's title, or a description of it for untitled
// results such as chat messages.
func resultTitle(r SearchResultRow) string {
	if t := strings.TrimSpace(r.Title); t != "" {
		return t
	}
	switch {
	case r.Type == "message" && r.Channel != "":
		return "Message in " + r.Channel
	case r.Author != "":
		return kindText(r.Type) + " by " + r.Author
	}
	return "Untitled " + strings.ToLower(kindText(r.Type))
}

// The decisions timeline is drawn like the activity chart: every week gets
// a slot of timelineSlot units holding a bar timelineBarWidth wide, and the
// busiest week is timelineHeight high.
const (
	timelineSlot     = 20
	timelineBarWidth = 12
	timelineHeight   = 100
)

// timeline is the geometry of the decisions timeline, computed by the
// template func "timeline".
type timeline struct {
	Empty         bool
	Width, Height int    // the viewBox
	Mid           string // the y of the half-way grid line
	Top           string // the y-axis label at the top
	Bars          []activityBar
	Legend        []activityLegend
	Titles        []string // the status columns of the table of numbers
	Labels        []string // one per week
	Summary       string   // aria-label of the chart
}

// newTimeline lays out weeks of decisions as bars stacked by status.
// Unknown statuses are counted together as "Other"; negative counts as
// zero.
func newTimeline(weeks []TimelineWeek) timeline {
	tl := timeline{Width: len(weeks) * timelineSlot, Height: timelineHeight}
	statuses := slices.Clone(decisionStatuses)
	if slices.ContainsFunc(weeks, func(w TimelineWeek) bool {
		for s, n := range w.Counts {
			if n > 0 && decisionClass(s) == "other" {
				return true
			}
		}
		return false
	}) {
		statuses = append(statuses, "other")
	}
	count := func(w TimelineWeek, status string) int {
		if status != "other" {
			return max(w.Counts[status], 0)
		}
		n := 0
		for s, c := range w.Counts {
			if c > 0 && decisionClass(s) == "other" {
				n += c
			}
		}
		return n
	}

	totals := make([]int, len(statuses))
	top := 0
	for _, w := range weeks {
		b := activityBar{Day: w.Label, Counts: make([]int, len(statuses))}
		for j, s := range statuses {
			n := count(w, s)
			b.Counts[j] = n
			b.Total += n
			totals[j] += n
		}
		top = max(top, b.Total)
		tl.Bars = append(tl.Bars, b)
		tl.Labels = append(tl.Labels, w.Label)
	}
	for j, s := range statuses {
		title := decisionText(s)
		if s == "other" {
			title = "Other"
		}
		tl.Legend = append(tl.Legend, activityLegend{Class: s, Title: title, Total: totals[j]})
		tl.Titles = append(tl.Titles, title)
	}
	if top == 0 {
		tl.Empty = true
		return tl
	}
	tl.Top = formatInt(top)
	tl.Mid = coord(timelineHeight / 2)

	for i := range tl.Bars {
		b := &tl.Bars[i]
		base := float64(timelineHeight)
		for j, s := range statuses {
			n := b.Counts[j]
			if n == 0 {
				continue
			}
			h := barHeight(n, top, timelineHeight)
			base -= h
			b.Segments = append(b.Segments, activitySegment{
				Class: s,
				Title: "Week of " + b.Day + " · " + tl.Legend[j].Title + ": " + formatInt(n),
				X:     coord(float64(i*timelineSlot) + float64(timelineSlot-timelineBarWidth)/2),
				Y:     coord(math.Max(base, 0)),
				W:     coord(timelineBarWidth),
				H:     coord(h),
			})
		}
	}

	total := 0
	var parts []string
	for j, l := range tl.Legend {
		total += totals[j]
		parts = append(parts, l.Title+" "+formatInt(totals[j]))
	}
	tl.Summary = "Decisions per week over the last " + plural(len(weeks), "week", "weeks") + ": " +
		formatInt(total) + " in total (" + strings.Join(parts, ", ") + "); at most " +
		formatInt(top) + " in one week."
	return tl
}

// firstDecisions is the template func "first": at most n decisions.
func firstDecisions(n int, ds []DecisionRow) []DecisionRow {
	if len(ds) > n {
		return ds[:max(n, 0)]
	}
	return ds
}

// sourceText names a source: "Slack message", "GitHub pull request", or
// "Link" for a manual one.
func sourceText(s SourceRow) string {
	service := s.ServiceTitle
	if service == "" {
		service = s.Service
	}
	if service == "" {
		return kindText(s.Kind)
	}
	if s.Kind == "" {
		return service
	}
	return service + " " + strings.ToLower(kindText(s.Kind))
}
