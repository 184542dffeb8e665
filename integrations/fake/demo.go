package fake

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The demo week: what `pmassist demo` serves (product.md §10). One small
// team — six people with the same @acme.test addresses on Slack, Linear
// and GitHub, so that they merge into one person each — spends a working
// week on two projects: an event store for the new activity feed, and the
// rollout of checkout v2. Slack carries the discussions (a few of them end
// in a clear decision, others do not), Linear the issues (in progress,
// done, blocked, one labelled "decision"), GitHub the pull requests
// (merged, open with reviewers, a draft, an ADR). Everything happens in
// working hours on the five working days before the day the week is made
// for, the last of them being the day a default standup reports on.
//
// The week is deterministic: the same day gives the same data, ids and
// times, so that a demo restarted on its data folder finds the stand-ins
// serving exactly what it ingested before.

// DemoPerson is a member of the demo team, as each service names them.
type DemoPerson struct {
	Name, Email        string
	SlackID, SlackName string
	GitHubLogin        string
	GitHubID           int64
	LinearID           string
	Role               string
}

// DemoWeek is the content of the demo week, for all three stand-ins.
type DemoWeek struct {
	// Days are the five working days (UTC midnight), oldest first; the
	// last is the previous working day of the day the week was made for.
	Days   []time.Time
	People []DemoPerson
	Slack  *SlackData
	Issues []LinearIssue
	// Pulls holds the pull requests per repository ("acme/api").
	Pulls map[string][]GitHubPull
	// GitHubUsers are the accounts behind the pull requests.
	GitHubUsers []GitHubUser
}

// NewDemoWeek builds the demo week for the five working days before now's
// UTC date.
func NewDemoWeek(now time.Time) *DemoWeek {
	w := &DemoWeek{Days: demoDays(now), Pulls: map[string][]GitHubPull{}}
	for _, p := range demoTeam {
		w.People = append(w.People, p.person())
	}
	w.Slack = w.slackData()
	w.Issues = w.linearIssues()
	w.Pulls = w.githubPulls()
	for _, p := range demoTeam {
		w.GitHubUsers = append(w.GitHubUsers, GitHubUser{Login: p.github, ID: p.githubID, Name: p.name, Email: p.key + "@acme.test"})
	}
	w.GitHubUsers = append(w.GitHubUsers, GitHubUser{Login: "dependabot[bot]", ID: 49699333, Bot: true})
	return w
}

// Apply makes the stand-ins serve the week; a nil stand-in is left alone.
func (w *DemoWeek) Apply(s *Slack, l *Linear, g *GitHub) error {
	if s != nil {
		s.SetData(w.Slack)
	}
	if l != nil {
		l.SetIssues(w.Issues)
	}
	if g != nil {
		for _, u := range w.GitHubUsers {
			g.SetUser(u)
		}
		for _, repo := range demoRepos {
			if err := g.SetPulls(repo, w.Pulls[repo]); err != nil {
				return err
			}
		}
	}
	return nil
}

// SeedDemoWeek makes the stand-ins serve the demo week of now (see
// NewDemoWeek) and returns it.
func SeedDemoWeek(s *Slack, l *Linear, g *GitHub, now time.Time) (*DemoWeek, error) {
	w := NewDemoWeek(now)
	return w, w.Apply(s, l, g)
}

// demoDays are the five weekdays before now's UTC date, oldest first.
func demoDays(now time.Time) []time.Time {
	u := now.UTC()
	day := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	var days []time.Time
	for d := day.AddDate(0, 0, -1); len(days) < 5; d = d.AddDate(0, 0, -1) {
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			days = append(days, d)
		}
	}
	slices.Reverse(days)
	return days
}

// at is a moment of the week: "HH:MM" on day (0 … 4); a negative day
// counts working days back from the first.
func (w *DemoWeek) at(day int, hm string) time.Time {
	h, m, _ := strings.Cut(hm, ":")
	hh, _ := strconv.Atoi(h)
	mm, _ := strconv.Atoi(m)
	base := w.Days[0]
	if day >= 0 {
		base = w.Days[day]
	}
	for n := -day; n > 0; {
		base = base.AddDate(0, 0, -1)
		if wd := base.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n--
		}
	}
	return base.Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

// ---------------------------------------------------------------------------
// The team.

type demoMember struct {
	key, name, role string
	slackID         string
	github          string
	githubID        int64
}

var demoTeam = []demoMember{
	{"alice", "Alice Martin", "engineering lead", SlackAuthedUser, "alice-martin", 5551001},
	{"bob", "Bob Chen", "backend engineer", "U0ACME0BOB", "bobchen", 5551002},
	{"carol", "Carol Diaz", "backend engineer", "U0ACME0CAR", "carol-diaz", 5551003},
	{"dan", "Dan Okafor", "site reliability engineer", "U0ACME0DAN", "dokafor", 5551004},
	{"eve", "Eve Novak", "product manager", "U0ACME0EVE", "eve-novak", 5551005},
	{"frank", "Frank Weber", "product designer", "U0ACME0FRK", "fweber", 5551006},
}

