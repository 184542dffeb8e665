package fake

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SlackChannel is a conversation of the Slack stand-in.
type SlackChannel struct {
	ID         string
	Name       string
	IsMember   bool // the app's bot user is in it
	IsPrivate  bool
	IsArchived bool
	Created    int64 // Unix seconds
	Topic      string
}

// SlackUser is a member of the stand-in's workspace.
type SlackUser struct {
	ID          string
	Name        string // the handle
	RealName    string
	DisplayName string // may be empty, as on Slack
	Email       string
	TZ          string
	IsBot       bool
}

// SlackReaction is an emoji reaction on a message.
type SlackReaction struct {
	Name  string
	Users []string
}

// SlackMessage is a stored message. Thread replies carry the parent's ts in
// ThreadTS; a parent's thread_ts, reply_count and latest_reply are derived
// from its replies when served.
type SlackMessage struct {
	TS      string // "1700000000.000100"; AddMessage assigns one when empty
	Subtype string // "", "bot_message", "thread_broadcast", "channel_join", "tombstone"…
	User    string // empty for most bot_message messages
	BotID   string
	// Username is a bot message's display name; BotName its bot_profile name.
	Username string
	BotName  string
	Text     string
	ThreadTS string // the parent's ts, for replies
	// Reactions in the order they were first added.
	Reactions []SlackReaction
	EditedTS  string // edited.ts, when edited
	EditedBy  string // edited.user
}

// SlackData is the content of the stand-in's workspace: channels, users and
// messages (per channel id, oldest first, thread replies included).
type SlackData struct {
	Channels []SlackChannel
	Users    []SlackUser
	Messages map[string][]SlackMessage
}

// Clone returns a deep copy.
func (d *SlackData) Clone() *SlackData {
	out := &SlackData{
		Channels: slices.Clone(d.Channels),
		Users:    slices.Clone(d.Users),
		Messages: make(map[string][]SlackMessage, len(d.Messages)),
	}
	for id, ms := range d.Messages {
		cp := make([]SlackMessage, len(ms))
		for i, m := range ms {
			cp[i] = m.clone()
		}
		out.Messages[id] = cp
	}
	return out
}

func (m SlackMessage) clone() SlackMessage {
	m.Reactions = slices.Clone(m.Reactions)
	for i := range m.Reactions {
		m.Reactions[i].Users = slices.Clone(m.Reactions[i].Users)
	}
	return m
}

// isReply reports whether m is a thread reply (not a parent, not a plain
// message).
func (m *SlackMessage) isReply() bool { return m.ThreadTS != "" && m.ThreadTS != m.TS }

// Channel ids of the seeded workspace.
const (
	SlackChanEng           = "C0ACME0ENG"
	SlackChanProduct       = "C0ACME0PRD"
	SlackChanDesign        = "C0ACME0DSG"
	SlackChanRandom        = "C0ACME0RND" // the bot is not a member
	SlackChanAnnouncements = "C0ACME0ANN"
	SlackChanOps           = "C0ACME0OPS"
	SlackChanLeads         = "G0ACME0LDS" // private
	SlackChanArchived      = "C0ACME0OLD" // archived, the bot is not a member
)

// Bots that post bot_message messages without a user.
const (
	SlackDeployBotID = "B0DEPLOY01"
	SlackGitHubBotID = "B0GITHUB01"
)

