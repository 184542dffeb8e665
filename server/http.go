package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/pmassist/pmassist"
)

// MaxBodyBytes bounds every request body (api.md: over 1 MiB → 413).
const MaxBodyBytes = 1 << 20

// codes is the one table from error code to HTTP status.
var codes = map[string]int{
	pmassist.EINVALID:         http.StatusBadRequest,
	pmassist.EUNAUTHORIZED:    http.StatusUnauthorized,
	pmassist.EPAYMENTREQUIRED: http.StatusPaymentRequired,
	pmassist.EQUOTAEXCEEDED:   http.StatusPaymentRequired,
	pmassist.EFORBIDDEN:       http.StatusForbidden,
	pmassist.ENOTFOUND:        http.StatusNotFound,
	pmassist.ECONFLICT:        http.StatusConflict,
	pmassist.ETOOLARGE:        http.StatusRequestEntityTooLarge,
	pmassist.EUNSUPPORTED:     http.StatusUnsupportedMediaType,
	pmassist.ERATELIMITED:     http.StatusTooManyRequests,
	pmassist.EUNAVAILABLE:     http.StatusServiceUnavailable,
	pmassist.EINTERNAL:        http.StatusInternalServerError,
}

// ErrorStatusCode returns the HTTP status of an error code.
func ErrorStatusCode(code string) int {
	if s, ok := codes[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// StatusClientClosedRequest answers a request whose client went away
// before the answer (nginx's 499): nobody reads it, and it is not a failure
// of the server.
const StatusClientClosedRequest = 499

// writeError answers err in the JSON error shape. Internal errors are logged
// with the request id and answered with a generic message; an internal
// error of a request its client has abandoned (its context canceled, which
// aborts a search or a store read midway) is not a failure of the server:
// it is logged at info level and answered 499, not 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := pmassist.ErrorCode(err)
	status := ErrorStatusCode(code)
	switch {
	case code == pmassist.EINTERNAL && errors.Is(r.Context().Err(), context.Canceled):
		s.logger.InfoContext(r.Context(), "request canceled by the client", slog.String("error", err.Error()),
			slog.String("request_id", requestID(r.Context())))
		status = StatusClientClosedRequest
	case code == pmassist.EINTERNAL:
		s.logger.ErrorContext(r.Context(), "request failed", slog.String("error", err.Error()),
			slog.String("request_id", requestID(r.Context())))
	}
	writeJSON(w, status, errorBody{Error: errorDetail{
		Code: code, Message: pmassist.ErrorMessage(err), Fields: pmassist.ErrorFields(err),
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if v == nil {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		return
	}
	// Every answer's value encodes; a failure would leave the body empty.
	body, _ := encodeJSON(v)
	writeJSONBytes(w, status, body)
}

// encodeJSON returns what writeJSON writes for v.
func encodeJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(true)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeJSONBytes writes an answer encodeJSON made, with its length.
func writeJSONBytes(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// decodeJSON reads a JSON request body into dst: the media type must be JSON
// (415), the body at most MaxBodyBytes (413), well-formed (400) and without
// unknown fields (400 naming the field). An empty body leaves dst as it is
// when optional is set.
func decodeJSON(r *http.Request, dst any, optional bool) error {
	if r.ContentLength == 0 && optional {
		return nil
	}
	if ct := r.Header.Get("Content-Type"); ct != "" || !optional {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			return pmassist.Errorf(pmassist.EUNSUPPORTED, "request body must be JSON (Content-Type: application/json)")
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		if errors.Is(err, io.EOF) {
			if optional {
				return nil
			}
			return pmassist.Errorf(pmassist.EINVALID, "request body is empty; expected a JSON object")
		}
		return jsonError(err)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err != nil {
			if e := jsonError(err); pmassist.ErrorCode(e) == pmassist.ETOOLARGE {
				return e
			}
		}
		return pmassist.Errorf(pmassist.EINVALID, "request body must hold a single JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var (
		maxErr    *http.MaxBytesError
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &maxErr):
		return pmassist.Errorf(pmassist.ETOOLARGE, "request body is larger than 1 MiB")
	case errors.As(err, &syntaxErr):
		return pmassist.Errorf(pmassist.EINVALID, "malformed JSON at byte %d", syntaxErr.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return pmassist.Errorf(pmassist.EINVALID, "malformed JSON: unexpected end of body")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return pmassist.Errorf(pmassist.EINVALID, "request body must be a JSON object")
		}
		return pmassist.FieldError(map[string]string{field: "must be " + jsonKind(typeErr.Type.Kind().String())})
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name, _ := strconv.Unquote(strings.TrimPrefix(err.Error(), "json: unknown field "))
		return pmassist.FieldError(map[string]string{name: "unknown field"})
	}
	return pmassist.Errorf(pmassist.EINVALID, "malformed JSON")
}

func jsonKind(k string) string {
	switch k {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "a list"
	case "map", "struct":
		return "an object"
	}
	if strings.HasPrefix(k, "int") || strings.HasPrefix(k, "uint") || strings.HasPrefix(k, "float") {
		return "a number"
	}
	return fmt.Sprintf("of type %s", k)
}

// listParams reads ?limit= and ?cursor= (api.md: default 50, max 200).
func listParams(r *http.Request) (limit int, cursor string, err error) {
	limit = 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, convErr := strconv.Atoi(v)
		if convErr != nil || n < 1 || n > 200 {
			return 0, "", pmassist.FieldError(map[string]string{"limit": "must be a number from 1 to 200"})
		}
		limit = n
	}
	return limit, r.URL.Query().Get("cursor"), nil
}