func (m demoMember) person() DemoPerson {
	return DemoPerson{Name: m.name, Email: m.key + "@acme.test", SlackID: m.slackID, SlackName: m.key,
		GitHubLogin: m.github, GitHubID: m.githubID, LinearID: linearUUID("user/demo/" + m.key), Role: m.role}
}

func demoMemberOf(key string) demoMember {
	for _, m := range demoTeam {
		if m.key == key {
			return m
		}
	}
	panic("fake: no demo team member " + key)
}

func demoSlackID(key string) string { return demoMemberOf(key).slackID }

func demoLinearUser(key string) *LinearUser {
	if key == "" {
		return nil
	}
	m := demoMemberOf(key)
	return &LinearUser{ID: linearUUID("user/demo/" + key), Name: m.name, Email: key + "@acme.test"}
}

func demoLogin(key string) string {
	if strings.HasSuffix(key, "[bot]") {
		return key
	}
	return demoMemberOf(key).github
}

// ---------------------------------------------------------------------------
// Slack.

// demoSlackChannels: the bot is a member of all but #random.
var demoSlackChannels = []SlackChannel{
	{ID: SlackChanEng, Name: "eng", IsMember: true, Topic: "Engineering: event store, activity feed, checkout v2"},
	{ID: SlackChanProduct, Name: "product", IsMember: true, Topic: "Roadmap, customers, launches"},
	{ID: SlackChanDesign, Name: "design", IsMember: true, Topic: "UI, UX, copy"},
	{ID: SlackChanOps, Name: "ops", IsMember: true, Topic: "Deploys, on-call, alerts"},
	{ID: SlackChanAnnouncements, Name: "announcements", IsMember: true, Topic: "Company news"},
	{ID: SlackChanRandom, Name: "random", IsMember: false, Topic: "Anything goes"},
}

// demoFiller is the everyday chatter of a channel: none of it is a
// decision or a blocker.
type demoFiller struct {
	channel  string
	posters  []string
	perDay   [2]int
	lines    []string
	replyPct float64
	botPct   float64
	botID    string
	botName  string
	botLines []string
}

var demoReplyLines = []string{"Thanks!", "Looking now", "+1", "Nice work", "On it", "Can you share the link?", "Done", "Makes sense"}

var demoFillers = []demoFiller{
	{channel: SlackChanEng, posters: []string{"alice", "bob", "carol", "dan"}, perDay: [2]int{5, 8}, replyPct: 0.3,
		lines: []string{
			"Reviewing the events table PR now",
			"CI is green again after the cache fix",
			"Pairing with Carol on the feed pagination this afternoon",
			"Pushed a fixup for the review comments",
			"The feed query plan looks good with the new index",
			"Updated the README with the local setup for the event store",
			"Quick sync at 15:00 about the shape of the feed API?",
			"Added metrics for appends per second",
			"Rebased the checkout branch on main",
			"Load test results are in the perf doc",
			"Looking at the slow test in the billing package",
			"Staging deploy of the api finished",
		}},
	{channel: SlackChanProduct, posters: []string{"eve", "alice", "frank"}, perDay: [2]int{2, 4}, replyPct: 0.25,
		lines: []string{
			"Notes from the design partner call are in the shared folder",
			"Two more customers asked about the activity feed this week",
			"Updated the roadmap doc with the feed milestones",
			"Support volume is back to normal after the export fix",
			"Sales would love a short demo video of the feed",
			"The churn dashboard is updated with last month's numbers",
		}},
	{channel: SlackChanDesign, posters: []string{"frank", "eve"}, perDay: [2]int{1, 3}, replyPct: 0.3,
		lines: []string{
			"New mockups for the feed are in Figma",
			"Usability test recordings are uploaded",
			"Exported the icons for the feed events",
			"Tweaking the spacing on the checkout error states",
			"Feedback round on the empty states is open until tomorrow",
		}},
	{channel: SlackChanOps, posters: []string{"dan", "carol", "bob"}, perDay: [2]int{3, 5}, replyPct: 0.15,
		lines: []string{
			"Backups verified: restore test passed",
			"Rotated the staging database credentials",
			"Disk usage on the log host is at 70%, fine for now",
			"Paging alert was a false positive, tuning the threshold",
			"Restarted the queue workers after the config change",
		},
		botPct: 0.4, botID: SlackDeployBotID, botName: "deploybot",
		botLines: []string{
			"Deployed api v1.8.0 to staging",
			"Deployed web v3.4.2 to staging",
			"Deployed worker v1.8.0 to staging",
			"Alert resolved: p99 latency back under 300ms",
		}},
	{channel: SlackChanRandom, posters: []string{"alice", "bob", "carol", "dan", "eve", "frank"}, perDay: [2]int{1, 3}, replyPct: 0.2,
		lines: []string{
			"Lunch at the noodle place?",
			"Coffee machine is fixed!",
			"Photos from the hike are in the shared album",
			"Anyone up for board games on Friday?",
		}},
}

