package server

import (
	"strings"
	"testing"
	"time"
)

func TestStandupsAndPeople(t *testing.T) {
	e := newEnv(t)
	op, _ := e.setup()
	for _, svc := range []string{"slack", "linear", "github"} {
		e.connect(op, svc)
		e.ingest(op, svc)
	}
	// People were recorded from the items: one per human, merged by email.
	people := op.expect(200, "GET", "/api/v1/people", nil)["people"].([]any)
	if len(people) < 4 {
		t.Fatalf("people: %d", len(people))
	}
	merged := false
	for _, p := range people {
		m := p.(map[string]any)
		services := map[string]bool{}
		for _, id := range m["identities"].([]any) {
			services[id.(map[string]any)["service"].(string)] = true
			if strings.Contains(strings.ToLower(id.(map[string]any)["handle"].(string)), "bot") {
				t.Errorf("a bot is a person: %v", m)
			}
		}
		merged = merged || len(services) >= 2
	}
	if !merged {
		t.Fatal("no person merged across services by email")
	}
	// Generate the standup of a day of the seeded week (the stand-ins' data
	// ends at their clock: the env's).
	date := e.clock.Now().AddDate(0, 0, -1)
	for date.Weekday() == time.Saturday || date.Weekday() == time.Sunday {
		date = date.AddDate(0, 0, -1)
	}
	out := op.expect(200, "POST", "/api/v1/workflows/standup", map[string]any{"date": date.Format("2006-01-02")})
	st := out["standup"].(map[string]any)
	if st["date"] != date.Format("2006-01-02") || !strings.Contains(st["markdown"].(string), "Standup") || len(st["people"].([]any)) == 0 {
		t.Fatalf("standup: %v", st)
	}
	// A re-run replaces it: still one standup for that date.
	op.expect(200, "POST", "/api/v1/workflows/standup", map[string]any{"date": date.Format("2006-01-02")})
	list := op.expect(200, "GET", "/api/v1/standups", nil)["standups"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["id"] != st["id"] {
		t.Fatalf("standups: %v", list)
	}
	if r := op.do("POST", "/api/v1/workflows/standup", map[string]any{"date": "2999-01-01"}); r.StatusCode != 400 {
		t.Fatalf("future date: %d", r.StatusCode)
	}
	// Delivery to Slack: configure the channel, deliver, read it back.
	cfg := op.expect(200, "GET", "/api/v1/tenant/config", nil)
	channel := e.slack.Data().Channels[0]
	cfg["standup"] = map[string]any{"enabled": false, "time": "09:30", "weekdays": []int{1, 2, 3, 4, 5}, "slack_channel": channel.Name, "email_to": []string{}}
	op.expect(200, "PUT", "/api/v1/tenant/config", cfg)
	out = op.expect(200, "POST", "/api/v1/workflows/standup", map[string]any{"date": date.Format("2006-01-02"), "deliver": true})
	st = out["standup"].(map[string]any)
	if st["delivered"].(map[string]any)["slack"] != true {
		t.Fatalf("not delivered: %v", st["deliveries"])
	}
	posted := e.slack.Posted(channel.ID)
	if len(posted) == 0 {
		posted = e.slack.Posted(channel.Name)
	}
	if len(posted) != 1 || !strings.Contains(posted[0].Text, "Standup") {
		t.Fatalf("slack got %v", posted)
	}
	// A free tenant generates on demand but cannot deliver.
	op.expect(201, "POST", "/api/v1/admin/tenants", map[string]string{"name": "Free", "owner_email": "f@free.test", "owner_name": "F", "owner_password": pw, "tier": "free"})
	free := e.client()
	free.login("f@free.test", pw)
	free.expect(200, "POST", "/api/v1/workflows/standup", nil)
	if r := free.do("POST", "/api/v1/workflows/standup", map[string]any{"deliver": true}); r.StatusCode != 402 || r.errCode(t) != "payment_required" {
		t.Fatalf("free delivery: %d %s", r.StatusCode, r.body)
	}
	// Pages render.
	if p := string(op.get("/standups").body); !strings.Contains(p, "Standup") {
		t.Fatal("standups page")
	}
	if p := op.get("/standups/" + st["id"].(string)); p.StatusCode != 200 {
		t.Fatalf("standup page: %d", p.StatusCode)
	}
	if p := op.get("/people"); p.StatusCode != 200 {
		t.Fatalf("people page: %d", p.StatusCode)
	}
	// Link and unlink: split an identity off and merge it back.
	var personID, service, ext string
	for _, p := range people {
		m := p.(map[string]any)
		if ids := m["identities"].([]any); len(ids) >= 2 {
			personID = m["id"].(string)
			service, ext = ids[1].(map[string]any)["service"].(string), ids[1].(map[string]any)["external_id"].(string)
			break
		}
	}
	split := op.expect(200, "POST", "/api/v1/people/"+personID+"/unlink", map[string]string{"service": service, "external_id": ext})
	if split["id"] == personID {
		t.Fatal("unlink kept the identity on the person")
	}
	back := op.expect(200, "POST", "/api/v1/people/"+personID+"/link", map[string]string{"service": service, "external_id": ext})
	if len(back["identities"].([]any)) < 2 {
		t.Fatalf("link: %v", back)
	}
	member := e.invite(op, "m@acme.test", "member")
	if r := member.do("POST", "/api/v1/people/"+personID+"/unlink", map[string]string{"service": service, "external_id": ext}); r.StatusCode != 403 {
		t.Fatalf("member unlinks: %d", r.StatusCode)
	}
}
