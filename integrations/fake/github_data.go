package fake

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// GitHub data of the stand-in: a seeded, deterministic week of pull requests
// in the organization "acme" (repositories acme/api, acme/web and
// acme/infra), of which the authorizing account is a member, plus the
// private repository globex/secret of an organization it does not belong
// to. Times lie in the week before the stand-in's clock at construction
// (truncated to the hour), so the same clock gives the same data.

// GitHubPull is a pull request of the stand-in.
type GitHubPull struct {
	Number int
	Title  string
	Body   string // "" is sent as null, as GitHub does
	User   string // the author's login
	State  string // "open" or "closed"
	Draft  bool
	Labels []string
	// Reviewers are the requested reviewers' logins.
	Reviewers []string
	CreatedAt time.Time
	UpdatedAt time.Time
	ClosedAt  *time.Time
	MergedAt  *time.Time // set on merged pull requests (State "closed")
	Files     []GitHubFile
}

// GitHubFile is a file a pull request changes.
type GitHubFile struct {
	Filename string
	Status   string // added, modified, removed, renamed
}

// GitHubUser is an account of the stand-in.
type GitHubUser struct {
	Login string
	ID    int64
	Name  string
	Email string // public email; "" is sent as null
	Bot   bool   // type "Bot"
}

// IsADR tells whether a pull request adds or changes an architecture
// decision record: a file under docs/adr/ or docs/decisions/, or a title
// starting with "ADR".
func (p GitHubPull) IsADR() bool {
	if t := strings.ToUpper(p.Title); strings.HasPrefix(t, "ADR") && (len(t) == 3 || t[3] < 'A' || t[3] > 'Z') {
		return true
	}
	for _, f := range p.Files {
		if strings.HasPrefix(f.Filename, "docs/adr/") || strings.HasPrefix(f.Filename, "docs/decisions/") {
			return true
		}
	}
	return false
}

func (p GitHubPull) clone() GitHubPull {
	p.Labels = slices.Clone(p.Labels)
	p.Reviewers = slices.Clone(p.Reviewers)
	p.Files = slices.Clone(p.Files)
	if p.ClosedAt != nil {
		t := *p.ClosedAt
		p.ClosedAt = &t
	}
	if p.MergedAt != nil {
		t := *p.MergedAt
		p.MergedAt = &t
	}
	return p
}

type githubOrg struct {
	login  string
	id     int64
	name   string
	member bool // the authorizing account belongs to it
}

type githubRepo struct {
	owner, name string
	id          int64
	private     bool
	createdAt   time.Time
	pulls       []*GitHubPull // by number
}

func (r *githubRepo) fullName() string { return r.owner + "/" + r.name }

// githubData is the stand-in's REST state: data, counters, rate limit and
// injected failures.
type githubData struct {
	mu     sync.Mutex
	orgs   []githubOrg
	repos  []*githubRepo
	users  map[string]GitHubUser
	anchor time.Time

	pageCap     int
	requests    []string // request paths, in order
	notModified int

	limit    int
	used     int
	anonUsed int
	resetAt  time.Time

	primaryLeft, secondaryLeft int
	errorLeft, errorStatus     int
}

// githubSeed is the fixed seed of the dataset.
const githubSeed = 20261102

type githubSeedPull struct {
	title, body string
	user        string
	labels      []string
	files       []GitHubFile
	state       string // "merged", "closed", "open", "draft", "" = drawn
}

func ghFiles(status string, names ...string) []GitHubFile {
	out := make([]GitHubFile, len(names))
	for i, n := range names {
		out[i] = GitHubFile{Filename: n, Status: status}
	}
	return out
}