// demoThread is a scripted message and its replies. Decision marks the
// message (or reply) that makes a decision; every other scripted message
// is not one.
type demoThread struct {
	channel  string
	day      int
	at       string
	who      string
	text     string
	ok       []string // who reacted with :white_check_mark:
	decision bool
	bot      string // a bot_message of this bot id (who is then its name)
	replies  []demoReply
}

type demoReply struct {
	after    int // minutes after the previous message
	who      string
	text     string
	ok       []string
	decision bool
}

var demoThreads = []demoThread{
	{channel: SlackChanAnnouncements, day: 0, at: "09:02", who: "alice",
		text: "Good morning! This week: the event store and activity feed v2, and the rollout plan for checkout v2."},
	{channel: SlackChanEng, day: 0, at: "10:05", who: "bob",
		text: "We need to pick the storage for the event store before we start on the activity feed. Options: Postgres (append-only table), Kafka, or EventStoreDB.",
		replies: []demoReply{
			{after: 7, who: "carol", text: "Kafka is a lot of operations for our volume, we peak at maybe 200 events per second"},
			{after: 5, who: "dan", text: "I'd rather not run another cluster. We already back up and monitor Postgres."},
			{after: 12, who: "alice", text: "An append-only events table with a version per stream covers what the feed needs. Bob, can you write it up as an ADR?"},
			{after: 9, who: "bob", text: "Decision: we'll use Postgres for the event store, an append-only events table with optimistic concurrency on the stream version. ADR PR coming today.",
				ok: []string{"alice", "carol", "dan"}, decision: true},
		}},
	{channel: SlackChanEng, day: 0, at: "14:30", who: "frank",
		text: "Should the activity feed use websockets, or is polling every 30 seconds fine for v1?",
		replies: []demoReply{
			{after: 14, who: "bob", text: "Polling is fine for v1 in my opinion"},
			{after: 20, who: "eve", text: "Let's ask the design partners on Thursday's call first."},
		}},
	{channel: SlackChanEng, day: 0, at: "16:45", bot: SlackGitHubBotID, who: "github",
		text: "Pull request #41 opened: ADR 0009: Postgres as the event store"},
	{channel: SlackChanEng, day: 1, at: "09:40", who: "carol",
		text: "Heads up: the events table migration is up for review, it adds the (stream_id, version) unique index"},
	{channel: SlackChanOps, day: 1, at: "11:15", who: "dan",
		text: "Going forward we will rotate on-call weekly, with the handover on Mondays at 10:00 here in #ops.",
		ok:   []string{"bob", "carol"}, decision: true},
	{channel: SlackChanEng, day: 1, at: "12:05", who: "dan",
		text: "I decided to grab an early lunch, back at 13:00"},
	{channel: SlackChanEng, day: 1, at: "16:00", who: "alice",
		text: "Maybe we should look at GraphQL for the public API at some point? Thoughts?",
		replies: []demoReply{
			{after: 6, who: "bob", text: "Not this quarter please"},
			{after: 25, who: "eve", text: "Let's park it until the API v2 review"},
		}},
	{channel: SlackChanEng, day: 2, at: "10:20", who: "bob",
		text: "Benchmarks for the event store on staging: 4.2k appends per second with p99 at 18 ms. Plenty of headroom."},
	{channel: SlackChanProduct, day: 2, at: "11:00", who: "eve",
		text: "We haven't decided on annual pricing yet, finance wants the Q3 numbers first."},
	{channel: SlackChanEng, day: 2, at: "13:00", who: "carol",
		text: "Anyone else seeing timeouts from the staging database? The migration job keeps retrying.",
		replies: []demoReply{
			{after: 4, who: "dan", text: "Yes, the pool is capped at 20 connections on staging. Raising it to 50 now."},
			{after: 58, who: "carol", text: "Thanks, green again"},
		}},
	{channel: SlackChanProduct, day: 2, at: "15:30", who: "eve",
		text: "Final call: the activity feed ships to every plan, not only enterprise.",
		ok:   []string{"alice", "frank"}, decision: true},
	{channel: SlackChanOps, day: 3, at: "09:15", who: "dan",
		text: "I'm blocked on the staging TLS certificate: the DNS change at the registrar is still pending, so the webhook endpoint can't be verified."},
	{channel: SlackChanEng, day: 3, at: "11:30", who: "alice",
		text: "Ship the CSV export fix as 1.8.1 today rather than waiting for 1.9.",
		ok:   []string{"bob", "carol", "dan", "eve"}, decision: true},
	{channel: SlackChanOps, day: 3, at: "12:20", bot: SlackDeployBotID, who: "deploybot",
		text: "Deployed api v1.8.1 to production"},
	{channel: SlackChanDesign, day: 3, at: "15:00", who: "frank",
		text: "Activity feed: grouped by day, or one flat list?",
		replies: []demoReply{
			{after: 10, who: "eve", text: "Grouped by day reads much better in the interviews"},
			{after: 35, who: "frank", text: "After today's review we decided to group the feed by day, with the newest day expanded.",
				ok: []string{"eve"}, decision: true},
		}},
	{channel: SlackChanAnnouncements, day: 3, at: "17:05", who: "eve",
		text: "The recording of the customer webinar is up in the shared drive."},
	{channel: SlackChanDesign, day: 4, at: "09:30", who: "frank",
		text: "I'm blocked on the final copy for the checkout error states, waiting on Eve.",
		replies: []demoReply{
			{after: 22, who: "eve", text: "Sending it after lunch, sorry!"},
		}},
	{channel: SlackChanProduct, day: 4, at: "10:00", who: "eve",
		text: "Rollout plan for checkout v2: everyone at once on Tuesday, or gradually?",
		replies: []demoReply{
			{after: 8, who: "alice", text: "Gradually. If payments break for everyone at once we lose a day of revenue."},
			{after: 6, who: "bob", text: "We already run Unleash for the billing flags, so it's cheap"},
			{after: 15, who: "eve", text: "OK, let's go with feature flags for the rollout: 5% on Monday, 25% on Wednesday, everyone the week after if error rates hold.",
				ok: []string{"alice", "bob"}, decision: true},
		}},
	{channel: SlackChanEng, day: 4, at: "14:00", who: "carol",
		text: "Should we decide whether to drop Go 1.25 support now, or wait until next month?"},
	{channel: SlackChanEng, day: 4, at: "15:52", bot: SlackGitHubBotID, who: "github",
		text: "Pull request #41 merged: ADR 0009: Postgres as the event store"},
	{channel: SlackChanEng, day: 4, at: "16:10", who: "bob",
		text: "The event store ADR is merged, thanks for the reviews!"},
}

