package server

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerSearchRoutes(r *mux.Router) {
	r.HandleFunc(v1+"/search", s.member(pmassist.RoleMember, s.handleSearch)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/admin/reindex", s.operator(s.handleReindex)).Methods(http.MethodPost)
}

// searchQuery reads api.md's search parameters.
func (s *Server) searchQuery(r *http.Request) (pmassist.SearchQuery, error) {
	q := r.URL.Query()
	sq := pmassist.SearchQuery{Q: q.Get("q"), Service: pmassist.Service(q.Get("service")), Channel: strings.TrimPrefix(q.Get("channel"), "#"),
		Author: q.Get("author"), Sort: q.Get("sort"), Limit: 20}
	fields := map[string]string{}
	if t := q.Get("type"); t != "" {
		for _, typ := range strings.Split(t, ",") {
			typ = strings.TrimSpace(typ)
			if !pmassist.ItemType(typ).Valid() && typ != "decision" {
				fields["type"] = "message, issue, pull_request or decision (comma-separated)"
				continue
			}
			sq.Types = append(sq.Types, typ)
		}
	}
	if sq.Service != "" && !sq.Service.Valid() {
		fields["service"] = "must be slack, linear or github"
	}
	switch sq.Sort {
	case "", "relevance", "date":
	default:
		fields["sort"] = "must be relevance or date"
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			fields["limit"] = "a number from 1 to 100"
		}
		sq.Limit = n
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fields["offset"] = "a number from 0"
		}
		sq.Offset = n
	}
	if len(fields) > 0 {
		return sq, pmassist.FieldError(fields)
	}
	var err error
	sq.From, sq.To, err = s.dayRange(r.Context(), q.Get("from"), q.Get("to"))
	return sq, err
}

func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request, id *identity) {
	sq, err := s.searchQuery(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.svc.Search.Search(r.Context(), sq)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	results := res.Results
	if results == nil {
		results = []pmassist.SearchResult{}
	}
	for i := range results {
		if results[i].Channel != "" && results[i].Service == string(pmassist.ServiceSlack) {
			results[i].Channel = "#" + results[i].Channel
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"total": res.Total, "total_exact": res.TotalExact, "took_ms": res.Took.Milliseconds(), "results": results})
}

func (s *Server) handleReindex(w http.ResponseWriter, r *http.Request, id *identity) {
	if err := s.svc.Indexer.Rebuild(r.Context()); err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"status": "building"})
}
