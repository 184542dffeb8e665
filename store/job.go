package store

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
	bolt "go.etcd.io/bbolt"
)

var _ pmassist.JobService = (*DB)(nil)

// Page sizes of ListJobs and ListRecentJobs (api.md: default 50, max 200).
const (
	defaultJobLimit = 50
	maxJobLimit     = 200
)

// maxJobsPerTenant bounds a tenant's job history: creating a job beyond it
// deletes the oldest finished ones. A variable so that tests can lower it.
var maxJobsPerTenant = 2000

// interruptedJobError is the error of a job FailInterruptedJobs ended.
const interruptedJobError = "interrupted: the appliance stopped while this job ran"

// jobActive reports whether a job of this status holds its connection.
func jobActive(status string) bool {
	return status == pmassist.JobQueued || status == pmassist.JobRunning
}

func validJobStatus(s string) bool {
	switch s {
	case pmassist.JobQueued, pmassist.JobRunning, pmassist.JobSucceeded, pmassist.JobPartial, pmassist.JobFailed:
		return true
	}
	return false
}

const jobStatusRule = "must be queued, running, succeeded, partial or failed"

// jobProbe decodes only what filters and retention look at.
type jobProbe struct {
	Service pmassist.Service `json:"service"`
	Status  string           `json:"status"`
}

// CreateJob stores a job in the context's tenant. A queued or running job
// becomes its connection's active job. Beyond maxJobsPerTenant jobs the
// oldest finished ones are deleted. On success *j is the stored record.
func (db *DB) CreateJob(ctx context.Context, j *pmassist.Job) error {
	tenantID, err := pmassist.TenantRequired(ctx)
	if err != nil {
		return err
	}
	f := map[string]string{}
	if j.Kind == "" {
		f["kind"] = "required"
	}
	if !j.Service.Valid() {
		f["service"] = "must be slack, linear or github"
	}
	if !validJobStatus(j.Status) {
		f["status"] = jobStatusRule
	}
	if j.ConnectionID == "" {
		f["connection_id"] = "required"
	}
	if len(f) > 0 {
		return pmassist.FieldError(f)
	}
	s := *j
	s.TenantID = tenantID
	if s.ID == "" {
		s.ID = pmassist.NewID()
	}
	if s.CreatedAt.IsZero() {
		s.CreatedAt = time.Now()
	}
	s.CreatedAt = s.CreatedAt.UTC()
	s.StartedAt = utcPtr(s.StartedAt)
	s.FinishedAt = utcPtr(s.FinishedAt)
	err = db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		jobs := tb.Bucket(bucketJobs)
		if jobs.Get([]byte(s.ID)) != nil {
			return pmassist.Errorf(pmassist.ECONFLICT, "job already exists")
		}
		if err := putJSON(jobs, []byte(s.ID), &s); err != nil {
			return err
		}
		if jobActive(s.Status) {
			if err := tb.Bucket(bucketJobsActive).Put([]byte(s.ConnectionID), []byte(s.ID)); err != nil {
				return err
			}
		}
		return pruneJobs(jobs)
	})
	if err != nil {
		return err
	}
	*j = s
	return nil
}

