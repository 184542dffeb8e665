package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"regexp"
	"runtime/debug"
	"time"

	"github.com/gorilla/mux"
)

// requestInfo travels in the request context so that the access log, written
// after the handler, knows what later layers learned (route, tenant, user).
type requestInfo struct {
	id       string
	route    string // method and template, for the log
	template string // the route's path template, for metrics
	tenantID string
	userID   string
}

type infoKey struct{}

func infoFrom(ctx context.Context) *requestInfo {
	info, _ := ctx.Value(infoKey{}).(*requestInfo)
	if info == nil {
		return &requestInfo{}
	}
	return info
}

func requestID(ctx context.Context) string { return infoFrom(ctx).id }

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusWriter remembers the status and size of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware wraps the router with what every request passes, outermost
// first: request id and access log (with panic recovery), security headers,
// the body limit, and authentication (which also enforces CSRF).
func (s *Server) middleware(next http.Handler) http.Handler {
	return s.logRequests(securityHeaders(s.secure, limitBody(s.authenticate(next))))
}

func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: r.Header.Get("X-Request-Id")}
		if !validRequestID.MatchString(info.id) {
			info.id = newRequestID()
		}
		w.Header().Set("X-Request-Id", info.id)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		defer func() {
			p := recover()
			if p == http.ErrAbortHandler {
				// A handler cut a streamed answer short on purpose (a
				// download failing midway): the client must see a broken
				// connection, not a well-formed but truncated file.
				panic(p)
			}
			if p != nil {
				s.logger.ErrorContext(r.Context(), "panic", slog.Any("panic", p),
					slog.String("request_id", info.id), slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					s.writeError(sw, r, errInternal)
				}
			}
			route := info.route
			if route == "" {
				route = "unmatched"
			}
			s.logger.LogAttrs(r.Context(), slog.LevelInfo, "request",
				slog.String("request_id", info.id),
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.Int("status", sw.status),
				slog.Int("bytes", sw.bytes),
				slog.Float64("duration_ms", float64(time.Since(start).Microseconds())/1000),
				slog.String("tenant_id", info.tenantID),
				slog.String("user_id", info.userID),
				slog.String("remote", clientIP(r)),
			)
			s.observeRequest(r, info, sw.status, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

// recordRoute notes the matched route template for the log, so that secrets
// in paths (invitation links) never reach a log line.
func (s *Server) recordRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := mux.CurrentRoute(r); route != nil {
			if tpl, err := route.GetPathTemplate(); err == nil {
				info := infoFrom(r.Context())
				info.route, info.template = r.Method+" "+tpl, tpl
			}
		}
		next.ServeHTTP(w, r)
	})
}

// contentSecurityPolicy allows only the appliance's own scripts, styles and
// forms; pages are never framed.
const contentSecurityPolicy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; " +
	"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"

func securityHeaders(https bool, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if https {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > MaxBodyBytes {
			tooLarge(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

func tooLarge(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) {
		writeJSON(w, http.StatusRequestEntityTooLarge, errorBody{Error: errorDetail{
			Code: "too_large", Message: "request body is larger than 1 MiB"}})
		return
	}
	http.Error(w, "request body is larger than 1 MiB", http.StatusRequestEntityTooLarge)
}
