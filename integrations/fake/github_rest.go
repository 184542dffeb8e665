package fake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The GitHub stand-in's REST API for ingestion: the account's
// organizations, an organization's repositories, a repository's pull
// requests and their files, and users. Like GitHub it paginates with the
// Link header, answers ETags and 304 Not Modified (which do not count
// against the rate limit), reports the rate limit in x-ratelimit-* headers
// on every answer, and hides private repositories from outsiders as 404.

const (
	githubRateDocs      = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
	githubAnonLimit     = 60
	githubRateWindow    = time.Hour
	githubDefaultPage   = 30
	githubAPIPrefix     = "/api/v3" // GitHub Enterprise Server's REST prefix
	githubPublicWebBase = "https://github.com"
)

type githubPrefixKey struct{}

func (g *GitHub) restRoutes() {
	g.mux.HandleFunc("GET /user/orgs", g.rest((*githubCall).userOrgs))
	g.mux.HandleFunc("GET /orgs/{org}/repos", g.rest((*githubCall).orgRepos))
	g.mux.HandleFunc("GET /repos/{owner}/{repo}/pulls", g.rest((*githubCall).repoPulls))
	g.mux.HandleFunc("GET /repos/{owner}/{repo}/pulls/{number}/files", g.rest((*githubCall).pullFiles))
	g.mux.HandleFunc("GET /users/{login}", g.rest((*githubCall).userByLogin))
}

// SetRateLimit sets the primary rate-limit budget per hour of the
// authorizing account (default 5000) and starts a fresh window.
func (g *GitHub) SetRateLimit(limit int) {
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	d.limit, d.used, d.resetAt = limit, 0, time.Time{}
}

// RateLimitUsed is how many requests counted against the current window.
func (g *GitHub) RateLimitUsed() int {
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.used
}

// SetPageCap sets the largest per_page the stand-in honours (GitHub: 100),
// so that tests paginate small data sets.
func (g *GitHub) SetPageCap(n int) {
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	d.pageCap = max(n, 1)
}

// PrimaryLimitNext makes the next n REST requests fail as if the primary
// rate limit were exhausted: 403, x-ratelimit-remaining 0, reset a second
// ahead.
func (g *GitHub) PrimaryLimitNext(n int) {
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	d.primaryLeft = n
}

// SecondaryLimitNext makes the next n REST requests fail with a secondary
// rate limit: 403 with retry-after: 1.
func (g *GitHub) SecondaryLimitNext(n int) {
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	d.secondaryLeft = n
}

// ErrorNext makes the next n REST requests answer status (5xx as GitHub's
// server errors).
func (g *GitHub) ErrorNext(n, status int) {
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	d.errorLeft, d.errorStatus = n, status
}

// Requests counts the requests whose path (without /api/v3) starts with
// pathPrefix, failed and 304 ones included.
func (g *GitHub) Requests(pathPrefix string) int {
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, p := range d.requests {
		if strings.HasPrefix(p, pathPrefix) {
			n++
		}
	}
	return n
}

// NotModified counts the 304 answers.
func (g *GitHub) NotModified() int {
	d := g.data
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.notModified
}

// githubRate is the rate-limit state reported in headers.
type githubRate struct {
	limit, used int
	reset       time.Time
}

func (r githubRate) set(h http.Header) {
	h.Set("X-Ratelimit-Limit", strconv.Itoa(r.limit))
	h.Set("X-Ratelimit-Remaining", strconv.Itoa(max(r.limit-r.used, 0)))
	h.Set("X-Ratelimit-Reset", strconv.FormatInt(r.reset.Unix(), 10))
	h.Set("X-Ratelimit-Used", strconv.Itoa(r.used))
	h.Set("X-Ratelimit-Resource", "core")
}

// rateLocked returns the current window, opening a new one when the last
// has ended.
func (d *githubData) rateLocked(now time.Time, anon bool) githubRate {
	if d.resetAt.IsZero() || !now.Before(d.resetAt) {
		d.resetAt = now.Add(githubRateWindow).Truncate(time.Second)
		d.used, d.anonUsed = 0, 0
	}
	if anon {
		return githubRate{limit: githubAnonLimit, used: d.anonUsed, reset: d.resetAt}
	}
	return githubRate{limit: d.limit, used: d.used, reset: d.resetAt}
}

// githubCall is one REST request being answered.
type githubCall struct {
	g      *GitHub
	w      http.ResponseWriter
	r      *http.Request
	authed bool // false: anonymous
}

