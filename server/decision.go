package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/pmassist/pmassist"
)

func (s *Server) registerDecisionRoutes(r *mux.Router) {
	// export before {id}: mux matches routes in order.
	r.HandleFunc(v1+"/decision-logs/export", s.member(pmassist.RoleMember, s.handleExportDecisions)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/decision-logs", s.member(pmassist.RoleMember, s.handleListDecisions)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/decision-logs", s.member(pmassist.RoleMember, s.handleCreateDecision)).Methods(http.MethodPost)
	r.HandleFunc(v1+"/decision-logs/{id}", s.member(pmassist.RoleMember, s.handleGetDecision)).Methods(http.MethodGet)
	r.HandleFunc(v1+"/decision-logs/{id}", s.member(pmassist.RoleMember, s.handlePatchDecision)).Methods(http.MethodPatch)
	r.HandleFunc(v1+"/decision-logs/{id}", s.member(pmassist.RoleMember, s.handleDeleteDecision)).Methods(http.MethodDelete)
}

type sourceJSON struct {
	Service    string `json:"service"`
	Kind       string `json:"kind"`
	ExternalID string `json:"external_id"`
	URL        string `json:"url"`
	Excerpt    string `json:"excerpt"`
}

// decisionJSON is the Decision of api.md.
type decisionJSON struct {
	ID           string       `json:"id"`
	Title        string       `json:"title"`
	Summary      string       `json:"summary"`
	Status       string       `json:"status"`
	Origin       string       `json:"origin"`
	Confidence   float64      `json:"confidence"`
	Signals      []string     `json:"signals"`
	DecidedAt    string       `json:"decided_at"` // jsonTime
	DecidedBy    authorJSON   `json:"decided_by"`
	Participants []string     `json:"participants"`
	Tags         []string     `json:"tags"`
	Sources      []sourceJSON `json:"sources"`
	SupersededBy string       `json:"superseded_by"`
	CreatedAt    string       `json:"created_at"`
	UpdatedAt    string       `json:"updated_at"`
}

// jsonTime is t as encoding/json writes a time.Time (RFC 3339 with
// nanoseconds), formatted beforehand: for a time.Time field encoding/json
// calls MarshalJSON and scans its output again, which was two thirds of
// the cost of encoding a page of decisions (docs/benchmarks.md, figure 3).
func jsonTime(t time.Time) string { return t.Format(time.RFC3339Nano) }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func toDecisionJSON(d *pmassist.Decision) decisionJSON {
	out := decisionJSON{ID: d.ID, Title: d.Title, Summary: d.Summary, Status: d.Status, Origin: d.Origin,
		Confidence: d.Confidence, Signals: nonNil(d.Signals), DecidedAt: jsonTime(d.DecidedAt),
		DecidedBy: authorJSON{Name: d.DecidedBy.Name, Email: d.DecidedBy.Email}, Participants: nonNil(d.Participants),
		Tags: nonNil(d.Tags), Sources: []sourceJSON{}, SupersededBy: d.SupersededBy, CreatedAt: jsonTime(d.CreatedAt),
		UpdatedAt: jsonTime(d.UpdatedAt)}
	for _, src := range d.Sources {
		out.Sources = append(out.Sources, sourceJSON{Service: string(src.Service), Kind: src.Kind, ExternalID: src.ExternalID,
			URL: src.URL, Excerpt: src.Excerpt})
	}
	return out
}

// dayRange turns from/to dates (YYYY-MM-DD, inclusive whole days in the
// tenant's timezone) into a [from, to) time range.
func (s *Server) dayRange(ctx context.Context, from, to string) (*time.Time, *time.Time, error) {
	if from == "" && to == "" {
		return nil, nil, nil
	}
	cfg, err := s.svc.Configs.TenantConfig(ctx)
	if err != nil {
		return nil, nil, err
	}
	loc := cfg.Location()
	parse := func(field, v string, next bool) (*time.Time, error) {
		if v == "" {
			return nil, nil
		}
		t, err := time.ParseInLocation("2006-01-02", v, loc)
		if err != nil {
			return nil, pmassist.FieldError(map[string]string{field: "a date such as 2026-11-01"})
		}
		if next {
			t = t.AddDate(0, 0, 1)
		}
		t = t.UTC()
		return &t, nil
	}
	f, err := parse("from", from, false)
	if err != nil {
		return nil, nil, err
	}
	t, err := parse("to", to, true)
	if err != nil {
		return nil, nil, err
	}
	if f != nil && t != nil && !f.Before(*t) {
		return nil, nil, pmassist.FieldError(map[string]string{"to": "must not be before from"})
	}
	return f, t, nil
}