// demoSlackSeed fixes the filler's generator.
const demoSlackSeed = 20261102

func (w *DemoWeek) slackData() *SlackData {
	d := &SlackData{Messages: map[string][]SlackMessage{}}
	for _, m := range demoTeam {
		u := slackSeedUsers[slices.IndexFunc(slackSeedUsers, func(u SlackUser) bool { return u.ID == m.slackID })]
		u.RealName, u.DisplayName, u.Email = m.name, m.name, m.key+"@acme.test"
		d.Users = append(d.Users, u)
	}
	d.Users = append(d.Users, slackSeedUsers[len(slackSeedUsers)-1]) // the app's bot user
	created := w.Days[0].AddDate(-1, 0, 0).Unix()
	for _, ch := range demoSlackChannels {
		ch.Created = created
		d.Channels = append(d.Channels, ch)
		d.Messages[ch.ID] = nil
	}
	rng := rand.New(rand.NewPCG(demoSlackSeed, 0xde70))
	b := &slackSeedBuilder{rng: rng, data: d, used: map[string]map[string]bool{}}
	for _, ch := range demoSlackChannels {
		if ch.IsMember {
			b.add(ch.ID, SlackMessage{Subtype: "channel_join", User: SlackBotUserID, Text: "<@" + SlackBotUserID + "> has joined the channel"},
				w.Days[0].Add(8*time.Hour+time.Duration(rng.IntN(1800))*time.Second))
		}
	}
	for _, f := range demoFillers {
		for _, day := range w.Days {
			for range f.perDay[0] + rng.IntN(f.perDay[1]-f.perDay[0]+1) {
				at := day.Add(9*time.Hour + time.Duration(rng.IntN(8*3600))*time.Second)
				var m SlackMessage
				if f.botPct > 0 && rng.Float64() < f.botPct {
					m = SlackMessage{Subtype: "bot_message", BotID: f.botID, Username: f.botName, Text: slackPick(rng, f.botLines)}
				} else {
					m = SlackMessage{User: demoSlackID(slackPick(rng, f.posters)), Text: slackPick(rng, f.lines)}
				}
				parent := b.add(f.channel, m, at)
				if m.Subtype == "" && rng.Float64() < f.replyPct {
					for range 1 + rng.IntN(2) {
						at = at.Add(time.Duration(2+rng.IntN(40)) * time.Minute)
						b.add(f.channel, SlackMessage{User: demoSlackID(slackPick(rng, f.posters)), Text: slackPick(rng, demoReplyLines), ThreadTS: parent}, at)
					}
				}
			}
		}
	}
	for _, t := range demoThreads {
		at := w.at(t.day, t.at)
		m := SlackMessage{Text: t.text, Reactions: demoChecks(t.ok)}
		if t.bot != "" {
			m.Subtype, m.BotID, m.Username = "bot_message", t.bot, t.who
		} else {
			m.User = demoSlackID(t.who)
		}
		parent := b.add(t.channel, m, at)
		for _, r := range t.replies {
			at = at.Add(time.Duration(r.after) * time.Minute)
			b.add(t.channel, SlackMessage{User: demoSlackID(r.who), Text: r.text, ThreadTS: parent, Reactions: demoChecks(r.ok)}, at)
		}
	}
	for id := range d.Messages {
		sortSlackMessages(d.Messages[id])
	}
	return d
}

