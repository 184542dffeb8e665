package main

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

// The generated workspace: a team's engineering chat over a year, in a few
// channels, by a few people and one deploy bot. Everything is drawn from a
// seeded generator, so that the same seed and size give the same messages
// (the bare baseline indexes exactly what the appliance ingests).

// person is a member of the generated workspace.
type person struct {
	id, handle, name, email string
}

var people = []person{
	{"U0BENCH0AL", "alice", "Alice Martin", "alice@acme.example"},
	{"U0BENCH0BO", "bob", "Bob Chen", "bob@acme.example"},
	{"U0BENCH0CA", "carol", "Carol Diaz", "carol@acme.example"},
	{"U0BENCH0DA", "dan", "Dan Okafor", "dan@acme.example"},
	{"U0BENCH0EV", "eve", "Eve Novak", "eve@acme.example"},
	{"U0BENCH0FR", "frank", "Frank Weber", "frank@acme.example"},
	{"U0BENCH0GR", "grace", "Grace Kim", "grace@acme.example"},
	{"U0BENCH0HE", "henry", "Henry Osei", "henry@acme.example"},
}

const (
	botID   = "B0BENCHDPL"
	botName = "deploybot"
	// botUser marks a message of the deploy bot.
	botUser = -1
)

// channels and how much of the traffic each gets.
var (
	channelNames   = []string{"eng", "backend", "frontend", "ops", "product", "design", "infra", "releases", "support", "data"}
	channelWeights = []int{16, 12, 10, 12, 11, 7, 9, 8, 9, 6}
	// botChannels are where the deploy bot posts (a share of the messages).
	botChannels = map[string]bool{"ops": true, "releases": true}
)

func channelID(i int) string { return fmt.Sprintf("C0BENCH%03d", i) }

// Shares of the generated traffic.
const (
	// decisionShare of the people's messages carry a decision phrase:
	// with the bot's notices, about 20% of all messages.
	decisionShare = 0.21
	threadShare   = 0.15 // top-level messages that get replies (1–5)
	botShare      = 0.30 // of the messages in botChannels
)

// message is one generated Slack message.
type message struct {
	channel int
	ts      string
	at      time.Time // the moment of ts, to the microsecond
	user    int       // index into people, or botUser
	text    string
	parent  string // the parent's ts, for thread replies
	replies int    // for a parent: how many replies it has
}

// corpus is a generated workspace.
type corpus struct {
	start, end time.Time
	messages   []message
	decisions  int // messages generated with a decision phrase
}

// newCorpus generates n messages (thread replies included) posted in the
// year before end.
func newCorpus(seed uint64, n int, end time.Time) *corpus {
	rng := rand.New(rand.NewPCG(seed, 0x6265_6e63_68))
	span := 365 * 24 * time.Hour
	c := &corpus{start: end.Add(-span), end: end, messages: make([]message, 0, n)}
	step := span / time.Duration(max(n, 1))
	totalWeight := 0
	for _, w := range channelWeights {
		totalWeight += w
	}
	pickChannel := func() int {
		k := rng.IntN(totalWeight)
		for i, w := range channelWeights {
			if k < w {
				return i
			}
			k -= w
		}
		return 0
	}
	add := func(m message) message {
		// The index in the microseconds keeps every ts unique (below a
		// million messages; beyond, the seconds differ).
		idx := len(c.messages)
		m.at = time.Unix(m.at.Unix(), int64(idx%1_000_000)*1000).UTC()
		m.ts = fmt.Sprintf("%d.%06d", m.at.Unix(), idx%1_000_000)
		if m.user == botUser {
			m.text = botText(rng)
		} else {
			decision := rng.Float64() < decisionShare
			if decision {
				c.decisions++
			}
			m.text = chatText(rng, decision, m.parent != "")
		}
		c.messages = append(c.messages, m)
		return m
	}
	for len(c.messages) < n {
		at := c.start.Add(time.Duration(len(c.messages))*step + time.Duration(rng.Int64N(int64(step/2)+1)))
		ch := pickChannel()
		user := rng.IntN(len(people))
		if botChannels[channelNames[ch]] && rng.Float64() < botShare {
			user = botUser
		}
		top := add(message{channel: ch, at: at, user: user})
		if user == botUser || rng.Float64() >= threadShare {
			continue
		}
		parent := len(c.messages) - 1
		for k := 1 + rng.IntN(5); k > 0 && len(c.messages) < n; k-- {
			at = at.Add(time.Duration(1+rng.IntN(45)) * time.Minute)
			add(message{channel: ch, at: at, user: rng.IntN(len(people)), parent: top.ts})
			c.messages[parent].replies++
		}
	}
	return c
}

