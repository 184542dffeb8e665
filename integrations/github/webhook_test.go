package github

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/pmassist/pmassist"
	"github.com/pmassist/pmassist/integrations/fake"
)

// testdataPR is a pull_request delivery as GitHub documents it (copied
// from shared/testdata/github).
const testdataPR = "testdata/pull_request_closed.json"

func signed(sig string) http.Header {
	h := http.Header{}
	h.Set("X-Hub-Signature-256", sig)
	return h
}

func TestVerifyProvidersTestVector(t *testing.T) {
	c := New(Config{})
	const (
		secret = "It's a Secret to Everybody"
		body   = "Hello, World!"
		sig    = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
	)
	if err := c.Verify(signed(sig), []byte(body), secret, time.Now()); err != nil {
		t.Fatalf("test vector refused: %v", err)
	}
	// The stand-in signs the same way.
	if got := fake.NewGitHub(fake.Options{}).SignWebhook(secret, []byte(body), "ping", "d-1").Get("X-Hub-Signature-256"); got != sig {
		t.Fatalf("stand-in signs %q, want %q", got, sig)
	}
	for name, c2 := range map[string]struct {
		header http.Header
		body   string
		secret string
	}{
		"wrong secret":     {signed(sig), body, "It's a secret to everybody"},
		"tampered body":    {signed(sig), body + " ", secret},
		"no header":        {http.Header{}, body, secret},
		"sha1 prefix":      {signed("sha1=" + sig[len("sha256="):]), body, secret},
		"bare hex":         {signed(sig[len("sha256="):]), body, secret},
		"not hex":          {signed("sha256=zz" + sig[len("sha256=")+2:]), body, secret},
		"truncated":        {signed(sig[:len(sig)-2]), body, secret},
		"empty secret":     {signed(sig), body, ""},
		"upper-case label": {signed("SHA256=" + sig[len("sha256="):]), body, secret},
	} {
		err := c.Verify(c2.header, []byte(c2.body), c2.secret, time.Now())
		if pmassist.ErrorCode(err) != pmassist.EUNAUTHORIZED {
			t.Errorf("%s: Verify = %v, want EUNAUTHORIZED", name, err)
		}
	}
}

