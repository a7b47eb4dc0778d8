package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/roster-app/roster"
	"github.com/roster-app/roster/observe"
)

// statusByCode is the one map from domain error codes to HTTP statuses.
// Any other code (EINTERNAL, or a plain error) is 500.
var statusByCode = map[string]int{
	roster.EINVALID:      http.StatusUnprocessableEntity,
	roster.ECONFLICT:     http.StatusConflict,
	roster.ENOTFOUND:     http.StatusNotFound,
	roster.EFORBIDDEN:    http.StatusForbidden,
	roster.EUNAUTHORIZED: http.StatusUnauthorized,
	roster.ERATELIMIT:    http.StatusTooManyRequests,
	roster.EUNAVAILABLE:  http.StatusServiceUnavailable,
}

// RetryAfter is the Retry-After (seconds) of a 503: the store gave up on a
// change only because the database stayed busy, which passes in moments.
const RetryAfter = "1"

// httpError is a transport-level problem that has no domain code: a body
// that is not JSON (400) or too large (413).
type httpError struct {
	status int
	code   string
	msg    string
}

func (e *httpError) Error() string { return fmt.Sprintf("web: %d %s", e.status, e.msg) }

var (
	errNoRoute      = roster.Errorf(roster.ENOTFOUND, "There is no such API endpoint.")
	errUnauthorized = roster.Errorf(roster.EUNAUTHORIZED, "Sign in first: send a valid token as Authorization: Bearer <token>.")
)

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type    string              `json:"type"`
	Title   string              `json:"title"`
	Status  int                 `json:"status"`
	Detail  string              `json:"detail"`
	Code    string              `json:"code"`
	Errors  []roster.FieldError `json:"errors,omitempty"`
	Refused []roster.Refusal    `json:"refused,omitempty"`
	// RequestID is the request's X-Request-Id, for finding its log lines.
	RequestID string `json:"request_id,omitempty"`
}

// problemFor turns any error into a problem; internal details never leave.
func problemFor(err error) Problem {
	var he *httpError
	if errors.As(err, &he) {
		return Problem{Type: problemType(he.code), Title: http.StatusText(he.status), Status: he.status, Detail: he.msg, Code: he.code}
	}
	code := roster.ErrorCode(err)
	status, ok := statusByCode[code]
	if !ok {
		status, code = http.StatusInternalServerError, roster.EINTERNAL
	}
	p := Problem{Type: problemType(code), Title: http.StatusText(status), Status: status, Detail: roster.ErrorMessage(err), Code: code}
	var e *roster.Error
	if status != http.StatusInternalServerError && errors.As(err, &e) {
		p.Errors, p.Refused = e.Fields, e.Refusals
	}
	if status == http.StatusInternalServerError {
		p.Detail = "Internal error. It has been logged."
	}
	return p
}

func problemType(code string) string { return "urn:roster:problem:" + code }

// adapt turns a handler returning error into an http.Handler that renders
// the error as application/problem+json.
func (s *Server) adapt(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.renderError(w, r, err)
		}
	})
}

// StatusClientClosedRequest is logged for a request whose client went away.
const StatusClientClosedRequest = 499

