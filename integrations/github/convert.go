package github

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

// wireUser is GitHub's short user object.
type wireUser struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
	Type  string `json:"type"` // "User", "Bot", "Organization"
}

// wirePull is a pull request as lists and webhooks carry it. Lists have
// merged_at but no `merged`; webhooks have both.
type wirePull struct {
	Number    int        `json:"number"`
	HTMLURL   string     `json:"html_url"`
	State     string     `json:"state"`
	Title     string     `json:"title"`
	Body      string     `json:"body"` // null → ""
	User      *wireUser  `json:"user"`
	CreatedAt time.Time  `json:"created_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	ClosedAt  *time.Time `json:"closed_at"`
	MergedAt  *time.Time `json:"merged_at"`
	Merged    bool       `json:"merged"`
	Draft     bool       `json:"draft"`
	Labels    []struct {
		Name string `json:"name"`
	} `json:"labels"`
	RequestedReviewers []wireUser `json:"requested_reviewers"`
	Base               struct {
		Repo *struct {
			FullName string `json:"full_name"`
		} `json:"repo"`
	} `json:"base"`
}

// wireOwner is an organization or a repository owner in webhooks.
type wireOwner struct {
	Login string `json:"login"`
	ID    int64  `json:"id"`
}

// isBot tells a bot account: GitHub types it "Bot", and its login ends
// in "[bot]".
func isBot(u *wireUser) bool {
	return u != nil && (u.Type == "Bot" || strings.HasSuffix(u.Login, "[bot]"))
}

// convert turns a pull request into an item. repo is the "owner/name" the
// pull request was listed under, used when it carries no base repository.
func convert(p *wirePull, repo string) *pmassist.Item {
	if p.Base.Repo != nil && p.Base.Repo.FullName != "" {
		repo = p.Base.Repo.FullName // GitHub's own spelling
	}
	it := &pmassist.Item{
		Type:       pmassist.ItemPullRequest,
		Service:    pmassist.ServiceGitHub,
		ExternalID: repo + "#" + strconv.Itoa(p.Number),
		URL:        p.HTMLURL,
		Title:      p.Title,
		Text:       p.Body,
		Channel:    repo,
		CreatedAt:  p.CreatedAt.UTC(),
		UpdatedAt:  p.UpdatedAt.UTC(),
		State:      p.State,
		Draft:      p.Draft,
		MergedAt:   utc(p.MergedAt),
		ClosedAt:   utc(p.ClosedAt),
	}
	if p.MergedAt != nil || p.Merged {
		it.State = "merged"
	}
	if p.User != nil {
		it.Author = pmassist.Person{Name: p.User.Login, ExternalID: p.User.Login, Bot: isBot(p.User)}
	}
	for _, l := range p.Labels {
		it.Labels = append(it.Labels, l.Name)
	}
	for _, r := range p.RequestedReviewers {
		it.Reviewers = append(it.Reviewers, r.Login)
	}
	return it
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

var (
	// adrTitle: "ADR 7: …", "ADR-0012: …", "ADR7 …", "ADRs: …".
	adrTitle = regexp.MustCompile(`(?i)^\s*adrs?(?:[^a-z]|$)`)
	// adrMention: the word ADR (so "docs/adr/" and "ADR-7", but not
	// "address"), or the other usual ways to say it.
	adrMention = regexp.MustCompile(`(?i)\badrs?\b|docs/decisions/|decision record`)
)

// mayAddADR tells whether a pull request is worth one more request for
// its changed files (decision detection looks for added ADRs): its title
// starts with "ADR" or its title or body mentions ADRs.
func mayAddADR(p *wirePull) bool {
	return adrTitle.MatchString(p.Title) || adrMention.MatchString(p.Title) || adrMention.MatchString(p.Body)
}
