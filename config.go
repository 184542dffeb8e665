package pmassist

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// TenantConfig is a tenant's settings (api.md GET/PUT /api/v1/tenant/config).
type TenantConfig struct {
	Timezone                 string         `json:"timezone"`
	SlackChannels            []string       `json:"slack_channels"`
	LinearTeamIDs            []string       `json:"linear_team_ids"`
	GitHubOrgs               []string       `json:"github_orgs"`
	GitHubRepos              []string       `json:"github_repos"`
	IngestionIntervalMinutes int            `json:"ingestion_interval_minutes"`
	Decisions                DecisionConfig `json:"decisions"`
	Standup                  StandupConfig  `json:"standup"`
}

// DecisionConfig holds a tenant's own detection phrases and reaction.
type DecisionConfig struct {
	Phrases  []string `json:"phrases"`
	Reaction string   `json:"reaction"`
}

// StandupConfig schedules and addresses the daily standup.
type StandupConfig struct {
	Enabled      bool     `json:"enabled"`
	Time         string   `json:"time"`     // "09:30"
	Weekdays     []int    `json:"weekdays"` // 1 = Monday … 7 = Sunday
	SlackChannel string   `json:"slack_channel"`
	EmailTo      []string `json:"email_to"`
}

// Defaults of a new tenant's configuration.
const (
	DefaultIngestionInterval = 60 // minutes
	DefaultDecisionReaction  = "white_check_mark"
	MinIngestionInterval     = 5
	MaxIngestionInterval     = 7 * 24 * 60
)

// DefaultTenantConfig is the configuration of a tenant that saved none.
func DefaultTenantConfig() TenantConfig {
	return TenantConfig{
		Timezone: "UTC", SlackChannels: []string{}, LinearTeamIDs: []string{}, GitHubOrgs: []string{}, GitHubRepos: []string{},
		IngestionIntervalMinutes: DefaultIngestionInterval,
		Decisions:                DecisionConfig{Phrases: []string{}, Reaction: DefaultDecisionReaction},
		Standup:                  StandupConfig{Time: "09:30", Weekdays: []int{1, 2, 3, 4, 5}, EmailTo: []string{}},
	}
}

// Location returns the configuration's time zone (UTC when invalid).
func (c *TenantConfig) Location() *time.Location {
	if loc, err := time.LoadLocation(c.Timezone); err == nil {
		return loc
	}
	return time.UTC
}

var (
	slackChannelRe = regexp.MustCompile(`^(#?[a-z0-9][a-z0-9._-]{0,79}|[CG][A-Z0-9]{2,20})$`)
	ghNameRe       = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$`)
	ghRepoRe       = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$`)
	linearTeamRe   = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	reactionRe     = regexp.MustCompile(`^[a-z0-9_+'-]{1,100}$`)
	clockRe        = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