// slackSeedUsers share the @acme.test addresses of the Linear and GitHub
// stand-ins (alice, carol, frank, grace), so people merge across services.
var slackSeedUsers = []SlackUser{
	{ID: SlackAuthedUser, Name: "alice", RealName: "Alice Martin", DisplayName: "Alice", Email: "alice@acme.test", TZ: "Europe/Berlin"},
	{ID: "U0ACME0BOB", Name: "bob", RealName: "Bob Chen", DisplayName: "bob", Email: "bob@acme.test", TZ: "America/New_York"},
	{ID: "U0ACME0CAR", Name: "carol", RealName: "Carol Diaz", DisplayName: "Carol D.", Email: "carol@acme.test", TZ: "Europe/Madrid"},
	{ID: "U0ACME0DAN", Name: "dan", RealName: "Dan Okafor", DisplayName: "", Email: "dan@acme.test", TZ: "Europe/London"},
	{ID: "U0ACME0EVE", Name: "eve", RealName: "Eve Novak", DisplayName: "eve", Email: "eve@acme.test", TZ: "Europe/Prague"},
	{ID: "U0ACME0FRK", Name: "frank", RealName: "Frank Weber", DisplayName: "frank", Email: "frank@acme.test", TZ: "Europe/Berlin"},
	{ID: "U0ACME0GRC", Name: "grace", RealName: "Grace Kim", DisplayName: "grace", Email: "grace@acme.test", TZ: "America/Los_Angeles"},
	{ID: SlackBotUserID, Name: "pmassist", RealName: "PM Assistant", DisplayName: "", Email: "", TZ: "America/Los_Angeles", IsBot: true},
}

var (
	slackAlice = slackSeedUsers[0].ID
	slackBob   = slackSeedUsers[1].ID
	slackCarol = slackSeedUsers[2].ID
	slackDan   = slackSeedUsers[3].ID
	slackEve   = slackSeedUsers[4].ID
	slackFrank = slackSeedUsers[5].ID
	slackGrace = slackSeedUsers[6].ID
)

// slackChannelSeed describes how a seeded channel is filled.
type slackChannelSeed struct {
	ch        SlackChannel
	posters   []string
	perDay    [2]int // filler messages per day, min and max
	lines     []string
	botShare  float64 // share of filler messages posted by a bot
	botLines  []string
	botID     string
	botName   string
	threadPct float64
}