// decisionFilter reads the list and export filters from a query string.
func (s *Server) decisionFilter(ctx context.Context, r *http.Request) (pmassist.DecisionFilter, error) {
	limit, cursor, err := listParams(r)
	if err != nil {
		return pmassist.DecisionFilter{}, err
	}
	q := r.URL.Query()
	f := pmassist.DecisionFilter{Status: q.Get("status"), Origin: q.Get("origin"), Q: q.Get("q"),
		Service: pmassist.Service(q.Get("service")), Tag: strings.ToLower(strings.TrimSpace(q.Get("tag"))), Cursor: cursor, Limit: limit}
	fields := map[string]string{}
	if f.Status != "" && !pmassist.ValidDecisionStatus(f.Status) {
		fields["status"] = "must be proposed, accepted, rejected or superseded"
	}
	if f.Origin != "" && f.Origin != pmassist.OriginDetected && f.Origin != pmassist.OriginManual {
		fields["origin"] = "must be detected or manual"
	}
	if f.Service != "" && !f.Service.Valid() {
		fields["service"] = "must be slack, linear or github"
	}
	if len(f.Q) > 500 {
		fields["q"] = "at most 500 characters"
	}
	if len(fields) > 0 {
		return f, pmassist.FieldError(fields)
	}
	f.From, f.To, err = s.dayRange(ctx, q.Get("from"), q.Get("to"))
	return f, err
}

func (s *Server) handleListDecisions(w http.ResponseWriter, r *http.Request, id *identity) {
	f, err := s.decisionFilter(r.Context(), r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// The version is read before the decisions: see pageCache.
	version, err := s.svc.Decisions.DecisionsVersion(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	key := newPageKey(id.tenant.ID, f)
	if body, ok := s.decisionPages.get(key, version); ok {
		writeJSONBytes(w, http.StatusOK, body)
		return
	}
	ds, next, err := s.svc.Decisions.ListDecisions(r.Context(), f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]decisionJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, toDecisionJSON(d))
	}
	body, err := encodeJSON(map[string]any{"decision_logs": out, "next_cursor": next})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.decisionPages.put(key, version, body)
	writeJSONBytes(w, http.StatusOK, body)
}

// newDecisionForm is a manual decision as entered.
type newDecisionForm struct {
	Title     string       `json:"title"`
	Summary   string       `json:"summary"`
	Status    string       `json:"status"`
	DecidedAt *time.Time   `json:"decided_at"`
	Tags      []string     `json:"tags"`
	Sources   []sourceJSON `json:"sources"`
}

// createDecision adds a manual decision.
func (s *Server) createDecision(ctx context.Context, id *identity, f newDecisionForm) (*pmassist.Decision, error) {
	d := &pmassist.Decision{Title: f.Title, Summary: f.Summary, Status: f.Status, Origin: pmassist.OriginManual, Confidence: 1,
		Tags: f.Tags, DecidedBy: pmassist.Person{Name: id.user.Name, Email: id.user.Email}, Participants: []string{id.user.Name},
		CreatedAt: s.now(), UpdatedAt: s.now()}
	if f.DecidedAt != nil {
		d.DecidedAt = f.DecidedAt.UTC()
	} else {
		d.DecidedAt = s.now()
	}
	for _, src := range f.Sources {
		svc := pmassist.Service(src.Service)
		if svc != "" && !svc.Valid() {
			return nil, pmassist.FieldError(map[string]string{"sources": "service must be slack, linear, github or empty"})
		}
		kind := src.Kind
		if kind == "" {
			kind = "link"
		}
		d.Sources = append(d.Sources, pmassist.DecisionSource{Service: svc, Kind: kind, ExternalID: src.ExternalID, URL: src.URL, Excerpt: src.Excerpt})
	}
	if err := s.svc.Decisions.CreateDecision(ctx, d); err != nil {
		return nil, err
	}
	s.indexDecision(ctx, d.ID)
	s.audit(ctx, id.user, pmassist.AuditDecisionCreated, d.Title, map[string]string{"decision_id": d.ID})
	return d, nil
}

