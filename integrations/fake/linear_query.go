package fake

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// linearTime is how Linear writes DateTime values.
const linearTime = "2006-01-02T15:04:05.000Z07:00"

func linearTimeValue(t *time.Time) any {
	if t == nil || t.IsZero() {
		return nil
	}
	return t.UTC().Format(linearTime)
}

func (l *Linear) viewerObject() map[string]any {
	return map[string]any{
		"__typename": "User",
		"id":         LinearViewerID,
		"name":       LinearViewerName,
		"email":      LinearViewerEmail,
		"organization": map[string]any{
			"__typename": "Organization",
			"id":         l.ws.ID,
			"name":       l.ws.Name,
			"urlKey":     l.ws.Login,
		},
	}
}

func teamObject(t LinearTeam) map[string]any {
	return map[string]any{"__typename": "Team", "id": t.ID, "key": t.Key, "name": t.Name}
}

// teamsConnection answers `teams`: every team, in one page.
func (l *Linear) teamsConnection() map[string]any {
	var nodes []any
	for _, t := range l.Teams() {
		nodes = append(nodes, teamObject(t))
	}
	return connection("TeamConnection", nodes)
}

func userObject(u *LinearUser) any {
	if u == nil {
		return nil
	}
	return map[string]any{
		"__typename":  "User",
		"id":          u.ID,
		"name":        u.Name,
		"displayName": strings.ToLower(strings.Fields(u.Name)[0]),
		"email":       u.Email,
	}
}

func stateID(team LinearTeam, name string) string {
	return linearUUID("state/" + team.Key + "/" + name)
}
func labelID(name string) string   { return linearUUID("label/" + name) }
func projectID(name string) string { return linearUUID("project/" + name) }

// issueObject is an issue as GraphQL's Issue type, with the fields the
// stand-in knows.
func issueObject(i *LinearIssue) map[string]any {
	labels := []any{}
	for _, name := range i.Labels {
		labels = append(labels, map[string]any{"__typename": "IssueLabel", "id": labelID(name), "name": name})
	}
	comments := []any{}
	for _, c := range i.Comments {
		comments = append(comments, map[string]any{
			"__typename": "Comment",
			"id":         c.ID,
			"body":       c.Body,
			"createdAt":  linearTimeValue(&c.CreatedAt),
			"updatedAt":  linearTimeValue(&c.CreatedAt),
			"user":       userObject(&c.User),
		})
	}
	var project any
	if i.Project != "" {
		project = map[string]any{"__typename": "Project", "id": projectID(i.Project), "name": i.Project}
	}
	var description any
	if i.Description != "" {
		description = i.Description
	}
	return map[string]any{
		"__typename":  "Issue",
		"id":          i.ID,
		"identifier":  i.Identifier,
		"number":      i.Number,
		"title":       i.Title,
		"description": description,
		"url":         i.URL,
		"priority":    i.Priority,
		"createdAt":   linearTimeValue(&i.CreatedAt),
		"updatedAt":   linearTimeValue(&i.UpdatedAt),
		"completedAt": linearTimeValue(i.CompletedAt),
		"canceledAt":  linearTimeValue(i.CanceledAt),
		"archivedAt":  nil,
		"state": map[string]any{
			"__typename": "WorkflowState",
			"id":         stateID(i.Team, i.StateName),
			"name":       i.StateName,
			"type":       i.StateType,
		},
		"assignee": userObject(i.Assignee),
		"creator":  userObject(i.Creator),
		"team":     teamObject(i.Team),
		"project":  project,
		"labels":   connection("IssueLabelConnection", labels),
		"comments": connection("CommentConnection", comments),
	}
}

// linearIssuesArgs are the arguments of `issues` the stand-in reads;
// anything else is refused rather than ignored, so that a client never
// believes a filter applied that did not.
type linearIssuesArgs struct {
	Filter  *linearIssueFilter `json:"filter"`
	First   *int               `json:"first"`
	After   *string            `json:"after"`
	OrderBy *string            `json:"orderBy"`
}

type linearIssueFilter struct {
	UpdatedAt *linearDateComparator `json:"updatedAt"`
	CreatedAt *linearDateComparator `json:"createdAt"`
	Team      *struct {
		ID  *linearIDComparator `json:"id"`
		Key *linearIDComparator `json:"key"`
	} `json:"team"`
}

type linearDateComparator struct {
	Gt  *string `json:"gt"`
	Gte *string `json:"gte"`
	Lt  *string `json:"lt"`
	Lte *string `json:"lte"`
}

type linearIDComparator struct {
	Eq  *string  `json:"eq"`
	In  []string `json:"in"`
	Neq *string  `json:"neq"`
	Nin []string `json:"nin"`
}

func (c *linearIDComparator) match(v string) bool {
	return c == nil ||
		(c.Eq == nil || *c.Eq == v) &&
			(c.In == nil || slices.Contains(c.In, v)) &&
			(c.Neq == nil || *c.Neq != v) &&
			!slices.Contains(c.Nin, v)
}