var slackSeedChannels = []slackChannelSeed{
	{
		ch:      SlackChannel{ID: SlackChanEng, Name: "eng", IsMember: true, Topic: "Engineering: builds, reviews, incidents"},
		posters: []string{slackAlice, slackBob, slackCarol, slackDan, slackFrank}, perDay: [2]int{9, 13}, threadPct: 0.25,
		lines: []string{
			"Pushed the fix for the flaky auth test, CI is green again",
			"Anyone else seeing timeouts from the staging database?",
			"Reviewing the webhook retry PR now",
			"I'll pair with Carol on the migration this afternoon",
			"Heads up: bumping the Go toolchain on main today",
			"The search reindex took 4 minutes on the big tenant, I'll look at batching",
			"Can someone look at the memory spike in the worker? Graph is in the incident doc",
			"Merged the retry loop refactor",
			"I'm blocked on the API keys for the payment sandbox",
			"Rolling out the new rate limiter behind a flag",
			"Flaky test again in the scheduler package, quarantining it",
			"Opened a draft PR for the bulk import endpoint, early feedback welcome",
			"Benchmarks for the store are in the perf channel notes: p99 down to 40ms",
			"Dependency update batch is ready for review",
			"Who owns the nightly backup job? It failed twice this week",
			"The staging deploy is stuck waiting on the migration lock",
			"Added tracing to the ingestion path, spans look reasonable",
			"Writing up the postmortem for Tuesday's outage",
		},
		botShare: 0.12, botID: SlackGitHubBotID, botName: "github",
		botLines: []string{
			"Pull request #412 merged: Retry loop for provider clients",
			"Pull request #418 opened: Bulk import endpoint",
			"Pull request #420 merged: Bump golang.org/x/crypto",
			"Build failed on main: TestSchedulerDrift",
			"Pull request #421 opened: Tracing for ingestion",
		},
	},
	{
		ch:      SlackChannel{ID: SlackChanProduct, Name: "product", IsMember: true, Topic: "Roadmap, customers, launches"},
		posters: []string{slackAlice, slackEve, slackGrace, slackBob}, perDay: [2]int{5, 8}, threadPct: 0.3,
		lines: []string{
			"Customer call with Northwind went well, they want SSO before renewing",
			"Updated the roadmap doc with the Q1 themes",
			"Three support tickets this week about CSV export encoding",
			"Draft of the launch blog post is in the shared folder",
			"Interview notes from the two design partners are up",
			"Churn dashboard shows the free tier dropping off at day 3",
			"Can we get a rough estimate for the audit log export?",
			"Pricing page copy needs another pass",
			"Sales asked whether on-prem installs can run without internet",
			"Feature request: Slack digest for decisions, adding it to the backlog",
			"NPS responses are in: 42, up from 35",
			"Reminder: roadmap review on Thursday",
		},
	},
	{
		ch:      SlackChannel{ID: SlackChanDesign, Name: "design", IsMember: true, Topic: "UI, UX, brand"},
		posters: []string{slackFrank, slackGrace, slackEve}, perDay: [2]int{3, 6}, threadPct: 0.3,
		lines: []string{
			"New mockups for the decision timeline are in Figma",
			"Usability test recordings from Tuesday are uploaded",
			"The empty state for search needs an illustration",
			"Dark mode contrast fails on the secondary buttons",
			"Trying a denser table layout for the jobs page",
			"Icon set refresh is 80% done",
			"Feedback on the onboarding flow: step 3 is confusing",
			"Exported the usage meter components",
		},
	},
	{
		ch:      SlackChannel{ID: SlackChanRandom, Name: "random", IsMember: false, Topic: "Anything goes"},
		posters: []string{slackAlice, slackBob, slackCarol, slackDan, slackEve, slackFrank, slackGrace}, perDay: [2]int{3, 6}, threadPct: 0.2,
		lines: []string{
			"Lunch at the noodle place?",
			"Who left the oat milk in the fridge since last month",
			"Great talk at the meetup yesterday",
			"Coffee machine is fixed!",
			"Photos from the hike are in the shared album",
			"Anyone up for board games on Friday?",
		},
	},
	{
		ch:      SlackChannel{ID: SlackChanAnnouncements, Name: "announcements", IsMember: true, Topic: "Company news"},
		posters: []string{slackAlice, slackEve}, perDay: [2]int{0, 2}, threadPct: 0.1,
		lines: []string{
			"Welcome Grace, who joins us as product designer!",
			"The office is closed on Monday for maintenance",
			"All-hands moved to Thursday 16:00",
			"Benefits enrolment closes at the end of the month",
			"Company offsite dates are confirmed, details in the wiki",
		},
	},
	{
		ch:      SlackChannel{ID: SlackChanOps, Name: "ops", IsMember: true, Topic: "Deploys, on-call, alerts"},
		posters: []string{slackDan, slackBob, slackCarol}, perDay: [2]int{5, 8}, threadPct: 0.2,
		lines: []string{
			"Taking over on-call from Bob",
			"Disk usage on the backup host is at 85%",
			"Rotated the TLS certificates on the edge proxies",
			"Paging alert was a false positive, tuning the threshold",
			"Restarted the queue workers after the config change",
			"Backups verified: restore test passed",
		},
		botShare: 0.45, botID: SlackDeployBotID, botName: "deploybot",
		botLines: []string{
			"Deployed api v1.42.0 to production",
			"Deployed web v3.8.1 to staging",
			"Deployed worker v1.42.0 to production",
			"Rollback of api v1.41.2 finished",
			"Alert resolved: p99 latency back under 300ms",
			"Alert firing: error rate above 2% on ingestion",
		},
	},
	{
		ch:      SlackChannel{ID: SlackChanLeads, Name: "leads", IsMember: true, IsPrivate: true, Topic: "Leadership"},
		posters: []string{slackAlice, slackEve, slackDan}, perDay: [2]int{1, 3}, threadPct: 0.3,
		lines: []string{
			"Budget review draft is ready",
			"Board deck due next Wednesday",
			"Candidate for the backend role did well in the systems interview",
			"Q1 OKRs draft shared, comments by Friday please",
		},
	},
}

var slackArchivedSeed = SlackChannel{ID: SlackChanArchived, Name: "old-launch", IsArchived: true, Topic: "Launch 2024"}

