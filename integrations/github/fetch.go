package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

// perPage is GitHub's largest page.
const perPage = "100"

// resourceError is a failure of one repository or organization: the
// others are still fetched, and Fetch reports it at the end.
type resourceError struct{ err error }

func (e *resourceError) Error() string { return e.err.Error() }
func (e *resourceError) Unwrap() error { return e.err }

// run is one Fetch: the request and what is cached for its duration.
type run struct {
	c      *Client
	req    pmassist.FetchRequest
	conn   *pmassist.Connection
	emails map[string]string // login → public email ("" when none)
}

// Fetch ingests the pull requests of the configured repositories and of
// every repository of the configured organizations (with neither, of the
// account's organizations), one repository at a time, each incrementally
// from its watermark "repo:<owner>/<name>".
//
// A configured repository or organization GitHub does not show (404) is
// skipped with a warning. Other failures of one repository do not stop
// the others; they are returned together at the end. A refused token
// (EUNAUTHORIZED), a failed Emit, cancellation and repeated transient
// failures stop the fetch at once.
func (c *Client) Fetch(ctx context.Context, req pmassist.FetchRequest) error {
	if c.api == nil {
		return errNoAPIURL
	}
	if c.tokens == nil || req.Connection == nil || req.Emit == nil || req.Watermark == nil {
		return errors.New("github: incomplete fetch request")
	}
	r := &run{c: c, req: req, conn: req.Connection, emails: map[string]string{}}
	var failed []error
	keep := func(err error) error {
		var re *resourceError
		if errors.As(err, &re) {
			c.log.Warn("github: resource failed", "connection", r.conn.ID, "err", err)
			failed = append(failed, err)
			return nil
		}
		return err
	}
	repos, err := r.repos(ctx, keep)
	if err != nil {
		return err
	}
	for _, repo := range repos {
		if err := keep(r.repo(ctx, repo)); err != nil {
			return err
		}
	}
	return errors.Join(failed...)
}

// repos lists the repositories to read, each once, configured ones first.
func (r *run) repos(ctx context.Context, keep func(error) error) ([]string, error) {
	cfg := r.req.Config
	seen := map[string]bool{}
	var out []string
	add := func(full string) {
		if k := strings.ToLower(full); !seen[k] {
			seen[k] = true
			out = append(out, full)
		}
	}
	for _, full := range cfg.GitHubRepos {
		add(full)
	}
	orgs := cfg.GitHubOrgs
	if len(orgs) == 0 && len(cfg.GitHubRepos) == 0 {
		var err error
		if orgs, err = r.userOrgs(ctx); err != nil {
			return nil, err
		}
	}
	for _, org := range orgs {
		names, err := r.orgRepos(ctx, org)
		if err := keep(err); err != nil {
			return nil, err
		}
		for _, n := range names {
			add(n)
		}
	}
	return out, nil
}

// userOrgs lists the logins of the account's organizations.
func (r *run) userOrgs(ctx context.Context) ([]string, error) {
	var logins []string
	status, err := r.list(ctx, "your organizations", r.c.endpoint(url.Values{"per_page": {perPage}}, "user", "orgs"), func(body []byte) error {
		var orgs []wireOwner
		if err := json.Unmarshal(body, &orgs); err != nil {
			return err
		}
		for _, o := range orgs {
			logins = append(logins, o.Login)
		}
		return nil
	})
	if err == nil && status != http.StatusOK {
		err = fmt.Errorf("github: listing your organizations: HTTP %d", status)
	}
	return logins, err
}

// orgRepos lists the full names of an organization's repositories; an
// organization GitHub does not show is skipped with a warning.
func (r *run) orgRepos(ctx context.Context, org string) ([]string, error) {
	var names []string
	what := "repositories of " + org
	first := r.c.endpoint(url.Values{"per_page": {perPage}, "type": {"all"}}, "orgs", org, "repos")
	status, err := r.list(ctx, what, first, func(body []byte) error {
		var repos []struct {
			FullName string `json:"full_name"`
		}
		if err := json.Unmarshal(body, &repos); err != nil {
			return err
		}
		for _, repo := range repos {
			names = append(names, repo.FullName)
		}
		return nil
	})
	if err == nil && status == http.StatusNotFound {
		r.c.log.Warn("github: organization not found or not visible; skipped", "connection", r.conn.ID, "org", org)
	}
	return names, err
}

// list follows a list's pages, handing each body to page. It returns the
// status of an answer other than 200 on the first page (404 and the
// like), and a resourceError for anything else unexpected.
func (r *run) list(ctx context.Context, what, next string, page func(body []byte) error) (int, error) {
	for first := true; next != ""; first = false {
		res, err := r.c.get(ctx, r.conn.ID, next, "")
		if err != nil {
			return 0, err
		}
		if res.StatusCode != http.StatusOK {
			if first && res.StatusCode == http.StatusNotFound {
				return res.StatusCode, nil
			}
			return res.StatusCode, &resourceError{statusError(what, res)}
		}
		if err := page(res.Body); err != nil {
			return 0, &resourceError{fmt.Errorf("github: %s: unexpected answer: %w", what, err)}
		}
		if next = nextLink(res.Header); next != "" && !r.c.sameOrigin(next) {
			return 0, &resourceError{fmt.Errorf("github: %s: the next page is on another host", what)}
		}
	}
	return http.StatusOK, nil
}

