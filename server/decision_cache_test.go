package server

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pmassist/pmassist"
)

// GET /decision-logs answers repeated lists from encoded pages, and every
// committed change to the tenant's decisions — through the API, the pages
// or detection writing to the store — is seen by the next list. Another
// tenant's changes do not drop this tenant's pages.
func TestDecisionListCache(t *testing.T) {
	e := newEnv(t)
	op, tenantID := e.setup()
	a := op.expect(201, "POST", "/api/v1/decision-logs", map[string]any{"title": "Use Postgres"})
	const path = "/api/v1/decision-logs?limit=10&status=accepted"
	first := op.expect(200, "GET", path, nil)
	if l := first["decision_logs"].([]any); len(l) != 1 {
		t.Fatalf("list: %v", l)
	}
	raw := op.do("GET", path, nil)
	if raw.StatusCode != 200 || raw.Header.Get("Content-Type") != "application/json; charset=utf-8" || raw.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("cached answer: %d %v", raw.StatusCode, raw.Header)
	}
	// The answer is the cached page: replace its bytes and they come back.
	e.srv.decisionPages.mu.Lock()
	var key pageKey
	found := 0
	for k, v := range e.srv.decisionPages.entries {
		if k.tenant == tenantID && k.status == "accepted" && k.limit == 10 {
			if !bytes.Equal(v.body, raw.body) {
				t.Errorf("cached %q, answered %q", v.body, raw.body)
			}
			key, found = k, found+1
		}
	}
	if found != 1 {
		e.srv.decisionPages.mu.Unlock()
		t.Fatalf("%d cached pages for the list", found)
	}
	marked := e.srv.decisionPages.entries[key]
	marked.body = []byte(`{"decision_logs":[],"next_cursor":"from-the-cache"}` + "\n")
	e.srv.decisionPages.entries[key] = marked
	e.srv.decisionPages.mu.Unlock()
	if got := op.expect(200, "GET", path, nil); got["next_cursor"] != "from-the-cache" {
		t.Fatalf("not answered from the cache: %v", got)
	}
	// Another tenant's write leaves the page alone.
	op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Beta", "owner_email": "b@beta.test", "owner_name": "B", "owner_password": pw})
	boss := e.client()
	boss.login("b@beta.test", pw)
	boss.expect(201, "POST", "/api/v1/decision-logs", map[string]any{"title": "Beta's"})
	if got := op.expect(200, "GET", path, nil); got["next_cursor"] != "from-the-cache" {
		t.Fatalf("another tenant's write dropped the page: %v", got)
	}
	titles := func() string {
		t.Helper()
		var out []string
		for _, d := range op.expect(200, "GET", path, nil)["decision_logs"].([]any) {
			out = append(out, d.(map[string]any)["title"].(string))
		}
		return strings.Join(out, ",")
	}
	// Each path that changes decisions is seen at once.
	op.expect(201, "POST", "/api/v1/decision-logs", map[string]any{"title": "Use Redis"})
	if got := titles(); got != "Use Redis,Use Postgres" {
		t.Fatalf("after a create: %q", got)
	}
	op.expect(200, "PATCH", "/api/v1/decision-logs/"+a["id"].(string), map[string]any{"title": "Use SQLite"})
	if got := titles(); got != "Use Redis,Use SQLite" {
		t.Fatalf("after an update: %q", got)
	}
	op.expect(204, "DELETE", "/api/v1/decision-logs/"+a["id"].(string), nil)
	if got := titles(); got != "Use Redis" {
		t.Fatalf("after a delete: %q", got)
	}
	ctx := pmassist.NewContextWithTenant(e.t.Context(), tenantID)
	if _, err := e.db.UpsertDetectedMany(ctx, []*pmassist.Decision{{Title: "Use Kafka", ThreadKey: "slack:C1:1",
		Origin: pmassist.OriginDetected, Status: pmassist.DecisionAccepted, Confidence: 0.9,
		DecidedAt: e.clock.Now().Add(1)}}); err != nil {
		t.Fatal(err)
	}
	if got := titles(); got != "Use Kafka,Use Redis" {
		t.Fatalf("after detection: %q", got)
	}
	// Different filters are different pages.
	if l := op.expect(200, "GET", "/api/v1/decision-logs?limit=1", nil)["decision_logs"].([]any); len(l) != 1 {
		t.Fatalf("limit=1: %v", l)
	}
	if l := op.expect(200, "GET", "/api/v1/decision-logs?origin=manual", nil)["decision_logs"].([]any); len(l) != 1 || l[0].(map[string]any)["title"] != "Use Redis" {
		t.Fatalf("origin=manual: %v", l)
	}
}

// The cache holds at most pageCacheBytes and never a page over
// pageCacheMaxBody.
func TestPageCacheBounded(t *testing.T) {
	var c pageCache
	big := make([]byte, pageCacheMaxBody)
	for i := range 100 {
		c.put(pageKey{tenant: "t", limit: i}, 1, big)
		if c.size > pageCacheBytes {
			t.Fatalf("after %d pages: %d bytes", i+1, c.size)
		}
	}
	total := 0
	for _, e := range c.entries {
		total += len(e.body)
	}
	if total != c.size || len(c.entries) != pageCacheBytes/pageCacheMaxBody {
		t.Fatalf("%d entries, %d bytes, counted %d", len(c.entries), total, c.size)
	}
	c.put(pageKey{tenant: "t", limit: 1000}, 1, make([]byte, pageCacheMaxBody+1))
	if _, ok := c.get(pageKey{tenant: "t", limit: 1000}, 1); ok {
		t.Fatal("kept a page over the bound")
	}
	c.put(pageKey{tenant: "t", limit: 99}, 2, []byte("x"))
	if _, ok := c.get(pageKey{tenant: "t", limit: 99}, 1); ok {
		t.Fatal("an old version answered")
	}
	if b, ok := c.get(pageKey{tenant: "t", limit: 99}, 2); !ok || string(b) != "x" {
		t.Fatal("replaced page lost")
	}
}