// updateDecision applies a person's change.
func (s *Server) updateDecision(ctx context.Context, id *identity, decisionID string, upd pmassist.DecisionUpdate) (*pmassist.Decision, error) {
	if !pmassist.ValidID(decisionID) {
		return nil, errDecisionNotFound
	}
	if upd.SupersededBy != nil && *upd.SupersededBy != "" && !pmassist.ValidID(*upd.SupersededBy) {
		return nil, pmassist.Errorf(pmassist.ENOTFOUND, "superseding decision not found")
	}
	d, err := s.svc.Decisions.UpdateDecision(ctx, decisionID, upd)
	if err != nil {
		return nil, err
	}
	s.indexDecision(ctx, d.ID)
	details := map[string]string{"decision_id": d.ID, "status": d.Status}
	if upd.SupersededBy != nil {
		details["superseded_by"] = *upd.SupersededBy
	}
	s.audit(ctx, id.user, pmassist.AuditDecisionUpdated, d.Title, details)
	return d, nil
}

func (s *Server) deleteDecision(ctx context.Context, id *identity, decisionID string) error {
	if !pmassist.ValidID(decisionID) {
		return errDecisionNotFound
	}
	d, err := s.svc.Decisions.FindDecision(ctx, decisionID)
	if err != nil {
		return err
	}
	if err := s.svc.Decisions.DeleteDecision(ctx, decisionID); err != nil {
		return err
	}
	if s.svc.Indexer != nil {
		s.svc.Indexer.RemoveDecision(ctx, decisionID)
	}
	s.audit(ctx, id.user, pmassist.AuditDecisionDeleted, d.Title, map[string]string{"decision_id": d.ID})
	return nil
}

func (s *Server) indexDecision(ctx context.Context, ids ...string) {
	if s.svc.Indexer != nil {
		s.svc.Indexer.QueueDecisions(ctx, ids...)
	}
}

var errDecisionNotFound = pmassist.Errorf(pmassist.ENOTFOUND, "decision not found")

func (s *Server) handleCreateDecision(w http.ResponseWriter, r *http.Request, id *identity) {
	var f newDecisionForm
	if err := decodeJSON(r, &f, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.createDecision(r.Context(), id, f)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, toDecisionJSON(d))
}

func (s *Server) handleGetDecision(w http.ResponseWriter, r *http.Request, id *identity) {
	decisionID := mux.Vars(r)["id"]
	if !pmassist.ValidID(decisionID) {
		s.writeError(w, r, errDecisionNotFound)
		return
	}
	d, err := s.svc.Decisions.FindDecision(r.Context(), decisionID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toDecisionJSON(d))
}

func (s *Server) handlePatchDecision(w http.ResponseWriter, r *http.Request, id *identity) {
	var req struct {
		Title        *string   `json:"title"`
		Summary      *string   `json:"summary"`
		Status       *string   `json:"status"`
		Tags         *[]string `json:"tags"`
		SupersededBy *string   `json:"superseded_by"`
	}
	if err := decodeJSON(r, &req, false); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.updateDecision(r.Context(), id, mux.Vars(r)["id"], pmassist.DecisionUpdate{Title: req.Title, Summary: req.Summary,
		Status: req.Status, Tags: req.Tags, SupersededBy: req.SupersededBy})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toDecisionJSON(d))
}