// repo ingests one repository's pull requests updated after its
// watermark. The first page is conditional on the stored ETag: a 304 means
// nothing changed. Pages come newest update first, so paging stops at the
// first page that reaches the watermark. Each page is emitted as fetched;
// the last carries the new watermark.
func (r *run) repo(ctx context.Context, full string) error {
	owner, name, ok := strings.Cut(full, "/")
	if !ok || owner == "" || name == "" {
		return &resourceError{fmt.Errorf("github: %q is not owner/repo", full)}
	}
	resource := "repo:" + strings.ToLower(full)
	wm, err := r.req.Watermark(ctx, resource)
	if err != nil {
		return err
	}
	var since time.Time
	if wm.Value != "" {
		if since, err = time.Parse(time.RFC3339, wm.Value); err != nil {
			r.c.log.Warn("github: unreadable watermark; reading the repository again", "resource", resource, "value", wm.Value)
			since, wm.ETag = time.Time{}, ""
		}
	}
	what := "pull requests of " + full
	next := r.c.endpoint(url.Values{
		"state": {"all"}, "sort": {"updated"}, "direction": {"desc"}, "per_page": {perPage},
	}, "repos", owner, name, "pulls")
	newest, etag := since, ""
	for first := true; next != ""; first = false {
		cond := ""
		if first {
			cond = wm.ETag
		}
		res, err := r.c.get(ctx, r.conn.ID, next, cond)
		if err != nil {
			return err
		}
		switch {
		case first && res.StatusCode == http.StatusNotModified:
			r.c.log.Debug("github: repository unchanged", "resource", resource)
			return nil
		case first && res.StatusCode == http.StatusNotFound:
			r.c.log.Warn("github: repository not found or not visible; skipped", "connection", r.conn.ID, "repo", full)
			return nil
		case res.StatusCode != http.StatusOK:
			return &resourceError{statusError(what, res)}
		}
		var pulls []wirePull
		if err := json.Unmarshal(res.Body, &pulls); err != nil {
			return &resourceError{fmt.Errorf("github: %s: unexpected answer: %w", what, err)}
		}
		if first {
			etag = res.Header.Get("ETag")
		}
		var items []*pmassist.Item
		reached := len(pulls) == 0
		for i := range pulls {
			p := &pulls[i]
			if !since.IsZero() && !p.UpdatedAt.After(since) {
				reached = true // and so is every later page
				continue
			}
			it, err := r.item(ctx, owner, name, p)
			if err != nil {
				return err
			}
			items = append(items, it)
			if p.UpdatedAt.After(newest) {
				newest = p.UpdatedAt
			}
		}
		next = nextLink(res.Header)
		if reached {
			next = ""
		}
		if next != "" && !r.c.sameOrigin(next) {
			return &resourceError{fmt.Errorf("github: %s: the next page is on another host", what)}
		}
		page := pmassist.SourcePage{Items: items}
		if next == "" {
			page.Watermark = &pmassist.Watermark{ConnectionID: r.conn.ID, Resource: resource, ETag: etag}
			if !newest.IsZero() {
				page.Watermark.Value = newest.UTC().Format(time.RFC3339)
			}
		}
		if len(page.Items) == 0 && page.Watermark == nil {
			continue
		}
		if err := r.req.Emit(ctx, page); err != nil {
			return err
		}
	}
	return nil
}

// item converts a listed pull request, adding the author's email and, for
// pull requests that may add an ADR, the changed files.
func (r *run) item(ctx context.Context, owner, name string, p *wirePull) (*pmassist.Item, error) {
	it := convert(p, owner+"/"+name)
	it.TenantID, it.ConnectionID = r.conn.TenantID, r.conn.ID
	if !it.Author.Bot && it.Author.ExternalID != "" {
		email, err := r.email(ctx, it.Author.ExternalID)
		if err != nil {
			return nil, err
		}
		it.Author.Email = email
	}
	if mayAddADR(p) {
		files, err := r.files(ctx, owner, name, p.Number)
		if err != nil {
			return nil, err
		}
		it.Files = files
	}
	return it, nil
}

// email returns a user's public email ("" when none), once per run.
// Failing to learn it only costs the email, not the pull request.
func (r *run) email(ctx context.Context, login string) (string, error) {
	if e, ok := r.emails[login]; ok {
		return e, nil
	}
	res, err := r.c.get(ctx, r.conn.ID, r.c.endpoint(nil, "users", login), "")
	if err != nil {
		return "", err
	}
	var u struct {
		Email string `json:"email"` // null → ""
	}
	switch {
	case res.StatusCode == http.StatusOK:
		if err := json.Unmarshal(res.Body, &u); err != nil {
			r.c.log.Warn("github: unreadable user", "login", login, "err", err)
		}
	case res.StatusCode != http.StatusNotFound:
		r.c.log.Warn("github: user lookup failed", "login", login, "status", res.StatusCode)
	}
	r.emails[login] = u.Email
	return u.Email, nil
}

// files lists the paths a pull request changes.
func (r *run) files(ctx context.Context, owner, name string, number int) ([]string, error) {
	var paths []string
	what := fmt.Sprintf("files of %s/%s#%d", owner, name, number)
	first := r.c.endpoint(url.Values{"per_page": {perPage}}, "repos", owner, name, "pulls", strconv.Itoa(number), "files")
	_, err := r.list(ctx, what, first, func(body []byte) error {
		var files []struct {
			Filename string `json:"filename"`
			Status   string `json:"status"`
		}
		if err := json.Unmarshal(body, &files); err != nil {
			return err
		}
		for _, f := range files {
			paths = append(paths, f.Filename)
		}
		return nil
	})
	return paths, err
}