// Validate normalizes the configuration and names every field at fault.
func (c *TenantConfig) Validate() error {
	f := map[string]string{}
	if c.Timezone == "" {
		c.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(c.Timezone); err != nil || strings.EqualFold(c.Timezone, "local") {
		f["timezone"] = "unknown time zone; use an IANA name such as Europe/Berlin"
	}
	c.SlackChannels = cleanList(c.SlackChannels, channelName)
	checkList(f, "slack_channels", c.SlackChannels, 100, slackChannelRe, "channel ids (C0123…) or names")
	c.LinearTeamIDs = cleanList(c.LinearTeamIDs, nil)
	checkList(f, "linear_team_ids", c.LinearTeamIDs, 100, linearTeamRe, "Linear team ids")
	c.GitHubOrgs = cleanList(c.GitHubOrgs, nil)
	checkList(f, "github_orgs", c.GitHubOrgs, 50, ghNameRe, "GitHub organization logins")
	c.GitHubRepos = cleanList(c.GitHubRepos, nil)
	checkList(f, "github_repos", c.GitHubRepos, 200, ghRepoRe, "owner/repo names")
	if c.IngestionIntervalMinutes == 0 {
		c.IngestionIntervalMinutes = DefaultIngestionInterval
	}
	if c.IngestionIntervalMinutes < MinIngestionInterval || c.IngestionIntervalMinutes > MaxIngestionInterval {
		f["ingestion_interval_minutes"] = fmt.Sprintf("must be from %d to %d", MinIngestionInterval, MaxIngestionInterval)
	}
	c.Decisions.Phrases = cleanList(c.Decisions.Phrases, strings.ToLower)
	if len(c.Decisions.Phrases) > 100 {
		f["decisions.phrases"] = "at most 100 phrases"
	}
	for _, p := range c.Decisions.Phrases {
		if len(p) < 3 || len(p) > 100 {
			f["decisions.phrases"] = "each phrase must have 3 to 100 characters"
		}
	}
	// ":white_check_mark:" as Slack shows it; spaces and colons are trimmed
	// together, so that validating again changes nothing.
	c.Decisions.Reaction = strings.TrimFunc(c.Decisions.Reaction, func(r rune) bool { return r == ':' || unicode.IsSpace(r) })
	if c.Decisions.Reaction == "" {
		c.Decisions.Reaction = DefaultDecisionReaction
	}
	if !reactionRe.MatchString(c.Decisions.Reaction) {
		f["decisions.reaction"] = "an emoji name such as white_check_mark"
	}
	if c.Standup.Time == "" {
		c.Standup.Time = "09:30"
	}
	if !clockRe.MatchString(c.Standup.Time) {
		f["standup.time"] = "must be HH:MM (24 h)"
	}
	seen := map[int]bool{}
	for _, d := range c.Standup.Weekdays {
		if d < 1 || d > 7 || seen[d] {
			f["standup.weekdays"] = "days 1 (Monday) to 7 (Sunday), each once"
		}
		seen[d] = true
	}
	if c.Standup.Weekdays == nil {
		c.Standup.Weekdays = []int{}
	}
	c.Standup.SlackChannel = channelName(strings.TrimSpace(c.Standup.SlackChannel))
	if c.Standup.SlackChannel != "" && !slackChannelRe.MatchString(c.Standup.SlackChannel) {
		f["standup.slack_channel"] = "a channel id (C0123…) or name"
	}
	c.Standup.EmailTo = cleanList(c.Standup.EmailTo, NormalizeEmail)
	for _, e := range c.Standup.EmailTo {
		if !ValidateEmail(e) {
			f["standup.email_to"] = fmt.Sprintf("%q is not an email address", e)
		}
	}
	if len(c.Standup.EmailTo) > 50 {
		f["standup.email_to"] = "at most 50 recipients"
	}
	if len(f) > 0 {
		return FieldError(f)
	}
	return nil
}

// channelName drops the '#' a channel is shown with — every leading '#'
// and space, so that validating again changes nothing ("# #eng" once gave
// " #eng", and "##eng" "#eng", which the next save changed again).
func channelName(s string) string {
	return strings.TrimLeftFunc(s, func(r rune) bool { return r == '#' || unicode.IsSpace(r) })
}

// cleanList trims, maps, drops empties and duplicates, and never returns nil.
func cleanList(in []string, m func(string) string) []string {
	out := []string{}
	seen := map[string]bool{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if m != nil {
			s = m(s)
		}
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

func checkList(f map[string]string, field string, list []string, max int, re *regexp.Regexp, what string) {
	if len(list) > max {
		f[field] = fmt.Sprintf("at most %d entries", max)
		return
	}
	for _, s := range list {
		if !re.MatchString(s) {
			f[field] = fmt.Sprintf("%q is not valid; expected %s", s, what)
			return
		}
	}
}

// TenantConfigService stores the context tenant's configuration.
type TenantConfigService interface {
	// TenantConfig returns the saved configuration, or the defaults.
	TenantConfig(ctx context.Context) (TenantConfig, error)
	PutTenantConfig(ctx context.Context, c TenantConfig) error
}

// DefaultStandupDate is the day a standup run at now reports: the previous
// working day in loc. Working days are weekdays (1 = Monday … 7 = Sunday);
// none configured means Monday to Friday, so that on a Monday, Saturday or
// Sunday it is the Friday before. The result is the day's first instant in
// loc.
func DefaultStandupDate(now time.Time, loc *time.Location, weekdays []int) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	work := [8]bool{}
	anyDay := false
	for _, w := range weekdays {
		if w >= 1 && w <= 7 {
			work[w], anyDay = true, true
		}
	}
	if !anyDay {
		for w := 1; w <= 5; w++ {
			work[w] = true
		}
	}
	y, m, d := now.In(loc).Date()
	for back := 1; back <= 7; back++ {
		day := time.Date(y, m, d-back, 12, 0, 0, 0, time.UTC)
		wd := int(day.Weekday())
		if wd == 0 {
			wd = 7
		}
		if work[wd] {
			return DayStart(day.Year(), day.Month(), day.Day(), loc)
		}
	}
	return DayStart(y, m, d-1, loc) // not reached: some day of a week works
}

// DayStart is the first instant of the calendar day y-m-d in loc: local
// midnight, or the first instant after it when a clock change skips it.
func DayStart(y int, m time.Month, d int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, 0, 0, 0, 0, loc)
	want := time.Date(y, m, d, 0, 0, 0, 0, time.UTC) // normalised (d may overflow)
	day := func(x time.Time) time.Time {
		yy, mm, dd := x.In(loc).Date()
		return time.Date(yy, mm, dd, 0, 0, 0, 0, time.UTC)
	}
	if day(t).Equal(want) && day(t.Add(-time.Nanosecond)).Before(want) {
		return t
	}
	// Midnight fell in a clock change: search for the day's first instant.
	lo, hi := t.Add(-4*time.Hour), t.Add(4*time.Hour)
	if !day(lo).Before(want) || day(hi).Before(want) {
		return t
	}
	for hi.Sub(lo) > time.Nanosecond {
		mid := lo.Add(hi.Sub(lo) / 2)
		if day(mid).Before(want) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return hi
}