var slackReplyLines = []string{
	"Sounds good",
	"On it",
	"+1",
	"Can you share the link?",
	"Done",
	"Looking now",
	"Thanks!",
	"I can take this one",
	"Let me check and get back to you",
	"Nice work",
	"Agreed",
	"Not sure, let's discuss at standup",
}

var slackFillerReactions = []string{"+1", "eyes", "tada", "heart", "rocket", "raised_hands"}

// slackScripted is a thread the seed always contains: the decisions, questions
// and blockers a week of a small team produces.
type slackScripted struct {
	channel string
	day     int // index into the seeded weekdays, oldest first
	hour    int
	user    string
	text    string
	react   []SlackReaction
	replies []slackScriptedReply
}

type slackScriptedReply struct {
	user      string
	text      string
	react     []SlackReaction
	broadcast bool
}

func slackCheck(users ...string) []SlackReaction {
	return []SlackReaction{{Name: "white_check_mark", Users: users}}
}

var slackScriptedThreads = []slackScripted{
	{channel: SlackChanEng, day: 0, hour: 10, user: slackAlice,
		text: "Should we decide on Postgres vs bbolt for the job queue before Friday?",
		replies: []slackScriptedReply{
			{user: slackBob, text: "I'd lean towards bbolt, one less thing to run on-prem"},
			{user: slackCarol, text: "Agreed, fewer moving parts. Postgres only if we need cross-node queues"},
			{user: slackDan, text: "Fine by me as long as we keep the interface narrow"},
			{user: slackAlice, text: "OK, we decided: bbolt for the job queue, revisit at 10k jobs/min.", react: slackCheck(slackBob, slackCarol), broadcast: true},
		}},
	{channel: SlackChanEng, day: 1, hour: 15, user: slackDan,
		text:  "Decision: we freeze the public API on Thursday; breaking changes after that go to v2.",
		react: append(slackCheck(slackAlice, slackBob), SlackReaction{Name: "+1", Users: []string{slackCarol}})},
	{channel: SlackChanEng, day: 2, hour: 11, user: slackCarol,
		text: "Retry policy for provider calls: exponential backoff with jitter or fixed delay?",
		replies: []slackScriptedReply{
			{user: slackBob, text: "Backoff with jitter, fixed delays stampede after an outage"},
			{user: slackCarol, text: "Let's go with exponential backoff with full jitter, capped at one minute."},
		}},
	{channel: SlackChanEng, day: 3, hour: 9, user: slackFrank,
		text: "I'm blocked on the staging certificate, the deploy can't reach the webhook endpoint"},
	{channel: SlackChanEng, day: 4, hour: 14, user: slackBob,
		text: "Should we decide whether to drop Go 1.25 support, or wait until next month?"},
	{channel: SlackChanProduct, day: 0, hour: 14, user: slackEve,
		text: "Pricing: per-seat or usage-based for the pro tier?",
		replies: []slackScriptedReply{
			{user: slackGrace, text: "Usage-based matches how the design partners think about it"},
			{user: slackAlice, text: "Per-seat is easier to forecast though"},
			{user: slackEve, text: "We've agreed on usage-based pricing for pro, with a seat cap on free. #decision", react: slackCheck(slackAlice, slackGrace)},
		}},
	{channel: SlackChanProduct, day: 2, hour: 16, user: slackGrace,
		text: "Should we decide on the launch date now or wait for the QA report?",
		replies: []slackScriptedReply{
			{user: slackEve, text: "Wait for QA, the report is due Monday"},
		}},
	{channel: SlackChanProduct, day: 3, hour: 10, user: slackAlice,
		text:  "Final call: SSO ships in the enterprise tier only.",
		react: slackCheck(slackEve)},
	{channel: SlackChanDesign, day: 1, hour: 11, user: slackFrank,
		text:  "After yesterday's review we decided to use the sidebar navigation for the dashboard.",
		react: []SlackReaction{{Name: "white_check_mark", Users: []string{slackGrace}}, {Name: "art", Users: []string{slackEve}}}},
	{channel: SlackChanDesign, day: 3, hour: 15, user: slackGrace,
		text: "Timeline view: horizontal or vertical?",
		replies: []slackScriptedReply{
			{user: slackFrank, text: "Vertical scrolls better on phones"},
			{user: slackGrace, text: "Let's go with vertical, I'll update the mockups"},
		}},
	{channel: SlackChanOps, day: 1, hour: 9, user: slackDan,
		text:  "Going forward we will rotate on-call weekly on Mondays at 10:00.",
		react: slackCheck(slackBob, slackCarol)},
	{channel: SlackChanOps, day: 4, hour: 11, user: slackCarol,
		text: "We are still blocked by the DNS change at the registrar, waiting on their support"},
	{channel: SlackChanLeads, day: 2, hour: 13, user: slackAlice,
		text: "Hiring plan for Q1?",
		replies: []slackScriptedReply{
			{user: slackEve, text: "Two backend engineers and one designer"},
			{user: slackAlice, text: "DECISION: we hire two backend engineers in Q1; the designer role moves to Q2.", react: slackCheck(slackEve, slackDan)},
		}},
	{channel: SlackChanAnnouncements, day: 4, hour: 17, user: slackAlice,
		text: "We decided to move the all-hands to Thursdays starting next month."},
	{channel: SlackChanRandom, day: 2, hour: 12, user: slackBob,
		text: "We decided on the noodle place for the team lunch, 12:30!"},
}

