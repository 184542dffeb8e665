package server

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/ui"
)

func (s *Server) registerDecisionPages(r *mux.Router) {
	r.HandleFunc("/decisions", s.member(pmassist.RoleMember, s.pageDecisions)).Methods(http.MethodGet)
	r.HandleFunc("/decisions", s.member(pmassist.RoleMember, s.postDecision)).Methods(http.MethodPost)
	r.HandleFunc("/decisions/{id}", s.member(pmassist.RoleMember, s.pageDecision)).Methods(http.MethodGet)
	r.HandleFunc("/decisions/{id}", s.member(pmassist.RoleMember, s.postEditDecision)).Methods(http.MethodPost)
	r.HandleFunc("/decisions/{id}/status", s.member(pmassist.RoleMember, s.postDecisionStatus)).Methods(http.MethodPost)
	r.HandleFunc("/decisions/{id}/supersede", s.member(pmassist.RoleMember, s.postSupersede)).Methods(http.MethodPost)
	r.HandleFunc("/decisions/{id}/delete", s.member(pmassist.RoleMember, s.postDeleteDecision)).Methods(http.MethodPost)
	r.HandleFunc("/search", s.member(pmassist.RoleMember, s.pageSearch)).Methods(http.MethodGet)
}

func toDecisionRow(d *pmassist.Decision, titles map[string]string) ui.DecisionRow {
	row := ui.DecisionRow{ID: d.ID, Title: d.Title, Summary: d.Summary, Status: d.Status, Origin: d.Origin, Confidence: d.Confidence,
		Signals: d.Signals, Participants: d.Participants, Tags: d.Tags, DecidedAt: d.DecidedAt, DecidedBy: d.DecidedBy.Name,
		SupersededBy: d.SupersededBy, SupersededByTitle: titles[d.SupersededBy]}
	for _, src := range d.Sources {
		row.Sources = append(row.Sources, ui.SourceRow{Service: string(src.Service), ServiceTitle: src.Service.Title(), Kind: src.Kind,
			ExternalID: src.ExternalID, URL: src.URL, Excerpt: src.Excerpt})
	}
	return row
}

// decisionTitles maps ids to titles for "superseded by" links.
func (s *Server) decisionTitles(ctx context.Context, ds []*pmassist.Decision) map[string]string {
	titles := map[string]string{}
	for _, d := range ds {
		titles[d.ID] = d.Title
	}
	for _, d := range ds {
		if d.SupersededBy != "" && titles[d.SupersededBy] == "" {
			if other, err := s.svc.Decisions.FindDecision(ctx, d.SupersededBy); err == nil {
				titles[other.ID] = other.Title
			}
		}
	}
	return titles
}

// timeline counts decisions per week and status over the last 12 weeks
// (weeks start on Monday in the tenant's timezone).
func (s *Server) timeline(ctx context.Context) ([]ui.TimelineWeek, error) {
	cfg, err := s.svc.Configs.TenantConfig(ctx)
	if err != nil {
		return nil, err
	}
	loc := cfg.Location()
	now := s.now().In(loc)
	monday := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	monday = monday.AddDate(0, 0, -((int(monday.Weekday()) + 6) % 7))
	first := monday.AddDate(0, 0, -7*11)
	weeks := make([]ui.TimelineWeek, 12)
	for i := range weeks {
		weeks[i] = ui.TimelineWeek{Label: first.AddDate(0, 0, 7*i).Format("Jan 2"), Counts: map[string]int{}}
	}
	from := first.UTC()
	f := pmassist.DecisionFilter{From: &from, Limit: 200}
	for {
		ds, next, err := s.svc.Decisions.ListDecisions(ctx, f)
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if w := int(d.DecidedAt.In(loc).Sub(first).Hours() / (24 * 7)); w >= 0 && w < 12 {
				weeks[w].Counts[d.Status]++
			}
		}
		if next == "" || f.Cursor == next {
			break
		}
		f.Cursor = next
	}
	return weeks, nil
}

func (s *Server) decisionsPage(w http.ResponseWriter, r *http.Request, id *identity) (*ui.DecisionsPage, error) {
	ctx := r.Context()
	page := &ui.DecisionsPage{Layout: s.layout(w, r, id, "Decisions", "decisions"), CanEdit: true}
	q := r.URL.Query()
	page.Filter.Status, page.Filter.Origin, page.Filter.Q, page.Filter.Service = q.Get("status"), q.Get("origin"), q.Get("q"), q.Get("service")
	page.Filter.Tag, page.Filter.From, page.Filter.To = q.Get("tag"), q.Get("from"), q.Get("to")
	f, err := s.decisionFilter(ctx, r)
	if err != nil {
		if pmassist.ErrorFields(err) == nil {
			return nil, err
		}
		page.FlashErr = pmassist.ErrorMessage(err)
		f = pmassist.DecisionFilter{Limit: 50}
	}
	ds, next, err := s.svc.Decisions.ListDecisions(ctx, f)
	if err != nil {
		return nil, err
	}
	titles := s.decisionTitles(ctx, ds)
	for _, d := range ds {
		page.Decisions = append(page.Decisions, toDecisionRow(d, titles))
	}
	export := url.Values{}
	for _, k := range []string{"status", "origin", "q", "service", "tag", "from", "to"} {
		if v := q.Get(k); v != "" {
			export.Set(k, v)
		}
	}
	page.ExportQuery = export.Encode()
	if next != "" {
		export.Set("cursor", next)
		page.NextHref = "/decisions?" + export.Encode()
	}
	if page.Timeline, err = s.timeline(ctx); err != nil {
		return nil, err
	}
	page.New.Status = pmassist.DecisionAccepted
	return page, nil
}

