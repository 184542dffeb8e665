package server

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/ui"
)

func (s *Server) registerIngestionPages(r *mux.Router) {
	r.HandleFunc("/jobs", s.member(pmassist.RoleMember, s.pageJobs)).Methods(http.MethodGet)
	r.HandleFunc("/integrations/{id}/run", s.member(pmassist.RoleMember, s.postRunConnection)).Methods(http.MethodPost)
	r.HandleFunc("/settings", s.member(pmassist.RoleMember, s.pageSettings)).Methods(http.MethodGet)
	r.HandleFunc("/settings", s.member(pmassist.RoleAdmin, s.postSettings)).Methods(http.MethodPost)
}

func toJobRow(j *pmassist.Job, names map[string]string) ui.JobRow {
	return ui.JobRow{ID: j.ID, Service: string(j.Service), ServiceTitle: j.Service.Title(), ConnectionID: j.ConnectionID,
		WorkspaceName: names[j.ConnectionID], Trigger: j.Trigger, Status: j.Status, Error: j.Error, CreatedAt: j.CreatedAt,
		StartedAt: j.StartedAt, FinishedAt: j.FinishedAt, ItemsNew: j.ItemsNew, ItemsUpdated: j.ItemsUpdated}
}

// connectionNames maps the tenant's connection ids to workspace names.
func (s *Server) connectionNames(ctx context.Context) (map[string]string, error) {
	conns, err := s.svc.Connections.ListConnections(ctx)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(conns))
	for _, c := range conns {
		names[c.ID] = c.WorkspaceName
	}
	return names, nil
}

func (s *Server) pageJobs(w http.ResponseWriter, r *http.Request, id *identity) {
	q := r.URL.Query()
	f := pmassist.JobFilter{Service: pmassist.Service(q.Get("service")), Status: q.Get("status"), Cursor: q.Get("cursor"), Limit: 50}
	if f.Service != "" && !f.Service.Valid() {
		f.Service = ""
	}
	jobs, next, err := s.svc.Jobs.ListJobs(r.Context(), f)
	if pmassist.ErrorCode(err) == pmassist.EINVALID {
		f.Status, f.Cursor = "", ""
		jobs, next, err = s.svc.Jobs.ListJobs(r.Context(), f)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	names, err := s.connectionNames(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := ui.JobsPage{Layout: s.layout(w, r, id, "Jobs", "integrations"), Service: string(f.Service), Status: f.Status}
	for _, j := range jobs {
		page.Jobs = append(page.Jobs, toJobRow(j, names))
	}
	if next != "" {
		v := url.Values{"cursor": {next}}
		if f.Service != "" {
			v.Set("service", string(f.Service))
		}
		if f.Status != "" {
			v.Set("status", f.Status)
		}
		page.NextHref = "/jobs?" + v.Encode()
	}
	s.render(w, r, http.StatusOK, "jobs", page)
}

func (s *Server) postRunConnection(w http.ResponseWriter, r *http.Request, id *identity) {
	connID := mux.Vars(r)["id"]
	if _, err := s.findConnection(r.Context(), connID); err != nil {
		s.redirectFlash(w, r, "/integrations", "", err)
		return
	}
	job, started, err := s.svc.Ingestion.Start(r.Context(), connID, pmassist.TriggerManual)
	msg := "Ingestion started; follow it on the Jobs page."
	if err == nil && !started {
		msg = "A run of this connection is already going (" + job.Status + ")."
	}
	s.redirectFlash(w, r, "/jobs", msg, err)
}

// lastJobs finds the newest job of each connection among recent jobs.
func (s *Server) lastJobs(ctx context.Context) (map[string]*pmassist.Job, error) {
	jobs, _, err := s.svc.Jobs.ListJobs(ctx, pmassist.JobFilter{Limit: 200})
	if err != nil {
		return nil, err
	}
	last := map[string]*pmassist.Job{}
	for _, j := range jobs {
		if _, ok := last[j.ConnectionID]; !ok {
			last[j.ConnectionID] = j
		}
	}
	return last, nil
}

// withLastJobs adds each connection's newest job to its row.
func (s *Server) withLastJobs(ctx context.Context, rows []ui.ConnectionRow) error {
	last, err := s.lastJobs(ctx)
	if err != nil {
		return err
	}
	for i := range rows {
		if j, ok := last[rows[i].ID]; ok {
			row := toJobRow(j, map[string]string{j.ConnectionID: rows[i].WorkspaceName})
			rows[i].LastJob = &row
		}
	}
	return nil
}

// activity is the dashboard chart: items per day per service, 30 days in
// the tenant's timezone.
func (s *Server) activity(ctx context.Context) (ui.ActivityChart, error) {
	cfg, err := s.svc.Configs.TenantConfig(ctx)
	if err != nil {
		return ui.ActivityChart{}, err
	}
	loc := cfg.Location()
	now := s.now().In(loc)
	first := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc).AddDate(0, 0, -29)
	counts, err := s.svc.Items.ItemsPerDay(ctx, first, loc)
	if err != nil {
		return ui.ActivityChart{}, err
	}
	var chart ui.ActivityChart
	series := make([]ui.ActivitySeries, len(pmassist.Services))
	for i, svc := range pmassist.Services {
		series[i] = ui.ActivitySeries{Service: string(svc), Title: svc.Title(), Counts: make([]int, 30)}
	}
	for d := 0; d < 30; d++ {
		day := first.AddDate(0, 0, d)
		chart.Days = append(chart.Days, day.Format("Jan 2"))
		total := 0
		for i, svc := range pmassist.Services {
			n := counts[day.Format("2006-01-02")][svc]
			series[i].Counts[d] = n
			total += n
		}
		chart.Max = max(chart.Max, total)
	}
	chart.Series = series
	return chart, nil
}

// splitList reads a textarea list: one entry per line (commas also split).
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' })
}

