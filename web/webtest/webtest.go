// Package webtest checks HTTP exchanges with Roster's API against the
// OpenAPI document the server serves at /api/v1/openapi.json, so that the
// document is a checked contract rather than a hope. Tests hook it in
// once, where they send requests: Check for a recorded exchange, Handler
// around an http.Handler, Transport around an http.Client's transport.
//
// The rules, for every exchange whose path is the JSON API (under /api/,
// or /healthz and /readyz):
//
//   - A request the document describes must get a status the operation
//     documents, with a body (problem+json for errors) and headers that
//     match that response's schema. Strict: a response property or header
//     the schema does not declare is a mismatch too.
//   - A request the document refuses (a body, parameter or token it does
//     not allow) must be refused by the server: any 4xx status the
//     operation documents. A 2xx answer to it means the document is
//     stricter than the server.
//   - A method or path the document does not list must answer 404 or 405
//     with a problem document.
//
// The validator is built once per process from the served document.
package webtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	verrors "github.com/pb33f/libopenapi-validator/errors"

	"github.com/roster-app/roster/web"
)

// Document returns the OpenAPI document the server serves, as JSON.
func Document() ([]byte, error) {
	load()
	return contract.raw, contract.err
}

// Check validates one exchange against the served document and fails t
// with a message naming the operation, the status and the fields when it
// does not match. req's body, if any, must be unread or have GetBody set;
// resp's body is read and put back.
func Check(t testing.TB, req *http.Request, resp *http.Response) {
	t.Helper()
	var reqBody []byte
	switch {
	case req.GetBody != nil:
		rc, err := req.GetBody()
		if err == nil {
			reqBody, _ = io.ReadAll(rc)
			rc.Close()
		}
	case req.Body != nil && req.Body != http.NoBody:
		reqBody, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	var respBody []byte
	if resp.Body != nil {
		respBody, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(respBody))
	}
	if msg := Mismatch(req.Method, req.URL.RequestURI(), req.Header, reqBody, resp.StatusCode, resp.Header, respBody); msg != "" {
		t.Error(msg)
	}
}

// Handler wraps h so that every exchange through it is checked with t.
func Handler(t testing.TB, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Helper()
		var body []byte
		if r.Body != nil {
			body, _ = io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
		if msg := Mismatch(r.Method, r.URL.RequestURI(), r.Header, body, rec.Code, rec.Header(), rec.Body.Bytes()); msg != "" {
			t.Error(msg)
		}
	})
}

// Transport wraps base (http.DefaultTransport when nil) so that every
// exchange a client makes through it is checked with t.
func Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return roundTripper{t, base}
}

type roundTripper struct {
	t    testing.TB
	base http.RoundTripper
}

func (rt roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
		req.Body.Close()
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	resp, err := rt.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(data))
	if msg := Mismatch(req.Method, req.URL.RequestURI(), req.Header, body, resp.StatusCode, resp.Header, data); msg != "" {
		rt.t.Error(msg)
	}
	return resp, nil
}

// Mismatch checks one exchange and describes how it breaks the contract,
// or answers "" when it keeps it (or is not an exchange with the JSON API).
func Mismatch(method, target string, reqHeader http.Header, reqBody []byte, status int, respHeader http.Header, respBody []byte) string {
	load()
	if contract.err != nil {
		return "API contract: the served OpenAPI document cannot be loaded: " + contract.err.Error()
	}
	req := httptest.NewRequest(method, target, bytes.NewReader(reqBody))
	if len(reqBody) == 0 {
		req.Body = http.NoBody
	}
	req.Header = reqHeader.Clone()
	if !isAPI(req.URL.Path) {
		return ""
	}
	resp := &http.Response{StatusCode: status, Header: respHeader.Clone(), Body: io.NopCloser(bytes.NewReader(respBody)), Request: req}

	head := fmt.Sprintf("API contract: %s %s answered %d", method, req.URL.Path, status)
	spec, opID := contract.operation(method, req.URL.Path)
	if opID == "" {
		// Not a documented operation: only the generic answers are allowed.
		if status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			return fmt.Sprintf("%s, but the OpenAPI document has no operation %s %s: document it (route table and its opDoc), "+
				"or answer 404/405.\n  body: %s", head, method, req.URL.Path, clip(respBody))
		}
		if p := problemMismatch(status, respHeader, respBody); p != "" {
			return head + " (no documented operation): " + p
		}
		return ""
	}
	head += fmt.Sprintf(" (operation %s, %s %s)", opID, method, spec)

	contract.mu.Lock()
	reqOK, reqErrs := contract.v.ValidateHttpRequest(req)
	contract.mu.Unlock()
	// The request is validated again, for its body, by the response check
	// below; give it a fresh body.
	req.Body = io.NopCloser(bytes.NewReader(reqBody))
	contract.mu.Lock()
	_, respErrs := contract.v.ValidateHttpResponse(req, resp)
	contract.mu.Unlock()

	var b strings.Builder
	if !reqOK && status < 400 {
		fmt.Fprintf(&b, "\n  the document refuses this request, but the server accepted it (%d): widen the schema or refuse the request with 422:", status)
		describe(&b, reqErrs)
	}
	if len(respErrs) > 0 {
		b.WriteString("\n  the response does not match the document:")
		describe(&b, respErrs)
		if !reqOK && status >= 400 {
			b.WriteString("\n  (the document also refuses the request:")
			describe(&b, reqErrs)
			b.WriteString(")")
		}
	}
	if status == http.StatusNoContent && len(respBody) > 0 {
		fmt.Fprintf(&b, "\n  a 204 answer has a body: %s", clip(respBody))
	}
	if status >= 400 {
		if p := problemMismatch(status, respHeader, respBody); p != "" {
			b.WriteString("\n  " + p)
		}
	}
	if b.Len() == 0 {
		return ""
	}
	return head + ":" + b.String() + fmt.Sprintf("\n  request body: %s\n  response body: %s", clip(reqBody), clip(respBody))
}