// NewSlackData seeds a realistic week of a small team's Slack workspace:
// the five weekdays before end's date (UTC), working hours only. The same
// seed and day give the same data.
func NewSlackData(seed uint64, end time.Time) *SlackData {
	rng := rand.New(rand.NewPCG(seed, 0x51ac4))
	day := time.Date(end.UTC().Year(), end.UTC().Month(), end.UTC().Day(), 0, 0, 0, 0, time.UTC)
	var days []time.Time
	for d := day.AddDate(0, 0, -1); len(days) < 5; d = d.AddDate(0, 0, -1) {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			days = append(days, d)
		}
	}
	slices.Reverse(days)
	created := days[0].AddDate(-1, 0, 0).Unix()

	d := &SlackData{Users: slices.Clone(slackSeedUsers), Messages: map[string][]SlackMessage{}}
	b := &slackSeedBuilder{rng: rng, data: d, used: map[string]map[string]bool{}}
	for _, cs := range slackSeedChannels {
		ch := cs.ch
		ch.Created = created
		d.Channels = append(d.Channels, ch)
		if ch.IsMember {
			b.add(ch.ID, SlackMessage{Subtype: "channel_join", User: SlackBotUserID, Text: "<@" + SlackBotUserID + "> has joined the channel"},
				days[0].Add(7*time.Hour+time.Duration(rng.IntN(3600))*time.Second))
		}
		for _, dd := range days {
			n := cs.perDay[0] + rng.IntN(cs.perDay[1]-cs.perDay[0]+1)
			for range n {
				at := dd.Add(8*time.Hour + time.Duration(rng.IntN(10*3600))*time.Second)
				var m SlackMessage
				if cs.botShare > 0 && rng.Float64() < cs.botShare {
					m = SlackMessage{Subtype: "bot_message", BotID: cs.botID, Username: cs.botName, Text: slackPick(rng, cs.botLines)}
				} else {
					m = SlackMessage{User: slackPick(rng, cs.posters), Text: slackPick(rng, cs.lines)}
					if rng.Float64() < 0.15 {
						m.Reactions = b.reactions(cs.posters, m.User)
					}
				}
				parent := b.add(ch.ID, m, at)
				if m.Subtype == "" && rng.Float64() < cs.threadPct {
					for i, k := 0, 1+rng.IntN(4); i < k; i++ {
						at = at.Add(time.Duration(1+rng.IntN(90)) * time.Minute)
						r := SlackMessage{User: slackPick(rng, cs.posters), Text: slackPick(rng, slackReplyLines), ThreadTS: parent}
						if rng.Float64() < 0.1 {
							r.Reactions = b.reactions(cs.posters, r.User)
						}
						b.add(ch.ID, r, at)
					}
				}
			}
		}
	}
	d.Channels = append(d.Channels, SlackChannel{ID: slackArchivedSeed.ID, Name: slackArchivedSeed.Name, IsArchived: true, Created: created, Topic: slackArchivedSeed.Topic})
	d.Messages[slackArchivedSeed.ID] = nil
	b.add(slackArchivedSeed.ID, SlackMessage{User: slackEve, Text: "Launch retro notes are in the wiki"}, days[0].AddDate(0, -6, 0).Add(10*time.Hour))

	for _, s := range slackScriptedThreads {
		at := days[s.day].Add(time.Duration(s.hour)*time.Hour + time.Duration(rng.IntN(50*60))*time.Second)
		parent := b.add(s.channel, SlackMessage{User: s.user, Text: s.text, Reactions: s.react}, at)
		for _, r := range s.replies {
			at = at.Add(time.Duration(2+rng.IntN(40)) * time.Minute)
			m := SlackMessage{User: r.user, Text: r.text, ThreadTS: parent, Reactions: r.react}
			if r.broadcast {
				m.Subtype = "thread_broadcast"
			}
			b.add(s.channel, m, at)
		}
	}
	for id := range d.Messages {
		sortSlackMessages(d.Messages[id])
	}
	return d
}

