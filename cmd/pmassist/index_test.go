package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pmassist/pmassist/app"
	"github.com/pmassist/pmassist/integrations/fake"
)

// TestIndexRebuildsAfterItIsDeleted deletes the derived index of a running
// appliance's data folder and restarts: /readyz and search say 503 while
// the index is rebuilt, then search answers as before.
func TestIndexRebuildsAfterItIsDeleted(t *testing.T) {
	dir := t.TempDir()
	slack := fake.NewSlack(fake.Options{ClientID: "slack-client", ClientSecret: "slack-secret", AutoApprove: true})
	slackTS := httptest.NewServer(slack)
	defer slackTS.Close()

	m := mainWithSlack(dir, slackTS.URL)
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	c := newClient(t, "http://"+m.Server.Addr())
	c.call("POST", "/api/v1/setup", map[string]string{"email": "op@acme.test", "password": pw, "name": "Op", "tenant_name": "Acme"}, 201)
	c.call("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": pw}, 200)
	c.csrf = c.call("GET", "/api/v1/me", nil, 200)["csrf_token"].(string)
	authURL := c.call("POST", "/api/v1/oauth/slack/authorize", nil, 200)["url"].(string)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := noFollow.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	back, _ := url.Parse(res.Header.Get("Location"))
	c.call("POST", "/api/v1/oauth/slack/callback", map[string]string{"code": back.Query().Get("code"), "state": back.Query().Get("state")}, 201)
	jobs := c.call("POST", "/api/v1/ingestion/slack", nil, 202)["jobs"].([]any)
	jobID := jobs[0].(map[string]any)["id"].(string)
	waitFor(t, func() bool { return c.call("GET", "/api/v1/jobs/"+jobID, nil, 200)["status"] == "succeeded" })
	if err := m.Index.WaitIdle(context.Background()); err != nil {
		t.Fatal(err)
	}
	query := "/api/v1/search?q=decided&sort=date&limit=50"
	before := c.call("GET", query, nil, 200)
	if before["total"].(float64) == 0 {
		t.Fatal("nothing found before the restart")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	// A plain restart trusts the index: no rebuild, ready at once.
	m1 := mainWithSlack(dir, slackTS.URL)
	if err := m1.Open(); err != nil {
		t.Fatal(err)
	}
	if st := m1.Index.IndexState(); st.State != "ready" {
		t.Fatalf("a restart rebuilt the index (state %s)", st.State)
	}
	if err := m1.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.RemoveAll(filepath.Join(dir, app.IndexDirName)); err != nil {
		t.Fatal(err)
	}
	m2 := mainWithSlack(dir, slackTS.URL)
	if err := m2.Open(); err != nil {
		t.Fatal(err)
	}
	defer m2.Close()
	c2 := newClient(t, "http://"+m2.Server.Addr())
	c2.call("POST", "/api/v1/auth/login", map[string]string{"email": "op@acme.test", "password": pw}, 200)
	if st := m2.Index.IndexState(); st.State == "ready" {
		t.Log("the rebuild finished before the first look; 503 not observed")
	} else {
		c2.call("GET", "/readyz", nil, 503)
		c2.call("GET", query, nil, 503)
	}
	waitFor(t, func() bool { return m2.Index.IndexState().State == "ready" })
	c2.call("GET", "/readyz", nil, 200)
	after := c2.call("GET", query, nil, 200)
	if after["total"] != before["total"] || len(after["results"].([]any)) != len(before["results"].([]any)) {
		t.Fatalf("results differ after the rebuild: %v vs %v", after["total"], before["total"])
	}
	for i, r := range before["results"].([]any) {
		if after["results"].([]any)[i].(map[string]any)["id"] != r.(map[string]any)["id"] {
			t.Fatalf("result %d differs after the rebuild", i)
		}
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
