package pmassist

import (
	"context"
	"time"
)

// Job kinds, triggers and statuses (api.md "Ingestion and jobs").
const (
	JobIngestion = "ingestion"

	TriggerManual   = "manual"
	TriggerSchedule = "schedule"
	TriggerWebhook  = "webhook"

	JobQueued    = "queued"
	JobRunning   = "running"
	JobSucceeded = "succeeded"
	JobPartial   = "partial"
	JobFailed    = "failed"
)

// Job is one run of ingestion for a connection.
type Job struct {
	ID           string     `json:"id"`
	TenantID     string     `json:"tenant_id"`
	Kind         string     `json:"kind"`
	Service      Service    `json:"service"`
	ConnectionID string     `json:"connection_id"`
	Trigger      string     `json:"trigger"`
	Status       string     `json:"status"`
	CreatedAt    time.Time  `json:"created_at"`
	StartedAt    *time.Time `json:"started_at,omitempty"`
	FinishedAt   *time.Time `json:"finished_at,omitempty"`
	ItemsNew     int        `json:"items_new"`
	ItemsUpdated int        `json:"items_updated"`
	Error        string     `json:"error"`
}

// Finished reports whether the job has ended.
func (j *Job) Finished() bool {
	return j.Status == JobSucceeded || j.Status == JobPartial || j.Status == JobFailed
}

// JobUpdate changes a job; nil leaves a field as is.
type JobUpdate struct {
	Status       *string
	StartedAt    *time.Time
	FinishedAt   *time.Time
	ItemsNew     *int
	ItemsUpdated *int
	Error        *string
}

// JobFilter selects jobs, newest first.
type JobFilter struct {
	Service Service
	Status  string
	Cursor  string
	Limit   int
}

// JobService stores jobs. All calls but ListRecentJobs and
// FailInterruptedJobs are tenant-scoped.
type JobService interface {
	CreateJob(ctx context.Context, j *Job) error
	UpdateJob(ctx context.Context, id string, upd JobUpdate) (*Job, error)
	FindJob(ctx context.Context, id string) (*Job, error)
	ListJobs(ctx context.Context, f JobFilter) ([]*Job, string, error)
	// ActiveJob returns the queued or running job of a connection, or
	// ENOTFOUND.
	ActiveJob(ctx context.Context, connectionID string) (*Job, error)
	// ListRecentJobs lists the newest jobs of all tenants (operator).
	ListRecentJobs(ctx context.Context, limit int) ([]*Job, error)
	// FailInterruptedJobs marks jobs left queued or running by a previous
	// process as failed, at start-up; it returns how many.
	FailInterruptedJobs(ctx context.Context, at time.Time) (int, error)
}

// IngestionService starts ingestion runs and applies webhook deliveries
// (tenant-scoped); the HTTP layer calls it.
type IngestionService interface {
	// Start queues a run of a connection and returns its job; when a run of
	// it is already queued or running, that job is returned instead and
	// started is false.
	Start(ctx context.Context, connectionID, trigger string) (job *Job, started bool, err error)
	// ApplyWebhook records a webhook job for a connection and applies the
	// delivery's items (or runs ingestion when the delivery asks for it) in
	// the background.
	ApplyWebhook(ctx context.Context, connectionID string, d *WebhookDelivery) (*Job, error)
}

// Planner re-plans the ingestion schedules after connections or settings
// changed.
type Planner interface {
	Replan(ctx context.Context) error
}
