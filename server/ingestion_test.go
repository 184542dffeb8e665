package server

import (
	"bytes"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

// waitJob polls a job until it has finished.
func (e *env) waitJob(c *client, id string) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		j := c.expect(200, "GET", "/api/v1/jobs/"+id, nil)
		switch j["status"] {
		case "succeeded", "partial", "failed":
			return j
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("job %s did not finish", id)
	return nil
}

// ingest starts ingestion of svc and waits for its one job.
func (e *env) ingest(c *client, svc string) map[string]any {
	e.t.Helper()
	jobs := c.expect(202, "POST", "/api/v1/ingestion/"+svc, nil)["jobs"].([]any)
	if len(jobs) != 1 {
		e.t.Fatalf("jobs: %v", jobs)
	}
	return e.waitJob(c, jobs[0].(map[string]any)["id"].(string))
}

// itemIDs pages through GET /api/v1/items and returns the external ids.
func (e *env) itemIDs(c *client, query string) []string {
	e.t.Helper()
	var ids []string
	cursor := ""
	for {
		out := c.expect(200, "GET", "/api/v1/items?limit=200&"+query+"&cursor="+cursor, nil)
		for _, it := range out["items"].([]any) {
			ids = append(ids, it.(map[string]any)["external_id"].(string))
		}
		cursor, _ = out["next_cursor"].(string)
		if cursor == "" {
			break
		}
	}
	sort.Strings(ids)
	return ids
}

func TestIngestionOfEachServiceThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	if r := op.do("POST", "/api/v1/ingestion/slack", nil); r.StatusCode != 409 {
		t.Fatalf("ingestion without a connection: %d", r.StatusCode)
	}
	for _, svc := range []string{"slack", "linear", "github"} {
		e.connect(op, svc)
		job := e.ingest(op, svc)
		if job["status"] != "succeeded" || job["items_new"].(float64) == 0 || job["trigger"] != "manual" {
			t.Fatalf("%s job: %v", svc, job)
		}
		again := e.ingest(op, svc)
		if again["status"] != "succeeded" || again["items_new"].(float64) != 0 {
			t.Fatalf("%s second run: %v", svc, again)
		}
		if n := len(e.itemIDs(op, "service="+svc)); n != int(job["items_new"].(float64)) {
			t.Fatalf("%s: %d items listed, job stored %v", svc, n, job["items_new"])
		}
	}
	// The stand-in's Linear issues are all there, by id.
	var want []string
	for _, is := range e.linear.Issues() {
		want = append(want, is.ID)
	}
	sort.Strings(want)
	if got := e.itemIDs(op, "service=linear"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("linear ids differ: %d stored, %d at the stand-in", len(got), len(want))
	}
	// Items answer the api.md shape and filters.
	items := op.expect(200, "GET", "/api/v1/items?type=pull_request&limit=5", nil)["items"].([]any)
	if len(items) != 5 {
		t.Fatalf("pull requests: %d", len(items))
	}
	pr := items[0].(map[string]any)
	for _, k := range []string{"id", "type", "service", "external_id", "url", "title", "text", "author", "channel", "created_at", "updated_at", "state"} {
		if _, ok := pr[k]; !ok {
			t.Errorf("item lacks %s", k)
		}
	}
	if pr["service"] != "github" || !strings.Contains(pr["external_id"].(string), "#") {
		t.Fatalf("pr: %v", pr)
	}
	got := op.expect(200, "GET", "/api/v1/items/"+pr["id"].(string), nil)
	if got["external_id"] != pr["external_id"] {
		t.Fatalf("item by id: %v", got)
	}
	if r := op.do("GET", "/api/v1/items?type=tweet", nil); r.StatusCode != 400 {
		t.Fatalf("bad type filter: %d", r.StatusCode)
	}
	// Jobs list newest first with filters; connections show their last sync.
	jobs := op.expect(200, "GET", "/api/v1/jobs?service=github", nil)["jobs"].([]any)
	if len(jobs) != 2 || jobs[0].(map[string]any)["items_new"].(float64) != 0 {
		t.Fatalf("github jobs: %v", jobs)
	}
	for _, c := range e.connections(op) {
		if c["last_sync_at"] == nil {
			t.Fatalf("no last sync on %v", c["service"])
		}
	}
	usage := op.expect(200, "GET", "/api/v1/tenant", nil)["usage"].(map[string]any)
	if usage["items_ingested"].(float64) < 50 {
		t.Fatalf("usage: %v", usage)
	}
	// Another tenant sees none of it.
	beta := op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Beta", "owner_email": "b@beta.test", "owner_name": "B", "owner_password": pw})
	_ = beta
	boss := e.client()
	boss.login("b@beta.test", pw)
	if n := len(boss.expect(200, "GET", "/api/v1/items", nil)["items"].([]any)); n != 0 {
		t.Fatalf("Beta sees %d items", n)
	}
	if r := boss.do("GET", "/api/v1/items/"+pr["id"].(string), nil); r.StatusCode != 404 {
		t.Fatalf("Beta reads Acme's item: %d", r.StatusCode)
	}
	if r := boss.do("GET", "/api/v1/jobs/"+jobs[0].(map[string]any)["id"].(string), nil); r.StatusCode != 404 {
		t.Fatalf("Beta reads Acme's job: %d", r.StatusCode)
	}
	// Disconnecting with purge removes that connection's items only.
	for _, c := range e.connections(op) {
		if c["service"] == "linear" {
			op.expect(204, "DELETE", "/api/v1/integrations/"+c["id"].(string)+"?purge=true", nil)
		}
	}
	if n := len(e.itemIDs(op, "service=linear")); n != 0 {
		t.Fatalf("%d linear items after purge", n)
	}
	if n := len(e.itemIDs(op, "service=slack")); n == 0 {
		t.Fatal("purge removed other services' items")
	}
}