// rest wraps a REST handler: it records the request, authenticates
// (`Bearer` or `token`; no Authorization is anonymous, a bad one 401),
// applies injected failures and the rate limit.
func (g *GitHub) rest(h func(c *githubCall)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		d := g.data
		d.mu.Lock()
		d.requests = append(d.requests, r.URL.Path)
		d.mu.Unlock()

		now := g.now()
		d.mu.Lock()
		d.rateLocked(now, true).set(w.Header()) // a 401 reports the anonymous limit
		d.mu.Unlock()
		authed := r.Header.Get("Authorization") != ""
		if authed {
			if _, ok := g.authenticate(w, r); !ok {
				return
			}
		}
		d.mu.Lock()
		rate := d.rateLocked(now, !authed)
		var fail func()
		switch {
		case d.primaryLeft > 0:
			d.primaryLeft--
			fail = func() {
				g.primaryLimited(w, githubRate{limit: rate.limit, used: rate.limit, reset: now.Add(time.Second)})
			}
		case d.secondaryLeft > 0:
			d.secondaryLeft--
			fail = func() {
				rate.set(w.Header())
				w.Header().Set("Retry-After", "1")
				writeJSON(w, http.StatusForbidden, map[string]string{
					"message":           "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0400:1A2B:3C4D5E:6F7A8B:6745A1B2.",
					"documentation_url": githubRateDocs + "#about-secondary-rate-limits",
				})
			}
		case d.errorLeft > 0:
			d.errorLeft--
			status := d.errorStatus
			fail = func() {
				rate.set(w.Header())
				githubMessage(w, status, http.StatusText(status))
			}
		case rate.used >= rate.limit:
			fail = func() { g.primaryLimited(w, rate) }
		}
		d.mu.Unlock()
		if fail != nil {
			fail()
			return
		}
		h(&githubCall{g: g, w: w, r: r, authed: authed})
	}
}

func (g *GitHub) primaryLimited(w http.ResponseWriter, rate githubRate) {
	rate.set(w.Header())
	writeJSON(w, http.StatusForbidden, map[string]string{
		"message":           fmt.Sprintf("API rate limit exceeded for user ID %d.", g.accountID),
		"documentation_url": githubRateDocs + "#about-the-primary-rate-limit",
	})
}