func (s *Server) pageDecisions(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.decisionsPage(w, r, id)
	s.show(w, r, "decisions", page, err)
}

func (s *Server) postDecision(w http.ResponseWriter, r *http.Request, id *identity) {
	f := newDecisionForm{Title: r.PostFormValue("title"), Summary: r.PostFormValue("summary"), Status: r.PostFormValue("status"),
		Tags: strings.Split(r.PostFormValue("tags"), ",")}
	if u := strings.TrimSpace(r.PostFormValue("source_url")); u != "" {
		f.Sources = []sourceJSON{{Kind: "link", URL: u}}
	}
	d, err := s.createDecision(r.Context(), id, f)
	if err == nil {
		s.redirectFlash(w, r, "/decisions/"+d.ID, "Decision added.", nil)
		return
	}
	if pmassist.ErrorFields(err) == nil {
		s.redirectFlash(w, r, "/decisions", "", err)
		return
	}
	page, perr := s.decisionsPage(w, r, id)
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	page.New.Title, page.New.Summary, page.New.Status = f.Title, f.Summary, f.Status
	page.New.Tags, page.New.SourceURL = r.PostFormValue("tags"), r.PostFormValue("source_url")
	page.Errors = fieldErrors(err)
	if msg, ok := page.Errors["sources"]; ok {
		page.Errors["source_url"] = msg
	}
	s.render(w, r, http.StatusBadRequest, "decisions", page)
}

func (s *Server) decisionPage(w http.ResponseWriter, r *http.Request, id *identity, decisionID string) (*ui.DecisionPage, error) {
	ctx := r.Context()
	if !pmassist.ValidID(decisionID) {
		return nil, errDecisionNotFound
	}
	d, err := s.svc.Decisions.FindDecision(ctx, decisionID)
	if err != nil {
		return nil, err
	}
	page := &ui.DecisionPage{Layout: s.layout(w, r, id, d.Title, "decisions"), CanEdit: true}
	page.Decision = toDecisionRow(d, s.decisionTitles(ctx, []*pmassist.Decision{d}))
	others, _, err := s.svc.Decisions.ListDecisions(ctx, pmassist.DecisionFilter{Limit: 100})
	if err != nil {
		return nil, err
	}
	for _, o := range others {
		if o.ID != d.ID && o.Status != pmassist.DecisionRejected {
			page.Candidates = append(page.Candidates, toDecisionRow(o, nil))
		}
	}
	return page, nil
}

func (s *Server) pageDecision(w http.ResponseWriter, r *http.Request, id *identity) {
	page, err := s.decisionPage(w, r, id, mux.Vars(r)["id"])
	s.show(w, r, "decision", page, err)
}

func (s *Server) postEditDecision(w http.ResponseWriter, r *http.Request, id *identity) {
	decisionID := mux.Vars(r)["id"]
	title, summary, status := r.PostFormValue("title"), r.PostFormValue("summary"), r.PostFormValue("status")
	tags := strings.Split(r.PostFormValue("tags"), ",")
	upd := pmassist.DecisionUpdate{Title: &title, Summary: &summary, Tags: &tags}
	if status != "" {
		upd.Status = &status
	}
	_, err := s.updateDecision(r.Context(), id, decisionID, upd)
	if err == nil || pmassist.ErrorFields(err) == nil {
		s.redirectFlash(w, r, "/decisions/"+decisionID, "Decision saved.", err)
		return
	}
	page, perr := s.decisionPage(w, r, id, decisionID)
	if perr != nil {
		s.fail(w, r, perr)
		return
	}
	page.Decision.Title, page.Decision.Summary, page.Decision.Tags = title, summary, tags
	page.Errors = fieldErrors(err)
	s.render(w, r, http.StatusBadRequest, "decision", page)
}

func (s *Server) postDecisionStatus(w http.ResponseWriter, r *http.Request, id *identity) {
	status := r.PostFormValue("status")
	d, err := s.updateDecision(r.Context(), id, mux.Vars(r)["id"], pmassist.DecisionUpdate{Status: &status})
	back := "/decisions"
	if ref := r.Referer(); ref != "" {
		if u, perr := url.Parse(ref); perr == nil && strings.HasPrefix(u.Path, "/decisions") {
			back = safeNext(u.RequestURI())
		}
	}
	msg := ""
	if err == nil {
		msg = "“" + d.Title + "” is now " + d.Status + "."
	}
	s.redirectFlash(w, r, back, msg, err)
}

