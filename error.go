// Package roster holds Roster's domain: companies, users, roles, permissions,
// sessions and events, the rules between them, and the interfaces the storage
// and transport layers implement. It imports no technology.
package roster

import (
	"errors"
	"fmt"
)

// Error codes. Transport layers map them to statuses in one place.
const (
	ECONFLICT     = "conflict"
	EFORBIDDEN    = "forbidden"
	EINTERNAL     = "internal"
	EINVALID      = "invalid"
	ENOTFOUND     = "not_found"
	ERATELIMIT    = "rate_limited"
	EUNAUTHORIZED = "unauthorized"
	// EUNAVAILABLE says the request could not be served now, through no
	// fault of its own (the database stayed busy, or could not be reached
	// while it failed over); the same request may succeed when tried again
	// a moment later.
	EUNAVAILABLE = "unavailable"
)

// Error is the one error type of the domain. Message is safe to show to a user.
type Error struct {
	Code    string
	Message string
	// Fields lists per-field validation problems (EINVALID, ECONFLICT).
	Fields []FieldError
	// Refusals lists per-user reasons when a bulk action is refused.
	Refusals []Refusal
}

// FieldError is one problem with one input field. Code doubles as the
// translation key, so the API and both panel languages show the same error.
type FieldError struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// Args are the values the message names (a length, a number), for
	// translations of the code.
	Args []any `json:"-"`
	// Line and Column place an error in an uploaded file (a CSV import):
	// the line (1 is the header) and the column's name.
	Line   int    `json:"line,omitempty"`
	Column string `json:"column,omitempty"`
}

// Refusal says why a bulk action cannot be applied to one user.
type Refusal struct {
	UserID  int64  `json:"user_id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("roster: code=%s message=%s", e.Code, e.Message)
}

// Errorf builds an *Error with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of an *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorClassifier is implemented by a store that can tell, among the
// errors it returns, those that say the database could not be reached (a
// connection lost, no server accepting writes while a standby is
// promoted): no fault of the request. ClassifyError returns such an error
// as an EUNAVAILABLE *Error wrapping it, and any other error unchanged.
// The transports apply it to the errors they would answer with 500, so
// that an outage answers 503 with Retry-After.
type ErrorClassifier interface {
	ClassifyError(err error) error
}

// ErrorMessage returns the user-facing message of an *Error in err's chain,
// or a generic one: internal details are never shown.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// Validation collects field errors; Err returns nil when there are none.
type Validation struct{ Fields []FieldError }

// Add records a problem with one field.
func (v *Validation) Add(field, code, message string) {
	v.Fields = append(v.Fields, FieldError{Field: field, Code: code, Message: message})
}

// Has reports whether field already has a problem.
func (v *Validation) Has(field string) bool {
	for _, f := range v.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

// Err returns an EINVALID *Error carrying the fields, or nil.
func (v *Validation) Err() error {
	if len(v.Fields) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: "Some fields are invalid.", Fields: v.Fields}
}

// Conflict builds an ECONFLICT error for a unique field (duplicate e-mail or login).
func Conflict(field, message string) *Error {
	return &Error{Code: ECONFLICT, Message: message,
		Fields: []FieldError{{Field: field, Code: "taken", Message: message}}}
}
