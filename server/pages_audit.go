package server

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/ui"
)

// auditPageSize is how many events one page of /audit shows.
const auditPageSize = 50

func (s *Server) registerAuditPages(r *mux.Router) {
	r.HandleFunc("/audit", s.member(pmassist.RoleAdmin, s.pageAudit)).Methods(http.MethodGet)
}

// navFor is the sidebar of the signed-in person: the audit log is listed
// only for those who may read it (owners and admins).
func navFor(id *identity) []ui.NavItem {
	nav := navItems()
	if id.tenant == nil || !id.role.AtLeast(pmassist.RoleAdmin) {
		nav = slices.DeleteFunc(nav, func(n ui.NavItem) bool { return n.Key == "audit" })
	}
	return nav
}

// auditPage is one page of the tenant's audit log, newest first; ?cursor=
// (from the API's next_cursor) pages to older events.
func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, id *identity) (*ui.AuditPage, error) {
	cursor := r.URL.Query().Get("cursor")
	events, next, err := s.svc.Audit.ListAuditEvents(r.Context(), pmassist.AuditFilter{Cursor: cursor, Limit: auditPageSize})
	if err != nil {
		return nil, err
	}
	page := &ui.AuditPage{Layout: s.layout(w, r, id, "Audit log", "audit"),
		CanExport: pmassist.PlanFor(id.tenant.Tier).Has(pmassist.FeatureAuditExport), Paged: cursor != ""}
	for _, e := range events {
		row := ui.AuditRow{At: e.At, Actor: e.Actor, Action: e.Action, Target: e.Target}
		keys := make([]string, 0, len(e.Details))
		for k := range e.Details {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			row.Details = append(row.Details, ui.AuditDetail{Key: k, Value: e.Details[k]})
		}
		page.Events = append(page.Events, row)
	}
	if next != "" {
		page.NextHref = "/audit?" + url.Values{"cursor": {next}}.Encode()
	}
	return page, nil
}

func (s *Server) pageAudit(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.auditPage(w, r, id)
	s.show(w, r, "audit", page, err)
}