func demoChecks(keys []string) []SlackReaction {
	if len(keys) == 0 {
		return nil
	}
	users := make([]string, len(keys))
	for i, k := range keys {
		users[i] = demoSlackID(k)
	}
	return []SlackReaction{{Name: "white_check_mark", Users: users}}
}

// ---------------------------------------------------------------------------
// Linear.

type demoComment struct {
	who  string
	day  int
	at   string
	body string
}

type demoIssue struct {
	team               LinearTeam
	title, desc, state string
	assignee, creator  string
	labels             []string
	project            string
	priority           int
	createdDay         int
	createdAt          string
	updatedDay         int
	updatedAt          string
	comments           []demoComment
	decision           bool
}

var demoIssues = []demoIssue{
	{team: LinearTeamENG, title: "Event store: append-only events table",
		desc:  "Store every domain event in an append-only `events` table keyed by (stream_id, version). Writers use optimistic concurrency on the version.",
		state: "In Progress", assignee: "bob", creator: "alice", labels: []string{"backend"}, project: "Activity feed v2", priority: 2,
		createdDay: 0, createdAt: "11:30", updatedDay: 4, updatedAt: "15:40",
		comments: []demoComment{{"bob", 2, "10:25", "Repository and tests are up in acme/api#42; the benchmarks look good."}}},
	{team: LinearTeamENG, title: "Events table migration with a (stream_id, version) unique index",
		desc:  "Zero-downtime migration: create the table, backfill nothing, add the unique index concurrently.",
		state: "Done", assignee: "carol", creator: "bob", labels: []string{"backend", "database"}, project: "Activity feed v2", priority: 2,
		createdDay: 0, createdAt: "12:00", updatedDay: 4, updatedAt: "11:20",
		comments: []demoComment{{"carol", 4, "11:18", "Migrated on staging without downtime."}}},
	{team: LinearTeamENG, title: "Activity feed API: list a project's events",
		desc:  "GET /v2/projects/{id}/events, newest first, cursor pagination.",
		state: "In Progress", assignee: "carol", creator: "alice", labels: []string{"backend", "api"}, project: "Activity feed v2", priority: 2,
		createdDay: 1, createdAt: "09:50", updatedDay: 4, updatedAt: "16:30"},
	{team: LinearTeamENG, title: "Checkout v2 behind the checkout_v2 flag",
		desc:  "Every entry point of the new checkout checks the flag; the old flow stays the default.",
		state: "In Review", assignee: "bob", creator: "eve", labels: []string{"payments"}, project: "Checkout v2", priority: 1,
		createdDay: 1, createdAt: "14:00", updatedDay: 4, updatedAt: "14:45"},
	{team: LinearTeamENG, title: "Staging TLS certificate renewal",
		desc:  "The staging certificate expires in nine days; move it to DNS validation.",
		state: "Blocked", assignee: "dan", creator: "dan", labels: []string{"infra", "blocked"}, priority: 2,
		createdDay: 2, createdAt: "16:00", updatedDay: 4, updatedAt: "09:40",
		comments: []demoComment{
			{"dan", 3, "09:20", "Blocked on the registrar: the DNS change for the validation record is still pending."},
			{"dan", 4, "09:38", "Still waiting on the registrar, pinged their support again."},
		}},
	{team: LinearTeamENG, title: "Raise the staging Postgres connection pool",
		desc:  "Migrations time out with 20 connections.",
		state: "Done", assignee: "dan", creator: "carol", labels: []string{"infra"}, priority: 2,
		createdDay: 2, createdAt: "13:10", updatedDay: 2, updatedAt: "14:05"},
	{team: LinearTeamENG, title: "Weekly on-call rotation with a Monday handover",
		desc:  "Set up the schedule in PagerDuty and document the handover.",
		state: "Done", assignee: "dan", creator: "alice", labels: []string{"ops"}, priority: 3,
		createdDay: 0, createdAt: "15:00", updatedDay: 1, updatedAt: "11:30"},
	{team: LinearTeamENG, title: "CSV export breaks on emoji in names",
		desc:  "Reported by two customers: the export stops at the first row with an emoji.",
		state: "Done", assignee: "alice", creator: "eve", labels: []string{"bug", "customer"}, priority: 1,
		createdDay: -3, createdAt: "10:00", updatedDay: 3, updatedAt: "12:10",
		comments: []demoComment{{"alice", 3, "12:08", "Fixed in acme/api#45, released as 1.8.1."}}},
	{team: LinearTeamENG, title: "Versioning scheme of the public API",
		desc:  "API v2 needs a versioning scheme: a URL prefix or a version header?",
		state: "Done", assignee: "alice", creator: "alice", labels: []string{"decision", "api"}, project: "Public API v2", priority: 2,
		createdDay: 0, createdAt: "16:00", updatedDay: 2, updatedAt: "17:00", decision: true,
		comments: []demoComment{
			{"bob", 1, "10:00", "A URL prefix is easier to cache and to document."},
			{"carol", 2, "09:30", "Headers are easy to forget in curl examples, too."},
			{"alice", 2, "16:55", "Decision: we version the public API in the URL (/v2/…); version headers stay optional."},
		}},
	{team: LinearTeamENG, title: "Flaky test: TestFeedPagination",
		desc:  "Fails about one run in twenty on CI.",
		state: "Todo", assignee: "carol", creator: "bob", labels: []string{"bug", "flaky-test"}, priority: 3,
		createdDay: 3, createdAt: "10:40", updatedDay: 3, updatedAt: "10:40"},
	{team: LinearTeamENG, title: "Rate limit the activity feed endpoint",
		desc:  "Per-token limits, like the other public endpoints.",
		state: "Backlog", creator: "alice", labels: []string{"api"}, project: "Activity feed v2", priority: 3,
		createdDay: 1, createdAt: "17:00", updatedDay: 1, updatedAt: "17:00"},
	{team: LinearTeamENG, title: "Metrics for event appends",
		desc:  "Appends per second and append latency per stream type.",
		state: "Done", assignee: "bob", creator: "bob", labels: []string{"observability"}, project: "Activity feed v2", priority: 3,
		createdDay: 1, createdAt: "10:00", updatedDay: 2, updatedAt: "15:05"},
	{team: LinearTeamENG, title: "Drop Go 1.25 support",
		desc:  "Go 1.27 is out soon; see the question in #eng.",
		state: "Triage", creator: "carol", labels: []string{"chore"},
		createdDay: 4, createdAt: "14:05", updatedDay: 4, updatedAt: "14:05"},

	{team: LinearTeamPRD, title: "Checkout v2 rollout plan",
		desc:  "How checkout v2 reaches every customer without risking a day of revenue.",
		state: "In Progress", assignee: "eve", creator: "eve", project: "Checkout v2", priority: 1,
		createdDay: 1, createdAt: "09:00", updatedDay: 4, updatedAt: "11:10",
		comments: []demoComment{{"eve", 4, "11:05", "Plan from the #product thread: 5% on Monday, 25% on Wednesday, everyone the week after."}}},
	{team: LinearTeamPRD, title: "Design partner call: activity feed feedback",
		desc:  "Walk the three design partners through the feed mockups.",
		state: "Done", assignee: "eve", creator: "eve", labels: []string{"research"}, project: "Activity feed v2", priority: 2,
		createdDay: 0, createdAt: "10:30", updatedDay: 3, updatedAt: "16:40",
		comments: []demoComment{{"eve", 3, "16:35", "Notes are in the research folder: all three partners want the feed grouped by day."}}},
	{team: LinearTeamPRD, title: "Annual pricing proposal",
		desc:  "Annual plans with two months free.",
		state: "Blocked", assignee: "eve", creator: "alice", labels: []string{"pricing", "blocked"}, priority: 2,
		createdDay: -5, createdAt: "11:00", updatedDay: 2, updatedAt: "11:05",
		comments: []demoComment{{"eve", 2, "11:02", "Blocked until finance shares the Q3 numbers."}}},
	{team: LinearTeamPRD, title: "Release notes for 1.8.1",
		desc:  "The CSV export fix and two smaller fixes.",
		state: "Done", assignee: "eve", creator: "eve", priority: 3,
		createdDay: 3, createdAt: "13:00", updatedDay: 3, updatedAt: "17:20"},

	{team: LinearTeamDES, title: "Activity feed: day-grouped layout",
		desc:  "Days as sections, the newest one expanded.",
		state: "In Progress", assignee: "frank", creator: "frank", project: "Activity feed v2", priority: 2,
		createdDay: 0, createdAt: "14:00", updatedDay: 4, updatedAt: "15:10"},
	{team: LinearTeamDES, title: "Checkout v2 error states",
		desc:  "Declined card, expired session, network error.",
		state: "In Progress", assignee: "frank", creator: "eve", project: "Checkout v2", priority: 2,
		createdDay: 2, createdAt: "10:00", updatedDay: 4, updatedAt: "09:50"},
	{team: LinearTeamDES, title: "Dark mode contrast on secondary buttons",
		desc:  "Secondary text is below 4.5:1 in dark mode.",
		state: "Done", assignee: "frank", creator: "frank", labels: []string{"accessibility"}, priority: 3,
		createdDay: -2, createdAt: "15:00", updatedDay: 1, updatedAt: "16:20"},
	{team: LinearTeamDES, title: "Empty state illustrations for the feed",
		desc:  "What a new project's feed shows before anything happened.",
		state: "Todo", assignee: "frank", creator: "eve", project: "Activity feed v2", priority: 4,
		createdDay: 3, createdAt: "11:00", updatedDay: 3, updatedAt: "11:00"},
}

