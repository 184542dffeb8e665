package server

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/ui"
)

func (s *Server) registerStandupPages(r *mux.Router) {
	r.HandleFunc("/standups", s.member(pmassist.RoleMember, s.pageStandups)).Methods(http.MethodGet)
	r.HandleFunc("/standups", s.member(pmassist.RoleMember, s.postStandup)).Methods(http.MethodPost)
	r.HandleFunc("/standups/{id}", s.member(pmassist.RoleMember, s.pageStandup)).Methods(http.MethodGet)
	r.HandleFunc("/standups/{id}/deliver", s.member(pmassist.RoleMember, s.postDeliverStandup)).Methods(http.MethodPost)
	r.HandleFunc("/people", s.member(pmassist.RoleMember, s.pagePeople)).Methods(http.MethodGet)
	r.HandleFunc("/people/{id}/link", s.member(pmassist.RoleAdmin, s.postLinkPerson)).Methods(http.MethodPost)
	r.HandleFunc("/people/{id}/unlink", s.member(pmassist.RoleAdmin, s.postUnlinkPerson)).Methods(http.MethodPost)
}

func entryRows(es []pmassist.StandupEntry) []ui.StandupEntryRow {
	var out []ui.StandupEntryRow
	for _, e := range es {
		out = append(out, ui.StandupEntryRow{Type: string(e.Type), Title: e.Title, URL: e.URL, Service: string(e.Service),
			ServiceTitle: e.Service.Title(), State: e.State})
	}
	return out
}

func (s *Server) standupRow(ctx context.Context, st *pmassist.Standup) ui.StandupRow {
	row := ui.StandupRow{ID: st.ID, Date: st.Date, Timezone: st.Timezone, CreatedAt: st.CreatedAt}
	if d, err := time.Parse("2006-01-02", st.Date); err == nil {
		row.DateLabel = d.Format("Monday 2 January 2006")
	}
	for _, p := range st.People {
		row.People = append(row.People, ui.StandupPersonRow{Name: p.Name, Done: entryRows(p.Done), InProgress: entryRows(p.InProgress),
			Blockers: entryRows(p.Blockers), NoActivity: p.NoActivity})
	}
	for _, id := range st.DecisionIDs {
		if d, err := s.svc.Decisions.FindDecision(ctx, id); err == nil {
			row.Decisions = append(row.Decisions, toDecisionRow(d, nil))
		}
	}
	for _, d := range st.Deliveries {
		row.Deliveries = append(row.Deliveries, ui.DeliveryRow{Channel: d.Channel, Target: d.Target, Status: d.Status,
			LastError: d.LastError, Attempts: d.Attempts, SentAt: d.SentAt, NextTryAt: d.NextTryAt})
	}
	return row
}

// deliveryAllowed says whether the tenant may deliver, and if not, why.
func (s *Server) deliveryAllowed(ctx context.Context, id *identity) (bool, string) {
	if !pmassist.PlanFor(id.tenant.Tier).Has(pmassist.FeatureDelivery) {
		return false, "Delivery to Slack and email is a Pro feature."
	}
	cfg, err := s.svc.Configs.TenantConfig(ctx)
	if err == nil && cfg.Standup.SlackChannel == "" && len(cfg.Standup.EmailTo) == 0 {
		return false, "Set a Slack channel or email recipients for standups in Settings."
	}
	return true, ""
}

func (s *Server) standupsPage(w http.ResponseWriter, r *http.Request, id *identity) (*ui.StandupsPage, error) {
	ctx := r.Context()
	list, next, err := s.svc.StandupStore.ListStandups(ctx, r.URL.Query().Get("cursor"), 20)
	if pmassist.ErrorCode(err) == pmassist.EINVALID {
		list, next, err = s.svc.StandupStore.ListStandups(ctx, "", 20)
	}
	if err != nil {
		return nil, err
	}
	page := &ui.StandupsPage{Layout: s.layout(w, r, id, "Standups", "standups")}
	for i, st := range list {
		row := s.standupRow(ctx, st)
		if i == 0 && r.URL.Query().Get("cursor") == "" {
			page.Latest = &row
			continue
		}
		page.History = append(page.History, row)
	}
	if next != "" {
		page.NextHref = "/standups?" + url.Values{"cursor": {next}}.Encode()
	}
	cfg, err := s.svc.Configs.TenantConfig(ctx)
	if err != nil {
		return nil, err
	}
	day := pmassist.DefaultStandupDate(s.now(), cfg.Location(), cfg.Standup.Weekdays)
	page.GenerateDate = day.Format("2006-01-02")
	page.CanDeliver, page.DeliveryNote = s.deliveryAllowed(ctx, id)
	return page, nil
}