type slackSeedBuilder struct {
	rng  *rand.Rand
	data *SlackData
	used map[string]map[string]bool
}

// add stores m at the moment at with a ts unique in its channel and returns
// the ts.
func (b *slackSeedBuilder) add(channel string, m SlackMessage, at time.Time) string {
	if b.used[channel] == nil {
		b.used[channel] = map[string]bool{}
	}
	micro := b.rng.IntN(1_000_000)
	ts := formatSlackTS(at.Unix(), micro)
	for b.used[channel][ts] {
		micro = (micro + 1) % 1_000_000
		ts = formatSlackTS(at.Unix(), micro)
	}
	b.used[channel][ts] = true
	m.TS = ts
	b.data.Messages[channel] = append(b.data.Messages[channel], m)
	return ts
}

func (b *slackSeedBuilder) reactions(people []string, author string) []SlackReaction {
	name := slackPick(b.rng, slackFillerReactions)
	var users []string
	for _, p := range people {
		if p != author && b.rng.IntN(2) == 0 {
			users = append(users, p)
		}
	}
	if len(users) == 0 {
		users = []string{author}
	}
	return []SlackReaction{{Name: name, Users: users}}
}

func slackPick(rng *rand.Rand, from []string) string { return from[rng.IntN(len(from))] }

// formatSlackTS formats a Slack ts: seconds, a dot, six digits of microseconds.
func formatSlackTS(sec int64, micro int) string { return fmt.Sprintf("%d.%06d", sec, micro) }

// slackTS is a parsed ts, comparable as a number.
type slackTS struct{ sec, micro int64 }

func (a slackTS) cmp(b slackTS) int {
	switch {
	case a.sec != b.sec:
		return slackCmp(a.sec, b.sec)
	default:
		return slackCmp(a.micro, b.micro)
	}
}

func slackCmp(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// parseSlackTS reads "1700000000.000100" (the fraction may be shorter, or
// missing).
func parseSlackTS(s string) (slackTS, bool) {
	secPart, frac, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secPart, 10, 64)
	if err != nil || sec < 0 || len(frac) > 6 {
		return slackTS{}, false
	}
	var micro int64
	if frac != "" {
		micro, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64)
		if err != nil || micro < 0 {
			return slackTS{}, false
		}
	}
	return slackTS{sec, micro}, true
}

func mustSlackTS(s string) slackTS {
	t, _ := parseSlackTS(s)
	return t
}

// sortSlackMessages orders messages oldest first by ts.
func sortSlackMessages(ms []SlackMessage) {
	slices.SortStableFunc(ms, func(a, b SlackMessage) int { return mustSlackTS(a.TS).cmp(mustSlackTS(b.TS)) })
}