var githubSeedPulls = map[string][]githubSeedPull{
	"acme/api": {
		{title: "Add cursor pagination to /v1/projects", body: "Offsets break when rows are inserted while paging. We decided to go with opaque cursors for every list endpoint.", user: "alice", labels: []string{"enhancement", "backend"}},
		{title: "Fix N+1 query in standup summary", body: "Loads assignees in one query.", user: "bob", labels: []string{"bug", "backend"}},
		{title: "ADR 7: Use Postgres advisory locks for job leasing", body: "Records the decision to lease jobs with advisory locks instead of a leases table.", user: "carol", labels: []string{"decision"},
			files: append(ghFiles("added", "docs/adr/0007-postgres-advisory-locks.md"), ghFiles("modified", "internal/jobs/lease.go", "internal/jobs/lease_test.go")...), state: "merged"},
		{title: "Rate-limit the public API per token", body: "Token bucket per API token, 10 req/s burst 20.", user: "dave", labels: []string{"enhancement"}},
		{title: "Bump golang.org/x/net from 0.30.0 to 0.31.0", body: "Bumps golang.org/x/net from 0.30.0 to 0.31.0.", user: "dependabot[bot]", labels: []string{"dependencies"}, files: ghFiles("modified", "go.mod", "go.sum")},
		{title: "Return 404 instead of 500 for unknown tenants", user: "erin", labels: []string{"bug"}},
		{title: "Move webhook verification into middleware", body: "One place verifies signatures for every provider.", user: "alice"},
		{title: "Add request ids to structured logs", body: "Every log line of a request carries its id.", user: "frank", labels: []string{"backend"}},
		{title: "Drop the legacy v0 endpoints", body: "Going forward we will only serve /v1; v0 has had no traffic for 90 days.", user: "carol", labels: []string{"breaking"}},
		{title: "Retry Stripe webhooks idempotently", body: "Stores processed event ids with the change.", user: "bob", labels: []string{"billing"}},
		{title: "Cache GitHub user lookups", body: "Per ingestion run, so emails are fetched once.", user: "dave"},
		{title: "Export endpoint follow-ups", body: "Follow-up to the export PR to address the remaining review comments.", user: "erin"},
		{title: "Speed up search indexing with batches", body: "Batches of 1000 documents.", user: "alice", labels: []string{"performance"}},
		{title: "WIP: GraphQL gateway spike", body: "Exploration only, not for merging yet.", user: "frank", state: "draft"},
		{title: "Validate time zones on tenant config", user: "bob", labels: []string{"bug"}},
		{title: "Add Prometheus metrics for ingestion jobs", body: "Counters and histograms per provider.", user: "carol", labels: []string{"observability"}},
		{title: "Fix flaky scheduler test", body: "Uses a fake clock instead of sleeping.", user: "dave", labels: []string{"tests"}},
		{title: "Upgrade to Go 1.26", body: "Also enables the new vet checks.", user: "erin", labels: []string{"dependencies"}},
	},
	"acme/web": {
		{title: "Decision log timeline view", body: "Shows decisions by week with their sources.", user: "alice", labels: []string{"frontend"}},
		{title: "Record the frontend rendering decision", body: "Adds docs/adr/0003-server-rendered-pages.md. We decided to keep server-rendered pages without a SPA framework; the ADR lists the trade-offs.", user: "carol", labels: []string{"decision", "frontend"},
			files: append(ghFiles("added", "docs/adr/0003-server-rendered-pages.md"), ghFiles("modified", "README.md")...), state: "merged"},
		{title: "Dark mode for settings pages", user: "erin", labels: []string{"frontend"}},
		{title: "Fix CSRF token refresh on long-lived tabs", body: "The token is re-read from the cookie before each form post.", user: "bob", labels: []string{"bug"}},
		{title: "Bump postcss from 8.4.47 to 8.4.49", body: "Bumps postcss from 8.4.47 to 8.4.49.", user: "dependabot[bot]", labels: []string{"dependencies"}, files: ghFiles("modified", "package.json", "package-lock.json")},
		{title: "Keyboard shortcuts for search", body: "`/` focuses the search box.", user: "frank", labels: []string{"frontend"}},
		{title: "Show connection health on the Integrations page", user: "alice"},
		{title: "Empty states for the dashboard", body: "Friendly text instead of empty tables.", user: "dave", labels: []string{"frontend"}},
		{title: "Accessible focus rings", body: "Visible focus on every control.", user: "erin", labels: []string{"a11y"}},
		{title: "Paginate the items table", user: "bob"},
		{title: "Standup preview before sending", body: "Preview the composed standup; not ready for review.", user: "carol", state: "draft"},
		{title: "Localize dates with the tenant time zone", body: "All dates now use the tenant's zone.", user: "frank", labels: []string{"bug"}},
		{title: "Remove unused icon font", user: "dave"},
		{title: "Copy tweaks on the billing page", body: "Let's go with \"Plan\" instead of \"Subscription\" everywhere.", user: "alice", labels: []string{"copy"}},
	},
	"acme/infra": {
		{title: "Terraform: move backups to a separate bucket", body: "Backups no longer share a bucket with uploads.", user: "dave", labels: []string{"infra"}},
		{title: "ADR-0012: Run the appliance as a single binary", body: "Proposal: ship one binary with embedded assets instead of three services.", user: "frank", labels: []string{"decision", "infra"},
			files: append(ghFiles("added", "docs/adr/0012-single-binary.md"), ghFiles("modified", "Dockerfile")...), state: "open"},
		{title: "Add staging alerting rules", user: "erin", labels: []string{"infra"}},
		{title: "Rotate the master key in staging", body: "Runbook step 4 verified.", user: "carol", labels: []string{"security"}},
		{title: "Pin base image digests", body: "Reproducible images.", user: "bob", labels: []string{"security"}},
		{title: "Nightly restore drill", body: "Restores last night's backup into a scratch instance.", user: "dave"},
		{title: "Update hashicorp/aws to v5.80", body: "This PR updates hashicorp/aws from v5.79 to v5.80.", user: "renovate[bot]", labels: []string{"dependencies"}, files: ghFiles("modified", "terraform/versions.tf")},
		{title: "Lower log retention to 14 days", body: "Final call from the privacy review: 14 days.", user: "alice", labels: []string{"infra"}},
	},
	"globex/secret": {
		{title: "Secret project kickoff", body: "Not for acme's eyes.", user: "mallory"},
		{title: "Secret project follow-up", user: "mallory"},
	},
}

