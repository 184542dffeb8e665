package server

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist/integrations/fake"
)

func (e *env) waitIndexed() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := e.index.WaitIdle(ctx); err != nil {
		e.t.Fatal(err)
	}
}

func TestSearchAndDecisionsAfterIngestion(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	e.connect(op, "slack")
	e.connect(op, "linear")
	e.connect(op, "github")
	for _, svc := range []string{"slack", "linear", "github"} {
		e.ingest(op, svc)
	}
	e.waitIndexed()

	// Detection found decisions in the seeded week, with sources.
	ds := op.expect(200, "GET", "/api/v1/decision-logs?limit=200", nil)["decision_logs"].([]any)
	if len(ds) < 5 {
		t.Fatalf("only %d decisions detected", len(ds))
	}
	services := map[string]bool{}
	for _, d := range ds {
		m := d.(map[string]any)
		if m["origin"] != "detected" || m["confidence"].(float64) < 0.5 || len(m["sources"].([]any)) == 0 {
			t.Fatalf("decision: %v", m)
		}
		services[m["sources"].([]any)[0].(map[string]any)["service"].(string)] = true
	}
	if !services["slack"] || !services["linear"] || !services["github"] {
		t.Fatalf("decisions by service: %v", services)
	}
	// Re-running ingestion creates no second decision.
	e.ingest(op, "slack")
	if n := len(op.expect(200, "GET", "/api/v1/decision-logs?limit=200", nil)["decision_logs"].([]any)); n != len(ds) {
		t.Fatalf("decisions after a re-run: %d, before %d", n, len(ds))
	}

	search := func(q url.Values) map[string]any {
		t.Helper()
		return op.expect(200, "GET", "/api/v1/search?"+q.Encode(), nil)
	}
	res := search(url.Values{"q": {"decided"}})
	if res["total"].(float64) == 0 || res["took_ms"] == nil || res["total_exact"] != true {
		t.Fatalf("search: %v", res)
	}
	marked := 0
	for _, r := range res["results"].([]any) {
		if strings.Contains(r.(map[string]any)["snippet"].(string), "<mark>") {
			marked++
		}
	}
	if marked == 0 {
		t.Fatalf("no highlighted snippet: %v", res["results"])
	}
	// Filters: type and service.
	res = search(url.Values{"type": {"decision"}})
	for _, r := range res["results"].([]any) {
		if r.(map[string]any)["type"] != "decision" {
			t.Fatalf("type filter: %v", r)
		}
	}
	res = search(url.Values{"service": {"github"}, "sort": {"date"}})
	for _, r := range res["results"].([]any) {
		if r.(map[string]any)["service"] != "github" {
			t.Fatalf("service filter: %v", r)
		}
	}
	// Malformed queries are explained.
	r := op.do("GET", "/api/v1/search?q="+url.QueryEscape(`"unclosed phrase`), nil)
	if r.StatusCode != 400 || !strings.Contains(string(r.body), "quoted phrase") {
		t.Fatalf("unclosed quote: %d %s", r.StatusCode, r.body)
	}
	if r := op.do("GET", "/api/v1/search?q="+strings.Repeat("a", 600), nil); r.StatusCode != 400 {
		t.Fatalf("long query: %d", r.StatusCode)
	}

	// Hostile text stays escaped in snippets, the API and the page.
	channel := e.slack.Data().Channels[0].ID
	if _, err := e.slack.AddMessage(channel, fake.SlackMessage{User: e.slack.Data().Users[0].ID, Text: `zebrafish <script>alert(1)</script> "quoted" & more`}); err != nil {
		t.Fatal(err)
	}
	e.ingest(op, "slack")
	e.waitIndexed()
	res = search(url.Values{"q": {"zebrafish"}})
	snip := res["results"].([]any)[0].(map[string]any)["snippet"].(string)
	if strings.Contains(snip, "<script>") || !strings.Contains(snip, "&lt;script&gt;") || !strings.Contains(snip, "<mark>zebrafish</mark>") {
		t.Fatalf("snippet: %s", snip)
	}
	page := string(op.get("/search?q=zebrafish").body)
	if strings.Contains(page, "<script>alert") || !strings.Contains(page, "<mark>zebrafish</mark>") {
		t.Fatal("search page does not escape or highlight")
	}

	// Another tenant searching the same words finds nothing of Acme's, even
	// trying to name the tenant field.
	op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Beta", "owner_email": "b@beta.test", "owner_name": "B", "owner_password": pw})
	boss := e.client()
	boss.login("b@beta.test", pw)
	for _, q := range []string{"zebrafish", "tenant:*", "+tenant:" + "x zebrafish", "*"} {
		if res := boss.expect(200, "GET", "/api/v1/search?q="+url.QueryEscape(q), nil); res["total"].(float64) != 0 {
			t.Fatalf("Beta finds Acme's data with %q: %v", q, res)
		}
	}
	// Decisions pages render with the detected decisions.
	if p := string(op.get("/decisions").body); !strings.Contains(p, "<svg") || !strings.Contains(p, "Confirm") {
		t.Fatal("decisions page lacks the timeline or actions")
	}
	id := ds[0].(map[string]any)["id"].(string)
	if p := op.get("/decisions/" + id); p.StatusCode != 200 {
		t.Fatalf("decision page: %d", p.StatusCode)
	}
}