// pruneJobs deletes the oldest finished jobs beyond maxJobsPerTenant. Jobs
// still queued or running are kept whatever their age.
func pruneJobs(jobs *bolt.Bucket) error {
	excess := countKeys(jobs) - maxJobsPerTenant
	if excess <= 0 {
		return nil
	}
	var victims [][]byte
	c := jobs.Cursor()
	for k, v := c.First(); k != nil && len(victims) < excess; k, v = c.Next() {
		var p jobProbe
		if err := decode(k, v, &p); err != nil {
			return err
		}
		if !jobActive(p.Status) {
			victims = append(victims, bytes.Clone(k))
		}
	}
	for _, k := range victims {
		if err := jobs.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// UpdateJob applies the non-nil fields of upd to a job of the context's
// tenant and keeps jobs_active in step: a job that leaves queued and
// running releases its connection.
func (db *DB) UpdateJob(ctx context.Context, id string, upd pmassist.JobUpdate) (*pmassist.Job, error) {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return nil, err
	}
	f := map[string]string{}
	if upd.Status != nil && !validJobStatus(*upd.Status) {
		f["status"] = jobStatusRule
	}
	if upd.ItemsNew != nil && *upd.ItemsNew < 0 {
		f["items_new"] = "must not be negative"
	}
	if upd.ItemsUpdated != nil && *upd.ItemsUpdated < 0 {
		f["items_updated"] = "must not be negative"
	}
	if len(f) > 0 {
		return nil, pmassist.FieldError(f)
	}
	var j *pmassist.Job
	err := db.updateTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		if j, err = readJob(tb, id); err != nil {
			return err
		}
		if upd.Status != nil {
			j.Status = *upd.Status
		}
		if upd.StartedAt != nil {
			j.StartedAt = utcPtr(upd.StartedAt)
		}
		if upd.FinishedAt != nil {
			j.FinishedAt = utcPtr(upd.FinishedAt)
		}
		if upd.ItemsNew != nil {
			j.ItemsNew = *upd.ItemsNew
		}
		if upd.ItemsUpdated != nil {
			j.ItemsUpdated = *upd.ItemsUpdated
		}
		if upd.Error != nil {
			j.Error = *upd.Error
		}
		if err := putJSON(tb.Bucket(bucketJobs), []byte(id), j); err != nil {
			return err
		}
		active := tb.Bucket(bucketJobsActive)
		conn := []byte(j.ConnectionID)
		current := active.Get(conn)
		switch {
		case !jobActive(j.Status):
			if bytes.Equal(current, []byte(id)) {
				return active.Delete(conn)
			}
		case current == nil || !activeJobAt(tb, current):
			// A job (back) in queued or running takes its connection
			// unless another active job holds it.
			return active.Put(conn, []byte(id))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// activeJobAt reports whether job id of tb exists and is queued or running.
func activeJobAt(tb *bolt.Bucket, id []byte) bool {
	v := tb.Bucket(bucketJobs).Get(id)
	if v == nil {
		return false
	}
	var p jobProbe
	return decode(id, v, &p) == nil && jobActive(p.Status)
}

// FindJob returns a job of the context's tenant.
func (db *DB) FindJob(ctx context.Context, id string) (*pmassist.Job, error) {
	var j *pmassist.Job
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		var err error
		j, err = readJob(tb, id)
		return err
	})
	return j, err
}

func readJob(tb *bolt.Bucket, id string) (*pmassist.Job, error) {
	var j pmassist.Job
	ok, err := getJSON(tb.Bucket(bucketJobs), []byte(id), &j)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "job not found")
	}
	return &j, nil
}

