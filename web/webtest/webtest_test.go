package webtest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/roster-app/roster/web/webtest"
)

// TestDocumentIsValidOpenAPI checks the served document against the
// OpenAPI 3.1 schema.
func TestDocumentIsValidOpenAPI(t *testing.T) {
	raw, err := webtest.Document()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := libopenapi.NewDocument(raw)
	if err != nil {
		t.Fatal(err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("  %s: %s", f.FieldPath, f.Reason)
			}
		}
	}
}

var (
	jsonHeader    = http.Header{"Content-Type": {"application/json"}}
	problemHeader = http.Header{"Content-Type": {"application/problem+json"}}
	bearer        = http.Header{"Authorization": {"Bearer x"}}
)

func problem(status int, code string) string {
	return fmt.Sprintf(`{"type":"urn:roster:problem:%s","title":%q,"status":%d,"detail":"d","code":%q}`, code, http.StatusText(status), status, code)
}

func with(h http.Header, k, v string) http.Header {
	h = h.Clone()
	h.Set(k, v)
	return h
}

// TestMismatch shows what the contract check catches and what it lets
// through, with the words its message must carry to be acted on.
func TestMismatch(t *testing.T) {
	login := `{"username":"a","password":"b"}`
	cases := []struct {
		name           string
		method, target string
		reqHeader      http.Header
		reqBody        string
		status         int
		respHeader     http.Header
		respBody       string
		want           []string // substrings of the message; none: no mismatch
	}{
		{name: "Kept", method: "GET", target: "/healthz", status: 200, respHeader: jsonHeader, respBody: `{"status":"ok"}`},
		{name: "PanelIsNotChecked", method: "GET", target: "/users", status: 200, respHeader: http.Header{"Content-Type": {"text/html"}}, respBody: "<p>"},
		{name: "UndocumentedStatus", method: "POST", target: "/api/v1/auth/login", reqHeader: jsonHeader, reqBody: login,
			status: 418, respHeader: problemHeader, respBody: problem(418, "teapot"),
			want: []string{"POST /api/v1/auth/login answered 418", "operation postApiV1AuthLogin", "'418' does not exist"}},
		{name: "UndeclaredResponseProperty", method: "GET", target: "/api/v1/permissions", reqHeader: bearer,
			status: 200, respHeader: jsonHeader, respBody: `{"items":[],"surprise":1}`,
			want: []string{"operation getApiV1Permissions", "surprise"}},
		{name: "WrongResponseType", method: "GET", target: "/api/v1/permissions", reqHeader: bearer,
			status: 200, respHeader: jsonHeader, respBody: `{"items":"none"}`,
			want: []string{"$.items", "array"}},
		{name: "RetryAfterMissing", method: "POST", target: "/api/v1/auth/login", reqHeader: jsonHeader, reqBody: login,
			status: 429, respHeader: problemHeader, respBody: problem(429, "rate_limited"),
			want: []string{"429", "Retry-After"}},
		{name: "RetryAfterGiven", method: "POST", target: "/api/v1/auth/login", reqHeader: jsonHeader, reqBody: login,
			status: 429, respHeader: with(problemHeader, "Retry-After", "4"), respBody: problem(429, "rate_limited")},
		{name: "RefusedRequestAccepted", method: "POST", target: "/api/v1/auth/login", reqHeader: jsonHeader, reqBody: `{"username":"a","password":"b","otp":1}`,
			status: 200, respHeader: jsonHeader, respBody: `{"password_change_required":true,"change_token":"t","expires_at":"2026-01-01T00:00:00Z"}`,
			want: []string{"the document refuses this request, but the server accepted it", "otp"}},
		{name: "RefusedRequestRefused", method: "POST", target: "/api/v1/auth/login", reqHeader: jsonHeader, reqBody: `{"username":"a","password":"b","otp":1}`,
			status: 422, respHeader: problemHeader, respBody: problem(422, "invalid")},
		{name: "ErrorNotAProblem", method: "GET", target: "/api/v1/users/1", reqHeader: bearer,
			status: 404, respHeader: jsonHeader, respBody: `{"error":"no"}`,
			want: []string{"application/problem+json"}},
		{name: "ProblemStatusDiffers", method: "GET", target: "/api/v1/users/1", reqHeader: bearer,
			status: 404, respHeader: problemHeader, respBody: problem(410, "gone"),
			want: []string{"problem's status is 410"}},
		{name: "UndocumentedRoute", method: "GET", target: "/api/v1/nothing", status: 200, respHeader: jsonHeader, respBody: `{}`,
			want: []string{"no operation GET /api/v1/nothing"}},
		{name: "UndocumentedRouteNotFound", method: "GET", target: "/api/v1/nothing", status: 404, respHeader: problemHeader, respBody: problem(404, "not_found")},
		{name: "UndocumentedMethod", method: "PUT", target: "/api/v1/roles/export", status: 405, respHeader: problemHeader, respBody: problem(405, "method_not_allowed")},
		{name: "LiteralBeatsParameter", method: "GET", target: "/api/v1/roles/export", reqHeader: bearer, status: 200, respHeader: jsonHeader,
			respBody: `{"roles":[{"key":"k","name":"n","permissions":[],"surprise":true}]}`,
			want:     []string{"operation getApiV1RolesExport", "surprise"}},
		{name: "NoContentWithBody", method: "POST", target: "/api/v1/auth/logout", reqHeader: bearer, status: 204, respBody: "x",
			want: []string{"204 answer has a body"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.reqHeader == nil {
				c.reqHeader = http.Header{}
			}
			msg := webtest.Mismatch(c.method, c.target, c.reqHeader, []byte(c.reqBody), c.status, c.respHeader, []byte(c.respBody))
			if len(c.want) == 0 && msg != "" {
				t.Fatalf("unexpected mismatch:\n%s", msg)
			}
			if len(c.want) > 0 && msg == "" {
				t.Fatalf("no mismatch found; want one saying %q", c.want)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("the message does not say %q:\n%s", w, msg)
				}
			}
		})
	}
}