func TestDecisionPages(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	page := op.get("/decisions")
	tok := csrfField(t, page)
	if r := op.post("/decisions", form("csrf_token", tok, "title", "", "status", "accepted")); r.StatusCode != 400 || !strings.Contains(string(r.body), "required") {
		t.Fatalf("empty manual decision: %d", r.StatusCode)
	}
	r := op.post("/decisions", form("csrf_token", tok, "title", "Adopt <b>gRPC</b>", "summary", "for internal services", "status", "proposed",
		"tags", "api, infra", "source_url", "https://github.com/acme/api/pull/1"))
	if r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/decisions/") {
		t.Fatalf("add: %d %s", r.StatusCode, r.body)
	}
	loc := r.Header.Get("Location")
	id := strings.TrimPrefix(loc, "/decisions/")
	detail := string(op.get(loc).body)
	if strings.Contains(detail, "<b>gRPC</b>") || !strings.Contains(detail, "&lt;b&gt;gRPC&lt;/b&gt;") {
		t.Fatal("title not escaped")
	}
	if r := op.post("/decisions/"+id+"/status", form("csrf_token", tok, "status", "accepted")); r.StatusCode != 303 {
		t.Fatalf("confirm: %d", r.StatusCode)
	}
	if d := op.expect(200, "GET", "/api/v1/decision-logs/"+id, nil); d["status"] != "accepted" {
		t.Fatalf("status: %v", d)
	}
	other := op.expect(201, "POST", "/api/v1/decision-logs", map[string]any{"title": "Adopt Connect"})
	if r := op.post("/decisions/"+id+"/supersede", form("csrf_token", tok, "superseded_by", other["id"].(string))); r.StatusCode != 303 {
		t.Fatalf("supersede: %d", r.StatusCode)
	}
	if d := op.expect(200, "GET", "/api/v1/decision-logs/"+id, nil); d["status"] != "superseded" || d["superseded_by"] != other["id"] {
		t.Fatalf("superseded: %v", d)
	}
	if r := op.post("/decisions/"+id, form("csrf_token", tok, "title", "", "summary", "", "tags", "", "status", "accepted")); r.StatusCode != 400 {
		t.Fatalf("edit with empty title: %d", r.StatusCode)
	}
	if r := op.post("/decisions/"+id+"/delete", form("csrf_token", tok)); r.StatusCode != 303 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	if r := op.do("GET", "/api/v1/decision-logs/"+id, nil); r.StatusCode != 404 {
		t.Fatalf("after delete: %d", r.StatusCode)
	}
	if r := op.post("/decisions/"+other["id"].(string)+"/delete", form()); r.StatusCode != 403 {
		t.Fatalf("delete without CSRF: %d", r.StatusCode)
	}
	if dash := string(op.get("/").body); !strings.Contains(dash, "Adopt Connect") {
		t.Fatal("dashboard lacks recent decisions")
	}
}