// ListJobs returns a page of the context tenant's jobs, newest first, and
// the cursor of the next page ("" when this one is the last): the key of
// the page's last job, as for the audit log.
func (db *DB) ListJobs(ctx context.Context, f pmassist.JobFilter) ([]*pmassist.Job, string, error) {
	if _, err := pmassist.TenantRequired(ctx); err != nil {
		return nil, "", err
	}
	fields := map[string]string{}
	if f.Service != "" && !f.Service.Valid() {
		fields["service"] = "must be slack, linear or github"
	}
	if f.Status != "" && !validJobStatus(f.Status) {
		fields["status"] = jobStatusRule
	}
	if len(fields) > 0 {
		return nil, "", pmassist.FieldError(fields)
	}
	limit := pageLimit(f.Limit, defaultJobLimit, maxJobLimit)
	after, err := decodeCursor(f.Cursor, 1)
	if err != nil {
		return nil, "", err
	}
	matches := func(k, v []byte) (bool, error) {
		if f.Service == "" && f.Status == "" {
			return true, nil
		}
		var p jobProbe
		if err := decode(k, v, &p); err != nil {
			return false, err
		}
		return (f.Service == "" || p.Service == f.Service) && (f.Status == "" || p.Status == f.Status), nil
	}

	var list []*pmassist.Job
	var next string
	err = db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		c := tb.Bucket(bucketJobs).Cursor()
		var last []byte
		k, v := seekBefore(c, after)
		for ; k != nil && len(list) < limit; k, v = c.Prev() {
			ok, err := matches(k, v)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			var j pmassist.Job
			if err := decode(k, v, &j); err != nil {
				return err
			}
			list = append(list, &j)
			last = k
		}
		// Look for one more match so that a full last page says so. A
		// tenant's history is bounded, and so is this walk.
		for ; k != nil; k, v = c.Prev() {
			ok, err := matches(k, v)
			if err != nil {
				return err
			}
			if ok {
				next = base64.RawURLEncoding.EncodeToString(last)
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return list, next, nil
}

// ActiveJob returns the queued or running job of a connection of the
// context's tenant.
func (db *DB) ActiveJob(ctx context.Context, connectionID string) (*pmassist.Job, error) {
	var j *pmassist.Job
	err := db.viewTenant(ctx, func(_ *bolt.Tx, tb *bolt.Bucket) error {
		notFound := pmassist.Errorf(pmassist.ENOTFOUND, "no active job")
		if connectionID == "" {
			return notFound
		}
		id := tb.Bucket(bucketJobsActive).Get([]byte(connectionID))
		if id == nil {
			return notFound
		}
		found, err := readJob(tb, string(id))
		if pmassist.ErrorCode(err) == pmassist.ENOTFOUND {
			return notFound
		} else if err != nil {
			return err
		}
		if !jobActive(found.Status) || found.ConnectionID != connectionID {
			return notFound
		}
		j = found
		return nil
	})
	return j, err
}

// ListRecentJobs returns the newest jobs of all tenants, newest created
// first. It is not tenant-scoped. Each tenant's jobs are read newest first
// and merged, so only the jobs returned (and one more per tenant) are
// decoded.
func (db *DB) ListRecentJobs(ctx context.Context, limit int) ([]*pmassist.Job, error) {
	limit = pageLimit(limit, defaultJobLimit, maxJobLimit)
	type head struct {
		tenantID string
		c        *bolt.Cursor
		job      *pmassist.Job
	}
	var list []*pmassist.Job
	err := db.view(ctx, func(tx *bolt.Tx) error {
		var heads []*head
		// advance decodes the next older job of h, or clears h.job.
		advance := func(h *head, k, v []byte) error {
			h.job = nil
			if k == nil {
				return nil
			}
			var j pmassist.Job
			if err := decode(k, v, &j); err != nil {
				return err
			}
			j.TenantID = h.tenantID
			h.job = &j
			return nil
		}
		err := forEachTenant(tx, func(tenantID string, tb *bolt.Bucket) error {
			jobs := tb.Bucket(bucketJobs)
			if jobs == nil {
				return nil
			}
			h := &head{tenantID: tenantID, c: jobs.Cursor()}
			k, v := h.c.Last()
			if err := advance(h, k, v); err != nil {
				return err
			}
			if h.job != nil {
				heads = append(heads, h)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for len(list) < limit {
			var best *head
			for _, h := range heads {
				if h.job != nil && (best == nil || newerJob(h.job, best.job)) {
					best = h
				}
			}
			if best == nil {
				return nil
			}
			list = append(list, best.job)
			k, v := best.c.Prev()
			if err := advance(best, k, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return list, nil
}

// newerJob orders jobs newest created first, then by id.
func newerJob(a, b *pmassist.Job) bool {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c > 0
	}
	return strings.Compare(a.ID, b.ID) > 0
}

// FailInterruptedJobs marks every job of every tenant that is still queued
// or running as failed at at, and empties jobs_active. Called at start-up,
// before any job runs, it ends the jobs a previous process left behind. It
// is not tenant-scoped.
func (db *DB) FailInterruptedJobs(ctx context.Context, at time.Time) (int, error) {
	// Look before writing: a start with nothing to fail writes nothing (a
	// write moves the data version the search index compares).
	found := false
	if err := db.view(ctx, func(tx *bolt.Tx) error {
		return forEachTenant(tx, func(_ string, tb *bolt.Bucket) error {
			if active := tb.Bucket(bucketJobsActive); active != nil {
				if k, _ := active.Cursor().First(); k != nil {
					found = true
				}
			}
			return nil
		})
	}); err != nil || !found {
		return 0, err
	}
	finished := at.UTC()
	var n int
	err := db.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		return forEachTenant(tx, func(_ string, tb *bolt.Bucket) error {
			jobs := tb.Bucket(bucketJobs)
			if jobs == nil {
				return nil
			}
			var ids [][]byte
			err := jobs.ForEach(func(k, v []byte) error {
				var p jobProbe
				if err := decode(k, v, &p); err != nil {
					return err
				}
				if jobActive(p.Status) {
					ids = append(ids, bytes.Clone(k))
				}
				return nil
			})
			if err != nil {
				return err
			}
			for _, id := range ids {
				var j pmassist.Job
				if _, err := getJSON(jobs, id, &j); err != nil {
					return err
				}
				j.Status = pmassist.JobFailed
				j.FinishedAt = &finished
				j.Error = interruptedJobError
				if err := putJSON(jobs, id, &j); err != nil {
					return err
				}
			}
			n += len(ids)
			// No job of the tenant is active any more, so every entry is
			// stale.
			active := tb.Bucket(bucketJobsActive)
			var conns [][]byte
			c := active.Cursor()
			for k, _ := c.First(); k != nil; k, _ = c.Next() {
				conns = append(conns, bytes.Clone(k))
			}
			for _, k := range conns {
				if err := active.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}
