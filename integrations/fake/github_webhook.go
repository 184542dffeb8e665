package fake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// githubWebhookAPI is the API base written into webhook payloads.
const githubWebhookAPI = "https://api.github.com"

// SignWebhook returns the headers GitHub sends with a webhook delivery:
// X-Hub-Signature-256 (sha256= + hex HMAC-SHA256 of the body with the
// secret), X-GitHub-Event, X-GitHub-Delivery, and the usual extras.
func (g *GitHub) SignWebhook(secret string, body []byte, event, delivery string) http.Header {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "GitHub-Hookshot/a1b2c3d")
	h.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	h.Set("X-GitHub-Event", event)
	h.Set("X-GitHub-Delivery", delivery)
	h.Set("X-GitHub-Hook-ID", "461234567")
	return h
}

// PullRequestEvent builds the body of a `pull_request` webhook for a pull
// request of the stand-in, in the shape GitHub delivers (the full pull
// request with `merged`, the repository, the organization, the sender).
// A merge is action "closed" on a merged pull request.
func (g *GitHub) PullRequestEvent(action, repo string, number int) ([]byte, error) {
	owner, name, _ := strings.Cut(repo, "/")
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	r := d.repo(owner, name)
	if r == nil {
		return nil, fmt.Errorf("fake: no repository %q", repo)
	}
	var p *GitHubPull
	for _, q := range r.pulls {
		if q.Number == number {
			p = q
		}
	}
	if p == nil {
		return nil, fmt.Errorf("fake: no pull request %s#%d", repo, number)
	}
	o := *d.org(r.owner)
	pr := d.pullJSON(githubWebhookAPI, r, o, p)
	pr["merged"] = p.MergedAt != nil
	pr["mergeable"] = nil
	pr["rebaseable"] = nil
	pr["mergeable_state"] = "unknown"
	pr["merged_by"] = nil
	if p.MergedAt != nil {
		pr["merged_by"] = d.userJSON(githubWebhookAPI, p.User)
	}
	pr["comments"] = 0
	pr["review_comments"] = 0
	pr["maintainer_can_modify"] = false
	pr["commits"] = 1
	pr["additions"] = len(p.Files) * 10
	pr["deletions"] = len(p.Files)
	pr["changed_files"] = len(p.Files)
	return json.Marshal(map[string]any{
		"action":       action,
		"number":       p.Number,
		"pull_request": pr,
		"repository":   githubRepoJSON(githubWebhookAPI, r, o),
		"organization": githubOrgJSON(githubWebhookAPI, o),
		"sender":       d.userJSON(githubWebhookAPI, p.User),
	})
}