func TestParseTestdataPullRequest(t *testing.T) {
	body, err := os.ReadFile(testdataPR)
	if err != nil {
		t.Fatal(err)
	}
	g := fake.NewGitHub(fake.Options{})
	h := g.SignWebhook("s3cret", body, "pull_request", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
	c := New(Config{})
	if err := c.Verify(h, body, "s3cret", time.Now()); err != nil {
		t.Fatal(err)
	}
	d, err := c.Parse(h, body)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "72d3162e-cc78-11e3-81ab-4c9367dc0958" || d.WorkspaceLogin != "Codertocat" || d.WorkspaceID != "21031067" || len(d.Items) != 1 {
		t.Fatalf("delivery %+v", d)
	}
	it := d.Items[0]
	closed := time.Date(2019, 5, 15, 15, 21, 18, 0, time.UTC)
	switch {
	case it.ExternalID != "Codertocat/Hello-World#2" || it.Channel != "Codertocat/Hello-World":
		t.Errorf("id %q channel %q", it.ExternalID, it.Channel)
	case it.URL != "https://github.com/Codertocat/Hello-World/pull/2":
		t.Errorf("url %q", it.URL)
	case it.State != "closed" || it.MergedAt != nil: // merged: false, merged_at: null
		t.Errorf("state %q merged_at %v", it.State, it.MergedAt)
	case it.ClosedAt == nil || !it.ClosedAt.Equal(closed) || !it.UpdatedAt.Equal(closed) ||
		!it.CreatedAt.Equal(time.Date(2019, 5, 15, 15, 20, 33, 0, time.UTC)):
		t.Errorf("created %v updated %v closed %v", it.CreatedAt, it.UpdatedAt, it.ClosedAt)
	case it.Title != "Update the README with new information." || it.Text != "This is a pretty simple change that we need to pull into master.":
		t.Errorf("title %q text %q", it.Title, it.Text)
	case it.Author != pmassist.Person{Name: "Codertocat", ExternalID: "Codertocat"}:
		t.Errorf("author %+v", it.Author)
	case len(it.Labels) != 1 || it.Labels[0] != "bug" || len(it.Reviewers) != 1 || it.Reviewers[0] != "octocat":
		t.Errorf("labels %v reviewers %v", it.Labels, it.Reviewers)
	case it.Type != pmassist.ItemPullRequest || it.Service != pmassist.ServiceGitHub:
		t.Errorf("type %q service %q", it.Type, it.Service)
	}

	// The same delivery for a merge: `merged: true` decides, even where
	// merged_at were missing.
	merged := bytes.Replace(body, []byte(`"merged": false`), []byte(`"merged": true`), 1)
	if bytes.Equal(merged, body) {
		t.Fatal("testdata has no \"merged\": false")
	}
	d, err = c.Parse(h, merged)
	if err != nil {
		t.Fatal(err)
	}
	if d.Items[0].State != "merged" {
		t.Fatalf("merged delivery: state %q", d.Items[0].State)
	}

	// Sent as application/x-www-form-urlencoded.
	form := []byte("payload=" + url.QueryEscape(string(body)))
	if d, err = c.Parse(h, form); err != nil || len(d.Items) != 1 || d.Items[0].ExternalID != "Codertocat/Hello-World#2" {
		t.Fatalf("form delivery: %+v, %v", d, err)
	}
}

func TestParseStandInEvents(t *testing.T) {
	g := fake.NewGitHub(fake.Options{})
	c := New(Config{})
	var merged fake.GitHubPull
	for _, p := range g.Pulls("acme/api") {
		if p.MergedAt != nil {
			merged = p
			break
		}
	}
	body, err := g.PullRequestEvent("closed", "acme/api", merged.Number)
	if err != nil {
		t.Fatal(err)
	}
	h := g.SignWebhook("whsec", body, "pull_request", "d-42")
	if err := c.Verify(h, body, "whsec", time.Now()); err != nil {
		t.Fatal(err)
	}
	d, err := c.Parse(h, body)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != "d-42" || d.WorkspaceLogin != "acme" || d.WorkspaceID != "7770001" || len(d.Items) != 1 {
		t.Fatalf("delivery %+v", d)
	}
	it := d.Items[0]
	if it.ExternalID != id("acme/api", merged.Number) || it.State != "merged" || it.MergedAt == nil || !it.MergedAt.Equal(*merged.MergedAt) || it.Title != merged.Title {
		t.Fatalf("item %+v", it)
	}

	for _, event := range []string{"ping", "push", "issues"} {
		h := g.SignWebhook("whsec", []byte(`{"zen":"Keep it logically awesome.","hook_id":1,"organization":{"login":"acme","id":7770001}}`), event, "d-"+event)
		d, err := c.Parse(h, []byte(`{"zen":"Keep it logically awesome.","hook_id":1,"organization":{"login":"acme","id":7770001}}`))
		if err != nil || d.ID != "d-"+event || len(d.Items) != 0 || d.Refresh {
			t.Errorf("%s: %+v, %v; want an empty delivery", event, d, err)
		}
	}
	h = g.SignWebhook("whsec", body, "pull_request", "")
	if _, err := c.Parse(h, body); pmassist.ErrorCode(err) != pmassist.EINVALID {
		t.Errorf("no delivery id: %v, want EINVALID", err)
	}
	h = g.SignWebhook("whsec", []byte("{"), "pull_request", "d-1")
	if _, err := c.Parse(h, []byte("{")); pmassist.ErrorCode(err) != pmassist.EINVALID {
		t.Errorf("bad JSON: %v, want EINVALID", err)
	}
}