func (s *Server) handleDeleteDecision(w http.ResponseWriter, r *http.Request, id *identity) {
	if err := s.deleteDecision(r.Context(), id, mux.Vars(r)["id"]); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// maxExport bounds one export.
const maxExport = 10_000

func (s *Server) handleExportDecisions(w http.ResponseWriter, r *http.Request, id *identity) {
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "md"
	}
	if format != "md" && format != "csv" && format != "json" {
		s.writeError(w, r, pmassist.FieldError(map[string]string{"format": "must be md, csv or json"}))
		return
	}
	f, err := s.decisionFilter(r.Context(), r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	f.Limit, f.Cursor = 200, ""
	var all []*pmassist.Decision
	for len(all) < maxExport {
		page, next, err := s.svc.Decisions.ListDecisions(r.Context(), f)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		all = append(all, page...)
		if next == "" {
			break
		}
		f.Cursor = next
	}
	var buf bytes.Buffer
	var ctype string
	switch format {
	case "json":
		ctype = "application/json"
		out := make([]decisionJSON, 0, len(all))
		for _, d := range all {
			out = append(out, toDecisionJSON(d))
		}
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		_ = enc.Encode(out)
	case "csv":
		ctype = "text/csv; charset=utf-8"
		writeDecisionsCSV(&buf, all)
	default:
		ctype = "text/markdown; charset=utf-8"
		writeDecisionsMarkdown(&buf, id.tenant.Name, all)
	}
	s.audit(r.Context(), id.user, pmassist.AuditDecisionsExported, format, map[string]string{"count": strconv.Itoa(len(all))})
	name := fmt.Sprintf("decision-log-%s.%s", s.now().Format("2006-01-02"), format)
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(buf.Bytes())
}

// csvCell defuses spreadsheet formulas in untrusted text (CSV injection):
// a cell starting with = + - @ tab or CR is prefixed with a quote.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func writeDecisionsCSV(buf *bytes.Buffer, ds []*pmassist.Decision) {
	cw := csv.NewWriter(buf)
	_ = cw.Write([]string{"id", "title", "summary", "status", "origin", "confidence", "decided_at", "decided_by",
		"participants", "tags", "sources", "superseded_by"})
	for _, d := range ds {
		var urls []string
		for _, src := range d.Sources {
			if src.URL != "" {
				urls = append(urls, src.URL)
			}
		}
		_ = cw.Write([]string{d.ID, csvCell(d.Title), csvCell(d.Summary), d.Status, d.Origin,
			strconv.FormatFloat(d.Confidence, 'f', 2, 64), d.DecidedAt.Format(time.RFC3339), csvCell(d.DecidedBy.Name),
			csvCell(strings.Join(d.Participants, "; ")), csvCell(strings.Join(d.Tags, "; ")), csvCell(strings.Join(urls, " ")), d.SupersededBy})
	}
	cw.Flush()
}

// mdEscape keeps untrusted text from becoming Markdown or HTML structure.
var mdEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`, "<", "&lt;", ">", "&gt;",
	"#", `\#`, "|", `\|`, "!", `\!`, "\r", "", "\n", " ")

func mdEscape(s string) string { return mdEscaper.Replace(s) }

func writeDecisionsMarkdown(buf *bytes.Buffer, tenant string, ds []*pmassist.Decision) {
	fmt.Fprintf(buf, "# Decision log — %s\n\n", mdEscape(tenant))
	if len(ds) == 0 {
		buf.WriteString("No decisions.\n")
	}
	for _, d := range ds {
		fmt.Fprintf(buf, "## %s\n\n", mdEscape(d.Title))
		fmt.Fprintf(buf, "- **Status:** %s (%s)\n", d.Status, d.Origin)
		fmt.Fprintf(buf, "- **Decided:** %s", d.DecidedAt.Format("2006-01-02"))
		if d.DecidedBy.Name != "" {
			fmt.Fprintf(buf, " by %s", mdEscape(d.DecidedBy.Name))
		}
		buf.WriteString("\n")
		if len(d.Participants) > 0 {
			fmt.Fprintf(buf, "- **Participants:** %s\n", mdEscape(strings.Join(d.Participants, ", ")))
		}
		if len(d.Tags) > 0 {
			fmt.Fprintf(buf, "- **Tags:** %s\n", mdEscape(strings.Join(d.Tags, ", ")))
		}
		if d.SupersededBy != "" {
			fmt.Fprintf(buf, "- **Superseded by:** %s\n", d.SupersededBy)
		}
		for _, src := range d.Sources {
			label := mdEscape(strings.TrimSpace(string(src.Service) + " " + src.Kind))
			if strings.HasPrefix(src.URL, "https://") || strings.HasPrefix(src.URL, "http://") {
				fmt.Fprintf(buf, "- **Source:** [%s](<%s>)\n", label, strings.NewReplacer("<", "%3C", ">", "%3E", " ", "%20").Replace(src.URL))
			} else {
				fmt.Fprintf(buf, "- **Source:** %s %s\n", label, mdEscape(src.ExternalID))
			}
		}
		if d.Summary != "" {
			fmt.Fprintf(buf, "\n%s\n", mdEscape(d.Summary))
		}
		buf.WriteString("\n")
	}
}
