package server

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/ui"
)

// The operator console beyond tenants: the system overview, the jobs of
// every tenant, and backups. Operators only, like /operator/tenants.

// operatorJobsLimit is how many of the newest jobs /operator/jobs shows.
const operatorJobsLimit = 100

func (s *Server) registerOperatorPages(r *mux.Router) {
	r.HandleFunc("/operator", s.operator(s.pageOperatorSystem)).Methods(http.MethodGet)
	r.HandleFunc("/operator/reindex", s.operator(s.postOperatorReindex)).Methods(http.MethodPost)
	r.HandleFunc("/operator/jobs", s.operator(s.pageOperatorJobs)).Methods(http.MethodGet)
	r.HandleFunc("/operator/backups", s.operator(s.pageOperatorBackups)).Methods(http.MethodGet)
	r.HandleFunc("/operator/backups", s.operator(s.postOperatorBackup)).Methods(http.MethodPost)
	r.HandleFunc("/operator/compact", s.operator(s.postOperatorCompact)).Methods(http.MethodPost)
}

func toBackupRow(b pmassist.BackupInfo) *ui.BackupRow {
	return &ui.BackupRow{Name: b.Name, Size: b.Size, CreatedAt: b.CreatedAt}
}

func (s *Server) operatorSystemPage(w http.ResponseWriter, r *http.Request, id *identity) *ui.OperatorSystemPage {
	page := &ui.OperatorSystemPage{Layout: s.layout(w, r, id, "System", "operator")}
	info, err := s.system(r.Context())
	if err != nil {
		return page
	}
	page.Available = true
	page.Version, page.Commit, page.StartedAt, page.Uptime = info.Version, info.Commit, info.StartedAt, uptime(info, s.now())
	page.DataFileBytes = info.DataFileBytes
	page.IndexState, page.IndexError, page.IndexDocs, page.IndexVersion = info.Index.State, info.Index.Error, info.Index.Docs, info.Index.Version
	page.SchedulerRunning, page.SchedulerJobs = info.SchedulerRunning, info.SchedulerJobs
	page.GoVersion, page.Goroutines, page.HeapBytes = info.GoVersion, info.Goroutines, info.HeapBytes
	page.BackupsEnabled, page.BackupError = info.Backups.Enabled, info.Backups.LastError
	if b := info.Backups.LastSuccess; b != nil {
		page.LastBackup = toBackupRow(*b)
	}
	return page
}

func (s *Server) pageOperatorSystem(w http.ResponseWriter, r *http.Request, id *identity) {
	s.render(w, r, http.StatusOK, "operator_system", s.operatorSystemPage(w, r, id))
}

func (s *Server) postOperatorReindex(w http.ResponseWriter, r *http.Request, id *identity) {
	err := s.svc.Indexer.Rebuild(r.Context())
	if err == nil {
		s.logger.InfoContext(r.Context(), "operator: search index rebuild started", "user", id.user.Email,
			"request_id", requestID(r.Context()))
	}
	s.redirectFlash(w, r, "/operator", "Rebuilding the search index. Search answers again when it is ready.", err)
}

func (s *Server) operatorJobsPage(w http.ResponseWriter, r *http.Request, id *identity) (*ui.OperatorJobsPage, error) {
	jobs, err := s.svc.Jobs.ListRecentJobs(r.Context(), operatorJobsLimit)
	if err != nil {
		return nil, err
	}
	tenants, err := s.svc.Tenants.ListTenants(r.Context())
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(tenants))
	for _, t := range tenants {
		names[t.ID] = t.Name
	}
	page := &ui.OperatorJobsPage{Layout: s.layout(w, r, id, "Jobs", "operator_jobs"), Limit: operatorJobsLimit}
	for _, j := range jobs {
		page.Jobs = append(page.Jobs, ui.OperatorJobRow{JobRow: ui.JobRow{ID: j.ID, Service: string(j.Service),
			ServiceTitle: j.Service.Title(), ConnectionID: j.ConnectionID, Trigger: j.Trigger, Status: j.Status, Error: j.Error,
			CreatedAt: j.CreatedAt, StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, ItemsNew: j.ItemsNew, ItemsUpdated: j.ItemsUpdated},
			TenantID: j.TenantID, TenantName: names[j.TenantID]})
	}
	return page, nil
}

func (s *Server) pageOperatorJobs(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.operatorJobsPage(w, r, id)
	s.show(w, r, "operator_jobs", page, err)
}

func (s *Server) operatorBackupsPage(w http.ResponseWriter, r *http.Request, id *identity) (*ui.OperatorBackupsPage, error) {
	page := &ui.OperatorBackupsPage{Layout: s.layout(w, r, id, "Backups", "operator_backups")}
	ops, err := s.operations()
	if err != nil {
		return page, nil
	}
	st, err := ops.BackupStatus(r.Context())
	if err != nil {
		return nil, err
	}
	page.Available, page.Enabled, page.Dir, page.Interval, page.Keep = true, st.Enabled, st.Dir, st.Interval, st.Keep
	page.LastError, page.LastErrorAt, page.NextAt = st.LastError, st.LastErrorAt, st.NextAt
	if st.LastSuccess != nil {
		page.LastSuccess = toBackupRow(*st.LastSuccess)
	}
	for _, b := range st.Backups {
		page.Backups = append(page.Backups, *toBackupRow(b))
	}
	if info, err := s.system(r.Context()); err == nil {
		page.DataFileBytes = info.DataFileBytes
	}
	return page, nil
}

func (s *Server) pageOperatorBackups(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.operatorBackupsPage(w, r, id)
	s.show(w, r, "operator_backups", page, err)
}

func (s *Server) postOperatorBackup(w http.ResponseWriter, r *http.Request, id *identity) {
	b, err := s.backupNow(r.Context(), id)
	msg := ""
	if err == nil {
		msg = fmt.Sprintf("Backed up to %s (%s).", b.Name, ui.FormatBytes(b.Size))
	}
	s.redirectFlash(w, r, "/operator/backups", msg, err)
}

func (s *Server) postOperatorCompact(w http.ResponseWriter, r *http.Request, id *identity) {
	res, err := s.compact(r.Context(), id)
	s.redirectFlash(w, r, "/operator/backups", compactMessage(res), err)
}

// compactMessage is the flash after a compaction: the sizes before and
// after, and what it gave back.
func compactMessage(res pmassist.CompactResult) string {
	saved := res.BeforeBytes - res.AfterBytes
	msg := fmt.Sprintf("Compacted the data file from %s to %s", ui.FormatBytes(res.BeforeBytes), ui.FormatBytes(res.AfterBytes))
	if saved > 0 {
		msg += fmt.Sprintf(", %s given back to the disk", ui.FormatBytes(saved))
	}
	return msg + "."
}

// pageLimit turns an API limit (nil = unlimited) into a page's (-1).
func pageLimit(n *int) int {
	if n == nil {
		return pmassist.Unlimited
	}
	return *n
}