// isAPI reports whether a path is the JSON API; the panel's and the
// bootstrap page's HTML are not checked.
func isAPI(p string) bool {
	return strings.HasPrefix(p, "/api/") || p == "/healthz" || p == "/readyz"
}

// problemMismatch checks an error answer is an RFC 9457 problem of Roster's shape.
func problemMismatch(status int, h http.Header, body []byte) string {
	if ct := h.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Sprintf("an error answer must be application/problem+json, not %q", ct)
	}
	var p struct {
		Type, Title, Detail, Code *string
		Status                    *int
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return "the problem is not JSON: " + err.Error()
	}
	switch {
	case p.Type == nil || p.Title == nil || p.Detail == nil || p.Code == nil || p.Status == nil:
		return "the problem lacks one of type, title, status, detail, code: " + clip(body)
	case *p.Status != status:
		return fmt.Sprintf("the problem's status is %d, the response's %d", *p.Status, status)
	}
	return ""
}

// describe writes the validator's errors, one line per field.
func describe(b *strings.Builder, errs []*verrors.ValidationError) {
	for _, e := range errs {
		where := e.ValidationType
		if e.ParameterName != "" {
			where += " " + e.ParameterName
		}
		fmt.Fprintf(b, "\n    - [%s] %s", where, e.Message)
		if e.Reason != "" && len(e.SchemaValidationErrors) == 0 {
			fmt.Fprintf(b, ": %s", e.Reason)
		}
		for _, f := range e.SchemaValidationErrors {
			field := f.FieldPath
			if field == "" {
				field = "/" + strings.Join(f.InstancePath, "/")
			}
			fmt.Fprintf(b, "\n        %s: %s", field, f.Reason)
			if f.KeywordLocation != "" {
				fmt.Fprintf(b, " (schema %s)", f.KeywordLocation)
			}
		}
	}
}

func clip(b []byte) string {
	const max = 600
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "(none)"
	}
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}

// contract is the process's one validator over the served document.
var contract contractT

type contractT struct {
	once sync.Once
	raw  []byte
	err  error
	// mu serializes the validator: it keeps per-request state and caches
	// that the parallel tests of a package would share.
	mu    sync.Mutex
	v     validator.Validator
	paths []docPath
}

// docPath is one path of the document with its operations' IDs.
type docPath struct {
	template string
	re       *regexp.Regexp
	params   int
	ids      map[string]string // method → operationId
}

// operation finds the documented path template and operationId of a
// request; a literal segment wins over a parameter (/roles/export over
// /roles/{id}). It answers "" for an undocumented method or path.
func (c *contractT) operation(method, path string) (template, id string) {
	for _, p := range c.paths {
		if p.re.MatchString(path) {
			if id := p.ids[method]; id != "" {
				return p.template, id
			}
			if template == "" {
				template = p.template
			}
		}
	}
	return template, ""
}

func load() {
	contract.once.Do(func() {
		rec := httptest.NewRecorder()
		web.NewServer(web.Deps{}).Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/api/v1/openapi.json", nil))
		if rec.Code != http.StatusOK {
			contract.err = fmt.Errorf("GET /api/v1/openapi.json answered %d", rec.Code)
			return
		}
		contract.raw = rec.Body.Bytes()
		doc, err := libopenapi.NewDocument(contract.raw)
		if err != nil {
			contract.err = err
			return
		}
		v, errs := validator.NewValidator(doc, config.WithStrictMode(),
			// Headers every answer carries (securityHeaders, the 401's
			// challenge, the 405's Allow) are not repeated per operation.
			config.WithStrictIgnoredHeadersExtra("x-content-type-options", "referrer-policy", "x-frame-options",
				"content-security-policy", "www-authenticate", "allow"))
		if len(errs) > 0 {
			contract.err = fmt.Errorf("building the validator: %v", errs)
			return
		}
		contract.v = v
		var d struct {
			Paths map[string]map[string]struct {
				OperationID string `json:"operationId"`
			} `json:"paths"`
		}
		if err := json.Unmarshal(contract.raw, &d); err != nil {
			contract.err = err
			return
		}
		for tmpl, item := range d.Paths {
			p := docPath{template: tmpl, params: strings.Count(tmpl, "{"), ids: map[string]string{},
				re: regexp.MustCompile("^" + paramRE.ReplaceAllString(regexp.QuoteMeta(tmpl), `[^/]+`) + "$")}
			for m, op := range item {
				p.ids[strings.ToUpper(m)] = op.OperationID
			}
			contract.paths = append(contract.paths, p)
		}
		sort.Slice(contract.paths, func(i, j int) bool {
			a, b := contract.paths[i], contract.paths[j]
			return a.params < b.params || a.params == b.params && a.template < b.template
		})
	})
}

// paramRE matches a quoted {name} of a path template.
var paramRE = regexp.MustCompile(`\\\{\w+\\\}`)
