package fake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// LinearTeam is a team of the Linear stand-in.
type LinearTeam struct {
	ID, Key, Name string
}

// LinearUser is a member of the Linear stand-in's organization.
type LinearUser struct {
	ID, Name, Email string
}

// LinearComment is a comment on an issue.
type LinearComment struct {
	ID        string
	Body      string
	User      LinearUser
	CreatedAt time.Time
}

// LinearIssue is an issue of the Linear stand-in. StateType is one of
// triage, backlog, unstarted, started, completed, canceled.
type LinearIssue struct {
	ID          string
	Identifier  string // "ENG-101"
	Number      int
	Title       string
	Description string
	URL         string
	Team        LinearTeam
	StateName   string
	StateType   string
	Priority    int // 0 none, 1 urgent, 2 high, 3 medium, 4 low
	Assignee    *LinearUser
	Creator     *LinearUser
	Labels      []string
	Project     string
	Comments    []LinearComment
	CreatedAt   time.Time
	UpdatedAt   time.Time
	CompletedAt *time.Time
	CanceledAt  *time.Time
}

func (i *LinearIssue) clone() LinearIssue {
	c := *i
	if i.Assignee != nil {
		a := *i.Assignee
		c.Assignee = &a
	}
	if i.Creator != nil {
		a := *i.Creator
		c.Creator = &a
	}
	c.Labels = slices.Clone(i.Labels)
	c.Comments = slices.Clone(i.Comments)
	if i.CompletedAt != nil {
		t := *i.CompletedAt
		c.CompletedAt = &t
	}
	if i.CanceledAt != nil {
		t := *i.CanceledAt
		c.CanceledAt = &t
	}
	return c
}

// The stand-in's teams and people. Emails match the Slack stand-in's users
// where the same person uses both.
var (
	LinearTeamENG = LinearTeam{ID: linearUUID("team/ENG"), Key: "ENG", Name: "Engineering"}
	LinearTeamPRD = LinearTeam{ID: linearUUID("team/PRD"), Key: "PRD", Name: "Product"}
	LinearTeamDES = LinearTeam{ID: linearUUID("team/DES"), Key: "DES", Name: "Design"}

	linearUsers = map[string]LinearUser{
		"ada":      {ID: linearUUID("user/ada"), Name: "Ada Lovelace", Email: "ada@acme.test"},
		"lin":      {ID: linearUUID("user/lin"), Name: "Lin Chen", Email: "lin@acme.test"},
		"grace":    {ID: linearUUID("user/grace"), Name: "Grace Hopper", Email: "grace@acme.test"},
		"alan":     {ID: linearUUID("user/alan"), Name: "Alan Turing", Email: "alan@acme.test"},
		"margaret": {ID: linearUUID("user/margaret"), Name: "Margaret Hamilton", Email: "margaret@acme.test"},
		"ken":      {ID: linearUUID("user/ken"), Name: "Ken Thompson", Email: "ken@acme.test"},
	}
)

// linearStates are the workflow states every team of the stand-in has.
var linearStates = map[string]string{
	"Triage":      "triage",
	"Backlog":     "backlog",
	"Todo":        "unstarted",
	"In Progress": "started",
	"In Review":   "started",
	"Blocked":     "started", // with the label "blocked"
	"Done":        "completed",
	"Canceled":    "canceled",
}

// LinearStateType returns the type of a workflow state name of the
// stand-in ("" when unknown).
func LinearStateType(name string) string { return linearStates[name] }

