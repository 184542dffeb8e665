package slack

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseHistoryRate reads PMASSIST_SLACK_HISTORY_RATE ("50/min", "1/min",
// "2/s", "100/h") and returns the interval between two
// conversations.history calls: 50/min is 1.2 s, 1/min is 60 s.
func ParseHistoryRate(s string) (time.Duration, error) {
	n, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	count, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil || count <= 0 {
		return 0, fmt.Errorf("history rate %q: want a positive number of calls per unit, such as 50/min", s)
	}
	var per time.Duration
	switch strings.ToLower(strings.TrimSpace(unit)) {
	case "s", "sec", "second":
		per = time.Second
	case "m", "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	default:
		return 0, fmt.Errorf("history rate %q: the unit must be s, min or h", s)
	}
	return per / time.Duration(count), nil
}
