package store

import (
	"context"
	"encoding/base64"
	"reflect"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
)

var jobBase = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func mustJob(tb testing.TB, db *DB, ctx context.Context, connID, status string, minutes int) *pmassist.Job {
	tb.Helper()
	j := &pmassist.Job{Kind: pmassist.JobIngestion, Service: pmassist.ServiceSlack, ConnectionID: connID,
		Trigger: pmassist.TriggerSchedule, Status: status, CreatedAt: jobBase.Add(time.Duration(minutes) * time.Minute)}
	if err := db.CreateJob(ctx, j); err != nil {
		tb.Fatal(err)
	}
	return j
}

// wantActive checks the active job of a connection; "" means none.
func wantActive(tb testing.TB, db *DB, ctx context.Context, connID, jobID string) {
	tb.Helper()
	j, err := db.ActiveJob(ctx, connID)
	if jobID == "" {
		wantCode(tb, err, pmassist.ENOTFOUND)
		if msg := pmassist.ErrorMessage(err); msg != "no active job" {
			tb.Errorf("ActiveJob(%s): %q", connID, msg)
		}
		return
	}
	if err != nil || j.ID != jobID {
		tb.Fatalf("ActiveJob(%s) = %+v, %v; want %s", connID, j, err, jobID)
	}
}

func TestJobs_ActiveLifecycle(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	wantActive(t, db, ctx, "conn-1", "")

	before := time.Now()
	j := &pmassist.Job{TenantID: "someone-else", Kind: pmassist.JobIngestion, Service: pmassist.ServiceSlack,
		ConnectionID: "conn-1", Trigger: pmassist.TriggerManual, Status: pmassist.JobQueued}
	if err := db.CreateJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if !pmassist.ValidID(j.ID) || j.TenantID != tenant.ID || j.CreatedAt.Before(before) || j.CreatedAt.Location() != time.UTC {
		t.Errorf("created job %+v", j)
	}
	wantActive(t, db, ctx, "conn-1", j.ID)

	started := time.Now()
	got, err := db.UpdateJob(ctx, j.ID, pmassist.JobUpdate{Status: ptr(pmassist.JobRunning), StartedAt: &started})
	if err != nil || got.Status != pmassist.JobRunning || !got.StartedAt.Equal(started) {
		t.Fatalf("job started: %+v, %v", got, err)
	}
	wantActive(t, db, ctx, "conn-1", j.ID)

	finished := started.Add(time.Minute)
	got, err = db.UpdateJob(ctx, j.ID, pmassist.JobUpdate{Status: ptr(pmassist.JobPartial), FinishedAt: &finished,
		ItemsNew: ptr(7), ItemsUpdated: ptr(3), Error: ptr("quota_exceeded")})
	if err != nil || got.Status != pmassist.JobPartial || !got.FinishedAt.Equal(finished) || got.ItemsNew != 7 ||
		got.ItemsUpdated != 3 || got.Error != "quota_exceeded" || !got.StartedAt.Equal(started) {
		t.Fatalf("job finished: %+v, %v", got, err)
	}
	if found, err := db.FindJob(ctx, j.ID); err != nil || !reflect.DeepEqual(found, got) {
		t.Errorf("FindJob = %+v, %v; want %+v", found, err, got)
	}
	wantActive(t, db, ctx, "conn-1", "")

	// A finished job never becomes active.
	mustJob(t, db, ctx, "conn-1", pmassist.JobSucceeded, 1)
	wantActive(t, db, ctx, "conn-1", "")

	// A newer active job takes the connection; the older one finishing
	// does not release it.
	older := mustJob(t, db, ctx, "conn-1", pmassist.JobQueued, 2)
	newer := mustJob(t, db, ctx, "conn-1", pmassist.JobRunning, 3)
	wantActive(t, db, ctx, "conn-1", newer.ID)
	if _, err := db.UpdateJob(ctx, older.ID, pmassist.JobUpdate{Status: ptr(pmassist.JobFailed)}); err != nil {
		t.Fatal(err)
	}
	wantActive(t, db, ctx, "conn-1", newer.ID)
	if _, err := db.UpdateJob(ctx, newer.ID, pmassist.JobUpdate{Status: ptr(pmassist.JobSucceeded)}); err != nil {
		t.Fatal(err)
	}
	wantActive(t, db, ctx, "conn-1", "")
	// Other connections are their own.
	other := mustJob(t, db, ctx, "conn-2", pmassist.JobQueued, 4)
	wantActive(t, db, ctx, "conn-2", other.ID)
	wantActive(t, db, ctx, "conn-1", "")

	_, err = db.UpdateJob(ctx, "no-such-job", pmassist.JobUpdate{Status: ptr(pmassist.JobFailed)})
	wantCode(t, err, pmassist.ENOTFOUND)
	_, err = db.UpdateJob(ctx, other.ID, pmassist.JobUpdate{Status: ptr("paused")})
	wantCode(t, err, pmassist.EINVALID)
	_, err = db.FindJob(ctx, "no-such-job")
	wantCode(t, err, pmassist.ENOTFOUND)
	err = db.CreateJob(ctx, &pmassist.Job{ID: other.ID, Kind: pmassist.JobIngestion, Service: pmassist.ServiceSlack,
		ConnectionID: "conn-2", Status: pmassist.JobQueued})
	wantCode(t, err, pmassist.ECONFLICT)

	err = db.CreateJob(ctx, &pmassist.Job{Service: "jira", Status: "paused"})
	wantCode(t, err, pmassist.EINVALID)
	fields := pmassist.ErrorFields(err)
	for _, f := range []string{"kind", "service", "status", "connection_id"} {
		if _, ok := fields[f]; !ok {
			t.Errorf("invalid job: fields %v lack %s", fields, f)
		}
	}
}