// slackData is the corpus as the Slack stand-in's workspace.
func (c *corpus) slackData() *fake.SlackData {
	d := &fake.SlackData{Messages: map[string][]fake.SlackMessage{}}
	for _, p := range people {
		d.Users = append(d.Users, fake.SlackUser{ID: p.id, Name: p.handle, RealName: p.name, DisplayName: p.name,
			Email: p.email, TZ: "UTC"})
	}
	for i, name := range channelNames {
		d.Channels = append(d.Channels, fake.SlackChannel{ID: channelID(i), Name: name, IsMember: true,
			Created: c.start.Add(-24 * time.Hour).Unix(), Topic: name + " chat"})
	}
	for _, m := range c.messages {
		sm := fake.SlackMessage{TS: m.ts, Text: m.text, ThreadTS: m.parent}
		if m.user == botUser {
			sm.Subtype, sm.BotID, sm.Username = "bot_message", botID, botName
		} else {
			sm.User = people[m.user].id
		}
		id := channelID(m.channel)
		d.Messages[id] = append(d.Messages[id], sm)
	}
	return d
}

// items is the corpus as the items ingestion makes of it (the same text,
// channel, author and time), for the tenants filled straight through the
// store and for the bare baseline.
func (c *corpus) items() []*pmassist.Item {
	out := make([]*pmassist.Item, len(c.messages))
	for i, m := range c.messages {
		ch := channelID(m.channel)
		it := &pmassist.Item{
			Type: pmassist.ItemMessage, Service: pmassist.ServiceSlack, ExternalID: ch + ":" + m.ts,
			URL:  "https://acme.slack.com/archives/" + ch + "/p" + strings.Replace(m.ts, ".", "", 1),
			Text: m.text, Channel: channelNames[m.channel], ChannelID: ch, ThreadID: m.parent,
			CreatedAt: m.at, UpdatedAt: m.at,
		}
		if m.replies > 0 {
			it.ThreadID = m.ts
		}
		if m.user == botUser {
			it.Author = pmassist.Person{Name: botName, ExternalID: botID, Bot: true}
		} else {
			p := people[m.user]
			it.Author = pmassist.Person{Name: p.name, Email: p.email, ExternalID: p.id}
		}
		out[i] = it
	}
	return out
}

