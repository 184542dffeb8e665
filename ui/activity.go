package ui

import (
	"math"
	"strconv"
	"strings"
)

// The ingestion chart is drawn in user units: every day gets a slot of
// activitySlot units holding a bar activityBarWidth wide, and the tallest
// bar is activityHeight high. The SVG stretches to the card's width.
const (
	activitySlot     = 10
	activityBarWidth = 7
	activityHeight   = 100
	// activityMinBar keeps a non-zero segment visible however small its
	// share, so that "some" never looks like "none".
	activityMinBar = 0.5
)

// activity is the geometry of the dashboard's ingestion chart, computed by
// the template func "activity" so that the template does no arithmetic.
type activity struct {
	Empty         bool
	Width, Height int    // the viewBox
	Mid           string // the y of the half-way grid line
	Bars          []activityBar
	Legend        []activityLegend
	Top           string   // the y-axis label at the top: the scale's maximum
	XLabels       []string // the first, middle and last day
	Summary       string   // aria-label of the chart
	Titles        []string // the series' titles, for the table of numbers
}

// activityBar is one day: its stacked segments (first series at the bottom)
// and, for the table of numbers, the counts and total.
type activityBar struct {
	Day      string
	Counts   []int
	Total    int
	Segments []activitySegment
}

// activitySegment is one <rect>: Class is a known series name.
type activitySegment struct {
	Class, Title string
	X, Y, W, H   string
}

// activityLegend is one legend entry with the series' total.
type activityLegend struct {
	Class, Title string
	Total        int
}

// seriesClass maps a service onto a CSS colour class, so that a class is
// never made of arbitrary text.
func seriesClass(service string) string {
	switch service {
	case "slack", "linear", "github":
		return service
	}
	return "other"
}

// barHeight is the height of count on a scale where max fills height, in
// user units, at least activityMinBar for any positive count.
func barHeight(count, max int, height float64) float64 {
	if count <= 0 || max <= 0 {
		return 0
	}
	h := float64(min(count, max)) * height / float64(max)
	return math.Max(h, activityMinBar)
}

// coord formats a coordinate with at most two decimals: 12.5, 33.33, 40.
func coord(v float64) string {
	return strconv.FormatFloat(math.Round(v*100)/100, 'f', -1, 64)
}

// newActivity lays out the chart. Counts missing for a day count as zero;
// the scale is the larger of c.Max and the largest day total actually seen.
func newActivity(c ActivityChart) activity {
	a := activity{Width: len(c.Days) * activitySlot, Height: activityHeight}
	totals := make([]int, len(c.Series))
	top := max(c.Max, 0)
	for i, day := range c.Days {
		b := activityBar{Day: day, Counts: make([]int, len(c.Series))}
		for j, s := range c.Series {
			if i < len(s.Counts) && s.Counts[i] > 0 {
				b.Counts[j] = s.Counts[i]
				b.Total += s.Counts[i]
				totals[j] += s.Counts[i]
			}
		}
		top = max(top, b.Total)
		a.Bars = append(a.Bars, b)
	}
	if top == 0 {
		a.Empty = true
		return a
	}
	a.Top = formatInt(top)
	a.Mid = coord(activityHeight / 2)

	for i := range a.Bars {
		b := &a.Bars[i]
		base := float64(activityHeight)
		for j, s := range c.Series {
			n := b.Counts[j]
			if n == 0 {
				continue
			}
			h := barHeight(n, top, activityHeight)
			base -= h
			b.Segments = append(b.Segments, activitySegment{
				Class: seriesClass(s.Service),
				Title: b.Day + " · " + seriesTitle(s) + ": " + formatInt(n),
				X:     coord(float64(i*activitySlot) + float64(activitySlot-activityBarWidth)/2),
				Y:     coord(math.Max(base, 0)),
				W:     coord(activityBarWidth),
				H:     coord(h),
			})
		}
	}

	var total int
	var parts []string
	for j, s := range c.Series {
		a.Legend = append(a.Legend, activityLegend{Class: seriesClass(s.Service), Title: seriesTitle(s), Total: totals[j]})
		a.Titles = append(a.Titles, seriesTitle(s))
		parts = append(parts, seriesTitle(s)+" "+formatInt(totals[j]))
		total += totals[j]
	}
	n := len(c.Days)
	a.XLabels = append(a.XLabels, c.Days[0])
	if n/2 > 0 {
		a.XLabels = append(a.XLabels, c.Days[n/2])
	}
	if n-1 > n/2 {
		a.XLabels = append(a.XLabels, c.Days[n-1])
	}
	a.Summary = "Items ingested per day over the last " + plural(n, "day", "days") + ": " +
		formatInt(total) + " in total (" + strings.Join(parts, ", ") + "); at most " +
		formatInt(top) + " on one day."
	return a
}

func seriesTitle(s ActivitySeries) string {
	if s.Title != "" {
		return s.Title
	}
	if s.Service != "" {
		return s.Service
	}
	return "Other"
}