// renderError writes err as a problem; 500s are logged with their details.
func (s *Server) renderError(w http.ResponseWriter, r *http.Request, err error) {
	err = s.classifyError(r, err)
	p := problemFor(err)
	if p.Status >= 500 && r.Context().Err() != nil {
		// The client went away (or its deadline passed) while the request
		// ran: the store's transaction was rolled back, so nothing is half
		// done, and it is not a server error. 499 is nginx's status for it;
		// nobody reads it, but the request log records it at info level.
		s.Logger.InfoContext(r.Context(), "client went away", "method", r.Method, "path", r.URL.Path, "err", err)
		w.WriteHeader(StatusClientClosedRequest)
		return
	}
	p.RequestID = observe.RequestID(r.Context())
	if p.Status == http.StatusInternalServerError {
		s.Logger.ErrorContext(r.Context(), "internal error", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if p.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="roster"`)
	}
	if p.Status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", RetryAfter)
	}
	writeBody(w, p.Status, "application/problem+json", p)
}

// classifyError turns an error that says the database could not be
// reached (roster.ErrorClassifier, implemented by the store) into
// EUNAVAILABLE, answered 503 with Retry-After instead of 500; the cause
// is logged as a warning, since the request log line says only 503.
func (s *Server) classifyError(r *http.Request, err error) error {
	c, ok := s.Users.(roster.ErrorClassifier)
	if !ok || roster.ErrorCode(err) != roster.EINTERNAL {
		return err
	}
	if err = c.ClassifyError(err); roster.ErrorCode(err) == roster.EUNAVAILABLE && r.Context().Err() == nil {
		s.Logger.WarnContext(r.Context(), "database unreachable", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	return err
}

// writeJSON writes v as a JSON response.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	writeBody(w, status, "application/json", v)
	return nil
}

func writeBody(w http.ResponseWriter, status int, contentType string, v any) {
	buf := bodyBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledBody {
			buf.Reset()
			bodyBuffers.Put(buf)
		}
	}()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		http.Error(w, `{"status":500}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// bodyBuffers keep the buffers answers are encoded in: a users page is
// about 40 KB, which a new buffer reached by doubling, allocating twice
// that on every request. Buffers grown past maxPooledBody (an export, a
// huge page) are left to the garbage collector.
var bodyBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

const maxPooledBody = 256 << 10

// decodeJSON reads one JSON object into dst, refusing unknown fields. The
// errors name the field where they can.
func decodeJSON(r *http.Request, dst any) error {
	return decodeJSONOptional(r, dst, false)
}

// decodeJSONOptional is decodeJSON where an empty body may mean "nothing given".
//
// The whole body is read first (bounded by limitBody: 413 beyond it) and
// refused before decoding when it is not declared as JSON (415), when a
// string or key holds text Roster does not accept or a key repeats (422
// naming the JSON path; roster.CheckJSON sees the raw bytes, which the
// decoder would repair), or when it is not a JSON object — a null body is
// a mistake, never "change nothing".
func decodeJSONOptional(r *http.Request, dst any, optional bool) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return decodeError(err)
	}
	body := bytes.TrimLeft(data, " \t\r\n")
	if len(body) == 0 {
		if optional {
			return nil
		}
		return decodeError(io.EOF)
	}
	if err := checkJSONContentType(r); err != nil {
		return err
	}
	problems, wellFormed := roster.CheckJSON(data)
	if len(problems) > 0 {
		return &roster.Error{Code: roster.EINVALID, Message: "Some fields are invalid.", Fields: problems}
	}
	if wellFormed && body[0] != '{' {
		return &httpError{http.StatusUnprocessableEntity, roster.EINVALID,
			fmt.Sprintf("The request body must be a JSON object, not %s.", jsonValueKind(body[0]))}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &httpError{http.StatusBadRequest, "bad_json", "The request body has data after its JSON value; send exactly one JSON object."}
	}
	if !wellFormed {
		// The decoder accepted what the scan could not read: refuse rather
		// than let unchecked text through.
		return &httpError{http.StatusBadRequest, "bad_json", "The request body is not valid JSON."}
	}
	return nil
}

// checkJSONContentType answers 415 unless the request declares a JSON body:
// application/json or application/*+json, in UTF-8 if a charset is named.
func checkJSONContentType(r *http.Request) error {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	return &httpError{http.StatusUnsupportedMediaType, "unsupported_media_type",
		"Send the body as JSON, with Content-Type: application/json."}
}

// jsonValueKind names the JSON value starting with c.
func jsonValueKind(c byte) string {
	switch c {
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "true or false"
	default:
		return "a number"
	}
}

// decodeError maps encoding/json's errors to problems.
func decodeError(err error) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return &httpError{http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("The request body is larger than %d bytes.", mbe.Limit)}
	case errors.As(err, &se):
		return &httpError{http.StatusBadRequest, "bad_json",
			fmt.Sprintf("The request body is not valid JSON (error at byte %d: %s).", se.Offset, strings.TrimPrefix(se.Error(), "json: "))}
	case errors.Is(err, io.EOF):
		return &httpError{http.StatusBadRequest, "bad_json", "The request body is empty; send a JSON object."}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &httpError{http.StatusBadRequest, "bad_json", "The request body is not valid JSON: it ends too early."}
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			return &httpError{http.StatusBadRequest, "bad_json", "The request body must be a JSON object."}
		}
		var v roster.Validation
		v.Add(field, "invalid_type", fmt.Sprintf("This field must be %s, not %s.", jsonKind(te.Type.Kind().String()), te.Value))
		return v.Err()
	}
	// encoding/json has no typed error for DisallowUnknownFields: the field
	// name is only in the message, `json: unknown field "name"`.
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name, _ = strconv.Unquote(name)
		var v roster.Validation
		v.Add(name, "unknown_field", fmt.Sprintf("Unknown field %q.", name))
		return v.Err()
	}
	return &httpError{http.StatusBadRequest, "bad_json", "The request body is not valid JSON."}
}

// jsonKind names a Go kind the way a JSON client thinks of it.
func jsonKind(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"):
		return "an integer"
	case strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice", kind == "array":
		return "a list"
	default:
		return "an object"
	}
}

// pathID parses the {id} path value; anything but a positive integer is
// simply not found.
func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return 0, roster.Errorf(roster.ENOTFOUND, "Not found.")
	}
	return id, nil
}

// getByID answers 200 with what find finds for the {id} path value in the
// actor's scope.
func getByID[T any](w http.ResponseWriter, r *http.Request, find func(context.Context, roster.Scope, int64) (T, error)) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	v, err := find(r.Context(), actorOf(r).Scope, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, v)
}

// companyIn is the company a request names in company_id, or the actor's
// own when it names none; one outside the actor's scope is a 422 on
// company_id.
func (s *Server) companyIn(ctx context.Context, a *roster.Actor, id *int64) (int64, error) {
	if id == nil {
		return a.Company.ID, nil
	}
	if _, err := s.Companies.CompanyByID(ctx, a.Scope, *id); err != nil {
		return 0, fieldNotFound(err, "company_id", "No such company.")
	}
	return *id, nil
}