func (w *DemoWeek) linearIssues() []LinearIssue {
	numbers := map[string]int{}
	var out []LinearIssue
	for _, s := range demoIssues {
		numbers[s.team.Key] = max(numbers[s.team.Key], 100) + 1
		n := numbers[s.team.Key]
		ident := s.team.Key + "-" + strconv.Itoa(n)
		iss := LinearIssue{
			ID: linearUUID("issue/demo/" + ident), Number: n, Identifier: ident,
			Title: s.title, Description: s.desc, Team: s.team, StateName: s.state, StateType: linearStates[s.state],
			Priority: s.priority, Assignee: demoLinearUser(s.assignee), Creator: demoLinearUser(s.creator),
			Labels: slices.Clone(s.labels), Project: s.project, URL: "https://linear.app/acme/issue/" + ident + "/" + slug(s.title),
			CreatedAt: w.at(s.createdDay, s.createdAt), UpdatedAt: w.at(s.updatedDay, s.updatedAt),
		}
		for j, c := range s.comments {
			iss.Comments = append(iss.Comments, LinearComment{ID: linearUUID("comment/demo/" + ident + "/" + strconv.Itoa(j)),
				Body: c.body, User: *demoLinearUser(c.who), CreatedAt: w.at(c.day, c.at)})
		}
		switch iss.StateType {
		case "completed":
			t := iss.UpdatedAt
			iss.CompletedAt = &t
		case "canceled":
			t := iss.UpdatedAt
			iss.CanceledAt = &t
		}
		out = append(out, iss)
	}
	return out
}

