package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var staticFS embed.FS

// staticPrefix is where the server mounts StaticHandler.
const staticPrefix = "/static/"

type staticFile struct {
	hash        string
	contentType string
	body        []byte
}

// Content types are fixed here rather than taken from mime.TypeByExtension,
// whose answer depends on the host's mime.types file.
var staticTypes = map[string]string{
	".css": "text/css; charset=utf-8",
	".js":  "text/javascript; charset=utf-8",
	".svg": "image/svg+xml",
	".png": "image/png",
	".ico": "image/x-icon",
}

func loadStatic() (map[string]staticFile, error) {
	files := make(map[string]staticFile)
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		ct, ok := staticTypes[path.Ext(p)]
		if !ok {
			ct = "application/octet-stream"
		}
		sum := sha256.Sum256(body)
		files[strings.TrimPrefix(p, "static/")] = staticFile{
			hash:        hex.EncodeToString(sum[:])[:16],
			contentType: ct,
			body:        body,
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: load static files: %w", err)
	}
	return files, nil
}

// staticURL is the template func "static": the content-hashed URL of a file
// in ui/static. An unknown name is a template error.
func (t *Templates) staticURL(name string) (string, error) {
	f, ok := t.static[name]
	if !ok {
		return "", fmt.Errorf("ui: unknown static file %q", name)
	}
	return staticPrefix + f.hash + "/" + name, nil
}

// StaticHandler serves the files of ui/static at /static/<hash>/<name>, the
// URLs produced by the template func "static". It expects the full request
// path (mount it at "/static/" without stripping the prefix). Because the
// hash changes with the content, responses may be cached forever; a stale or
// wrong hash answers 404 so that an old page never gets a new file under an
// old URL, or the reverse.
func (t *Templates) StaticHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, staticPrefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		hash, name, ok := strings.Cut(rest, "/")
		f, found := t.static[name]
		if !ok || !found || hash != f.hash {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", f.contentType)
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", `"`+f.hash+`"`)
		h.Set("X-Content-Type-Options", "nosniff")
		http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
	})
}
