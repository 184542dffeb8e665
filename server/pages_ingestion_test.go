package server

import (
	"net/url"
	"strings"
	"testing"
)

func TestSettingsPage(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	page := op.get("/settings")
	if page.StatusCode != 200 || !strings.Contains(string(page.body), `name="ingestion_interval_minutes"`) {
		t.Fatalf("settings page: %d", page.StatusCode)
	}
	tok := csrfField(t, page)
	good := form("csrf_token", tok, "timezone", "Europe/Berlin", "slack_channels", "#eng\nC0123ABC", "linear_team_ids", "",
		"github_orgs", "acme", "github_repos", "acme/api, acme/web", "ingestion_interval_minutes", "30",
		"decision_phrases", "we are going with\nship it", "decision_reaction", ":rocket:", "standup_enabled", "on",
		"standup_time", "09:15", "standup_slack_channel", "#standup", "standup_email_to", "team@acme.test")
	good.Add("standup_weekdays", "1")
	good.Add("standup_weekdays", "3")
	if r := op.post("/settings", good); r.StatusCode != 303 || r.Header.Get("Location") != "/settings" {
		t.Fatalf("save: %d %s", r.StatusCode, r.body)
	}
	cfg := op.expect(200, "GET", "/api/v1/tenant/config", nil)
	if cfg["timezone"] != "Europe/Berlin" || cfg["ingestion_interval_minutes"].(float64) != 30 ||
		len(cfg["github_repos"].([]any)) != 2 || cfg["decisions"].(map[string]any)["reaction"] != "rocket" ||
		cfg["standup"].(map[string]any)["enabled"] != true || len(cfg["standup"].(map[string]any)["weekdays"].([]any)) != 2 {
		t.Fatalf("stored config: %v", cfg)
	}
	if p := string(op.get("/settings").body); !strings.Contains(p, "Settings saved.") || !strings.Contains(p, "acme/web") {
		t.Fatal("saved values or flash missing")
	}
	bad := url.Values{}
	for k, v := range good {
		bad[k] = v
	}
	bad.Set("timezone", "Mars/Olympus")
	bad.Set("standup_time", "25:61")
	bad.Set("github_repos", "not a repo")
	r := op.post("/settings", bad)
	body := string(r.body)
	if r.StatusCode != 400 || !strings.Contains(body, "unknown time zone") || !strings.Contains(body, "HH:MM") ||
		!strings.Contains(body, "Mars/Olympus") || !strings.Contains(body, "not a repo") {
		t.Fatalf("invalid save: %d", r.StatusCode)
	}
	if cfg := op.expect(200, "GET", "/api/v1/tenant/config", nil); cfg["timezone"] != "Europe/Berlin" {
		t.Fatal("an invalid form changed the settings")
	}
	if r := op.post("/settings", form("timezone", "UTC")); r.StatusCode != 403 {
		t.Fatalf("no CSRF: %d", r.StatusCode)
	}
	member := e.invite(op, "m@acme.test", "member")
	if p := string(member.get("/settings").body); strings.Contains(p, `type="submit">Save`) {
		t.Fatal("a member sees an editable settings form")
	}
	if r := member.post("/settings", form("csrf_token", member.csrf, "timezone", "UTC")); r.StatusCode != 403 {
		t.Fatalf("member saves settings: %d", r.StatusCode)
	}
}

func TestRunNowJobsPageAndDashboardChart(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	e.connect(op, "github")
	id := e.connections(op)[0]["id"].(string)
	page := op.get("/integrations")
	if !strings.Contains(string(page.body), "/integrations/"+id+"/run") {
		t.Fatal("no Run now form")
	}
	r := op.post("/integrations/"+id+"/run", form("csrf_token", csrfField(t, page)))
	if r.StatusCode != 303 || r.Header.Get("Location") != "/jobs" {
		t.Fatalf("run now: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	jobs := op.expect(200, "GET", "/api/v1/jobs", nil)["jobs"].([]any)
	e.waitJob(op, jobs[0].(map[string]any)["id"].(string))
	jp := string(op.get("/jobs").body)
	if !strings.Contains(jp, "acme-bot") || !strings.Contains(jp, "succeeded") || !strings.Contains(strings.ToLower(jp), "manual") {
		t.Fatal("jobs page does not show the run")
	}
	if p := string(op.get("/jobs?service=slack").body); strings.Contains(p, "acme-bot") {
		t.Fatal("service filter ignored")
	}
	dash := string(op.get("/").body)
	if !strings.Contains(dash, "<svg") || !strings.Contains(dash, "series-github") {
		t.Fatal("no activity chart with GitHub bars on the dashboard")
	}
	if p := string(op.get("/integrations").body); !strings.Contains(p, "Last run") {
		t.Fatal("integrations page does not show the last run")
	}
}
