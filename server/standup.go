package server

import (
	"context"
	"net/http"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerStandupRoutes(r *mux.Router) {
	r.HandleFunc(v1+"/workflows/standup", s.member(pmassist.RoleMember, s.handleGenerateStandup)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/standups", s.member(pmassist.RoleMember, s.handleListStandups)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/standups/{id}", s.member(pmassist.RoleMember, s.handleGetStandup)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/standups/{id}/deliver", s.member(pmassist.RoleMember, s.handleDeliverStandup)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/people", s.member(pmassist.RoleMember, s.handleListPeople)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/people/{id}/link", s.member(pmassist.RoleAdmin, s.handleLinkPerson)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/people/{id}/unlink", s.member(pmassist.RoleAdmin, s.handleUnlinkPerson)).Methods(http.MethodPost)
}

type standupEntryJSON struct {
	Type    string `json:"type"`
	Title   string `json:"title"`
	URL     string `json:"url"`
	Service string `json:"service"`
	State   string `json:"state,omitempty"`
}

type standupPersonJSON struct {
	Name       string             `json:"name"`
	Done       []standupEntryJSON `json:"done"`
	InProgress []standupEntryJSON `json:"in_progress"`
	Blockers   []standupEntryJSON `json:"blockers"`
	NoActivity bool               `json:"no_activity"`
}

type deliveryJSON struct {
	Channel   string     `json:"channel"`
	Target    string     `json:"target"`
	Status    string     `json:"status"`
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error"`
	NextTryAt *time.Time `json:"next_try_at"`
	SentAt    *time.Time `json:"sent_at"`
}

// standupJSON is the Standup of api.md, with the delivery history.
type standupJSON struct {
	ID         string              `json:"id"`
	Date       string              `json:"date"`
	Timezone   string              `json:"timezone"`
	Window     map[string]string   `json:"window"`
	People     []standupPersonJSON `json:"people"`
	Decisions  []decisionJSON      `json:"decisions"`
	Markdown   string              `json:"markdown"`
	Delivered  map[string]bool     `json:"delivered"`
	Deliveries []deliveryJSON      `json:"deliveries"`
	CreatedAt  time.Time           `json:"created_at"`
}

func entriesJSON(es []pmassist.StandupEntry) []standupEntryJSON {
	out := make([]standupEntryJSON, 0, len(es))
	for _, e := range es {
		out = append(out, standupEntryJSON{Type: string(e.Type), Title: e.Title, URL: e.URL, Service: string(e.Service), State: e.State})
	}
	return out
}

func (s *Server) standupJSON(ctx context.Context, st *pmassist.Standup) standupJSON {
	out := standupJSON{ID: st.ID, Date: st.Date, Timezone: st.Timezone, People: []standupPersonJSON{}, Decisions: []decisionJSON{},
		Window:    map[string]string{"from": st.WindowFrom.UTC().Format(time.RFC3339), "to": st.WindowTo.UTC().Format(time.RFC3339)},
		Markdown:  st.Markdown,
		Delivered: map[string]bool{pmassist.DeliverySlack: false, pmassist.DeliveryEmail: false}, Deliveries: []deliveryJSON{}, CreatedAt: st.CreatedAt}
	for _, p := range st.People {
		out.People = append(out.People, standupPersonJSON{Name: p.Name, Done: entriesJSON(p.Done), InProgress: entriesJSON(p.InProgress),
			Blockers: entriesJSON(p.Blockers), NoActivity: p.NoActivity})
	}
	for _, id := range st.DecisionIDs {
		if d, err := s.svc.Decisions.FindDecision(ctx, id); err == nil {
			out.Decisions = append(out.Decisions, toDecisionJSON(d))
		}
	}
	for _, d := range st.Deliveries {
		out.Deliveries = append(out.Deliveries, deliveryJSON{Channel: d.Channel, Target: d.Target, Status: d.Status, Attempts: d.Attempts,
			LastError: d.LastError, NextTryAt: d.NextTryAt, SentAt: d.SentAt})
		if d.Status == pmassist.DeliverySent {
			out.Delivered[d.Channel] = true
		}
	}
	return out
}

func (s *Server) handleGenerateStandup(w http.ResponseWriter, r *http.Request, id *identity) {
	var req struct {
		Date    string `json:"date"`
		Deliver bool   `json:"deliver"`
	}
	if err := decodeJSON(r, &req, true); err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.svc.Standups.Generate(r.Context(), req.Date, req.Deliver)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"standup": s.standupJSON(r.Context(), st)})
}