// The vocabulary of the chat.
var (
	// A component is an area and a kind ("billing worker"): 1,440 of
	// them, so that a component's name is in about 0.1% of the messages,
	// its area in 2–3% and its kind in 5–7%.
	areas = []string{
		"billing", "auth", "search", "ingest", "webhook", "payment", "export", "import", "notification", "audit",
		"admin", "session", "pricing", "invoice", "analytics", "usage", "onboarding", "reporting", "sync", "upload",
		"media", "thumbnail", "calendar", "email", "sms", "push", "signup", "login", "profile", "settings",
		"permissions", "tenant", "workspace", "project", "comment", "attachment", "activity", "timeline", "metrics", "logging",
		"tracing", "alerting", "backup", "restore", "deploy", "release", "build", "docs", "android", "ios",
		"graphql", "kafka", "redis", "postgres", "geo", "translation", "checkout", "subscription", "referral", "inbox",
	}
	kinds = []string{
		"api", "service", "worker", "queue", "job", "cache", "index", "database", "dashboard", "pipeline",
		"scheduler", "gateway", "consumer", "client", "sdk", "migration", "endpoint", "module", "library", "cron",
		"proxy", "store", "page", "flag",
	}
	problems = []string{
		"a memory spike", "flaky tests", "timeouts", "a deadlock", "slow queries", "high p99 latency",
		"connection resets", "a race condition", "disk pressure", "stale cache entries", "duplicate events",
		"a panic on startup", "broken pagination", "wrong timezone handling", "an expired certificate",
		"dropped webhooks", "a regression in the parser", "lock contention", "retry storms", "OOM kills",
		"missing indexes", "CORS errors", "a bad rollout", "noisy alerts", "encoding bugs in CSV export",
	}
	statuses = []string{
		"is failing on staging again", "needs a second review", "looks flaky since yesterday", "is green again",
		"timed out twice overnight", "is slow after the upgrade", "got refactored", "passes locally but not in CI",
		"is back to normal", "is blocked on the vendor", "is ready for QA", "has a memory leak", "is rolled back",
		"shipped to production", "is behind the feature flag", "needs more tests", "is waiting on the migration lock",
	}
	actions = []string{
		"migrate", "deprecate", "rewrite", "freeze", "split", "shard", "cache", "rate limit", "instrument",
		"roll back", "batch", "pause", "retire", "upgrade", "rebuild", "simplify", "harden", "move",
	}
	choices = []string{
		"postgres", "bbolt", "sqlite", "exponential backoff with jitter", "a fixed retry delay", "option B",
		"the vertical timeline", "usage-based pricing", "per-seat pricing", "weekly releases", "trunk-based development",
		"the managed queue", "a monorepo", "gRPC", "plain JSON over HTTP", "the sidebar navigation", "server-side rendering",
		"feature flags for every launch", "canary deploys", "a read replica", "cursor pagination", "UTC everywhere",
	}
	whens = []string{
		"this sprint", "next sprint", "before the launch", "by Friday", "after the freeze", "in Q3", "in Q4",
		"next week", "on Monday", "before the audit", "after the migration", "this month", "right after standup",
	}
	envs    = []string{"staging", "production", "canary", "the sandbox"}
	changes = []string{
		"the retry loop refactor", "the new index layout", "the connection pool change", "the Go toolchain bump",
		"the batching change", "the cache warmup", "the schema change", "the dependency update", "the config cleanup",
		"the new rate limits", "the tracing spans", "the bulk import endpoint",
	}
	closers = []string{
		"Thanks!", "Details in the doc.", "Ping me if anything breaks.", "Graph is in the incident channel.",
		"PR is up.", "More after standup.", "Notes are in the wiki.", "Will update the ticket.",
	}
	replies = []string{
		"Sounds good", "On it", "+1", "Can you share the link?", "Done", "Looking now", "Thanks!", "I can take this one",
		"Let me check and get back to you", "Nice work", "Agreed", "Not sure, let's discuss at standup",
	}
)

func pick(rng *rand.Rand, from []string) string { return from[rng.IntN(len(from))] }

// component names a part of the system.
func component(rng *rand.Rand) string { return pick(rng, areas) + " " + pick(rng, kinds) }

// names are the long tail of the chat: customers and project code names,
// each in a handful of messages. They are made of syllables with a fixed
// seed, the same for every corpus.
var names = func() []string {
	syllables := strings.Fields("ka lo mi ren dor va tis qua nel bro fen zu gal mar tek sor vin pra lum hex dal " +
		"ori pen cas ter bel nox rid sam tor")
	rng := rand.New(rand.NewPCG(42, 42))
	seen := map[string]bool{}
	var out []string
	for len(out) < 2000 {
		n := 2 + rng.IntN(2)
		var b strings.Builder
		for range n {
			b.WriteString(pick(rng, syllables))
		}
		w := b.String()
		if !seen[w] {
			seen[w] = true
			out = append(out, strings.ToUpper(w[:1])+w[1:])
		}
	}
	return out
}()

func firstName(rng *rand.Rand) string {
	n := people[rng.IntN(len(people))].name
	first, _, _ := strings.Cut(n, " ")
	return first
}

