package ui

import (
	"strconv"
	"time"
)

// FormatBytes writes a size for people in binary units: "512 B",
// "1.5 KiB", "12.3 MiB", "120 GiB". A negative size is "unknown".
func FormatBytes(n int64) string {
	if n < 0 {
		return "unknown"
	}
	if n < 1024 {
		return formatInt(int(n)) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v, i := float64(n)/1024, 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	// 3 significant figures at most: "1.5 MiB", "12.3 MiB", "120 MiB".
	prec := 1
	if v >= 100 {
		prec = 0
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if s == "1024" { // 1023.6 KiB rounds up to the next unit
		return FormatBytes(n + 1024)
	}
	return s + " " + units[i]
}

// bytesText is the template func "bytes": FormatBytes for the integer
// types the page structs use.
func bytesText(v any) string {
	switch n := v.(type) {
	case int:
		return FormatBytes(int64(n))
	case int64:
		return FormatBytes(n)
	case uint64:
		if n > 1<<62 {
			return "unknown"
		}
		return FormatBytes(int64(n))
	}
	return "unknown"
}

// formatSpan writes a length of time coarsely, in at most two units, with
// days for long ones: "42 s", "3 min 5 s", "6 h", "1 day", "3 days 4 h".
func formatSpan(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	const day = 24 * time.Hour
	if d < day {
		return formatDuration(d)
	}
	days, h := int(d/day), int(d%day/time.Hour)
	s := plural(days, "day", "days")
	if h > 0 {
		s += " " + strconv.Itoa(h) + " h"
	}
	return s
}

// IndexKind is the badge colour of the search index state.
func (p OperatorSystemPage) IndexKind() string {
	switch p.IndexState {
	case "ready":
		return "ok"
	case "building":
		return "warn"
	case "failed":
		return "error"
	}
	return "neutral"
}

// IndexText is the label of the search index state.
func (p OperatorSystemPage) IndexText() string {
	switch p.IndexState {
	case "ready":
		return "Ready"
	case "building":
		return "Rebuilding"
	case "failed":
		return "Failed"
	case "":
		return "Unknown"
	}
	return p.IndexState
}

// DocsText is the number of documents in the search index: "12,345".
func (p OperatorSystemPage) DocsText() string {
	if p.IndexDocs > 1<<62 {
		return strconv.FormatUint(p.IndexDocs, 10)
	}
	return formatInt(int(p.IndexDocs))
}

// ItemsText is a tenant's items this month against its plan: "4,321 of
// 5,000 items", or "7 items" when unlimited.
func (r TenantRow) ItemsText() string { return usageText(r.ItemsUsed, r.ItemsLimit, "item", "items") }

// IntegrationsText is a tenant's connections against its plan: "1 of 1
// integration", or "3 integrations" when unlimited.
func (r TenantRow) IntegrationsText() string {
	return usageText(r.IntegrationsUsed, r.IntegrationsLimit, "integration", "integrations")
}

// ItemsFull and IntegrationsFull report a limit reached.
func (r TenantRow) ItemsFull() bool { return r.ItemsLimit >= 0 && r.ItemsUsed >= r.ItemsLimit }

// IntegrationsFull reports that the tenant may connect nothing more.
func (r TenantRow) IntegrationsFull() bool {
	return r.IntegrationsLimit >= 0 && r.IntegrationsUsed >= r.IntegrationsLimit
}

func usageText(used, limit int, one, many string) string {
	if limit < 0 {
		return plural(used, one, many)
	}
	return formatInt(used) + " of " + plural(limit, one, many)
}
