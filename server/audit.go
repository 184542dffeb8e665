package server

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/pmassist/pmassist"
)

// auditExportPage is how many events one read of an export takes.
const auditExportPage = 200

// errAuditExportTier answers an export below the enterprise tier.
func errAuditExportTier(t pmassist.Tier) error {
	return pmassist.Errorf(pmassist.EPAYMENTREQUIRED,
		"audit log export is part of the Enterprise plan; this tenant is on %s — upgrade on the Billing page", t)
}

// handleExportAudit streams the whole audit log of the tenant, newest first,
// as CSV or JSON (owners and admins of an enterprise tenant). The first page
// is read before anything is written, so that a failing store still gets a
// proper error answer; the export is then recorded in the audit log itself
// before the first byte is sent, and that record is left out of the file.
func (s *Server) handleExportAudit(w http.ResponseWriter, r *http.Request, id *identity) {
	if !pmassist.PlanFor(id.tenant.Tier).Has(pmassist.FeatureAuditExport) {
		s.writeError(w, r, errAuditExportTier(id.tenant.Tier))
		return
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		s.writeError(w, r, pmassist.FieldError(map[string]string{"format": "must be csv or json"}))
		return
	}
	ctx := r.Context()
	page, next, err := s.svc.Audit.ListAuditEvents(ctx, pmassist.AuditFilter{Limit: auditExportPage})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rec := &pmassist.AuditEvent{At: s.now(), ActorID: id.user.ID, Actor: id.user.Email, Action: pmassist.AuditExported,
		Target: format, Details: map[string]string{"format": format}}
	if err := s.svc.Audit.CreateAuditEvent(ctx, rec); err != nil {
		s.logger.ErrorContext(ctx, "recording audit event failed", "action", rec.Action, "error", err)
	}

	name := "audit-" + fileSlug(id.tenant.Name, id.tenant.ID) + "-" + s.now().UTC().Format("2006-01-02") + "." + format
	h := w.Header()
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)

	bw := bufio.NewWriterSize(w, 32<<10)
	var ew auditEncoder
	if format == "csv" {
		ew = newAuditCSV(bw)
	} else {
		ew = newAuditJSON(bw)
	}
	n, err := streamAudit(ctx, s.svc.Audit, page, next, rec.ID, ew, func() { _ = bw.Flush(); flush(w) })
	if err == nil {
		err = ew.close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		// The status is sent: break the connection so the client sees a
		// failed download rather than a short file, and log why.
		s.logger.ErrorContext(ctx, "audit export failed midway", "error", err, "events", n,
			"request_id", requestID(ctx))
		panic(http.ErrAbortHandler)
	}
}

// streamAudit writes first and then every older page of the log, without
// the event skip; after each page it calls flushed. It returns the number
// of events written.
func streamAudit(ctx context.Context, svc pmassist.AuditService, first []*pmassist.AuditEvent, next, skip string, enc auditEncoder, flushed func()) (int, error) {
	n, page := 0, first
	for {
		for _, e := range page {
			if skip != "" && e.ID == skip {
				continue
			}
			if err := enc.write(e); err != nil {
				return n, err
			}
			n++
		}
		flushed()
		if next == "" {
			return n, nil
		}
		if err := ctx.Err(); err != nil {
			return n, err
		}
		var err error
		page, next, err = svc.ListAuditEvents(ctx, pmassist.AuditFilter{Cursor: next, Limit: auditExportPage})
		if err != nil {
			return n, err
		}
	}
}

// flush sends what is buffered to the client, when the writer can.
func flush(w http.ResponseWriter) {
	_ = http.NewResponseController(w).Flush()
}

// auditEncoder writes one export format.
type auditEncoder interface {
	write(e *pmassist.AuditEvent) error
	close() error
}

// auditCSV writes the header at,actor,action,target,details and one row per
// event; details are "key=value" joined with "; " in key order. Every text
// cell is defused against spreadsheet formulas like the decision export.
type auditCSV struct{ w *csv.Writer }

func newAuditCSV(w *bufio.Writer) *auditCSV {
	c := &auditCSV{w: csv.NewWriter(w)}
	_ = c.w.Write([]string{"at", "actor", "action", "target", "details"})
	return c
}

func (c *auditCSV) write(e *pmassist.AuditEvent) error {
	return c.w.Write([]string{e.At.UTC().Format(time.RFC3339), csvCell(e.Actor), csvCell(e.Action), csvCell(e.Target),
		csvCell(auditDetailsText(e.Details))})
}

func (c *auditCSV) close() error {
	c.w.Flush()
	return c.w.Error()
}

// auditDetailsText is details as "key=value; key=value", sorted by key.
func auditDetailsText(d map[string]string) string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+d[k])
	}
	return strings.Join(parts, "; ")
}

// auditJSONWriter writes {"events":[…]} one event at a time, each in the
// shape of GET /api/v1/audit.
type auditJSONWriter struct {
	w     *bufio.Writer
	count int
}

func newAuditJSON(w *bufio.Writer) *auditJSONWriter {
	_, _ = w.WriteString(`{"events":[`)
	return &auditJSONWriter{w: w}
}

func (j *auditJSONWriter) write(e *pmassist.AuditEvent) error {
	b, err := json.Marshal(toAuditJSON(e))
	if err != nil {
		return err
	}
	if j.count > 0 {
		_ = j.w.WriteByte(',')
	}
	_ = j.w.WriteByte('\n')
	j.count++
	_, err = j.w.Write(b)
	return err
}

func (j *auditJSONWriter) close() error {
	_, err := j.w.WriteString("\n]}\n")
	return err
}

// toAuditJSON is an event as the API shows it: details never null.
func toAuditJSON(e *pmassist.AuditEvent) auditJSON {
	d := e.Details
	if d == nil {
		d = map[string]string{}
	}
	return auditJSON{At: e.At.UTC(), Actor: e.Actor, Action: e.Action, Target: e.Target, Details: d}
}

// fileSlug makes a tenant name safe for a file name: lower-case letters,
// digits and single dashes, at most 40 characters; fallback when nothing
// is left.
func fileSlug(name, fallback string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case !dash && b.Len() > 0:
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 40 {
			break
		}
	}
	s := strings.Trim(b.String(), "-")
	if s == "" {
		return fallback
	}
	return s
}