func TestDeleteConnection_ReleasesActiveJob(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	conn := &pmassist.Connection{Service: pmassist.ServiceSlack, WorkspaceID: "T1"}
	if _, err := db.SaveConnection(ctx, conn, pmassist.Token{AccessToken: "x"}); err != nil {
		t.Fatal(err)
	}
	j := mustJob(t, db, ctx, conn.ID, pmassist.JobRunning, 0)
	wantActive(t, db, ctx, conn.ID, j.ID)
	if err := db.DeleteConnection(ctx, conn.ID); err != nil {
		t.Fatal(err)
	}
	wantActive(t, db, ctx, conn.ID, "")
	if n := bucketLen(t, db, tenant.ID, bucketJobsActive); n != 0 {
		t.Errorf("jobs_active has %d entries after the connection went", n)
	}
}

func TestListJobs(t *testing.T) {
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	ctx := tenantCtx(tenant.ID)
	var jobs []*pmassist.Job
	for i, status := range []string{pmassist.JobSucceeded, pmassist.JobFailed, pmassist.JobSucceeded, pmassist.JobPartial,
		pmassist.JobSucceeded, pmassist.JobFailed, pmassist.JobRunning} {
		j := &pmassist.Job{Kind: pmassist.JobIngestion, Service: pmassist.Services[i%3], ConnectionID: "conn",
			Trigger: pmassist.TriggerSchedule, Status: status, CreatedAt: jobBase.Add(time.Duration(i) * time.Minute)}
		if err := db.CreateJob(ctx, j); err != nil {
			t.Fatal(err)
		}
		jobs = append(jobs, j)
	}
	pages := func(f pmassist.JobFilter) [][]int {
		t.Helper()
		var out [][]int
		for range 20 {
			list, next, err := db.ListJobs(ctx, f)
			if err != nil {
				t.Fatal(err)
			}
			var page []int
			for _, j := range list {
				for i := range jobs {
					if jobs[i].ID == j.ID {
						page = append(page, i)
					}
				}
			}
			out = append(out, page)
			if next == "" {
				return out
			}
			f.Cursor = next
		}
		t.Fatal("the cursor never ends")
		return nil
	}
	for _, tc := range []struct {
		name string
		f    pmassist.JobFilter
		want [][]int
	}{
		{"all", pmassist.JobFilter{}, [][]int{{6, 5, 4, 3, 2, 1, 0}}},
		{"pages", pmassist.JobFilter{Limit: 3}, [][]int{{6, 5, 4}, {3, 2, 1}, {0}}},
		{"status", pmassist.JobFilter{Status: pmassist.JobSucceeded, Limit: 1}, [][]int{{4}, {2}, {0}}},
		{"status, more after the last match", pmassist.JobFilter{Status: pmassist.JobFailed, Limit: 1}, [][]int{{5}, {1}}},
		{"service", pmassist.JobFilter{Service: pmassist.ServiceSlack, Limit: 2}, [][]int{{6, 3}, {0}}},
		{"service and status", pmassist.JobFilter{Service: pmassist.ServiceLinear, Status: pmassist.JobSucceeded}, [][]int{{4}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pages(tc.f); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("pages %v, want %v", got, tc.want)
			}
		})
	}
	_, _, err := db.ListJobs(ctx, pmassist.JobFilter{Cursor: "not base64!"})
	wantCode(t, err, pmassist.EINVALID)
	if msg := pmassist.ErrorMessage(err); msg != "invalid cursor" {
		t.Errorf("bad cursor: %q", msg)
	}
	_, _, err = db.ListJobs(ctx, pmassist.JobFilter{Cursor: base64.RawURLEncoding.EncodeToString(nil) + "="})
	wantCode(t, err, pmassist.EINVALID)
	_, _, err = db.ListJobs(ctx, pmassist.JobFilter{Status: "paused"})
	wantCode(t, err, pmassist.EINVALID)
}

