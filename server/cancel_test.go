package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// An internal error of a request whose client went away (its context
// canceled, e.g. a search cut short) is not a failure of the server: no
// error-level line, no 500 in the metrics. The soak run found it: users
// stopping mid-request showed up as server errors.
func TestWriteErrorOfAbandonedRequest(t *testing.T) {
	var logs bytes.Buffer
	s := &Server{logger: slog.New(slog.NewTextHandler(&logs, nil))}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/api/v1/search?q=x", nil).WithContext(ctx)
	s.writeError(w, r, errors.Join(errors.New("search"), context.Canceled))
	if w.Code != StatusClientClosedRequest || strings.Contains(logs.String(), "level=ERROR") ||
		!strings.Contains(logs.String(), "request canceled by the client") {
		t.Fatalf("abandoned request: %d, log %q", w.Code, logs.String())
	}

	// The same error while the client waits is the server's failure.
	logs.Reset()
	w = httptest.NewRecorder()
	s.writeError(w, httptest.NewRequest(http.MethodGet, "/api/v1/search?q=x", nil), errors.New("search: disk on fire"))
	if w.Code != http.StatusInternalServerError || !strings.Contains(logs.String(), "level=ERROR") {
		t.Fatalf("internal error: %d, log %q", w.Code, logs.String())
	}
}
