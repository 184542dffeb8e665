package server

import (
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDecisionLogAPI(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	if r := op.do("POST", "/api/v1/decision-logs", map[string]any{"title": ""}); r.StatusCode != 400 {
		t.Fatalf("empty title: %d", r.StatusCode)
	}
	if r := op.do("POST", "/api/v1/decision-logs", map[string]any{"title": "x", "sources": []map[string]string{{"url": "javascript:alert(1)"}}}); r.StatusCode != 400 {
		t.Fatalf("javascript: source: %d", r.StatusCode)
	}
	a := op.expect(201, "POST", "/api/v1/decision-logs", map[string]any{"title": "Use Postgres for analytics", "summary": "=cmd|' /C calc'!A0",
		"tags": []string{"Infra", "#db"}, "decided_at": "2026-10-30T10:00:00Z",
		"sources": []map[string]string{{"service": "slack", "kind": "message", "url": "https://acme.slack.com/archives/C1/p1", "excerpt": "we decided"}}})
	if a["origin"] != "manual" || a["status"] != "accepted" || a["decided_by"].(map[string]any)["email"] != "op@acme.test" ||
		strings.Join(toStrings(a["tags"]), ",") != "infra,db" || a["confidence"].(float64) != 1 {
		t.Fatalf("created: %v", a)
	}
	b := op.expect(201, "POST", "/api/v1/decision-logs", map[string]any{"title": "Use ClickHouse for analytics", "status": "proposed", "tags": []string{"infra"}})
	list := op.expect(200, "GET", "/api/v1/decision-logs", nil)["decision_logs"].([]any)
	if len(list) != 2 || list[0].(map[string]any)["id"] != b["id"] {
		t.Fatalf("newest decided first: %v", list)
	}
	if l := op.expect(200, "GET", "/api/v1/decision-logs?status=proposed", nil)["decision_logs"].([]any); len(l) != 1 {
		t.Fatalf("status filter: %v", l)
	}
	if l := op.expect(200, "GET", "/api/v1/decision-logs?from=2026-10-30&to=2026-10-30", nil)["decision_logs"].([]any); len(l) != 1 || l[0].(map[string]any)["id"] != a["id"] {
		t.Fatalf("date filter: %v", l)
	}
	if r := op.do("GET", "/api/v1/decision-logs?status=maybe", nil); r.StatusCode != 400 {
		t.Fatalf("bad filter: %d", r.StatusCode)
	}
	// Supersede: a is replaced by b.
	got := op.expect(200, "PATCH", "/api/v1/decision-logs/"+a["id"].(string), map[string]any{"superseded_by": b["id"]})
	if got["status"] != "superseded" || got["superseded_by"] != b["id"] {
		t.Fatalf("supersede: %v", got)
	}
	got = op.expect(200, "PATCH", "/api/v1/decision-logs/"+b["id"].(string), map[string]any{"status": "accepted", "title": "Use ClickHouse"})
	if got["title"] != "Use ClickHouse" || got["status"] != "accepted" {
		t.Fatalf("patch: %v", got)
	}
	if r := op.do("PATCH", "/api/v1/decision-logs/"+b["id"].(string), map[string]any{"colour": "red"}); r.StatusCode != 400 {
		t.Fatalf("unknown field: %d", r.StatusCode)
	}
	// Exports: CSV with formulas defused, Markdown escaped, JSON.
	r := op.do("GET", "/api/v1/decision-logs/export?format=csv", nil)
	if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("csv export: %d %v", r.StatusCode, r.Header)
	}
	rows, err := csv.NewReader(strings.NewReader(string(r.body))).ReadAll()
	if err != nil || len(rows) != 3 || rows[0][1] != "title" {
		t.Fatalf("csv: %v %v", rows, err)
	}
	for _, row := range rows[1:] {
		if strings.HasPrefix(row[2], "=") {
			t.Fatalf("formula not defused: %q", row[2])
		}
	}
	md := string(op.do("GET", "/api/v1/decision-logs/export?format=md", nil).body)
	if !strings.Contains(md, "## Use Postgres for analytics") || !strings.Contains(md, "(<https://acme.slack.com/archives/C1/p1>)") {
		t.Fatalf("markdown: %s", md)
	}
	var arr []map[string]any
	if err := json.Unmarshal(op.do("GET", "/api/v1/decision-logs/export?format=json&status=accepted", nil).body, &arr); err != nil || len(arr) != 1 {
		t.Fatalf("json export: %v %v", arr, err)
	}
	if r := op.do("GET", "/api/v1/decision-logs/export?format=pdf", nil); r.StatusCode != 400 {
		t.Fatalf("bad format: %d", r.StatusCode)
	}
	// Other tenants get 404; members may edit; deleting clears references.
	op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Beta", "owner_email": "b@beta.test", "owner_name": "B", "owner_password": pw})
	boss := e.client()
	boss.login("b@beta.test", pw)
	for _, m := range []string{"GET", "PATCH", "DELETE"} {
		var body any
		if m == "PATCH" {
			body = map[string]string{"title": "x"}
		}
		if r := boss.do(m, "/api/v1/decision-logs/"+a["id"].(string), body); r.StatusCode != 404 {
			t.Errorf("%s across tenants: %d", m, r.StatusCode)
		}
	}
	if r := op.do("PATCH", "/api/v1/decision-logs/"+a["id"].(string), map[string]any{"superseded_by": boss.expect(201, "POST", "/api/v1/decision-logs", map[string]any{"title": "Beta's"})["id"]}); r.StatusCode != 404 {
		t.Fatalf("superseded by another tenant's decision: %d", r.StatusCode)
	}
	op.expect(204, "DELETE", "/api/v1/decision-logs/"+b["id"].(string), nil)
	if got := op.expect(200, "GET", "/api/v1/decision-logs/"+a["id"].(string), nil); got["superseded_by"] != "" {
		t.Fatalf("dangling superseded_by: %v", got)
	}
	actions := map[string]int{}
	for _, ev := range op.expect(200, "GET", "/api/v1/audit?limit=200", nil)["events"].([]any) {
		actions[ev.(map[string]any)["action"].(string)]++
	}
	if actions["decision.created"] != 2 || actions["decision.updated"] != 2 || actions["decision.deleted"] != 1 || actions["decisions.exported"] != 3 {
		t.Fatalf("audit: %v", actions)
	}
}

func toStrings(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// jsonTime writes what encoding/json writes for a time.Time.
func TestJSONTimeLikeEncodingJSON(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	for _, tm := range []time.Time{{}, time.Date(2026, 11, 28, 17, 36, 4, 249272463, time.UTC),
		time.Date(2026, 11, 28, 17, 36, 4, 0, time.UTC), time.Date(2026, 1, 2, 3, 4, 5, 600000000, berlin),
		time.Date(1999, 12, 31, 23, 59, 59, 1, time.UTC).Local()} {
		want, err := json.Marshal(tm)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(jsonTime(tm)); string(got) != string(want) {
			t.Errorf("%v: %s, want %s", tm, got, want)
		}
	}
}