// matcher compiles a date comparator.
func (c *linearDateComparator) matcher(field string) (func(time.Time) bool, error) {
	if c == nil {
		return func(time.Time) bool { return true }, nil
	}
	var checks []func(time.Time) bool
	for _, b := range []struct {
		op  string
		v   *string
		cmp func(t, bound time.Time) bool
	}{
		{"gt", c.Gt, func(t, b time.Time) bool { return t.After(b) }},
		{"gte", c.Gte, func(t, b time.Time) bool { return !t.Before(b) }},
		{"lt", c.Lt, func(t, b time.Time) bool { return t.Before(b) }},
		{"lte", c.Lte, func(t, b time.Time) bool { return !t.After(b) }},
	} {
		if b.v == nil {
			continue
		}
		bound, err := time.Parse(time.RFC3339Nano, *b.v)
		if err != nil {
			return nil, fmt.Errorf("filter.%s.%s: %q is not a DateTime", field, b.op, *b.v)
		}
		cmp := b.cmp
		checks = append(checks, func(t time.Time) bool { return cmp(t, bound) })
	}
	return func(t time.Time) bool {
		for _, c := range checks {
			if !c(t) {
				return false
			}
		}
		return true
	}, nil
}

// Paging limits of Linear connections.
const (
	linearDefaultFirst = 50
	linearMaxFirst     = 250
)

// issuesConnection answers `issues(filter, first, after, orderBy)`:
//
//   - filter: updatedAt and createdAt {gt gte lt lte} (DateTime strings),
//     team {id, key} {eq in neq nin}; other filters are refused;
//   - first: 1…250, default 50; `last`/`before` are refused;
//   - orderBy: updatedAt or createdAt (Linear's default), ascending, ties
//     broken by id (ReversePages turns each page around);
//   - after: an endCursor of an earlier page. Cursors are opaque to
//     clients; here they encode the order key and id of the last node, so
//     that an issue updated during a walk is met again later rather than
//     skipped (a client must not rely on the order beyond the cursor).
//
// The arguments may come as literals or variables of any name.
func (l *Linear) issuesConnection(args map[string]any) (map[string]any, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var a linearIssuesArgs
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("unsupported argument or filter in stand-in: %v", err)
	}
	first := linearDefaultFirst
	if a.First != nil {
		first = *a.First
	}
	if first < 1 || first > linearMaxFirst {
		return nil, fmt.Errorf("first must be between 1 and %d", linearMaxFirst)
	}
	byUpdated := false
	if a.OrderBy != nil {
		switch *a.OrderBy {
		case "updatedAt":
			byUpdated = true
		case "createdAt":
		default:
			return nil, fmt.Errorf("orderBy: %q is not a PaginationOrderBy", *a.OrderBy)
		}
	}
	key := func(i *LinearIssue) time.Time {
		if byUpdated {
			return i.UpdatedAt
		}
		return i.CreatedAt
	}
	f := a.Filter
	if f == nil {
		f = &linearIssueFilter{}
	}
	updated, err := f.UpdatedAt.matcher("updatedAt")
	if err != nil {
		return nil, err
	}
	created, err := f.CreatedAt.matcher("createdAt")
	if err != nil {
		return nil, err
	}
	var afterKey time.Time
	var afterID string
	if a.After != nil && *a.After != "" {
		if afterKey, afterID, err = parseLinearCursor(*a.After); err != nil {
			return nil, err
		}
	}

	l.data.mu.Lock()
	var match []*LinearIssue
	for _, i := range l.data.issues {
		if !updated(i.UpdatedAt) || !created(i.CreatedAt) {
			continue
		}
		if f.Team != nil && (!f.Team.ID.match(i.Team.ID) || !f.Team.Key.match(i.Team.Key)) {
			continue
		}
		if afterID != "" {
			if c := key(i).Compare(afterKey); c < 0 || c == 0 && i.ID <= afterID {
				continue
			}
		}
		c := i.clone()
		match = append(match, &c)
	}
	reverse := l.data.reversePages
	l.data.mu.Unlock()

	slices.SortFunc(match, func(a, b *LinearIssue) int {
		if c := key(a).Compare(key(b)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	hasNext := len(match) > first
	if hasNext {
		match = match[:first]
	}
	nodes := []any{}
	for _, i := range match {
		nodes = append(nodes, issueObject(i))
	}
	var start, end any
	if len(match) > 0 {
		start = linearCursor(key(match[0]), match[0].ID)
		end = linearCursor(key(match[len(match)-1]), match[len(match)-1].ID)
	}
	if reverse {
		slices.Reverse(nodes)
	}
	return map[string]any{
		"__typename": "IssueConnection",
		"nodes":      nodes,
		"pageInfo": map[string]any{
			"__typename":      "PageInfo",
			"hasNextPage":     hasNext,
			"hasPreviousPage": afterID != "",
			"startCursor":     start,
			"endCursor":       end,
		},
	}, nil
}

func linearCursor(key time.Time, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(key.UnixMilli(), 10) + ":" + id))
}

var errLinearCursor = errors.New("after: invalid cursor")

func parseLinearCursor(s string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", errLinearCursor
	}
	ms, id, ok := strings.Cut(string(raw), ":")
	n, err := strconv.ParseInt(ms, 10, 64)
	if !ok || err != nil || id == "" {
		return time.Time{}, "", errLinearCursor
	}
	return time.UnixMilli(n).UTC(), id, nil
}
