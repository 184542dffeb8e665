// Package ui renders PM Assistant's server-side HTML pages and serves the
// static files they use.
//
// Pages are html/template files embedded in the binary; every page has a typed
// data struct (see pages.go) and is executed into a buffer before anything is
// written, so a template error never leaves a half-written page. Static files
// are served under content-hash URLs so that browsers may cache them forever.
// The package depends on the standard library only.
package ui

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

//go:embed templates/*.html
var templateFS embed.FS

// layoutFile holds the templates shared by every page: the two layouts
// (signed-in "app" and anonymous "anon") and the partials.
const layoutFile = "layout.html"

// Templates holds every parsed page and the static files. It is safe for
// concurrent use.
type Templates struct {
	pages  map[string]*template.Template
	names  []string
	static map[string]staticFile
	// now is the clock used by reltime; tests replace it.
	now func() time.Time
}

// New parses the layout and every page template, executes each page once
// with its zero-value data so that escaping and field errors surface at
// start-up rather than on the first request, and hashes the static files.
// The error names the template that failed.
func New() (*Templates, error) {
	t := &Templates{pages: make(map[string]*template.Template), now: time.Now}

	static, err := loadStatic()
	if err != nil {
		return nil, err
	}
	t.static = static

	layout, err := templateFS.ReadFile("templates/" + layoutFile)
	if err != nil {
		return nil, fmt.Errorf("ui: read template %q: %w", layoutFile, err)
	}
	common, err := template.New(layoutFile).Funcs(t.funcs()).Parse(string(layout))
	if err != nil {
		return nil, fmt.Errorf("ui: parse template %q: %w", layoutFile, err)
	}

	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("ui: list templates: %w", err)
	}
	for _, file := range files {
		base := path.Base(file)
		if base == layoutFile {
			continue
		}
		name := strings.TrimSuffix(base, ".html")
		if _, ok := pageData[name]; !ok {
			return nil, fmt.Errorf("ui: template %q has no page data type", name)
		}
		text, err := templateFS.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("ui: read template %q: %w", name, err)
		}
		clone, err := common.Clone()
		if err != nil {
			return nil, fmt.Errorf("ui: clone layout for %q: %w", name, err)
		}
		page, err := clone.New(name).Parse(string(text))
		if err != nil {
			return nil, fmt.Errorf("ui: parse template %q: %w", name, err)
		}
		t.pages[name] = page
		t.names = append(t.names, name)
	}
	slices.Sort(t.names)

	for name, zero := range pageData {
		page, ok := t.pages[name]
		if !ok {
			return nil, fmt.Errorf("ui: template %q is missing", name)
		}
		if err := page.Execute(io.Discard, zero); err != nil {
			return nil, fmt.Errorf("ui: check template %q: %w", name, err)
		}
	}
	return t, nil
}

// Pages returns the names of all pages, sorted; each is a valid page
// argument for Render.
func (t *Templates) Pages() []string {
	return slices.Clone(t.names)
}

// Render executes page with data and writes it with the given status. The page
// is rendered into a buffer first: on failure the client gets a bare 500
// "internal error" (the details are in the returned error, for the log).
// A status of 0 means 200.
func (t *Templates) Render(w http.ResponseWriter, status int, page string, data any) error {
	tmpl, ok := t.pages[page]
	if !ok {
		internalError(w)
		return fmt.Errorf("ui: unknown page %q", page)
	}
	var buf bytes.Buffer
	if err := tmpl.Execute(&buf, data); err != nil {
		internalError(w)
		return fmt.Errorf("ui: render %q: %w", page, err)
	}
	if status == 0 {
		status = http.StatusOK
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if _, err := buf.WriteTo(w); err != nil {
		return fmt.Errorf("ui: write %q: %w", page, err)
	}
	return nil
}

func internalError(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, "internal error", http.StatusInternalServerError)
}
