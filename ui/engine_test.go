package ui

import (
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestPagesListsEveryPage(t *testing.T) {
	tpl := mustNew(t)
	want := []string{"audit", "billing", "dashboard", "decision", "decisions", "error", "integrations", "invite", "jobs", "login", "members", "operator_backups", "operator_jobs", "operator_system", "operator_tenants", "people", "search", "settings", "setup", "signup", "standup", "standups", "tokens"}
	if got := tpl.Pages(); !slices.Equal(got, want) {
		t.Fatalf("Pages() = %v, want %v", got, want)
	}
}

func TestEveryPageRenders(t *testing.T) {
	tpl := mustNew(t)
	for name, data := range map[string]map[string]any{"zero": zero(), "filled": filled("Ada Lovelace")} {
		for _, page := range tpl.Pages() {
			t.Run(name+"/"+page, func(t *testing.T) {
				d, ok := data[page]
				if !ok {
					t.Fatalf("no %s data for page %q", name, page)
				}
				out := render(t, tpl, page, d)
				if !strings.HasPrefix(out, "<!doctype html>") {
					t.Errorf("output does not start with the doctype: %.60q", out)
				}
				if !strings.Contains(out, `<main id="main"`) {
					t.Error("no main landmark")
				}
				// Pointers to the data structs work as well as values.
				render(t, tpl, page, ptr(d))
			})
		}
	}
}

func ptr(v any) any {
	switch v := v.(type) {
	case SetupPage:
		return &v
	case LoginPage:
		return &v
	case SignupPage:
		return &v
	case InvitePage:
		return &v
	case DashboardPage:
		return &v
	case MembersPage:
		return &v
	case TokensPage:
		return &v
	case IntegrationsPage:
		return &v
	case JobsPage:
		return &v
	case SettingsPage:
		return &v
	case OperatorTenantsPage:
		return &v
	case OperatorSystemPage:
		return &v
	case OperatorJobsPage:
		return &v
	case OperatorBackupsPage:
		return &v
	case DecisionsPage:
		return &v
	case DecisionPage:
		return &v
	case SearchPage:
		return &v
	case StandupsPage:
		return &v
	case StandupPage:
		return &v
	case PeoplePage:
		return &v
	case BillingPage:
		return &v
	case AuditPage:
		return &v
	case ErrorPage:
		return &v
	}
	panic("unknown page data type")
}

func TestRenderHeaders(t *testing.T) {
	tpl := mustNew(t)
	rec := httptest.NewRecorder()
	if err := tpl.Render(rec, 404, "error", ErrorPage{Status: 404}); err != nil {
		t.Fatal(err)
	}
	if rec.Code != 404 {
		t.Errorf("status = %d, want 404", rec.Code)
	}
	if got := rec.Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
}

func TestRenderFailureWritesBare500(t *testing.T) {
	tpl := mustNew(t)
	for name, tc := range map[string]struct {
		page string
		data any
	}{
		"unknown page": {"nope", nil},
		// A struct without the page's fields makes execution fail midway.
		"wrong data": {"members", struct{ Secret string }{"s3cret-detail"}},
	} {
		t.Run(name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			err := tpl.Render(rec, 200, tc.page, tc.data)
			if err == nil {
				t.Fatal("Render returned no error")
			}
			if rec.Code != 500 {
				t.Errorf("status = %d, want 500", rec.Code)
			}
			body := rec.Body.String()
			if strings.TrimSpace(body) != "internal error" {
				t.Errorf("body = %q, want just \"internal error\"", body)
			}
			if strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
				t.Errorf("error served as HTML")
			}
		})
	}
}

// allOutputs renders every page with zero and filled data.
func allOutputs(t *testing.T, tpl *Templates, s string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	for page, d := range zero() {
		out["zero/"+page] = render(t, tpl, page, d)
	}
	for page, d := range filled(s) {
		out["filled/"+page] = render(t, tpl, page, d)
	}
	return out
}

