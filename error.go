package pmassist

import (
	"errors"
	"fmt"
)

// Error codes of the HTTP contract (api.md). The server maps each to one
// status; anything that is not an *Error is EINTERNAL.
const (
	EINVALID         = "invalid"
	EUNAUTHORIZED    = "unauthorized"
	EPAYMENTREQUIRED = "payment_required"
	EQUOTAEXCEEDED   = "quota_exceeded"
	EFORBIDDEN       = "forbidden"
	ENOTFOUND        = "not_found"
	ECONFLICT        = "conflict"
	ETOOLARGE        = "too_large"
	EUNSUPPORTED     = "unsupported_media_type"
	ERATELIMITED     = "rate_limited"
	EUNAVAILABLE     = "unavailable"
	EINTERNAL        = "internal"
)

// Error is an application error: a code from the list above, a message a
// person can read, and for EINVALID the offending fields.
type Error struct {
	Code    string
	Message string
	Fields  map[string]string
}

func (e *Error) Error() string {
	return fmt.Sprintf("pmassist error: code=%s message=%s", e.Code, e.Message)
}

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldError returns an EINVALID error naming the fields at fault.
func FieldError(fields map[string]string) *Error {
	msg := "invalid input"
	if len(fields) == 1 {
		for k, v := range fields {
			msg = k + ": " + v
		}
	}
	return &Error{Code: EINVALID, Message: msg, Fields: fields}
}

// ErrorCode returns the code of err if it is (or wraps) an *Error, "" for nil,
// and EINTERNAL otherwise.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human message of err if it is an *Error, and a
// generic message otherwise: internal details never reach a client.
func ErrorMessage(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}

// ErrorFields returns the field errors of err, if any.
func ErrorFields(err error) map[string]string {
	var e *Error
	if errors.As(err, &e) {
		return e.Fields
	}
	return nil
}
