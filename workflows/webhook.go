package workflows

import (
	"context"

	"github.com/pmassist/pmassist"
)

// ApplyWebhook applies a verified delivery to one connection of the
// context's tenant. Items carried by the event are merged into what is
// stored (a webhook knows less than an ingestion run: no channel name, no
// author name) and upserted at once — one small transaction, well within
// the providers' answer deadlines; an event that only says something
// changed starts an ingestion run in the background. Either way the
// delivery is recorded as a job with trigger "webhook".
func (in *Ingestor) ApplyWebhook(ctx context.Context, connID string, d *pmassist.WebhookDelivery) (*pmassist.Job, error) {
	if d.Refresh {
		job, _, err := in.Start(ctx, connID, pmassist.TriggerWebhook)
		return job, err
	}
	conn, err := in.cfg.Connections.FindConnection(ctx, connID)
	if err != nil {
		return nil, err
	}
	started := in.now()
	items := make([]*pmassist.Item, 0, len(d.Items))
	for _, it := range d.Items {
		stored, err := in.cfg.Items.FindItemByExternalID(ctx, it.Service, it.ExternalID)
		switch {
		case err == nil:
			items = append(items, mergeItem(stored, it))
		case pmassist.ErrorCode(err) != pmassist.ENOTFOUND:
			return nil, err
		case !it.Deleted:
			items = append(items, it)
		}
	}
	for _, it := range items {
		it.ConnectionID = conn.ID
		if it.Channel == "" && it.ChannelID != "" {
			it.Channel = in.channelName(conn.ID, it.ChannelID)
		}
	}
	job := &pmassist.Job{Kind: pmassist.JobIngestion, Service: conn.Service, ConnectionID: conn.ID,
		Trigger: pmassist.TriggerWebhook, CreatedAt: started, StartedAt: &started}
	var res pmassist.UpsertResult
	_, period, quota, err := in.limits(ctx)
	if err == nil && len(items) > 0 {
		res, err = in.cfg.Items.UpsertItems(ctx, items, nil, period, quota)
		if err == nil {
			in.afterStore(ctx, items)
		}
	}
	finished := in.now()
	job.FinishedAt, job.ItemsNew, job.ItemsUpdated = &finished, res.New, res.Updated
	switch {
	case err != nil:
		job.Status, job.Error = pmassist.JobFailed, pmassist.ErrorMessage(err)
	case res.QuotaReached:
		job.Status, job.Error = pmassist.JobPartial, "quota_exceeded: the monthly item limit of the plan is reached"
	default:
		job.Status = pmassist.JobSucceeded
	}
	if cerr := in.cfg.Jobs.CreateJob(ctx, job); cerr != nil {
		return nil, cerr
	}
	in.finished(job)
	return job, err
}

// mergeItem applies what a webhook knows about an item to the stored one:
// fields the event carries replace the stored ones; fields it lacks (names,
// channel names, URLs, reactions) are kept.
func mergeItem(stored, in *pmassist.Item) *pmassist.Item {
	out := *stored
	if in.Deleted {
		out.Deleted = true
		if !in.UpdatedAt.IsZero() {
			out.UpdatedAt = in.UpdatedAt
		}
		return &out
	}
	if in.Text != "" {
		out.Text = in.Text
	}
	if in.Title != "" {
		out.Title = in.Title
	}
	if in.URL != "" {
		out.URL = in.URL
	}
	if in.Channel != "" {
		out.Channel = in.Channel
	}
	if in.State != "" {
		out.State, out.StateType = in.State, in.StateType
	}
	if in.Author.Name != "" {
		out.Author = in.Author
	}
	if !in.UpdatedAt.IsZero() {
		out.UpdatedAt = in.UpdatedAt
	}
	if in.Labels != nil {
		out.Labels = in.Labels
	}
	if in.Reactions != nil {
		out.Reactions = in.Reactions
	}
	if in.Assignee != nil {
		out.Assignee = in.Assignee
	}
	if in.MergedAt != nil {
		out.MergedAt = in.MergedAt
	}
	if in.ClosedAt != nil {
		out.ClosedAt = in.ClosedAt
	}
	if in.CompletedAt != nil {
		out.CompletedAt = in.CompletedAt
	}
	if in.Reviewers != nil {
		out.Reviewers = in.Reviewers
	}
	out.Draft = in.Draft
	return &out
}
