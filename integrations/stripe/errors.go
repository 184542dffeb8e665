package stripe

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/pmassist/pmassist"
)

// APIError is a failed Stripe call. It unwraps to a *pmassist.Error that
// says what the failure means for billing (ENOTFOUND, EUNAVAILABLE, …; none
// for a request Stripe found invalid, which is our bug or our
// configuration, hence internal) and to the transport error, if any
// (context.Canceled, for instance). Neither its text nor its message ever
// holds the secret key.
type APIError struct {
	Op         string // "read subscription", …
	HTTPStatus int    // 0 when no answer came
	Type       string // Stripe's error type ("invalid_request_error", …)
	Code       string // Stripe's error code ("resource_missing", …)
	Message    string // Stripe's message, or the transport error's text
	RequestID  string

	app   *pmassist.Error
	cause error
}

func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("stripe ")
	b.WriteString(e.Op)
	b.WriteString(": ")
	if e.HTTPStatus != 0 {
		fmt.Fprintf(&b, "HTTP %d ", e.HTTPStatus)
	}
	if e.Code != "" {
		b.WriteString(e.Code)
		b.WriteString(": ")
	} else if e.Type != "" {
		b.WriteString(e.Type)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	if e.RequestID != "" {
		b.WriteString(" (request ")
		b.WriteString(e.RequestID)
		b.WriteString(")")
	}
	return b.String()
}

// Unwrap gives the *pmassist.Error and the transport error.
func (e *APIError) Unwrap() []error {
	var errs []error
	if e.app != nil {
		errs = append(errs, e.app)
	}
	if e.cause != nil {
		errs = append(errs, e.cause)
	}
	return errs
}

// fail turns an error of stripe-go into an *APIError.
func (c *Client) fail(op string, err error) error {
	e := &APIError{Op: op}
	var se *stripego.Error
	if !errors.As(err, &se) {
		// No answer, or one that is not Stripe's error JSON (a proxy's
		// 502 page), or a cancelled context.
		e.Message = c.redact(err.Error())
		switch {
		case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
			e.cause = err
			e.app = pmassist.Errorf(pmassist.EUNAVAILABLE, "the call to Stripe was cancelled or timed out")
		default:
			e.app = pmassist.Errorf(pmassist.EUNAVAILABLE, "Stripe could not be reached; try again shortly")
		}
		return e
	}
	e.HTTPStatus = se.HTTPStatusCode
	e.Type = string(se.Type)
	e.Code = string(se.Code)
	e.Message = c.redact(se.Msg)
	e.RequestID = se.RequestID
	switch status := se.HTTPStatusCode; {
	case status == http.StatusUnauthorized:
		// Stripe's message quotes part of the key; ours does not.
		e.Message = "the secret key was refused"
		e.app = pmassist.Errorf(pmassist.EUNAVAILABLE,
			"Stripe refused the secret key (PMASSIST_STRIPE_SECRET_KEY); billing is unavailable until it is fixed")
	case status == http.StatusForbidden:
		e.app = pmassist.Errorf(pmassist.EUNAVAILABLE,
			"Stripe refused the request: the secret key lacks a permission billing needs")
	case status == http.StatusNotFound || se.Code == stripego.ErrorCodeResourceMissing:
		e.app = pmassist.Errorf(pmassist.ENOTFOUND, "%s", notFoundMessage(se, e.Message))
	case status == http.StatusTooManyRequests:
		e.app = pmassist.Errorf(pmassist.EUNAVAILABLE, "Stripe is rate limiting requests; try again shortly")
	case status >= 500 || status == 0:
		e.app = pmassist.Errorf(pmassist.EUNAVAILABLE, "Stripe is unavailable (HTTP %d); try again shortly", status)
	case status == http.StatusConflict:
		e.app = pmassist.Errorf(pmassist.EUNAVAILABLE, "Stripe is busy with a concurrent change; try again shortly")
	}
	// Anything else (400 with a bad parameter, an unknown price, 402) is
	// our request or configuration at fault: internal, no *pmassist.Error.
	return e
}

// notFoundMessage is the human message of a resource_missing error:
// Stripe's own ("No such subscription: 'sub_123'") when there is one.
func notFoundMessage(se *stripego.Error, redacted string) string {
	if redacted != "" {
		return "Stripe: " + redacted
	}
	if se.Param != "" {
		return "Stripe has no such " + se.Param
	}
	return "Stripe has no such object"
}

// redact removes the secret key from s (stripe-go never puts it in an
// error, but a proxy or a future version might echo a header).
func (c *Client) redact(s string) string {
	if c.key == "" {
		return s
	}
	return strings.ReplaceAll(s, c.key, "[redacted]")
}

// leveledLogger hands stripe-go's log lines to slog at debug level: its
// "errors" include expected answers such as a 404 for a deleted
// subscription, which the caller reports if it matters.
type leveledLogger struct {
	l   *slog.Logger
	key string
}

func (a *leveledLogger) log(format string, v []any) {
	if !a.l.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	msg := fmt.Sprintf(format, v...)
	if a.key != "" {
		msg = strings.ReplaceAll(msg, a.key, "[redacted]")
	}
	a.l.Debug(msg, "component", "stripe-go")
}

func (a *leveledLogger) Debugf(format string, v ...any) { a.log(format, v) }
func (a *leveledLogger) Infof(format string, v ...any)  { a.log(format, v) }
func (a *leveledLogger) Warnf(format string, v ...any)  { a.log(format, v) }
func (a *leveledLogger) Errorf(format string, v ...any) { a.log(format, v) }