var githubFilePools = map[string][]string{
	"acme/api":      {"internal/api/projects.go", "internal/api/tenants.go", "internal/store/items.go", "internal/jobs/runner.go", "internal/search/index.go", "cmd/api/main.go", "internal/billing/stripe.go", "internal/log/log.go"},
	"acme/web":      {"ui/templates/dashboard.html", "ui/templates/settings.html", "ui/static/app.css", "ui/static/search.js", "ui/templates/integrations.html", "ui/templates/billing.html"},
	"acme/infra":    {"terraform/backups.tf", "terraform/alerts.tf", "terraform/staging.tf", "docker/Dockerfile", "runbooks/restore.md"},
	"globex/secret": {"main.go"},
}

var githubPeople = []GitHubUser{
	{Login: "alice", ID: 5550101, Name: "Alice Archer", Email: "alice@acme.test"},
	{Login: "bob", ID: 5550102, Name: "Bob Brooks"},
	{Login: "carol", ID: 5550103, Name: "Carol Chen", Email: "carol@acme.test"},
	{Login: "dave", ID: 5550104, Name: "Dave Diaz"},
	{Login: "erin", ID: 5550105, Name: "Erin Evans", Email: "erin@acme.test"},
	{Login: "frank", ID: 5550106, Name: "Frank Fischer", Email: "frank@acme.test"},
	{Login: "mallory", ID: 6660101, Name: "Mallory", Email: "mallory@globex.test"},
	{Login: "dependabot[bot]", ID: 49699333, Bot: true},
	{Login: "renovate[bot]", ID: 29139614, Bot: true},
}

func newGitHubData(account GitHubUser, now time.Time) *githubData {
	d := &githubData{
		orgs: []githubOrg{
			{login: "acme", id: 7770001, name: "Acme", member: true},
			{login: "globex", id: 7770002, name: "Globex"},
		},
		users:   map[string]GitHubUser{},
		anchor:  now.UTC().Truncate(time.Hour),
		pageCap: 100,
		limit:   5000,
	}
	d.users[strings.ToLower(account.Login)] = account
	for _, u := range githubPeople {
		d.users[strings.ToLower(u.Login)] = u
	}
	rng := rand.New(rand.NewPCG(githubSeed, 7))
	weekStart := d.anchor.Add(-7 * 24 * time.Hour)
	latest := d.anchor.Add(-time.Minute)
	reviewers := []string{"alice", "bob", "carol", "dave", "erin", "frank"}
	for i, full := range []string{"acme/api", "acme/web", "acme/infra", "globex/secret"} {
		owner, name, _ := strings.Cut(full, "/")
		repo := &githubRepo{owner: owner, name: name, id: 8880001 + int64(i), private: true,
			createdAt: time.Date(2023, 3, 1+i, 10, 0, 0, 0, time.UTC)}
		used := map[time.Time]bool{}
		for j, s := range githubSeedPulls[full] {
			created := weekStart.Add(time.Duration(rng.Int64N(int64(6 * 24 * time.Hour)))).Truncate(time.Second)
			updated := created.Add(10*time.Minute + time.Duration(rng.Int64N(int64(30*time.Hour)))).Truncate(time.Second)
			if updated.After(latest) {
				updated = latest
			}
			for used[updated] { // distinct times keep the order deterministic
				updated = updated.Add(-time.Second)
			}
			used[updated] = true
			p := &GitHubPull{
				Number: j + 1, Title: s.title, Body: s.body, User: s.user,
				Labels: slices.Clone(s.labels), CreatedAt: created, UpdatedAt: updated, State: "open",
			}
			state := s.state
			if state == "" {
				switch n := rng.IntN(100); {
				case n < 60:
					state = "merged"
				case n < 72:
					state = "closed"
				default:
					state = "open"
				}
			}
			at := updated
			switch state {
			case "merged":
				p.State, p.ClosedAt, p.MergedAt = "closed", &at, &at
			case "closed":
				p.State, p.ClosedAt = "closed", &at
			case "draft":
				p.Draft = true
			}
			if p.State == "open" && !strings.HasSuffix(s.user, "[bot]") {
				for _, k := range rng.Perm(len(reviewers))[:1+rng.IntN(2)] {
					if reviewers[k] != s.user {
						p.Reviewers = append(p.Reviewers, reviewers[k])
					}
				}
				sort.Strings(p.Reviewers)
			}
			p.Files = slices.Clone(s.files)
			if p.Files == nil {
				pool := githubFilePools[full]
				for _, k := range rng.Perm(len(pool))[:1+rng.IntN(min(3, len(pool)))] {
					status := "modified"
					if rng.IntN(5) == 0 {
						status = "added"
					}
					p.Files = append(p.Files, GitHubFile{Filename: pool[k], Status: status})
				}
			}
			repo.pulls = append(repo.pulls, p)
		}
		d.repos = append(d.repos, repo)
	}
	return d
}