var (
	formRe      = regexp.MustCompile(`(?is)<form\b[^>]*>(.*?)</form>`)
	methodRe    = regexp.MustCompile(`(?i)\bmethod="post"`)
	getMethodRe = regexp.MustCompile(`(?i)\bmethod="get"`)
	csrfRe      = regexp.MustCompile(`<input type="hidden" name="csrf_token" value="tok-Ada">`)
	styleRe     = regexp.MustCompile(`(?i)<[a-z][^>]*\sstyle\s*=`)
	scriptRe    = regexp.MustCompile(`(?i)<script\b[^>]*>`)
	handlerRe   = regexp.MustCompile(`(?i)<[a-z][^>]*\son[a-z]+\s*=`)
)

func TestEveryFormCarriesCSRFToken(t *testing.T) {
	tpl := mustNew(t)
	forms := 0
	for name, html := range allOutputs(t, tpl, "Ada") {
		if strings.Count(strings.ToLower(html), "<form") != len(formRe.FindAllString(html, -1)) {
			t.Errorf("%s: unbalanced <form> tags", name)
		}
		for _, m := range formRe.FindAllStringSubmatch(html, -1) {
			forms++
			open := m[0][:strings.Index(m[0], ">")+1]
			if getMethodRe.MatchString(open) {
				// A GET form (the jobs filter) changes nothing and must not
				// put the token into URLs.
				if strings.Contains(m[1], "csrf_token") {
					t.Errorf("%s: GET form carries the CSRF token: %s", name, open)
				}
				continue
			}
			if !methodRe.MatchString(open) {
				t.Errorf("%s: form without method=post: %s", name, open)
			}
			if strings.HasPrefix(name, "filled/") && !csrfRe.MatchString(m[1]) {
				t.Errorf("%s: form without csrf_token: %s", name, open)
			}
			if strings.HasPrefix(name, "zero/") && !strings.Contains(m[1], `name="csrf_token"`) {
				t.Errorf("%s: form without csrf_token: %s", name, open)
			}
		}
	}
	// setup, login, signup, invite, logout, switch-tenant, members (4 kinds),
	// tokens (2), operator (2), integrations (3 per connection, 2 per own
	// app): well over 30 forms when filled.
	if forms < 30 {
		t.Errorf("only %d forms seen; the scan is broken", forms)
	}
}

func TestNoInlineStyleOrScript(t *testing.T) {
	tpl := mustNew(t)
	for name, html := range allOutputs(t, tpl, "Ada") {
		if m := styleRe.FindString(html); m != "" {
			t.Errorf("%s: inline style attribute: %s", name, m)
		}
		if strings.Contains(strings.ToLower(html), "<style") {
			t.Errorf("%s: <style> element", name)
		}
		if m := handlerRe.FindString(html); m != "" {
			t.Errorf("%s: inline event handler: %s", name, m)
		}
		scripts := scriptRe.FindAllString(html, -1)
		if len(scripts) != 1 {
			t.Errorf("%s: %d script tags, want 1 (app.js)", name, len(scripts))
		}
		for _, s := range scripts {
			if !strings.Contains(s, ` src="/static/`) {
				t.Errorf("%s: inline script: %s", name, s)
			}
		}
	}
}

func TestUntrustedTextIsEscaped(t *testing.T) {
	tpl := mustNew(t)
	payloads := []struct{ raw, escaped string }{
		{`<script>alert(1)</script>`, `&lt;script&gt;alert(1)&lt;/script&gt;`},
		{`"><img src=x onerror=alert(1)>`, `&lt;img src=x onerror=alert(1)&gt;`},
	}
	for _, p := range payloads {
		for name, html := range allOutputs(t, tpl, p.raw) {
			if !strings.HasPrefix(name, "filled/") {
				continue
			}
			if strings.Contains(html, p.raw) {
				t.Errorf("%s: raw payload %q in output", name, p.raw)
			}
			if strings.Contains(html, "<img") {
				t.Errorf("%s: an <img> element got in", name)
			}
			if !strings.Contains(html, p.escaped) {
				t.Errorf("%s: escaped payload %q not in output", name, p.escaped)
			}
		}
	}
}