// linearUUID derives a stable UUID (version 4 layout) from a name, so that
// the seeded data has the same ids on every start.
func linearUUID(name string) string {
	sum := sha256.Sum256([]byte("linear-fake/" + name))
	sum[6] = sum[6]&0x0f | 0x40
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

type seedComment struct{ user, body string }

type seedIssue struct {
	team              LinearTeam
	title, desc       string
	state             string
	assignee, creator string
	labels            []string
	project           string
	priority          int
	comments          []seedComment
}

// linearSeed is a week of a small team's work.
var linearSeed = []seedIssue{
	{LinearTeamENG, "Migrate job queue to Postgres SKIP LOCKED", "Redis is one more thing to run. Move the job queue into Postgres using `FOR UPDATE SKIP LOCKED` and measure throughput on staging.", "In Progress", "ada", "lin", []string{"infra"}, "Platform Reliability", 2,
		[]seedComment{{"lin", "Benchmarks on staging: about 4k jobs/s, well above our peak."}, {"ada", "We decided to drop Redis for the queue; Postgres is enough at our volume."}}},
	{LinearTeamENG, "Flaky test: TestCheckoutWebhookRetry", "Fails about one run in twenty on CI with a timeout waiting for the retry.", "Todo", "grace", "grace", []string{"bug", "flaky-test"}, "", 3, nil},
	{LinearTeamENG, "Rate limit the public search API", "Add a per-token limit of 60 requests per minute with `Retry-After`.", "In Review", "alan", "margaret", []string{"api"}, "Public API v2", 2,
		[]seedComment{{"alan", "PR is up; limits are configurable per plan."}}},
	{LinearTeamENG, "Upgrade Go toolchain to 1.26", "Bump go.mod and the CI image.", "Done", "lin", "lin", []string{"chore"}, "", 4, nil},
	{LinearTeamENG, "Decide on feature-flag provider", "We need flags for the billing rollout. Compare hosted and self-hosted options.", "Done", "ada", "margaret", []string{"decision"}, "Platform Reliability", 2,
		[]seedComment{{"margaret", "Options: LaunchDarkly, Unleash self-hosted, or our own table."}, {"ada", "Decision: we go with Unleash self-hosted; LaunchDarkly pricing does not fit our plan."}}},
	{LinearTeamENG, "Login redirect loop on Safari 18", "Users on Safari 18 bounce between /login and /dashboard. The session cookie is dropped with SameSite=None.", "In Progress", "grace", "ken", []string{"bug", "customer"}, "", 1,
		[]seedComment{{"grace", "Reproduced; the cookie lacks Secure on the staging domain."}}},
	{LinearTeamENG, "Payments: retry failed Stripe webhooks", "Failed webhook handling must be retried with backoff instead of dropped.", "Blocked", "alan", "ada", []string{"blocked", "payments"}, "Billing", 2,
		[]seedComment{{"alan", "Blocked on Stripe test-mode access for the new account."}}},
	{LinearTeamENG, "Add tracing to the ingestion workers", "OpenTelemetry spans around every provider call.", "Backlog", "", "lin", []string{"observability"}, "Platform Reliability", 3, nil},
	{LinearTeamENG, "Split deploy into api and worker images", "Ship two images so that workers scale on their own.", "Todo", "lin", "ada", nil, "Platform Reliability", 3, nil},
	{LinearTeamENG, "Crash when exporting CSV with emoji in names", "Reported by a customer: the export stops at the first row with an emoji.", "Triage", "", "grace", []string{"bug"}, "", 0, nil},
	{LinearTeamENG, "Remove legacy v1 webhooks endpoint", "The v1 endpoint has been deprecated for a year.", "Canceled", "alan", "alan", nil, "Public API v2", 4,
		[]seedComment{{"alan", "Canceled: two enterprise customers still use it; revisit next quarter."}}},
	{LinearTeamENG, "Verify database backups by restoring weekly", "Automate a weekly restore into a scratch instance and alert on failure.", "In Progress", "ken", "ken", []string{"infra"}, "Platform Reliability", 2, nil},
	{LinearTeamENG, "Audit log for admin actions", "Record who changed roles, billing and integrations.", "Todo", "margaret", "margaret", []string{"security"}, "Enterprise", 2, nil},
	{LinearTeamENG, "SSO: support Okta SCIM provisioning", "Enterprise prospects ask for SCIM.", "Backlog", "margaret", "lin", []string{"security"}, "Enterprise", 3, nil},
	{LinearTeamENG, "Dark mode colors fail contrast checks", "Secondary text is below 4.5:1 in dark mode.", "Done", "grace", "grace", []string{"bug", "accessibility"}, "", 3, nil},
	{LinearTeamENG, "Bump bbolt to 1.4", "Picks up the freelist fixes.", "Done", "lin", "lin", []string{"chore"}, "", 4, nil},
	{LinearTeamENG, "Search misses issues with accented titles", "Searching for \"cafe\" does not find \"Café\". Add ASCII folding to the analyzer.", "In Review", "ada", "grace", []string{"bug", "search"}, "", 2, nil},
	{LinearTeamENG, "API pagination returns duplicate rows", "Offset pagination repeats rows when items are inserted between pages.", "Done", "alan", "ken", []string{"bug", "api"}, "Public API v2", 1,
		[]seedComment{{"alan", "Switched to cursor pagination keyed by (created_at, id)."}, {"ken", "Verified on staging, no duplicates over 10k pages."}}},
	{LinearTeamENG, "Move CI to self-hosted runners", "Hosted minutes cost too much; run CI on our own machines.", "Blocked", "ken", "ken", []string{"blocked", "infra"}, "Platform Reliability", 3,
		[]seedComment{{"ken", "Waiting on the hardware order; blocked until it arrives."}}},
	{LinearTeamENG, "Use ULIDs for new item ids", "Sequential ids leak volume and do not merge across shards.", "Done", "ada", "lin", []string{"decision"}, "", 3,
		[]seedComment{{"lin", "ULIDs sort by time and fit bbolt keys."}, {"ada", "Agreed, we will use ULIDs for all new ids from now on."}}},
	{LinearTeamENG, "Memory spike during nightly reindex", "RSS grows to 3 GB while the search index rebuilds.", "Triage", "", "ken", []string{"bug", "performance"}, "", 0, nil},
	{LinearTeamENG, "On-call runbook for queue backlog", "What to check when the job backlog alert fires.", "Todo", "lin", "ada", []string{"docs"}, "Platform Reliability", 3, nil},
	{LinearTeamENG, "Deprecate XML export", "Nobody has used it in six months.", "Canceled", "margaret", "margaret", nil, "", 4,
		[]seedComment{{"margaret", "Duplicate of the export cleanup epic; closing."}}},
	{LinearTeamENG, "Cache tenant config per request", "Tenant config is read five times per request.", "In Progress", "alan", "alan", []string{"performance"}, "", 3, nil},

	{LinearTeamPRD, "Q4 roadmap review with sales", "Walk sales through the Q4 roadmap and collect their top asks.", "Done", "margaret", "margaret", nil, "Planning", 2,
		[]seedComment{{"margaret", "Notes are in the roadmap doc; top ask is SSO."}}},
	{LinearTeamPRD, "Pricing page: add annual plans", "Show annual prices with two months free.", "In Progress", "lin", "margaret", []string{"pricing"}, "Billing", 2, nil},
	{LinearTeamPRD, "Interview five customers about standups", "Understand how teams run async standups today.", "In Progress", "grace", "grace", []string{"research"}, "", 3,
		[]seedComment{{"grace", "Three interviews done; everybody hates status meetings."}}},
	{LinearTeamPRD, "Onboarding checklist copy", "Rewrite the five onboarding steps in plain language.", "In Review", "margaret", "lin", nil, "Onboarding", 3, nil},
	{LinearTeamPRD, "Define success metrics for the decision log", "How do we know the decision log is used?", "Todo", "ada", "margaret", nil, "Planning", 3, nil},
	{LinearTeamPRD, "Competitive analysis of status tools", "Compare three tools that summarize team activity.", "Backlog", "", "margaret", []string{"research"}, "", 4, nil},
	{LinearTeamPRD, "Enterprise trial length", "Sales asks for longer trials for enterprise prospects.", "Done", "margaret", "lin", nil, "Enterprise", 2,
		[]seedComment{{"lin", "14 days is too short for security reviews."}, {"margaret", "Let's go with 30-day enterprise trials, approved by sales."}}},
	{LinearTeamPRD, "Release notes for November", "Collect the changes shipped this month.", "Triage", "lin", "lin", nil, "", 0, nil},
	{LinearTeamPRD, "Churn survey follow-up", "Call the customers who left last month.", "Canceled", "grace", "margaret", nil, "", 4, nil},
	{LinearTeamPRD, "Usage-based billing for API calls", "Charge API calls above the plan's allowance.", "Blocked", "alan", "margaret", []string{"blocked", "pricing"}, "Billing", 2,
		[]seedComment{{"alan", "Blocked until finance signs off on metering."}}},

	{LinearTeamDES, "Redesign the integrations page", "Cards per provider with health and last sync.", "In Progress", "grace", "grace", nil, "Integrations UX", 2,
		[]seedComment{{"ada", "Can the card show the last error too?"}, {"grace", "Yes, added under the status line."}}},
	{LinearTeamDES, "Empty states for the decision log", "Explain what appears here and how to record a decision.", "Done", "grace", "margaret", nil, "Onboarding", 3, nil},
	{LinearTeamDES, "Icon set for providers", "Monochrome icons for Slack, Linear and GitHub.", "Todo", "grace", "grace", nil, "Integrations UX", 4, nil},
	{LinearTeamDES, "Mobile layout for the standup view", "The standup summary overflows on small screens.", "Backlog", "", "lin", nil, "", 3, nil},
	{LinearTeamDES, "Accessibility review of forms", "Labels, focus order and error messages.", "Triage", "", "ada", []string{"accessibility"}, "", 0, nil},
	{LinearTeamDES, "Illustrations for onboarding", "Dropped in favour of the checklist.", "Canceled", "grace", "grace", nil, "Onboarding", 4, nil},
}

// linearData is the Linear stand-in's workspace content and its injected
// faults.
type linearData struct {
	mu        sync.Mutex
	urlKey    string
	teams     []LinearTeam
	issues    map[string]*LinearIssue
	numbers   map[string]int // last issue number per team id
	lastStamp time.Time      // the newest updatedAt handed out

	requests     int
	reversePages bool
	rateLimitFor int
	errorFor     int
	errorStatus  int
}

// newLinearData seeds the workspace with linearSeed spread over the week
// before end. The content and ids are always the same; the times are
// relative to end and chosen by a fixed-seed generator.
func newLinearData(urlKey string, end time.Time) *linearData {
	d := &linearData{
		urlKey:  urlKey,
		teams:   []LinearTeam{LinearTeamENG, LinearTeamPRD, LinearTeamDES},
		issues:  map[string]*LinearIssue{},
		numbers: map[string]int{},
	}
	end = end.UTC().Truncate(time.Minute).Add(-time.Hour)
	start := end.Add(-7 * 24 * time.Hour)
	rng := rand.New(rand.NewPCG(20261102, 42))
	span := end.Sub(start) / time.Duration(len(linearSeed)+1)
	used := map[time.Time]bool{}
	for i, s := range linearSeed {
		created := start.Add(time.Duration(i)*span + time.Duration(rng.Int64N(int64(span/2)))).Truncate(time.Millisecond)
		updated := created.Add(10*time.Minute + time.Duration(rng.Int64N(int64(36*time.Hour))))
		if updated.After(end) {
			updated = end
		}
		updated = updated.Truncate(time.Millisecond)
		for used[updated] {
			updated = updated.Add(-time.Millisecond)
		}
		used[updated] = true
		d.numbers[s.team.ID] = max(d.numbers[s.team.ID], 100) + 1
		num := d.numbers[s.team.ID]
		iss := &LinearIssue{
			ID:          linearUUID(fmt.Sprintf("issue/%s-%d", s.team.Key, num)),
			Number:      num,
			Identifier:  fmt.Sprintf("%s-%d", s.team.Key, num),
			Title:       s.title,
			Description: s.desc,
			Team:        s.team,
			StateName:   s.state,
			StateType:   linearStates[s.state],
			Priority:    s.priority,
			Labels:      s.labels,
			Project:     s.project,
			CreatedAt:   created,
			UpdatedAt:   updated,
		}
		if u, ok := linearUsers[s.assignee]; ok {
			iss.Assignee = &u
		}
		if u, ok := linearUsers[s.creator]; ok {
			iss.Creator = &u
		}
		step := updated.Sub(created) / time.Duration(len(s.comments)+1)
		for j, c := range s.comments {
			iss.Comments = append(iss.Comments, LinearComment{
				ID:        linearUUID(fmt.Sprintf("comment/%s/%d", iss.Identifier, j)),
				Body:      c.body,
				User:      linearUsers[c.user],
				CreatedAt: created.Add(time.Duration(j+1) * step).Truncate(time.Millisecond),
			})
		}
		switch iss.StateType {
		case "completed":
			t := updated
			iss.CompletedAt = &t
		case "canceled":
			t := updated
			iss.CanceledAt = &t
		}
		iss.URL = d.issueURL(iss)
		d.issues[iss.ID] = iss
		d.lastStamp = laterOf(d.lastStamp, updated)
	}
	return d
}

func (d *linearData) issueURL(i *LinearIssue) string {
	return "https://linear.app/" + d.urlKey + "/issue/" + i.Identifier + "/" + slug(i.Title)
}

// slug is Linear's URL title: lower case words joined by '-'.
func slug(s string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
		} else {
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	return b.String()
}

// Teams lists the stand-in's teams.
func (l *Linear) Teams() []LinearTeam {
	l.data.mu.Lock()
	defer l.data.mu.Unlock()
	return slices.Clone(l.data.teams)
}

// Issues lists the stand-in's issues, oldest update first.
func (l *Linear) Issues() []LinearIssue {
	l.data.mu.Lock()
	defer l.data.mu.Unlock()
	out := make([]LinearIssue, 0, len(l.data.issues))
	for _, i := range l.data.issues {
		out = append(out, i.clone())
	}
	slices.SortFunc(out, func(a, b LinearIssue) int {
		if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// Issue returns one issue by id.
func (l *Linear) Issue(id string) (LinearIssue, bool) {
	l.data.mu.Lock()
	defer l.data.mu.Unlock()
	i, ok := l.data.issues[id]
	if !ok {
		return LinearIssue{}, false
	}
	return i.clone(), true
}

// UpsertIssue creates or replaces an issue, the way an edit in Linear
// would: UpdatedAt becomes the stand-in's clock, and always later than any
// updatedAt handed out before (so a watermark sees it even with a frozen
// test clock). A new issue (empty ID) gets an id, the team's next number
// and identifier, a URL and CreatedAt; an unknown Team.ID takes ENG; an
// empty StateName is "Todo"; StateType follows StateName when known, and
// CompletedAt/CanceledAt follow StateType (set to now when missing, cleared
// otherwise). It returns the issue as stored.
func (l *Linear) UpsertIssue(in LinearIssue) LinearIssue {
	d := l.data
	d.mu.Lock()
	defer d.mu.Unlock()
	now := laterOf(l.now().UTC().Truncate(time.Millisecond), d.lastStamp.Add(time.Millisecond))
	iss := in.clone()
	if !slices.ContainsFunc(d.teams, func(t LinearTeam) bool { return t == iss.Team }) {
		iss.Team = LinearTeamENG
		for _, t := range d.teams {
			if t.ID == in.Team.ID {
				iss.Team = t
			}
		}
	}
	if old, ok := d.issues[iss.ID]; ok && iss.ID != "" {
		iss.Number, iss.Identifier, iss.CreatedAt = old.Number, old.Identifier, old.CreatedAt
	} else {
		if iss.ID == "" {
			iss.ID = newUUID()
		}
		d.numbers[iss.Team.ID] = max(d.numbers[iss.Team.ID], 100) + 1
		iss.Number = d.numbers[iss.Team.ID]
		iss.Identifier = fmt.Sprintf("%s-%d", iss.Team.Key, iss.Number)
		if iss.CreatedAt.IsZero() {
			iss.CreatedAt = now
		}
	}
	if iss.StateName == "" {
		iss.StateName = "Todo"
	}
	if t, ok := linearStates[iss.StateName]; ok {
		iss.StateType = t
	}
	// Like Linear, completion and cancellation times follow the state.
	switch iss.StateType {
	case "completed":
		iss.CanceledAt = nil
		if iss.CompletedAt == nil {
			t := now
			iss.CompletedAt = &t
		}
	case "canceled":
		iss.CompletedAt = nil
		if iss.CanceledAt == nil {
			t := now
			iss.CanceledAt = &t
		}
	default:
		iss.CompletedAt, iss.CanceledAt = nil, nil
	}
	if iss.URL == "" {
		iss.URL = d.issueURL(&iss)
	}
	iss.UpdatedAt = now
	d.lastStamp = now
	d.issues[iss.ID] = &iss
	return iss.clone()
}

// RateLimitNext makes the next n GraphQL requests answer Linear's rate
// limit refusal: HTTP 400, an error with extensions type "ratelimited" and
// code RATELIMITED, X-RateLimit-Requests-Remaining 0, a reset one second
// ahead and Retry-After: 1.
func (l *Linear) RateLimitNext(n int) {
	l.data.mu.Lock()
	defer l.data.mu.Unlock()
	l.data.rateLimitFor = n
}

// ErrorNext makes the next n GraphQL requests answer the HTTP status
// (meant for 5xx) with a plain-text body.
func (l *Linear) ErrorNext(n, status int) {
	l.data.mu.Lock()
	defer l.data.mu.Unlock()
	l.data.errorFor, l.data.errorStatus = n, status
}

// ReversePages makes `issues` answer each page's nodes in reverse order
// (the pages, their sets and cursors unchanged), for tests that a client
// does not rely on the order of nodes.
func (l *Linear) ReversePages(on bool) {
	l.data.mu.Lock()
	defer l.data.mu.Unlock()
	l.data.reversePages = on
}

// GraphQLRequests counts the requests to /graphql, refused ones included.
func (l *Linear) GraphQLRequests() int {
	l.data.mu.Lock()
	defer l.data.mu.Unlock()
	return l.data.requests
}

// IssueToken hands out a valid access token (with its refresh token) for
// scopes ("read" when none), as if an OAuth flow had just finished; for
// tests of API clients that are not about OAuth.
func (l *Linear) IssueToken(scopes ...string) string {
	if len(scopes) == 0 {
		scopes = []string{"read"}
	}
	a := &l.oauthServer
	a.mu.Lock()
	defer a.mu.Unlock()
	g := &grant{clientID: a.opts.ClientID, scopes: slices.Clone(scopes)}
	a.grants = append(a.grants, g)
	return a.issueLocked(g).AccessToken
}

func laterOf(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	h := randString(32, hexdig)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + string("89ab"[strings.IndexByte(hexdig, h[16])%4]) + h[17:20] + "-" + h[20:32]
}
