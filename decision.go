package pmassist

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Decision statuses and origins (product.md §4).
const (
	DecisionProposed   = "proposed"
	DecisionAccepted   = "accepted"
	DecisionRejected   = "rejected"
	DecisionSuperseded = "superseded"

	OriginDetected = "detected"
	OriginManual   = "manual"
)

// ValidDecisionStatus reports whether s is a decision status.
func ValidDecisionStatus(s string) bool {
	return s == DecisionProposed || s == DecisionAccepted || s == DecisionRejected || s == DecisionSuperseded
}

// DecisionSource links a decision to an item it came from.
type DecisionSource struct {
	Service    Service `json:"service"`
	Kind       string  `json:"kind"` // message, issue, pull_request, or link for manual sources
	ExternalID string  `json:"external_id"`
	URL        string  `json:"url"`
	Excerpt    string  `json:"excerpt"`
	ItemID     string  `json:"item_id,omitempty"`
}

// Decision is an entry of the decision log.
type Decision struct {
	ID           string           `json:"id"`
	TenantID     string           `json:"tenant_id"`
	Title        string           `json:"title"`
	Summary      string           `json:"summary"`
	Status       string           `json:"status"`
	Origin       string           `json:"origin"`
	Confidence   float64          `json:"confidence"`
	Signals      []string         `json:"signals"`
	DecidedAt    time.Time        `json:"decided_at"`
	DecidedBy    Person           `json:"decided_by"`
	Participants []string         `json:"participants"`
	Tags         []string         `json:"tags"`
	Sources      []DecisionSource `json:"sources"`
	SupersededBy string           `json:"superseded_by"`
	CreatedAt    time.Time        `json:"created_at"`
	UpdatedAt    time.Time        `json:"updated_at"`
	// ThreadKey names the conversation a detected decision came from (a
	// Slack thread, a Linear issue, a GitHub PR): one decision per thread.
	ThreadKey string `json:"thread_key,omitempty"`
	// UserEdited is set once a person changed the decision (edit, confirm,
	// reject, supersede): detection never overwrites it after that.
	UserEdited bool `json:"user_edited,omitempty"`
	// JoinOnly marks a detection that only adds a reply's author and link
	// to its thread's decision, if the thread has one (never stored).
	JoinOnly bool `json:"-"`
}

// Limits of decision fields.
const (
	MaxDecisionTitle   = 200
	MaxDecisionSummary = 5000
	MaxDecisionTags    = 20
	MaxTagLength       = 40
)

// Validate normalizes a decision and names every field at fault.
func (d *Decision) Validate() error {
	f := map[string]string{}
	d.Title = strings.TrimSpace(d.Title)
	switch {
	case d.Title == "":
		f["title"] = "required"
	case utf8.RuneCountInString(d.Title) > MaxDecisionTitle:
		f["title"] = "at most 200 characters"
	}
	if utf8.RuneCountInString(d.Summary) > MaxDecisionSummary {
		f["summary"] = "at most 5000 characters"
	}
	if d.Status == "" {
		d.Status = DecisionAccepted
	}
	if !ValidDecisionStatus(d.Status) {
		f["status"] = "must be proposed, accepted, rejected or superseded"
	}
	tags, msg := NormalizeTags(d.Tags)
	if msg != "" {
		f["tags"] = msg
	}
	d.Tags = tags
	for i, s := range d.Sources {
		if s.URL != "" && !strings.HasPrefix(s.URL, "https://") && !strings.HasPrefix(s.URL, "http://") {
			f["sources"] = "source URLs must be http(s)"
		}
		if utf8.RuneCountInString(s.Excerpt) > 1000 {
			d.Sources[i].Excerpt = string([]rune(s.Excerpt)[:1000])
		}
	}
	if len(d.Sources) > 100 {
		f["sources"] = "at most 100 sources"
	}
	if len(f) > 0 {
		return FieldError(f)
	}
	return nil
}

// NormalizeTags trims, lower-cases and de-duplicates tags; msg says what is
// wrong, if anything.
func NormalizeTags(in []string) (tags []string, msg string) {
	tags = []string{}
	seen := map[string]bool{}
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(t), "#")))
		if t == "" || seen[t] {
			continue
		}
		if utf8.RuneCountInString(t) > MaxTagLength || strings.ContainsAny(t, ",<>\"'`") {
			msg = "tags are short words without commas or quotes"
			continue
		}
		seen[t] = true
		tags = append(tags, t)
	}
	if len(tags) > MaxDecisionTags {
		msg = "at most 20 tags"
	}
	return tags, msg
}

// DecisionFilter selects decisions, newest decided first.
type DecisionFilter struct {
	Status  string
	Origin  string
	Q       string // words in title or summary
	Service Service
	Tag     string
	From    *time.Time // decided at or after
	To      *time.Time // decided before
	Cursor  string
	Limit   int
}

// DecisionUpdate changes a decision; nil leaves a field as is.
type DecisionUpdate struct {
	Title        *string
	Summary      *string
	Status       *string
	Tags         *[]string
	SupersededBy *string
}

// DecisionService stores the decision log (tenant-scoped).
type DecisionService interface {
	CreateDecision(ctx context.Context, d *Decision) error
	FindDecision(ctx context.Context, id string) (*Decision, error)
	ListDecisions(ctx context.Context, f DecisionFilter) ([]*Decision, string, error)
	// UpdateDecision applies a person's change and marks the decision
	// UserEdited. Superseding needs the other decision to exist in the
	// tenant; the superseded one gets status superseded.
	UpdateDecision(ctx context.Context, id string, upd DecisionUpdate) (*Decision, error)
	DeleteDecision(ctx context.Context, id string) error
	// UpsertDetected stores what detection found for a thread: it creates
	// the thread's decision, or updates the detected one (merging sources
	// and participants) unless a person edited or rejected it. It reports
	// whether anything changed.
	UpsertDetected(ctx context.Context, d *Decision) (*Decision, bool, error)
	// UpsertDetectedMany is UpsertDetected for a page of detections in one
	// transaction; JoinOnly ones never create a decision. It returns the
	// ids of the decisions that changed.
	UpsertDetectedMany(ctx context.Context, ds []*Decision) ([]string, error)
	// FindDecisionByThread returns the decision of a thread (ENOTFOUND).
	FindDecisionByThread(ctx context.Context, threadKey string) (*Decision, error)
	// DecisionsVersion returns a number that changes after every committed
	// change to the tenant's decisions (within one process). An answer
	// built from decisions read after the version was v may be reused
	// while the version is still v.
	DecisionsVersion(ctx context.Context) (uint64, error)
}

// Detection is what the detector concluded about one item.
type Detection struct {
	IsDecision bool
	Confidence float64  // 0..1
	Signals    []string // e.g. "marker:Decision:", "phrase:we decided", "reaction:white_check_mark", "negated", "question"
	Title      string   // a short title drawn from the text
	Summary    string
}

// Detector finds decisions in items; it is pure and deterministic.
type Detector interface {
	Detect(item *Item, cfg DecisionConfig) Detection
}