func joinList(list []string) string { return strings.Join(list, "\n") }

func (s *Server) settingsPage(w http.ResponseWriter, r *http.Request, id *identity, cfg pmassist.TenantConfig) ui.SettingsPage {
	return ui.SettingsPage{Layout: s.layout(w, r, id, "Settings", "settings"), CanEdit: id.role.AtLeast(pmassist.RoleAdmin),
		Timezone: cfg.Timezone, Timezones: commonTimezones, SlackChannels: joinList(cfg.SlackChannels),
		LinearTeamIDs: joinList(cfg.LinearTeamIDs), GitHubOrgs: joinList(cfg.GitHubOrgs), GitHubRepos: joinList(cfg.GitHubRepos),
		IntervalMinutes: cfg.IngestionIntervalMinutes, DecisionPhrases: joinList(cfg.Decisions.Phrases),
		DecisionReaction: cfg.Decisions.Reaction, StandupEnabled: cfg.Standup.Enabled, StandupTime: cfg.Standup.Time,
		StandupWeekdays: cfg.Standup.Weekdays, StandupChannel: cfg.Standup.SlackChannel, StandupEmailTo: joinList(cfg.Standup.EmailTo)}
}

// commonTimezones are the suggestions of the timezone field; any IANA name
// is accepted.
var commonTimezones = []string{"UTC", "Europe/London", "Europe/Berlin", "Europe/Paris", "Europe/Madrid", "Europe/Warsaw",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Sao_Paulo", "Asia/Kolkata",
	"Asia/Singapore", "Asia/Tokyo", "Australia/Sydney"}

func (s *Server) pageSettings(w http.ResponseWriter, r *http.Request, id *identity) {
	cfg, err := s.svc.Configs.TenantConfig(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "settings", s.settingsPage(w, r, id, cfg))
}

func (s *Server) postSettings(w http.ResponseWriter, r *http.Request, id *identity) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, pmassist.Errorf(pmassist.EINVALID, "malformed form"))
		return
	}
	f := r.PostForm
	cfg, err := s.svc.Configs.TenantConfig(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	cfg.Timezone = strings.TrimSpace(f.Get("timezone"))
	cfg.SlackChannels, cfg.LinearTeamIDs = splitList(f.Get("slack_channels")), splitList(f.Get("linear_team_ids"))
	cfg.GitHubOrgs, cfg.GitHubRepos = splitList(f.Get("github_orgs")), splitList(f.Get("github_repos"))
	fields := map[string]string{}
	status := http.StatusBadRequest
	if cfg.IngestionIntervalMinutes, err = strconv.Atoi(strings.TrimSpace(f.Get("ingestion_interval_minutes"))); err != nil {
		fields["ingestion_interval_minutes"] = "must be a number of minutes"
	}
	cfg.Decisions.Phrases = strings.FieldsFunc(f.Get("decision_phrases"), func(r rune) bool { return r == '\n' || r == '\r' })
	cfg.Decisions.Reaction = f.Get("decision_reaction")
	cfg.Standup.Enabled = f.Get("standup_enabled") != ""
	cfg.Standup.Time = strings.TrimSpace(f.Get("standup_time"))
	cfg.Standup.Weekdays = []int{}
	for _, d := range f["standup_weekdays"] {
		n, err := strconv.Atoi(d)
		if err != nil {
			fields["standup.weekdays"] = "days 1 (Monday) to 7 (Sunday)"
			continue
		}
		cfg.Standup.Weekdays = append(cfg.Standup.Weekdays, n)
	}
	cfg.Standup.SlackChannel = f.Get("standup_slack_channel")
	cfg.Standup.EmailTo = splitList(f.Get("standup_email_to"))
	if len(fields) == 0 {
		_, err = s.putConfig(r.Context(), id, cfg)
		if err == nil {
			s.redirectFlash(w, r, "/settings", "Settings saved.", nil)
			return
		}
		switch {
		case pmassist.ErrorCode(err) == pmassist.EPAYMENTREQUIRED:
			// Beyond the plan: keep what was typed and say why.
			fields["form"], status = pmassist.ErrorMessage(err), http.StatusPaymentRequired
		case pmassist.ErrorFields(err) == nil:
			s.fail(w, r, err)
			return
		}
		for k, v := range pmassist.ErrorFields(err) {
			fields[k] = v
		}
	}
	page := s.settingsPage(w, r, id, cfg)
	// Keep what was typed, even where it did not parse.
	page.IntervalMinutes, _ = strconv.Atoi(f.Get("ingestion_interval_minutes"))
	page.Errors = ui.FormErrors(fields)
	s.render(w, r, status, "settings", page)
}