func (s *Server) handleListStandups(w http.ResponseWriter, r *http.Request, id *identity) {
	limit, cursor, err := listParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, next, err := s.svc.StandupStore.ListStandups(r.Context(), cursor, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]standupJSON, 0, len(list))
	for _, st := range list {
		out = append(out, s.standupJSON(r.Context(), st))
	}
	writeJSON(w, http.StatusOK, map[string]any{"standups": out, "next_cursor": next})
}

func (s *Server) findStandup(ctx context.Context, standupID string) (*pmassist.Standup, error) {
	if !pmassist.ValidID(standupID) {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "standup not found")
	}
	return s.svc.StandupStore.FindStandup(ctx, standupID)
}

func (s *Server) handleGetStandup(w http.ResponseWriter, r *http.Request, id *identity) {
	st, err := s.findStandup(r.Context(), mux.Vars(r)["id"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.standupJSON(r.Context(), st))
}

func (s *Server) handleDeliverStandup(w http.ResponseWriter, r *http.Request, id *identity) {
	st, err := s.findStandup(r.Context(), mux.Vars(r)["id"])
	if err == nil {
		st, err = s.svc.Standups.Deliver(r.Context(), st.ID)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"standup": s.standupJSON(r.Context(), st)})
}

type personJSON struct {
	ID         string              `json:"id"`
	Name       string              `json:"name"`
	Emails     []string            `json:"emails"`
	Identities []map[string]string `json:"identities"`
}

func toPersonJSON(t *pmassist.Teammate) personJSON {
	p := personJSON{ID: t.ID, Name: t.Name, Emails: nonNil(t.Emails), Identities: []map[string]string{}}
	for _, i := range t.Identities {
		p.Identities = append(p.Identities, map[string]string{"service": string(i.Service), "external_id": i.ExternalID, "handle": i.Handle})
	}
	return p
}

func (s *Server) handleListPeople(w http.ResponseWriter, r *http.Request, id *identity) {
	people, err := s.svc.Teammates.ListTeammates(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]personJSON, 0, len(people))
	for _, p := range people {
		out = append(out, toPersonJSON(p))
	}
	writeJSON(w, http.StatusOK, map[string]any{"people": out})
}

// linkIdentity moves or splits an identity, recorded in the audit log.
func (s *Server) linkIdentity(ctx context.Context, id *identity, personID, service, externalID string, link bool) (*pmassist.Teammate, error) {
	if !pmassist.ValidID(personID) {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "person not found")
	}
	svc := pmassist.Service(service)
	if !svc.Valid() || externalID == "" {
		return nil, pmassist.FieldError(map[string]string{"service": "slack, linear or github, with an external_id"})
	}
	var t *pmassist.Teammate
	var err error
	action := pmassist.AuditPersonLinked
	if link {
		t, err = s.svc.Teammates.LinkIdentity(ctx, personID, svc, externalID)
	} else {
		action = pmassist.AuditPersonUnlinked
		t, err = s.svc.Teammates.UnlinkIdentity(ctx, personID, svc, externalID)
	}
	if err != nil {
		return nil, err
	}
	s.audit(ctx, id.user, action, t.Name, map[string]string{"service": service, "external_id": externalID})
	return t, nil
}

func (s *Server) handleLinkPerson(w http.ResponseWriter, r *http.Request, id *identity) {
	s.handleIdentity(w, r, id, true)
}

func (s *Server) handleUnlinkPerson(w http.ResponseWriter, r *http.Request, id *identity) {
	s.handleIdentity(w, r, id, false)
}

func (s *Server) handleIdentity(w http.ResponseWriter, r *http.Request, id *identity, link bool) {
	var req struct {
		Service    string `json:"service"`
		ExternalID string `json:"external_id"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.linkIdentity(r.Context(), id, mux.Vars(r)["id"], req.Service, req.ExternalID, link)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPersonJSON(t))
}