// recorder is a testing.TB that keeps its errors instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }
func (r *recorder) Helper()           {}

// TestHandlerAndTransportReport: Check, the middleware and the client
// transport report a mismatch to the test and pass the answer on unchanged.
func TestHandlerAndTransportReport(t *testing.T) {
	bad := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		w.Write([]byte(`{"items":[],"surprise":1}`))
	})
	rec := &recorder{TB: t}
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/api/v1/permissions", nil)
	req.Header.Set("Authorization", "Bearer x")
	webtest.Handler(rec, bad).ServeHTTP(w, req)
	if w.Code != 200 || w.Body.String() != `{"items":[],"surprise":1}` {
		t.Errorf("the handler changed the answer: %d %s", w.Code, w.Body)
	}
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "surprise") {
		t.Errorf("handler: errors %q", rec.errs)
	}

	rec = &recorder{TB: t}
	req = httptest.NewRequest("GET", "/api/v1/permissions", nil)
	req.Header.Set("Authorization", "Bearer x")
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"items":[],"surprise":1}`))}
	webtest.Check(rec, req, resp)
	if body, _ := io.ReadAll(resp.Body); string(body) != `{"items":[],"surprise":1}` {
		t.Errorf("Check did not put the body back: %s", body)
	}
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "surprise") {
		t.Errorf("check: errors %q", rec.errs)
	}

	srv := httptest.NewServer(bad)
	defer srv.Close()
	rec = &recorder{TB: t}
	c := &http.Client{Transport: webtest.Transport(rec, nil)}
	req, _ = http.NewRequest("GET", srv.URL+"/api/v1/permissions", nil)
	req.Header.Set("Authorization", "Bearer x")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(rec.errs) != 1 || !strings.Contains(rec.errs[0], "surprise") {
		t.Errorf("transport: errors %q", rec.errs)
	}
}