func (d *githubData) repo(owner, name string) *githubRepo {
	for _, r := range d.repos {
		if strings.EqualFold(r.owner, owner) && strings.EqualFold(r.name, name) {
			return r
		}
	}
	return nil
}

func (d *githubData) org(login string) *githubOrg {
	for i := range d.orgs {
		if strings.EqualFold(d.orgs[i].login, login) {
			return &d.orgs[i]
		}
	}
	return nil
}

// visible tells whether the viewer may see a repository: public ones to
// everyone, private ones to members of their organization.
func (d *githubData) visible(r *githubRepo, authenticated bool) bool {
	if !r.private {
		return true
	}
	o := d.org(r.owner)
	return authenticated && o != nil && o.member
}

// sortedPulls returns a repository's pull requests by updated_at, newest
// first (GitHub's sort=updated&direction=desc).
func (r *githubRepo) sortedPulls() []*GitHubPull {
	out := slices.Clone(r.pulls)
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].UpdatedAt.Equal(out[j].UpdatedAt) {
			return out[i].UpdatedAt.After(out[j].UpdatedAt)
		}
		return out[i].Number > out[j].Number
	})
	return out
}

// Pulls returns the pull requests of a repository ("owner/name") by number;
// nil for an unknown repository.
func (g *GitHub) Pulls(repo string) []GitHubPull {
	owner, name, _ := strings.Cut(repo, "/")
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.repo(owner, name)
	if r == nil {
		return nil
	}
	out := make([]GitHubPull, len(r.pulls))
	for i, p := range r.pulls {
		out[i] = p.clone()
	}
	return out
}

// Repos lists the full names of an organization's repositories, including
// those the authorizing account cannot see.
func (g *GitHub) Repos(org string) []string {
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, r := range d.repos {
		if strings.EqualFold(r.owner, org) {
			out = append(out, r.fullName())
		}
	}
	return out
}

// User returns an account of the stand-in.
func (g *GitHub) User(login string) (GitHubUser, bool) {
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	u, ok := d.users[strings.ToLower(login)]
	return u, ok
}

// UpsertPull stores a pull request in a repository ("owner/name"), as an
// edit would: Number 0 (or an unknown number) adds it with the next
// number; a known number replaces that pull request. Its updated_at is
// bumped past every other pull request of the repository (and to at least
// the clock), so that it sorts first. A zero CreatedAt takes updated_at;
// an empty State is "open". It returns the stored pull request.
func (g *GitHub) UpsertPull(repo string, p GitHubPull) (GitHubPull, error) {
	owner, name, _ := strings.Cut(repo, "/")
	now := g.now().UTC().Truncate(time.Second)
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.repo(owner, name)
	if r == nil {
		return GitHubPull{}, fmt.Errorf("fake: no repository %q", repo)
	}
	updated := now
	idx := -1
	for i, q := range r.pulls {
		if !q.UpdatedAt.Before(updated) {
			updated = q.UpdatedAt.Add(time.Second)
		}
		if q.Number == p.Number {
			idx = i
		}
	}
	p = p.clone()
	p.UpdatedAt = updated
	if p.CreatedAt.IsZero() {
		p.CreatedAt = updated
	}
	if p.State == "" {
		p.State = "open"
	}
	if p.User == "" {
		p.User = "alice"
	}
	if idx >= 0 {
		r.pulls[idx] = &p
	} else {
		p.Number = len(r.pulls) + 1
		for _, q := range r.pulls {
			p.Number = max(p.Number, q.Number+1)
		}
		r.pulls = append(r.pulls, &p)
	}
	return p.clone(), nil
}
