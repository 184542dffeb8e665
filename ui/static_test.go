package ui

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func TestStaticHashedURLServesFile(t *testing.T) {
	tpl := mustNew(t)
	h := tpl.StaticHandler()
	for name, ct := range map[string]string{
		"app.css":     "text/css; charset=utf-8",
		"app.js":      "text/javascript; charset=utf-8",
		"favicon.svg": "image/svg+xml",
	} {
		t.Run(name, func(t *testing.T) {
			u, err := tpl.staticURL(name)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(u, "/static/") || !strings.HasSuffix(u, "/"+name) || u == "/static/"+name {
				t.Fatalf("static URL %q is not /static/<hash>/%s", u, name)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, u, nil))
			if rec.Code != 200 {
				t.Fatalf("GET %s: status %d", u, rec.Code)
			}
			if got := rec.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control = %q", got)
			}
			if got := rec.Header().Get("Content-Type"); got != ct {
				t.Errorf("Content-Type = %q, want %q", got, ct)
			}
			want, err := os.ReadFile("static/" + name)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Body.String() != string(want) {
				t.Error("body differs from the file")
			}
		})
	}
}

func TestStaticURLInPages(t *testing.T) {
	tpl := mustNew(t)
	css, _ := tpl.staticURL("app.css")
	js, _ := tpl.staticURL("app.js")
	html := render(t, tpl, "login", LoginPage{})
	for _, u := range []string{css, js} {
		if !strings.Contains(html, `"`+u+`"`) {
			t.Errorf("login page does not reference %s", u)
		}
	}
}

func TestStaticWrongHashOrUnknownFileIs404(t *testing.T) {
	tpl := mustNew(t)
	h := tpl.StaticHandler()
	good, _ := tpl.staticURL("app.css")
	hash := strings.Split(good, "/")[2]
	for _, path := range []string{
		"/static/0000000000000000/app.css",
		"/static/app.css",
		"/static/" + hash + "/nope.css",
		"/static/" + hash + "/",
		"/static/" + hash + "/../app.css",
		"/static/" + hash,
		"/app.css",
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://x"+path, nil))
		if rec.Code != 404 {
			t.Errorf("GET %s: status %d, want 404", path, rec.Code)
		}
		if strings.Contains(rec.Header().Get("Cache-Control"), "immutable") {
			t.Errorf("GET %s: 404 cached as immutable", path)
		}
	}
}

func TestStaticRejectsWrites(t *testing.T) {
	tpl := mustNew(t)
	u, _ := tpl.staticURL("app.js")
	rec := httptest.NewRecorder()
	tpl.StaticHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, u, nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", rec.Code)
	}
}

func TestStaticUnknownNameIsTemplateError(t *testing.T) {
	tpl := mustNew(t)
	if _, err := tpl.staticURL("missing.css"); err == nil {
		t.Error("staticURL of a missing file returned no error")
	}
}
