package linear

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

// ResourceIssues is the watermark of a Linear connection: the newest
// updatedAt ingested, RFC 3339 in UTC with milliseconds. With a team filter
// the resource is "issues:<sorted team ids>", so that changing the teams
// starts a full fetch instead of missing the older issues of a team added
// later.
const ResourceIssues = "issues"

func issuesResource(teams []string) string {
	if len(teams) == 0 {
		return ResourceIssues
	}
	sorted := slices.Clone(teams)
	slices.Sort(sorted)
	return ResourceIssues + ":" + strings.Join(sorted, ",")
}

// watermarkLayout is how watermarks and filter bounds are written.
const watermarkLayout = "2006-01-02T15:04:05.000Z07:00"

// issuesQuery asks for everything an item needs. Label and comment lists
// are bounded to keep the query's complexity (Linear multiplies by the
// page sizes) well under Linear's per-query limit.
const issuesQuery = `query Issues($filter: IssueFilter, $first: Int, $after: String) {
  issues(filter: $filter, first: $first, after: $after, orderBy: updatedAt) {
    nodes {
      id identifier title description url priority
      createdAt updatedAt completedAt canceledAt
      state { name type }
      assignee { id name email }
      creator { id name email }
      team { id key name }
      project { name }
      labels(first: 25) { nodes { name } }
      comments(first: 50) { nodes { id body createdAt user { id name email } } }
    }
    pageInfo { hasNextPage endCursor }
  }
}`

// Fetch ingests the issues updated after the connection's watermark (of
// the configured teams, all teams when none), page by page to the end.
// Each page is emitted as it comes; the last carries the new watermark,
// the newest updatedAt of the whole run, so that a run that stops early
// is repeated from the old watermark (upserts make that harmless). The
// order of the answers is not relied on: the watermark is the maximum.
func (c *Client) Fetch(ctx context.Context, req pmassist.FetchRequest) error {
	conn := req.Connection
	if conn == nil {
		return errors.New("linear: fetch without a connection")
	}
	resource := issuesResource(req.Config.LinearTeamIDs)
	wm, err := req.Watermark(ctx, resource)
	if err != nil {
		return err
	}
	var since time.Time
	if wm.Value != "" {
		if since, err = time.Parse(time.RFC3339Nano, wm.Value); err != nil {
			c.log.Warn("linear: unreadable watermark, fetching all issues", "connection", conn.ID, "watermark", wm.Value)
			since = time.Time{}
		}
	}
	filter := map[string]any{}
	if !since.IsZero() {
		filter["updatedAt"] = map[string]any{"gt": since.UTC().Format(watermarkLayout)}
	}
	if teams := req.Config.LinearTeamIDs; len(teams) > 0 {
		filter["team"] = map[string]any{"id": map[string]any{"in": teams}}
	}
	newest := since
	var after any
	for page := 1; ; page++ {
		var out struct {
			Issues struct {
				Nodes    []issueNode `json:"nodes"`
				PageInfo pageInfo    `json:"pageInfo"`
			} `json:"issues"`
		}
		vars := map[string]any{"filter": filter, "first": c.pageSize, "after": after}
		if err := c.query(ctx, conn.ID, issuesQuery, vars, &out); err != nil {
			return err
		}
		items := make([]*pmassist.Item, 0, len(out.Issues.Nodes))
		for i := range out.Issues.Nodes {
			it := out.Issues.Nodes[i].item()
			it.TenantID, it.ConnectionID = conn.TenantID, conn.ID
			if it.UpdatedAt.After(newest) {
				newest = it.UpdatedAt
			}
			items = append(items, it)
		}
		next, err := out.Issues.PageInfo.next(after)
		if err != nil {
			return err
		}
		sp := pmassist.SourcePage{Items: items}
		if next == "" && !newest.IsZero() {
			sp.Watermark = &pmassist.Watermark{
				ConnectionID: conn.ID,
				Resource:     resource,
				Value:        newest.UTC().Format(watermarkLayout),
			}
		}
		c.log.Debug("linear: issues page", "connection", conn.ID, "page", page, "items", len(items), "last", next == "")
		if err := req.Emit(ctx, sp); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		after = next
	}
}

