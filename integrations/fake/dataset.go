package fake

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Replacing a stand-in's whole data set, the way Slack.SetData does for
// Slack: `pmassist demo` serves a curated week (demo.go) instead of the
// generated test data.

// SetIssues replaces every issue of the Linear stand-in. Each issue keeps
// its times, state and identifiers as given; missing parts are filled in:
// an empty ID gets a stable one derived from the identifier, an unknown
// Team takes ENG, a zero Number the team's next one (and with it the
// Identifier), an empty URL the issue's Linear URL, an empty StateType the
// type of StateName. Later UpsertIssue calls continue after the newest
// updatedAt and the highest numbers.
func (l *Linear) SetIssues(issues []LinearIssue) {
	d := l.data
	d.mu.Lock()
	defer d.mu.Unlock()
	d.issues = map[string]*LinearIssue{}
	d.numbers = map[string]int{}
	d.lastStamp = time.Time{}
	for _, in := range issues {
		iss := in.clone()
		if !slices.Contains(d.teams, iss.Team) {
			iss.Team = LinearTeamENG
			for _, t := range d.teams {
				if t.ID == in.Team.ID || (in.Team.Key != "" && t.Key == in.Team.Key) {
					iss.Team = t
				}
			}
		}
		if iss.Number == 0 {
			iss.Number = max(d.numbers[iss.Team.ID], 100) + 1
		}
		d.numbers[iss.Team.ID] = max(d.numbers[iss.Team.ID], iss.Number)
		if iss.Identifier == "" {
			iss.Identifier = fmt.Sprintf("%s-%d", iss.Team.Key, iss.Number)
		}
		if iss.ID == "" {
			iss.ID = linearUUID("issue/" + iss.Identifier)
		}
		if iss.StateType == "" {
			iss.StateType = linearStates[iss.StateName]
		}
		if iss.URL == "" {
			iss.URL = d.issueURL(&iss)
		}
		if iss.CreatedAt.IsZero() {
			iss.CreatedAt = iss.UpdatedAt
		}
		d.issues[iss.ID] = &iss
		d.lastStamp = laterOf(d.lastStamp, iss.UpdatedAt)
	}
}

// SetPulls replaces the pull requests of a repository ("owner/name") of
// the GitHub stand-in. Numbers, times and states are kept as given; an
// empty State is "open".
func (g *GitHub) SetPulls(repo string, pulls []GitHubPull) error {
	owner, name, _ := strings.Cut(repo, "/")
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.repo(owner, name)
	if r == nil {
		return fmt.Errorf("fake: no repository %q", repo)
	}
	r.pulls = make([]*GitHubPull, 0, len(pulls))
	for _, p := range pulls {
		p = p.clone()
		if p.State == "" {
			p.State = "open"
		}
		r.pulls = append(r.pulls, &p)
	}
	slices.SortFunc(r.pulls, func(a, b *GitHubPull) int { return a.Number - b.Number })
	return nil
}

// SetUser adds or replaces an account of the GitHub stand-in (what
// GET /users/{login} answers).
func (g *GitHub) SetUser(u GitHubUser) {
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	d.users[strings.ToLower(u.Login)] = u
}
