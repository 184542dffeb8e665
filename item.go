package pmassist

import (
	"context"
	"time"
)

// ItemType is the kind of thing ingested.
type ItemType string

// Item types.
const (
	ItemMessage     ItemType = "message"
	ItemIssue       ItemType = "issue"
	ItemPullRequest ItemType = "pull_request"
)

// Valid reports whether t is a known item type.
func (t ItemType) Valid() bool {
	return t == ItemMessage || t == ItemIssue || t == ItemPullRequest
}

// Person is someone as a provider names them. Bots are marked so that they
// are never counted as people or decision makers.
type Person struct {
	Name       string `json:"name"`
	Email      string `json:"email,omitempty"`
	ExternalID string `json:"external_id,omitempty"` // Slack user id, Linear user id, GitHub login
	Bot        bool   `json:"bot,omitempty"`
}

// Reaction is an emoji reaction on a Slack message.
type Reaction struct {
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Users []string `json:"users,omitempty"`
}

// Comment is a comment on a Linear issue (or a reply folded into an item).
type Comment struct {
	ID        string    `json:"id"`
	Author    Person    `json:"author"`
	Body      string    `json:"body"`
	CreatedAt time.Time `json:"created_at"`
}

// Item is one ingested message, issue or pull request, keyed within its
// tenant by (service, external id): ingesting it again updates it. All text
// in it comes from outside and is untrusted.
type Item struct {
	ID           string   `json:"id"`
	TenantID     string   `json:"tenant_id"`
	ConnectionID string   `json:"connection_id"`
	Type         ItemType `json:"type"`
	Service      Service  `json:"service"`
	// ExternalID: Slack "{channel id}:{ts}", Linear the issue id, GitHub
	// "{owner}/{repo}#{number}".
	ExternalID string `json:"external_id"`
	URL        string `json:"url"`
	Title      string `json:"title"` // empty for messages
	Text       string `json:"text"`
	Author     Person `json:"author"`
	// Channel: the Slack channel name without '#', the Linear team key, the
	// GitHub "owner/repo". ChannelID: the Slack channel id, the Linear team id.
	Channel   string `json:"channel"`
	ChannelID string `json:"channel_id,omitempty"`
	// ThreadID: a Slack message's thread_ts (the parent's ts for replies and
	// for the parent itself when it has replies).
	ThreadID  string    `json:"thread_id,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// State: Linear state name, GitHub "open", "closed" or "merged"; Slack "".
	State       string     `json:"state"`
	StateType   string     `json:"state_type,omitempty"` // Linear state.type: triage, backlog, unstarted, started, completed, canceled
	Labels      []string   `json:"labels,omitempty"`
	Reactions   []Reaction `json:"reactions,omitempty"`
	Assignee    *Person    `json:"assignee,omitempty"`
	Reviewers   []string   `json:"reviewers,omitempty"`
	Project     string     `json:"project,omitempty"`
	MergedAt    *time.Time `json:"merged_at,omitempty"`
	ClosedAt    *time.Time `json:"closed_at,omitempty"`
	CompletedAt *time.Time `json:"completed_at,omitempty"`
	Files       []string   `json:"files,omitempty"` // changed paths of a PR, when cheap
	Comments    []Comment  `json:"comments,omitempty"`
	Draft       bool       `json:"draft,omitempty"`
	Deleted     bool       `json:"deleted,omitempty"` // the source was deleted (Slack message_deleted)
	IngestedAt  time.Time  `json:"ingested_at"`
}

// Watermark records how far ingestion of one resource of a connection got
// (a Slack channel's newest ts, the newest updatedAt of Linear issues or of
// a GitHub repo's pull requests), and for GitHub the ETag of the last list.
type Watermark struct {
	ConnectionID string `json:"connection_id"`
	Resource     string `json:"resource"` // e.g. "channel:C0123", "issues", "repo:acme/api"
	Value        string `json:"value"`
	ETag         string `json:"etag,omitempty"`
}

// UpsertResult counts what a page of items did to the store.
type UpsertResult struct {
	New     int
	Updated int
	// QuotaReached is set when the tenant's monthly item limit stopped the
	// page before its end; the watermark was then not advanced.
	QuotaReached bool
}

// ItemFilter selects items for listing, newest first.
type ItemFilter struct {
	Type    ItemType
	Service Service
	Cursor  string
	Limit   int
}

// ItemService stores items and watermarks (tenant-scoped).
type ItemService interface {
	// UpsertItems stores items keyed by (service, external id) and, when wm
	// is not nil, advances that watermark — in one transaction, so that a
	// crash never leaves a watermark ahead of its data. New items count
	// against the month's usage (period "2006-01" in the tenant's
	// timezone); with quota >= 0, items beyond it are not stored, the
	// watermark is not advanced and QuotaReached is set.
	UpsertItems(ctx context.Context, items []*Item, wm *Watermark, period string, quota int) (UpsertResult, error)
	FindItem(ctx context.Context, id string) (*Item, error)
	FindItemByExternalID(ctx context.Context, service Service, externalID string) (*Item, error)
	// ListItems lists items newest first (by created time).
	ListItems(ctx context.Context, f ItemFilter) ([]*Item, string, error)
	// DeleteConnectionItems removes the items ingested through a connection
	// and its watermarks (disconnect with purge), and returns their ids.
	DeleteConnectionItems(ctx context.Context, connectionID string) ([]string, error)
	Watermark(ctx context.Context, connectionID, resource string) (Watermark, error)
	// ItemsIngested is the month's count of new items.
	ItemsIngested(ctx context.Context, period string) (int, error)
	// ItemsPerDay counts items created per day and service since a day
	// (dashboard chart), days as "2006-01-02" in loc.
	ItemsPerDay(ctx context.Context, since time.Time, loc *time.Location) (map[string]map[Service]int, error)
}

// ItemsUpdated lists the context tenant's items updated in [from, to)
// (standups look at a day's activity, whenever the items were created).
type ItemsUpdated interface {
	ItemsUpdatedBetween(ctx context.Context, from, to time.Time) ([]*Item, error)
}