func (s *Server) pageStandups(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.standupsPage(w, r, id)
	s.show(w, r, "standups", page, err)
}

func (s *Server) postStandup(w http.ResponseWriter, r *http.Request, id *identity) {
	st, err := s.svc.Standups.Generate(r.Context(), strings.TrimSpace(r.PostFormValue("date")), r.PostFormValue("deliver") != "")
	if err == nil {
		s.redirectFlash(w, r, "/standups/"+st.ID, "Standup for "+st.Date+" generated.", nil)
		return
	}
	if pmassist.ErrorFields(err) == nil {
		s.redirectFlash(w, r, "/standups", "", err)
		return
	}
	page, perr := s.standupsPage(w, r, id)
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	page.GenerateDate, page.Errors = r.PostFormValue("date"), fieldErrors(err)
	s.render(w, r, http.StatusBadRequest, "standups", page)
}

func (s *Server) pageStandup(w http.ResponseWriter, r *http.Request, id *identity) {
	st, err := s.findStandup(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	can, _ := s.deliveryAllowed(r.Context(), id)
	s.render(w, r, http.StatusOK, "standup", ui.StandupPage{Layout: s.layout(w, r, id, "Standup "+st.Date, "standups"),
		Standup: s.standupRow(r.Context(), st), CanDeliver: can})
}

func (s *Server) postDeliverStandup(w http.ResponseWriter, r *http.Request, id *identity) {
	standupID := mux.Vars(r)["id"]
	st, err := s.findStandup(r.Context(), standupID)
	if err == nil {
		st, err = s.svc.Standups.Deliver(r.Context(), st.ID)
	}
	msg := ""
	if err == nil {
		msg = "Delivery tried; see its status below."
		for _, d := range st.Deliveries {
			if d.Status != pmassist.DeliverySent && d.LastError != "" {
				err = pmassist.Errorf(pmassist.EINVALID, "%s delivery failed: %s", d.Channel, d.LastError)
			}
		}
	}
	s.redirectFlash(w, r, "/standups/"+standupID, msg, err)
}

func (s *Server) peoplePage(w http.ResponseWriter, r *http.Request, id *identity) (*ui.PeoplePage, error) {
	people, err := s.svc.Teammates.ListTeammates(r.Context())
	if err != nil {
		return nil, err
	}
	page := &ui.PeoplePage{Layout: s.layout(w, r, id, "People", "people"), CanEdit: id.role.AtLeast(pmassist.RoleAdmin)}
	for _, p := range people {
		row := ui.PersonRow{ID: p.ID, Name: p.Name, Emails: p.Emails}
		for _, i := range p.Identities {
			row.Identities = append(row.Identities, ui.IdentityRow{Service: string(i.Service), ServiceTitle: i.Service.Title(),
				ExternalID: i.ExternalID, Handle: i.Handle, Email: i.Email})
		}
		page.People = append(page.People, row)
	}
	return page, nil
}

func (s *Server) pagePeople(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.peoplePage(w, r, id)
	s.show(w, r, "people", page, err)
}

func (s *Server) postLinkPerson(w http.ResponseWriter, r *http.Request, id *identity) {
	svc, ext, _ := strings.Cut(r.PostFormValue("identity"), ":")
	_, err := s.linkIdentity(r.Context(), id, mux.Vars(r)["id"], svc, ext, true)
	s.redirectFlash(w, r, "/people", "Identity linked.", err)
}

func (s *Server) postUnlinkPerson(w http.ResponseWriter, r *http.Request, id *identity) {
	_, err := s.linkIdentity(r.Context(), id, mux.Vars(r)["id"], r.PostFormValue("service"), r.PostFormValue("external_id"), false)
	s.redirectFlash(w, r, "/people", "Identity unlinked; it is a person of its own now.", err)
}