// ---------------------------------------------------------------------------
// GitHub.

// demoRepos are the repositories of the week, in the organization "acme".
var demoRepos = []string{"acme/api", "acme/web", "acme/infra"}

type demoPull struct {
	repo        string
	number      int
	title, body string
	who         string
	state       string // "merged", "open", "draft", "closed"
	labels      []string
	reviewers   []string
	createdDay  int
	createdAt   string
	updatedDay  int
	updatedAt   string // merged or closed then
	files       []GitHubFile
	decision    bool
}

var demoPulls = []demoPull{
	{repo: "acme/api", number: 41, title: "ADR 0009: Postgres as the event store",
		body: "Records the decision from the #eng thread: the event store is an append-only `events` table in Postgres with optimistic concurrency on the stream version. Kafka and EventStoreDB were considered; both cost more to operate than our volume justifies.",
		who:  "bob", state: "merged", labels: []string{"decision", "docs"},
		createdDay: 0, createdAt: "16:40", updatedDay: 4, updatedAt: "15:50", decision: true,
		files: ghFiles("added", "docs/adr/0009-event-store-postgres.md")},
	{repo: "acme/api", number: 42, title: "Event store: append-only events table and repository",
		body: "Adds internal/events with Append and Load; appends fail with ErrConflict when the stream version moved.",
		who:  "bob", state: "open", labels: []string{"backend"}, reviewers: []string{"alice", "carol"},
		createdDay: 1, createdAt: "15:00", updatedDay: 4, updatedAt: "15:30",
		files: ghFiles("added", "internal/events/store.go", "internal/events/store_test.go")},
	{repo: "acme/api", number: 43, title: "Migration: events table with a (stream_id, version) unique index",
		body: "The index is created concurrently, so the migration does not lock writes.",
		who:  "carol", state: "merged", labels: []string{"backend", "database"},
		createdDay: 1, createdAt: "09:35", updatedDay: 4, updatedAt: "11:15",
		files: ghFiles("added", "migrations/0042_events.sql")},
	{repo: "acme/api", number: 44, title: "Activity feed: GET /v2/projects/{id}/events",
		body: "Newest first with cursor pagination; reads from the events table.",
		who:  "carol", state: "open", labels: []string{"api"}, reviewers: []string{"bob"},
		createdDay: 3, createdAt: "14:00", updatedDay: 4, updatedAt: "16:35",
		files: ghFiles("added", "internal/api/feed.go", "internal/api/feed_test.go")},
	{repo: "acme/api", number: 45, title: "Fix CSV export with emoji in names",
		body: "Writes UTF-8 with a BOM and stops splitting runes at the buffer boundary.",
		who:  "alice", state: "merged", labels: []string{"bug"},
		createdDay: 3, createdAt: "09:40", updatedDay: 3, updatedAt: "11:55",
		files: ghFiles("modified", "internal/export/csv.go", "internal/export/csv_test.go")},
	{repo: "acme/api", number: 46, title: "Checkout v2: guard the new flow with the checkout_v2 flag",
		body: "Every entry point checks the flag; the old checkout stays the default.",
		who:  "bob", state: "merged", labels: []string{"payments"},
		createdDay: 2, createdAt: "14:20", updatedDay: 4, updatedAt: "13:40",
		files: ghFiles("modified", "internal/checkout/flow.go", "internal/flags/flags.go")},
	{repo: "acme/api", number: 47, title: "Serve the public API under /v2",
		body: "Routes move under /v2; /v1 keeps working for now.",
		who:  "alice", state: "merged", labels: []string{"api"},
		createdDay: 2, createdAt: "17:10", updatedDay: 4, updatedAt: "10:25",
		files: ghFiles("modified", "internal/api/router.go")},
	{repo: "acme/api", number: 48, title: "Bump golang.org/x/net from 0.30.0 to 0.31.0",
		body: "Bumps golang.org/x/net from 0.30.0 to 0.31.0.",
		who:  "dependabot[bot]", state: "merged", labels: []string{"dependencies"},
		createdDay: 1, createdAt: "08:10", updatedDay: 2, updatedAt: "09:05",
		files: ghFiles("modified", "go.mod", "go.sum")},
	{repo: "acme/api", number: 49, title: "Metrics for event appends",
		body: "Counter and histogram per stream type.",
		who:  "bob", state: "merged", labels: []string{"observability"},
		createdDay: 1, createdAt: "11:00", updatedDay: 2, updatedAt: "15:00",
		files: ghFiles("modified", "internal/events/metrics.go")},

	{repo: "acme/web", number: 17, title: "Dark mode contrast fixes for secondary buttons",
		body: "Secondary text now meets 4.5:1.",
		who:  "frank", state: "merged", labels: []string{"accessibility"},
		createdDay: 0, createdAt: "13:00", updatedDay: 1, updatedAt: "16:15",
		files: ghFiles("modified", "ui/styles/theme.css")},
	{repo: "acme/web", number: 18, title: "Activity feed: day-grouped timeline",
		body: "Days as sections with the newest one expanded, as in the mockups.",
		who:  "frank", state: "open", labels: []string{"frontend"}, reviewers: []string{"alice"},
		createdDay: 3, createdAt: "16:00", updatedDay: 4, updatedAt: "15:15",
		files: ghFiles("added", "ui/feed/timeline.tsx", "ui/feed/timeline.css")},
	{repo: "acme/web", number: 19, title: "Checkout v2 error states",
		body: "Not ready for review: the copy is still missing.",
		who:  "frank", state: "draft", labels: []string{"frontend"},
		createdDay: 2, createdAt: "11:00", updatedDay: 4, updatedAt: "10:05",
		files: ghFiles("added", "ui/checkout/errors.tsx")},

	{repo: "acme/infra", number: 11, title: "Raise the staging Postgres pool to 50 connections",
		body: "Migrations timed out with 20.",
		who:  "dan", state: "merged", labels: []string{"infra"},
		createdDay: 2, createdAt: "13:20", updatedDay: 2, updatedAt: "14:00",
		files: ghFiles("modified", "terraform/staging_db.tf")},
	{repo: "acme/infra", number: 12, title: "Staging TLS certificate via DNS validation",
		body: "Waits for the registrar to publish the validation record.",
		who:  "dan", state: "open", labels: []string{"infra"}, reviewers: []string{"carol"},
		createdDay: 2, createdAt: "16:30", updatedDay: 4, updatedAt: "09:45",
		files: ghFiles("added", "terraform/staging_tls.tf")},
	{repo: "acme/infra", number: 13, title: "PagerDuty: weekly on-call schedule with a Monday handover",
		body: "Implements the rotation from the #ops channel.",
		who:  "dan", state: "merged", labels: []string{"ops"},
		createdDay: 1, createdAt: "10:00", updatedDay: 1, updatedAt: "11:25",
		files: ghFiles("modified", "pagerduty/schedules.tf")},
}

func (w *DemoWeek) githubPulls() map[string][]GitHubPull {
	out := map[string][]GitHubPull{}
	for _, s := range demoPulls {
		p := GitHubPull{Number: s.number, Title: s.title, Body: s.body, User: demoLogin(s.who), State: "open",
			Labels: slices.Clone(s.labels), CreatedAt: w.at(s.createdDay, s.createdAt), UpdatedAt: w.at(s.updatedDay, s.updatedAt),
			Files: slices.Clone(s.files)}
		for _, r := range s.reviewers {
			p.Reviewers = append(p.Reviewers, demoLogin(r))
		}
		at := p.UpdatedAt
		switch s.state {
		case "merged":
			p.State, p.ClosedAt, p.MergedAt = "closed", &at, &at
		case "closed":
			p.State, p.ClosedAt = "closed", &at
		case "draft":
			p.Draft = true
		}
		out[s.repo] = append(out[s.repo], p)
	}
	return out
}
