package pmassist

import (
	"context"
	"time"
)

// SearchQuery is a search of the context tenant's items and decisions
// (api.md "Search"). The tenant is never part of it: the index adds it.
type SearchQuery struct {
	Q       string   // words and "quoted phrases"
	Types   []string // message, issue, pull_request, decision; empty = all
	Service Service
	Channel string
	Author  string // a name or an email
	From    *time.Time
	To      *time.Time // exclusive
	Sort    string     // relevance (default) or date
	Limit   int        // default 20, max 100
	Offset  int
}

// SearchResult is one hit; Snippet is HTML: the source text escaped, the
// matches wrapped in <mark>.
type SearchResult struct {
	Type      string    `json:"type"`
	ID        string    `json:"id"`
	Title     string    `json:"title"`
	Snippet   string    `json:"snippet"`
	URL       string    `json:"url"`
	Service   string    `json:"service"`
	Channel   string    `json:"channel"`
	Author    string    `json:"author"`
	CreatedAt time.Time `json:"created_at"`
	Score     float64   `json:"score"`
}

// SearchResults is a page of hits.
type SearchResults struct {
	Total int
	// TotalExact is false when Total is an estimate: a broad search (one
	// whose rarest word is in more than ~50,000 of the tenant's documents)
	// stops once it holds the page (by date) or enough matches to rank (by
	// relevance).
	TotalExact bool
	Took       time.Duration
	Results    []SearchResult
}

// IndexState describes the search index for /readyz and the operator.
type IndexState struct {
	State   string `json:"state"` // ready, building, failed
	Docs    uint64 `json:"docs"`
	Version int    `json:"version"`
	Error   string `json:"error,omitempty"`
}

// SearchService searches (tenant-scoped); while the index is being built it
// answers EUNAVAILABLE, and a malformed query is EINVALID.
type SearchService interface {
	Search(ctx context.Context, q SearchQuery) (*SearchResults, error)
	IndexState() IndexState
}

// Indexer keeps the index current: committed items and decisions are queued
// by id and indexed in batches shortly after (tenant from the context).
type Indexer interface {
	QueueItems(ctx context.Context, ids ...string)
	QueueDecisions(ctx context.Context, ids ...string)
	// RemoveDecision and RemoveItems take documents out of the index.
	RemoveDecision(ctx context.Context, id string)
	RemoveItems(ctx context.Context, ids ...string)
	// RemoveTenant drops every document of a tenant.
	RemoveTenant(ctx context.Context, tenantID string)
	// Rebuild re-indexes everything from the data file in the background.
	Rebuild(ctx context.Context) error
}

// ItemWalker walks every tenant's items and decisions (index rebuild).
type ItemWalker interface {
	// WalkItems calls fn with pages of items of all tenants, in key order,
	// stopping at fn's first error.
	WalkItems(ctx context.Context, pageSize int, fn func(items []*Item) error) error
	WalkDecisions(ctx context.Context, pageSize int, fn func(ds []*Decision) error) error
	// DataVersion identifies the data file's state: it changes with every
	// write, and an older file (a restore) has a smaller one. The index
	// records it at a clean close.
	DataVersion() (fileID string, txID uint64, err error)
}