func TestFreeTenantStopsAtExactlyTheItemLimit(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DefaultTier = pmassist.TierFree })
	op, _ := e.setup()
	e.connect(op, "slack")
	job := e.ingest(op, "slack")
	if job["status"] != "partial" || job["items_new"].(float64) != 100 || !strings.HasPrefix(job["error"].(string), "quota_exceeded") {
		t.Fatalf("job: %v", job)
	}
	usage := op.expect(200, "GET", "/api/v1/tenant", nil)["usage"].(map[string]any)
	if usage["items_ingested"].(float64) != 100 || usage["items_limit"].(float64) != 100 {
		t.Fatalf("usage: %v", usage)
	}
	if n := len(e.itemIDs(op, "")); n != 100 {
		t.Fatalf("%d items stored", n)
	}
	if c := e.connections(op)[0]; !strings.Contains(c["last_error"].(string), "quota_exceeded") {
		t.Fatalf("the stop is not visible: %v", c)
	}
}

func TestTenantConfigAPI(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	cfg := op.expect(200, "GET", "/api/v1/tenant/config", nil)
	if cfg["timezone"] != "UTC" || cfg["ingestion_interval_minutes"].(float64) != 60 || cfg["decisions"].(map[string]any)["reaction"] != "white_check_mark" {
		t.Fatalf("defaults: %v", cfg)
	}
	cfg["timezone"] = "Europe/Berlin"
	cfg["slack_channels"] = []string{"#eng", "C0123ABC", "eng"}
	cfg["github_repos"] = []string{"acme/api"}
	cfg["ingestion_interval_minutes"] = 15
	out := op.expect(200, "PUT", "/api/v1/tenant/config", cfg)
	if out["timezone"] != "Europe/Berlin" || len(out["slack_channels"].([]any)) != 2 {
		t.Fatalf("put: %v", out)
	}
	if got := op.expect(200, "GET", "/api/v1/tenant/config", nil); got["ingestion_interval_minutes"].(float64) != 15 {
		t.Fatalf("not stored: %v", got)
	}
	cfg["timezone"] = "Mars/Olympus"
	cfg["standup"] = map[string]any{"enabled": true, "time": "25:00", "weekdays": []int{1, 9}, "slack_channel": "", "email_to": []string{}}
	r := op.do("PUT", "/api/v1/tenant/config", cfg)
	fields, _ := r.json(t)["error"].(map[string]any)["fields"].(map[string]any)
	if r.StatusCode != 400 || fields["timezone"] == nil || fields["standup.time"] == nil || fields["standup.weekdays"] == nil {
		t.Fatalf("invalid config: %d %s", r.StatusCode, r.body)
	}
	if r := op.do("PUT", "/api/v1/tenant/config", map[string]any{"timezone": "UTC", "colour": "blue"}); r.StatusCode != 400 {
		t.Fatalf("unknown field: %d", r.StatusCode)
	}
	member := e.invite(op, "m@acme.test", "member")
	member.expect(200, "GET", "/api/v1/tenant/config", nil)
	if r := member.do("PUT", "/api/v1/tenant/config", map[string]any{"timezone": "UTC"}); r.StatusCode != 403 {
		t.Fatalf("member changes settings: %d", r.StatusCode)
	}
}

// webhook posts a signed delivery.
func (e *env) webhook(svc string, body []byte, h http.Header) resp {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.ts.URL+"/api/v1/webhooks/"+svc, bytes.NewReader(body))
	for k, v := range h {
		req.Header[k] = v
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res, b}
}