type user struct {
	ID    string `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

func (u *user) person() pmassist.Person {
	if u == nil {
		return pmassist.Person{}
	}
	return pmassist.Person{Name: u.Name, Email: u.Email, ExternalID: u.ID}
}

type labelName struct {
	Name string `json:"name"`
}

// labelList reads labels as GraphQL gives them ({"nodes":[…]}) and as
// webhooks do (a plain list).
type labelList []labelName

func (l *labelList) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimSpace(b); len(b) > 0 && b[0] == '[' {
		return json.Unmarshal(b, (*[]labelName)(l))
	}
	var conn struct {
		Nodes []labelName `json:"nodes"`
	}
	if err := json.Unmarshal(b, &conn); err != nil {
		return err
	}
	*l = conn.Nodes
	return nil
}

type commentNode struct {
	ID        string    `json:"id"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"createdAt"`
	User      *user     `json:"user"`
}

// issueNode is an issue as GraphQL answers it; webhooks send most of the
// same fields.
type issueNode struct {
	ID          string     `json:"id"`
	Identifier  string     `json:"identifier"`
	Title       string     `json:"title"`
	Description *string    `json:"description"`
	URL         string     `json:"url"`
	CreatedAt   time.Time  `json:"createdAt"`
	UpdatedAt   time.Time  `json:"updatedAt"`
	CompletedAt *time.Time `json:"completedAt"`
	CanceledAt  *time.Time `json:"canceledAt"`
	State       *struct {
		Name string `json:"name"`
		Type string `json:"type"`
	} `json:"state"`
	Assignee *user `json:"assignee"`
	Creator  *user `json:"creator"`
	Team     *Team `json:"team"`
	Project  *struct {
		Name string `json:"name"`
	} `json:"project"`
	Labels   labelList `json:"labels"`
	Comments struct {
		Nodes []commentNode `json:"nodes"`
	} `json:"comments"`
}

// item converts an issue. Title is the title alone (the identifier, e.g.
// ENG-101, is in the URL); ClosedAt is when it was completed or canceled,
// CompletedAt only when completed.
func (n *issueNode) item() *pmassist.Item {
	it := &pmassist.Item{
		Type:        pmassist.ItemIssue,
		Service:     pmassist.ServiceLinear,
		ExternalID:  n.ID,
		URL:         n.URL,
		Title:       n.Title,
		Author:      n.Creator.person(),
		CreatedAt:   n.CreatedAt.UTC(),
		UpdatedAt:   n.UpdatedAt.UTC(),
		CompletedAt: utc(n.CompletedAt),
		ClosedAt:    utc(n.CompletedAt),
	}
	if n.Description != nil {
		it.Text = *n.Description
	}
	if n.CanceledAt != nil {
		it.ClosedAt = utc(n.CanceledAt)
	}
	if n.State != nil {
		it.State, it.StateType = n.State.Name, n.State.Type
	}
	if n.Team != nil {
		it.Channel, it.ChannelID = n.Team.Key, n.Team.ID
	}
	if n.Assignee != nil {
		p := n.Assignee.person()
		it.Assignee = &p
	}
	if n.Project != nil {
		it.Project = n.Project.Name
	}
	for _, l := range n.Labels {
		if l.Name != "" {
			it.Labels = append(it.Labels, l.Name)
		}
	}
	for _, cm := range n.Comments.Nodes {
		it.Comments = append(it.Comments, pmassist.Comment{
			ID:        cm.ID,
			Author:    cm.User.person(),
			Body:      cm.Body,
			CreatedAt: cm.CreatedAt.UTC(),
		})
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