func TestListRecentJobs_MergesTenants(t *testing.T) {
	db := MustOpen(t)
	a, _ := mustTenant(t, db, "A", "a@example.com")
	b, _ := mustTenant(t, db, "B", "b@example.com")
	c, _ := mustTenant(t, db, "C", "c@example.com")
	mustTenant(t, db, "D without jobs", "d@example.com")
	var want []*pmassist.Job
	for i, tenantID := range []string{a.ID, b.ID, a.ID, c.ID, b.ID, a.ID} {
		want = append(want, mustJob(t, db, tenantCtx(tenantID), "conn", pmassist.JobSucceeded, i))
	}
	got, err := db.ListRecentJobs(context.Background(), 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d jobs, want 4", len(got))
	}
	for i, j := range got {
		w := want[len(want)-1-i]
		if j.ID != w.ID || j.TenantID != w.TenantID {
			t.Errorf("job %d is %s of %s, want %s of %s", i, j.ID, j.TenantID, w.ID, w.TenantID)
		}
	}
	if all, err := db.ListRecentJobs(context.Background(), 0); err != nil || len(all) != len(want) {
		t.Errorf("all recent jobs: %d, %v; want %d", len(all), err, len(want))
	}
}

func TestFailInterruptedJobs(t *testing.T) {
	db := MustOpen(t)
	a, _ := mustTenant(t, db, "A", "a@example.com")
	b, _ := mustTenant(t, db, "B", "b@example.com")
	actx, bctx := tenantCtx(a.ID), tenantCtx(b.ID)
	queued := mustJob(t, db, actx, "conn-1", pmassist.JobQueued, 0)
	running := mustJob(t, db, actx, "conn-2", pmassist.JobRunning, 1)
	done := mustJob(t, db, actx, "conn-3", pmassist.JobSucceeded, 2)
	other := mustJob(t, db, bctx, "conn-4", pmassist.JobRunning, 3)

	at := time.Date(2026, 3, 11, 8, 0, 0, 0, time.FixedZone("CET", 3600))
	n, err := db.FailInterruptedJobs(context.Background(), at)
	if err != nil || n != 3 {
		t.Fatalf("FailInterruptedJobs = %d, %v; want 3", n, err)
	}
	for _, tc := range []struct {
		ctx context.Context
		job *pmassist.Job
	}{{actx, queued}, {actx, running}, {bctx, other}} {
		j, err := db.FindJob(tc.ctx, tc.job.ID)
		if err != nil || j.Status != pmassist.JobFailed || j.FinishedAt == nil || !j.FinishedAt.Equal(at) ||
			j.Error != "interrupted: the appliance stopped while this job ran" {
			t.Errorf("interrupted job %+v, %v", j, err)
		}
		wantActive(t, db, tc.ctx, tc.job.ConnectionID, "")
	}
	if j, err := db.FindJob(actx, done.ID); err != nil || !reflect.DeepEqual(j, done) {
		t.Errorf("finished job changed: %+v, %v", j, err)
	}
	for _, tenantID := range []string{a.ID, b.ID} {
		if n := bucketLen(t, db, tenantID, bucketJobsActive); n != 0 {
			t.Errorf("jobs_active of %s has %d entries", tenantID, n)
		}
	}
	if n, err := db.FailInterruptedJobs(context.Background(), at); err != nil || n != 0 {
		t.Errorf("second FailInterruptedJobs = %d, %v; want 0", n, err)
	}
}

func TestCreateJob_RetentionCap(t *testing.T) {
	defer func(old int) { maxJobsPerTenant = old }(maxJobsPerTenant)
	maxJobsPerTenant = 5
	db := MustOpen(t)
	tenant, _ := mustTenant(t, db, "Acme", "owner@example.com")
	other, _ := mustTenant(t, db, "Other", "other@example.com")
	ctx := tenantCtx(tenant.ID)
	for i := range 3 {
		mustJob(t, db, tenantCtx(other.ID), "conn", pmassist.JobSucceeded, i)
	}
	// The oldest job is still running: it must survive the cap.
	running := mustJob(t, db, ctx, "conn-1", pmassist.JobRunning, 0)
	var finished []*pmassist.Job
	for i := 1; i <= 7; i++ {
		finished = append(finished, mustJob(t, db, ctx, "conn-2", pmassist.JobSucceeded, i))
	}
	list, _, err := db.ListJobs(ctx, pmassist.JobFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, j := range list {
		ids = append(ids, j.ID)
	}
	want := []string{finished[6].ID, finished[5].ID, finished[4].ID, finished[3].ID, running.ID}
	if !reflect.DeepEqual(ids, want) {
		t.Errorf("jobs kept %v, want the running one and the 4 newest finished %v", ids, want)
	}
	wantActive(t, db, ctx, "conn-1", running.ID)
	if n := bucketLen(t, db, other.ID, bucketJobs); n != 3 {
		t.Errorf("the other tenant has %d jobs, want 3", n)
	}
}