func (s *Server) postSupersede(w http.ResponseWriter, r *http.Request, id *identity) {
	decisionID := mux.Vars(r)["id"]
	by := r.PostFormValue("superseded_by")
	_, err := s.updateDecision(r.Context(), id, decisionID, pmassist.DecisionUpdate{SupersededBy: &by})
	s.redirectFlash(w, r, "/decisions/"+decisionID, "Decision marked as superseded.", err)
}

func (s *Server) postDeleteDecision(w http.ResponseWriter, r *http.Request, id *identity) {
	err := s.deleteDecision(r.Context(), id, mux.Vars(r)["id"])
	s.redirectFlash(w, r, "/decisions", "Decision deleted.", err)
}

// recentDecisions feeds the dashboard card.
func (s *Server) recentDecisions(ctx context.Context) ([]ui.DecisionRow, error) {
	ds, _, err := s.svc.Decisions.ListDecisions(ctx, pmassist.DecisionFilter{Limit: 5})
	if err != nil {
		return nil, err
	}
	var rows []ui.DecisionRow
	for _, d := range ds {
		rows = append(rows, toDecisionRow(d, nil))
	}
	return rows, nil
}

func (s *Server) pageSearch(w http.ResponseWriter, r *http.Request, id *identity) {
	q := r.URL.Query()
	page := ui.SearchPage{Layout: s.layout(w, r, id, "Search", "search")}
	page.Query.Q, page.Query.Type, page.Query.Service, page.Query.Channel = q.Get("q"), q.Get("type"), q.Get("service"), q.Get("channel")
	page.Query.Author, page.Query.From, page.Query.To, page.Query.Sort = q.Get("author"), q.Get("from"), q.Get("to"), q.Get("sort")
	page.Searched = q.Get("q") != "" || q.Get("type") != "" || q.Get("service") != "" || q.Get("channel") != "" || q.Get("author") != "" ||
		q.Get("from") != "" || q.Get("to") != ""
	if page.Searched {
		sq, err := s.searchQuery(r)
		var res *pmassist.SearchResults
		if err == nil {
			res, err = s.svc.Search.Search(r.Context(), sq)
		}
		switch pmassist.ErrorCode(err) {
		case "":
			page.Total, page.TotalEstimated, page.TookMS = res.Total, !res.TotalExact, res.Took.Milliseconds()
			for _, hit := range res.Results {
				page.Results = append(page.Results, toSearchRow(hit))
			}
			page.PrevHref, page.NextHref = pageLinks(q, sq.Offset, sq.Limit, res.Total)
		case pmassist.EUNAVAILABLE:
			page.Unavailable = pmassist.ErrorMessage(err)
		case pmassist.EINVALID:
			page.Error = pmassist.ErrorMessage(err)
		default:
			s.fail(w, r, err)
			return
		}
	}
	s.render(w, r, http.StatusOK, "search", page)
}

func toSearchRow(hit pmassist.SearchResult) ui.SearchResultRow {
	row := ui.SearchResultRow{Type: hit.Type, ID: hit.ID, Title: hit.Title, URL: hit.URL, Service: hit.Service,
		ServiceTitle: pmassist.Service(hit.Service).Title(), Channel: hit.Channel, Author: hit.Author, CreatedAt: hit.CreatedAt,
		Snippet: safeSnippet(hit.Snippet)}
	if hit.Type == "decision" {
		row.Href = "/decisions/" + hit.ID
	} else if strings.HasPrefix(hit.URL, "https://") || strings.HasPrefix(hit.URL, "http://") {
		row.Href = hit.URL
	}
	return row
}

// pageLinks returns the previous and next result pages of a search.
func pageLinks(q url.Values, offset, limit, total int) (prev, next string) {
	link := func(off int) string {
		v := url.Values{}
		for k, vals := range q {
			v[k] = vals
		}
		v.Set("offset", strconv.Itoa(off))
		return "/search?" + v.Encode()
	}
	if offset > 0 {
		prev = link(max(0, offset-limit))
	}
	if offset+limit < total {
		next = link(offset + limit)
	}
	return prev, next
}

// safeSnippet trusts a snippet as HTML only if it is what the index
// promises — escaped text with nothing but <mark> tags added; anything
// else is escaped whole, so a bug there cannot become script here.
func safeSnippet(s string) template.HTML {
	rest := strings.NewReplacer("<mark>", "", "</mark>", "").Replace(s)
	if strings.ContainsAny(rest, "<>\"") {
		return template.HTML(template.HTMLEscapeString(s))
	}
	return template.HTML(s)
}