// reply answers v as JSON. A 200 carries a strong ETag of its content, and
// a matching If-None-Match gets 304 without a body; everything but a 304
// counts against the rate limit.
func (c *githubCall) reply(status int, v any, link string) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(c.w, err.Error(), http.StatusInternalServerError)
		return
	}
	d := c.g.data
	now := c.g.now()
	h := c.w.Header()
	if status == http.StatusOK {
		sum := sha256.Sum256(body)
		etag := `"` + hex.EncodeToString(sum[:]) + `"`
		h.Set("ETag", etag)
		h.Set("Cache-Control", "private, max-age=60, s-maxage=60")
		h.Set("Vary", "Accept, Authorization, Cookie")
		if githubETagMatch(c.r.Header.Get("If-None-Match"), etag) {
			d.mu.Lock()
			d.notModified++
			rate := d.rateLocked(now, !c.authed)
			d.mu.Unlock()
			rate.set(h)
			c.w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	d.mu.Lock()
	rate := d.rateLocked(now, !c.authed)
	rate.used++
	if !c.authed {
		d.anonUsed++
	} else {
		d.used++
	}
	d.mu.Unlock()
	rate.set(h)
	if link != "" {
		h.Set("Link", link)
	}
	h.Set("Content-Type", "application/json; charset=utf-8")
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

func (c *githubCall) notFound() {
	c.reply(http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": githubDocs}, "")
}

// githubETagMatch compares If-None-Match with an ETag (weak comparison,
// as GitHub does).
func githubETagMatch(header, etag string) bool {
	if header == "" {
		return false
	}
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}

// apiBase is the absolute base URL of the request (scheme, host, and
// /api/v3 when it was used), for links and `url` fields.
func (c *githubCall) apiBase() string {
	scheme := "http"
	if c.r.TLS != nil {
		scheme = "https"
	}
	prefix, _ := c.r.Context().Value(githubPrefixKey{}).(string)
	return scheme + "://" + c.r.Host + prefix
}

// page slices n items by the page and per_page parameters and builds the
// Link header (first, prev, next, last) with absolute URLs.
func (c *githubCall) page(n int) (from, to int, link string) {
	q := c.r.URL.Query()
	per, err := strconv.Atoi(q.Get("per_page"))
	if err != nil || per < 1 {
		per = githubDefaultPage
	}
	c.g.data.mu.Lock()
	per = min(per, c.g.data.pageCap)
	c.g.data.mu.Unlock()
	page, err := strconv.Atoi(q.Get("page"))
	if err != nil || page < 1 {
		page = 1
	}
	last := max((n+per-1)/per, 1)
	from = min((page-1)*per, n)
	to = min(from+per, n)
	rel := func(p int, name string) string {
		qq := c.r.URL.Query()
		qq.Set("page", strconv.Itoa(p))
		return fmt.Sprintf("<%s%s?%s>; rel=%q", c.apiBase(), c.r.URL.Path, qq.Encode(), name)
	}
	var links []string
	if page > 1 {
		links = append(links, rel(min(page-1, last), "prev"))
	}
	if page < last {
		links = append(links, rel(page+1, "next"), rel(last, "last"))
	}
	if page > 1 {
		links = append(links, rel(1, "first"))
	}
	return from, to, strings.Join(links, ", ")
}

func (c *githubCall) userOrgs() {
	if !c.authed {
		githubMessage(c.w, http.StatusUnauthorized, "Requires authentication")
		return
	}
	d := c.g.data
	d.mu.Lock()
	var orgs []any
	for _, o := range d.orgs {
		if o.member {
			orgs = append(orgs, githubOrgJSON(c.apiBase(), o))
		}
	}
	d.mu.Unlock()
	from, to, link := c.page(len(orgs))
	c.reply(http.StatusOK, githubList(orgs[from:to]), link)
}

func (c *githubCall) orgRepos() {
	d := c.g.data
	typ := c.r.URL.Query().Get("type")
	d.mu.Lock()
	o := d.org(c.r.PathValue("org"))
	if o == nil {
		d.mu.Unlock()
		c.notFound()
		return
	}
	var repos []any
	for _, r := range d.repos {
		if !strings.EqualFold(r.owner, o.login) || !d.visible(r, c.authed) {
			continue
		}
		switch {
		case typ == "public" && r.private, typ == "private" && !r.private, typ == "forks":
			continue
		}
		repos = append(repos, c.repoJSON(r, *o))
	}
	d.mu.Unlock()
	from, to, link := c.page(len(repos))
	c.reply(http.StatusOK, githubList(repos[from:to]), link)
}

// visibleRepoLocked finds the path's repository if the caller may see it;
// nil otherwise. d.mu must be held.
func (c *githubCall) visibleRepoLocked() (*githubRepo, githubOrg) {
	d := c.g.data
	r := d.repo(c.r.PathValue("owner"), c.r.PathValue("repo"))
	if r == nil || !d.visible(r, c.authed) {
		return nil, githubOrg{}
	}
	o := d.org(r.owner)
	return r, *o
}

func (c *githubCall) repoPulls() {
	q := c.r.URL.Query()
	state := q.Get("state")
	if state == "" {
		state = "open"
	}
	if state != "open" && state != "closed" && state != "all" {
		c.reply(http.StatusUnprocessableEntity, map[string]any{
			"message": "Validation Failed", "documentation_url": githubDocs + "/pulls/pulls#list-pull-requests",
			"errors": []map[string]string{{"resource": "PullRequest", "field": "state", "code": "invalid"}},
		}, "")
		return
	}
	d := c.g.data
	d.mu.Lock()
	r, o := c.visibleRepoLocked()
	if r == nil {
		d.mu.Unlock()
		c.notFound()
		return
	}
	var pulls []*GitHubPull
	if q.Get("sort") == "updated" {
		pulls = r.sortedPulls()
		if q.Get("direction") == "asc" {
			for i, j := 0, len(pulls)-1; i < j; i, j = i+1, j-1 {
				pulls[i], pulls[j] = pulls[j], pulls[i]
			}
		}
	} else { // sort=created (default), newest first
		for i := len(r.pulls) - 1; i >= 0; i-- {
			pulls = append(pulls, r.pulls[i])
		}
	}
	var list []any
	for _, p := range pulls {
		if state == "all" || state == p.State {
			list = append(list, c.g.data.pullJSON(c.apiBase(), r, o, p))
		}
	}
	d.mu.Unlock()
	from, to, link := c.page(len(list))
	c.reply(http.StatusOK, githubList(list[from:to]), link)
}

func (c *githubCall) pullFiles() {
	d := c.g.data
	d.mu.Lock()
	r, _ := c.visibleRepoLocked()
	var p *GitHubPull
	if r != nil {
		n, _ := strconv.Atoi(c.r.PathValue("number"))
		for _, q := range r.pulls {
			if q.Number == n {
				p = q
			}
		}
	}
	if p == nil {
		d.mu.Unlock()
		c.notFound()
		return
	}
	var files []any
	for _, f := range p.Files {
		sum := sha256.Sum256([]byte(r.fullName() + "/" + f.Filename))
		sha := hex.EncodeToString(sum[:20])
		files = append(files, map[string]any{
			"sha":          sha,
			"filename":     f.Filename,
			"status":       f.Status,
			"additions":    len(f.Filename),
			"deletions":    0,
			"changes":      len(f.Filename),
			"blob_url":     githubPublicWebBase + "/" + r.fullName() + "/blob/" + sha + "/" + f.Filename,
			"raw_url":      githubPublicWebBase + "/" + r.fullName() + "/raw/" + sha + "/" + f.Filename,
			"contents_url": c.apiBase() + "/repos/" + r.fullName() + "/contents/" + f.Filename + "?ref=" + sha,
			"patch":        "@@ -0,0 +1 @@\n+…",
		})
	}
	d.mu.Unlock()
	from, to, link := c.page(len(files))
	c.reply(http.StatusOK, githubList(files[from:to]), link)
}

func (c *githubCall) userByLogin() {
	d := c.g.data
	d.mu.Lock()
	u, ok := d.users[strings.ToLower(c.r.PathValue("login"))]
	d.mu.Unlock()
	if !ok {
		c.notFound()
		return
	}
	m := githubUserJSON(c.apiBase(), u)
	m["name"] = githubNullable(u.Name)
	m["email"] = githubNullable(u.Email)
	m["company"] = nil
	m["created_at"] = "2020-01-06T09:00:00Z"
	m["updated_at"] = "2026-01-05T09:00:00Z"
	c.reply(http.StatusOK, m, "")
}

// githubList keeps an empty page a JSON [] rather than null.
func githubList(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func githubNullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func githubTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func githubUserJSON(api string, u GitHubUser) map[string]any {
	typ := "User"
	if u.Bot {
		typ = "Bot"
	}
	return map[string]any{
		"login":      u.Login,
		"id":         u.ID,
		"node_id":    "U_kgDO" + strconv.FormatInt(u.ID, 10),
		"avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(u.ID, 10) + "?v=4",
		"url":        api + "/users/" + url.PathEscape(u.Login),
		"html_url":   githubPublicWebBase + "/" + u.Login,
		"type":       typ,
		"site_admin": false,
	}
}

// userJSON is the short user object of lists; unknown logins are plain
// users with a made-up id.
func (d *githubData) userJSON(api, login string) map[string]any {
	u, ok := d.users[strings.ToLower(login)]
	if !ok {
		u = GitHubUser{Login: login, ID: 5559999, Bot: strings.HasSuffix(login, "[bot]")}
	}
	return githubUserJSON(api, u)
}

func githubOrgJSON(api string, o githubOrg) map[string]any {
	return map[string]any{
		"login":              o.login,
		"id":                 o.id,
		"node_id":            "O_kgDO" + strconv.FormatInt(o.id, 10),
		"url":                api + "/orgs/" + o.login,
		"repos_url":          api + "/orgs/" + o.login + "/repos",
		"events_url":         api + "/orgs/" + o.login + "/events",
		"hooks_url":          api + "/orgs/" + o.login + "/hooks",
		"issues_url":         api + "/orgs/" + o.login + "/issues",
		"members_url":        api + "/orgs/" + o.login + "/members{/member}",
		"public_members_url": api + "/orgs/" + o.login + "/public_members{/member}",
		"avatar_url":         "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(o.id, 10) + "?v=4",
		"description":        o.name + " engineering",
	}
}

func githubOrgOwnerJSON(api string, o githubOrg) map[string]any {
	return map[string]any{
		"login":      o.login,
		"id":         o.id,
		"node_id":    "O_kgDO" + strconv.FormatInt(o.id, 10),
		"avatar_url": "https://avatars.githubusercontent.com/u/" + strconv.FormatInt(o.id, 10) + "?v=4",
		"url":        api + "/users/" + o.login,
		"html_url":   githubPublicWebBase + "/" + o.login,
		"type":       "Organization",
		"site_admin": false,
	}
}

func (c *githubCall) repoJSON(r *githubRepo, o githubOrg) map[string]any {
	return githubRepoJSON(c.apiBase(), r, o)
}

func githubRepoJSON(api string, r *githubRepo, o githubOrg) map[string]any {
	full := r.fullName()
	visibility := "public"
	if r.private {
		visibility = "private"
	}
	var pushed time.Time
	for _, p := range r.pulls {
		if p.UpdatedAt.After(pushed) {
			pushed = p.UpdatedAt
		}
	}
	return map[string]any{
		"id":             r.id,
		"node_id":        "R_kgDO" + strconv.FormatInt(r.id, 10),
		"name":           r.name,
		"full_name":      full,
		"private":        r.private,
		"owner":          githubOrgOwnerJSON(api, o),
		"html_url":       githubPublicWebBase + "/" + full,
		"description":    nil,
		"fork":           false,
		"url":            api + "/repos/" + full,
		"pulls_url":      api + "/repos/" + full + "/pulls{/number}",
		"created_at":     r.createdAt.Format(time.RFC3339),
		"updated_at":     pushed.Format(time.RFC3339),
		"pushed_at":      pushed.Format(time.RFC3339),
		"default_branch": "main",
		"archived":       false,
		"disabled":       false,
		"visibility":     visibility,
	}
}

// pullJSON is a pull request as GitHub lists it: merged_at, but no
// `merged` field (that only comes with a single pull request or a webhook).
// d.mu must be held.
func (d *githubData) pullJSON(api string, r *githubRepo, o githubOrg, p *GitHubPull) map[string]any {
	full := r.fullName()
	num := strconv.Itoa(p.Number)
	sum := sha256.Sum256([]byte(full + "#" + num))
	headSHA := hex.EncodeToString(sum[:20])
	labels := []any{}
	for i, l := range p.Labels {
		labels = append(labels, map[string]any{
			"id": 9990000 + int64(r.id%100)*1000 + int64(i), "node_id": "LA_kwDO" + l, "url": api + "/repos/" + full + "/labels/" + url.PathEscape(l),
			"name": l, "color": "d73a4a", "default": false, "description": nil,
		})
	}
	reviewers := []any{}
	for _, login := range p.Reviewers {
		reviewers = append(reviewers, d.userJSON(api, login))
	}
	branch := map[string]any{"label": r.owner + ":main", "ref": "main", "sha": headSHA,
		"user": githubOrgOwnerJSON(api, o), "repo": githubRepoJSON(api, r, o)}
	head := map[string]any{"label": r.owner + ":pr-" + num, "ref": "pr-" + num, "sha": headSHA,
		"user": githubOrgOwnerJSON(api, o), "repo": githubRepoJSON(api, r, o)}
	var mergeSHA any
	if p.MergedAt != nil {
		mergeSHA = headSHA
	}
	return map[string]any{
		"url":                 api + "/repos/" + full + "/pulls/" + num,
		"id":                  int64(270000000) + r.id%1000*1000 + int64(p.Number),
		"node_id":             "PR_kwDO" + strconv.FormatInt(r.id, 10) + "_" + num,
		"html_url":            githubPublicWebBase + "/" + full + "/pull/" + num,
		"diff_url":            githubPublicWebBase + "/" + full + "/pull/" + num + ".diff",
		"patch_url":           githubPublicWebBase + "/" + full + "/pull/" + num + ".patch",
		"issue_url":           api + "/repos/" + full + "/issues/" + num,
		"number":              p.Number,
		"state":               p.State,
		"locked":              false,
		"title":               p.Title,
		"user":                d.userJSON(api, p.User),
		"body":                githubNullable(p.Body),
		"created_at":          p.CreatedAt.UTC().Format(time.RFC3339),
		"updated_at":          p.UpdatedAt.UTC().Format(time.RFC3339),
		"closed_at":           githubTime(p.ClosedAt),
		"merged_at":           githubTime(p.MergedAt),
		"merge_commit_sha":    mergeSHA,
		"assignee":            nil,
		"assignees":           []any{},
		"requested_reviewers": reviewers,
		"requested_teams":     []any{},
		"labels":              labels,
		"milestone":           nil,
		"draft":               p.Draft,
		"commits_url":         api + "/repos/" + full + "/pulls/" + num + "/commits",
		"review_comments_url": api + "/repos/" + full + "/pulls/" + num + "/comments",
		"comments_url":        api + "/repos/" + full + "/issues/" + num + "/comments",
		"head":                head,
		"base":                branch,
		"author_association":  "MEMBER",
		"auto_merge":          nil,
		"active_lock_reason":  nil,
	}
}

// withAPIPrefix serves GitHub Enterprise Server's /api/v3 prefix: the
// stand-in answers both, and links keep the prefix the caller used.
func withAPIPrefix(r *http.Request) *http.Request {
	rest, ok := strings.CutPrefix(r.URL.Path, githubAPIPrefix)
	if !ok || !strings.HasPrefix(rest, "/") {
		return r
	}
	r = r.WithContext(context.WithValue(r.Context(), githubPrefixKey{}, githubAPIPrefix))
	u := *r.URL
	u.Path, u.RawPath = rest, ""
	r.URL = &u
	return r
}