// chatSentence is one sentence of ordinary engineering chat.
func chatSentence(rng *rand.Rand) string {
	comp := component(rng)
	switch rng.IntN(17) {
	case 0:
		return fmt.Sprintf("The %s %s.", comp, pick(rng, statuses))
	case 14:
		return fmt.Sprintf("Customer %s reports %s in the %s.", pick(rng, names), pick(rng, problems), comp)
	case 15:
		return fmt.Sprintf("The %s rollout of the %s %s.", pick(rng, names), comp, pick(rng, statuses))
	case 16:
		return fmt.Sprintf("Can %s take the %s ticket about the %s?", firstName(rng), pick(rng, names), comp)
	case 1:
		return fmt.Sprintf("Anyone else seeing %s in the %s?", pick(rng, problems), comp)
	case 2:
		return fmt.Sprintf("Reviewing the %s PR now.", comp)
	case 3:
		return fmt.Sprintf("Pushed a fix for %s in the %s, CI is green.", pick(rng, problems), comp)
	case 4:
		return fmt.Sprintf("I'll pair with %s on the %s %s.", firstName(rng), comp, pick(rng, whens))
	case 5:
		return fmt.Sprintf("Heads up: we %s the %s %s.", pick(rng, []string{"touch", "redeploy", "restart", "patch"}), comp, pick(rng, whens))
	case 6:
		return fmt.Sprintf("The %s p99 is %dms after %s.", comp, 20+rng.IntN(900), pick(rng, changes))
	case 7:
		return fmt.Sprintf("Opened ENG-%d for %s in the %s.", 100+rng.IntN(9000), pick(rng, problems), comp)
	case 8:
		return fmt.Sprintf("Can someone look at %s in the %s?", pick(rng, problems), comp)
	case 9:
		return fmt.Sprintf("Merged #%d: %s for the %s.", 100+rng.IntN(5000), pick(rng, changes), comp)
	case 10:
		return fmt.Sprintf("Blocked on the %s until %s finishes %s.", comp, firstName(rng), pick(rng, changes))
	case 11:
		return fmt.Sprintf("Deploying the %s v%d.%d.%d to %s.", comp, 1+rng.IntN(4), rng.IntN(60), rng.IntN(20), pick(rng, envs))
	case 12:
		return fmt.Sprintf("Customer ticket #%d is about %s in the %s.", 1000+rng.IntN(90000), pick(rng, problems), comp)
	default:
		return fmt.Sprintf("Benchmarks for the %s: %d req/s, up from %d.", comp, 500+rng.IntN(20000), 300+rng.IntN(5000))
	}
}

// decisionSentence states a decision the way teams write them in chat.
func decisionSentence(rng *rand.Rand) string {
	comp := component(rng)
	switch rng.IntN(8) {
	case 0:
		return fmt.Sprintf("We decided to %s the %s %s.", pick(rng, actions), comp, pick(rng, whens))
	case 1:
		return fmt.Sprintf("Let's go with %s for the %s.", pick(rng, choices), comp)
	case 2:
		return fmt.Sprintf("Decision: %s the %s %s; revisit after ENG-%d.", pick(rng, actions), comp, pick(rng, whens), 100+rng.IntN(9000))
	case 3:
		return fmt.Sprintf("After the review we decided on %s for the %s.", pick(rng, choices), comp)
	case 4:
		return fmt.Sprintf("Final call: the %s ships %s.", comp, pick(rng, whens))
	case 5:
		return fmt.Sprintf("We've agreed to %s the %s, %s owns it.", pick(rng, actions), comp, firstName(rng))
	case 6:
		return fmt.Sprintf("Going forward we will %s the %s %s.", pick(rng, actions), comp, pick(rng, whens))
	default:
		return fmt.Sprintf("OK, we're going with %s for the %s.", pick(rng, choices), comp)
	}
}

// chatText is a message: one to three sentences, one of them a decision
// when decision is set; replies are often short.
func chatText(rng *rand.Rand, decision, reply bool) string {
	if reply && !decision && rng.IntN(3) == 0 {
		return pick(rng, replies)
	}
	n := 1 + rng.IntN(3)
	at := -1
	if decision {
		at = rng.IntN(n)
	}
	parts := make([]string, 0, n+1)
	for i := range n {
		if i == at {
			parts = append(parts, decisionSentence(rng))
		} else {
			parts = append(parts, chatSentence(rng))
		}
	}
	if rng.IntN(5) == 0 {
		parts = append(parts, pick(rng, closers))
	}
	return strings.Join(parts, " ")
}

// botText is a deploy bot's notice.
func botText(rng *rand.Rand) string {
	comp := component(rng)
	switch rng.IntN(4) {
	case 0:
		return fmt.Sprintf("Deployed %s v%d.%d.%d to %s", comp, 1+rng.IntN(4), rng.IntN(60), rng.IntN(20), pick(rng, envs))
	case 1:
		return fmt.Sprintf("Rollback of %s v%d.%d.%d finished", comp, 1+rng.IntN(4), rng.IntN(60), rng.IntN(20))
	case 2:
		return fmt.Sprintf("Alert resolved: %s p99 latency back under %dms", comp, 100+rng.IntN(400))
	default:
		return fmt.Sprintf("Alert firing: error rate above %d%% on the %s", 1+rng.IntN(5), comp)
	}
}