func TestWebhooks(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	e.connect(op, "slack")
	e.connect(op, "github")
	e.connect(op, "linear")
	e.ingest(op, "slack")
	e.ingest(op, "github") // GitHub deliveries go to connections that ingest the repository
	now := e.clock.Now()

	// Slack: url_verification, a new message, the same delivery again, an edit.
	body := e.slack.URLVerificationEvent("ch4ll3nge")
	if r := e.webhook("slack", body, e.slack.SignEvent(slackSigningSecret, body, now)); r.StatusCode != 200 || r.json(t)["challenge"] != "ch4ll3nge" {
		t.Fatalf("url_verification: %d %s", r.StatusCode, r.body)
	}
	channel := e.slack.Data().Channels[0].ID
	msg, err := e.slack.AddMessage(channel, fake.SlackMessage{User: e.slack.Data().Users[0].ID, Text: "Decision: ship on Friday"})
	if err != nil {
		t.Fatal(err)
	}
	body = e.slack.MessageEvent(channel, msg)
	h := e.slack.SignEvent(slackSigningSecret, body, now)
	if r := e.webhook("slack", body, h); r.StatusCode != 200 || r.json(t)["routed"].(float64) != 1 {
		t.Fatalf("message event: %d %s", r.StatusCode, r.body)
	}
	extID := channel + ":" + msg.TS
	if !contains(e.itemIDs(op, "service=slack"), extID) {
		t.Fatal("webhook message not stored")
	}
	if r := e.webhook("slack", body, h); r.StatusCode != 200 || r.json(t)["duplicate"] != true {
		t.Fatalf("repeated delivery: %s", r.body)
	}
	edited, _ := e.slack.EditMessage(channel, msg.TS, "Decision: ship on Monday")
	body = e.slack.MessageChangedEvent(channel, edited, msg.Text)
	if r := e.webhook("slack", body, e.slack.SignEvent(slackSigningSecret, body, now)); r.StatusCode != 200 {
		t.Fatalf("edit: %d %s", r.StatusCode, r.body)
	}
	var stored map[string]any
	for _, it := range op.expect(200, "GET", "/api/v1/items?service=slack&limit=200", nil)["items"].([]any) {
		if m := it.(map[string]any); m["external_id"] == extID {
			stored = m
		}
	}
	if stored == nil || stored["text"] != "Decision: ship on Monday" || stored["channel"] == "" {
		t.Fatalf("edited item: %v", stored)
	}
	// Refusals: bad signature, stale timestamp, no signature.
	if r := e.webhook("slack", body, e.slack.SignEvent("wrong-secret", body, now)); r.StatusCode != 401 {
		t.Fatalf("bad signature: %d", r.StatusCode)
	}
	if r := e.webhook("slack", body, e.slack.SignEvent(slackSigningSecret, body, now.Add(-6*time.Minute))); r.StatusCode != 401 {
		t.Fatalf("stale: %d", r.StatusCode)
	}
	if r := e.webhook("slack", body, http.Header{}); r.StatusCode != 401 {
		t.Fatalf("unsigned: %d", r.StatusCode)
	}
	if r := e.webhook("jira", body, http.Header{}); r.StatusCode != 404 {
		t.Fatalf("unknown service: %d", r.StatusCode)
	}

	// GitHub: a pull_request event.
	pulls := e.github.Pulls("acme/api")
	body, err = e.github.PullRequestEvent("closed", "acme/api", pulls[0].Number)
	if err != nil {
		t.Fatal(err)
	}
	if r := e.webhook("github", body, e.github.SignWebhook(githubWebhookSecret, body, "pull_request", "d-1")); r.StatusCode != 200 || r.json(t)["routed"].(float64) != 1 {
		t.Fatalf("github event: %d %s", r.StatusCode, r.body)
	}
	if r := e.webhook("github", body, e.github.SignWebhook("nope", body, "pull_request", "d-2")); r.StatusCode != 401 {
		t.Fatalf("github bad signature: %d", r.StatusCode)
	}

	// Linear: an Issue event; a stale one is refused.
	issue := e.linear.Issues()[0]
	body = e.linear.IssueWebhook("update", issue)
	if r := e.webhook("linear", body, e.linear.SignWebhook(linearWebhookSecret, body)); r.StatusCode != 200 || r.json(t)["routed"].(float64) != 1 {
		t.Fatalf("linear event: %d %s", r.StatusCode, r.body)
	}
	if !contains(e.itemIDs(op, "service=linear"), issue.ID) {
		t.Fatal("linear webhook issue not stored")
	}
	e.clock.Add(2 * time.Minute)
	if r := e.webhook("linear", body, e.linear.SignWebhook(linearWebhookSecret, body)); r.StatusCode != 401 {
		t.Fatalf("stale linear: %d", r.StatusCode)
	}
	// Webhook jobs are recorded.
	n := 0
	for _, j := range op.expect(200, "GET", "/api/v1/jobs?limit=200", nil)["jobs"].([]any) {
		if j.(map[string]any)["trigger"] == "webhook" {
			n++
		}
	}
	if n != 4 {
		t.Fatalf("%d webhook jobs, want 4", n)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
